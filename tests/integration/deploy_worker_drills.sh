#!/usr/bin/env bash
# Worker-side drills of issues 9 and 21, each run to completion, every job ending with
# executed == total (from the SQLite state):
#  rundir      a worker started with a relative --run-dir (from another
#              directory) writes the job's checkpoint where the job expects it.
#  contain     a worker is SIGKILLed while its job has daemonised grandchildren
#              (one with the job's environment, one with none); restarted on
#              the same run directory it kills them before it registers (from
#              the job's cgroup where cgroup v2 is writable);
#  contain_nocg  the same without cgroups (--no-cgroup): from the notes it
#              keeps in the run directory and the jobs' environment.
#  grandchild  a job leaves two daemonised grandchildren (setsid + double
#              fork; one keeps the job's environment, one execs sleep with an
#              empty one) on a worker forced onto the no-cgroup path
#              (--no-cgroup): both are gone once the job has ended, while the
#              worker still runs (it is a child subreaper and sweeps orphans).
#  ranks       a 2-GPU job run with one iterator process per GPU (catalog
#              `ranks = per-gpu`, stand-in --ranks) and a 1-GPU job beside it
#              under LAS (so the 2-GPU job is extended and preempted): it
#              finishes with executed == total, and both ranks logged the same
#              budget and the same RoundEnd answer in every round.
#  restart     a worker SIGKILLed mid-run then started again re-registers and
#              its capacity comes back: jobs run on it again.
#  sigstop     a worker SIGSTOPped past the worker timeout, then SIGCONTed: it
#              re-registers with what it runs, and every job still finishes
#              exactly once.
# restart and sigstop also bound every job's JCT: within 5 % of an undisturbed
# deployment's (run first, on workers of its own) plus the measured downtime,
# both less the part after the job's last boundary that their runs measured
# (the machine's lateness: deploy_e2e.sh, plan log `finish ID JCT LATE`).
# usage: deploy_worker_drills.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
tmp=$(mktemp -d)
pids=()
cleanup() { # stop, then wait before removing: a stopping job may still write its checkpoint
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v '\[debug\]' "$tmp/dep.err" | tail -30; exit 1; }
cluster() { # servers
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = %d\ngpus_per_server = 8\n' "$1"
    printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n'
}
standin="{synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
# -readonly: a query must not create the file before the scheduler does (an empty
# state file is refused)
sql() { sqlite3 -readonly "$tmp/state.db" "$1"; }
check_counts() { # every job finished, having executed exactly its total
    [ "$(sql "select count(*) from jobs where state != 'finished' or executed != total")" = 0 ] ||
        fail "a job did not finish, or was credited more or less than its total: $(sql "select id, state, executed, total from jobs")"
}
# start_deploy TRACE SERVERS [flags]: a scheduler for SERVERS workers on 127.0.0.1 (rows with
# port 0: each worker claims its row with --server-id); sets $port
start_deploy() {
    local trace=$1 servers=$2
    shift 2
    cluster "$servers" > "$tmp/c.ini"
    for ((i = 0; i < servers; i++)); do echo "127.0.0.1,0,0,0,1"; done > "$tmp/workers"
    "$bin" deploy --trace "$trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
        --state "$tmp/state.db" --json "$@" > "$tmp/dep.json" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    port=
    for _ in $(seq 200); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
        [ -n "$port" ] && break; sleep 0.05
    done
    [ -n "$port" ] || fail "deploy did not say where it listens"
}
start_worker() { # I [flags]: worker for row I; sets $wpid
    local i=$1
    shift
    "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --server-id "$i" --port 0 --gpus 8 \
        --catalog "$tmp/catalog.ini" --run-dir "$tmp/w$i" "$@" 2>> "$tmp/w$i.err" &
    wpid=$!; pids+=("$wpid")
}

