#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan, in
# build-fuzz) and runs each for N seconds (default 60), one after the
# other, starting from its seed corpus tests/fuzz/corpus/<target>/ (which
# also holds every crasher found so far, as regression inputs). Fails on
# any crash, leak, timeout, out-of-memory or sanitizer report.
#
#   tools/dev/fuzz.sh [seconds-per-target] [target...]
#
# New interesting inputs go to build-fuzz/fuzz-corpus/<target>/ (not into
# the repository); a failing input is saved in build-fuzz/fuzz-artifacts/
# and printed. DETGRID_FUZZ_BUILD overrides the build folder,
# DETGRID_FUZZ_JOBS the build parallelism (default 2), DETGRID_FUZZ_SEED
# libFuzzer's seed (default 0: a new one each run; CI fixes it, so that a
# commit's short runs follow the same mutations each time).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${DETGRID_FUZZ_BUILD:-build-fuzz}
all=(fuzz-coco-json fuzz-txt fuzz-voc-xml fuzz-project fuzz-npy fuzz-segments fuzz-meta-image fuzz-deflate)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

CC=${CC:-clang} cmake -S . -B "$build" -DDETGRID_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${DETGRID_FUZZ_JOBS:-2}" --target "${targets[@]}"

# Inputs larger than this add nothing the mutations of small ones do not.
max_len() {
    case $1 in
    fuzz-coco-json) echo 16384 ;;
    fuzz-project) echo 4096 ;;
    fuzz-npy) echo 4096 ;;
    fuzz-segments) echo 1024 ;;
    *) echo 8192 ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export DETGRID_DEVICE=ref
status=0
for t in "${targets[@]}"; do
    seeds=tests/fuzz/corpus/$t
    work=$build/fuzz-corpus/$t
    arts=$build/fuzz-artifacts/$t
    mkdir -p "$work" "$arts"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    echo "== $t: ${secs}s"
    log=$build/fuzz-$t.log
    if "$build/tests/fuzz/$t" "$work" "$seeds" "${dict[@]}" \
        -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -seed="${DETGRID_FUZZ_SEED:-0}" \
        -artifact_prefix="$arts/" >"$log" 2>&1; then
        grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1 || true
        grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" || true
    else
        echo "FAIL: $t (log $log)"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20
        status=1
    fi
done
exit $status
