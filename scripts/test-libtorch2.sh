#!/usr/bin/env bash
# Builds dnas and runs the whole test suite against LibTorch 2 (Debian trixie's libtorch-dev 2.6,
# CPU only) inside a Debian trixie chroot, made from the Debian registry with mmdebstrap. The
# bookworm build (scripts/setup.sh) checks LibTorch 1.13; this checks the other side of
# ops/torch_compat.h, which is what a GPU host's PyTorch 2.x brings.
#
# The chroot is made once (about 2 minutes and 1.7 GB) and kept for the next run; it is remade
# when the package list below changes. The source tree is bind-mounted at /dnas inside a private
# mount namespace (nothing stays mounted if the script is killed) and the build goes to
# $DNAS_BUILD_DIR in the tree.
#   DNAS_TRIXIE_ROOT  where the chroot lives (default: /var/cache/dnas/trixie)
#   DNAS_BUILD_DIR    build directory, relative to the tree (default: build-torch2)
#   DNAS_MIRROR       Debian mirror for the chroot (default: the one this machine's apt uses)
#   CI=true           warnings are errors, as in the bookworm build
# `--prepare` only makes (or checks) the chroot, so a caller can do it while it builds other things.
# The tests run one intra-op thread per process (OMP_NUM_THREADS=1; those that time or compare
# threads set --threads themselves): ctest runs $(nproc) tests at once, and this LibTorch's OpenMP
# threads spin while they wait, so two 2-thread processes on 2 cores took 76 s where one took 10.
# The generated hostile-input suite (test_cli_hostile, ~400 dnas runs, 3 CPU-minutes), the CLI's
# bad-input tables (*BadInputGivesOneLine*) and the remote / Android profiling stand-ins check
# dnas' own validation and scripts, not LibTorch, and run in the bookworm suite only, to keep CI
# within its time. The image decoding and transform suites (test_image_decode,
# test_image_transforms) are torch-free and compare with bookworm's torchvision 0.14 / Pillow 9.4,
# the versions whose behaviour dnas reproduces; trixie's 0.21 / 11 differ (Pillow 11 maps palette
# indices past a short palette differently, and the suites pin 0.14), so they run in the bookworm
# suite only.
# Needs root (mmdebstrap, mount, chroot), as CI and the developers' machines have.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${DNAS_TRIXIE_ROOT:-/var/cache/dnas/trixie}
build_dir=${DNAS_BUILD_DIR:-build-torch2}
[[ $build_dir != /* ]] || { echo "test-libtorch2.sh: DNAS_BUILD_DIR must be relative to the tree" >&2; exit 2; }
packages=build-essential,cmake,ninja-build,pkg-config,libtorch-dev,libcli11-dev,nlohmann-json3-dev,libyaml-cpp-dev
packages+=,libsqlite3-dev,libjpeg62-turbo-dev,libpng-dev,zlib1g-dev,dataset-fashion-mnist,libonnx-dev,libgoogle-glog-dev,libgloo-dev,libgtest-dev,python3,python3-torch,python3-torchvision,python3-pil
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
prepare_only=0
[[ ${1:-} == --prepare ]] && prepare_only=1

if [[ ! -f $root/.dnas-packages || $(cat "$root/.dnas-packages") != "$packages" ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    echo "==> installing mmdebstrap"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  # The host's own Debian archive (not its security archive): the same registry apt uses here.
  mirror=${DNAS_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
                          awk '$2 !~ /-/ { print $1; exit }')}
  [[ -n $mirror ]] || { echo "test-libtorch2.sh: no Debian mirror in this machine's apt sources (set DNAS_MIRROR)" >&2; exit 1; }
  echo "==> making a Debian trixie chroot with LibTorch 2 at $root (once; about 2 minutes)"
  $sudo rm -rf "$root.partial"
  $sudo mkdir -p "$(dirname "$root")"
  $sudo mmdebstrap --quiet --variant=apt --include="$packages" trixie "$root.partial" "$mirror"
  echo "$packages" | $sudo tee "$root.partial/.dnas-packages" >/dev/null
  $sudo rm -rf "$root"
  $sudo mv "$root.partial" "$root"
fi
((prepare_only)) && exit 0

tree=$PWD
$sudo mkdir -p "$root/dnas"
echo "==> building and testing against libtorch-dev $($sudo chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev) in $build_dir"
# shellcheck disable=SC2016  # expanded inside the chroot
$sudo unshare --mount --propagation private bash -c '
  set -euo pipefail
  root=$1 tree=$2
  mount --bind "$tree" "$root/dnas"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/tmp"
  exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    CI="$3" DNAS_BUILD_DIR="$4" DNAS_SKIP_APT=1 \
    bash -c "cd /dnas && bash scripts/setup.sh && OMP_NUM_THREADS=1 ctest --test-dir \"\$DNAS_BUILD_DIR\" --output-on-failure -j\$(nproc) -E \"CliHostile|BadInputGivesOneLine|profile_remote|profile_android\" -LE \"test_image_decode|test_image_transforms\""
' _ "$root" "$tree" "${CI:-}" "$build_dir"