case $case in
rundir)
    # a worker started with a relative --run-dir (its default, synergy-run,
    # is one): the job runs in the run directory, and the paths it is handed
    # (checkpoint directory, HOME, log directory) must hold from there
    cp "$src/tests/deploy/catalog.ini" "$tmp/catalog.ini"
    printf '0,alexnet,0,1500,1\n' > "$tmp/trace"
    start_deploy "$tmp/trace" 1 --time-scale 500
    mkdir "$tmp/cwd"
    (cd "$tmp/cwd" && exec "$bin" worker --insecure --job-user "$(id -un)" \
        --scheduler "127.0.0.1:$port" --server-id 0 --port 0 --gpus 8 \
        --catalog "$tmp/catalog.ini" --run-dir rel 2>> "$tmp/w0.err") &
    wpid=$!; pids+=("$wpid")
    wait "$dep" || fail "deploy failed"
    grep -q '"jobs_finished":1,' "$tmp/dep.json" || fail "the job did not finish"
    check_counts
    chk=$tmp/cwd/rel/checkpoints/job_id=0/progress
    [ -f "$chk" ] || { find "$tmp/cwd" -name progress; fail "no checkpoint at $chk"; }
    [ "$(cat "$chk")" = 1500 ] || fail "the checkpoint says $(cat "$chk"), not 1500"
    env=$(ls "$tmp"/cwd/rel/logs/job-0-attempt-1.log) || fail "no job log under the run directory"
    echo "checkpoint $chk: $(cat "$chk")"
    ;;
grandchild)
    { echo "[alexnet]"; echo "argv = $standin --spawn-daemon $tmp/daemons-{job_id}"; } > "$tmp/catalog.ini"
    printf '0,alexnet,0,1000,1\n' > "$tmp/trace"
    start_deploy "$tmp/trace" 1 --time-scale 500
    start_worker 0 --no-cgroup -v
    wait "$dep" || fail "deploy failed"
    grep -q '"jobs_finished":1,' "$tmp/dep.json" || fail "the job did not finish"
    kill -0 "$wpid" 2>/dev/null || fail "the worker is gone: this drill needs it running"
    [ "$(wc -l < "$tmp/daemons-0")" = 2 ] || fail "the job did not leave its two daemons"
    for d in $(cat "$tmp/daemons-0"); do
        gone=
        for _ in $(seq 60); do
            if ! kill -0 "$d" 2>/dev/null || grep -q '^State:.*Z' "/proc/$d/status" 2>/dev/null; then
                gone=1; break
            fi
            sleep 0.05
        done
        [ -n "$gone" ] || { ps -o pid,ppid,sid,pgid,args -p "$d" || true
                            fail "pid $d, daemonised by job 0, outlived it"; }
    done
    grep -q "left behind by job 0 attempt 1" "$tmp/w0.err" || fail "no kill of the tagged daemon logged"
    grep -q "an orphan of no running job" "$tmp/w0.err" || fail "no kill of the untagged daemon logged"
    grep -q "memory limit not enforced" "$tmp/w0.err" || fail "the job ran in a cgroup"
    check_counts
    ;;
