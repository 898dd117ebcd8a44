#!/usr/bin/env bash
# The starvation bump through the real binary, on a trace worked out by hand:
# its clock runs from the end of a job's last lease, not from its arrival, and
# a bumped job preempts the job that starved it. The expected numbers below
# come from the reasoning here, not from a run.
#
# One GPU, SRTF, fair mode, rounds of 300 s; alexnet runs 500 iterations a
# round (300 / 0.6). Job 0: arrival 0, 120000 iterations (240 rounds). Jobs
# 1..101 ("B_k" = job k+1): arrival 36000 k + 100, 60000 iterations (120
# rounds, 36000 s). The first round is at t = 0 (ceil(0 / 300) x 300).
#   t=0       only job 0 has arrived: it runs; its lease ends at 300.
#   t=300     B_0 (36000 s left) < job 0 (71700 s left): B_0 runs. Each B_k
#             runs [36000 k + 300, 36000 (k+1) + 300): B_{k+1} arrives 200 s
#             before B_k ends and is shorter than job 0, so job 0 starves.
#   Job 0 last ran until 300. The bump needs now - 300 > 1000 h = 3600000 s:
#   the first such round is t = 3600600 (3600300 is exactly 1000 h).
#   t=3600900 job 0 leads on priority and preempts B_100 (started 3600300):
#             it runs its 239 rounds to 3672600, JCT 3672600 s.
#   B_100 then runs its last 118 rounds: 3672600 + 35400 = 3708000.
# Preemptions: job 0 once (ran at 0, not at 300), B_100 once; 2 in all.
# Counted from arrival instead, job 0 would be bumped a round earlier
# (t = 3600300) and run from 3600600; with no bump it would wait for B_100.
#
# The same trace under --mode opt, whose rounds take the legacy walk (its own
# copy of the bump, scheduler/sched.c). The server's 62 GB is below 62.5, so
# the only memory column OPT can give alexnet is 20.83 GB, where its
# throughput is 0.1 at any CPU count (configs/models.ini): 50 iterations a
# round. Job 0 runs 50 at t=0; the B_k (60000 left at most, same model and
# speedup) stay ahead of it (119950 left) under SRTF, and there is always one
# waiting (each takes 1200 rounds, 360000 s), so job 0 starves as above and
# is bumped at the end of round 3600600: it runs from 3600900. No one else is
# bumped before 3996600 (B_11, the first B that never ran, arrived 396100),
# and by then job 0 has 119950 - 1319 x 50 = 54000 left, less than any B's
# 60000, so job 0 keeps the GPU for its 119950 / 50 = 2399 rounds: last
# round 3600900 + 2398 x 300 = 4320300, JCT 4320600 s. Counted from arrival
# it would run from 3600600.
# usage: starvation.sh SYNERGY_BIN SOURCE_DIR
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) is not installed: run scripts/install-deps.sh"
cat > "$tmp/cluster.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = 1
gpus_per_server = 1
cpus_per_server = 3
dram_per_server = 62
sspeed_per_server = 62
INI
{
    echo "0,alexnet,0,120000,1"
    for k in $(seq 0 100); do echo "$((k + 1)),alexnet,$((36000 * k + 100)),60000,1"; done
} > "$tmp/trace"
"$bin" simulate --trace "$tmp/trace" --cluster "$tmp/cluster.ini" --policy SRTF --mode fair \
    --json --plan-log "$tmp/plan" --db "$tmp/r.db" > "$tmp/out.json" || fail "simulate exited $?"

# the rounds in which job 0 ran: 0, then 3600900 .. 3672300 (239 rounds)
awk -F: '$1 !~ /^finish/ { n = split($2, ids, " "); for (i = 1; i <= n; i++) if (ids[i] == 0) print $1 + 0 }' \
    "$tmp/plan" > "$tmp/runs0"
[ "$(head -1 "$tmp/runs0")" = 0 ] || fail "job 0 did not run in the first round"
second=$(sed -n 2p "$tmp/runs0")
[ "$second" = 3600900 ] ||
    fail "job 0 ran again at t=$second s, want 3600900 (bumped 1000 h after its last run, at 300)"
[ "$(wc -l < "$tmp/runs0")" -eq 240 ] || fail "job 0 ran $(wc -l < "$tmp/runs0") rounds, want 240"
[ "$(tail -1 "$tmp/runs0")" = 3672300 ] || fail "job 0's last round was not at 3672300"
grep -q '^finish 0 3672600.000$' "$tmp/plan" || fail "job 0's JCT is not 3672600 s"
grep -q '^finish 101 107900.000$' "$tmp/plan" || fail "B_100's JCT is not 3708000 - 3600100 = 107900 s"

# the results store: exactly two preemptions, on the right jobs and rounds
q() { sqlite3 "$tmp/r.db" "$1"; }
[ "$(q "select count(*) from jobs")" -eq 102 ] || fail "the store holds $(q "select count(*) from jobs") jobs"
[ "$(q "select group_concat(job_id || ':' || preemptions, ' ') from
        (select job_id, preemptions from jobs where preemptions > 0 order by job_id)")" = "0:1 101:1" ] ||
    fail "preemptions per job: $(q "select group_concat(job_id || ':' || preemptions, ' ') from jobs where preemptions > 0")"
[ "$(q "select group_concat(t_s || ':' || preempted, ' ') from
        (select t_s, preempted from rounds where preempted > 0 order by round)")" = "300.0:1 3600900.0:1" ] ||
    fail "preempted rounds: $(q "select group_concat(t_s || ':' || preempted, ' ') from rounds where preempted > 0")"
echo "ok: job 0 starved from its last run (300 s) and came back at 3600900 s; 2 preemptions"

# the same under opt (the legacy walk's bump)
"$bin" simulate --trace "$tmp/trace" --cluster "$tmp/cluster.ini" --policy SRTF --mode opt \
    --plan-log "$tmp/plan-opt" > /dev/null || fail "simulate --mode opt exited $?"
awk -F: '$1 !~ /^finish/ { n = split($2, ids, " "); for (i = 1; i <= n; i++) if (ids[i] == 0) print $1 + 0 }' \
    "$tmp/plan-opt" > "$tmp/runs0-opt"
[ "$(head -1 "$tmp/runs0-opt")" = 0 ] || fail "opt: job 0 did not run in the first round"
second=$(sed -n 2p "$tmp/runs0-opt")
[ "$second" = 3600900 ] ||
    fail "opt: job 0 ran again at t=$second s, want 3600900 (bumped 1000 h after its last run, at 300)"
[ "$(wc -l < "$tmp/runs0-opt")" -eq 2400 ] || fail "opt: job 0 ran $(wc -l < "$tmp/runs0-opt") rounds, want 2400"
[ "$(tail -1 "$tmp/runs0-opt")" = 4320300 ] || fail "opt: job 0's last round was not at 4320300"
grep -q '^finish 0 4320600.000$' "$tmp/plan-opt" || fail "opt: job 0's JCT is not 4320600 s"
echo "ok: opt: job 0 came back at 3600900 s and finished at 4320600 s"
