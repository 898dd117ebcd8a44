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
*)
    echo "usage: deploy_lifecycle.sh SYNERGY SRCDIR waiting|shutdown"; exit 2 ;;
esac
echo "deploy_lifecycle $case: ok"
