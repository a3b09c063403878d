#!/usr/bin/env bash
# Time exported blocks on an Android phone with PyTorch's speed_benchmark_torch over adb, and
# import the results into a latency table.
#
#   dnas lut export-ops --space fbnet --out ops/
#   scripts/profile-android.sh --target s8 [--serial SERIAL] [--benchmark PATH] ops/
#
# Options:
#   --target NAME     the target the rows belong to (default: s8)
#   --db FILE         table to import into (default: luts/<target>.db)
#   --serial SERIAL   adb device serial (default: the only device)
#   --benchmark PATH  a speed_benchmark_torch binary built for the phone, pushed first (default:
#                     use /data/local/tmp/speed_benchmark_torch already on the phone)
#   --warmup N, --iter N   speed_benchmark_torch's warm-up and timed iterations (10, 50)
#   --remote-dir DIR  directory on the phone (default: /data/local/tmp/dnas-ops)
# DNAS_ADB replaces the adb command (the tests use a stand-in); DNAS_BIN the dnas binary.
set -euo pipefail
adb_cmd=${DNAS_ADB:-adb}
here="$(cd "$(dirname "$0")/.." && pwd)"
dnas=${DNAS_BIN:-$here/build/cli/dnas}
target=s8
db=""
serial=""
benchmark=""
warmup=10
iters=50
remote=/data/local/tmp/dnas-ops
dir=""
die() { echo "profile-android: error: $*" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --target) target=${2:?}; shift 2 ;;
    --db) db=${2:?}; shift 2 ;;
    --serial) serial=${2:?}; shift 2 ;;
    --benchmark) benchmark=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --iter) iters=${2:?}; shift 2 ;;
    --remote-dir) remote=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$dir" ]] || die "more than one directory given"; dir=$1; shift ;;
  esac
done
[[ -n "$dir" ]] || die "no export directory given (make one with: dnas lut export-ops --space S --out DIR)"
[[ -f "$dir/manifest.json" ]] || die "$dir/manifest.json: missing (make it with dnas lut export-ops)"
[[ -n "$db" ]] || db="luts/$target.db"
adb() { if [[ -n "$serial" ]]; then $adb_cmd -s "$serial" "$@"; else $adb_cmd "$@"; fi; }

device=$(adb shell getprop ro.product.model | tr -d '\r') || die "adb cannot reach a device"
[[ -n "$device" ]] || device="android device"
bench_bin=/data/local/tmp/speed_benchmark_torch
if [[ -n "$benchmark" ]]; then
  adb push "$benchmark" "$bench_bin" >/dev/null
  adb shell chmod 755 "$bench_bin"
fi
echo "==> pushing $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["models"]))' "$dir/manifest.json") models to $device"
adb shell mkdir -p "$remote"
adb push "$dir/." "$remote/" >/dev/null

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
results=$(mktemp)
trap 'rm -f "$results" "$results.json"' EXIT
python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["models"]:
    print(m["file"], m["key"], ",".join(map(str, m["input_dims"])))' "$dir/manifest.json" |
while read -r file key dims; do
  out=$(adb shell "$bench_bin --model=$remote/$file --input_dims=$dims --input_type=float --warmup=$warmup --iter=$iters --report_pep=false" 2>&1 | tr -d '\r')
  us=$(grep -oE 'Microseconds per iter: *[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?' <<<"$out" | tail -n 1 | awk '{print $NF}')
  [[ -n "$us" ]] || die "$file ($key): speed_benchmark_torch printed no 'Microseconds per iter' line: $(tail -n 2 <<<"$out")"
  echo "$key $us" >> "$results"
  echo "  $key  $us us"
done
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
python3 - "$results" "$target" "$device" "$started" "$finished" "$warmup" "$iters" > "$results.json" <<'PY'
import json, socket, sys
path, target, device, started, finished, warmup, iters = sys.argv[1:]
rows = [line.split() for line in open(path) if line.strip()]
print(json.dumps({"format": "dnas-phone-results/1", "target": target, "device": device, "host": socket.gethostname(),
                  "started_at": started, "finished_at": finished, "warmup": int(warmup), "iters": int(iters),
                  "results": [{"key": k, "us_per_iter": float(us)} for k, us in rows]}, indent=1))
PY
mkdir -p "$(dirname "$db")"
"$dnas" lut import --db "$db" --in "$results.json"
adb shell rm -rf "$remote" || true
