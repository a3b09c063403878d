#!/usr/bin/env bash
# Issue 15's loader benchmark: dnas' streaming loader (libjpeg-turbo, cropped decode, worker
# threads) against torchvision's ImageFolder + PIL DataLoader with the same transforms, worker
# count and batch size, on a generated folder of ImageNet-sized JPEGs (500x375, quality 90).
# Interleaved and repeated (this machine is shared and noisy); reports images/s, images/s per
# decoding thread and peak RSS, then dnas train's share of step time spent waiting for data.
#   DNAS=build/cli/dnas IMAGES=2000 THREADS=2 BATCH=64 BATCHES=30 REPEATS=3 bash bench/loader.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
images=${IMAGES:-2000}
threads=${THREADS:-$(nproc)}
batch=${BATCH:-64}
batches=${BATCHES:-30}
repeats=${REPEATS:-3}
size=${SIZE:-224}
python=python3
$python -c 'import torchvision, PIL' 2>/dev/null || python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DNAS_CACHE_DIR="$work/cache"

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $images JPEGs 500x375 q90 in 10 classes; batch $batch, $threads thread(s)/worker(s), $batches batches per measurement, image size $size"
$python bench/make_jpeg_folder.py "$work/folder" 10 $((images / 10))
for mode in train eval; do
  eval_flag=()
  [[ $mode == eval ]] && eval_flag=(--eval)
  for r in $(seq "$repeats"); do
    "$dnas" bench loader --data "folder:$work/folder" --image-size "$size" --batch-size "$batch" --threads "$threads" \
      --batches "$batches" --seed "$r" "${eval_flag[@]}" --json > "$work/dnas_${mode}_$r.json"
    $python bench/loader_torchvision.py "$work/folder" "$size" "$batch" "$threads" "$batches" "$mode" \
      > "$work/tv_${mode}_$r.json"
  done
done

$python - "$work" "$repeats" <<'PY'
import json, statistics, sys
work, repeats = sys.argv[1], int(sys.argv[2])
print("| transform | loader | images/s (median, min-max of %d) | per thread | peak RSS MiB |" % repeats)
print("|---|---|---|---|---|")
for mode in ("train", "eval"):
    rates = {}
    for who in ("dnas", "tv"):
        runs = [json.load(open("%s/%s_%s_%d.json" % (work, who, mode, r))) for r in range(1, repeats + 1)]
        ips = [r["images_per_s"] for r in runs]
        rates[who] = statistics.median(ips)
        rss = max(r["peak_rss_bytes"] for r in runs) / 2**20
        name = "dnas" if who == "dnas" else "torchvision+PIL"
        print("| %s | %s | %.0f (%.0f-%.0f) | %.0f | %.0f |" % (mode, name, rates[who], min(ips), max(ips),
              rates[who] / runs[0]["threads"], rss))
    print("| %s | dnas / torchvision | %.2fx | | |" % (mode, rates["dnas"] / rates["tv"]))
PY

# What the loader means for training: dnas train on a smaller folder of the same images
# (SqueezeNet 1.1 at 112 px, so that steps are short and any data stall shows), one epoch; the
# share of the epoch's step time spent waiting for the loader.
$python bench/make_jpeg_folder.py "$work/small" 10 48
"$dnas" train --arch squeezenet1_1 --data "folder:$work/small" --image-size 112 --batch-size 32 --epochs 1 \
  --loader-threads "$threads" --out "$work/train" --json > "$work/train.json" 2>"$work/train.err" || {
  cat "$work/train.err"; echo "dnas train failed"; exit 1; }
$python - "$work/train.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["epochs"][0]
print("dnas train (squeezenet1_1 at 112 px, batch 32, 480 images, 1 epoch incl. evaluation): %.1f s, "
      "waiting for data %.2f s (%.1f%%)" % (e["seconds"], e["data_wait_seconds"], 100 * e["data_wait_seconds"] / e["seconds"]))
PY