contain|contain_nocg)
    # a job leaves two daemonised grandchildren (setsid + double fork; one
    # keeps the job's environment, one execs sleep with an empty one); its
    # worker is SIGKILLed, so nothing kills them then; the worker restarted
    # on the same run directory must, before it registers: from the job's
    # cgroup (contain), or without one (contain_nocg, --no-cgroup) from what
    # it noted in the run directory and the jobs' environment
    nocg=; [ "$case" = contain_nocg ] && nocg=--no-cgroup
    { echo "[alexnet]"; echo "argv = $standin --spawn-daemon $tmp/daemons-{job_id}"; } > "$tmp/catalog.ini"
    printf '0,alexnet,0,12000,1\n' > "$tmp/trace"
    start_deploy "$tmp/trace" 1 --time-scale 500 --worker-timeout-ms 1000
    start_worker 0 $nocg -v; w0=$wpid
    for _ in $(seq 200); do [ "$(wc -l < "$tmp/daemons-0" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
    [ "$(wc -l < "$tmp/daemons-0" 2>/dev/null)" = 2 ] || fail "the job did not leave its two daemons"
    daemons=$(cat "$tmp/daemons-0"); pids+=($daemons)
    if [ -z "$nocg" ]; then
        # this machine's cgroup v2, if writable, must be used
        cg=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
        if [ -n "$cg" ] && mkdir "$cg/synergy-drill-probe-$$" 2>/dev/null; then
            rmdir "$cg/synergy-drill-probe-$$"
            grep -q "jobs are contained in cgroups under $cg/synergy-server-0-" "$tmp/w0.err" ||
                fail "a writable cgroup v2 at $cg, but the jobs are not in cgroups"
            grep -q "job 0 attempt 1: pid .* in its cgroup" "$tmp/w0.err" || fail "job 0 is not in its cgroup"
            echo "jobs in cgroups under $cg"
        else
            echo "no writable cgroup v2 here: the process-group path is what this machine offers"
        fi
    fi
    # a second worker on the same run directory would sweep the first one's jobs
    rc=0
    timeout 20 "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" \
        --server-id 0 --port 0 --gpus 8 --catalog "$tmp/catalog.ini" --run-dir "$tmp/w0" \
        2> "$tmp/second.err" || rc=$?
    [ $rc = 2 ] && grep -q "^synergy worker: --run-dir $tmp/w0 is in use by another worker (pid $w0)" \
        "$tmp/second.err" || { cat "$tmp/second.err"; fail "a second worker on a run directory in use: exit $rc"; }
    sleep 1  # the worker notes what it adopted at its heartbeats
    kill -9 "$w0"
    sleep 0.5
    for d in $daemons; do kill -0 "$d" 2>/dev/null || fail "daemon $d died with the worker: not a test"; done
    echo "worker SIGKILLed; its job's daemons $(echo $daemons) still run"
    : > "$tmp/w0.err"
    start_worker 0 $nocg -v   # the same row and run directory
    for d in $daemons; do
        gone=
        for _ in $(seq 200); do
            if ! kill -0 "$d" 2>/dev/null || grep -q '^State:.*Z' "/proc/$d/status" 2>/dev/null; then
                gone=1; break
            fi
            sleep 0.05
        done
        [ -n "$gone" ] || { ps -o pid,ppid,sid,pgid,args -p "$d" || true
                            fail "pid $d, left by the killed worker's job, survived its restart"; }
    done
    for _ in $(seq 100); do grep -q "left by an earlier worker" "$tmp/w0.err" && break; sleep 0.05; done
    grep -q "killed [0-9]* process(es) left by an earlier worker on $tmp/w0" "$tmp/w0.err" ||
        fail "the restarted worker did not say what it killed"
    grep "left by an earlier worker" "$tmp/w0.err"
    wait "$dep" || fail "deploy failed"
    grep -q '"jobs_finished":1,' "$tmp/dep.json" || fail "the job did not finish"
    check_counts
    ;;
ranks)
    { echo "[res18]"; echo "argv = $standin --ranks"; echo "ranks = per-gpu"
      echo "[alexnet]"; echo "argv = $standin"; } > "$tmp/catalog.ini"
    # one 8-GPU server: the 2-GPU job runs alone, then shares with the
    # 1-GPU job; LAS ranks by attained service, so the 2-GPU job is extended
    # and preempted (every rank must be told alike)
    printf '0,res18,0,6000,2\n1,alexnet,600,3000,8\n' > "$tmp/trace"
    start_deploy "$tmp/trace" 1 --time-scale 250 --policy LAS
    start_worker 0
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":2,' "$tmp/dep.json" || fail "both jobs should finish"
    check_counts
    logs=$(ls "$tmp"/w0/logs/job-0-attempt-*.log)
    # (grep reads the logs itself: under pipefail, cat | grep -q fails when
    # grep stops early and cat gets SIGPIPE)
    grep -q "job 0 rank 1: resuming" $logs || fail "job 0 did not run two ranks"
    # per attempt and round: both ranks saw the same budget and the same answer
    for l in $logs; do
        for r in 0 1; do
            sed -n "s/^synergy job 0 rank $r: round \([0-9]*\) budget \([0-9]*\) answer \(.*\)/\1 \2 \3/p" "$l" \
                > "$tmp/r$r"
        done
        [ -s "$tmp/r0" ] || fail "rank 0 logged no round in $l"
        diff "$tmp/r0" "$tmp/r1" > /dev/null ||
            { diff "$tmp/r0" "$tmp/r1"; fail "the ranks saw different budgets or answers ($l)"; }
    done
    grep -hq "answer extend" $logs || fail "no lease extension seen by the ranks"
    grep -hq "answer stop" $logs || fail "no preemption seen by the ranks"
    ;;
