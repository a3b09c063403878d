#!/usr/bin/env bash
# dnas' search step against the same FBNet supernet in Python PyTorch eager (bench/search_step.py),
# measured in one run on this machine, interleaved (dnas, Python, dnas, Python, ...) so that noise
# from a shared machine hits both sides alike. For each mode it reports the median images/s of
# the w step and the theta step over ROUNDS rounds, and the ratios the search-speed issue asks for:
#   dnas soft w-step / Python soft w-step (target >= 1.2), dnas hard / dnas soft w-step (>= 4),
#   dnas hard / dnas soft peak tensor memory of a step (<= 1/4). The dnas rows use separate
#   weights per candidate, as the Python supernet does; "dnas nested" is hard mode with its default
#   nested weight sharing.
#   SPACE=small INPUT=28 CHANNELS=1 BATCH=32 THREADS=2 STEPS=5 ROUNDS=3 bash bench/search_step.sh
# Python: the first of $PYTHON, python3, /usr/bin/python3 that imports torch (Debian python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
space=${SPACE:-small} input=${INPUT:-28} channels=${CHANNELS:-1} batch=${BATCH:-32}
threads=${THREADS:-$(nproc)} steps=${STEPS:-5} rounds=${ROUNDS:-3}
python=""
for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$candidate" -c 'import torch' 2>/dev/null; then python=$candidate; break; fi
done
[[ -n $python ]] || { echo "search_step.sh: no python3 with torch (apt-get install python3-torch)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

common=(--space "$space" --input "$input" --channels "$channels" --batch "$batch" --threads "$threads" --steps "$steps" --json)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# space $space, input ${channels}x${input}x${input}, batch $batch, $threads threads, $steps timed steps, $rounds rounds"
for round in $(seq "$rounds"); do
  for mode in soft hard; do
    "$dnas" bench search-step "${common[@]}" --mode "$mode" --weight-sharing separate >> "$work/dnas-$mode.jsonl"
    "$python" bench/search_step.py "${common[@]}" --mode "$mode" >> "$work/python-$mode.jsonl"
  done
  "$dnas" bench search-step "${common[@]}" --mode hard --weight-sharing nested >> "$work/dnas-nested.jsonl"
done
"$python" - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
def load(side, mode):
    return [json.loads(line) for line in open(f"{work}/{side}-{mode}.jsonl")]
def median(rows, key):
    return statistics.median(r[key] for r in rows)
rows = {(side, mode): load(side, mode) for side in ("dnas", "python") for mode in ("soft", "hard")}
rows[("dnas", "nested")] = load("dnas", "nested")
first = rows[("dnas", "soft")][0]
print(f"# dnas: LibTorch {first['libtorch']}, memory format {first['memory_format']}; "
      f"python: torch {rows[('python', 'soft')][0]['torch']}; supernet params {first['params']:,}")
print(f"{'':14s} {'w img/s':>10s} {'theta img/s':>12s} {'ms/w step':>10s} {'peak RSS MiB':>13s} {'step tensors MiB':>17s}")
for (side, mode), r in rows.items():
    tensors = f"{median(r, 'peak_step_tensor_bytes') / 2**20:17.1f}" if "peak_step_tensor_bytes" in r[0] else f"{'-':>17s}"
    print(f"{side + ' ' + mode:14s} {median(r, 'w_images_per_s'):10.1f} {median(r, 'theta_images_per_s'):12.1f} "
          f"{median(r, 'ms_per_w_step'):10.1f} {median(r, 'peak_rss_bytes') / 2**20:13.1f} {tensors}")
soft_ratio = median(rows[("dnas", "soft")], "w_images_per_s") / median(rows[("python", "soft")], "w_images_per_s")
hard_ratio = median(rows[("dnas", "hard")], "w_images_per_s") / median(rows[("dnas", "soft")], "w_images_per_s")
py_hard = median(rows[("dnas", "hard")], "w_images_per_s") / median(rows[("python", "hard")], "w_images_per_s")
memory = median(rows[("dnas", "hard")], "peak_step_tensor_bytes") / median(rows[("dnas", "soft")], "peak_step_tensor_bytes")
print(f"dnas soft w-step / Python soft w-step: {soft_ratio:.2f}x (target >= 1.2)")
print(f"dnas hard w-step / Python hard w-step: {py_hard:.2f}x")
print(f"dnas hard / soft w-step images/s:      {hard_ratio:.2f}x (target >= 4)")
print(f"dnas hard / soft step tensor memory:   {memory:.2f} (target <= 0.25)")
nested = median(rows[("dnas", "nested")], "w_images_per_s") / median(rows[("dnas", "hard")], "w_images_per_s")
print(f"dnas hard nested / separate w-step:    {nested:.2f}x (nested params {rows[('dnas', 'nested')][0]['params']:,})")
PY
