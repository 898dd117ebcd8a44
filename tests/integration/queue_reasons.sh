#!/usr/bin/env bash
# "Why is my job waiting" in the service (issue 26, docs/forecast.md):
# `synergy deploy` on 2 local workers of 4 GPUs (stand-in jobs, time scale
# 60). Job 1 asks for all 8 GPUs and runs; job 2 (4 GPUs) arrives behind it.
# Once a round has planned job 2, `queue` shows REASON Priority for it (the
# last column of the table and "reason" in --json) and Starting or None for
# job 1 (placed: launching, then running); a cancelled job shows "".
# usage: queue_reasons.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done # before rm: a job may still write
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v 'cgroup\|CPUs per server' "$tmp/dep.err" | tail -20; exit 1; }

printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\n' > "$tmp/c.ini"
printf 'cpus_per_server = 12\ndram_per_server = 200\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
"$bin" deploy --cluster "$tmp/c.ini" --local 2 --time-scale 60 --run-dir "$tmp/run" \
    --state "$tmp/state.db" --catalog "$src/tests/deploy/catalog.ini" \
    > "$tmp/dep.out" 2> "$tmp/dep.err" &
pids+=($!)
port=
for _ in $(seq 300); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || fail "deploy did not say where it listens"
adm() { "$bin" "$1" --scheduler "127.0.0.1:$port" --insecure "${@:2}"; }
ok=
for _ in $(seq 100); do
    adm submit --model res18 --gpus 8 --iterations 100000 --name big > /dev/null 2>&1 && { ok=1; break; }
    sleep 0.2
done
[ -n "$ok" ] || fail "no submission accepted"
adm submit --model alexnet --gpus 4 --iterations 100000 --name behind > /dev/null || fail "submit 2"
reason() { adm queue --all --json | "$py" -c "import json,sys; print([j for j in json.load(sys.stdin)['jobs'] if j['id']==$1][0]['reason'])"; }
r2=
for _ in $(seq 150); do
    r2=$(reason 2); [ "$r2" = Priority ] && break; sleep 0.1
done
[ "$r2" = Priority ] || fail "job 2's reason is '$r2', expected Priority"
r1=$(reason 1)
[ "$r1" = Starting ] || [ "$r1" = None ] || fail "job 1's reason is '$r1', expected Starting or None"
table=$(adm queue)
echo "$table"
head -1 <<<"$table" | grep -qE ' REASON$' || fail "no REASON column"
grep -qE '^ +2 behind .* Priority$' <<<"$table" || fail "job 2's row does not end in Priority"
adm cancel 2 > /dev/null || fail "cancel 2"
for _ in $(seq 100); do
    [ "$(adm queue --all --json | "$py" -c "import json,sys; print([j for j in json.load(sys.stdin)['jobs'] if j['id']==2][0]['state'])")" = cancelled ] && break
    sleep 0.1
done
[ "$(reason 2)" = "" ] || fail "a cancelled job's reason is '$(reason 2)', expected ''"
echo "queue reasons: job 1 $r1, job 2 Priority, cancelled ''"
