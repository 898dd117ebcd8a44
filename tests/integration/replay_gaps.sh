#!/usr/bin/env bash
# A replay trace with a gap (nothing runnable while jobs are still to arrive):
# synergy runs every job, skipping the idle stretch; --stop-on-gap keeps the
# reference's behaviour of stopping at the gap and dropping the rest.
# Job 0 (alexnet, 100 iterations, 1 GPU) arrives at 0 and finishes at the end of
# the first round (300 s): JCT 1/12 h. Jobs 1-2 arrive at 1e6 s, run from the
# round at ceil(1e6/300)*300 = 1000200 s.
# usage: replay_gaps.sh SYNERGY_BIN SOURCE_DIR
set -eu
bin=$1
t=$(mktemp)
trap 'rm -f "$t"' EXIT
printf '0,alexnet,0,100,1\n1,res18,1000000,100,1\n2,gnmt,1000000,5000,2\n' > "$t"
out=$("$bin" simulate --json --trace "$t")
echo "$out"
# finishes: job 0 at 300 s, job 1 at 1000500 s (100 iterations fit one round),
# job 2 at 1000500 s (2500 iterations a round: 5000 need two rounds -> 1000800 s)
echo "$out" | grep -q '"jobs_measured":3,' 
echo "$out" | grep -q '"makespan_h":277.999999999\|"makespan_h":278.000000000'
out=$("$bin" simulate --json --trace "$t" --stop-on-gap 2>/dev/null)
echo "$out"
echo "$out" | grep -q '"jobs_measured":1,'
echo "$out" | grep -q '"avg_jct_h":0.083333333,'
echo "2 passed, 0 failed"
