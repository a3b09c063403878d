#!/usr/bin/env python3
"""What a search setting does to theta's pool: the candidates `dnas search --select trained`
trial-trains. (bench/README.md, "Theta's pool".)

Reruns the given dnas searches (folders of a bench/search_quality.py run, e.g. runs/sq_27/dnas_T0.803_s63)
from their own config.json, once per `--variant` (flags added to the search's own), and prints
for the original and each variant, per search and over all of them:
  - Fire blocks per trial-trained candidate, and how many candidates begin with one;
  - the candidates' first-round trial accuracy (trained from scratch, so the supernet does not
    score it) and the finalists' final-round accuracy, on the theta split.
A variant whose pools carry fewer Fire blocks and train better from scratch is worth a
search_quality.sh run. No retraining of the originals: their candidates.json is read. A rerun
into the same --out keeps finished searches and retrains.

With --retrain, each variant's pick is also retrained with the recipe and seeds of the benchmark
run that holds the search (its results.json) and set against that run's dnas pick and random
search's pick, pair by pair: what the benchmark's verdict would have been with the variant. A
pick the variant shares with the original is not retrained (its scores are the run's). Random
search keeps its original clock, although the variant's dnas clock may differ.

Usage: python3 bench/theta_pool.py --dnas build/cli/dnas --out DIR --variant="--weight-sharing nested"
       [--variant=...] [--retrain] SEARCH [SEARCH ...]
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import statistics

from bench_runs import dnas_search_key, read_results, retrain, retrained_scores, run


def trialled(folder):
    """The candidates a search trial-trained, likeliest first."""
    with open(os.path.join(folder, "candidates.json")) as f:
        candidates = json.load(f)["candidates"]
    pool = [c for c in candidates if c.get("trial_accuracy_theta_split") is not None]
    return sorted(pool, key=lambda c: -c["log_likelihood"])


def fire_blocks(candidate):
    return sum(op.startswith("fire") for op in candidate["choices"])


def summary(pool):
    """Fire per candidate, Fire-first count, first-round and final-round trial accuracy (points)."""
    finals = [c["final_trial_accuracy_theta_split"] for c in pool
              if c.get("final_trial_accuracy_theta_split") is not None]
    return (statistics.mean(fire_blocks(c) for c in pool), sum(c["choices"][0].startswith("fire") for c in pool),
            len(pool), 100 * statistics.mean(c["trial_accuracy_theta_split"] for c in pool),
            100 * statistics.mean(finals) if finals else float("nan"))


def describe(label, pools):
    rows = [summary(pool) for pool in pools]
    every = [c for pool in pools for c in pool]
    fire, first, n, trial, final = summary(every)
    print(f"{label}: Fire per candidate {fire:.2f} (per search {' '.join(f'{r[0]:.2f}' for r in rows)}), "
          f"{first} of {n} begin with Fire; first-round trials {trial:.1f}% "
          f"(per search {' '.join(f'{r[3]:.1f}' for r in rows)}), final round {final:.1f}%")
    for pool in pools:
        for c in pool:
            final = c.get("final_trial_accuracy_theta_split")
            print(f"    trial {100 * c['trial_accuracy_theta_split']:.1f}%"
                  f"{'  final %.1f%%' % (100 * final) if final is not None else '              '}"
                  f"  {c['predicted_latency_ms']:.3f} ms  {'PICK' if c.get('selected') else '    '} {' '.join(c['choices'])}")
        print()


def picked(pool):
    """The candidate of a trialled pool that its search chose."""
    return next(c for c in pool if c.get("selected"))


def benchmark_pair(key, results):
    """The retrain recipe and the per-seed test top-1 of the dnas and random picks of the
    benchmark pair `key` (target ms, seed)."""
    scored = retrained_scores(results)
    return results["train_recipe"], scored[("dnas", *key)], scored[("random", *key)]


def compare_retrained(label, originals, pools, variants, pairs, out, dnas):
    """Retrains the variant's picks that differ from the originals' (`pools` against `originals`,
    the variant's search folders `variants`) and prints both verdicts."""
    same = [picked(pool)["choices"] == picked(original)["choices"] for original, pool in zip(originals, pools)]

    def scores(i, k):
        recipe, original, _ = pairs[i]
        if same[i]:
            return original[k]
        seed = recipe["seeds"][k]
        return retrain(dnas, os.path.join(variants[i], "arch.json"),
                       os.path.join(out, os.path.basename(variants[i]) + f"_train_seed{seed}"), "fashion-mnist",
                       recipe["samples"], recipe["epochs"], seed)

    jobs = [(i, k) for i, (recipe, _, _) in enumerate(pairs) for k in range(len(recipe["seeds"]))]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        got = dict(zip(jobs, pool.map(lambda j: scores(*j), jobs)))
    margins = {"original": [], "variant": []}
    for i, (recipe, original, rand) in enumerate(pairs):
        mine = statistics.mean(got[(i, k)] for k in range(len(recipe["seeds"])))
        theirs, chance = statistics.mean(original), statistics.mean(rand)
        margins["original"].append(100 * (theirs - chance))
        margins["variant"].append(100 * (mine - chance))
        print(f"    {os.path.basename(variants[i])}: pick {100 * mine:.2f}%{' (the same arch)' if same[i] else ''}, "
              f"original {100 * theirs:.2f}%, random {100 * chance:.2f}%: margin "
              f"{margins['variant'][-1]:+.2f} (was {margins['original'][-1]:+.2f})")
    for key, name in (("original", "original"), ("variant", label)):
        m = margins[key]
        print(f"  {name}: dnas >= random in {sum(x >= 0 for x in m)} of {len(m)} pairs, mean margin "
              f"{statistics.mean(m):+.2f} points")
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("searches", nargs="+", help="dnas search folders run with --select trained")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/theta_pool")
    p.add_argument("--variant", action="append", default=[], metavar="FLAGS",
                   help="flags added to each search's own config (repeatable), e.g. '--weight-sharing nested'")
    p.add_argument("--retrain", action="store_true",
                   help="also retrain each variant's pick with its benchmark run's recipe and compare the verdicts")
    a = p.parse_args()
    if not a.variant:
        p.error("--variant: give at least one set of flags to compare with the original searches")
    originals = []
    for folder in a.searches:
        for name in ("config.json", "candidates.json"):
            if not os.path.isfile(os.path.join(folder, name)):
                p.error(f"{folder}: no {name} (expected a finished dnas search folder)")
        originals.append(trialled(folder))
        if not originals[-1]:
            p.error(f"{folder}: no trial-trained candidates (expected a search run with --select trained)")
    pairs = []
    if a.retrain:  # every benchmark pair found before any work
        for folder in a.searches:
            key = dnas_search_key(folder)
            if key is None:
                p.error(f"{folder}: --retrain needs the search folders of a bench/search_quality.py run")
            try:
                pairs.append(benchmark_pair(key, read_results(os.path.dirname(os.path.abspath(folder)), p)))
            except KeyError:
                p.error(f"{folder}: its run's results.json holds no dnas and random pair for this search")
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)

    describe("original", originals)
    for v, flags in enumerate(a.variant):
        pools, targets = [], []
        for folder in a.searches:
            tag = os.path.basename(os.path.dirname(os.path.abspath(folder))) + "_" + os.path.basename(folder)
            target = os.path.join(out, f"variant{v}_{tag}")
            if not os.path.isfile(os.path.join(target, "candidates.json")):
                run([dnas, "search", "--config", os.path.join(folder, "config.json"), "--out", target, "--json",
                     *shlex.split(flags)], target + ".log")
            pools.append(trialled(target))
            targets.append(target)
        describe(f"with {flags}", pools)
        if a.retrain:
            print(f"retrained picks, with {flags}:")
            compare_retrained(f"with {flags}", originals, pools, targets, pairs, out, dnas)


if __name__ == "__main__":
    main()
