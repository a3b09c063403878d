#!/usr/bin/env bash
# Search throughput against the number of ranks on this machine: the same search (same global
# batch) on 1, 2, ... ranks launched with torchrun's variables over loopback Gloo, each rank with
# cores/ranks intra-op threads. Reports images/s (both splits, per epoch) and the speed-up.
#   RANKS="1 2" GLOBAL_BATCH=64 EPOCHS=2 SAMPLES=4000 bash bench/distributed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
ranks_list=${RANKS:-"1 2"} global_batch=${GLOBAL_BATCH:-64} epochs=${EPOCHS:-2} samples=${SAMPLES:-4000}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# space small, synthetic ${samples} x 1x28x28, global batch $global_batch, $epochs epochs (the last one timed)"
printf '%6s %8s %10s %12s %9s\n' ranks threads batch/rank images/s speed-up
base=""
for ranks in $ranks_list; do
  threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
  port=$(( 29400 + RANDOM % 500 ))
  args=(search --space small --target host-cpu --estimate-missing --data "synthetic:$samples:28:1:10" --epochs "$epochs"
        --batch-size $(( global_batch / ranks )) --threads "$threads" --out "$work/r$ranks" --json)
  pids=()
  for rank in $(seq 0 $(( ranks - 1 ))); do
    if (( ranks == 1 )); then
      "$dnas" "${args[@]}" > "$work/out$ranks" 2> /dev/null & pids+=($!)
    else
      RANK=$rank WORLD_SIZE=$ranks LOCAL_RANK=$rank LOCAL_WORLD_SIZE=$ranks MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
        "$dnas" "${args[@]}" > "$work/out$ranks.$rank" 2> /dev/null & pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  python3 - "$work/r$ranks/log.jsonl" "$ranks" "$threads" $(( global_batch / ranks )) "$samples" "${base:-0}" > "$work/line" <<'PY'
import json, sys
log, ranks, threads, batch, samples, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
last = [json.loads(l) for l in open(log) if l.strip()][-1]
rate = samples / last["seconds"]
print("%6d %8d %10d %12.1f %9s %f" % (ranks, threads, batch, rate, "%.2fx" % (rate / base) if base else "1.00x", rate))
PY
  line=$(cat "$work/line")
  echo "${line% *}"
  [[ -z $base ]] && base=${line##* }
done
