#!/usr/bin/env bash
# How well the latency table predicts whole networks on this machine (issue: median error <= 10%,
# Kendall tau >= 0.9 over 30 random fbnet archs at 224 on host-cpu). Profiles the fbnet space, then
# validates over random archs for each seed -- once with glibc's malloc defaults (the baseline,
# DNAS_MALLOC_DEFAULTS=1) and once with dnas' allocator tuning (ops/allocator.h), in one run.
#   DNAS=build/cli/dnas ARCHS=30 SEEDS="1 2" THREADS=0 bash bench/lut_accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
archs=${ARCHS:-30}
seeds=${SEEDS:-"1 2"}
threads=${THREADS:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads=$threads"
printf '%-9s %-9s %5s %8s %8s %8s %10s %10s\n' allocator profile seed mape max tau corr_mape corr_tau
for mode in defaults tuned; do
  envs=()
  [[ $mode == defaults ]] && envs=(DNAS_MALLOC_DEFAULTS=1)
  db="$work/$mode.db"
  start=$(date +%s.%N)
  env "${envs[@]}" "$dnas" profile-latency --space fbnet --target host-cpu --db "$db" --threads "$threads" --json > "$work/profile.json"
  profile_s=$(python3 -c "print('%.0fs' % ($(date +%s.%N) - $start))")
  for seed in $seeds; do
    env "${envs[@]}" "$dnas" lut validate --db "$db" --target host-cpu --space fbnet --archs "$archs" --seed "$seed" \
      --threads "$threads" --no-store --json > "$work/v.json"
    python3 - "$work/v.json" "$mode" "$profile_s" "$seed" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print('%-9s %-9s %5s %7.1f%% %7.1f%% %8.3f %9.1f%% %10.3f' % (sys.argv[2], sys.argv[3], sys.argv[4], 100 * d['mape'],
      100 * d['max_error'], d['kendall_tau'], 100 * d['corrected']['mape'], d['corrected']['kendall_tau']))
PY
  done
done
