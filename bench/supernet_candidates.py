#!/usr/bin/env python3
"""How well a supernet trains at the search benchmark's budget, against how many candidates share
each layer.

bench/search_quality.sh gives each search 3,000 Fashion-MNIST images and a few minutes. This
benchmark trains the small_mixed network's supernet with subsets of its 13 candidates, one uniform
random path per step (`dnas search --method random`: theta is never trained, so only the weights
learn), for the same epochs on the same images, and prints the supernet's accuracy at the end. With
separate weights each candidate is trained on about 1/K of the steps, so K decides how far any
path gets; a score chosen by this supernet is only as good as the paths it trained.

Usage: python3 bench/supernet_candidates.py [--dnas build/cli/dnas] [--out runs/supernet_candidates]
       [--epochs 10] [--samples 3000] [--search-flags "--weight-sharing nested"]
"""
import argparse
import os
import re
import shlex
import sys

from bench_runs import finished, read_log, run

SUBSETS = [
    ["ir_k3_e3"],
    ["ir_k3_e3", "ir_k5_e3"],
    ["fire_sr0.125", "fire_sr0.25", "fire_sr0.5"],
    ["shift_k3_e1", "shift_k3_e3", "shift_k3_e6", "shift_k5_e3"],
    ["ir_k3_e1", "ir_k3_e3", "ir_k3_e6", "ir_k5_e3", "ir_k5_e6", "skip"],
    ["ir_k3_e1", "ir_k3_e3", "ir_k3_e6", "ir_k5_e3", "ir_k5_e6", "fire_sr0.125", "fire_sr0.25", "fire_sr0.5"],
    ["ir_k3_e1", "ir_k3_e3", "ir_k3_e6", "ir_k5_e3", "ir_k5_e6", "shift_k3_e1", "shift_k3_e3", "shift_k3_e6",
     "shift_k5_e3", "skip"],
    None,  # small_mixed itself: all its candidates
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/supernet_candidates")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--samples", type=int, default=3000, help="training images (the first N of Fashion-MNIST)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--search-flags", default="", help="more flags for every search, e.g. '--weight-sharing nested'")
    a = p.parse_args()
    for name in ("epochs", "samples"):
        if getattr(a, name) < 1:
            p.error(f"--{name}: expected >= 1, got {getattr(a, name)}")
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "configs", "spaces", "small_mixed.yaml")) as f:
        base = f.read()
    listed = re.search(r"^candidates: \[([^\]]*)\]", base, flags=re.M)
    if not listed:
        sys.exit("supernet_candidates.py: configs/spaces/small_mixed.yaml has no one-list `candidates:` line")
    every = [name.strip() for name in listed.group(1).split(",")]
    w_steps = a.epochs * int(a.samples * 0.8) // 64  # the search's defaults: --w-fraction 0.8, --batch-size 64

    rows = []
    for subset in SUBSETS:
        name = f"all{len(every)}" if subset is None else f"k{len(subset)}_{subset[0]}_{subset[-1]}"
        space = os.path.join(out, name + ".yaml")
        with open(space, "w") as f:
            text = base if subset is None else re.sub(r"^candidates: \[[^\]]*\]", f"candidates: [{', '.join(subset)}]",
                                                     base, flags=re.M)
            f.write(text.replace("name: small_mixed", f"name: {name}"))
        folder = os.path.join(out, name)
        log = os.path.join(folder, "log.jsonl")
        if not finished(log, a.epochs):
            run([dnas, "search", "--space", space, "--target", "host-cpu", "--data", "fashion-mnist",
                 "--threads", "1", "--max-samples", str(a.samples), "--latency-target-fraction", "0.5",
                 "--seed", str(a.seed), "--method", "random", "--samples", "4", "--epochs", str(a.epochs),
                 "--out", folder, "--json", *shlex.split(a.search_flags)], folder + ".log")
        last = read_log(log)[-1]
        k = len(every if subset is None else subset)
        rows.append((", ".join(subset) if subset else f"all {k} (small_mixed)", k, w_steps // k,
                     last["w_accuracy"], last["theta_accuracy"]))
        print(f"{rows[-1][0]}: K={k}, w-split {100 * last['w_accuracy']:.1f}%, "
              f"theta-split {100 * last['theta_accuracy']:.1f}%", flush=True)

    lines = [f"Supernet of small_mixed's network, one uniform random path per step, {a.epochs} epochs on "
             f"{a.samples} Fashion-MNIST images (about {w_steps} weight steps), seed {a.seed}"
             + (f", flags `{a.search_flags}`" if a.search_flags else "") + ".", "",
             "| candidates per layer | K | weight steps per candidate (about) | w-split accuracy | "
             "theta-split accuracy |", "|---|---:|---:|---:|---:|"]
    for names, k, per, w, t in rows:
        lines.append(f"| {names} | {k} | {per} | {100 * w:.1f}% | {100 * t:.1f}% |")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
