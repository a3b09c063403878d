#!/usr/bin/env bash
# scripts/profile-remote.sh end to end against stand-ins for ssh and scp that run locally (a
# "board" directory on this machine), so the copy / run / fetch / merge logic is tested offline.
# Usage: test_profile_remote.sh DNAS_BINARY
set -euo pipefail
dnas=$(realpath "$1")
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
board="$work/board"
mkdir -p "$board"

cat > "$work/fake-ssh" <<STUB
#!/usr/bin/env bash
# ssh HOST COMMAND: run COMMAND here, with the board's filesystem rooted at $board
shift
cmd="\$*"
exec bash -c "\${cmd//\/tmp\/dnas-board/$board/tmp/dnas-board}"
STUB
cat > "$work/fake-scp" <<STUB
#!/usr/bin/env bash
# scp SRC... DST with HOST:PATH mapped to $board/PATH
args=()
for a in "\$@"; do
  if [[ "\$a" == *:* ]]; then args+=("$board\${a#*:}"); else args+=("\$a"); fi
done
exec cp "\${args[@]}"
STUB
chmod +x "$work/fake-ssh" "$work/fake-scp"
export DNAS_SSH="$work/fake-ssh" DNAS_SCP="$work/fake-scp"

fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"
local_db="$work/luts/board.db"
"$root/scripts/profile-remote.sh" --binary "$dnas" --remote-dir /tmp/dnas-board --db "$local_db" board@localhost -- \
  --space small --target host-cpu --repeats 2 --warmup 0 --rounds 2 > first.log 2>&1 || { cat first.log; fail "first run failed"; }
rows=$("$dnas" lut list --db "$local_db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["measurements"])')
blocks=$("$dnas" profile-latency --space small --target host-cpu --db "$local_db" --dry-run --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["blocks"])')
[[ "$rows" == "$blocks" ]] || fail "expected $blocks rows back, got $rows"
[[ ! -e "$board/tmp/dnas-board" ]] || fail "remote directory left behind without --keep"

# A second run is seeded with the local table: nothing left to measure on the board.
"$root/scripts/profile-remote.sh" --binary "$dnas" --remote-dir /tmp/dnas-board --db "$local_db" --keep board@localhost -- \
  --space small --target host-cpu --repeats 2 --warmup 0 --rounds 2 > second.log 2>&1 || { cat second.log; fail "second run failed"; }
grep -q "already measured" second.log || { cat second.log; fail "the seeded table was not resumed"; }
[[ -x "$board/tmp/dnas-board/dnas" ]] || fail "--keep did not keep the remote directory"

# Bad input: a clear error and exit 2.
set +e
"$root/scripts/profile-remote.sh" --binary "$dnas" board@localhost -- --space small > bad.log 2>&1
code=$?
set -e
[[ $code -eq 2 ]] && grep -q "must name a --target" bad.log || { cat bad.log; fail "missing --target not rejected"; }
echo "profile-remote: 1 passed, 0 failed"
