#!/usr/bin/env bash
# The main job on the embedded defaults: install, build, then show the zoo and the search spaces.
# (Grows into the quickstart search -- profile a host-cpu table for the small space and search on
# real MNIST digits -- as those capabilities land.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dnas="${DNAS_BUILD_DIR:-build}/cli/dnas"
echo
echo "== the model zoo (params and MACs at 224x224, counted analytically) =="
for model in squeezenet1_0 squeezenet1_1 mobilenet_v2 fbnet_a fbnet_b fbnet_c; do
  "$dnas" arch info "$model" | tail -n 1 | sed "s/^/$model: /"
done
echo
echo "== the FBNet search space =="
"$dnas" arch info fbnet | head -n 4
echo
echo "== the small space the CPU quickstart searches =="
"$dnas" arch info small
