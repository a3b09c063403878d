#!/usr/bin/env bash
# scripts/profile-android.sh end to end against a stand-in for adb (a "phone" directory here) and
# a stand-in speed_benchmark_torch that really loads and times each exported lite model with
# `dnas bench net`, so export-ops -> push -> benchmark -> parse -> import is tested offline.
# Usage: test_profile_android.sh DNAS_BINARY
set -euo pipefail
dnas=$(realpath "$1")
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
phone="$work/phone"
mkdir -p "$phone/data/local/tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$phone/data/local/tmp/speed_benchmark_torch" <<STUB
#!/usr/bin/env bash
# speed_benchmark_torch --model=F --input_dims=N,C,H,W ... -> time F with dnas, print like the real one
for a in "\$@"; do
  case "\$a" in --model=*) model=\${a#--model=} ;; --input_dims=*) dims=\${a#--input_dims=} ;; --iter=*) iter=\${a#--iter=} ;; esac
done
IFS=, read -r n c h w <<<"\$dims"
ms=\$("$dnas" bench net --model "\$model" --input-shape "\${c}x\${h}x\${w}" --batch "\$n" --repeats "\$iter" --warmup 1 --rounds 1 --json |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["mean_ms"])')
us=\$(python3 -c "print(\$ms * 1000)")
echo "Starting benchmark."
echo "Main run finished. Microseconds per iter: \$us. Iters per second: 1"
STUB
chmod +x "$phone/data/local/tmp/speed_benchmark_torch"

cat > "$work/fake-adb" <<STUB
#!/usr/bin/env bash
# adb [-s SERIAL] push SRC DST | shell CMD...: the phone's / is $phone
[[ "\$1" == -s ]] && shift 2
cmd=\$1; shift
case "\$cmd" in
  push) src=\$1; dst=\$2; mkdir -p "$phone\$(dirname "\$dst")"; cp -r "\$src" "$phone\$dst" ;;
  shell)
    line="\$*"
    [[ "\$line" == "getprop ro.product.model" ]] && { echo "Stand-in Phone"; exit 0; }
    exec bash -c "\${line//\/data\/local\/tmp/$phone/data/local/tmp}" ;;
  *) echo "fake adb: unsupported \$cmd" >&2; exit 1 ;;
esac
STUB
chmod +x "$work/fake-adb"
export DNAS_ADB="$work/fake-adb" DNAS_BIN="$dnas"

cd "$work"
"$dnas" lut export-ops --arch squeezenet1_1 --input 32 --out ops > export.log 2>&1 || { cat export.log; fail "export-ops"; }
models=$(python3 -c 'import json; print(len(json.load(open("ops/manifest.json"))["models"]))')
"$root/scripts/profile-android.sh" --target s8 --db luts/s8.db --iter 3 --warmup 1 ops > profile.log 2>&1 || { cat profile.log; fail "profile-android"; }
grep -q "Stand-in Phone" profile.log || { cat profile.log; fail "device name not read"; }
rows=$("$dnas" lut list --db luts/s8.db --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["targets"][0]["measurements"], d["runs"][0]["source"], d["runs"][0]["device_name"])')
[[ "$rows" == "$models import:speed_benchmark_torch Stand-in Phone" ]] || fail "expected '$models import:speed_benchmark_torch Stand-in Phone', got '$rows'"
# The imported rows make every block of the arch measured for s8: bench's prediction is not an estimate.
"$dnas" bench net --arch squeezenet1_1 --input 32 --target s8 --db luts/s8.db --repeats 2 --json |
  python3 -c 'import json,sys; p=json.load(sys.stdin)["prediction"]; sys.exit(0 if not p["estimated"] else 1)' ||
  fail "imported phone rows did not cover the arch"
echo "profile-android: 1 passed, 0 failed"
