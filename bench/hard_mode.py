#!/usr/bin/env python3
"""Hard (single-path) mode against soft mode on Fashion-MNIST: after the same epochs, how much of
soft mode's theta-split accuracy does hard mode reach, and how much faster is it? (bench/hard_mode.sh
runs this; see bench/README.md.)

For each seed, three searches of the `small` space with the same data, epochs and latency target
(a fraction of the range the space reaches on this machine's measured table), one thread each, run
one after another in an order that rotates with the seed (so drift on a shared machine spreads over
all three):
  soft             `dnas search` (FBNet: every candidate runs, separate weights);
  hard             `dnas search --mode hard` (one Gumbel path per step; nested weight sharing, its
                   default: `--weight-sharing auto`);
  hard-separate    `dnas search --mode hard --weight-sharing separate` (how hard mode trained before).
Reports the theta-split accuracy of the last epoch, the derived arch's BN-recalibrated accuracy and
the wall time of every run, then per seed hard / soft accuracy and soft / hard time. Goal (issue
13, item 4): hard >= 90 % of soft's theta-split accuracy with a >= 4x speed advantage.
Writes results.json and results.md into the output folder.
"""
import argparse
import json
import os
import statistics
import subprocess

from bench_runs import read_log, run

VARIANTS = {
    "soft": [],
    "hard": ["--mode", "hard"],
    "hard-separate": ["--mode", "hard", "--weight-sharing", "separate"],
}


def summary(folder):
    epochs = read_log(os.path.join(folder, "log.jsonl"))
    candidates = json.load(open(os.path.join(folder, "candidates.json")))["candidates"]
    selected = next(c for c in candidates if c.get("selected"))
    return {"theta_accuracy": [e["theta_accuracy"] for e in epochs], "derived_accuracy": selected["accuracy_theta_split"]}


def spread(values):
    return f"{statistics.mean(values):.3f} ({min(values):.3f} - {max(values):.3f})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/hard_mode")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=3000, help="training images (Fashion-MNIST)")
    p.add_argument("--fraction", type=float, default=0.25, help="the target, as a fraction of the reachable range")
    p.add_argument("--db", help="a measured table of the small space at 28x28 (default: profile one first)")
    a = p.parse_args()
    if a.seeds < 1 or a.epochs < 1 or a.samples < 1 or not 0 < a.fraction < 1:
        p.error("expected --seeds, --epochs and --samples >= 1 and --fraction in (0, 1)")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    db = a.db or os.path.join(out, "host.db")
    if not a.db and not os.path.exists(db):
        print("==> profiling the small space at 28x28 (one thread)", flush=True)
        run([a.dnas, "profile-latency", "--space", "small", "--target", "host-cpu", "--db", db, "--input", "28",
             "--input-channels", "1", "--num-classes", "10", "--threads", "1"], os.path.join(out, "profile.log"))

    runs = []
    names = list(VARIANTS)
    for seed in range(a.seeds):
        order = names[seed % len(names):] + names[:seed % len(names)]
        for variant in order:
            folder = os.path.join(out, f"{variant}_s{seed}")
            subprocess.call(["rm", "-rf", folder])
            seconds = run([a.dnas, "search", "--space", "small", "--target", "host-cpu", "--db", db, "--data",
                           "fashion-mnist", "--threads", "1", "--max-samples", str(a.samples), "--epochs",
                           str(a.epochs), "--latency-target-fraction", str(a.fraction), "--seed", str(seed), "--out",
                           folder, "--json", *VARIANTS[variant]], folder + ".log")
            r = {"variant": variant, "seed": seed, "seconds": round(seconds, 2), **summary(folder)}
            runs.append(r)
            print(f"    {variant:14s} seed {seed}: theta-split accuracy per epoch "
                  f"{[round(x, 3) for x in r['theta_accuracy']]}, derived {r['derived_accuracy']:.3f}, "
                  f"{seconds:.1f} s", flush=True)

    def of(variant, key, seed=None):
        return [r[key] if key != "theta_accuracy" else r[key][-1] for r in runs
                if r["variant"] == variant and (seed is None or r["seed"] == seed)]

    ratios = [of("hard", "theta_accuracy", s)[0] / of("soft", "theta_accuracy", s)[0] for s in range(a.seeds)]
    speedups = [of("soft", "seconds", s)[0] / of("hard", "seconds", s)[0] for s in range(a.seeds)]
    mean_ratio = statistics.mean(of("hard", "theta_accuracy")) / statistics.mean(of("soft", "theta_accuracy"))
    result = {"epochs": a.epochs, "samples": a.samples, "fraction": a.fraction, "seeds": a.seeds, "runs": runs,
              "accuracy_ratio_per_seed": ratios, "accuracy_ratio_of_means": mean_ratio, "speedup_per_seed": speedups,
              "goal_accuracy_met": mean_ratio >= 0.9, "goal_speed_met": min(speedups) >= 4}
    json.dump(result, open(os.path.join(out, "results.json"), "w"), indent=1)

    lines = [f"Fashion-MNIST, {a.samples} images, {a.epochs} epochs, target at {a.fraction} of the range, "
             f"{a.seeds} seeds, one thread (mean (min - max) over seeds)", "",
             "| mode | theta-split accuracy, last epoch | derived (BN-recalibrated) | wall s |", "|---|---|---|---|"]
    for v in names:
        lines.append(f"| {v} | {spread(of(v, 'theta_accuracy'))} | {spread(of(v, 'derived_accuracy'))} | "
                     f"{statistics.mean(of(v, 'seconds')):.1f} ({min(of(v, 'seconds')):.1f} - {max(of(v, 'seconds')):.1f}) |")
    lines += ["", f"hard / soft theta-split accuracy: {mean_ratio:.2f} of the means; per seed "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (goal >= 0.90)",
              f"soft / hard wall time per seed: {', '.join(f'{s:.1f}x' for s in speedups)} (goal >= 4x)"]
    open(os.path.join(out, "results.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
