#!/usr/bin/env python3
"""Would another retraining recipe change a search-quality pair's verdict? (bench/README.md,
"Does a longer retraining favour either search".)

bench/search_quality.py retrains every pick 5 epochs on 20,000 images with 3 seeds. At its higher
target the picks without a Fire block retrain alike under that recipe (bench/arch_spread.py), so a
pair between two of them is a coin flip. dnas' picks there are the dearer networks to train (more
MACs at the same latency: they take about twice random's retraining time), which a short recipe may
not reward. This retrains both picks of every (target, seed) pair of finished runs with --samples,
--epochs and --seeds, in the same folders' naming as search_quality.py, and prints each pair's margin
under the run's own recipe beside the new one, with the picks' retraining seconds (a MACs proxy).

Retrains are kept in --out by name, so a rerun into the same --out retrains nothing again.

Usage: python3 bench/retrain_recipe.py --dnas build/cli/dnas --out DIR --target higher \
           --samples 60000 --epochs 5 --seeds 0 RUN [RUN ...]
"""
import concurrent.futures
import json
import os
import statistics

from bench_runs import picks_parser, read_log, read_results, retrain


def fire_blocks(arch_path):
    with open(arch_path) as f:
        return sum(layer["op"].startswith("fire") for layer in json.load(f)["layers"])


def main():
    p = picks_parser(__doc__, "runs/retrain_recipe")
    p.add_argument("--samples", type=int, default=60000, help="retraining images (Fashion-MNIST has 60,000)")
    p.add_argument("--epochs", type=int, default=5, help="retraining epochs")
    p.add_argument("--seeds", default="0", help="retraining seeds, comma-separated")
    a = p.parse_args()
    if not 1 <= a.samples <= 60000:
        p.error(f"--samples: expected 1-60000, got {a.samples}")
    if a.epochs < 1:
        p.error(f"--epochs: expected 1 or more, got {a.epochs}")
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds: expected comma-separated integers, got '{a.seeds}'")

    pairs = []  # (run, seed, dnas contestant, random contestant, the run's recipe)
    for run in a.runs:
        results = read_results(run, p)
        target = (min if a.target == "lower" else max)(results["targets_ms"])
        picks = {(c["method"], c["seed"]): c for c in results["contestants"]
                 if c["method"] in ("dnas", "random") and c["target_ms"] == target}
        for (method, seed), c in sorted(picks.items()):
            if method == "dnas" and ("random", seed) in picks:
                pairs.append((run, seed, c, picks[("random", seed)], results["train_recipe"]))
    if not pairs:
        p.error("no (dnas, random) pair at that target in the runs")

    os.makedirs(a.out, exist_ok=True)

    def folder(contestant, seed):
        # runs/sq_42/dnas_T2.122_s102/arch.json -> train_sq_42_dnas_T2.122_s102_n60000_e5_seed0
        search = os.path.dirname(os.path.abspath(contestant["arch"]))
        key = f"{os.path.basename(os.path.dirname(search))}_{os.path.basename(search)}"
        return os.path.join(a.out, f"train_{key}_n{a.samples}_e{a.epochs}_seed{seed}")

    jobs = sorted({(c["arch"], folder(c, s), s) for _, _, d, r, _ in pairs for c in (d, r) for s in seeds},
                  key=lambda j: j[1])
    print(f"==> {len(pairs)} pairs at the {a.target} target; {len(jobs)} retrains ({a.epochs} epochs on {a.samples} "
          f"images, seeds {seeds}), two at a time", flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        done = list(executor.map(lambda j: retrain(a.dnas, j[0], j[1], "fashion-mnist", a.samples, a.epochs, j[2],
                                                   a.device), jobs))
    score = {j[1]: 100 * s for j, s in zip(jobs, done)}

    def seconds(contestant):
        return sum(sum(e["seconds"] for e in read_log(os.path.join(folder(contestant, s), "log.jsonl")))
                   for s in seeds) / len(seeds)

    print("| run | seed | dnas, the run's recipe | random | margin | dnas, this recipe | random | margin | "
          "Fire in random's pick | retrain s dnas / random |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    old_margins, new_margins = [], []
    for run, seed, d, r, _ in pairs:
        new_d = statistics.mean(score[folder(d, s)] for s in seeds)
        new_r = statistics.mean(score[folder(r, s)] for s in seeds)
        old_margins.append(100 * (d["test_top1"] - r["test_top1"]))
        new_margins.append(new_d - new_r)
        print(f"| {os.path.basename(os.path.normpath(run))} | {seed} | {100 * d['test_top1']:.2f}% | "
              f"{100 * r['test_top1']:.2f}% | {old_margins[-1]:+.2f} | {new_d:.2f}% | {new_r:.2f}% | "
              f"{new_margins[-1]:+.2f} | {fire_blocks(r['arch'])} | {seconds(d):.0f} / {seconds(r):.0f} |")
    recipes = sorted({json.dumps(recipe, sort_keys=True) for *_, recipe in pairs})
    print()
    print(f"the runs' recipe(s) {', '.join(recipes)}: dnas >= random in {sum(m >= 0 for m in old_margins)} of "
          f"{len(pairs)}, mean margin {statistics.mean(old_margins):+.2f} points")
    print(f"{a.epochs} epochs on {a.samples} images, seeds {seeds}: dnas >= random in "
          f"{sum(m >= 0 for m in new_margins)} of {len(pairs)}, mean margin {statistics.mean(new_margins):+.2f} points")


if __name__ == "__main__":
    main()
