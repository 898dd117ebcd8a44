#!/usr/bin/env bash
# Record/replay round trip: for every policy x mode, `simulate --record` then
# replaying the recording gives identical per-job JCTs (--jobs-csv), for the
# synthetic workload and for an imported Pollux trace. Also: `trace convert`
# of the shipped synthetic trace is the identity, and simulating that trace
# gives the synthetic run's JCTs for ids 0-199 (spec §11.5).
# usage: trace_roundtrip.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    local name=$1; shift
    if "$@"; then :; else echo "FAIL: $name"; fail=$((fail+1)); fi
}
for policy in FIFO SRTF LAS FTF DRF TETRIS SRSF; do
    for mode in fair greedy tune; do
        "$bin" simulate --synthetic --jobs-per-hour 6 --max-jobs 40 --measure 0:40 \
            --policy $policy --mode $mode --record "$tmp/rec" --jobs-csv "$tmp/a.csv" >/dev/null 2>&1 \
            || { echo "FAIL: record $policy $mode"; fail=$((fail+1)); continue; }
        "$bin" simulate --trace "$tmp/rec" --measure 0:40 --policy $policy --mode $mode \
            --jobs-csv "$tmp/b.csv" >/dev/null 2>&1 \
            || { echo "FAIL: replay $policy $mode"; fail=$((fail+1)); continue; }
        [ "$(wc -l < "$tmp/a.csv")" -eq 41 ] || { echo "FAIL: $policy $mode: $(wc -l < "$tmp/a.csv") lines"; fail=$((fail+1)); }
        check "synthetic round trip $policy $mode" cmp -s "$tmp/a.csv" "$tmp/b.csv"
    done
done
# an imported trace (one Pollux virtual cluster) records and replays exactly
for mode in fair tune; do
    "$bin" simulate --trace "$src/traces/pollux-philly/philly.csv" --vc b436b2 --max-jobs 300 \
        --mode $mode --record "$tmp/prec" --jobs-csv "$tmp/pa.csv" >/dev/null 2>&1
    "$bin" simulate --trace "$tmp/prec" --mode $mode --jobs-csv "$tmp/pb.csv" >/dev/null 2>&1
    [ "$(wc -l < "$tmp/pa.csv")" -eq 301 ] || { echo "FAIL: pollux $mode rows"; fail=$((fail+1)); }
    check "pollux round trip $mode" cmp -s "$tmp/pa.csv" "$tmp/pb.csv"
    # and the recording is what `trace convert` writes for the same options
    "$bin" trace convert --vc b436b2 --max-jobs 300 "$src/traces/pollux-philly/philly.csv" -o "$tmp/pconv"
    check "pollux convert = record $mode" cmp -s <(sort -t, -k1,1n "$tmp/prec") "$tmp/pconv"
done
# convert is the identity on the synthetic trace and on srtf.log; the other
# deployment traces spell arrivals as Python floats (0.0, .123): same values,
# and converting again is a fixed point
# (the reference's synthetic recording, regenerated: synthetic_trace.sh
# checks it byte for byte)
syn=$tmp/synthetic_seed42_load9_split20-70-10.trace
"$bin" generate --jobs 1546 --seed 42 --jobs-per-hour 9 --split 20,70,10 -o "$syn"
for t in "$syn" "$src"/traces/synergy-deploy/dynamic/srtf.log; do
    check "convert identity $(basename "$t")" cmp -s <("$bin" trace convert "$t") "$t"
done
for t in "$src"/traces/synergy-deploy/static_100job_6_3_1100.0 "$src"/traces/synergy-deploy/test_trace; do
    "$bin" trace convert "$t" -o "$tmp/c1"
    "$bin" trace convert "$tmp/c1" -o "$tmp/c2"
    check "convert fixed point $(basename "$t")" cmp -s "$tmp/c1" "$tmp/c2"
    check "convert values $(basename "$t")" awk -F, 'NR==FNR { a[FNR] = $1+0 "," $2 "," $3+0 "," $4+0 "," $5+0; next }
        { if (a[FNR] != $1+0 "," $2 "," $3+0 "," $4+0 "," $5+0) bad = 1 } END { exit bad }' "$t" "$tmp/c1"
done
# the recorded synthetic trace replays to the synthetic run's JCTs for ids 0-199
for mode in fair tune; do
    "$bin" simulate --synthetic --measure 0:200 --mode $mode --jobs-csv "$tmp/s.csv" >/dev/null 2>&1
    "$bin" simulate --trace "$syn" --measure 0:200 --mode $mode --jobs-csv "$tmp/r.csv" >/dev/null 2>&1
    [ "$(wc -l < "$tmp/s.csv")" -eq 201 ] || { echo "FAIL: synthetic $mode rows"; fail=$((fail+1)); }
    check "synthetic trace = synthetic run ($mode)" cmp -s "$tmp/s.csv" "$tmp/r.csv"
done
echo "trace round trips: $fail failed"
[ $fail -eq 0 ]
