#!/usr/bin/env bash
# sd_notify, end to end. The scheduler (`deploy`) and a worker each run with
# NOTIFY_SOCKET at a unix datagram socket this test listens on
# (notify_listen.py, which records each datagram's sender pid as systemd
# does) and WATCHDOG_USEC=6000000, as systemd sets them for WatchdogSec=6.
# Each must send READY=1 once it serves (the scheduler listens / the worker
# has registered), STATUS= lines, WATCHDOG=1 at least every 6 s from READY
# to STOPPING (what systemd enforces), and STOPPING=1 when it stops, all from
# its own pid. Then `deploy --local 1` without WATCHDOG_USEC: only the
# scheduler speaks (its local worker does not inherit the socket) and it
# sends no WATCHDOG=1.
# usage: service_notify.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
bg=()
cleanup() { for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
            rm -rf "$tmp"; }
trap cleanup EXIT
cat > "$tmp/cluster.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = 1
gpus_per_server = 8
cpus_per_server = 24
dram_per_server = 500
sspeed_per_server = 500
INI
listen() { # listen NAME: a notify socket at $tmp/NAME.sock, datagrams in $tmp/NAME.log
    python3 "$here/notify_listen.py" "$tmp/$1.sock" "$tmp/$1.log" & bg+=($!)
    for _ in $(seq 100); do [ -S "$tmp/$1.sock" ] && return; sleep 0.05; done
    echo "notify_listen.py did not start"; exit 1
}
read -r sport wport < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
echo "127.0.0.1,$wport,0,0,1" > "$tmp/workers.csv"
listen sched
listen worker
trace=$src/tests/deploy/notify3_trace
NOTIFY_SOCKET=$tmp/sched.sock WATCHDOG_USEC=6000000 \
    "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" --static --port "$sport" \
    --workers "$tmp/workers.csv" --time-scale 100 > "$tmp/dep.out" 2> "$tmp/dep.err" &
dpid=$!
NOTIFY_SOCKET=$tmp/worker.sock WATCHDOG_USEC=6000000 \
    "$bin" worker --scheduler "127.0.0.1:$sport" --port "$wport" --gpus 8 \
    --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run" 2> "$tmp/worker.err" &
wpid=$!
bg+=("$wpid")
wait "$dpid" || { echo "deploy failed"; cat "$tmp/dep.err"; exit 1; }
cat "$tmp/dep.out"
grep -q "3 of 3 jobs finished" "$tmp/dep.out"
kill -TERM "$wpid"
wait "$wpid" || { echo "the worker did not stop cleanly"; cat "$tmp/worker.err"; exit 1; }
sleep 0.3

# check LOG PID WHAT WATCHDOG: the datagrams of one service
check() {
    python3 - "$@" <<'PY'
import sys
log, pid, what, watchdog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
rows = []
for line in open(log):
    t, p, text = line.rstrip("\n").split(" ", 2)
    if p == "0":
        continue  # the listener's own start line
    rows.append((float(t), int(p), text.split("|")))
def fail(msg):
    sys.exit(f"{what}: {msg}\n" + "".join(open(log).readlines()[-30:]))
if not rows:
    fail("no datagrams")
others = {p for _, p, _ in rows if p != pid}
if others:
    fail(f"datagrams from pids {sorted(others)}, not only from the main pid {pid}")
def first(field):
    return next((t for t, _, f in rows if field in f), None)
ready, stopping = first("READY=1"), first("STOPPING=1")
if ready is None:
    fail("no READY=1")
if stopping is None or stopping < ready:
    fail("no STOPPING=1 after READY=1")
status = [x for _, _, f in rows for x in f if x.startswith("STATUS=")]
if not status:
    fail("no STATUS= line")
pings = [t for t, _, f in rows if "WATCHDOG=1" in f]
if not watchdog:
    if pings:
        fail("WATCHDOG=1 sent although no watchdog was asked for")
    print(f"{what}: READY, {len(status)} STATUS lines, STOPPING, no watchdog pings: ok")
    sys.exit(0)
marks = [ready] + [t for t in pings if ready < t < stopping] + [stopping]
gap = max(b - a for a, b in zip(marks, marks[1:]))
if len(pings) < 2 or gap >= 6.0:
    fail(f"{len(pings)} WATCHDOG=1, longest gap {gap:.2f} s (WatchdogSec=6)")
print(f"{what}: READY, {len(status)} STATUS lines (e.g. {status[-1]!r}), {len(pings)} "
      f"WATCHDOG=1 (longest gap {gap:.2f} s), STOPPING: ok")
PY
}
check "$tmp/sched.log" "$dpid" scheduler 1
grep -q "STATUS=listening on 127.0.0.1:$sport" "$tmp/sched.log" || { echo "READY without listening status"; exit 1; }
grep -q "STATUS=round " "$tmp/sched.log" || { echo "no per-round STATUS"; exit 1; }
check "$tmp/worker.log" "$wpid" worker 1

# --local: the helper workers must not speak for the scheduler's service
listen local
NOTIFY_SOCKET=$tmp/local.sock "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" \
    --static --local 1 --time-scale 100 --catalog "$src/tests/deploy/catalog.ini" \
    --run-dir "$tmp/run-local" > "$tmp/local.out" 2> "$tmp/local.err" &
lpid=$!
wait "$lpid" || { echo "deploy --local failed"; cat "$tmp/local.err"; exit 1; }
sleep 0.3
check "$tmp/local.log" "$lpid" "scheduler with --local" 0
