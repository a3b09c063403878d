#!/usr/bin/env python3
"""What the picks of search_quality runs are made of, and what that says about their retrained
accuracy (bench/README.md, "What decides the pairs").

For every given bench/search_quality.py output folder, over the dnas and random searches:
  - the mean number of blocks of one family (--family, default fire: SqueezeNet's Fire modules)
    in the candidates within the target, and in the picks;
  - in how many (target, seed) pairs dnas' pick scored below random search's pick, each on its own
    supernet, and in how many it still retrained at least as well;
  - per target, over the picks of all the runs: Kendall's tau-b of the retrained test accuracy
    against the supernet score that chose them, against the table latency, and against minus the
    family's block count (positive: fewer such blocks, more accurate).
Optional proxy_rank.py folders (--retrained) add the same family-count tau over every arch they
retrained, and the median accuracy per count.

Usage: python3 bench/pick_blocks.py runs/sq_rf runs/sq_rf_b [--retrained runs/proxy_rank_spos]
"""
import argparse
import glob
import json
import os
import statistics

from bench_runs import read_log, read_results
from proxy_rank import kendall_tau_b


def count(ops, family):
    return sum(str(op).startswith(family) for op in ops)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="bench/search_quality.py output folders (with results.json)")
    p.add_argument("--family", default="fire", help="a block family: the op names' common prefix")
    p.add_argument("--retrained", nargs="*", default=[], help="bench/proxy_rank.py output folders")
    a = p.parse_args()
    every_results = [(run, read_results(run, p)) for run in a.runs]  # every folder checked before any work

    in_candidates, in_picks, picks = {}, {}, []
    for run, results in every_results:
        for c in results["contestants"]:
            if c["method"] not in ("dnas", "random"):
                continue
            with open(os.path.join(os.path.dirname(c["arch"]), "candidates.json")) as f:
                candidates = json.load(f)["candidates"]
            within = [count(x["choices"], a.family) for x in candidates if x["within_target"]]
            chosen = next(count(x["choices"], a.family) for x in candidates if x["selected"])
            in_candidates.setdefault(c["method"], []).append(statistics.mean(within))
            in_picks.setdefault(c["method"], []).append(chosen)
            picks.append({**c, "family_blocks": chosen, "results": run})

    print(f"{a.family} blocks per arch (mean over {len(picks) // 2} searches each):")
    for method in sorted(in_candidates):
        print(f"  {method:6}  candidates within the target {statistics.mean(in_candidates[method]):.2f}, "
              f"picks {statistics.mean(in_picks[method]):.2f}")
    pairs = {}
    for c in picks:
        pairs.setdefault((c["results"], c["target_ms"], c["seed"]), {})[c["method"]] = c
    below = sum(p["dnas"]["supernet_accuracy"] < p["random"]["supernet_accuracy"] for p in pairs.values())
    better = sum(p["dnas"]["test_top1"] >= p["random"]["test_top1"] for p in pairs.values())
    print(f"dnas' pick scored below random search's on its own supernet in {below} of {len(pairs)} pairs, "
          f"and retrained at least as well in {better}")
    print("Kendall's tau-b of the picks' retrained accuracy, per target:")
    for target in sorted({c["target_ms"] for c in picks}):
        at = [c for c in picks if c["target_ms"] == target]
        accuracy = [c["test_top1"] for c in at]
        print(f"  {target} ms ({len(at)} picks): supernet score "
              f"{kendall_tau_b([c['supernet_accuracy'] for c in at], accuracy):+.2f}, table latency "
              f"{kendall_tau_b([c['predicted_ms'] for c in at], accuracy):+.2f}, minus {a.family} blocks "
              f"{kendall_tau_b([-c['family_blocks'] for c in at], accuracy):+.2f}")

    by_count = {}
    for folder in a.retrained:
        for arch in glob.glob(os.path.join(folder, "arch_*.json")):
            logs = sorted(glob.glob(arch[:-len(".json")] + "_seed*/log.jsonl"))
            if not logs:
                continue
            with open(arch) as f:
                n = count((layer.get("op") for layer in json.load(f)["layers"]), a.family)
            by_count.setdefault(n, []).append(statistics.mean(read_log(log)[-1]["test_top1"] for log in logs))
    if by_count:
        counts = [-n for n, accs in by_count.items() for _ in accs]
        accuracy = [x for accs in by_count.values() for x in accs]
        print(f"Retrained archs of {', '.join(a.retrained)} ({len(accuracy)}): tau-b(minus {a.family} blocks, "
              f"accuracy) {kendall_tau_b(counts, accuracy):+.2f}; median accuracy by {a.family} blocks:")
        for n in sorted(by_count):
            print(f"  {n}: {100 * statistics.median(by_count[n]):.2f}% ({len(by_count[n])} archs)")


if __name__ == "__main__":
    main()
