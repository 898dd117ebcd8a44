#!/usr/bin/env bash
# How a deployment starts and ends, as its user sees it (issue 13):
#  waiting   defect 12: a deploy with no worker connected says so every few
#            seconds without -v, naming the missing servers; a worker whose
#            scheduler is down says so periodically too, and still stops on
#            SIGTERM (it ignored it until the scheduler answered).
#  shutdown  defect 17: a `deploy --local 2` interrupted with SIGINT leaves no
#            worker (or job) process behind shortly after; a deploy that runs
#            to its normal end prints no "Connection refused" and no warning
#            from its workers.
#  measure   deploy --measure LO:HI measures those ids only (JSON, --jobs-csv).
#  missing   issue 21: a service with a worker of its workers file not running
#            keeps serving and plans that server once it registers.
#  logformat issue 21 (finding 12): deploy's and its workers' log lines start
#            with an RFC 3339 UTC time (within 10 s of the test's clock); with
#            stderr the journal ($JOURNAL_STREAM names it) a syslog priority
#            (<4> warn, <6> info) and no time; --log-format plain neither;
#            an unknown format is one line and exit 2.
# usage: deploy_lifecycle.sh SYNERGY SRCDIR CASE
set -uo pipefail
bin=$1 src=$2 case=$3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done; exit 1; }
cluster() { # servers
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = %d\ngpus_per_server = 8\n' "$1"
    printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n'
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for FILE PATTERN COUNT SECONDS: until FILE has COUNT lines matching
wait_for() {
    local i
    for ((i = 0; i < $4 * 10; i++)); do
        [ "$(grep -cF -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
# gone PID SECONDS: the process has exited within SECONDS
gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

case $case in
waiting)
    cluster 2 > "$tmp/c.ini"
    p1=$(free_port) p2=$(free_port)
    printf '127.0.0.1,%s,0,0,1\n127.0.0.1,%s,0,0,1\n' "$p1" "$p2" > "$tmp/w.csv"
    "$bin" deploy --cluster "$tmp/c.ini" --trace "$src/tests/deploy/single_job_trace" \
        --workers "$tmp/w.csv" --insecure --time-scale 500 2> "$tmp/dep.err" &
    pids+=($!)
    want="waiting for workers: 0 of 2 registered (missing: server 0 at 127.0.0.1:$p1, server 1 at 127.0.0.1:$p2)"
    wait_for "$tmp/dep.err" "$want" 2 30 || fail "deploy did not say twice: '$want'"
    kill -TERM "${pids[0]}"
    gone "${pids[0]}" 10 || fail "deploy did not stop on SIGTERM"

    sp=$(free_port)
    "$bin" worker --scheduler "127.0.0.1:$sp" --port 0 --server-id 0 --gpus 8 \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run" --insecure \
        --job-user "$(id -un)" 2> "$tmp/worker.err" &
    wpid=$!
    pids+=($wpid)
    want="scheduler at 127.0.0.1:$sp unreachable for"
    wait_for "$tmp/worker.err" "$want" 2 40 || fail "the worker did not say twice: '$want'"
    grep -F -- "$want" "$tmp/worker.err" | head -1 | grep -q "Connection refused); retrying" ||
        fail "the worker's line does not give the reason"
    kill -TERM $wpid
    gone $wpid 10 || fail "a worker waiting for its scheduler ignored SIGTERM"
    wait $wpid; rc=$?
    [ $rc = 0 ] || fail "the worker stopped by SIGTERM exited $rc"
    ;;
shutdown)
    cluster 2 > "$tmp/c.ini"
    # normal ends: three short runs of 4 jobs on 2 local workers; a 10 ms
    # heartbeat makes any moment between the scheduler going away and its
    # workers stopping show as an unreachable scheduler (1 run in 5 at 200 ms)
    printf '0,alexnet,0,1500,1\n1,deepspeech,0,900,2\n2,alexnet,300,600,1\n3,gnmt,300,400,1\n' \
        > "$tmp/t4"
    for run in 1 2 3; do
        timeout 120 "$bin" deploy --cluster "$tmp/c.ini" --trace "$tmp/t4" --local 2 \
            --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run$run" \
            --time-scale 300 --heartbeat-ms 10 > "$tmp/end$run.out" 2> "$tmp/end$run.err" ||
            fail "run $run: deploy exited $?"
        grep -q "4 of 4 jobs finished" "$tmp/end$run.out" || fail "run $run: not every job finished"
        ! grep -i -E "connection refused|unreachable|retrying" "$tmp/end$run.err" ||
            fail "run $run: warnings at the normal end"
        ! pgrep -f -- "$tmp/run$run/" > /dev/null || fail "run $run: processes outlive the deploy"
    done
    # Ctrl-C: SIGINT to the deploy's whole process group, as a terminal sends
    # it: as soon as it listens (workers registering), half a second later,
    # and while both jobs run. Then nothing of it may remain, and no worker
    # may complain about its scheduler on the way out.
    printf '0,alexnet,0,200000,1\n1,gnmt,0,200000,1\n' > "$tmp/long"
    for phase in listening settled running; do
        run=$tmp/run-$phase
        set -m
        "$bin" deploy --cluster "$tmp/c.ini" --trace "$tmp/long" --local 2 \
            --catalog "$src/tests/deploy/catalog.ini" --run-dir "$run" --time-scale 50 \
            > "$tmp/$phase.out" 2> "$tmp/$phase.err" &
        dep=$!
        set +m
        pids+=($dep)
        wait_for "$tmp/$phase.err" "listening on" 1 60 || fail "$phase: deploy does not listen"
        case $phase in
        settled) sleep 0.5 ;;
        running)
            for ((i = 0; i < 600; i++)); do # both jobs running (their logs say so)
                [ "$(cat "$run"/worker-*/logs/job-*-attempt-1.log 2>/dev/null | grep -c resuming)" -ge 2 ] &&
                    break
                sleep 0.1
            done
            [ $i -lt 600 ] || fail "the jobs did not start"
            pgrep -f -- "$run/" > /dev/null || fail "no worker or job process found before the interrupt"
            ;;
        esac
        kill -INT -- -$dep
        gone $dep 15 || fail "$phase: deploy did not stop on SIGINT"
        wait $dep; rc=$?
        [ $rc = 130 ] || fail "$phase: an interrupted deploy exited $rc, not 130 (SIGINT)"
        gone_all=0
        for ((i = 0; i < 30; i++)); do
            pgrep -f -- "$run/" > /dev/null || { gone_all=1; break; }
            sleep 0.1
        done
        [ $gone_all = 1 ] || fail "$phase: processes outlive the interrupted deploy: $(pgrep -af -- "$run/")"
        ! grep -i -E "connection refused|unreachable|retrying" "$tmp/$phase.err" ||
            fail "$phase: workers complained about their scheduler while being stopped"
    done
    ;;
