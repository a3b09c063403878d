#!/usr/bin/env bash
# The one prepared GPU check, for a few minutes on a borrowed H100 / H200 host (PyTorch 2.x with
# CUDA, nvcc, cmake and ninja; no package registry). Carry .gpu-kit (scripts/gpu-kit.sh, made on a
# Debian machine) with the tree, then there:
#   bash scripts/gpu-check.sh            # summary in $OUT/gpu-check.txt (or ./gpu-check.txt)
# In order, each step bounded by its own time limit so one hang cannot eat the lease:
#   1. build against that PyTorch's LibTorch (scripts/build-gpu.sh: CUDA shift kernel, NCCL)
#   2. ctest, the CUDA tests included (OnCuda*: steps equal the CPU, bf16 autocast, the shift
#      kernel, an NCCL group of one searching, streamed image batches through pinned memory)
#   3. dnas bench search-step for the fbnet space at 224, batch 256: soft and hard, fp32 and bf16,
#      with the Python PyTorch baseline (fp32), through bench/gpu_hours.sh, which turns the step
#      rates into the GPU-hours of FBNet's protocol against the paper's 216
#   4. a short search over an NCCL process group of one (DNAS_DIST_GROUP_OF_ONE=1)
# Every step appends to the summary as it ends, so a lease that runs out still returns what ran.
# Budget on an H200 (16 cores): build ~3 min, tests ~1.5 min, benches ~2.5 min, search ~0.5 min.
#   SUMMARY   the summary file (default: $OUT/gpu-check.txt, or ./gpu-check.txt without $OUT)
#   SKIP      space-separated steps to skip: build tests bench nccl
set -uo pipefail
cd "$(dirname "$0")/.."
summary=${SUMMARY:-${OUT:-.}/gpu-check.txt}
mkdir -p "$(dirname "$summary")"
: > "$summary"
dnas=build-gpu/cli/dnas
log_dir=$(dirname "$summary")
start=$(date +%s)
status=0

say() { echo "$*" | tee -a "$summary"; }
skipped() { [[ " ${SKIP:-} " == *" $1 "* ]]; }
# step NAME LIMIT_S COMMAND...: runs it with a time limit, its output to NAME.log beside the summary.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s) rc=0
  timeout --kill-after=10 "$limit" "$@" > "$log_dir/$name.log" 2>&1 || rc=$?
  local took=$(( $(date +%s) - t0 ))
  if ((rc == 0)); then
    say "[$name] ok in ${took} s"
  else
    status=1
    say "[$name] FAILED (exit $rc$( ((rc == 124)) && echo ", over its ${limit} s limit")) in ${took} s; last lines of $name.log:"
    tail -n 15 "$log_dir/$name.log" | sed 's/^/    /' | tee -a "$summary" >/dev/null
  fi
  return $rc
}

say "# dnas GPU check, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
say "# $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo 'no nvidia-smi')"
say "# $(python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>&1 | tail -1)"
say "# $(nproc) cores; nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')"

if ! skipped build; then
  step build 300 bash scripts/build-gpu.sh || { say "no build: nothing else can run"; exit 1; }
  grep -E "DNAS_CUDA_KERNELS|NCCL|warning" "$log_dir/build.log" | head -5 | sed 's/^/    /' >> "$summary"
fi
[[ -x $dnas ]] || { say "no $dnas: run without SKIP=build"; exit 1; }

if ! skipped tests; then
  step tests 240 ctest --test-dir build-gpu -j"$(nproc)" --output-on-failure --timeout 200
  grep -E "tests passed|tests failed" "$log_dir/tests.log" | sed 's/^/    /' >> "$summary"
  # Which CUDA tests ran (not skipped): the point of being here.
  ctest --test-dir build-gpu -N -R 'OnCuda' 2>/dev/null | grep -c 'Test *#' | sed 's/^/    CUDA tests registered: /' >> "$summary"
  grep -E "OnCuda.*(Passed|Failed|Skipped|\*\*\*)" "$log_dir/tests.log" | sed 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: /    /' >> "$summary"
fi

if ! skipped bench; then
  say ""
  say "## fbnet space, 3x224x224, batch 256, 100 classes: w / theta step rates and FBNet-protocol GPU-hours"
  if step bench-fp32 200 env DNAS=$dnas DEVICE=cuda STEPS=${STEPS:-6} bash bench/gpu_hours.sh; then
    sed 's/^/    /' "$log_dir/bench-fp32.log" >> "$summary"
  fi
  if step bench-bf16 150 env DNAS=$dnas DEVICE=cuda PRECISION=bf16 NO_PYTHON=1 STEPS=${STEPS:-6} bash bench/gpu_hours.sh; then
    sed 's/^/    /' "$log_dir/bench-bf16.log" >> "$summary"
  fi
fi

if ! skipped nccl; then
  say ""
  rm -rf build-gpu/nccl-search
  if step nccl 120 env RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 LOCAL_WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517 \
       DNAS_DIST_GROUP_OF_ONE=1 "$dnas" search --device cuda --space small --target host-cpu --estimate-missing \
       --data synthetic:4096 --epochs 3 --batch-size 128 --out build-gpu/nccl-search; then
    grep -E "distributed:|chosen|latency|accuracy" "$log_dir/nccl.log" | head -6 | sed 's/^/    /' >> "$summary"
    tail -n 1 build-gpu/nccl-search/log.jsonl | sed 's/^/    last epoch: /' >> "$summary"
  fi
fi

say ""
say "# total $(( $(date +%s) - start )) s; $( ((status == 0)) && echo 'every step passed' || echo 'SOME STEPS FAILED: see above')"
exit $status
