"""What the Python benchmark drivers share (bench/search_quality.py, bench/hard_mode.py,
bench/proxy_rank.py, bench/supernet_candidates.py, bench/trial_rank.py,
bench/trial_candidates.py, bench/likelihood_pick.py, bench/pick_blocks.py, bench/theta_pool.py,
bench/search_quality_tally.py, bench/table_without_rows.py, bench/arch_spread.py, bench/table_drift.py,
bench/retrain_recipe.py, bench/anchor_drift.py)."""
import argparse
import contextlib
import json
import os
import pathlib
import re
import sqlite3
import subprocess
import sys
import time


def run(cmd, log):
    """Runs `cmd` with its output in the file `log`; returns its wall time in seconds. A failure
    ends the benchmark with a line that names the command and the log."""
    start = time.monotonic()
    with open(log, "w") as out:
        try:
            code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
        except OSError as e:
            sys.exit(f"{os.path.basename(sys.argv[0])}: cannot run {cmd[0]}: {e.strerror}")
    if code != 0:
        sys.exit(f"{os.path.basename(sys.argv[0])}: `{' '.join(cmd)}` failed ({code}); see {log}")
    return time.monotonic() - start


def read_log(path):
    """The records of a run's log.jsonl, one dict per line."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_json(path):
    """The JSON document a `dnas ... --json` command printed into the log `path`, after any
    progress text before it."""
    with open(path) as f:
        text = f.read()
    return json.loads(text[text.index("{"):])


def finished(log, epochs):
    """True when the run's log.jsonl holds `epochs` epochs: a rerun into the same output keeps it."""
    return os.path.exists(log) and sum(1 for _ in open(log)) >= epochs


def searched_arch_changed(arch, folder):
    """True when `arch` is a search's pick (it carries the search's "origin") and `folder`'s
    arch.json, `dnas train`'s copy of what it trained, is another network: a search rerun into the
    same output picked anew. Hand-written archs (the baselines, written the same every run) are
    compared by path alone: `dnas train` writes its copy in a normal form they are not in."""
    def network(path):
        with open(path) as f:
            net = json.load(f)
        return net.pop("origin", None), net
    origin, picked = network(arch)
    trained = os.path.join(folder, "arch.json")
    return origin is not None and (not os.path.exists(trained) or network(trained)[1] != picked)


def retrain(dnas, arch, folder, data, samples, epochs, seed, device="cpu"):
    """Retrains `arch` from scratch (`dnas train`, 1 thread, on `device`) on the first `samples`
    images of `data` into `folder`, and returns its last epoch's test top-1 (the only epoch scored:
    `--eval-every epochs`; the weights are those of a run that scores every epoch). A folder whose
    log already holds `epochs` epochs is kept, so a rerun into the same output rescores without
    retraining, unless it trained another pick of the same search (searched_arch_changed)."""
    log = os.path.join(folder, "log.jsonl")
    if not finished(log, epochs) or searched_arch_changed(arch, folder):
        subprocess.call(["rm", "-rf", folder])
        run([dnas, "train", "--arch", arch, "--data", data, "--max-samples", str(samples), "--epochs", str(epochs),
             "--seed", str(seed), "--eval-every", str(epochs), "--threads", "1", "--device", device, "--out", folder,
             "--json"], folder + ".log")
    return read_log(log)[-1]["test_top1"]


def read_results(run, parser):
    """The results.json of a finished bench/search_quality.py output folder `run`; a folder without
    one ends the script through `parser.error` with a line that names it."""
    path = os.path.join(run, "results.json")
    if not os.path.isfile(path):
        parser.error(f"{run}: no results.json (expected a finished bench/search_quality.py output folder)")
    with open(path) as f:
        return json.load(f)


def dnas_search_key(folder):
    """(target ms, seed) of a bench/search_quality.py dnas search folder (dnas_T<ms>_s<seed>), or
    None for a folder not named so."""
    match = re.fullmatch(r"dnas_T([0-9.]+)_s([0-9]+)", os.path.basename(os.path.normpath(folder)))
    return (float(match[1]), int(match[2])) if match else None


def retrained_scores(results):
    """Each contestant's per-seed test top-1 in a run's results.json, keyed by (method, target ms,
    seed)."""
    return {(c["method"], c["target_ms"], c["seed"]): c["test_top1_seeds"] for c in results["contestants"]}


def open_read_only(path):
    """A connection to the SQLite database `path` that cannot write it (nor checkpoint its -wal).
    Without a -wal beside it the .db is the whole database, opened immutable so that SQLite does
    not leave empty -wal and -shm files beside it either."""
    mode = "?mode=ro" if os.path.exists(path + "-wal") else "?mode=ro&immutable=1"
    return contextlib.closing(sqlite3.connect(pathlib.Path(path).absolute().as_uri() + mode, uri=True))


def table_rows(path):
    """Every row of the SQLite database `path` as SQL text, rows still in a -wal beside it included."""
    with open_read_only(path) as db:
        return list(db.iterdump())


def copy_table(source, destination):
    """Copies the SQLite database `source` to `destination` through SQLite's backup: rows that
    `dnas profile-latency` left in a -wal beside `source` come along, which a copy of the .db file
    alone would miss; `source` is only read."""
    with open_read_only(source) as src, contextlib.closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)


def picks_parser(doc, out):
    """The parser of a script that retrains the picks of finished bench/search_quality.py runs at one
    of their targets (bench/arch_spread.py, bench/retrain_recipe.py): the runs, --dnas, --out (default
    `out`), --target and --device; the script adds its own flags."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="finished bench/search_quality.py output folders")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default=out)
    p.add_argument("--target", choices=["lower", "higher"], default="higher", help="which of each run's two targets")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the retrains run")
    return p
