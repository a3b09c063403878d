#!/usr/bin/env bash
# Builds an ImageNet-100 subset, as FBNet searches on, out of symlinks (no image is copied):
#   bash scripts/imagenet100.sh IMAGENET_DIR OUT [SEED] [CLASSES]
# IMAGENET_DIR holds ImageNet's train/<wnid>/ and val/<wnid>/ folders (val sorted into class
# folders, as torchvision's ImageFolder and `dnas --data folder:` read it). OUT gets train/ and
# val/ with one symlink per chosen class, and classes.txt listing them.
#
# The choice is fixed by SEED (default 0): every class name is ranked by sha256("SEED:wnid") and
# the first CLASSES (default 100) are taken, then listed in name order. The same seed gives the
# same 100 classes on any machine without shipping a list; the FBNet paper samples its 100 classes
# at random and does not publish them, so this documents ours instead. OUT is written under a
# temporary name and renamed when complete: an interrupted run leaves no half-built subset.
set -euo pipefail
if [[ $# -lt 2 || $# -gt 4 ]]; then
  echo "usage: bash scripts/imagenet100.sh IMAGENET_DIR OUT [SEED] [CLASSES]" >&2
  exit 2
fi
src=$(realpath -e "$1" 2>/dev/null) || { echo "imagenet100: $1: no such directory" >&2; exit 2; }
out=$2
seed=${3:-0}
count=${4:-100}
[[ $seed =~ ^[0-9]+$ ]] || { echo "imagenet100: SEED: expected a non-negative integer, got '$seed'" >&2; exit 2; }
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "imagenet100: CLASSES: expected a positive integer, got '$count'" >&2; exit 2; }
for split in train val; do
  [[ -d $src/$split ]] || { echo "imagenet100: $src/$split: missing (expected ImageNet's train/ and val/ class folders)" >&2; exit 2; }
done
if [[ -e $out ]]; then
  echo "imagenet100: $out: already exists; remove it or choose another OUT" >&2
  exit 2
fi

mapfile -t classes < <(find "$src/train" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort)
(( ${#classes[@]} >= count )) || { echo "imagenet100: $src/train has ${#classes[@]} class folders, fewer than $count" >&2; exit 2; }
mapfile -t chosen < <(for c in "${classes[@]}"; do
  printf '%s %s\n' "$(printf '%s:%s' "$seed" "$c" | sha256sum | cut -c1-64)" "$c"
done | LC_ALL=C sort | head -n "$count" | cut -d' ' -f2 | LC_ALL=C sort)
for c in "${chosen[@]}"; do
  [[ -d $src/val/$c ]] || { echo "imagenet100: $src/val/$c: missing (val/ must hold one folder per class)" >&2; exit 2; }
done

partial="$out.partial.$$"
trap 'rm -rf "$partial"' EXIT
mkdir -p "$partial/train" "$partial/val"
for c in "${chosen[@]}"; do
  ln -s "$src/train/$c" "$partial/train/$c"
  ln -s "$src/val/$c" "$partial/val/$c"
done
printf '%s\n' "${chosen[@]}" > "$partial/classes.txt"
mv "$partial" "$out"
trap - EXIT
echo "imagenet100: $out: ${#chosen[@]} classes (seed $seed) of $src, as symlinks; classes in $out/classes.txt"
