"""What the Python benchmark drivers share (bench/search_quality.py, bench/hard_mode.py,
bench/proxy_rank.py, bench/supernet_candidates.py)."""
import json
import os
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


def retrain(dnas, arch, folder, data, samples, epochs, seed):
    """Retrains `arch` from scratch (`dnas train`, 1 thread) on the first `samples` images of
    `data` into `folder`, and returns its last epoch's test top-1. A folder whose log already holds
    `epochs` epochs is kept, so a rerun into the same output rescores without retraining."""
    log = os.path.join(folder, "log.jsonl")
    if not os.path.exists(log) or sum(1 for _ in open(log)) < epochs:
        subprocess.call(["rm", "-rf", folder])
        run([dnas, "train", "--arch", arch, "--data", data, "--max-samples", str(samples), "--epochs", str(epochs),
             "--seed", str(seed), "--threads", "1", "--out", folder, "--json"], folder + ".log")
    with open(log) as f:
        return [json.loads(line) for line in f if line.strip()][-1]["test_top1"]
