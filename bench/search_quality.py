#!/usr/bin/env python3
"""Search quality on Fashion-MNIST: does the dnas search beat random search at equal budget, and
hand-designed baselines at their latency? (bench/search_quality.sh runs this; see bench/README.md.)

For each latency target (fractions of the range the space, `small_mixed` unless `--space` names
another, reaches on this machine's table) and each seed:
  dnas     `dnas search`, by default as in runs 33-42 (README, "Search quality") and as
           `dnas search --recipe small_budget` sets it (the flags below are read from
           configs/searches/small_budget.json): 6 epochs on
           15,000 training images of single-path training (`--mode hard --w-sampling uniform
           --weight-sharing nested`: hard mode's default weight sharing; runs 10-28 trained
           separate weights), theta trained by REINFORCE against the target's absolute
           penalty, and the result chosen by `--select trained --trial-epochs 1 --trial-finalists 2
           --trial-candidates 8` (the 8 likeliest candidates within the target trained one epoch
           from scratch on the 12,000 w-split images and scored on the 3,000 theta-split images,
           the best 2 trained again for 3 epochs, the better of them kept; runs 24-32 trained the
           4 likeliest, runs 24-26 kept the first round's best,
           runs 19-23 searched 30 epochs on 3,000 images and trained the trials 3 epochs on 2,400);
  random   `dnas search --method random` at the same wall-clock (per target, rounded up to
           whole epochs; a target whose random searches still take under 97% of dnas' clock
           is rerun once, with the epochs their own logs say fit): the same supernet (the same flags) trained one
           uniform random path per step, theta never trained, then the best of K random archs
           within the target, by BN-recalibrated supernet accuracy;
and once per target the baselines adapted to 28x28: MobileNetV2 width-scaled to the target
(stem stride 1; the widest that fits the target's measured latency) and SqueezeNet 1.1 for small
inputs (configs/models/squeezenet1_1_small.json). Every contestant is retrained from scratch with
the same recipe (5 epochs on 20,000 images, once per retrain seed, 3 seeds since run 39; its
score is the mean over seeds) and scored on the 10,000 test images; its latency is measured end to end with
`dnas bench net`. Writes results.json, results.md and pareto.svg into the output folder.
Searches and retrains run two at a time, one thread each (the pairs of a comparison together).
`--search-flags` sets the flags of both searches, dnas and random (the same supernet for both),
`--dnas-flags` those of the dnas searches only; runs 1-9's soft-mode search is
`--search-samples 3000 --search-epochs 3 --search-flags= --dnas-flags=`. `--device cuda` searches and retrains on the
GPU (the latency table and `dnas bench net` stay on this host's CPU), for budgets that 2 cores
cannot reach.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import time

from bench_runs import copy_table, last_json, read_log, retrain, run, table_rows


# The searches' setting is `dnas search --recipe small_budget` (configs/searches/small_budget.json),
# read from the recipe so that the benchmark measures what the recipe names: its supernet keys go to
# both searches (the same supernet for dnas and random search), its selection keys to dnas alone,
# its epochs to dnas. Since run 29: single-path training of nested weights, theta by REINFORCE
# (runs 10-28: --weight-sharing separate).
RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "searches", "small_budget.json")
SUPERNET_KEYS = ("mode", "w_sampling", "weight_sharing", "theta_estimator")
SELECTION_KEYS = ("select", "trial_epochs", "trial_finalists", "trial_candidates")


def read_recipe():
    """(search flags, dnas flags, epochs) of the recipe; a key this script would not pass on is an error."""
    with open(RECIPE) as f:
        recipe = json.load(f)
    unused = set(recipe) - {"format", "description", "epochs", *SUPERNET_KEYS, *SELECTION_KEYS}
    if unused:
        sys.exit(f"{RECIPE}: {', '.join(sorted(unused))}: not passed on by bench/search_quality.py")

    def flags(keys):
        return " ".join(f"--{key.replace('_', '-')} {recipe[key]}" for key in keys)
    return flags(SUPERNET_KEYS), flags(SELECTION_KEYS), recipe["epochs"]


SEARCH_FLAGS, DNAS_FLAGS, SEARCH_EPOCHS = read_recipe()


def parallel(jobs, width=2):
    with concurrent.futures.ThreadPoolExecutor(width) as pool:
        return list(pool.map(lambda job: job(), jobs))


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The docstring as written, and every option's default."""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--dnas", default="build/cli/dnas", help="the dnas binary")
    p.add_argument("--out", default="runs/search_quality", help="output folder (a rerun keeps what finished)")
    p.add_argument("--space", default="small_mixed",
                   help="the search space (small_mixed: inverted residual, shift, Fire and skip candidates; "
                        "small: inverted residuals and skip only, runs 1-5)")
    p.add_argument("--seeds", type=int, default=3, help="search seeds per target")
    p.add_argument("--first-seed", type=int, default=0, help="search seeds are first-seed .. first-seed + seeds - 1")
    p.add_argument("--fractions", default="0.25,0.5", help="targets, as fractions of the reachable range")
    p.add_argument("--search-samples", type=int, default=15000,
                   help="training images the searches use (runs 10-23: 3000)")
    p.add_argument("--search-epochs", type=int, default=SEARCH_EPOCHS,
                   help="dnas search epochs (random search gets its wall-clock; runs 10-23: 30)")
    p.add_argument("--random-archs", type=int, default=20, help="K: random archs scored by the random search")
    p.add_argument("--train-samples", type=int, default=20000, help="retraining images")
    p.add_argument("--train-epochs", type=int, default=5, help="retraining epochs")
    p.add_argument("--train-seeds", type=int, default=3,
                   help="retrain every contestant with this many seeds; its score is their mean "
                        "(runs 3-38: 2; bench/search_quality_tally.py: with 3 a run meets the goal more often)")
    p.add_argument("--search-flags", default=SEARCH_FLAGS,
                   help="flags for both searches, dnas and random (the same supernet for both); '' for soft mode")
    p.add_argument("--dnas-flags", default=DNAS_FLAGS,
                   help="flags for the dnas searches only, e.g. '--select likelihood'")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where searches and retrains run (the latency table is always this host's CPU's)")
    p.add_argument("--latency-passes", type=int, default=7,
                   help="measure every arch's latency this many times, interleaved, and keep the median")
    p.add_argument("--widths", default="0.25,0.35,0.5,0.75,1.0", help="MobileNetV2 widths to fit to the targets")
    p.add_argument("--table", default="",
                   help="an earlier run's latency table (its OUT/host-cpu-<space>-28x28.db) to search on instead of "
                        "profiling a new one: the same targets, so a run with other flags and the same --first-seed "
                        "pairs with that run search by search (run 40: run 39's). Copied through SQLite's backup, rows still "
                        "in a -wal beside it included")
    a = p.parse_args()
    for name in ("seeds", "search_samples", "search_epochs", "random_archs", "train_samples", "train_epochs",
                 "train_seeds", "latency_passes"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')}: expected >= 1, got {getattr(a, name)}")
    if a.first_seed < 0:
        p.error(f"--first-seed: expected >= 0, got {a.first_seed}")
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    if a.table:
        if not os.path.isfile(a.table):
            p.error(f"--table {a.table}: no such file")
        try:
            table = table_rows(a.table)
        except sqlite3.Error as e:
            p.error(f"--table {a.table}: not a readable SQLite latency table ({e})")
    db = os.path.join(out, "host-cpu-28x28.db" if a.space == "small" else f"host-cpu-{a.space}-28x28.db")
    copying = a.table and os.path.abspath(a.table) != db
    if copying:
        try:
            if os.path.exists(db) and table_rows(db) != table:
                p.error(f"--table {a.table}: {db} already holds another table (a new --out, or none of --table)")
        except sqlite3.Error as e:
            p.error(f"--table {a.table}: {db} is not a readable SQLite table ({e}); a new --out")
    os.makedirs(out, exist_ok=True)
    if copying:
        copy_table(a.table, db)  # profile-latency below then finds every block measured
    data = "fashion-mnist"
    common = ["--space", a.space, "--target", "host-cpu", "--db", db, "--data", data, "--threads", "1"]
    search_flags = shlex.split(a.search_flags)
    dnas_flags = shlex.split(a.dnas_flags)
    began = time.monotonic()

    print(f"==> latency table of the {a.space} space at 28x28x1 (host-cpu)", flush=True)
    run([dnas, "profile-latency", "--space", a.space, "--target", "host-cpu", "--db", db, "--input", "28",
         "--input-channels", "1", "--num-classes", "10", "--threads", "1"], os.path.join(out, "profile.log"))
    probe = subprocess.run([dnas, "search", *common, "--latency-target-ms", "1e-9",
                            "--out", os.path.join(out, "probe")],
                           capture_output=True, text=True)
    lo, hi = map(float, re.search(r"\(([0-9.e+-]+) - ([0-9.e+-]+) ms\)", probe.stderr).groups())
    targets = [round(lo + float(f) * (hi - lo), 3) for f in a.fractions.split(",")]
    print(f"    the space reaches {lo:.3f} - {hi:.3f} ms; targets {targets} ms", flush=True)

    def search(name, target, seed, extra):
        folder = os.path.join(out, name)
        if os.path.exists(os.path.join(folder, "arch.json")) and os.path.exists(folder + ".seconds"):
            with open(folder + ".seconds") as f:
                return float(f.read())  # done in an earlier run into the same --out
        subprocess.call(["rm", "-rf", folder])
        seconds = run([dnas, "search", *common, "--max-samples", str(a.search_samples), "--latency-target-ms",
                       str(target), "--seed", str(seed), "--device", a.device, "--out", folder, "--json",
                       *search_flags, *extra],
                      folder + ".log")
        with open(folder + ".seconds", "w") as f:
            f.write(f"{seconds}\n")
        return seconds

    def search_random(target, seed, epochs, name=None):
        """Random search: the same supernet trained `epochs` on uniform random paths, then the best
        of --random-archs random archs within the target. Folder `name`, by default random_T<t>_s<seed>."""
        return search(name or f"random_T{target}_s{seed}", target, seed,
                      ["--method", "random", "--samples", str(a.random_archs), "--epochs", str(epochs)])

    pairs = [(t, s) for t in targets for s in range(a.first_seed, a.first_seed + a.seeds)]
    print(f"==> {len(pairs)} dnas searches ({a.search_epochs} epochs on {a.search_samples} images)", flush=True)
    dnas_seconds = parallel([lambda t=t, s=s: search(f"dnas_T{t}_s{s}", t, s,
                                                     ["--epochs", str(a.search_epochs), *dnas_flags])
                             for t, s in pairs])
    # Random search at equal wall-clock: its epochs cost less, so it gets as many as fit the time.
    # A search's time is a fixed part (loading, scoring the candidates) plus its epochs (each
    # logged with its seconds), so two calibration searches, run two at a time as the real ones
    # are, give both parts; scaling a short run's whole time per epoch would count the fixed part
    # once per epoch and give random search less time than dnas (runs 6-8 gave it 70-78%). One
    # calibration search at the lowest and one at the highest target: scoring the candidates costs more at
    # a higher target (run 17: 9 s of fixed time at 1.082 ms, 15 s at 1.932 ms), and calibrating
    # at the lower one only gave random search the difference on top of dnas' clock.
    calib_epochs = a.search_epochs
    calib_names = ("random_calibration", "random_calibration_b")
    calib_targets = (targets[0], targets[-1])
    calib = parallel([lambda n=n, seed=seed, t=t: search_random(t, seed, calib_epochs, n)
                      for n, seed, t in zip(calib_names, (98, 99), calib_targets)])
    fixed_by_calibration, per_epoch = clock_parts(out, calib_names, calib, calib_epochs)
    # Each target's random searches get that target's dnas clock: dnas' trials train dearer archs at
    # a higher target (run 24: 110-123 s at 0.807 ms, 157-160 s at 1.43 ms), and one clock for both
    # gave random search 118% of dnas' time at the lower target and 87% at the higher.
    random_epochs, dnas_clock = {}, {}
    for t in targets:
        fixed = statistics.mean(f for f, ct in zip(fixed_by_calibration, calib_targets) if ct == t) \
            if t in calib_targets else statistics.mean(fixed_by_calibration)
        dnas_clock[t] = statistics.mean(sec for (tt, _), sec in zip(pairs, dnas_seconds) if tt == t)
        # Rounded up, so random search never gets less than dnas' clock: at 6 search epochs on
        # 15,000 images (run 24) one random epoch is 10% of it.
        random_epochs[t] = max(1, math.ceil((dnas_clock[t] - fixed) / per_epoch))
        print(f"==> {a.seeds} random searches at {t} ms, {random_epochs[t]} epochs each (dnas took "
              f"{dnas_clock[t]:.0f} s; random {fixed:.0f} s fixed + {per_epoch:.1f} s per epoch)", flush=True)
    random_seconds = parallel([lambda t=t, s=s: search_random(t, s, random_epochs[t]) for t, s in pairs])
    random_seconds, topped_up = top_up_short_random(out, pairs, targets, random_epochs, random_seconds, dnas_clock,
                                                    search_random)
    random_clock = {t: statistics.mean(sec for (tt, _), sec in zip(pairs, random_seconds) if tt == t) for t in targets}

    # Baselines: MobileNetV2 at each width, adapted to 28x28x1, and SqueezeNet 1.1 for small inputs.
    def zoo(name):
        models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "models")
        with open(os.path.join(models, name + ".json")) as f:
            arch = json.load(f)
        arch.update({"input_size": 28, "input_channels": 1, "num_classes": 10})
        return arch

    def scaled(width):
        arch = zoo("mobilenet_v2")
        arch["name"] = f"mobilenet_v2_w{width}"
        arch["stem"][0]["stride"] = 1  # 28x28 inputs: the CIFAR adaptation, so the last maps are not 1x1
        for section in ("stem", "layers", "head"):
            for layer in arch[section]:
                if isinstance(layer.get("out"), int) and not (section == "head" and layer["op"] == "fc"):
                    layer["out"] = max(8, int(layer["out"] * width + 4) // 8 * 8)
        path = os.path.join(out, f"mobilenet_v2_w{width}.json")
        with open(path, "w") as f:
            json.dump(arch, f, indent=1)
        return path

    def measure_latencies(archs):
        """Each arch's `dnas bench net` median over --latency-passes passes, every pass one process per
        arch in its own shuffled order. This VM has slow spells (seconds to minutes, in which a whole
        process runs up to 1.8x slower): measured once, in sequence, the archs that ran in a spell looked
        slow (run 6 first measured its dnas picks 54-80% above the table; remeasured, they were within
        5%). Interleaved passes spread a spell over every arch, and the median drops it. A spell longer
        than half the passes still moves the median (run 12: 3.063 ms for a 1.843 ms arch), so an arch
        whose median is over 1.25x its fastest pass gets --latency-passes more passes (interleaved with
        the others so flagged), once. Returns each arch's sorted readings and the archs remeasured."""
        archs = sorted(set(archs))
        readings = {arch: [] for arch in archs}
        order = random.Random(0)

        def passes(group, first, count):
            for n in range(first, first + count):
                for arch in order.sample(group, len(group)):
                    name = os.path.relpath(arch, out).replace("/", "_")
                    log = os.path.join(out, f"latency_{name}.pass{n}.log")
                    run([dnas, "bench", "net", "--arch", arch, "--input", "28", "--threads", "1", "--repeats", "20",
                         "--json"], log)
                    readings[arch].append(last_json(log)["median_ms"])

        passes(archs, 0, a.latency_passes)
        disagreeing = [arch for arch in archs if statistics.median(readings[arch]) > 1.25 * min(readings[arch])]
        if disagreeing:
            print(f"    {len(disagreeing)} arch(s) whose passes disagree (median > 1.25x the fastest): "
                  f"{a.latency_passes} more passes", flush=True)
            passes(disagreeing, a.latency_passes, a.latency_passes)
        return {arch: sorted(r) for arch, r in readings.items()}, [os.path.relpath(arch, out) for arch in disagreeing]

    print("==> measuring latencies", flush=True)
    widths = sorted(float(w) for w in a.widths.split(","))
    mobile = {w: scaled(w) for w in widths}
    squeeze = os.path.join(out, "squeezenet1_1_small.json")
    with open(squeeze, "w") as f:
        json.dump(zoo("squeezenet1_1_small"), f, indent=1)
    searched = [os.path.join(out, f"{method}_T{t}_s{s}", "arch.json")
                for t, s in pairs for method in ("dnas", "random")]
    latencies, remeasured = measure_latencies(searched + list(mobile.values()) + [squeeze])
    median = {arch: statistics.median(r) for arch, r in latencies.items()}
    mobile_ms = {w: median[path] for w, path in mobile.items()}
    contestants = []
    for t, s in pairs:
        for method, secs in (("dnas", dnas_seconds), ("random", random_seconds)):
            folder = os.path.join(out, f"{method}_T{t}_s{s}")
            result = last_json(folder + ".log")
            contestants.append({"method": method, "target_ms": t, "seed": s, "arch": os.path.join(folder, "arch.json"),
                                "predicted_ms": result["predicted_latency_ms"],
                                "search_seconds": secs[pairs.index((t, s))],
                                "supernet_accuracy": result["derived_accuracy"]})
    for t in targets:
        fitting = [w for w in widths if mobile_ms[w] <= t] or [widths[0]]
        contestants.append({"method": f"mobilenet_v2 x{max(fitting)}", "target_ms": t, "seed": 0,
                            "arch": mobile[max(fitting)]})
    contestants.append({"method": "squeezenet1_1_small", "target_ms": None, "seed": 0, "arch": squeeze})
    for c in contestants:
        c["measured_ms"] = median[c["arch"]]
        c["measured_ms_passes"] = latencies[c["arch"]]

    seeds = list(range(a.train_seeds))
    print(f"==> retraining {len(contestants)} archs ({a.train_epochs} epochs on {a.train_samples} images, "
          f"seeds {seeds}), scoring on the 10,000 test images", flush=True)

    def retrain_once(arch, seed):
        # One folder per (arch file, seed): an arch two contestants share (a baseline at both
        # targets) trains once, and a rerun into the same --out keeps what finished.
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.relpath(arch, out))
        return retrain(dnas, arch, os.path.join(out, f"train_{key}_seed{seed}"), data, a.train_samples,
                       a.train_epochs, seed, a.device)

    jobs = sorted({(c["arch"], seed) for c in contestants for seed in seeds})
    scores = dict(zip(jobs, parallel([lambda j=j: retrain_once(*j) for j in jobs])))
    for c in contestants:
        c["test_top1_seeds"] = [scores[(c["arch"], seed)] for seed in seeds]
        c["test_top1"] = sum(c["test_top1_seeds"]) / len(seeds)

    # Verdicts.
    wins, margins = 0, []
    for t, s in pairs:
        d = next(c for c in contestants if c["method"] == "dnas" and c["target_ms"] == t and c["seed"] == s)
        r = next(c for c in contestants if c["method"] == "random" and c["target_ms"] == t and c["seed"] == s)
        wins += d["test_top1"] >= r["test_top1"]
        margins.append(d["test_top1"] - r["test_top1"])
    baseline_checks = []
    for c in contestants:
        if c["method"] in ("dnas", "random") or any(b["arch"] == c["arch"] for b in baseline_checks):
            continue  # a baseline that fits both targets is checked once
        rivals = [d for d in contestants if d["method"] == "dnas" and d["measured_ms"] <= c["measured_ms"] * 1.0001]
        best = max(rivals, key=lambda d: d["test_top1"], default=None)
        baseline_checks.append({"baseline": c["method"], "arch": c["arch"], "measured_ms": c["measured_ms"],
                                "test_top1": c["test_top1"],
                                "best_dnas_at_or_below": best and best["test_top1"],
                                "dnas_at_least_as_good": bool(best) and best["test_top1"] >= c["test_top1"]})
    # Retraining noise: how far one seed's score strays from the contestant's mean.
    spreads = [max(c["test_top1_seeds"]) - min(c["test_top1_seeds"]) for c in contestants]
    summary = {"space": a.space, "device": a.device, "reachable_ms": [lo, hi], "targets_ms": targets,
               "random_epochs": [random_epochs[t] for t in targets],
               "dnas_seconds": statistics.mean(dnas_seconds), "random_seconds": statistics.mean(random_seconds),
               "dnas_seconds_by_target": [dnas_clock[t] for t in targets],
               "random_seconds_by_target": [random_clock[t] for t in targets],
               "random_topped_up": topped_up,
               "latency_passes": a.latency_passes, "latency_remeasured": remeasured,
               "train_recipe": {"samples": a.train_samples, "epochs": a.train_epochs, "seeds": seeds},
               "median_seed_spread": statistics.median(spreads), "max_seed_spread": max(spreads),
               "search_epochs": a.search_epochs, "search_flags": a.search_flags,
               "dnas_flags": a.dnas_flags, "dnas_wins": wins, "pairs": len(pairs),
               "mean_margin": sum(margins) / len(margins), "baselines": baseline_checks,
               "minutes": (time.monotonic() - began) / 60, "contestants": contestants}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(summary, f, indent=2)
    write_markdown(summary, os.path.join(out, "results.md"))
    write_svg(summary, os.path.join(out, "pareto.svg"))
    with open(os.path.join(out, "results.md")) as f:
        print(f.read())


