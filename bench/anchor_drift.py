#!/usr/bin/env python3
"""Does a table profiled in parts stay in one unit when the machine changes in between? (bench/README.md,
"Anchors: a table's own rows as its unit".)

Takes an old latency table of the small_mixed space at 28x28x1 (a finished bench/search_quality.sh
run's) and, --repeats times, interleaved:
  - profile: copies it without every other block's row (by key), profiles the space into the copy
    with `dnas profile-latency` (which measures only the missing half) by the canary reference alone
    (`--anchors 0`) and, into a second copy, with the default 8 anchors (the table's own rows
    re-timed first), and compares each re-profiled row with the one the old table held for that
    block: in the table's unit the ratio is 1;
  - validate: `dnas lut validate` of the old table (30 random archs) by the canary reference alone
    and with anchors, and of a table profiled afresh now: whole networks against summed rows in one
    machine state (the fresh table) is what the old table's validation should read.
Prints the medians of the ratios, with their 10th-90th percentiles over blocks and ranges over repeats.

Usage: python3 bench/anchor_drift.py --dnas build/cli/dnas --out DIR --repeats 3 TABLE.db
"""
import argparse
import json
import os
import sqlite3
import statistics

from bench_runs import copy_table, last_json, run


def without_half(source, copy):
    """`source` copied to `copy` without every other block's row (measurements and round samples, by
    key order); returns {key: stored median} of the rows dropped."""
    copy_table(source, copy)
    db = sqlite3.connect(copy)
    rows = sorted(db.execute("SELECT key, median_us FROM measurements"))
    dropped = dict(rows[1::2])
    db.executemany("DELETE FROM measurements WHERE key = ?", [(k,) for k in dropped])
    db.executemany("DELETE FROM round_samples WHERE key = ?", [(k,) for k in dropped])
    db.commit()
    db.close()
    return dropped


def medians(table):
    db = sqlite3.connect(table)
    out = dict(db.execute("SELECT key, median_us FROM measurements"))
    db.close()
    return out


def spread(ratios):
    ratios = sorted(ratios)
    return statistics.median(ratios), ratios[len(ratios) // 10], ratios[(9 * len(ratios)) // 10]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", help="an old small_mixed table at 28x28x1 (host-cpu, 1 thread)")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/anchor_drift")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.repeats < 1:
        p.error(f"--repeats: expected 1 or more, got {a.repeats}")
    if not os.path.isfile(a.table):
        p.error(f"{a.table}: no such file")
    os.makedirs(a.out, exist_ok=True)
    if os.listdir(a.out):
        p.error(f"--out {a.out}: not empty (a new folder: each repeat profiles into fresh copies)")
    dnas = os.path.abspath(a.dnas)
    space = os.path.join(a.out, "small_mixed_28x28x1.yaml")  # lut validate has no --input: the space at 28x28x1
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "spaces",
                           "small_mixed.yaml")) as f:
        text = f.read()
    with open(space, "w") as f:
        f.write(text.replace("input_size: 32", "input_size: 28").replace("input_channels: 3", "input_channels: 1"))
    common = ["--target", "host-cpu", "--threads", "1"]
    profile = [dnas, "profile-latency", "--space", "small_mixed", "--input", "28", "--input-channels", "1",
               "--num-classes", "10", *common]

    results = {"canary": [], "anchors": []}
    validations = {"canary": [], "anchors": [], "fresh": []}
    for n in range(a.repeats):
        print(f"==> repeat {n + 1} of {a.repeats}", flush=True)
        order = ("canary", "anchors") if n % 2 == 0 else ("anchors", "canary")
        for method in order:
            copy = os.path.join(a.out, f"{method}_{n}.db")
            dropped = without_half(a.table, copy)
            log = os.path.join(a.out, f"{method}_{n}.profile.log")
            run([*profile, "--db", copy, "--json", *(["--anchors", "0"] if method == "canary" else [])], log)
            anchors = last_json(log)["conditions"]["canary"].get("anchors")
            new = medians(copy)
            ratios = [new[k] / dropped[k] for k in dropped]
            results[method].append(spread(ratios))
            note = f" (anchors x{anchors['scale']:.3f}, {anchors['min_ratio']:.3f}-{anchors['max_ratio']:.3f})" \
                if anchors else ""
            print(f"    {method}: {len(ratios)} re-profiled rows / the old table's: median {results[method][-1][0]:.3f} "
                  f"(blocks' 10th-90th percentile {results[method][-1][1]:.3f}-{results[method][-1][2]:.3f}){note}",
                  flush=True)
        fresh = os.path.join(a.out, f"fresh_{n}.db")
        run([*profile, "--db", fresh], os.path.join(a.out, f"fresh_{n}.profile.log"))
        for method in ("canary", "anchors", "fresh")[::1 if n % 2 == 0 else -1]:
            log = os.path.join(a.out, f"validate_{method}_{n}.log")
            run([dnas, "lut", "validate", "--db", fresh if method == "fresh" else a.table, "--space", space,
                 "--archs", "30", "--no-store", "--json", *common, *(["--anchors", "0"] if method == "canary" else [])],
                log)
            v = last_json(log)
            ratios = [arch["measured_us"] / arch["predicted_us"] for arch in v["archs"]]
            validations[method].append(spread(ratios))
            print(f"    validate, {method}: networks / summed rows: median {validations[method][-1][0]:.3f} "
                  f"(archs' 10th-90th percentile {validations[method][-1][1]:.3f}-{validations[method][-1][2]:.3f})",
                  flush=True)

    print()
    print(f"{a.table}, {a.repeats} repeats (each figure a median over blocks or archs; ranges over repeats):")
    for method, label in (("canary", "by the canary reference alone (--anchors 0)"), ("anchors", "with 8 anchors")):
        m = [r[0] for r in results[method]]
        print(f"  re-profiled rows / the old table's, {label}: {min(m):.3f}-{max(m):.3f}")
    for method, label in (("canary", "old table, by the canary reference alone"), ("anchors", "old table, with anchors"),
                          ("fresh", "a table profiled now (one machine state)")):
        m = [r[0] for r in validations[method]]
        print(f"  lut validate, networks / summed rows, {label}: {min(m):.3f}-{max(m):.3f}")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"table": a.table, "profile": results, "validate": validations}, f, indent=1)


if __name__ == "__main__":
    main()
