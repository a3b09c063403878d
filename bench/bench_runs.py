"""What the Python benchmark drivers share (bench/search_quality.py, bench/hard_mode.py)."""
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