def clock_parts(out, names, seconds, epochs):
    """Splits searches' wall-clock into a fixed part and a part per epoch. `names` are folders in
    `out` of searches that each ran `epochs` epochs and took `seconds` in all; each epoch's log.jsonl
    line has its seconds. Returns (each search's fixed seconds: its total less its epochs, at least 0;
    the mean seconds per epoch over all of them)."""
    in_epochs = [sum(e["seconds"] for e in read_log(os.path.join(out, name, "log.jsonl"))) for name in names]
    fixed = [max(0.0, total - e) for total, e in zip(seconds, in_epochs)]
    return fixed, sum(in_epochs) / len(in_epochs) / epochs


# Random search is topped up when its searches at a target took less than this share of dnas' clock.
TOP_UP_BELOW = 0.97


def top_up_short_random(out, pairs, targets, random_epochs, random_seconds, dnas_clock, search_random):
    """Reruns, once, the random searches of any target whose mean clock fell under TOP_UP_BELOW of dnas'.

    The calibration searches can run slower per epoch than the real ones (run 34: 13.9 s against
    11.8 s, which gave random search 87% / 90% of dnas' clock). The short searches' own logs give
    their fixed time and seconds per epoch; the rerun gets the epochs that those say fit dnas' clock
    (at least one more than before), into the same folders; the short ones are kept beside them as
    `random_T<t>_s<seed>.short`. Updates random_epochs in place; returns the searches' seconds and
    {target: epochs before the top-up} for each target topped up. A rerun into the same --out finds
    the topped-up folders finished and their epochs in their logs."""
    seconds = dict(zip(pairs, random_seconds))
    for t in targets:  # a rerun: the folders already hold the topped-up searches
        random_epochs[t] = max(len(read_log(os.path.join(out, f"random_T{t}_s{s}", "log.jsonl")))
                               for tt, s in pairs if tt == t)
    short = {t: len(read_log(os.path.join(out, f"random_T{t}_s{s}.short", "log.jsonl")))
             for t, s in pairs if os.path.exists(os.path.join(out, f"random_T{t}_s{s}.short", "log.jsonl"))}
    jobs = []
    for t in targets:
        runs = [(s, seconds[(tt, s)]) for tt, s in pairs if tt == t]
        clock = statistics.mean(sec for _, sec in runs)
        if clock >= TOP_UP_BELOW * dnas_clock[t]:
            continue
        fixed_parts, per_epoch = clock_parts(out, [f"random_T{t}_s{s}" for s, _ in runs], [sec for _, sec in runs],
                                             random_epochs[t])
        fixed = statistics.mean(fixed_parts)
        epochs = max(random_epochs[t] + 1, math.ceil((dnas_clock[t] - fixed) / per_epoch))
        print(f"==> topping up random search at {t} ms: {random_epochs[t]} epochs took {clock:.0f} s, "
              f"{100 * clock / dnas_clock[t]:.0f}% of dnas' {dnas_clock[t]:.0f} s ({fixed:.0f} s fixed + "
              f"{per_epoch:.1f} s per epoch); rerunning with {epochs}", flush=True)
        short[t] = random_epochs[t]
        random_epochs[t] = epochs
        for s, _ in runs:
            folder = os.path.join(out, f"random_T{t}_s{s}")
            for suffix in ("", ".log", ".seconds"):
                subprocess.call(["rm", "-rf", folder + ".short" + suffix])
                os.rename(folder + suffix, folder + ".short" + suffix)
            jobs.append((t, s))
    for (t, s), sec in zip(jobs, parallel([lambda t=t, s=s: search_random(t, s, random_epochs[t]) for t, s in jobs])):
        seconds[(t, s)] = sec
    return [seconds[p] for p in pairs], {str(t): n for t, n in short.items()}


