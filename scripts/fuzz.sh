#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/: arch JSON, space YAML, search/train configs,
# latency-table imports (ours and peers'), IDX and CIFAR layouts, JPEG / PNG decoding) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzz/, and runs each for
# FUZZ_SECONDS (default 20) from its seed corpus. A crash, sanitizer report, exception other than
# dnas::Error, input slower than 5 s or over 2 GiB fails the run; the input that did it is kept
# in build-fuzz/findings/. New inputs the fuzzer finds go to a scratch corpus, never into the
# repository. CI runs it (scripts/test.sh) briefly; run it longer before a parser change lands:
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${DNAS_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-20}
DNAS_SKIP_BUILD=1 bash scripts/setup.sh  # the packages (clang, libFuzzer) only
echo "==> building the fuzz targets (clang, -fsanitize=fuzzer,address,undefined) into $build"
cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
mkdir -p "$build/findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
for target in arch space config lut_import peer_import datasets image_decode; do
  scratch=$(mktemp -d)
  echo "==> fuzz_$target for ${seconds} s"
  if ! "$build/fuzz_$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$build/findings/$target-" -print_final_stats=1 "$scratch" "tests/fuzz/corpus/$target" \
      >"$build/fuzz_$target.log" 2>&1; then
    tail -n 40 "$build/fuzz_$target.log"
    echo "fuzz_$target: a finding; the input is in $build/findings/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$target.log" | tr '\n' ' '
  echo
  rm -rf "$scratch"
done
