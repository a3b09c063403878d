#!/usr/bin/env python3
"""Pools bench/search_quality.py runs: how often does dnas beat random search, per run, per
target and over all pairs, and how often should a run meet the goal (>= 5 of 6 pairs)?

Reads each run's results.json (a run folder, e.g. runs/sq_39) or its committed table
(bench/search_quality_runN_*.md, which keeps every contestant's per-seed scores). Prints:
  - per run: pairs won, mean margin (points), and whether it met the goal;
  - per target (each run's lower and higher target): pairs won, margins' mean and spread;
  - a noise model: the retraining seeds' standard deviation (pooled within archs), each target's
    margin spread left when the retraining noise is taken out (how much the picks themselves
    differ), and from those, assuming normal margins, the chance that a pair at each target is
    won and that a run of 6 pairs (3 per target) meets the goal when every contestant is
    retrained with 1 to 6 seeds (one group of all pairs when fewer than 2 pairs per target are given).
`--json` prints the same as one JSON object.

Usage: python3 bench/search_quality_tally.py bench/search_quality_run3[3-9]_*.md runs/sq_40
"""
import argparse
import json
import math
import os
import re
import statistics

from bench_runs import read_results, retrained_scores

ROW = re.compile(r"^\| (dnas|random) \| ([0-9.]+) \| (\d+) \|.*\| [0-9.]+% \(([0-9., ]+)\) \|$", re.M)


def read_run(path, parser):
    """{(method, target ms, seed): [test top-1 per retrain seed, in points]} of one run: a run folder
    (its results.json) or a committed run table."""
    if os.path.isdir(path):
        scored = retrained_scores(read_results(path, parser))
        return {(method, float(t), int(s)): [100 * v for v in seeds]
                for (method, t, s), seeds in scored.items() if method in ("dnas", "random")}
    with open(path) as f:
        text = f.read()
    return {(m[1], float(m[2]), int(m[3])): [float(v) for v in m[4].split(",")] for m in ROW.finditer(text)}


def margins(scores):
    """[(target ms, seed, dnas mean - random mean in points, 1 / dnas seeds + 1 / random seeds)] for
    every pair of a run; the last is the share of one seed's variance that the margin carries."""
    return [(t, s, statistics.mean(v) - statistics.mean(scores[("random", t, s)]),
             1 / len(v) + 1 / len(scores[("random", t, s)]))
            for (method, t, s), v in sorted(scores.items()) if method == "dnas" and ("random", t, s) in scores]


def phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders (with results.json) or committed run tables (.md)")
    p.add_argument("--pairs-per-run", type=int, default=6, help="pairs a run has, for the goal's chance")
    p.add_argument("--goal", type=int, default=5, help="pairs a run must win")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = p.parse_args()
    runs, seed_variances, all_margins, noise_shares = [], [], [], []
    by_target = {"lower": [], "higher": []}  # (margin, noise share) of each pair
    for path in a.runs:
        if not os.path.exists(path):
            p.error(f"{path}: expected a search_quality run folder with results.json or a run table (.md)")
        scores = read_run(path, p)
        pairs = margins(scores)
        if not pairs:
            p.error(f"{path}: no dnas and random pairs with per-seed scores found")
        seed_variances += [statistics.variance(v) for v in scores.values() if len(v) > 1]
        targets = sorted({t for t, _, _, _ in pairs})
        for t, _, m, share in pairs:
            if len(targets) == 2:
                by_target["lower" if t == targets[0] else "higher"].append((m, share))
        won = sum(m >= 0 for _, _, m, _ in pairs)
        runs.append({"run": path, "pairs": len(pairs), "won": won,
                     "mean_margin": statistics.mean(m for _, _, m, _ in pairs),
                     "margins": [round(m, 2) for _, _, m, _ in pairs], "targets_ms": targets,
                     "goal_met": len(pairs) == a.pairs_per_run and won >= a.goal})
        all_margins += [m for _, _, m, _ in pairs]
        noise_shares += [share for _, _, _, share in pairs]
    out = {"runs": runs, "pairs": len(all_margins), "won": sum(m >= 0 for m in all_margins),
           "mean_margin": statistics.mean(all_margins),
           "runs_meeting_goal": sum(r["goal_met"] for r in runs),
           "by_target": {k: {"pairs": len(v), "won": sum(m >= 0 for m, _ in v),
                             "mean": statistics.mean(m for m, _ in v), "sd": statistics.stdev(m for m, _ in v)}
                         for k, v in by_target.items() if len(v) > 1}}
    # The model's groups: each target on its own (a run's pairs split evenly between them) when the
    # runs with two targets give each at least 2 pairs, else all pairs together.
    groups = {k: v for k, v in by_target.items() if len(v) > 1}
    if len(groups) != 2:
        groups = {"all": list(zip(all_margins, noise_shares))}
    if seed_variances and all(len(v) > 1 for v in groups.values()):
        seed_var = statistics.mean(seed_variances)
        # A pair's margin = the picks' own difference + each pick's retraining noise (var / its seeds).
        picks = {name: {"mean": statistics.mean(m for m, _ in v),
                        "pick_margin_sd": math.sqrt(max(0.0, statistics.variance([m for m, _ in v])
                                                        - seed_var * statistics.mean(sh for _, sh in v)))}
                 for name, v in groups.items()}
        model = []
        for k in range(1, 7):
            won = {name: phi(g["mean"] / math.sqrt(g["pick_margin_sd"] ** 2 + 2 * seed_var / k))
                   for name, g in picks.items()}
            wins = [1.0]  # the chance of j wins over the run's pairs so far
            for name in picks:
                n, q = a.pairs_per_run // len(picks), won[name]
                step = [math.comb(n, j) * q ** j * (1 - q) ** (n - j) for j in range(n + 1)]
                wins = [sum(wins[i] * step[j - i] for i in range(len(wins)) if 0 <= j - i <= n)
                        for j in range(len(wins) + n)]
            model.append({"retrain_seeds": k, "pair_won": won, "run_meets_goal": sum(wins[a.goal:])})
        out["noise"] = {"retrain_seed_sd": math.sqrt(seed_var), "groups": picks, "model": model}
    if a.json:
        print(json.dumps(out, indent=2))
        return
    for r in runs:
        print(f"{r['run']}: {r['won']} of {r['pairs']} pairs, mean margin {r['mean_margin']:+.2f} "
              f"({' '.join(f'{m:+.2f}' for m in r['margins'])}){'  goal met' if r['goal_met'] else ''}")
    print(f"together: {out['won']} of {out['pairs']} pairs, mean margin {out['mean_margin']:+.2f} points; "
          f"the goal ({a.goal} of {a.pairs_per_run}) met in {out['runs_meeting_goal']} of {len(runs)} runs")
    for k, v in out["by_target"].items():
        print(f"  {k} target: {v['won']} of {v['pairs']}, mean {v['mean']:+.2f}, sd {v['sd']:.2f}")
    if "noise" in out:
        n = out["noise"]
        sds = ", ".join(f"{name} {g['pick_margin_sd']:.2f}" for name, g in n["groups"].items())
        print(f"retraining noise: one seed's sd {n['retrain_seed_sd']:.2f} points; the picks' own margin sd: {sds} "
              f"(the margins' spread less their retraining noise)")
        for m in n["model"]:
            won = ", ".join(f"{name} {100 * q:.0f}%" for name, q in m["pair_won"].items())
            print(f"  with {m['retrain_seeds']} retrain seed(s): a pair won ({won}), "
                  f"a run meets the goal {100 * m['run_meets_goal']:.0f}%")


if __name__ == "__main__":
    main()
