#!/usr/bin/env python3
"""Does an earlier latency table still predict this machine, and does its canary know by how much?
(bench/README.md, "An old table against today's machine".)

A table's rows are normalized to the canary reference of its first profile (README, "Latency
tables"): a machine that runs slower or faster later is meant to show up in the canary, so that
rows profiled at different times, and networks validated later, stay in one unit. This checks
that against an earlier `search_quality.sh` run (its table and its retrained archs): it profiles
the same space into a fresh table now (its own reference: today's canary), times every arch end
to end now with `dnas bench net` (as timed, the median of --passes interleaved passes), and prints
per arch the old table's prediction, the fresh table's, the fresh one scaled to the old reference
(what profiling today into the old table would have stored), today's measurement and the run's
own measurement; then the medians of their ratios, and the two canary references.

Usage: python3 bench/table_drift.py --dnas build/cli/dnas --out DIR RUN
"""
import argparse
import json
import os
import random
import statistics

from bench_runs import copy_table, last_json, open_read_only, read_results, run


def canary_reference(db):
    """The canary reference of the table's first run that recorded one (microseconds)."""
    with open_read_only(db) as connection:
        for (conditions,) in connection.execute("SELECT conditions FROM runs ORDER BY id"):
            reference = json.loads(conditions).get("canary", {}).get("reference_us")
            if reference:
                return reference
    raise SystemExit(f"{db}: no run recorded a canary reference")


def bench(dnas, arch, db, log):
    """(predicted ms by `db`, measured ms as timed) of one `dnas bench net` call."""
    run([dnas, "bench", "net", "--arch", arch, "--input", "28", "--threads", "1", "--repeats", "20",
         "--target", "host-cpu", "--db", db, "--json"], log)
    result = last_json(log)
    return result["prediction"]["predicted_ms"], result["median_ms"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a finished bench/search_quality.py output folder")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/table_drift")
    p.add_argument("--passes", type=int, default=3, help="interleaved timing passes over the archs")
    a = p.parse_args()
    if a.passes < 1:
        p.error(f"--passes: expected >= 1, got {a.passes}")
    results = read_results(a.run, p)
    space = results["space"]
    table = os.path.join(a.run, "host-cpu-28x28.db" if space == "small" else f"host-cpu-{space}-28x28.db")
    fresh, old = os.path.join(a.out, "fresh.db"), os.path.join(a.out, "old.db")
    if os.path.exists(fresh):
        p.error(f"{fresh} exists: a new --out, so that the fresh table is profiled now")
    os.makedirs(a.out, exist_ok=True)
    copy_table(table, old)  # read from a copy: the run's own table is left as it is
    dnas = os.path.abspath(a.dnas)
    print("==> profiling a fresh table", flush=True)
    run([dnas, "profile-latency", "--space", space, "--target", "host-cpu", "--db", fresh, "--input", "28",
         "--input-channels", "1", "--num-classes", "10", "--threads", "1"], os.path.join(a.out, "profile.log"))
    old_reference, fresh_reference = canary_reference(old), canary_reference(fresh)
    scale = old_reference / fresh_reference  # fresh rows in the old table's unit

    archs = {}  # the searched archs: every block of theirs is a row of both tables
    for c in results["contestants"]:
        if c["method"] in ("dnas", "random"):
            archs.setdefault(c["arch"], (c["method"], c["measured_ms"]))
    readings = {arch: [] for arch in archs}
    predicted = {}
    order = random.Random(0)
    print(f"==> timing {len(archs)} archs, {a.passes} interleaved passes", flush=True)
    for n in range(a.passes):
        for arch in order.sample(sorted(archs), len(archs)):
            log = os.path.join(a.out, f"{os.path.relpath(arch, a.run).replace('/', '_')}.pass{n}.log")
            old_ms, measured = bench(dnas, arch, old, log)
            readings[arch].append(measured)
            if n == 0:
                fresh_ms, _ = bench(dnas, arch, fresh, log + ".fresh")
                predicted[arch] = (old_ms, fresh_ms)

    print(f"\ncanary references: the old table {old_reference:.1f} us, the fresh one {fresh_reference:.1f} us "
          f"(today / then {fresh_reference / old_reference:.3f})")
    print("| arch | old table ms | fresh table ms | fresh, in the old unit | measured today ms | measured in the run ms |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = {"fresh / old table": [], "fresh in the old unit / old table": [], "today / old table": [],
              "today / fresh table": [], "the run's / old table": [], "today / the run's": []}
    for arch in sorted(archs):
        method, run_ms = archs[arch]
        old_ms, fresh_ms = predicted[arch]
        today = statistics.median(readings[arch])
        print(f"| {method} {os.path.relpath(arch, a.run)} | {old_ms:.3f} | {fresh_ms:.3f} | {fresh_ms * scale:.3f} | "
              f"{today:.3f} | {run_ms:.3f} |")
        for name, value in (("fresh / old table", fresh_ms / old_ms),
                            ("fresh in the old unit / old table", fresh_ms * scale / old_ms),
                            ("today / old table", today / old_ms), ("today / fresh table", today / fresh_ms),
                            ("the run's / old table", run_ms / old_ms), ("today / the run's", today / run_ms)):
            ratios[name].append(value)
    print()
    for name, values in ratios.items():
        print(f"{name}: median {statistics.median(values):.3f} (range {min(values):.3f}-{max(values):.3f})")


if __name__ == "__main__":
    main()
