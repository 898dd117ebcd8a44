#!/usr/bin/env bash
# Graceful stops (issue 21, docs/real-jobs.md "How a job is stopped"): a
# catalog job (the stand-in, which traps SIGTERM: it saves its checkpoint,
# ends its lease and exits 0) gets SIGTERM, not SIGKILL, and resumes from the
# checkpoint it wrote then:
#  preempt  LAS preempts job 0, which ignores the protocol's stop (RoundEnd's
#           answer, --ignore-stop): at its lease's end its worker sends
#           SIGTERM; it writes its checkpoint and exits 0, is not charged, and
#           its next attempt resumes where the checkpoint says.
#  cancel   job 0, running and ignoring the protocol's stop, is cancelled
#           (synergy cancel): SIGTERM at its lease's end, its checkpoint
#           written, state cancelled, no crash.
#  worker   the worker running job 0 is stopped (SIGTERM, systemctl stop):
#           job 0 gets SIGTERM, saves and ends its lease (in the middle of a
#           round) or exits (waiting for RoundEnd's answer), the worker
#           reports the exit and ends; restarted, it runs job 0 again from the
#           checkpoint, with no charge.
#  python   the worker case with a real training loop through the Python
#           client (tests/python/numpy_job.py): SIGTERM runs its save hook; the
#           next attempt restores that state (same step, same loss).
# Every job ends with executed == total (cancelled: its checkpoint is what the
# scheduler credited), and the scheduler neither charges a crash nor gives a
# stopped job's GPUs away before it is gone.
# usage: deploy_stops.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v '\[debug\]' "$tmp/dep.err" | tail -30
         for f in "$tmp"/w*.err; do [ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }; done; exit 1; }
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
standin="{synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
{ echo "[transformer]"; echo "argv = $standin --ignore-stop"
  echo "[alexnet]"; echo "argv = $standin"; } > "$tmp/catalog.ini"
echo "127.0.0.1,0,0,0,1" > "$tmp/workers"
sql() { sqlite3 "$tmp/state.db" "$1"; }
# each case gives a kill-wait of 2 s wall (1000 s / 500, 3 s for the Python
# jobs' interpreters): the stopped jobs must be gone well within it, even on
# a loaded machine
start_deploy() { # flags...; sets $dep and $port
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
        --state "$tmp/state.db" --json "$@" > "$tmp/dep.json" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    port=
    for _ in $(seq 200); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
        [ -n "$port" ] && break; sleep 0.05
    done
    [ -n "$port" ] || fail "deploy did not say where it listens"
}
start_worker() { # sets $wpid; appends to w.err
    "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --server-id 0 \
        --port 0 --gpus 8 --catalog "$tmp/catalog.ini" --run-dir "$tmp/w" -v 2>> "$tmp/w.err" &
    wpid=$!; pids+=("$wpid")
}
logs=$tmp/w/logs
# the checkpoint job 0 wrote on SIGTERM in attempt A: its line in the job's log
saved_at() { # ATTEMPT
    sed -n 's/^synergy job 0: SIGTERM .*checkpoint at \([0-9]*\).*/\1/p' \
        "$logs/job-0-attempt-$1.log" 2>/dev/null | head -1
}
resumed_at() { # ATTEMPT
    sed -n 's/^synergy job 0: resuming at \([0-9]*\) of.*/\1/p' "$logs/job-0-attempt-$1.log" | head -1
}
finished_exactly() { # every job finished with executed == total
    [ "$(sql "select count(*) from jobs where state != 'finished' or executed != total")" = 0 ] ||
        fail "a job did not finish or was credited more or less than its total: $(sql "select id, state, executed, total from jobs")"
}

