#!/usr/bin/env bash
# Install what is missing, build, and run every test twice: a normal build
# and an AddressSanitizer + UndefinedBehaviorSanitizer build.  Prints the
# closing count of each run; exits non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
rc=0
run() {
	local dir=$1; shift
	BUILD_DIR=$dir scripts/build.sh "$@"
	if meson test -C "$dir" --print-errorlogs --num-processes 2 > "$dir/test-summary.txt" 2>&1; then :; else rc=1; fi
	tail -n 12 "$dir/test-summary.txt"
	ok=$(grep -E '^Ok:' "$dir/test-summary.txt" | awk '{print $2}')
	fail=$(grep -E '^Fail:' "$dir/test-summary.txt" | awk '{print $2}')
	echo "$dir: ${ok:-0} passed, ${fail:-0} failed"
}
run build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run build-asan -Db_sanitize=address,undefined -Db_lundef=false
p=$(cat build/test-summary.txt build-asan/test-summary.txt | grep -E '^Ok:' | awk '{s+=$2} END {print s+0}')
f=$(cat build/test-summary.txt build-asan/test-summary.txt | grep -E '^(Fail|Timeout):' | awk '{s+=$2} END {print s+0}')
echo "$p passed, $f failed"
exit $rc
