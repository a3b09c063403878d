#!/usr/bin/env python3
"""Does a short training from scratch rank archs as their full retraining does? (bench/README.md,
"Trial training": why `dnas search --select trained` exists.)

Takes the dnas and random picks of finished bench/search_quality.py runs (their results.json: each
pick's arch and its test accuracy under the benchmark's retraining recipe), trains every pick again
briefly (`dnas train`, --epochs E on the first --samples training images, one seed, one thread) and
reports, per target over the picks of all the runs:
  - Kendall's tau-b of the short run's test accuracy against the full retraining's (the supernet
    score that chose them ranked the picks of runs 10-18 at -0.23 and -0.26: bench/pick_blocks.py);
  - over the (target, seed) pairs, in how many the short runs order dnas' and random search's
    picks as the full retraining does.
Writes trial_rank.json and trial_rank.md into --out; a rerun into the same --out keeps what finished.

Usage: python3 bench/trial_rank.py --dnas build/cli/dnas --out runs/trial_rank runs/sq_rf runs/sq_rf_b ...
"""
import argparse
import concurrent.futures
import json
import os

from bench_runs import read_results, retrain
from proxy_rank import kendall_tau_b


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="bench/search_quality.py output folders (with results.json)")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/trial_rank")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    picks = []
    for run in a.runs:
        results = read_results(run, p)
        for c in results["contestants"]:
            if c["method"] in ("dnas", "random"):
                picks.append({"run": os.path.basename(os.path.normpath(run)), "method": c["method"],
                              "target_ms": c["target_ms"], "seed": c["seed"], "arch": c["arch"],
                              "full_top1": c["test_top1"]})
    os.makedirs(a.out, exist_ok=True)
    print(f"==> {len(picks)} picks, each trained {a.epochs} epoch(s) on {a.samples} images", flush=True)

    def short(pick):
        folder = os.path.join(a.out, f"e{a.epochs}_n{a.samples}_s{a.seed}",
                              f"{pick['run']}_{pick['method']}_T{pick['target_ms']}_s{pick['seed']}")
        return retrain(a.dnas, pick["arch"], folder, a.data, a.samples, a.epochs, a.seed)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for pick, top1 in zip(picks, pool.map(short, picks)):
            pick["short_top1"] = top1

    rows = []
    for target in sorted({x["target_ms"] for x in picks}):
        group = [x for x in picks if x["target_ms"] == target]
        agree = pairs = 0
        for d in (x for x in group if x["method"] == "dnas"):
            r = next((x for x in group if x["method"] == "random" and x["run"] == d["run"] and x["seed"] == d["seed"]), None)
            if r is None or d["full_top1"] == r["full_top1"]:
                continue
            pairs += 1
            agree += (d["short_top1"] - r["short_top1"]) * (d["full_top1"] - r["full_top1"]) > 0
        rows.append({"target_ms": target, "picks": len(group),
                     "tau_short_vs_full": kendall_tau_b([x["short_top1"] for x in group], [x["full_top1"] for x in group]),
                     "pairs_ordered_alike": agree, "pairs": pairs})
    summary = {"epochs": a.epochs, "samples": a.samples, "seed": a.seed, "runs": a.runs, "targets": rows, "picks": picks}
    with open(os.path.join(a.out, "trial_rank.json"), "w") as f:
        json.dump(summary, f, indent=2)
    lines = [f"Short training ({a.epochs} epoch(s) on {a.samples} images, seed {a.seed}) against the full retraining "
             f"of {len(picks)} search-quality picks ({', '.join(os.path.basename(os.path.normpath(r)) for r in a.runs)}):",
             "", "| target ms | picks | Kendall tau-b, short vs full | pairs ordered alike |", "|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['target_ms']} | {r['picks']} | {r['tau_short_vs_full']:+.2f} | "
                     f"{r['pairs_ordered_alike']} of {r['pairs']} |")
    with open(os.path.join(a.out, "trial_rank.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
