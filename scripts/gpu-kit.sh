#!/usr/bin/env bash
# Packs what a GPU host lacks to build dnas: the GPU hosts (DESIGN.md) have CMake, ninja, nvcc and
# PyTorch with CUDA, whose LibTorch dnas builds against, but no package registry. This downloads
# the Debian packages of dnas' other build dependencies (apt-get download, so this machine needs
# Debian's apt) and unpacks them (dpkg -x) under .gpu-kit/, which git ignores; the device tool
# carries it there, where scripts/build-gpu.sh builds with it. ONNX export and glog are left
# out (optional; the pip LibTorch needs neither).
#   bash scripts/gpu-kit.sh        # then carry .gpu-kit with the device tool
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.gpu-kit
packages=(
  libcli11-dev nlohmann-json3-dev            # header-only
  libyaml-cpp-dev libyaml-cpp0.7             # search-space YAML
  libsqlite3-dev libsqlite3-0                # latency lookup tables
  libjpeg62-turbo-dev libjpeg62-turbo libpng-dev libpng16-16  # image folders (libjpeg-turbo, libpng)
  zlib1g-dev                                 # gzipped IDX (headers; the host has libz.so.1)
  libgtest-dev                               # the test suites
)
rm -rf "$kit"
mkdir -p "$kit/debs"
(cd "$kit/debs" && apt-get download -qq "${packages[@]}" libgloo-dev)
for deb in "$kit"/debs/*.deb; do
  # Gloo's headers apart: build-gpu.sh adds them only if that LibTorch ships none of its own.
  case $(basename "$deb") in
    libgloo-dev_*) dpkg -x "$deb" "$kit/gloo" ;;
    *) dpkg -x "$deb" "$kit/root" ;;
  esac
done
rm -rf "$kit/debs" "$kit/root/usr/share/doc" "$kit/gloo/usr/share/doc"
echo "packed $(du -sh "$kit" | cut -f1) into $kit: ${packages[*]} libgloo-dev (headers)"
