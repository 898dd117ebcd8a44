#!/usr/bin/env bash
# bench/deploy_bench.sh: the scheduler's plan-and-dispatch time for one round
# on 64 local workers x 8 simulated GPUs (512 GPUs) running stand-in jobs.
# Plan = sched_round(); dispatch = the RunJob / ExtendLease fan-out to the
# workers (one blocking call per job and server; a RunJob returns once the
# worker's fork+execve of the job succeeded).
# usage: bench/deploy_bench.sh [SYNERGY] [JOBS] [GPUS_PER_JOB]
set -euo pipefail
bin=${1:-build/synergy}
jobs=${2:-64}
per=${3:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 64\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# alexnet runs 500 iterations per 300 s round: 1500 iterations = 3 rounds
for i in $(seq 0 $((jobs - 1))); do echo "$i,alexnet,0,1500,$per"; done > "$tmp/trace"
"$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 64 --static \
    --time-scale 100 --run-dir "$tmp/run" --json "${@:4}"
