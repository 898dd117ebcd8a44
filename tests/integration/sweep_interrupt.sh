#!/usr/bin/env bash
# Killing a sweep mid-way leaves a consistent results database: every run is
# 'complete' (with all its job and round rows) or 'incomplete' (with none),
# none is left 'running', and the run that was in flight is 'incomplete'.
# Once with SIGINT (the sweep stops cleanly, exit 130) and once with SIGKILL
# (the workers die with it; the next open marks their runs incomplete).
# The grid runs two quick FIFO runs, then LAS at 8 jobs/h, which takes a
# second or more (far more under ASan); we strike once a FIFO run has finished
# and the LAS run is in flight, so no timing is assumed or asserted.
# usage: sweep_interrupt.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 -cmd '.timeout 10000' "$1" "$2"; }

strike() { # signal db
    local sig=$1 db=$2
    "$bin" sweep --policy FIFO,LAS --mode fair,tune --jobs-per-hour 8 --seed 42 \
        --measure 0:300 --workers 1 --db "$db" > "$tmp/$sig.log" 2>&1 &
    pid=$!
    # wait for a finished run and the LAS run in flight
    local victim=
    for _ in $(seq 2400); do
        local finished=
        [ -f "$db" ] && finished=$(q "$db" "select count(*) from runs where status='complete'" 2>/dev/null)
        if [ "${finished:-0}" -ge 1 ]; then
            victim=$(q "$db" "select id from runs where status='running' and policy='LAS'" 2>/dev/null)
            [ -n "$victim" ] && break
        fi
        kill -0 $pid 2>/dev/null || fail "$sig: sweep ended before we could interrupt it"
        sleep 0.05
    done
    [ -n "$victim" ] || fail "$sig: no run in flight after 120 s"
    kill -$sig $pid
    { wait $pid; } 2>/dev/null
    local rc=$?
    pid=
    if [ "$sig" = INT ]; then
        [ $rc -eq 130 ] || fail "INT: sweep exited $rc, expected 130"
        grep -q 'interrupted' "$tmp/$sig.log" || fail "INT: no 'interrupted' message"
    fi
    # after SIGKILL the worker dies with the sweep; opening the DB marks its run
    for _ in $(seq 200); do
        "$bin" report --db "$db" --all --list > "$tmp/list" 2>&1 || fail "$sig: report failed"
        grep -q ' running ' "$tmp/list" || break
        sleep 0.05
    done
    [ "$(q "$db" "select count(*) from runs where status='running'")" = 0 ] ||
        fail "$sig: runs left 'running'"
    [ "$(q "$db" "select status from runs where id=$victim")" = incomplete ] ||
        fail "$sig: the run in flight ($victim) is not incomplete"
    [ "$(q "$db" "select count(*) from runs where status='complete'")" -ge 1 ] ||
        fail "$sig: the finished run was lost"
    [ "$(q "$db" "select count(*) from runs")" -lt 4 ] || fail "$sig: the sweep was not stopped"
    [ "$(q "$db" "select count(*) from jobs join runs on runs.id = run_id where status != 'complete'")" = 0 ] ||
        fail "$sig: an incomplete run has job rows"
    [ "$(q "$db" "select count(*) from rounds join runs on runs.id = run_id where status != 'complete'")" = 0 ] ||
        fail "$sig: an incomplete run has round rows"
    [ "$(q "$db" "select count(*) from runs where status='complete' and (jobs_measured != 300 or
            (select count(*) from jobs where run_id = runs.id) != 300 or
            (select count(*) from rounds where run_id = runs.id) != rounds)")" = 0 ] ||
        fail "$sig: a complete run lacks rows"
    # the report shows the complete run, and only it
    "$bin" report --db "$db" --all --brief > "$tmp/report" || fail "$sig: report exited $?"
    grep -q '^ *[0-9]* *FIFO/fair ' "$tmp/report" || fail "$sig: report lacks the finished run"
    ! grep -q '^ *[0-9]* *LAS/' "$tmp/report" || fail "$sig: report shows the interrupted run"
    echo "ok: $sig: $(q "$db" "select group_concat(id || '=' || status, ' ') from runs")"
}

strike INT "$tmp/int.db"
strike KILL "$tmp/kill.db"