measure)
    # deploy --measure LO:HI (issue 13: it was listed in deploy --help, but
    # refused): only ids [LO, HI) are measured, in the JSON summary and in
    # --jobs-csv, while every job still runs; a window the trace does not
    # hold is an error, as for simulate
    cluster 2 > "$tmp/c.ini"
    printf '0,alexnet,0,1500,1\n1,deepspeech,0,900,2\n2,alexnet,300,600,1\n3,gnmt,300,400,1\n' \
        > "$tmp/t4"
    timeout 120 "$bin" deploy --cluster "$tmp/c.ini" --trace "$tmp/t4" --local 2 \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run" --time-scale 300 \
        --measure 1:3 --json --jobs-csv "$tmp/jobs.csv" > "$tmp/m.json" 2> "$tmp/m.err" ||
        fail "deploy --measure exited $?"
    grep -q '"jobs_finished":4,"jobs_measured":2,"window_complete":true' "$tmp/m.json" ||
        fail "not 4 jobs run and 2 measured: $(cat "$tmp/m.json")"
    [ "$(cut -d, -f3 "$tmp/jobs.csv" | tail -n +2 | tr '\n' ' ')" = "1 2 " ] ||
        fail "--jobs-csv does not hold exactly jobs 1 and 2: $(cat "$tmp/jobs.csv")"
    avg=$(sed -n 's/.*"avg_jct_h":\([0-9.]*\).*/\1/p' "$tmp/m.json")
    want=$(awk -F, 'NR > 1 { s += $9; n++ } END { printf "%.6f", s / n / 3600 }' "$tmp/jobs.csv")
    [ "$(printf '%.6f' "$avg")" = "$want" ] || fail "avg JCT $avg h, the measured jobs' mean is $want h"
    out=$("$bin" deploy --cluster "$tmp/c.ini" --trace "$tmp/t4" --local 2 --measure 3:9 2>&1); rc=$?
    [ $rc = 2 ] && [[ $out == *"--measure 3:9: $tmp/t4 has 1 of these 6 job ids (its ids are 0..3)"* ]] ||
        fail "a window outside the trace: exit $rc, '$out'"
    out=$("$bin" deploy --cluster "$tmp/c.ini" --trace "$tmp/t4" --local 2 --measure 5 2>&1); rc=$?
    [ $rc = 2 ] && [[ $out == *"--measure: '5' must be LO:HI"* ]] || fail "--measure 5: exit $rc, '$out'"
    ;;
