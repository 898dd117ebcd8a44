#!/usr/bin/env bash
# Preemption counts in the results store, against numbers not computed by the
# simulator's own bookkeeping.
# 1. Hand-worked: LAS on one GPU, static run (first round at t = 1), fair
#    mode, two alexnet jobs of 1500 iterations (3 rounds of 500 each), job 0
#    arriving at 0 and job 1 at 0.1. They take turns: 0, 1, 0, 1, 0 (job 0
#    finishes at 1501), 1 (finishes at 1801). Each is preempted twice, one
#    preemption in each of the rounds at 301, 601, 901 and 1201; job 0 is not
#    counted at 1501, where it finished.
# 2. Recounted: LAS/tune on the 100-job static trace (32 GPUs). The store's
#    per-job and per-round totals must equal the count made here from the
#    plan log alone (a job placed in one round and not the next, unfinished).
# usage: preemptions.sh SYNERGY_BIN SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) is not installed: run scripts/install-deps.sh"
q() { sqlite3 "$tmp/$1" "$2"; }

cat > "$tmp/cluster.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = 1
gpus_per_server = 1
cpus_per_server = 3
dram_per_server = 62
sspeed_per_server = 62
INI
printf '0,alexnet,0,1500,1\n1,alexnet,0.1,1500,1\n' > "$tmp/turns"
"$bin" simulate --trace "$tmp/turns" --static --cluster "$tmp/cluster.ini" --policy LAS --mode fair \
    --db "$tmp/a.db" > /dev/null || fail "simulate exited $?"
[ "$(q a.db "select group_concat(job_id || ':' || preemptions || ':' || finish_s, ' ') from
        (select * from jobs order by job_id)")" = "0:2:1501.0 1:2:1801.0" ] ||
    fail "jobs (id:preemptions:finish): $(q a.db "select group_concat(job_id || ':' || preemptions || ':' || finish_s, ' ') from jobs")"
[ "$(q a.db "select group_concat(t_s || ':' || preempted, ' ') from (select * from rounds order by round)")" = \
  "1.0:0 301.0:1 601.0:1 901.0:1 1201.0:1 1501.0:0" ] ||
    fail "rounds (t:preempted): $(q a.db "select group_concat(t_s || ':' || preempted, ' ') from rounds")"

"$bin" simulate --trace "$src/traces/synergy-deploy/static_100job_6_3_1100.0" --static \
    --cluster "$src/configs/static_trace.ini" --policy LAS --mode tune \
    --db "$tmp/b.db" --plan-log "$tmp/b.plan" > /dev/null || fail "simulate exited $?"
# preemptions from the plan log: in the previous round's set, not in this one,
# and not finished in between
recount=$(awk -F: '/^finish/ { split($0, f, " "); delete prev[f[2]]; next }
    { split($2, ids, " "); delete now; for (k in ids) now[ids[k]] = 1
      for (j in prev) if (!(j in now)) p++
      delete prev; for (j in now) prev[j] = 1 }
    END { print p + 0 }' "$tmp/b.plan")
[ "$recount" -gt 0 ] || fail "the plan log shows no preemption: the scenario no longer tests anything"
by_job=$(q b.db "select sum(preemptions) from jobs")
by_round=$(q b.db "select sum(preempted) from rounds")
[ "$by_job" -eq "$recount" ] || fail "the store's jobs count $by_job preemptions, the plan log $recount"
[ "$by_round" -eq "$recount" ] || fail "the store's rounds count $by_round preemptions, the plan log $recount"
echo "ok: LAS takes turns with 2 preemptions each; LAS/tune 100 jobs: $recount preemptions in store and plan"
