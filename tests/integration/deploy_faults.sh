#!/usr/bin/env bash
# Deployment faults on loopback, each run to completion:
#  crash   a job that crashes once is reported, freed and relaunched from its
#          last reported progress, and the end of its log (its last words on
#          stderr) is in the scheduler's log; one that always crashes, and one whose
#          model is not in the worker's catalog (RunJob refused), are failed
#          after --max-retries; the others finish.
#  stop    a job that ignores the end of its lease and SIGTERM gets SIGTERM at
#          lease expiry and SIGKILL after the kill-wait (0.3 s, not before),
#          and is charged a retry (not a crash), and the run goes on.
#  worker  a worker killed with SIGKILL is detected within a bounded time and
#          its jobs finish on the other worker.
#  allow   a worker whose address is not in the workers file is refused; one
#          listening on a listed address is accepted although it calls from
#          another address (127.0.0.1).
# In every case no job is lost or counted twice (the scheduler's executed
# count equals the job's total, from the SQLite state).
# usage: deploy_faults.sh SYNERGY SRCDIR CASE
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
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && tail -30 "$tmp/dep.err"; exit 1; }
cluster() { # servers
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = %d\ngpus_per_server = 8\n' "$1"
    printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n'
}
standin="{synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
# -readonly: a query must not create the file before the scheduler does (an empty
# state file is refused)
sql() { sqlite3 -readonly "$tmp/state.db" "$1"; }
check_counts() { # every finished job executed exactly its total
    [ "$(sql "select count(*) from jobs where state='finished' and executed != total")" = 0 ] ||
        fail "a finished job was credited more or less than its total"
}

case $case in
crash)
    cluster 1 > "$tmp/c.ini"
    mkdir "$tmp/markers"
    { echo "[res18]"; echo "argv = $standin --crash-once $tmp/markers"
      echo "[gnmt]"; echo "argv = $standin --crash-always"
      echo "[alexnet]"; echo "argv = $standin"; } > "$tmp/catalog.ini"
    printf '0,res18,0,2000,1\n1,gnmt,0,20000,1\n2,m5,0,2000,1\n3,alexnet,0,3000,1\n' > "$tmp/trace"
    rc=0
    timeout 120 "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 1 \
        --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" --state "$tmp/state.db" \
        --time-scale 1000 --max-retries 2 --json > "$tmp/dep.json" 2> "$tmp/dep.err" || rc=$?
    cat "$tmp/dep.json"
    [ $rc = 1 ] || fail "deploy should report an incomplete run (exit 1), got $rc"
    grep -q '"jobs_finished":2,' "$tmp/dep.json" || fail "jobs 0 and 3 should finish"
    grep -q '"jobs_failed":2,' "$tmp/dep.json" || fail "jobs 1 and 2 should fail"
    grep -q "job 2 refused by server 0: RunJob: status 5: model 'm5' is not in this worker's catalog" \
        "$tmp/dep.err" || fail "the RunJob for m5 should be refused by the catalog"
    [ "$(sql "select state from jobs where id=1")" = failed ] || fail "job 1 not failed"
    [ "$(sql "select attempt from jobs where id=1")" = 3 ] || fail "job 1: 1 + 2 retries"
    [ "$(sql "select state from jobs where id=0")" = finished ] || fail "job 0 not finished"
    log=$tmp/run/worker-0/logs
    crashed_at=$(sed -n 's/.*crashing on purpose at \([0-9]*\)/\1/p' "$log/job-0-attempt-1.log")
    resumed_at=$(sed -n 's/.*resuming at \([0-9]*\) of.*/\1/p' "$log/job-0-attempt-2.log")
    [ -n "$crashed_at" ] && [ "$crashed_at" -gt 0 ] || fail "job 0 did not crash as asked"
    # the cause reaches the scheduler's log, not only the worker's job log
    grep -q "job 0 crashed on server 0 (signal 6); the end of its log:" "$tmp/dep.err" ||
        fail "the crash report does not bring the end of the job's log"
    grep -q "job 0 log: synergy job 0: crashing on purpose at $crashed_at" "$tmp/dep.err" ||
        fail "the scheduler's log lacks the job's last words"
    grep -c "job 1 log: synergy job 1: crashing on purpose" "$tmp/dep.err" | grep -qx 3 ||
        fail "job 1's three crashes do not each bring its last words"
    [ "$resumed_at" = "$crashed_at" ] ||
        fail "job 0 resumed at $resumed_at, its last reported progress was $crashed_at"
    [ "$(cat "$tmp/run/worker-0/checkpoints/job_id=0/progress")" = 2000 ] ||
        fail "job 0's checkpoint does not show its total"
    check_counts
    ;;
