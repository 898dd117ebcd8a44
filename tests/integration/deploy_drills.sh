#!/usr/bin/env bash
# Fault drills of the scheduler side (issue 9), on loopback with two external
# workers (so they outlive the scheduler), each run to completion:
#  sched_mid       the scheduler is SIGKILLed in the middle of a round and
#                  restarted with the same command (same --state)
#  sched_boundary  ... at a round boundary (SYNERGY_TEST_CRASH_AT=b:N)
#  sched_launch    ... during the launches: RunJobs sent, not committed (e:N)
#  sched_completion  ... at the first boundary after a job's completion report
#                  was answered (SYNERGY_TEST_CRASH_AT=l:1): the report was
#                  stored first, so no job runs again once complete
#  sched_cancel    ... right after a cancel was answered, with round 3's
#                  transaction held open (c:3): the cancel was stored before
#                  it was answered, so the job stays cancelled and is never
#                  launched again
#  ignore_stop     a job that ignores its stop, --max-retries 1: only it is
#                  charged (it fails), the job waiting for its GPUs is not
#  overload        the 100-job static trace, LAS/tune, 2 workers, --time-scale
#                  1000: every job finishes, none fails (JCT stretch reported)
# Every drill ends with every job finished (ignore_stop: all but the
# misbehaving one) and executed == total for every finished job in the state
# (nothing lost, nothing counted twice). The restart drills also check that
# the final summary covers every job, that running jobs were adopted (not
# restarted), and that every job's JCT is within 5 % of an undisturbed
# deployment's plus the measured downtime (kill -> the restarted scheduler
# has its state back), each less the part of it after its last boundary that
# its run measured (the machine's lateness: deploy_e2e.sh, plan log
# `finish ID JCT LATE`). HOG=N runs N busy loops beside the drill.
# usage: deploy_drills.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v "reporting job" "$tmp/dep.err" | tail -30; exit 1; }
for _ in $(seq "${HOG:-0}"); do (while :; do :; done) & pids+=($!); done
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
standin="{synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
# -readonly: a query must not create the file before the scheduler does (an empty
# state file is refused)
sql() { sqlite3 -readonly "$tmp/state.db" "$1"; }
port=$(( 20000 + RANDOM % 20000 ))
printf '127.0.0.1,%d,0,0,1\n127.0.0.1,%d,0,0,1\n' $(( port + 1 )) $(( port + 2 )) > "$tmp/workers"
catalog=$src/tests/deploy/catalog.ini
workers() { # start both workers
    for i in 0 1; do
        "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --port $(( port + 1 + i )) --gpus 8 \
            --catalog "$catalog" --run-dir "$tmp/w$i" 2>> "$tmp/w$i.err" &
        pids+=($!)
    done
}
deploy() { # extra args...; the scheduler's own pid is $!
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
        --port "$port" --state "$tmp/state.db" --time-scale "$scale" --policy LAS -v --json \
        --plan-log "$tmp/dep.plan" \
        "$@" >> "$tmp/dep.json" 2>> "$tmp/dep.err" &
    pids+=($!)
}
check_counts() {
    [ "$(sql "select count(*) from jobs where state='finished' and executed != total")" = 0 ] ||
        fail "a finished job was credited more or less than its total"
}
# --plan-log across the restart: every round once, in order, 300 s apart from
# the run's first (simulate's), and one finish line per job (a restart continues the file,
# cutting what the last commit did not cover)
plan_log_continued() {
    local first=0 # (the drills without simulate: every trace starts at 0)
    [ ! -f "$tmp/sim.plan" ] || first=$(grep -v '^finish' "$tmp/sim.plan" | head -1 | cut -d: -f1)
    awk -F: -v first="$first" '/^finish/ { split($0, f, " "); fin[f[2]]++; next }
        { t = $1 + 0; if (n == 0 && t != first + 0) bad = bad " starts at " t ", not " first
          if (n > 0 && t != last + 300) bad = bad " round " t " after " last; last = t; n++ }
        END { for (j in fin) { nf++; if (fin[j] != 1) bad = bad " job " j " finished " fin[j] " times" }
              if (n < 2) bad = bad " only " n " rounds"
              print bad == "" ? "ok " n " rounds, " nf " finished" : bad }' "$tmp/dep.plan" > "$tmp/plan.check"
    grep -q "^ok " "$tmp/plan.check" || fail "--plan-log after the restart:$(cat "$tmp/plan.check")"
    [ "$(grep -c '^finish' "$tmp/dep.plan")" = "$(grep -c . "$tmp/trace")" ] || fail "--plan-log: finish lines missing"
    echo "--plan-log: $(cat "$tmp/plan.check")"
}
mean_jct() { sed -n 's/.*"avg_jct_h":\([0-9.]*\).*/\1/p' "$1" | tail -1; }

