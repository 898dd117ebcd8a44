#!/usr/bin/env bash
# Why jobs waited, in `simulate --jobs-csv --jobs-csv-reasons` (issue 26, docs/forecast.md): the
# rounds each job spent per reason, on two tiny traces worked out by hand.
# A model of 1 s per iteration at every share: 300 iterations a round.
#  FIFO, fair, one server of 4 GPUs: job 0 (4 GPUs, 3 rounds) runs rounds
#  1-3; job 1 (4 GPUs, 2 rounds) waits 3 rounds (Priority) and runs 4-5; job
#  2 (2 GPUs, 1 round) waits 5 (Priority) and runs round 6. Each starts once.
#  FIFO, greedy, one server of 4 GPUs and 6 CPUs, 3 CPUs per GPU: job 0 (2
#  GPUs, 2 rounds) takes all 6 CPUs; job 1 (2 GPUs, 1 round) finds 2 GPUs
#  free but no CPU for 2 rounds (Cpu), then runs.
# usage: reasons_csv.sh SYNERGY_BIN SOURCE_DIR
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
printf '[flat:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 1\n' > "$tmp/m.ini"
cluster() { printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 4\ncpus_per_server = %s\ndram_per_server = 500\n' "$1" > "$tmp/c.ini"; }
# id: starting,quota,held,gputype,cpu,memory,fragmentation,resources,priority
waits() {
    "$bin" simulate --trace "$tmp/t" --static --cluster "$tmp/c.ini" --models "$tmp/m.ini" \
        --policy FIFO "$@" --jobs-csv "$tmp/j.csv" --jobs-csv-reasons > /dev/null || fail "simulate $*"
    head -1 "$tmp/j.csv" | grep -q ',jct_s,starting,quota,held,gputype,cpu,memory,fragmentation,resources,priority$' ||
        fail "header: $(head -1 "$tmp/j.csv")"
    awk -F, 'NR > 1 { printf "%s%s:", (NR > 2 ? " " : ""), $3; for (i = 10; i <= 18; i++) printf "%s%s", (i > 10 ? "," : ""), $i }' "$tmp/j.csv"
}
cluster 24
printf '0,flat,0,900,4\n1,flat,0,600,4\n2,flat,0,300,2\n' > "$tmp/t"
got=$(waits --mode fair)
[ "$got" = "0:1,0,0,0,0,0,0,0,0 1:1,0,0,0,0,0,0,0,3 2:1,0,0,0,0,0,0,0,5" ] || fail "fair: $got"
cluster 6
printf '0,flat,0,600,2\n1,flat,0,300,2\n' > "$tmp/t"
got=$(waits --mode greedy)
[ "$got" = "0:1,0,0,0,0,0,0,0,0 1:1,0,0,0,2,0,0,0,0" ] || fail "greedy: $got"
"$bin" simulate --trace "$tmp/t" --static --cluster "$tmp/c.ini" --models "$tmp/m.ini" \
    --jobs-csv "$tmp/plain.csv" > /dev/null || fail "simulate without --jobs-csv-reasons"
head -1 "$tmp/plain.csv" | grep -q ',jct_s$' || fail "plain header: $(head -1 "$tmp/plain.csv")"
echo "jobs-csv reasons: fair Priority 3 and 5 rounds, greedy Cpu 2 rounds"