missing)
    # issue 21, finding 10: a service (no --trace) with 2 workers in its
    # workers file and only worker 0 running keeps serving (it died after
    # 30 s of --wait-workers): it takes submissions at once, runs a job on
    # server 0, shows server 1 unregistered, and plans the second job there
    # once worker 1 registers (job 1 on server 0 runs until cancelled)
    cluster 2 > "$tmp/c.ini"
    sp=$(free_port) p1=$(free_port) p2=$(free_port)
    printf '127.0.0.1,%s,0,0,1\n127.0.0.1,%s,0,0,1\n' "$p1" "$p2" > "$tmp/w.csv"
    "$bin" deploy --cluster "$tmp/c.ini" --workers "$tmp/w.csv" --insecure --port "$sp" \
        --time-scale 500 > "$tmp/dep.out" 2> "$tmp/dep.err" &
    dep=$!
    pids+=($dep)
    worker() { # N PORT
        "$bin" worker --scheduler "127.0.0.1:$sp" --port "$2" --gpus 8 \
            --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run$1" --insecure \
            --job-user "$(id -un)" 2> "$tmp/worker$1.err" &
        pids+=($!)
    }
    worker 0 "$p1"
    adm() { "$bin" "$1" --scheduler "127.0.0.1:$sp" --insecure "${@:2}"; }
    st() { # the state of job $1
        adm queue --all --json | /usr/bin/python3 -c "import json,sys; print([j['state'] for j in json.load(sys.stdin)['jobs'] if j['id']==$1][0])"
    }
    a=
    for ((i = 0; i < 100; i++)); do
        a=$(adm submit --model alexnet --gpus 8 --iterations 1000000 2>/dev/null) && break
        sleep 0.1
    done
    [ "$a" = 1 ] || fail "no submission taken within 10 s: $(tail -3 "$tmp/dep.err")"
    b=$(adm submit --model alexnet --gpus 8 --iterations 1500) || fail "second submission"
    for ((i = 0; i < 100; i++)); do [ "$(st 1)" = running ] && break; sleep 0.1; done
    [ "$(st 1)" = running ] || fail "job 1 does not run on server 0"
    nodes=$(adm nodes --json) || fail "nodes"
    /usr/bin/python3 -c "
