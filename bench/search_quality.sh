#!/usr/bin/env bash
# Search quality on Fashion-MNIST (Debian's dataset-fashion-mnist): the dnas search against random
# search at equal wall-clock and against MobileNetV2 (width-scaled to the target) and SqueezeNet
# 1.1, every contestant retrained with the same recipe and scored on the 10,000 test images, for 2
# latency targets x 3 seeds, in the small_mixed space (--space small: runs 1-5), with the search
# of runs 33-42 (README, "Search quality"): `dnas search --recipe small_budget`, whose flags it
# reads. 97-123 minutes on the 2-core machine of runs 39-42 (3 retrain seeds; runs 33-38, 2 seeds
# on a machine about 1.8x faster: 40-58). Results, a
# table and a Pareto plot in $OUT (default runs/search_quality): results.json, results.md,
# pareto.svg. Usage: bash bench/search_quality.sh [flags for bench/search_quality.py, e.g.
# --first-seed 48, --seeds 1; --help lists them]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x ${DNAS:-build/cli/dnas} ]] || DNAS_SKIP_APT=1 bash scripts/setup.sh
exec python3 bench/search_quality.py --dnas "${DNAS:-build/cli/dnas}" --out "${OUT:-runs/search_quality}" "$@"