case $case in
sched_mid|sched_boundary|sched_launch)
    scale=500
    printf '0,alexnet,0,3000,4\n1,res18,0,6000,4\n2,alexnet,0,2000,8\n3,res18,0,4000,2\n' \
        > "$tmp/trace"
    printf '4,alexnet,300,3000,8\n5,res18,600,2500,4\n' >> "$tmp/trace"
    # the undisturbed run, for the JCTs
    "$bin" simulate --trace "$tmp/trace" --cluster "$tmp/c.ini" --policy LAS --json \
        --plan-log "$tmp/sim.plan" > "$tmp/sim.json"
    # the undisturbed deployment, on workers of its own
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 2 --time-scale "$scale" \
        --policy LAS --catalog "$catalog" --run-dir "$tmp/und" --state "$tmp/und.db" \
        --plan-log "$tmp/und.plan" --json > "$tmp/und.json" 2> "$tmp/und.err" ||
        fail "the undisturbed deployment failed"
    # id, JCT less its measured lateness (the plan log's `finish ID JCT LATE`)
    plan_jct() { awk '$1 == "finish" { print $2, $3 - $4 }' "$1" | sort -n; }
    plan_jct "$tmp/und.plan" > "$tmp/und.jct"
    workers
    case $case in
    sched_boundary) export SYNERGY_TEST_CRASH_AT=b:4 ;;
    sched_launch) export SYNERGY_TEST_CRASH_AT=e:1 ;; # the first launches
    esac
    deploy
    dep=$!
    unset SYNERGY_TEST_CRASH_AT
    if [ "$case" = sched_mid ]; then
        # wait for round 3's launches, then a little into the round
        for _ in $(seq 300); do
            [ "$(sql "select count(*) from rounds" 2>/dev/null || echo 0)" -ge 3 ] && break
            sleep 0.05
        done
        sleep 0.3
        kill -9 "$dep"
    fi
    rc=0; wait "$dep" || rc=$?
    [ $rc = 137 ] || fail "the scheduler should have died of SIGKILL, got $rc"
    t_down=$(date +%s.%N)
    [ "$(sql "select finished from run")" = 0 ] || fail "the state should hold an unfinished run"
    sleep 0.5
    deploy # continues the run, and its --plan-log
    dep=$!
    # the downtime ends when the restarted scheduler has its state back
    for _ in $(seq 400); do
        grep -q "continuing the run at round" "$tmp/dep.err" && break
        sleep 0.025
    done
    t_up=$(date +%s.%N)
    wait $dep || fail "the restarted scheduler failed"
    cat "$tmp/dep.json"
    grep -q "continuing the run at round" "$tmp/dep.err" || fail "the restart did not continue the run"
    grep -q '"jobs_finished":6,' "$tmp/dep.json" || fail "the summary should cover all 6 jobs"
    grep -q '"jobs_failed":0,' "$tmp/dep.json" || fail "no job may fail"
    [ "$(sql "select count(*) from jobs where state='finished'")" = 6 ] || fail "not every job finished"
    check_counts
    adopted=$(grep -c "adopted on server" "$tmp/dep.err" || true)
    # jobs running at the kill are adopted, not restarted (boundary/mid; the
    # launch drill's new attempts are unknown to the state and killed instead)
    if [ "$case" != sched_launch ]; then
        [ "$adopted" -ge 1 ] || fail "no running job was adopted"
        ! grep -q "crashed on server" "$tmp/dep.err" || fail "a job was charged a crash"
    else
        # the first launches were never committed: the restarted scheduler
        # refuses those attempts (their tokens are not in its state:
        # PERMISSION_DENIED, issue 21) or has their worker kill them; they are
        # launched again as new attempts
        stopped=$(cat "$tmp"/w*/logs/job-*-attempt-1.log |
                  grep -c "job token is not this job's and attempt's" || true)
        killed=$(grep -c "does not expect there: killing it" "$tmp/dep.err" || true)
        [ $(( stopped + killed )) -ge 1 ] || fail "the launches of the lost round kept running"
        echo "uncommitted first launches: $stopped refused, $killed killed"
    fi
    plan_log_continued
    down=$(awk -v a="$t_down" -v b="$t_up" 'BEGIN { print b - a }')
    sim=$(mean_jct "$tmp/sim.json") dep=$(mean_jct "$tmp/dep.json")
    echo "mean JCT: simulate $sim h, deployed $dep h; downtime $down s wall; $adopted adopted"
    # every job: JCT within 5 % of the undisturbed deployment plus the
    # measured downtime on the logical clock, both less the lateness their
    # runs measured; and never below simulate's (nothing credited twice)
    plan_jct "$tmp/dep.plan" > "$tmp/dep.jct"
    sed -n 's/^finish \([0-9]*\) \([0-9.]*\)$/\1 \2/p' "$tmp/sim.plan" | sort -n > "$tmp/sim.jct"
    join "$tmp/sim.jct" "$tmp/und.jct" | join - "$tmp/dep.jct" | awk -v dt="$down" -v k="$scale" '
        { lim = ($3 + dt * k) * 1.05; n++
          printf "job %d: JCT %.0f s with the fault, %.0f s undisturbed (simulate %.0f s), limit %.0f s (lateness aside)\n",
                 $1, $4, $3, $2, lim
          if ($4 > lim || $4 < $2 * 0.95) bad++ }
        END { exit !(n == 6 && bad == 0) }' ||
        fail "a JCT is not within 5 % of the undisturbed deployment plus the downtime"
    ;;
