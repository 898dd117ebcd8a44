#!/usr/bin/env bash
# Jobs of one iterator process per GPU speaking the stock reference protocol
# (issue 20, item 1): `synergy job --ranks --legacy` forks one process per GPU
# of its server, as torch.distributed.launch --nproc_per_node=G does, and each
# speaks JobToScheduler like the stock SynergyIterator: no job token, no
# attempt, no rank (deploy --allow-legacy-jobs). The worker catalog says
# nothing about ranks, as a catalog written for the reference would not: the
# scheduler must find the job's processes by itself.
#  legacy2_fifo  2-GPU jobs under FIFO: five jobs on one 8-GPU server, the
#                leases of running jobs extended round after round
#  legacy4_las   4-GPU jobs under LAS on one 8-GPU server: jobs preempted and
#                relaunched, every rank stopped alike
#  legacy2_crash one rank of a 2-GPU job crashes: a crash of the job (one
#                charge), relaunched from its last report, both ranks complete;
#                the rank that crashes starts 200 ms late, as on a loaded
#                machine, and still reports the steps its job's ranks agree on
# 3 s rounds (--time-scale 100): a rank that a loaded machine starts late
# moves a JCT by a smaller share of it.
# Checked against what simulate computes and what each rank logs:
#  - every job finishes, every round places the same jobs as simulate, each
#    job's JCT within 5 % of simulate's plus the lateness the run measured
#    (deploy_e2e.sh: the plan log's `finish ID JCT LATE`);
#  - every rank of every attempt resumes where the job's previous attempt
#    ended and the last attempt's ranks all complete at the job's total:
#    executed == total on every rank, nothing skipped, nothing run twice;
#  - the ranks of an attempt saw the same budget and the same RoundEnd answer
#    in every round;
#  - no job is credited twice in a round: the scheduler's credits of each
#    attempt (-v), round by round, are the steps its ranks logged for their
#    rounds, no more credits and no other numbers.
# usage: deploy_ranks.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 (CLI) is not installed"; exit 1; }
tmp=$(mktemp -d)
cleanup() { if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v '\[debug\]' "$tmp/dep.err" | tail -20; exit 1; }
case $case in
legacy2_fifo)
    policy=FIFO
    printf '0,res18,0,3000,2\n1,alexnet,0,2500,2\n2,res50,300,2000,2\n3,alexnet,300,2500,2\n4,res18,600,2000,2\n' > "$tmp/trace" ;;
legacy4_las)
    policy=LAS
    printf '0,res18,0,4000,4\n1,alexnet,300,2000,4\n2,res50,600,1500,4\n' > "$tmp/trace" ;;
legacy2_crash)
    printf '0,res18,0,2000,2\n' > "$tmp/trace" ;;
*) echo "unknown case $case"; exit 2 ;;
esac
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
standin="{synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir} --ranks --legacy"
for m in $(cut -d, -f2 "$tmp/trace" | sort -u); do printf '[%s]\nargv = %s\n' "$m" "$standin"; done \
    > "$tmp/catalog.ini"
if [ "$case" = legacy2_crash ]; then
    # one rank crashes half-way through its first round (--crash-once),
    # having started 200 ms after the other (--crash-late-ms): the
    # job crashes (its other rank is stopped), is relaunched from the steps it
    # last reported, and every rank of the relaunch runs to the total
    mkdir "$tmp/marks"
    printf '[res18]\nargv = %s --crash-once %s --crash-late-ms 200\n' "$standin" "$tmp/marks" > "$tmp/catalog.ini"
    timeout 200 "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --policy FIFO --local 1 \
        --time-scale 100 --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" --allow-legacy-jobs \
        --state "$tmp/state.db" --json > "$tmp/dep.json" 2> "$tmp/dep.err" || fail "deploy failed"
    for k in '"jobs_finished":1,' '"crashes":1,' '"relaunches":1,' '"jobs_failed":0,'; do
        grep -q "$k" "$tmp/dep.json" || fail "not $k: $(cat "$tmp/dep.json")"
    done
    grep -q "job 0 crashed on server 0" "$tmp/dep.err" || fail "no crash of the job logged"
    [ "$(sqlite3 "$tmp/state.db" "select executed = total from jobs where id = 0")" = 1 ] || fail "executed != total"
    l1=$tmp/run/worker-0/logs/job-0-attempt-1.log l2=$tmp/run/worker-0/logs/job-0-attempt-2.log
    at=$(sed -n 's/^synergy job 0 rank [01]: crashing on purpose at \([0-9]*\)$/\1/p' "$l1")
    [ -n "$at" ] || fail "no rank crashed in attempt 1"
    for r in 0 1; do
        grep -q "^synergy job 0 rank $r: resuming at $at of 2000" "$l2" || fail "rank $r of attempt 2 did not resume at $at"
        grep -q "^synergy job 0 rank $r: complete at 2000$" "$l2" || fail "rank $r of attempt 2 did not complete"
    done
    echo "ok: a rank crashed at $at: the job was charged one crash, relaunched there, and both ranks completed 2000"
    exit 0
fi
"$bin" simulate --trace "$tmp/trace" --cluster "$tmp/c.ini" --policy "$policy" --json \
    --plan-log "$tmp/sim.plan" > "$tmp/sim.json"
timeout 200 "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --policy "$policy" \
    --local 1 --time-scale 100 --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" \
    --allow-legacy-jobs --state "$tmp/state.db" --json --plan-log "$tmp/dep.plan" -v \
    > "$tmp/dep.json" 2> "$tmp/dep.err" || fail "deploy failed"
