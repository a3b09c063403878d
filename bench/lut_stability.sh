#!/usr/bin/env bash
# Does the latency table hold on this shared machine? (issue 14's goals: two consecutive profiles
# of the fbnet space agree per block with a median <= 3% and a p90 <= 10%; validation over 30
# random fbnet archs at 224 gives a median error <= 5% and Kendall tau >= 0.9 on three
# consecutive runs; profiling the whole space takes under 3 minutes.)
#
# In one run, interleaved: two profiles with dnas' defaults (interleaved rounds + drift canary)
# and two with the one-burst discipline dnas used before rounds (1 round of 10 warm-up + 50 timed
# iterations, no canary), as the baseline; then three validations of the rounds table.
#   DNAS=build/cli/dnas ARCHS=30 VALIDATIONS=3 bash bench/lut_stability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
archs=${ARCHS:-30}
validations=${VALIDATIONS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
burst=(--rounds 1 --warmup 10 --repeats 50 --max-retries 0 --canary-threshold 10)
for pass in 1 2; do
  for mode in rounds burst; do
    args=()
    [[ $mode == burst ]] && args=("${burst[@]}")
    start=$(date +%s.%N)
    "$dnas" profile-latency --space fbnet --target host-cpu --db "$work/$mode$pass.db" "${args[@]}" --json \
      > "$work/$mode$pass.json"
    python3 -c "import json; d = json.load(open('$work/$mode$pass.json')); c = d['conditions'].get('canary', {});
print('profile %-6s pass %d: %5.0f s, %d blocks, canary re-measured %s, unsettled %s, noisy %s, warnings: %s' % (
  '$mode', $pass, $(date +%s.%N) - $start, d['measured'], c.get('remeasured', '-'), c.get('unsettled', '-'),
  d['noisy'], '; '.join(d['conditions'].get('warnings', [])) or 'none'))"
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
print('%-7s %7s %8s %8s %8s' % ('mode', 'blocks', 'median', 'p90', 'max'))
for mode in ('rounds', 'burst'):
    a, b = medians(f'{work}/{mode}1.db'), medians(f'{work}/{mode}2.db')
    diffs = [abs(a[k] - b[k]) / ((a[k] + b[k]) / 2) for k in a if k in b]
    print('%-7s %7d %7.1f%% %7.1f%% %7.1f%%' % (mode, len(diffs), 100 * pct(diffs, .5), 100 * pct(diffs, .9),
                                               100 * max(diffs)))
PY

echo
echo "validation of the rounds table over $archs random fbnet archs at 224 (goal: median error <= 5%, tau >= 0.9)"
printf '%-4s %8s %8s %8s %8s %12s %10s\n' run mape max tau noise corr_mape seconds
for run in $(seq 1 "$validations"); do
  start=$(date +%s.%N)
  "$dnas" lut validate --db "$work/rounds1.db" --target host-cpu --space fbnet --archs "$archs" --seed "$run" \
    --no-store --json > "$work/v.json"
  python3 - "$work/v.json" "$run" "$start" "$(date +%s.%N)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print('%-4s %7.1f%% %7.1f%% %8.3f %7.1f%% %11.1f%% %10.0f' % (sys.argv[2], 100 * d['mape'], 100 * d['max_error'],
      d['kendall_tau'], 100 * d['noise_floor'], 100 * d['corrected']['mape'], float(sys.argv[4]) - float(sys.argv[3])))
PY
done