case $case in
preempt)
    # LAS: job 1 arrives with no service and preempts job 0 (8 GPUs each)
    printf '0,transformer,0,3000,8\n1,alexnet,400,1000,8\n' > "$tmp/trace"
    start_deploy --time-scale 500 --kill-wait 1000 --policy LAS
    start_worker
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":2,' "$tmp/dep.json" || fail "both jobs should finish"
    finished_exactly
    grep -q "job 0 attempt 1: lease expired: SIGTERM to process group" "$tmp/w.err" ||
        fail "job 0 got no SIGTERM at the end of its lease"
    grep -q "job 0 attempt 1: still running .* after SIGTERM" "$tmp/w.err" &&
        fail "job 0 saved on SIGTERM, yet was SIGKILLed"
    x=$(saved_at 1)
    [ -n "$x" ] || fail "job 0 wrote no checkpoint on SIGTERM"
    grep -q "^synergy job 0: SIGTERM after ignoring the end of its lease: checkpoint at $x" \
        "$logs/job-0-attempt-1.log" || fail "job 0's SIGTERM line"
    [ "$(resumed_at 2)" = "$x" ] || fail "job 0 attempt 2 resumed at $(resumed_at 2), its checkpoint said $x"
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "a crash was charged"
    grep -q '"stops_ignored":0,' "$tmp/dep.json" || fail "a graceful stop on SIGTERM was charged"
    [ "$(sql "select crashes from saved_jobs where id=0")" = 0 ] || fail "job 0 was charged"
    echo "preempted: job 0 saved at $x on SIGTERM and attempt 2 resumed at $x"
    ;;
cancel)
    printf '0,transformer,0,30000,8\n' > "$tmp/trace"
    start_deploy --time-scale 500 --kill-wait 1000
    start_worker
    for _ in $(seq 200); do [ -f "$logs/job-0-attempt-1.log" ] && break; sleep 0.05; done
    sleep 1.5  # a few rounds in
    "$bin" cancel --scheduler "127.0.0.1:$port" --insecure 0 | grep -qx "cancelled 0" ||
        fail "cancel 0 refused"
    rc=0; wait "$dep" || rc=$?
    cat "$tmp/dep.json"
    [ $rc = 1 ] || fail "a run with a cancelled job is incomplete (exit 1), got $rc"
    [ "$(sql "select state from jobs where id=0")" = cancelled ] || fail "job 0 is not cancelled"
    grep -q "job 0 attempt 1: lease expired: SIGTERM to process group" "$tmp/w.err" ||
        fail "the cancelled job got no SIGTERM"
    x=$(saved_at 1)
    [ -n "$x" ] || fail "job 0 wrote no checkpoint on SIGTERM"
    [ "$(cat "$tmp/w/checkpoints/job_id=0/progress")" = "$x" ] || fail "the checkpoint file is not $x"
    [ "$(sql "select executed from jobs where id=0")" = "$x" ] ||
        fail "the scheduler credited $(sql "select executed from jobs where id=0"), the checkpoint says $x"
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "a crash was charged"
    echo "cancelled: job 0 saved at $x on SIGTERM, credited $x"
    ;;
worker)
    printf '0,alexnet,0,4000,1\n' > "$tmp/trace"
    start_deploy --time-scale 500 --kill-wait 1000 --worker-timeout-ms 1000 -v
    start_worker
    for _ in $(seq 200); do [ -f "$logs/job-0-attempt-1.log" ] && break; sleep 0.05; done
    sleep 1.2
    kill -TERM "$wpid"
    rc=0; timeout 20 tail --pid="$wpid" -f /dev/null || rc=$?
    [ $rc = 0 ] || fail "the worker did not stop within 20 s of SIGTERM"
    wait "$wpid" || fail "the worker's stop was not clean"
    grep -q "job 0 attempt 1: the worker is stopping: SIGTERM to process group" "$tmp/w.err" ||
        fail "the worker did not SIGTERM its job"
    x=$(saved_at 1)
    [ -n "$x" ] || fail "job 0 wrote no checkpoint on SIGTERM"
    grep "^synergy job 0: SIGTERM" "$logs/job-0-attempt-1.log"
    grep -q "job 0 attempt 1 exited: code 0" "$tmp/w.err" || fail "job 0 did not exit 0"
    start_worker  # the same row, again
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    grep -q '"jobs_finished":1,' "$tmp/dep.json" || fail "job 0 should finish"
    finished_exactly
    # the next attempt that ran (one sent to the stopped worker before the
    # scheduler knew it was gone never started: lost, not charged)
    next=$(ls "$logs" | sed -n 's/^job-0-attempt-\([0-9]*\)\.log$/\1/p' | sort -n | sed -n 2p)
    [ -n "$next" ] || fail "job 0 did not run again"
    [ "$(resumed_at "$next")" = "$x" ] ||
        fail "job 0 attempt $next resumed at $(resumed_at "$next"), its checkpoint said $x"
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "a crash was charged"
    [ "$(sql "select crashes from saved_jobs where id=0")" = 0 ] || fail "job 0 was charged"
    echo "worker stopped: job 0 saved at $x on SIGTERM and attempt $next resumed at $x"
    ;;
