#!/usr/bin/env bash
# Builds dnas on a GPU host against that host's PyTorch LibTorch (with CUDA, so the CUDA shift
# kernel and the CUDA code paths compile) and the dependencies scripts/gpu-kit.sh packed into
# .gpu-kit/, into build-gpu/ (tests included), without ONNX export. Then, for example:
#   ctest --test-dir build-gpu -j16 --output-on-failure
#   build-gpu/cli/dnas bench shift --device cuda --batch 256
#   DNAS=build-gpu/cli/dnas DEVICE=cuda bash bench/gpu_hours.sh
# Environment:
#   PYTHON          the Python whose torch to build against (default: python3)
#   TORCH_PREFIX    LibTorch's CMake prefix (default: that torch's torch.utils.cmake_prefix_path)
#   DNAS_CUDA_ARCH  CUDA architectures to compile for (default: 90, the H100 / H200)
#   DNAS_BUILD_DIR  build directory (default: build-gpu)
#   DNAS_CMAKE_ARGS more arguments for cmake's configure step
set -euo pipefail
cd "$(dirname "$0")/.."
kit=$PWD/.gpu-kit
[[ -d $kit/root ]] || { echo "build-gpu.sh: no $kit (run scripts/gpu-kit.sh on a Debian machine, then carry .gpu-kit)" >&2; exit 1; }
python=${PYTHON:-python3}
torch_prefix=${TORCH_PREFIX:-$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
build_dir=${DNAS_BUILD_DIR:-build-gpu}
cxx_flags=""
if ! find "$torch_prefix/../.." -maxdepth 3 -type d -name gloo -path '*include*' 2>/dev/null | grep -q .; then
  cxx_flags="-isystem $kit/gloo/usr/include"  # that LibTorch ships no Gloo headers: Debian's
fi
echo "==> configuring $build_dir against LibTorch at $torch_prefix"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDNAS_WITH_ONNX=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$kit/root/usr" -DCMAKE_CXX_FLAGS="$cxx_flags" \
  -DCMAKE_CUDA_ARCHITECTURES="${DNAS_CUDA_ARCH:-90}" ${DNAS_CMAKE_ARGS:-}
echo "==> building"
cmake --build "$build_dir" -j"$(nproc)"
echo "==> built $build_dir/cli/dnas"
