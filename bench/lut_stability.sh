#!/usr/bin/env bash
# Does the latency table hold on this shared machine? (issue 14's goals: two consecutive profiles
# of the fbnet space agree per block with a median <= 3% and a p90 <= 10%; validation over 30
# random fbnet archs at 224 gives a median error <= 5% and Kendall tau >= 0.9 on three
# consecutive runs; profiling the whole space takes under 3 minutes.)
#
# In one run, interleaved, three ways of profiling, each twice:
#   rounds    dnas' defaults: interleaved rounds, drift canary, rows normalized to the table's
#             canary reference; the second profile re-profiles the first's table (its rows and
#             rounds deleted, its runs and so its reference kept), as a user re-profiling does;
#   as-timed  the same rounds and canary, rows as timed (--as-timed: dnas before normalization),
#             each profile a table of its own;
#   burst     the one-burst discipline dnas used before rounds (1 round of 10 warm-up + 50 timed
#             iterations, no canary retries), as timed;
# then, alternating, validations of the rounds table (normalized) and of the as-timed table
# (--as-timed), one per seed.
#   DNAS=build/cli/dnas ARCHS=30 VALIDATIONS=3 bash bench/lut_stability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
archs=${ARCHS:-30}
validations=${VALIDATIONS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
burst=(--rounds 1 --warmup 10 --repeats 50 --max-retries 0 --canary-threshold 10 --as-timed)
for pass in 1 2; do
  for mode in rounds as-timed burst; do
    args=()
    [[ $mode == burst ]] && args=("${burst[@]}")
    [[ $mode == as-timed ]] && args=(--as-timed)
    if [[ $mode == rounds && $pass == 2 ]]; then
      python3 bench/table_without_rows.py "$work/rounds1.db" "$work/rounds2.db"
    fi
    start=$(date +%s.%N)
    "$dnas" profile-latency --space fbnet --target host-cpu --db "$work/$mode$pass.db" "${args[@]}" --json \
      > "$work/$mode$pass.json"
    python3 -c "import json; d = json.load(open('$work/$mode$pass.json')); c = d['conditions'].get('canary', {});
print('profile %-8s pass %d: %5.0f s, %d blocks, canary reference %6.1f us, baseline %6.1f us, re-measured %s, unsettled %s, noisy %s, warnings: %s' % (
  '$mode', $pass, $(date +%s.%N) - $start, d['measured'], c.get('reference_us', 0), c.get('baseline_us', 0),
  c.get('remeasured', '-'), c.get('unsettled', '-'), d['noisy'], '; '.join(d['conditions'].get('warnings', [])) or 'none'))"
  done
done

python3 - "$work" <<'PY'
import sqlite3, sys
work = sys.argv[1]
def medians(path):
    return dict(sqlite3.connect(path).execute('SELECT key, median_us FROM measurements'))
def pct(values, q):
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)
print('\ntwo consecutive profiles, per-block |a - b| / mean(a, b) (goal: median <= 3%, p90 <= 10%)')
print('%-9s %7s %8s %8s %8s %8s' % ('mode', 'blocks', 'median', 'p90', 'max', 'b / a'))
for mode in ('rounds', 'as-timed', 'burst'):
    a, b = medians(f'{work}/{mode}1.db'), medians(f'{work}/{mode}2.db')
    diffs = [abs(a[k] - b[k]) / ((a[k] + b[k]) / 2) for k in a if k in b]
    ratios = [b[k] / a[k] for k in a if k in b and a[k] > 0]
    print('%-9s %7d %7.1f%% %7.1f%% %7.1f%% %8.3f' % (mode, len(diffs), 100 * pct(diffs, .5), 100 * pct(diffs, .9),
                                                    100 * max(diffs), pct(ratios, .5)))
PY

echo
echo "validations over $archs random fbnet archs at 224 (goal: median error <= 5%, tau >= 0.9)"
printf '%-4s %-9s %8s %8s %8s %8s %12s %10s %10s\n' seed table mape max tau noise corr_mape canary_x seconds
for run in $(seq 1 "$validations"); do
  for mode in rounds as-timed; do
    args=()
    [[ $mode == as-timed ]] && args=(--as-timed)
    start=$(date +%s.%N)
    "$dnas" lut validate --db "$work/${mode}1.db" --target host-cpu --space fbnet --archs "$archs" --seed "$run" \
      --no-store --json "${args[@]}" > "$work/v.json"
    python3 - "$work/v.json" "$run" "$mode" "$start" "$(date +%s.%N)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d['canary']
# canary_x: this validation's canary baseline against the table's reference (how much slower the
# machine ran than when the table was first profiled); '-' for as-timed.
x = '%.3f' % (c['baseline_us'] / c['reference_us']) if c['reference_us'] > 0 else '-'
print('%-4s %-9s %7.1f%% %7.1f%% %8.3f %7.1f%% %11.1f%% %10s %10.0f' % (sys.argv[2], sys.argv[3], 100 * d['mape'],
      100 * d['max_error'], d['kendall_tau'], 100 * d['noise_floor'], 100 * d['corrected']['mape'], x,
      float(sys.argv[5]) - float(sys.argv[4])))
PY
  done
done
