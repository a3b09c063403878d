#!/usr/bin/env python3
"""Do the archs within one latency target retrain differently, beyond retraining noise?
(bench/README.md, "How much the arch matters within a target".)

A search can only beat random search by as much as the archs it chooses among differ once
retrained. This gathers, at one target of finished bench/search_quality.py runs (their
results.json), every dnas and random pick already retrained (per-seed test top-1 from
results.json), and adds --extra archs from the random searches' candidates.json (uniform draws
within the target, no Fire block, not already retrained), chosen to span the count of wide `_e6`
blocks, retrained with the runs' recipe and seeds. Then, separately for the archs without a Fire
block and with one, a one-way variance decomposition over archs:
  - the sd of the archs' means, the seed sd within an arch, and the between-arch sd they imply
    (var(means) - seed var / seeds);
  - a permutation p-value: how often the per-seed scores, shuffled across the group's archs
    (10,000 times, seeded), spread the means as much as observed;
  - Kendall's tau-b between each block count (e6, e1, shift, skip) and the mean.
A between-arch sd near 0 with a large p-value says that, within the target, which arch a search
picks does not matter once retrained: pairs between such picks are decided by retraining noise.

Retrains are kept in --out by name, so a rerun into the same --out retrains nothing again.

Usage: python3 bench/arch_spread.py --dnas build/cli/dnas --out DIR --target higher --extra 8 RUN [RUN ...]
"""
import concurrent.futures
import json
import os
import random
import statistics

from bench_runs import picks_parser, read_results, retrain
from proxy_rank import kendall_tau_b


def counts(choices):
    return {"e6": sum(op.endswith("_e6") for op in choices), "e1": sum(op.endswith("_e1") for op in choices),
            "shift": sum(op.startswith("shift") for op in choices), "skip": sum(op == "skip" for op in choices),
            "fire": sum(op.startswith("fire") for op in choices)}


def layers_of(arch_path):
    with open(arch_path) as f:
        return tuple(layer["op"] for layer in json.load(f)["layers"])


def spread(scores, permutations=10000, seed=0):
    """(sd of means, seed sd, implied between-arch sd, permutation p) of {arch: [per-seed scores]}."""
    groups = list(scores.values())
    seeds = len(groups[0])
    means = [statistics.mean(g) for g in groups]
    seed_var = statistics.mean(statistics.variance(g) for g in groups)
    observed = statistics.variance(means)
    pooled = [x for g in groups for x in g]
    rng = random.Random(seed)
    as_spread = 0
    for _ in range(permutations):
        rng.shuffle(pooled)
        shuffled = [statistics.mean(pooled[i:i + seeds]) for i in range(0, len(pooled), seeds)]
        as_spread += statistics.variance(shuffled) >= observed
    implied = observed - seed_var / seeds
    return observed ** 0.5, seed_var ** 0.5, max(implied, 0.0) ** 0.5, as_spread / permutations


def main():
    p = picks_parser(__doc__, "runs/arch_spread")
    p.add_argument("--extra", type=int, default=8, help="archs without Fire blocks to retrain besides the picks")
    a = p.parse_args()
    if a.extra < 0:
        p.error(f"--extra: expected 0 or more, got {a.extra}")

    scores, recipe, pool = {}, None, {}
    for run in a.runs:
        results = read_results(run, p)
        run_recipe = results["train_recipe"]
        if recipe is not None and run_recipe != recipe:
            p.error(f"{run}: retrained with {run_recipe}, the first run with {recipe}: one recipe only")
        recipe = run_recipe
        if len(recipe["seeds"]) < 2:
            p.error(f"{run}: retrained with one seed; the seed variance needs two or more")
        target = (min if a.target == "lower" else max)(results["targets_ms"])
        for c in results["contestants"]:
            if c["method"] in ("dnas", "random") and c["target_ms"] == target:
                scores[layers_of(c["arch"])] = [100 * s for s in c["test_top1_seeds"]]
                if c["method"] == "random":
                    with open(os.path.join(os.path.dirname(c["arch"]), "candidates.json")) as f:
                        for cand in json.load(f)["candidates"]:
                            if cand["within_target"] and not counts(cand["choices"])["fire"]:
                                pool.setdefault(tuple(cand["choices"]), c["arch"])
    fresh = sorted((choices for choices in pool if choices not in scores), key=lambda ch: (counts(ch)["e6"], ch))
    # Evenly over the e6 count's order, both ends included.
    count = min(a.extra, len(fresh))
    chosen = [fresh[round(i * (len(fresh) - 1) / max(1, count - 1))] for i in range(count)]
    os.makedirs(a.out, exist_ok=True)
    jobs = []
    for n, choices in enumerate(chosen):
        with open(pool[choices]) as f:
            arch = json.load(f)
        for layer, op in zip(arch["layers"], choices):
            layer["op"] = op
        path = os.path.join(a.out, f"{a.target}_extra{n}.json")
        with open(path, "w") as f:
            json.dump(arch, f, indent=1)
        jobs += [(choices, path, seed) for seed in recipe["seeds"]]
    print(f"==> {len(scores)} picks already retrained at the {a.target} target; retraining {len(chosen)} more archs "
          f"without Fire blocks ({len(fresh)} such candidates) x {len(recipe['seeds'])} seeds: "
          f"{recipe['epochs']} epochs on {recipe['samples']} images", flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        done = list(executor.map(lambda j: retrain(a.dnas, j[1], j[1][:-len(".json")] + f"_seed{j[2]}", "fashion-mnist",
                                                recipe["samples"], recipe["epochs"], j[2], a.device), jobs))
    for (choices, _, _), score in zip(jobs, done):
        scores.setdefault(choices, []).append(100 * score)

    for choices, s in sorted(scores.items(), key=lambda kv: -statistics.mean(kv[1])):
        k = counts(choices)
        print(f"{statistics.mean(s):6.2f}% ({' '.join(f'{x:.2f}' for x in s)})  e6 {k['e6']} e1 {k['e1']} "
              f"shift {k['shift']} skip {k['skip']} fire {k['fire']}{'  (extra)' if choices in chosen else ''}  "
              f"{' '.join(choices)}")
    print()
    for label, has_fire in (("without Fire", False), ("with Fire", True)):
        group = {ch: s for ch, s in scores.items() if bool(counts(ch)["fire"]) == has_fire}
        if len(group) < 3:
            print(f"{label}: {len(group)} arch(s), too few to compare")
            continue
        sd_means, seed_sd, arch_sd, p_value = spread(group)
        means = [statistics.mean(s) for s in group.values()]
        taus = ", ".join(f"{name} {kendall_tau_b([counts(ch)[name] for ch in group], means):+.2f}"
                         for name in ("e6", "e1", "shift", "skip"))
        print(f"{label}: {len(group)} archs, mean {statistics.mean(means):.2f}%, range {min(means):.2f}-"
              f"{max(means):.2f}; sd of means {sd_means:.2f}, seed sd {seed_sd:.2f}, implied between-arch sd "
              f"{arch_sd:.2f} points; permutation p {p_value:.2f}; tau with block counts: {taus}")


if __name__ == "__main__":
    main()
