#!/usr/bin/env bash
# Trace benchmarks (issue 3), figures in bench/README.md:
#  1. the streaming Philly reader on a generated 1 GiB cluster_job_log
#     (`synergy trace validate --multigpu`: the reader with nothing kept);
#     throughput = file size / wall time, and peak RSS;
#  2. the full Pollux Philly CSV (82,247 jobs) on configs/philly_cluster.ini
#     (512 GPUs) with FIFO tune: wall time and peak RSS.
# The 1 GiB file is written once to $BENCH_DIR (default /tmp/synergy-bench)
# and never committed.
# usage: bench/traces.sh [SYNERGY_BIN]
set -euo pipefail
bin=${1:-build/synergy}
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-/tmp/synergy-bench}
mkdir -p "$dir"
log=$dir/philly-1g.json
if [ ! -s "$log" ]; then
    echo "writing $log (1 GiB, seed 1, every 1000th record broken)..." >&2
    "$bin" trace gen-philly --bytes 1G --seed 1 --bad-every 1000 > "$log"
fi
bytes=$(stat -c %s "$log")

measure() { # label, command... -> "label: wall s, peak RSS KiB"
    local label=$1; shift
    local t=$dir/time.txt
    /usr/bin/time -v "$@" > "$dir/out.txt" 2> "$t" || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$t")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$t")
    echo "$label|$wall|$rss"
}

# warm the page cache so the figure is the parser's, not the disk's
cat "$log" > /dev/null
r=$(measure philly "$bin" trace validate --multigpu "$log")
wall=$(echo "$r" | cut -d'|' -f2); rss=$(echo "$r" | cut -d'|' -f3)
grep -m1 'records' "$dir/out.txt" || true
awk -v b="$bytes" -v w="$wall" -v r="$rss" 'BEGIN {
    printf "philly reader: %.0f MiB in %.2f s = %.0f MB/s (%.0f MiB/s), peak RSS %.1f MiB\n",
           b / 1048576, w, b / w / 1e6, b / w / 1048576, r / 1024 }'

r=$(measure pollux "$bin" simulate --trace "$src/traces/pollux-philly/philly.csv" \
        --cluster "$src/configs/philly_cluster.ini" --policy FIFO --mode tune)
wall=$(echo "$r" | cut -d'|' -f2); rss=$(echo "$r" | cut -d'|' -f3)
grep -E '^FIFO' "$dir/out.txt" || true
awk -v w="$wall" -v r="$rss" 'BEGIN {
    printf "pollux 82,247 jobs, 512 GPUs, FIFO tune: wall %.2f s, peak RSS %.1f MiB\n", w, r / 1024 }'
