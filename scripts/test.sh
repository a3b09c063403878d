#!/usr/bin/env bash
# The test command: installs dependencies and builds (scripts/setup.sh), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir "${DNAS_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