import json, sys
n = {x['server']: x['state'] for x in json.loads(sys.argv[1])['nodes']}
assert n == {0: 'up', 1: 'unregistered'}, n" "$nodes" || fail "nodes: $nodes"
    [ "$(st 2)" = queued ] || fail "job 2 is $(st 2), not queued for the missing server"
    kill -0 $dep 2>/dev/null || fail "deploy died with a worker missing"
    worker 1 "$p2"
    for ((i = 0; i < 200; i++)); do [ "$(st 2)" != queued ] && break; sleep 0.1; done
    adm queue --all --json | grep -q '"id":2,.*"servers":"1:' || [ "$(st 2)" = finished ] ||
        fail "job 2 was not planned on server 1 once it registered: $(adm queue --all)"
    for ((i = 0; i < 300; i++)); do
        [ "$(st 2)" = finished ] && break
        sleep 0.1
    done
    [ "$(st 1)$(st 2)" = runningfinished ] || fail "jobs 1 and 2: $(st 1), $(st 2)"
    adm cancel 1 > /dev/null || fail "cancel 1"
    kill -TERM $dep
    gone $dep 15 || fail "deploy did not stop on SIGTERM"
    wait $dep; rc=$?
    [ $rc = 0 ] || fail "deploy exited $rc"
    grep -q "1 of 2 jobs finished" "$tmp/dep.out" || fail "$(cat "$tmp/dep.out")"
    ;;
logformat)
    # 100,000 planned CPUs a server: deploy warns at each registration (whatever this machine has)
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 2\ncpus_per_server = 100000\n' \
        > "$tmp/c.ini"
    warnl="deploy: server 0: the cluster INI plans 100000 CPUs per server"
    infol="worker: jobs run as"
    run() { # NAME [ENV=...] -- DEPLOY FLAGS: a local service until both lines are there
        local name=$1; shift
        local envs=()
        while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
        : > "$tmp/$name.err"
        if [ "${envs[0]:-}" = journal ]; then envs=("JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/$name.err")"); fi
        env "${envs[@]}" "$bin" deploy --local 1 --cluster "$tmp/c.ini" --time-scale 300 -v \
            --run-dir "$tmp/run-$name" --catalog "$src/tests/deploy/catalog.ini" "$@" \
            >/dev/null 2>> "$tmp/$name.err" &
        local dep=$!
        pids+=($dep)
        wait_for "$tmp/$name.err" "$warnl" 1 15 && wait_for "$tmp/$name.err" "$infol" 1 15 ||
            fail "$name: no warning and worker line"
        kill -TERM $dep
        gone $dep 10 || fail "$name: deploy did not stop"
    }
    stamp='^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z) '
    run rfc --
    for l in "\[warn\] $warnl" "\[info\] $infol"; do
        line=$(grep -E "$stamp$l" "$tmp/rfc.err" | head -1)
        [ -n "$line" ] || fail "rfc: no line '<time> $l'"
        t=$(date -u -d "$(sed -E "s/$stamp.*/\1/" <<< "$line" | tr T ' ' | tr -d Z)" +%s)
        skew=$(( $(date -u +%s) - t ))
        [ "$skew" -ge 0 ] && [ "$skew" -le 10 ] || fail "rfc: '$line' is ${skew} s from now"
        echo "rfc3339: $line"
    done
    run journal journal --
    grep -q "^<4>$warnl" "$tmp/journal.err" && grep -q "^<6>$infol" "$tmp/journal.err" ||
        fail "journal: no '<4>$warnl' and '<6>$infol'"
    grep -qE '^[0-9]{4}-|^\[' "$tmp/journal.err" && fail "journal: a line with a time or a [level]"
    echo "journal: $(grep -m1 "^<4>$warnl" "$tmp/journal.err")"
    run plain -- --log-format plain
    grep -q "^\[warn\] $warnl" "$tmp/plain.err" && grep -q "^\[info\] $infol" "$tmp/plain.err" ||
        fail "plain: no '[warn] $warnl' and '[info] $infol'"
    err=$("$bin" deploy --local 1 --cluster "$tmp/c.ini" --log-format syslog 2>&1); rc=$?
    [ $rc = 2 ] && [ "$(grep -c . <<< "$err")" = 1 ] && grep -q "log-format: 'syslog'" <<< "$err" ||
        fail "--log-format syslog: exit $rc: $err"
    echo "PASS: rfc3339 by default, journal priorities under the journal, plain on request"
    ;;
*)
    echo "usage: deploy_lifecycle.sh SYNERGY SRCDIR waiting|shutdown|measure|missing|logformat"; exit 2 ;;
esac
echo "deploy_lifecycle $case: ok"
