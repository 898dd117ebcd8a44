#!/usr/bin/env bash
# The synthetic generator regenerates the reference's own recording of its
# first 1,546 jobs (seed 42, 9 jobs/h, split 20/70/10) line for line, and
# replaying that recording gives the synthetic run's results for ids 0-199
# (reference row 87: FIFO fair avg 18.943639 h, p99 145.682294 h).
# usage: synthetic_trace.sh SYNERGY_BIN SOURCE_DIR
set -eu
bin=$1 src=$2
rec=$src/traces/synthetic/synthetic_seed42_load9_split20-70-10.trace
"$bin" generate --jobs 1546 --seed 42 --jobs-per-hour 9 --split 20,70,10 | cmp - "$rec"
echo "generate: identical to the reference recording"
for mode in fair tune; do
    a=$("$bin" simulate --json --synthetic --measure 0:200 --mode $mode | grep -o '"avg_jct_h":[0-9.]*,"p50_jct_h":[0-9.]*,"p99_jct_h":[0-9.]*')
    b=$("$bin" simulate --json --trace "$rec" --measure 0:200 --mode $mode | grep -o '"avg_jct_h":[0-9.]*,"p50_jct_h":[0-9.]*,"p99_jct_h":[0-9.]*')
    echo "$mode synthetic: $a"
    echo "$mode replay:    $b"
    [ "$a" = "$b" ]
done
avg=${a#*:}; avg=${avg%%,*}
awk -v x="$avg" 'BEGIN { d = x - 16.746556; exit !(d < 1e-6 && d > -1e-6) }' \
    || { echo "tune avg $avg differs from the reference's 16.746556"; exit 1; }
echo "1 passed, 0 failed"
