#!/usr/bin/env bash
# Run every libFuzzer harness for a bounded time (what `make fuzz` does).
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_EACH]
# A crash, leak or timeout leaves a crash-*/leak-*/timeout-* file in
# BUILD_DIR/fuzz-artifacts/ and makes the script fail.
set -u
build=$1 secs=${2:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
art=$build/fuzz-artifacts
mkdir -p "$art"
fail=0
for h in philly pollux gavel replay deltas config tenants sweep catalog reserve metrics proto sched_rpc worker_rpc admin_rpc; do
    corpus=$build/fuzz-corpus/$h
    mkdir -p "$corpus"
    cp -n "$src/tests/fuzz/corpus/$h/"* "$corpus/" 2>/dev/null || true
    echo "fuzz_$h: ${secs}s" >&2
    if ! "$build/tests/fuzz/fuzz_$h" -max_total_time="$secs" -max_len=8192 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$art/$h-" "$corpus" \
            > "$build/fuzz_$h.log" 2>&1; then
        echo "FAIL: fuzz_$h (see $build/fuzz_$h.log)" >&2
        tail -30 "$build/fuzz_$h.log" >&2
        fail=1
    fi
    grep -E 'stat::number_of_executed_units' "$build/fuzz_$h.log" | sed "s/^/fuzz_$h /" >&2
done
exit $fail
