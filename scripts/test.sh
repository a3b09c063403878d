#!/usr/bin/env bash
# The test command: installs dependencies and builds (scripts/setup.sh), runs every test against
# Debian bookworm's LibTorch 1.13, then builds and runs the same suite against LibTorch 2
# (scripts/test-libtorch2.sh: Debian trixie's 2.6 in a chroot made from the Debian registry); in
# between, a short run of the parsers' fuzz targets (scripts/fuzz.sh).
#   DNAS_SKIP_LIBTORCH2=1  the LibTorch 1.13 suite only
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
DNAS_SKIP_BUILD=1 bash scripts/setup.sh  # the packages first: apt must not run beside the chroot's making
chroot_log=""
if [[ "${DNAS_SKIP_LIBTORCH2:-0}" != 1 ]]; then
  # The LibTorch 2 chroot (mostly downloads, about 2 minutes when not yet made) is made while the
  # bookworm build and tests run, to keep CI within its 30 minutes.
  chroot_log=$(mktemp)
  bash scripts/test-libtorch2.sh --prepare >"$chroot_log" 2>&1 &
  chroot_pid=$!
fi
DNAS_SKIP_APT=1 bash scripts/setup.sh
echo "==> testing against LibTorch 1.13 (build/)"
ctest --test-dir "${DNAS_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
export FUZZ_SECONDS=${FUZZ_SECONDS:-5}  # a smoke run per target in CI (CI must stay under 30 min); scripts/fuzz.sh alone runs 20 s
echo "==> fuzzing the parsers (scripts/fuzz.sh, ${FUZZ_SECONDS} s per target)"
bash scripts/fuzz.sh
if [[ -n $chroot_log ]]; then
  if ! wait "$chroot_pid"; then
    cat "$chroot_log" >&2
    echo "test.sh: making the LibTorch 2 chroot failed (above)" >&2
    exit 1
  fi
  cat "$chroot_log"
  DNAS_BUILD_DIR=build-torch2 bash scripts/test-libtorch2.sh
fi
echo "==> all tests passed in $(( $(date +%s) - start )) s"
