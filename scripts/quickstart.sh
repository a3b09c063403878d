#!/usr/bin/env bash
# The main job on the built-in defaults, offline after the package installs:
#   1. install dependencies and build (scripts/setup.sh; it installs Debian's dataset-fashion-mnist);
#   2. profile this CPU's latency table for the `small` space at Fashion-MNIST's shape (reused if present);
#   3. run a short search on Fashion-MNIST with a latency target (30% of the way from the
#      space's cheapest to its dearest arch on this machine's table) in the setting
#      bench/search_quality.sh measures against random search (--recipe small_budget), and print
#      the candidates it chose among (with the trial trainings of theta's likeliest), the chosen
#      blocks, the target against the latency achieved, the accuracy of the derived arch against the
#      sampled ones, and the report's path.
# A few minutes on 2 cores. Environment: DNAS_QUICKSTART_EPOCHS (6), DNAS_QUICKSTART_SAMPLES (3000),
# DNAS_QUICKSTART_TARGET (0.3, a fraction of the reachable latency range).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dnas="${DNAS_BUILD_DIR:-build}/cli/dnas"

echo "==> latency table for host-cpu (small space, 28x28x1, 10 classes)"
"$dnas" profile-latency --space small --target host-cpu --input 28 --input-channels 1 --num-classes 10

out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
echo "==> searching: $out"
"$dnas" search --recipe small_budget --space small --target host-cpu --data fashion-mnist \
  --max-samples "${DNAS_QUICKSTART_SAMPLES:-3000}" --epochs "${DNAS_QUICKSTART_EPOCHS:-6}" \
  --latency-target-fraction "${DNAS_QUICKSTART_TARGET:-0.3}" --out "$out"
echo
echo "Next: open $out/report.html, draw more architectures with"
echo "  $dnas sample --run $out -n 6"
echo "and retrain the chosen one from scratch with"
echo "  $dnas train --arch $out/arch.json --data fashion-mnist --out $out/retrain"
