#!/usr/bin/env bash
# bench/local128.sh: `deploy --local N` works every time. Runs RUNS deployments
# of traces/synergy-deploy/test_trace on N local workers x 8 simulated GPUs
# (each worker binds port 0 and reports the port it got; before issue 9,
# free_port() plus gRPC's SO_REUSEPORT let two workers share a port and 4 of
# 8 runs with 128 workers failed), with short rounds. A run passes when every
# job finished and none failed. Prints one line per run: pass/fail, the
# registration time (deploy's "registration_s": listening -> all N workers
# registered), the wall time, and the peak RSS of the deploy process and of
# its whole process tree (GNU time's "Maximum resident set size" is the
# largest single process; the tree's is summed from /proc while it runs).
# usage: bench/local128.sh [SYNERGY] [N] [RUNS] [TIME_SCALE]
set -uo pipefail
bin=${1:-build/synergy}
n=${2:-128}
runs=${3:-10}
scale=${4:-1000}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d -p "${TMPDIR:-/tmp}" synergy-local128.XXXXXX)
# a copied binary finds no configs of its own (src/datadir.c): use the source tree's
export SYNERGY_CONFIG_DIR=${SYNERGY_CONFIG_DIR:-$src}
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "bench/local128.sh needs GNU time (apt-get install time)"; exit 2; }
printf '[CLUSTER]\nracks = 1\nservers_per_rack = %d\ngpus_per_server = 8\n' "$n" > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# the summed RSS (kB) of a process and all its descendants
tree_rss() {
    local pids=$1 all=$1 next
    while [ -n "$pids" ]; do
        next=
        for p in $pids; do
            next="$next $(cat /proc/"$p"/task/*/children 2>/dev/null)"
        done
        pids=$(echo $next)
        all="$all $pids"
    done
    local sum=0
    for p in $all; do
        r=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null)
        sum=$(( sum + ${r:-0} ))
    done
    echo $sum
}
pass=0
echo "run result registration_s wall_s deploy_max_rss_MiB tree_peak_rss_MiB load1"
for r in $(seq 1 "$runs"); do
    /usr/bin/time -v -o "$tmp/time.$r" "$bin" deploy --trace "$src/traces/synergy-deploy/test_trace" \
        --cluster "$tmp/c.ini" --local "$n" --mode tune \
        --time-scale "$scale" \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run.$r" \
        --json > "$tmp/out.$r" 2> "$tmp/err.$r" &
    tp=$!
    peak=0
    while kill -0 "$tp" 2>/dev/null; do
        dp=$(cat /proc/"$tp"/task/*/children 2>/dev/null | head -1)
        if [ -n "$dp" ]; then
            s=$(tree_rss "$dp")
            [ "$s" -gt "$peak" ] && peak=$s
        fi
        sleep 0.5
    done
    wait "$tp"; rc=$?
    load=$(cut -d' ' -f1 /proc/loadavg)
    ok=fail
    if [ $rc = 0 ] && grep -q '"window_complete":true' "$tmp/out.$r" &&
       grep -q '"jobs_failed":0,' "$tmp/out.$r"; then
        ok=pass; pass=$((pass + 1))
    fi
    reg=$(sed -n 's/.*"registration_s":\([0-9.]*\).*/\1/p' "$tmp/out.$r")
    wall=$(sed -n 's/.*"wall_s":\([0-9.]*\).*/\1/p' "$tmp/out.$r")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$tmp/time.$r")
    echo "$r $ok ${reg:--} ${wall:--} $rss $(awk -v k="$peak" 'BEGIN {printf "%.0f", k / 1024}') $load"
    if [ $ok = fail ]; then
        echo "--- run $r (rc $rc):"
        cat "$tmp/out.$r"
        grep -v '\[debug\]\|\[info\]\|\[warn\] worker' "$tmp/err.$r" | tail -12
        [ -n "${KEEP:-}" ] && cp "$tmp/err.$r" "$KEEP/local128-err.$r"
    fi
    rm -rf "$tmp/run.$r"
done
echo "$pass of $runs runs of deploy --local $n passed"
[ "$pass" = "$runs" ]
