#!/usr/bin/env bash
# The deployment's state file (issue 20, items 2, 3 and 7), each case on
# `synergy deploy --local` with stand-in jobs:
#  lock     two schedulers on one --state: the second exits 2 at once (well
#           before the first has done anything with it) with one line naming
#           the file and the first one's PID; the first runs on. A state file
#           without a schema version (the tables as before versions) is
#           migrated to the current version; one from a newer synergy
#           (user_version past ours) is refused with exit 2 and one line.
#  corrupt  an empty (0-byte) state file, a truncated one and one with a page
#           overwritten: each refused at start with exit 2 and one line naming
#           the file, and left as it was (same bytes).
#  full     the state file on a small tmpfs this test mounts (root), filled up
#           while the service takes submissions: every submission either
#           prints an id or fails (UNAVAILABLE, no id); the scheduler logs one
#           line saying its state could not be stored and exits non-zero once
#           it cannot write it a second time; with the space back, the same
#           command continues the run and every id a client printed is in its
#           queue, and no other.
# usage: deploy_durable.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 (CLI) is not installed"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    mountpoint -q "$tmp/mnt" 2>/dev/null && umount "$tmp/mnt"
    if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v '\[debug\]' "$tmp/dep.err" | tail -15; exit 1; }
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 4\n' > "$tmp/c.ini"
printf 'cpus_per_server = 12\ndram_per_server = 200\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# service STATE ERR [flags]: a service on one local worker; sets $dep and $S
service() {
    local state=$1 err=$2
    shift 2
    "$bin" deploy --cluster "$tmp/c.ini" --local 1 --time-scale "${scale:-300}" --run-dir "$tmp/run" \
        --catalog "$src/tests/deploy/catalog.ini" --state "$state" "$@" > /dev/null 2> "$err" &
    dep=$!; pids+=("$dep")
    local port=
    for _ in $(seq 600); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$err" 2>/dev/null || true)
        [ -n "$port" ] && break
        kill -0 "$dep" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] || { cat "$err"; fail "deploy did not say where it listens"; }
    S=127.0.0.1:$port
}
adm() { "$bin" "$1" --scheduler "$S" --insecure "${@:2}"; }
# submit until the round loop runs (submissions wait for the workers)
submit_first() {
    local out
    for _ in $(seq 300); do
        out=$(adm submit "$@" 2> /dev/null) && { echo "$out"; return 0; }
        sleep 0.1
    done
    fail "no submission accepted"
}
# refused STATE WHAT: deploy on STATE exits 2 at once with one line containing WHAT
refused() {
    local rc=0
    "$bin" deploy --cluster "$tmp/c.ini" --local 1 --state "$1" > /dev/null 2> "$tmp/ref.err" || rc=$?
    local lines
    lines=$(grep -v '^synergy deploy: PLAINTEXT\|admin service in PLAINTEXT\|running as a service' "$tmp/ref.err" || true)
    [ "$rc" = 2 ] || fail "$1: exit $rc, not 2: $(cat "$tmp/ref.err")"
    [ "$(grep -c . <<<"$lines")" = 1 ] || fail "$1: not one line: $lines"
    [[ $lines == *"$1"*"$2"* ]] || fail "$1: '$lines' lacks '$2'"
    echo "  refused: $lines"
}