python)
    # the same with real training loops through the Python client
    # (tests/python/numpy_job.py): job 0's steps are quick (it spends most of
    # a round waiting for RoundEnd's answer), job 1's are slow (busy all its
    # round). SIGTERM runs each one's save hook; each next attempt restores
    # exactly that state (the same step and the same loss on a fixed set)
    py=/usr/bin/python3
    "$py" -c 'import grpc, google.protobuf, numpy' 2>/dev/null ||
        fail "python3 lacks grpcio, protobuf or numpy: run scripts/install-deps.sh"
    nj="$py $src/tests/python/numpy_job.py --chk-dir {chk_dir}"
    { echo "[res18]"; echo "argv = $nj"; echo "[alexnet]"; echo "argv = $nj --step-s 0.01"; } \
        > "$tmp/catalog.ini"
    printf '0,res18,0,3000,1\n1,alexnet,0,1000,1\n' > "$tmp/trace"
    # a kill-wait of 3 s wall: time for an interpreter to save and exit
    start_deploy --time-scale 100 --kill-wait 300 --worker-timeout-ms 1000 -v
    start_worker
    for _ in $(seq 400); do
        grep -q '^\(start\|resume\) ' "$logs/job-1-attempt-1.log" 2>/dev/null && break; sleep 0.05
    done
    sleep 2.5  # into their rounds
    kill -TERM "$wpid"
    rc=0; timeout 30 tail --pid="$wpid" -f /dev/null || rc=$?
    [ $rc = 0 ] || fail "the worker did not stop within 30 s of SIGTERM"
    start_worker
    wait "$dep" || fail "deploy failed"
    cat "$tmp/dep.json"
    finished_exactly
    grep -q '"crashes":0,' "$tmp/dep.json" || fail "a crash was charged"
    for j in 0 1; do
        grep -q "job $j attempt 1 exited: code 0" "$tmp/w.err" || fail "job $j did not exit 0"
        l1=$logs/job-$j-attempt-1.log
        ck=$(grep '^checkpoint attempt=1 ' "$l1" | tail -1)
        [ -n "$ck" ] || fail "job $j saved nothing on SIGTERM: $(tail -5 "$l1")"
        how=$(grep "synergy_client job $j rank 0: SIGTERM" "$l1") ||
            fail "job $j's client did not say it stopped on SIGTERM"
        x=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$ck")
        loss=${ck##*loss=}
        next=$(ls "$logs" | sed -n "s/^job-$j-attempt-\\([0-9]*\\)\\.log$/\\1/p" | sort -n | sed -n 2p)
        [ -n "$next" ] || fail "job $j did not run again"
        line=$(grep '^resume ' "$logs/job-$j-attempt-$next.log" | head -1)
        [ "$line" = "resume attempt=$next rank=0 elapsed=$x step=$x loss=$loss" ] ||
            fail "job $j attempt $next: '$line' does not continue from '$ck'"
        echo "job $j: ${how#*: }; attempt $next resumed at step $x, loss $loss"
    done
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "ok: $case"
