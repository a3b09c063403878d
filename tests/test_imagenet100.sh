#!/usr/bin/env bash
# scripts/imagenet100.sh: 100 of 120 classes as symlinks in train/ and val/, the same for the
# same seed, another for another seed, and one-line errors (exit 2) that leave nothing behind.
set -euo pipefail
script="$(dirname "$0")/../scripts/imagenet100.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq -w 1 120); do mkdir -p "$work/in/train/n$i" "$work/in/val/n$i"; done
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$script" "$work/in" "$work/a" >/dev/null
[[ $(find "$work/a/train" -mindepth 1 -maxdepth 1 -type l | wc -l) == 100 ]] || fail "expected 100 train links"
[[ $(find "$work/a/val" -mindepth 1 -maxdepth 1 -type l | wc -l) == 100 ]] || fail "expected 100 val links"
[[ $(wc -l < "$work/a/classes.txt") == 100 ]] || fail "classes.txt should list 100"
diff <(ls "$work/a/train") "$work/a/classes.txt" >/dev/null || fail "classes.txt should match train/"
[[ $(readlink "$work/a/train/$(head -1 "$work/a/classes.txt")") == "$work/in/train/$(head -1 "$work/a/classes.txt")" ]] \
  || fail "links should point into the source"
bash "$script" "$work/in" "$work/b" >/dev/null
diff "$work/a/classes.txt" "$work/b/classes.txt" >/dev/null || fail "the same seed should choose the same classes"
bash "$script" "$work/in" "$work/c" 1 >/dev/null
! diff "$work/a/classes.txt" "$work/c/classes.txt" >/dev/null || fail "another seed should choose other classes"

expect_error() {  # expected message, then the arguments
  local want=$1; shift
  set +e
  err=$(bash "$script" "$@" 2>&1 >/dev/null); rc=$?
  set -e
  [[ $rc == 2 ]] || fail "exit $rc for $*"
  [[ $err == *"$want"* ]] || fail "'$err' should contain '$want'"
  [[ $(echo "$err" | wc -l) == 1 ]] || fail "one line expected: $err"
}
expect_error "already exists" "$work/in" "$work/a"
expect_error "no such directory" "$work/missing" "$work/d"
expect_error "fewer than 200" "$work/in" "$work/d" 0 200
rmdir "$work/in/val/n001" "$work/in/val/n002" "$work/in/val/n003"
expect_error "val/" "$work/in" "$work/d" 0 120
[[ ! -e $work/d ]] || fail "a failed run must leave no output"
[[ -z $(find "$work" -maxdepth 1 -name 'd.partial*') ]] || fail "a failed run must leave no partial output"
echo "imagenet100: ok"