case $case in
lock)
    service "$tmp/state.db" "$tmp/dep.err"
    first=$dep
    t0=$(date +%s%N)
    rc=0
    "$bin" deploy --cluster "$tmp/c.ini" --local 1 --state "$tmp/state.db" > /dev/null \
        2> "$tmp/second.err" || rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ $rc = 2 ] || fail "the second scheduler: exit $rc, not 2"
    line=$(grep -v 'PLAINTEXT\|running as a service' "$tmp/second.err" || true)
    [ "$(grep -c . <<<"$line")" = 1 ] || fail "the second scheduler said: $(cat "$tmp/second.err")"
    [[ $line == *"$tmp/state.db"*"pid $first"* ]] || fail "'$line' does not name the file and pid $first"
    ! grep -q "listening on" "$tmp/second.err" || fail "the second scheduler started listening"
    echo "second scheduler: exit 2 after $ms ms: $line"
    kill -0 "$first" || fail "the first scheduler is gone"
    id=$(submit_first --model res18 --gpus 1 --iterations 50)
    [ "$id" = 1 ] || fail "the first scheduler gave id $id"
    kill -TERM "$first"; wait "$first" || fail "the first scheduler did not stop cleanly"
    # unversioned (the tables before versions) -> migrated; newer -> refused
    sqlite3 "$tmp/old.db" "CREATE TABLE workers(server INTEGER PRIMARY KEY, ip TEXT, port INTEGER,
        state TEXT, gpus INTEGER, updated REAL);
        CREATE TABLE saved_jobs(id INTEGER PRIMARY KEY, state INTEGER, attempt INTEGER,
        crashes INTEGER, terminated INTEGER, executed INTEGER, round_base INTEGER, attained REAL,
        priority INTEGER, last_exec REAL, first_start REAL, finish REAL, failed INTEGER,
        rounds_run INTEGER, rounds_demoted INTEGER, preemptions INTEGER, placed_last INTEGER,
        runnable_rank INTEGER, lease_t REAL);
        CREATE TABLE run(id INTEGER PRIMARY KEY CHECK(id = 1), args TEXT, finished INTEGER,
        t0_real REAL, b REAL, next_arrival INTEGER, rounds INTEGER, util0 REAL, util1 REAL,
        util2 REAL, stats TEXT);
        CREATE TABLE admin_jobs(id INTEGER PRIMARY KEY, name TEXT, user TEXT, model TEXT,
        gpus INTEGER, iterations INTEGER, arrival REAL, priority INTEGER, submitted INTEGER,
        cancelled INTEGER);"
    [ "$(sqlite3 "$tmp/old.db" "pragma user_version")" = 0 ] || fail "old.db has a version"
    service "$tmp/old.db" "$tmp/old.err"
    id=$(submit_first --model res18 --gpus 1 --iterations 50)
    kill -TERM "$dep"; wait "$dep" || fail "the service on the migrated file failed"
    v=$(sqlite3 "$tmp/old.db" "pragma user_version")
    [ "$v" -ge 2 ] || fail "old.db is at version $v after the run"
    sqlite3 "$tmp/old.db" "select procs from saved_jobs" > /dev/null || fail "old.db lacks saved_jobs.procs"
    [ "$(sqlite3 "$tmp/old.db" "select model from admin_jobs where id = $id")" = res18 ] ||
        fail "old.db lost the submission"
    sqlite3 "$tmp/old.db" "select gpu_types from admin_jobs" > /dev/null || fail "old.db lacks admin_jobs.gpu_types"
    echo "an unversioned state file was migrated to version $v"
    sqlite3 "$tmp/old.db" "pragma user_version = $((v + 1))"
    refused "$tmp/old.db" "state file version $((v + 1)) is newer than this synergy's ($v)"
    echo "PASS: one scheduler per state file; schema version $v, older migrated, newer refused"
    ;;
corrupt)
    service "$tmp/good.db" "$tmp/dep.err"
    submit_first --model res18 --gpus 1 --iterations 3000 > /dev/null
    for _ in $(seq 100); do
        [ "$(sqlite3 -readonly "$tmp/good.db" "select count(*) from jobs where state='running'")" = 1 ] && break
        sleep 0.1
    done
    kill -9 "$dep"; wait "$dep" 2>/dev/null || true
    sqlite3 "$tmp/good.db" "pragma wal_checkpoint(TRUNCATE)" > /dev/null
    pages=$(sqlite3 "$tmp/good.db" "pragma page_count")
    [ "$pages" -ge 6 ] || fail "good.db has only $pages pages"
    : > "$tmp/empty.db"
    head -c $(( 4096 * (pages / 2) )) "$tmp/good.db" > "$tmp/trunc.db"
    cp "$tmp/good.db" "$tmp/page.db"
    head -c 4096 /dev/urandom | dd of="$tmp/page.db" bs=4096 seek=$(( pages - 2 )) conv=notrunc 2> /dev/null
    for f in empty trunc page; do
        sum=$(md5sum < "$tmp/$f.db")
        case $f in
        empty) want="empty (0 bytes), not a state file" ;;
        *) want="not replaced; restore a copy" ;;
        esac
        refused "$tmp/$f.db" "$want"
        [ "$(md5sum < "$tmp/$f.db")" = "$sum" ] || fail "$f.db was changed"
    done
    echo "PASS: empty, truncated and corrupt state files refused with exit 2, left as they were"
    ;;
