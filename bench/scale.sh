#!/usr/bin/env bash
# How the simulator's cost grows (issue 12): wall time, user CPU and peak RSS
# (/usr/bin/time -v) of
#   1. the whole Pollux CSV (82,247 jobs) on the default 128-GPU cluster, all
#      7 policies x fair/tune/greedy (overloaded: where the old per-round
#      re-sort of the whole queue cost 15-2,800 s a run, and greedy's walk of
#      every waiting job 1-290 s);
#   2. the synthetic workload with 10^4, 10^5 and 10^6 jobs on 128, 1,024 and
#      8,192 GPUs (bench/clusters/gpusN.ini: the default cluster's servers),
#      FIFO/fair, every job measured, at 9 jobs/h per 128 GPUs (the default
#      experiment's load per GPU, so each cluster is equally overloaded);
#   3. (modes) Synergy's own modes on the synthetic workload, FIFO/tune and
#      FIFO/greedy, every job measured, at 40 jobs/h per 1,024 GPUs (issue 22's
#      runs: 10^5 jobs on 1,024 GPUs at 40/h, 10^6 on 8,192 at 300/h, and 10^4
#      on 128 at 5/h), each of the three sizes on its own cluster;
#   4. the reference default experiment (synthetic, fair, tune and greedy).
# Prints a TSV on stdout: case, jobs, gpus, wall_s, user_s, sys_s, max_rss_mib, avg_jct_h.
# On a shared machine read user_s + sys_s (the run's own CPU), not wall_s.
# usage: bench/scale.sh [SYNERGY_BIN] [pollux|synthetic|modes|default|all] [MAX_JOBS]
#   MAX_JOBS (default 1000000) leaves out the larger synthetic runs.
set -u
bin=${1:-build/synergy}
what=${2:-all}
max_jobs=${3:-1000000}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'case\tjobs\tgpus\twall_s\tuser_s\tsys_s\tmax_rss_mib\tavg_jct_h\n'
measure() { # label jobs gpus -- synergy args...
    local label=$1 jobs=$2 gpus=$3
    shift 4
    /usr/bin/time -v -o "$tmp/time" "$bin" "$@" --json > "$tmp/out" 2> "$tmp/err" ||
        { echo "$label: synergy failed: $(tail -2 "$tmp/err")" >&2; return; }
    local wall user sys rss avg
    wall=$(awk -F': ' '/Elapsed/ { n = split($2, t, ":"); s = 0
            for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$tmp/time")
    user=$(awk -F': ' '/User time/ { print $2 }' "$tmp/time")
    sys=$(awk -F': ' '/System time/ { print $2 }' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident/ { printf "%.1f", $2 / 1024 }' "$tmp/time")
    avg=$(sed -n 's/.*"avg_jct_h":\([0-9.]*\).*/\1/p' "$tmp/out" | head -1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$jobs" "$gpus" "$wall" "$user" "$sys" "$rss" "$avg"
}
if [ "$what" = pollux ] || [ "$what" = all ]; then
    for p in FIFO SRTF LAS FTF DRF TETRIS SRSF; do
        for m in fair tune greedy; do
            measure "pollux $p/$m" 82247 128 -- simulate --trace "$src/traces/pollux-philly/philly.csv" \
                --policy "$p" --mode "$m"
        done
    done
fi
if [ "$what" = synthetic ] || [ "$what" = all ]; then
    for n in 10000 100000 1000000; do
        [ "$n" -le "$max_jobs" ] || continue
        for g in 128 1024 8192; do
            rate=$((9 * g / 128))
            measure "synthetic FIFO/fair" "$n" "$g" -- simulate --synthetic \
                --cluster "$src/bench/clusters/gpus$g.ini" --jobs-per-hour "$rate" \
                --max-jobs "$n" --measure "0:$n" --policy FIFO --mode fair
        done
    done
fi
if [ "$what" = modes ] || [ "$what" = all ]; then
    for size in 10000:128:5 100000:1024:40 1000000:8192:300; do
        IFS=: read -r n g rate <<< "$size"
        [ "$n" -le "$max_jobs" ] || continue
        for m in tune greedy; do
            measure "synthetic FIFO/$m" "$n" "$g" -- simulate --synthetic \
                --cluster "$src/bench/clusters/gpus$g.ini" --jobs-per-hour "$rate" \
                --max-jobs "$n" --measure "0:$n" --policy FIFO --mode "$m"
        done
    done
fi
if [ "$what" = default ] || [ "$what" = all ]; then
    for m in fair tune greedy; do
        measure "default $m" 1000 128 -- simulate --synthetic --mode "$m"
    done
fi
