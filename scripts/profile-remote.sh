#!/usr/bin/env bash
# Profile a board over ssh: copy the dnas binary there, run `dnas profile-latency` on the board,
# and bring the measurements back into a local latency table.
#
#   scripts/profile-remote.sh [options] USER@HOST -- PROFILE-LATENCY-ARGS...
#   scripts/profile-remote.sh nvidia@tx2 -- --space fbnet --target tx2 --repeats 100
#
# Options:
#   --binary PATH     dnas binary to copy (default: build/cli/dnas; it must suit the board's CPU)
#   --bundle-libs     also copy the shared libraries it links (LibTorch ...), for boards without them
#   --remote-dir DIR  working directory on the board (default: /tmp/dnas-profile)
#   --db FILE         local table to merge into (default: the target's, e.g. luts/tx2.db)
#   --keep            leave the remote directory in place
# If the local table exists it is copied to the board first, so blocks already measured there
# (same threads and device) are skipped: an interrupted remote run resumes where it stopped.
# DNAS_SSH and DNAS_SCP replace the ssh / scp commands (the tests use local stand-ins).
set -euo pipefail

ssh_cmd=${DNAS_SSH:-ssh}
scp_cmd=${DNAS_SCP:-scp}
here="$(cd "$(dirname "$0")/.." && pwd)"
binary="$here/build/cli/dnas"
remote_dir=/tmp/dnas-profile
bundle_libs=0
keep=0
db=""
host=""

die() { echo "profile-remote: error: $*" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --bundle-libs) bundle_libs=1; shift ;;
    --remote-dir) remote_dir=${2:?--remote-dir needs a path}; shift 2 ;;
    --db) db=${2:?--db needs a path}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$host" ]] || die "more than one host given ($host, $1)"; host=$1; shift ;;
  esac
done
[[ -n "$host" ]] || die "no USER@HOST given (see --help)"
(($#)) || die "no profile-latency arguments after -- (at least --space and --target)"
[[ -x "$binary" ]] || die "$binary: no dnas binary there (build first, or pass --binary)"

profile_args=("$@")
target=""
for ((i = 0; i < ${#profile_args[@]}; i++)); do
  case "${profile_args[i]}" in
    --target) target=${profile_args[i+1]:-} ;;
    --target=*) target=${profile_args[i]#--target=} ;;
    --db|--db=*) die "pass --db before --, to this script: the board's table is managed here" ;;
  esac
done
[[ -n "$target" ]] || die "profile-latency arguments must name a --target"
if [[ -z "$db" ]]; then
  db=$("$binary" lut list --json | python3 -c 'import json,sys; t=sys.argv[1]; print(next((x["lut"] for x in json.load(sys.stdin)["targets"] if x["name"]==t), ""))' "$target" 2>/dev/null || true)
  [[ -n "$db" ]] || db="luts/$target.db"
fi

quote() { printf '%q ' "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> preparing $host:$remote_dir"
$ssh_cmd "$host" "mkdir -p $(quote "$remote_dir/lib")"
$scp_cmd "$binary" "$host:$remote_dir/dnas"
if ((bundle_libs)); then
  libs=$(ldd "$binary" | awk '/=> \// {print $3}' | grep -v -E '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*)\.so' || true)
  [[ -z "$libs" ]] || $scp_cmd $libs "$host:$remote_dir/lib/"
fi
if [[ -f "$db" ]]; then
  echo "==> seeding the board with $db (measured blocks are skipped)"
  $scp_cmd "$db" "$host:$remote_dir/table.db"
fi

echo "==> profiling on $host"
$ssh_cmd "$host" "cd $(quote "$remote_dir") && LD_LIBRARY_PATH=$(quote "$remote_dir/lib")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} ./dnas profile-latency $(quote "${profile_args[@]}") --db table.db"

echo "==> fetching the table"
$scp_cmd "$host:$remote_dir/table.db" "$work/table.db"
"$binary" lut export --db "$work/table.db" --format json --out "$work/table.json" 2>/dev/null
mkdir -p "$(dirname "$db")"
"$binary" lut import --db "$db" --in "$work/table.json"
((keep)) || $ssh_cmd "$host" "rm -rf $(quote "$remote_dir")"
echo "==> done: $db"