full)
    mkdir "$tmp/mnt"
    mount -t tmpfs -o size=1m tmpfs "$tmp/mnt" || fail "cannot mount a tmpfs (this test needs root)"
    scale=60 # 5 s rounds: the scheduler refuses submissions for a round before it stops
    service "$tmp/mnt/state.db" "$tmp/dep.err" -v
    : > "$tmp/printed"
    : > "$tmp/refused"
    # jobs that run a while: rounds keep writing
    submit_first --model res18 --gpus 1 --iterations 20000 >> "$tmp/printed"
    # fill the disk but for 96 KiB, then keep submitting until the scheduler
    # gives up: the first submissions fit, then writes fail
    avail=$(df -k --output=avail "$tmp/mnt" | tail -1)
    dd if=/dev/zero of="$tmp/mnt/fill" bs=1k count=$(( avail > 96 ? avail - 96 : 0 )) 2> /dev/null || true
    for i in $(seq 400); do
        kill -0 "$dep" 2>/dev/null || break
        out=$(adm submit --model alexnet --gpus 1 --iterations 20000 2> "$tmp/sub.err") && rc=0 || rc=$?
        if [ $rc = 0 ]; then
            [[ $out =~ ^[0-9]+$ ]] || fail "submission $i printed '$out'"
            echo "$out" >> "$tmp/printed"
        else
            [ -z "$out" ] || fail "a refused submission printed '$out'"
            echo "$(cat "$tmp/sub.err")" >> "$tmp/refused"
        fi
        sleep 0.05
    done
    rc=0; wait "$dep" || rc=$?
    [ $rc != 0 ] || fail "the scheduler ended with exit 0 on a full disk"
    grep -q "the round's state could not be stored" "$tmp/dep.err" || fail "no log line about the failed commit"
    [ "$(grep -c "the round's state could not be stored" "$tmp/dep.err")" = 1 ] || fail "the failure was logged more than once"
    tail -1 "$tmp/dep.err" | grep -q "cannot be written again" || fail "the exit does not say why: $(tail -1 "$tmp/dep.err")"
    grep -q "could not be stored\|cannot write its state" "$tmp/refused" ||
        fail "no submission was refused for the state while the scheduler ran"
    echo "scheduler: exit $rc; $(grep -c . "$tmp/printed") ids printed, $(grep -c . "$tmp/refused") submissions refused"
    grep "could not be stored\|cannot be written again" "$tmp/dep.err" | sed 's/^/  log: /'
    sort -u "$tmp/refused" | head -3 | sed 's/^/  client: /'
    # the space back: the same command continues the run
    rm -f "$tmp/mnt/fill"
    service "$tmp/mnt/state.db" "$tmp/dep2.err" -v
    grep -q "continuing the run" "$tmp/dep2.err" || fail "the restart did not continue the run"
    adm queue --all --json | /usr/bin/python3 -c "import json,sys; print('\n'.join(str(j['id']) for j in json.load(sys.stdin)['jobs']))" |
        sort -n > "$tmp/stored"
    sort -n "$tmp/printed" > "$tmp/printed.s"
    diff "$tmp/printed.s" "$tmp/stored" > /dev/null ||
        fail "printed ids [$(xargs < "$tmp/printed.s")] but the restarted scheduler has [$(xargs < "$tmp/stored")]"
    echo "PASS: every printed id ($(xargs < "$tmp/printed.s")) is in the restarted scheduler's queue, no other"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