def write_markdown(s, path):
    rows = ["| contestant | target ms | seed | predicted ms | vs target | measured ms (passes' range) | search s "
            "| test top-1 (per retrain seed) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in s["contestants"]:
        error = f"{100 * (c['predicted_ms'] / c['target_ms'] - 1):+.1f}%" if "predicted_ms" in c else ""
        rows.append(f"| {c['method']} | {c['target_ms'] if c['target_ms'] else ''} | {c['seed']} | "
                    f"{c.get('predicted_ms', float('nan')):.3f} | {error} | {c['measured_ms']:.3f} "
                    f"({min(c['measured_ms_passes']):.3f}-{max(c['measured_ms_passes']):.3f}) | "
                    f"{c.get('search_seconds', 0):.0f} | {100 * c['test_top1']:.2f}% "
                    f"({', '.join(f'{100 * v:.2f}' for v in c['test_top1_seeds'])}) |")
    rows.append("")
    rows.append(f"Space: {s['space']}; targets {s['targets_ms']} ms in the reachable "
                f"{s['reachable_ms'][0]:.3f} - {s['reachable_ms'][1]:.3f} ms; searches and retrains on "
                f"{s.get('device', 'cpu')}.")
    landed = [c for c in s["contestants"] if c["method"] == "dnas"
              and abs(c["predicted_ms"] / c["target_ms"] - 1) <= 0.05]
    again = s.get("latency_remeasured", [])
    rows.append(f"Measured latency: `dnas bench net`, batch 1, 1 thread, the median of {s['latency_passes']} "
                f"interleaved passes" + (f" ({2 * s['latency_passes']} for {len(again)} arch(s) whose passes "
                                         f"disagreed: {', '.join(again)})" if again else "") + ".")
    rows.append(f"dnas landed within 5% of the target (on the table) in {len(landed)} of {s['pairs']} searches.")
    r = s["train_recipe"]
    rows.append(f"Retrained {r['epochs']} epochs on {r['samples']} images with seeds {r['seeds']}; test top-1 is the "
                f"mean over seeds. Seeds of one arch differ by a median of {100 * s['median_seed_spread']:.2f} points "
                f"(max {100 * s['max_seed_spread']:.2f}).")
    if "random_seconds_by_target" in s:  # since run 24: random search's clock set per target
        clock = (f"Random search ran {' / '.join(str(n) for n in s['random_epochs'])} epochs (at "
                 f"{' / '.join(f'{t:g}' for t in s['targets_ms'])} ms) to dnas' {s['search_epochs']}, in "
                 f"{' / '.join(f'{x:.0f}' for x in s['random_seconds_by_target'])} s to dnas' "
                 f"{' / '.join(f'{x:.0f}' for x in s['dnas_seconds_by_target'])} s ("
                 + " / ".join(f"{100 * r / d:.0f}%" for r, d in zip(s["random_seconds_by_target"],
                                                                    s["dnas_seconds_by_target"]))
                 + " of its wall-clock)")
        for t, before in s.get("random_topped_up", {}).items():
            clock += (f"; at {t} ms its first {before}-epoch searches fell short of dnas' clock and were rerun "
                      f"with more epochs (the short ones are in random_T{t}_s*.short)")
    else:
        clock = (f"Random search ran {s['random_epochs']} epochs to dnas' {s['search_epochs']} in "
                 f"{s['random_seconds']:.0f} s to dnas' {s['dnas_seconds']:.0f} s "
                 f"({100 * s['random_seconds'] / s['dnas_seconds']:.0f}% of its wall-clock)")
    rows.append(f"dnas >= random in {s['dnas_wins']} of {s['pairs']} (target, seed) pairs; mean margin "
                f"{100 * s['mean_margin']:+.2f} points. " + clock
                + (f"; both searched with `{s['search_flags']}`" if s.get("search_flags") else "")
                + (f"; dnas also with `{s['dnas_flags']}`" if s.get("dnas_flags") else "") + ".")
    for b in s["baselines"]:
        best = "none" if b["best_dnas_at_or_below"] is None else f"{100 * b['best_dnas_at_or_below']:.2f}%"
        rows.append(f"{b['baseline']}: {100 * b['test_top1']:.2f}% at {b['measured_ms']:.3f} ms; best dnas result at "
                    f"or below that latency: {best} ({'at least as good' if b['dnas_at_least_as_good'] else 'worse'}).")
    rows.append(f"\nWhole benchmark: {s['minutes']:.1f} minutes.")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def write_svg(s, path):
    """Accuracy against measured latency, one mark per contestant, the targets as dashed lines."""
    cs = s["contestants"]
    w, h, m = 640, 420, 60
    xs = [c["measured_ms"] for c in cs] + s["targets_ms"]
    ys = [100 * c["test_top1"] for c in cs]
    x0, x1 = 0.0, max(xs) * 1.1
    y0, y1 = math.floor(min(ys) - 2), math.ceil(max(ys) + 2)
    X = lambda v: m + (v - x0) / (x1 - x0) * (w - 2 * m)
    Y = lambda v: h - m - (v - y0) / (y1 - y0) * (h - 2 * m)
    colour = {"dnas": "#d62728", "random": "#1f77b4"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
           f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">measured latency (ms, batch 1, 1 thread)</text>',
           f'<text x="16" y="{h / 2}" transform="rotate(-90 16 {h / 2})" text-anchor="middle">test top-1 (%)</text>',
           f'<text x="{w / 2}" y="24" text-anchor="middle">Fashion-MNIST: dnas vs random search vs baselines</text>']
    for i in range(5):
        xv, yv = x0 + i * (x1 - x0) / 4, y0 + i * (y1 - y0) / 4
        out.append(f'<text x="{X(xv)}" y="{h - m + 16}" text-anchor="middle">{xv:.2f}</text>')
        out.append(f'<text x="{m - 6}" y="{Y(yv) + 4}" text-anchor="end">{yv:.1f}</text>')
    for t in s["targets_ms"]:
        out.append(f'<line x1="{X(t)}" y1="{m}" x2="{X(t)}" y2="{h - m}" stroke="#888" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{X(t) + 3}" y="{m + 12}" fill="#888">target {t} ms</text>')
    for c in cs:
        kind = c["method"] if c["method"] in colour else "baseline"
        x, y = X(c["measured_ms"]), Y(100 * c["test_top1"])
        if kind == "baseline":
            out.append(f'<rect x="{x - 5}" y="{y - 5}" width="10" height="10" fill="#2ca02c"/>')
            out.append(f'<text x="{x + 8}" y="{y + 4}">{c["method"]}</text>')
        else:
            out.append(f'<circle cx="{x}" cy="{y}" r="5" fill="{colour[kind]}" fill-opacity="0.8"/>')
    out.append(f'<circle cx="{w - 150}" cy="{m + 30}" r="5" fill="{colour["dnas"]}"/>'
               f'<text x="{w - 140}" y="{m + 34}">dnas search</text>')
    out.append(f'<circle cx="{w - 150}" cy="{m + 48}" r="5" fill="{colour["random"]}"/>'
               f'<text x="{w - 140}" y="{m + 52}">random search</text>')
    out.append(f'<rect x="{w - 155}" y="{m + 61}" width="10" height="10" fill="#2ca02c"/>'
               f'<text x="{w - 140}" y="{m + 70}">baselines</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
