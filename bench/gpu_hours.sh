#!/usr/bin/env bash
# The fbnet search at the paper's scale: images/s of the w and theta steps (fbnet space, 224x224,
# batch 256 by default), soft and hard, for dnas and for the Python baseline (bench/search_step.py,
# when a Python with torch is found), and the device-hours they imply for FBNet's protocol, set
# against the paper's 216 GPU-hours (8 GPUs x 27 h):
#   90 epochs over ImageNet-100 (IMAGES=126000 training images); each epoch trains w on 80% of
#   them and theta on the other 20%, theta frozen for the first 10 epochs (REFERENCE.md).
#   hours = (90 x 0.8 x IMAGES / w_images_per_s + 80 x 0.2 x IMAGES / theta_images_per_s) / 3600
# Data loading is not counted: the step runs on synthetic batches already on the device.
#
#   DEVICE=cuda bash bench/gpu_hours.sh                       # the issue's figures, on a GPU host
#   DEVICE=cuda PRECISION=bf16 bash bench/gpu_hours.sh        # dnas under bf16 autocast
#   DEVICE=cpu INPUT=64 BATCH=16 STEPS=2 bash bench/gpu_hours.sh   # a quick check of the script
#   NO_PYTHON=1 ...                                          # dnas only, no Python baseline
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
device=${DEVICE:-cuda} input=${INPUT:-224} batch=${BATCH:-256} steps=${STEPS:-10} rounds=${ROUNDS:-1}
precision=${PRECISION:-fp32} images=${IMAGES:-126000} threads=${THREADS:-0}
[[ -x $dnas ]] || { echo "gpu_hours.sh: no dnas binary at $dnas (build it, or set DNAS)" >&2; exit 1; }
python=""
[[ ${NO_PYTHON:-0} == 1 ]] || for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$candidate" -c "import torch, sys; sys.exit('$device' == 'cuda' and not torch.cuda.is_available())" 2>/dev/null; then
    python=$candidate
    break
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

common=(--space fbnet --input "$input" --channels 3 --classes 100 --batch "$batch" --device "$device" --steps "$steps"
        --threads "$threads" --json)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(hostname), device $device, fbnet space, input 3x${input}x${input}, batch $batch," \
     "precision $precision (dnas), $steps timed steps, $rounds rounds"
[[ -n $python || ${NO_PYTHON:-0} == 1 ]] || echo "# no Python with torch$([[ $device == cuda ]] && echo " and CUDA") found: dnas only"
for round in $(seq "$rounds"); do
  for mode in soft hard; do
    "$dnas" bench search-step "${common[@]}" --mode "$mode" --precision "$precision" >> "$work/dnas-$mode.jsonl"
    if [[ -n $python ]]; then
      "$python" bench/search_step.py "${common[@]}" --mode "$mode" >> "$work/python-$mode.jsonl"
    fi
  done
done
"${python:-python3}" - "$work" "$images" "$device" <<'PY'
import json, os, statistics, sys
work, images, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
unit = "GPU-hours" if device == "cuda" else "CPU-hours"
print(f"{'':14s} {'w img/s':>10s} {'theta img/s':>12s} {'peak memory':>12s} {unit + ' (90 epochs)':>22s} {'vs FBNet 216':>13s}")
peaks = {}
for name in ("dnas soft", "dnas hard", "python soft", "python hard"):
    path = f"{work}/{name.replace(' ', '-')}.jsonl"
    if not os.path.exists(path):
        continue
    rows = [json.loads(line) for line in open(path)]
    w = statistics.median(r["w_images_per_s"] for r in rows)
    theta = statistics.median(r["theta_images_per_s"] for r in rows)
    memory = statistics.median(r.get("peak_cuda_bytes", r.get("peak_rss_bytes", 0)) for r in rows) / 2**30
    hours = (90 * 0.8 * images / w + 80 * 0.2 * images / theta) / 3600
    print(f"{name:14s} {w:10.1f} {theta:12.1f} {memory:9.2f} GiB {hours:22.1f} {216 / hours:12.1f}x")
    peaks[name] = memory
if peaks.get("dnas soft") and "dnas hard" in peaks:
    print(f"# dnas hard / soft peak memory: {peaks['dnas hard'] / peaks['dnas soft']:.3f} (goal <= 0.25)")
print(f"# {images:,} training images; peak memory: the CUDA allocator's peak on a GPU, the resident set on a CPU")
PY
