#!/usr/bin/env bash
# Benchmark the reference's default experiment (synthetic, seed 42, 9 jobs/h,
# split 20/70/10, ids 4000-4999 measured, FIFO on 128 GPUs) in each mode:
# wall time and peak RSS with /usr/bin/time -v (median of 5 runs), and the
# instruction count with callgrind (stable on a noisy machine).
# usage: bench/run.sh [SYNERGY_BIN]   (make bench)
set -euo pipefail
bin=${1:-build/synergy}
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-7s %10s %12s %16s %s\n' mode "wall s" "peak RSS MB" "instructions" "avg JCT h"
for mode in fair tune greedy; do
    walls=() rss=()
    for i in $(seq "$runs"); do
        /usr/bin/time -v "$bin" simulate --synthetic --policy FIFO --mode "$mode" --json \
            > "$tmp/out.json" 2> "$tmp/time.txt"
        walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$tmp/time.txt")")
        rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2 / 1024}' "$tmp/time.txt")")
    done
    med_wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    med_rss=$(printf '%s\n' "${rss[@]}" | sort -g | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)]}')
    avg=$(grep -o '"avg_jct_h":[0-9.]*' "$tmp/out.json" | cut -d: -f2)
    instr=-
    if command -v valgrind >/dev/null; then
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$bin" simulate --synthetic \
            --policy FIFO --mode "$mode" --json > /dev/null 2> "$tmp/cg.txt"
        instr=$(awk '/Collected :/ {print $4}' "$tmp/cg.txt")
    fi
    printf '%-7s %10s %12s %16s %s\n' "$mode" "$med_wall" "$med_rss" "$instr" "$avg"
done
