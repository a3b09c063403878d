#!/usr/bin/env bash
# Does the retry budget bound a profile on a machine that keeps being slow, and what does it cost
# the table? A load generator keeps both cores busy for LOAD_ON seconds out of every
# LOAD_ON + LOAD_OFF (a neighbour that comes and goes, as on this shared VM or a throttling board).
# Under it, interleaved, profiles of the fbnet space with the default budget (--retry-budget 0.5)
# and without one (--retry-budget 100: every block-round retried max_retries times, then again in
# the make-up pass: dnas before the budget). Each re-profiles a copy of a table profiled before the
# load started, on a quiet machine (so all are normalized to its canary reference), and is compared
# with it per block.
# FLAGS adds flags to the compared profiles; e.g. LOAD_ON=0 FLAGS="--canary-threshold 0.01" makes
# a canary that (almost) never settles without a load, which a busy neighbour does not reliably do
# (the canary is a 90 us kernel, the fastest of 3 readings; time-slicing rarely catches it).
#   DNAS=build/cli/dnas PAIRS=2 LOAD_ON=2 LOAD_OFF=2 FLAGS= bash bench/lut_retry_budget.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
pairs=${PAIRS:-2}
on=${LOAD_ON:-2}
off=${LOAD_OFF:-2}
read -r -a flags <<< "${FLAGS:-}"
work=$(mktemp -d)
load_pid=
trap '[[ -n $load_pid ]] && kill $load_pid 2>/dev/null; rm -rf "$work"' EXIT

profile() {  # profile NAME ARGS...: prints "seconds re-measured unsettled noisy"
  local name=$1; shift
  if [[ $name != quiet ]]; then  # re-profile the quiet table: its runs, so its canary reference, kept
    python3 bench/table_without_rows.py "$work/quiet.db" "$work/$name.db"
  fi
  local start=$(date +%s.%N)
  "$dnas" profile-latency --space fbnet --target host-cpu --db "$work/$name.db" --json "$@" > "$work/$name.json"
  python3 -c "import json; d = json.load(open('$work/$name.json')); c = d['conditions']['canary'];
print('%-10s %6.0f s  re-measured %5d  unsettled %4d  noisy %s' % ('$name', $(date +%s.%N) - $start, c['remeasured'], c['unsettled'], d['noisy']))"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); load ${on} s on / ${off} s off; flags: ${flags[*]:-none}"
profile quiet
if [[ $on != 0 ]]; then
  python3 - "$on" "$off" <<'PY' &
import multiprocessing, os, signal, sys, time
on, off = float(sys.argv[1]), float(sys.argv[2])
def spin():
    while True:
        end = time.monotonic() + on
        while time.monotonic() < end:
            pass
        time.sleep(off)
procs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(os.cpu_count())]
for p in procs: p.start()
def stop(*_):
    for p in procs: p.terminate()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
for p in procs: p.join()
PY
  load_pid=$!
fi
for pair in $(seq "$pairs"); do
  profile "budget$pair" "${flags[@]}"
  profile "unbounded$pair" "${flags[@]}" --retry-budget 100
done
[[ -z $load_pid ]] || kill $load_pid
load_pid=

python3 - "$work" "$pairs" <<'PY'
import sqlite3, sys
work, pairs = sys.argv[1], int(sys.argv[2])
def medians(name):
    return dict(sqlite3.connect(f'{work}/{name}.db').execute('SELECT key, median_us FROM measurements'))
def pct(values, q):
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = int(pos)
    return values[lo] + (values[min(lo + 1, len(values) - 1)] - values[lo]) * (pos - lo)
quiet = medians('quiet')
print('\nper-block |loaded - quiet| / quiet')
print('%-10s %8s %8s %8s %8s' % ('profile', 'median', 'p90', 'max', 'ratio'))
for pair in range(1, pairs + 1):
    for name in (f'budget{pair}', f'unbounded{pair}'):
        rows = medians(name)
        errors = [abs(rows[k] - quiet[k]) / quiet[k] for k in quiet]
        ratios = sorted(rows[k] / quiet[k] for k in quiet)
        print('%-10s %7.1f%% %7.1f%% %7.1f%% %8.3f' % (name, 100 * pct(errors, 0.5), 100 * pct(errors, 0.9),
                                                       100 * max(errors), pct(ratios, 0.5)))
PY
