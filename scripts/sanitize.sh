#!/usr/bin/env bash
# Builds dnas with AddressSanitizer and UndefinedBehaviorSanitizer (-DDNAS_SANITIZE=address,undefined)
# into build-sanitize/ and runs the test suite under them on the CPU; any report fails the run.
# Not part of CI (it doubles the build and triples the tests' time on 2 cores): run it before a
# change to memory handling lands, and say so in the commit.
#   DNAS_SANITIZE    sanitizers (default: address,undefined)
#   DNAS_BUILD_DIR   build directory (default: build-sanitize)
#   TESTS            ctest -R regex of the tests to run (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DNAS_BUILD_DIR:-build-sanitize}
DNAS_SKIP_BUILD=1 bash scripts/setup.sh  # the packages only
echo "==> configuring $build_dir with -fsanitize=${DNAS_SANITIZE:-address,undefined}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNAS_SANITIZE="${DNAS_SANITIZE:-address,undefined}" \
  -DDNAS_WARNINGS_AS_ERRORS=OFF >/dev/null
echo "==> building (instrumented; slower than the release build)"
cmake --build "$build_dir" -j"$(nproc)"
# LibTorch is not instrumented: its allocations at exit are not ours to chase (no leak check), and
# protobuf's globals are defined both in LibTorch and in libonnx (no ODR check).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:detect_odr_violation=0:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "==> running the tests under $ASAN_OPTIONS"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --timeout 1200 ${TESTS:+-R "$TESTS"}
