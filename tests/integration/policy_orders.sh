#!/usr/bin/env bash
# Policy orders through the real binary, on two-job traces worked out by hand:
# the first round's placements, in placement order, from --plan-log (static
# runs: the first round is at t = 1, both jobs have arrived). Profiles are
# configs/models.ini's (cpus/GPU, GB/GPU, speedup, iteration time).
#  SRTF   outside fair mode the speedup divides the remaining time. One GPU.
#         job 0 gnmt 3000 x 0.12 = 360 s; job 1 alexnet 1000 x 0.6 = 600 s,
#         / 2.94 = 204 s under tune. tune runs job 1, fair runs job 0.
#  TETRIS memory counts. One GPU, 24 CPUs, 500 GB, fair. Both have 1920 s
#         left (job 0 m5 3200 x 0.6, job 1 res18 3000 x 0.64); weighted
#         demand g/1 + cpu/24 + mem/500: m5 1 + 6/24 + 187.5/500 = 1.625,
#         res18 1 + 9/24 + 62.5/500 = 1.5. Job 1 runs (without the memory
#         term m5 would: 1.25 < 1.375).
#  LAS    under tune the walked jobs are placed largest deficit first. Two
#         servers x 4 GPUs; job 0 gnmt x1 leads LAS's order (arrival 0),
#         job 1 gnmt x4 (arrival 0.1) is placed first: plan "1 0". greedy
#         keeps LAS's order: "0 1".
# And tune's fair share, which raises memory below it: one server of 4 GPUs,
# 12 CPUs, 500 GB (slice 3 CPUs, 125 GB). alexnet (12 CPUs, 125 GB) and res18
# (9 CPUs, 62.5 GB) each run one round: res18 finds no CPU and drops to the
# slice, alexnet is shrunk to it; both hold 125 GB, so memory allocated is
# 250 / 500 = 50 % (37.5 % if res18 kept its 62.5 GB).
# usage: policy_orders.sh SYNERGY_BIN SOURCE_DIR
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cluster() { # servers gpus cpus mem
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = %d\ngpus_per_server = %d\n' "$1" "$2"
    printf 'cpus_per_server = %d\ndram_per_server = %d\nsspeed_per_server = 500\n' "$3" "$4"
}
first_round() { # want trace cluster policy mode
    local want=$1 got
    "$bin" simulate --trace "$tmp/$2" --static --cluster "$tmp/$3" --policy "$4" --mode "$5" \
        --plan-log "$tmp/plan" > /dev/null || { echo "FAIL: $4/$5 on $2: simulate exited $?"; fail=1; return; }
    got=$(sed -n '1s/^1.000000: //p' "$tmp/plan")
    if [ "$got" = "$want" ]; then
        echo "ok: $4/$5 on $2: first round places $got"
    else
        echo "FAIL: $4/$5 on $2: first round places '$got', want '$want'"; fail=1
    fi
}
cluster 1 1 24 500 > "$tmp/one.ini"
cluster 2 4 12 250 > "$tmp/two.ini"
printf '0,gnmt,0,3000,1\n1,alexnet,0.1,1000,1\n' > "$tmp/srtf"
printf '0,m5,0,3200,1\n1,res18,0.1,3000,1\n' > "$tmp/tetris"
printf '0,gnmt,0,100000,1\n1,gnmt,0.1,100000,4\n' > "$tmp/las"
first_round 1 srtf one.ini SRTF tune
first_round 0 srtf one.ini SRTF fair
first_round 1 tetris one.ini TETRIS fair
first_round "1 0" las two.ini LAS tune
first_round "0 1" las two.ini LAS greedy
cluster 1 4 12 500 > "$tmp/four.ini"
printf '0,alexnet,0,500,1\n1,res18,0.1,468,1\n' > "$tmp/tune"
out=$("$bin" simulate --trace "$tmp/tune" --static --cluster "$tmp/four.ini" --policy FIFO --mode tune --json)
if grep -q '"rounds":1,.*"mem_alloc_pct":50.0000,' <<<"$out"; then
    echo "ok: FIFO/tune: one round, 50 % of the memory allocated"
else
    echo "FAIL: FIFO/tune on tune: want one round with 50 % of the memory allocated: $out"; fail=1
fi
exit $fail