sched_completion|sched_cancel)
    scale=500
    printf '0,alexnet,0,3000,4\n1,res18,0,6000,4\n2,alexnet,0,2000,8\n3,res18,0,4000,2\n' \
        > "$tmp/trace"
    printf '4,alexnet,300,3000,8\n5,res18,600,2500,4\n' >> "$tmp/trace"
    workers
    if [ "$case" = sched_completion ]; then
        # killed at the first boundary after a job's completion report was answered
        export SYNERGY_TEST_CRASH_AT=l:1
        deploy
        dep=$!
    else
        # round 3's launches held open until a cancel comes in (deploy_durable.c)
        export SYNERGY_TEST_CRASH_AT=c:3
        deploy
        dep=$!
        for _ in $(seq 600); do
            grep -q "holding the round's transaction until a cancel" "$tmp/dep.err" && break
            sleep 0.05
        done
        grep -q "holding the round's transaction" "$tmp/dep.err" || fail "round 3 never came"
        victim=$(sql "select id from jobs where state='running' order by id limit 1")
        [ -n "$victim" ] || fail "no job runs in round 3"
        att=$(sql "select attempt from jobs where id=$victim")
        total=$(sql "select total from jobs where id=$victim")
        out=$("$bin" cancel --scheduler "127.0.0.1:$port" --insecure "$victim") ||
            fail "the cancel of job $victim was refused"
        [ "$out" = "cancelled $victim" ] || fail "cancel printed '$out'"
        echo "job $victim (attempt $att) cancelled; killing the scheduler"
        kill -9 "$dep"
    fi
    unset SYNERGY_TEST_CRASH_AT
    rc=0; wait "$dep" || rc=$?
    [ $rc = 137 ] || fail "the scheduler should have died of SIGKILL, got $rc"
    [ "$(sql "select finished from run")" = 0 ] || fail "the state should hold an unfinished run"
    deploy
    dep=$!
    rc=0; wait $dep || rc=$?
    cat "$tmp/dep.json"
    grep -q "continuing the run at round" "$tmp/dep.err" || fail "the restart did not continue the run"
    grep -q '"jobs_failed":0,' "$tmp/dep.json" || fail "no job may fail"
    check_counts
    if [ "$case" = sched_completion ]; then
        [ $rc = 0 ] || fail "the restarted scheduler failed ($rc)"
        grep -q "SYNERGY_TEST_CRASH_AT=l:1: killing" "$tmp/dep.err" || fail "the drill did not fire"
        plan_log_continued
        [ "$(sql "select count(*) from jobs where state='finished'")" = 6 ] || fail "not every job finished"
        # no job ran again once complete: one attempt completed (all its ranks,
        # at the total), and it is the job's last
        while IFS=, read -r id _ _ total _; do
            # shellcheck disable=SC2046
            verdict=$(awk -v total="$total" '
                FNR == 1 { a = FILENAME; sub(/.*attempt-/, "", a); sub(/[.]log$/, "", a); a += 0
                           if (a > last) last = a }
                /complete at/ { done[a] = 1; if ($NF + 0 != total) bad = bad " attempt " a " completed at " $NF }
                END { n = 0; for (k in done) { n++; c = k + 0 }
                      if (n != 1) bad = bad " " n " attempts completed"
                      else if (c != last) bad = bad " attempt " last " ran after attempt " c " completed"
                      print bad == "" ? "ok" : bad }' $(ls "$tmp"/w*/logs/job-"$id"-attempt-*.log))
            [ "$verdict" = ok ] || fail "job $id:$verdict"
        done < "$tmp/trace"
        grep -q "completed on server .* before the restart" "$tmp/dep.err" ||
            fail "no job was known to have completed before the restart"
        echo "every job completed once, and was not run again"
    else
        [ "$(sql "select state from jobs where id=$victim")" = cancelled ] ||
            fail "job $victim is $(sql "select state from jobs where id=$victim") after the restart"
        [ "$(sql "select executed < total from jobs where id=$victim")" = 1 ] ||
            fail "job $victim ran to its total ($total)"
        last=$(ls "$tmp"/w*/logs/job-"$victim"-attempt-*.log | sed 's/.*attempt-\([0-9]*\).log/\1/' | sort -n | tail -1)
        [ "$last" -le "$att" ] || fail "job $victim was launched again (attempt $last) after its cancel"
        [ "$(sql "select count(*) from jobs where state='finished'")" = 5 ] || fail "the 5 others did not finish"
        echo "job $victim stayed cancelled across the SIGKILL; the 5 others finished"
    fi
    ;;
ignore_stop)
    scale=1000
    cluster_one() { printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 8\n'
                    printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n'; }
    cluster_one > "$tmp/c.ini"
    { echo "[transformer]"; echo "argv = $standin --ignore-stop --ignore-sigterm"
      echo "[alexnet]"; echo "argv = $standin"; } > "$tmp/cat.ini"
    catalog=$tmp/cat.ini
    # LAS: jobs 1 and 2 arrive with no service and preempt job 0 (16 GPUs),
    # which ignores every stop
    printf '0,transformer,0,20000,16\n1,alexnet,400,1000,16\n2,alexnet,1300,1000,16\n' \
        > "$tmp/trace"
    workers
    rc=0
    deploy --max-retries 1
    wait $! || rc=$?
    cat "$tmp/dep.json"
    [ $rc = 1 ] || fail "deploy should report an incomplete run (job 0 failed), got $rc"
    [ "$(sql "select state from jobs where id=0")" = failed ] || fail "job 0 should fail"
    [ "$(sql "select crashes from saved_jobs where id=0")" = 2 ] || fail "job 0: 2 charges"
    for j in 1 2; do
        [ "$(sql "select state from jobs where id=$j")" = finished ] || fail "job $j not finished"
        [ "$(sql "select crashes from saved_jobs where id=$j")" = 0 ] || fail "job $j was charged"
    done
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "ignoring a stop is not a crash"
    grep -q '"stops_ignored":2,' "$tmp/dep.json" || fail "two ignored stops"
    check_counts
    ;;
overload)
    scale=1000
    cp "$src/traces/synergy-deploy/static_100job_6_3_1100.0" "$tmp/trace"
    "$bin" simulate --trace "$tmp/trace" --cluster "$tmp/c.ini" --policy LAS --mode tune \
        --static --json > "$tmp/sim.json"
    workers
    deploy --mode tune --static
    wait $! || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":100,' "$tmp/dep.json" || fail "not every job finished"
    grep -q '"jobs_failed":0,' "$tmp/dep.json" || fail "a job failed"
    check_counts
    sim=$(mean_jct "$tmp/sim.json") dep=$(mean_jct "$tmp/dep.json")
    awk -v s="$sim" -v d="$dep" 'BEGIN { printf "mean JCT: simulate %.3f h, deployed %.3f h (x%.2f)\n", s, d, d / s }'
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "ok: $case"