n=$(grep -c . "$tmp/trace")
grep -q "\"jobs_finished\":$n," "$tmp/dep.json" || fail "not every job finished: $(cat "$tmp/dep.json")"
diff <(grep -v '^finish' "$tmp/sim.plan") <(grep -v '^finish' "$tmp/dep.plan") > /dev/null ||
    fail "the deployment placed jobs differently from simulate: $(diff "$tmp/sim.plan" "$tmp/dep.plan" | head)"
join <(grep '^finish' "$tmp/sim.plan" | awk '{print $2, $3}' | sort) \
     <(grep '^finish' "$tmp/dep.plan" | awk '{print $2, $3, $4}' | sort) > "$tmp/jct"
[ "$(wc -l < "$tmp/jct")" -eq "$n" ] || fail "finish records missing"
awk '{ d = ($3 - $4 - $2) / $2
       printf "job %s: JCT %s s deployed (%s s of it late), %s s simulated (%+.1f %% lateness aside)\n", $1, $3, $4, $2, 100 * d
       if (d < 0) d = -d; if (NF != 4 || d > 0.05) bad = 1 } END { exit bad }' "$tmp/jct" ||
    fail "a JCT is more than 5 % off simulate's (lateness aside)"
[ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where state != 'finished' or executed != total")" = 0 ] ||
    fail "the state: $(sqlite3 "$tmp/state.db" "select id, state, executed, total from jobs")"
shopt -s nullglob
while IFS=, read -r id model _ total gpus; do
    files=("$tmp"/run/worker-*/logs/job-"$id"-attempt-*.log)
    [ ${#files[@]} -gt 0 ] || fail "job $id: no stand-in log"
    logs=$(printf '%s\n' "${files[@]}" |
           awk -F'attempt-' '{ split($2, a, "."); print a[1], $0 }' | sort -n | cut -d' ' -f2-)
    # every rank of every attempt: where it resumed and how it ended
    # shellcheck disable=SC2086
    verdict=$(awk -v id="$id" -v total="$total" -v ranks="$gpus" '
        FNR == 1 { nf++; a = FILENAME; sub(/.*attempt-/, "", a); sub(/[.]log$/, "", a); att[nf] = a + 0 }
        $1 == "synergy" && $4 == "rank" {
            r = $5; sub(/:$/, "", r)
            if ($6 == "resuming") { res[nf, r] = $8 + 0; seen[nf, r] = 1 }
            if ($6 == "lease" && $7 == "ended") { endv[nf, r] = $NF + 0; kind[nf, r] = "ended" }
            if ($6 == "complete") { endv[nf, r] = $NF + 0; kind[nf, r] = "complete" }
            if ($6 == "round") { k = nf SUBSEP $7; line = $9 " " $11; sub(/,$/, "", line)
                                 if (!(k in ref)) ref[k] = line
                                 else if (ref[k] != line) bad = bad " attempt " att[nf] " round " $7 ": ranks saw " ref[k] " and " line
                                 if (r == 0) steps[att[nf]] = steps[att[nf]] " " $12 }
        }
        END {
            prev = 0
            for (i = 1; i <= nf; i++) {
                for (r = 0; r < ranks; r++) {
                    if (!((i, r) in seen)) { bad = bad " attempt " att[i] ": rank " r " never started"; continue }
                    if (res[i, r] != prev) bad = bad " attempt " att[i] " rank " r " resumed at " res[i, r] " after " prev
                    if (!((i, r) in kind)) bad = bad " attempt " att[i] " rank " r " ended without a word"
                    if (endv[i, r] != endv[i, 0] || kind[i, r] != kind[i, 0])
                        bad = bad " attempt " att[i] ": rank " r " ended at " endv[i, r] " " kind[i, r] ", rank 0 at " endv[i, 0] " " kind[i, 0]
                }
                prev = endv[i, 0]; last = kind[i, 0]
            }
            if (last != "complete" || prev != total) bad = bad " the last attempt ended " last " at " prev " of " total
            for (a in steps) print "steps", a, steps[a] > "/dev/stderr"
            print bad == "" ? "ok" : "job " id ":" bad
        }' $logs 2> "$tmp/steps")
    [ "$verdict" = ok ] || fail "worker logs: $verdict"
    # credited once per round: the scheduler's credits of each attempt, round
    # by round, are the steps its ranks ran in their rounds (a report counted
    # in a round it does not belong to shows as a credit too many)
    for a in $(awk '{ print $2 }' "$tmp/steps"); do
        ran=$(awk -v a="$a" '$2 == a { $1 = $2 = ""; print }' "$tmp/steps" | xargs)
        got=$(sed -n "s/.*deploy: job $id attempt $a round [0-9.]*: credited \([0-9]*\) steps.*/\1/p" \
              "$tmp/dep.err" | xargs)
        [ "$ran" = "$got" ] ||
            fail "job $id attempt $a: its ranks ran rounds of [$ran] steps, the scheduler credited [$got]"
    done
done < "$tmp/trace"
rounds=$(cat "$tmp"/run/worker-*/logs/*.log | grep -c ' rank 0: round .* answer' || true)
stops=$(cat "$tmp"/run/worker-*/logs/*.log | grep -c ' rank 0: round .* answer stop' || true)
extends=$(cat "$tmp"/run/worker-*/logs/*.log | grep -c ' rank 0: round .* answer extend' || true)
[ "$extends" -gt 0 ] || fail "no lease was extended"
[ "$case" != legacy4_las ] || [ "$stops" -gt 0 ] || fail "no job was preempted"
echo "ok: $n jobs of $(cut -d, -f5 "$tmp/trace" | sort -u | tr '\n' ' ')processes each, $rounds job rounds" \
     "($extends extended, $stops stopped), every rank executed its total, JCTs within 5 % of simulate"
