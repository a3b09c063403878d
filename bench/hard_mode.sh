#!/usr/bin/env bash
# Hard (single-path, nested weight sharing) against soft mode on Fashion-MNIST: theta-split
# accuracy after the same epochs and wall time, with hard mode's old separate weights beside them,
# for 3 seeds. About 10 minutes on 2 cores (the searches run one at a time, one thread each).
# Results in $OUT (default runs/hard_mode): results.json, results.md.
# Usage: bash bench/hard_mode.sh [extra flags for bench/hard_mode.py, e.g. --seeds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x ${DNAS:-build/cli/dnas} ]] || DNAS_SKIP_APT=1 bash scripts/setup.sh
exec python3 bench/hard_mode.py --dnas "${DNAS:-build/cli/dnas}" --out "${OUT:-runs/hard_mode}" "$@"
