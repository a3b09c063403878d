#!/usr/bin/env bash
# The small-scale baseline table: SqueezeNet 1.1, MobileNetV2 and a searched architecture, each
# retrained from scratch with the same recipe on the quickstart MNIST digits (28x28x1, 10 classes),
# with test accuracy, parameters, MACs and measured latency on this machine (batch 1).
#   bash bench/baselines.sh [SEARCHED_ARCH=newest runs/quickstart-*/arch.json]
#   EPOCHS=3 SAMPLES=2400 RECIPE=mnist_small THREADS=0
set -euo pipefail
cd "$(dirname "$0")/.."
dnas=${DNAS:-build/cli/dnas}
searched=${1:-$(ls -td runs/quickstart-*/arch.json 2>/dev/null | head -n 1)}
[[ -n "$searched" && -f "$searched" ]] || { echo "no searched arch: run scripts/quickstart.sh or pass one" >&2; exit 2; }
epochs=${EPOCHS:-3}
samples=${SAMPLES:-2400}
recipe=${RECIPE:-mnist_small}
threads=${THREADS:-0}
bash scripts/fetch-mnist.sh data/mnist >/dev/null
out=runs/baselines-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# recipe $recipe, $epochs epochs on the first $samples training digits; test: 2,000 held-out digits"
echo "| model | test top-1 | params | MACs | latency (batch 1) |"
echo "|---|---:|---:|---:|---:|"
for model in squeezenet1_1 mobilenet_v2 "$searched"; do
  name=$(basename "$model" .json)
  [[ "$model" == "$searched" ]] && name="searched ($(dirname "$model" | xargs basename))"
  run="$out/$(echo "$name" | tr -c 'a-zA-Z0-9_\n' '_')"
  "$dnas" train --arch "$model" --data mnist:data/mnist --recipe "$recipe" --epochs "$epochs" --max-samples "$samples" \
    --threads "$threads" --out "$run" --json > "$run.train.json"
  "$dnas" arch info "$run/arch.json" --json > "$run.info.json"
  "$dnas" bench net --arch "$run/arch.json" --threads "$threads" --repeats 20 --json > "$run.bench.json"
  python3 - "$name" "$run" <<'PY'
import json, sys
name, run = sys.argv[1], sys.argv[2]
train = json.load(open(run + '.train.json')); info = json.load(open(run + '.info.json')); bench = json.load(open(run + '.bench.json'))
print('| %s | %.2f%% | %s | %.2f M | %.3f ms |' % (name, 100 * train['best_top1'], f"{info['params']:,}", info['macs'] / 1e6, bench['median_ms']))
PY
done