stop)
    cluster 1 > "$tmp/c.ini"
    { echo "[transformer]"; echo "argv = $standin --ignore-stop --ignore-sigterm"
      echo "[alexnet]"; echo "argv = $standin"; } > "$tmp/catalog.ini"
    # LAS: job 1 arrives with no service and preempts job 0, which ignores it
    printf '0,transformer,0,2000,8\n1,alexnet,400,1000,8\n' > "$tmp/trace"
    timeout 120 "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 1 \
        --policy LAS --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" --kill-wait 300 \
        --state "$tmp/state.db" --time-scale 1000 --json \
        > "$tmp/dep.json" 2> "$tmp/dep.err" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":2,' "$tmp/dep.json" || fail "both jobs should finish"
    grep -Eq '"lease_kills":[1-9]' "$tmp/dep.json" || fail "no job was killed at lease expiry"
    # SIGTERM first; the job ignores it, so SIGKILL after the kill-wait:
    # 300 s / 1000 = 0.3 s, never before
    grep -q "job 0 attempt 1: lease expired: SIGTERM to process group [0-9]*, SIGKILL in 0.300 s" \
        "$tmp/dep.err" || fail "no SIGTERM at lease expiry"
    after=$(sed -n 's/.*job 0 attempt 1: still running \([0-9.]*\) s after SIGTERM: SIGKILL.*/\1/p' \
            "$tmp/dep.err" | head -1)
    [ -n "$after" ] || fail "job 0 ignored SIGTERM but was not SIGKILLed"
    awk -v a="$after" 'BEGIN { exit !(a >= 0.3 && a < 3) }' ||
        fail "SIGKILL came $after s after SIGTERM, not after the 0.3 s kill-wait"
    echo "job 0 ignored SIGTERM: SIGKILL $after s after it (kill-wait 0.3 s)"
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "a lease kill is not a crash"
    grep -q '"stops_ignored":1,' "$tmp/dep.json" || fail "job 0 should be charged for its stop"
    check_counts
    ;;
worker)
    cluster 2 > "$tmp/c.ini"
    p0=$(( 20000 + RANDOM % 20000 )); p1=$(( p0 + 1 ))
    printf '127.0.0.1,%d,0,0,1\n127.0.0.1,%d,0,0,1\n' "$p0" "$p1" > "$tmp/workers"
    printf '0,alexnet,0,6000,4\n1,res18,0,6000,4\n' > "$tmp/trace"
    port=$(( p0 + 2 ))
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
        --port "$port" --state "$tmp/state.db" --time-scale 1000 --worker-timeout-ms 1000 \
        --json > "$tmp/dep.json" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    for i in 0 1; do
        "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --port $(( p0 + i )) --gpus 8 \
            --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w$i" 2> "$tmp/w$i.err" &
        pids+=($!)
    done
    w0=${pids[1]}
    # wait until server 0 runs jobs, then kill it
    for _ in $(seq 100); do
        ls "$tmp/w0/logs" 2>/dev/null | grep -q . && break; sleep 0.1
    done
    sleep 1
    kill -9 "$w0"
    t_kill=$(date +%s.%N)
    for _ in $(seq 100); do grep -q "server 0 .* lost" "$tmp/dep.err" && break; sleep 0.05; done
    t_lost=$(date +%s.%N)
    grep -q "server 0 .* lost" "$tmp/dep.err" || fail "the killed worker was not detected"
    awk -v a="$t_kill" -v b="$t_lost" 'BEGIN { exit !(b - a < 3.0) }' ||
        fail "detection took more than 3 s"
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":2,' "$tmp/dep.json" || fail "both jobs should finish"
    grep -q '"workers_lost":1,' "$tmp/dep.json" || fail "one worker should be lost"
    ls "$tmp/w1/logs" | grep -q "job-" || fail "no job moved to server 1"
    check_counts
    ;;
allow)
    cluster 1 > "$tmp/c.ini"
    port=$(( 20000 + RANDOM % 20000 ))
    printf '127.0.0.2,%d,0,0,1\n' $(( port + 1 )) > "$tmp/workers"
    printf '0,alexnet,0,100,1\n' > "$tmp/trace"
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
        --port "$port" --time-scale 1000 --json > "$tmp/dep.json" 2> "$tmp/dep.err" &
    pids+=($!)
    # a worker on 127.0.0.1 is not in the workers file
    rc=0
    timeout 20 "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --port $(( port + 1 )) --gpus 8 \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w" 2> "$tmp/w.err" || rc=$?
    cat "$tmp/w.err"
    [ $rc = 1 ] || fail "the worker should have been refused (exit 1), got $rc"
    grep -q "refused the registration: 127.0.0.1:$(( port + 1 )) is not in the workers file" \
        "$tmp/w.err" || fail "wrong refusal"
    # the listed worker listens on 127.0.0.2 but calls from 127.0.0.1: a worker
    # is the row of the address it listens on, so it is accepted and runs the job
    timeout 60 "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --listen 127.0.0.2 \
        --port $(( port + 1 )) --gpus 8 --catalog "$src/tests/deploy/catalog.ini" \
        --run-dir "$tmp/w2" 2> "$tmp/w2.err" &
    pids+=($!)
    wait "${pids[0]}" || fail "deploy failed with the worker on 127.0.0.2"
    grep -q '"jobs_finished":1,' "$tmp/dep.json" || fail "the job did not finish"
    grep -q "listening on 127.0.0.1 port $port" "$tmp/dep.err" || fail "no listening line"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "ok: $case"