restart|sigstop)
    cp "$src/tests/deploy/catalog.ini" "$tmp/catalog.ini"
    # 4 jobs x 4 GPUs on 2 servers x 8: with server 0 gone, two of them wait
    printf '0,alexnet,0,8000,4\n1,res18,0,8000,4\n2,alexnet,0,8000,4\n3,res18,0,8000,4\n' > "$tmp/trace"
    # the undisturbed deployment, on workers of its own, for the JCTs
    cluster 2 > "$tmp/c.ini"
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 2 --time-scale 500 \
        --catalog "$tmp/catalog.ini" --run-dir "$tmp/und" --state "$tmp/und.db" --json \
        --plan-log "$tmp/und.plan" > "$tmp/und.json" 2> "$tmp/und.err" ||
        fail "the undisturbed deployment failed"
    # id, JCT less its measured lateness (the plan log's `finish ID JCT LATE`)
    plan_jct() { awk '$1 == "finish" { print $2, $3 - $4 }' "$1" | sort -n; }
    plan_jct "$tmp/und.plan" > "$tmp/und.jct"
    start_deploy "$tmp/trace" 2 --time-scale 500 --worker-timeout-ms 1000 -v \
        --plan-log "$tmp/dep.plan"
    start_worker 0 -v; w0=$wpid
    start_worker 1 -v
    for _ in $(seq 200); do
        ls "$tmp/w0/logs" 2>/dev/null | grep -q . && break; sleep 0.05
    done
    sleep 1
    t_down=$(date +%s.%N)
    if [ "$case" = restart ]; then
        kill -9 "$w0"
    else
        kill -STOP "$w0"
    fi
    for _ in $(seq 100); do grep -q "server 0 .* lost" "$tmp/dep.err" && break; sleep 0.05; done
    grep -q "server 0 .* lost" "$tmp/dep.err" || fail "server 0 was not declared lost"
    if [ "$case" = restart ]; then
        : > "$tmp/w0.err"
        start_worker 0 -v     # a new process, a new port, the same row
    else
        sleep 1
        kill -CONT "$w0"
    fi
    # the downtime ends when the worker is back in planning
    for _ in $(seq 400); do
        grep -q "server 0 is back after being lost" "$tmp/dep.err" && break; sleep 0.025
    done
    t_up=$(date +%s.%N)
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":4,' "$tmp/dep.json" || fail "every job should finish"
    grep -q '"jobs_failed":0,' "$tmp/dep.json" || fail "no job may fail"
    check_counts
    grep -q "server 0 is back after being lost" "$tmp/dep.err" || fail "server 0 did not rejoin"
    # its capacity came back: the rejoined worker launched jobs again
    if [ "$case" = restart ]; then
        grep -q "job [0-9]* attempt [0-9]*: pid" "$tmp/w0.err" ||
            fail "no job ran on the restarted worker"
    else
        grep -q "registered again as server 0" "$tmp/w0.err" ||
            fail "the stopped worker did not register again"
        awk '/registered again as server 0/ { back = 1 } back && /job [0-9]* attempt [0-9]*: pid/ { ran = 1 }
             END { exit !ran }' "$tmp/w0.err" || fail "no job ran on the worker after it came back"
    fi
    # every job: JCT within 5 % of the undisturbed deployment's plus the
    # downtime (kill or stop -> the worker back in planning) on the logical
    # clock, and never below it, both less their runs' measured lateness
    down=$(awk -v a="$t_down" -v b="$t_up" 'BEGIN { print b - a }')
    echo "downtime $down s wall"
    plan_jct "$tmp/dep.plan" > "$tmp/dep.jct"
    join "$tmp/und.jct" "$tmp/dep.jct" | awk -v dt="$down" -v k=500 '
        { lim = ($2 + dt * k) * 1.05; n++
          printf "job %d: JCT %.0f s with the fault, %.0f s undisturbed, limit %.0f s (lateness aside)\n", $1, $3, $2, lim
          if ($3 > lim || $3 < $2 * 0.95) bad++ }
        END { exit !(n == 4 && bad == 0) }' ||
        fail "a JCT is not within 5 % of the undisturbed deployment plus the downtime"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "ok: $case"
