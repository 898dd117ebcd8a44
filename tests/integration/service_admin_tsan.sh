#!/usr/bin/env bash
# ThreadSanitizer run of the admin service (SYNERGY_TSAN builds only): deploy
# as a service on 2 local workers, and admin calls on the RPC thread while the
# round loop runs (submit, queue, nodes, cancel of a running and of a waiting
# job), then SIGTERM; any TSan report from our code fails (gRPC's own are
# suppressed, tests/tsan.supp).
# usage: service_admin_tsan.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
dep=
cleanup() { [ -n "$dep" ] && kill "$dep" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export TSAN_OPTIONS="halt_on_error=0 suppressions=$src/tests/tsan.supp"
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\n' > "$tmp/c.ini"
printf 'cpus_per_server = 12\ndram_per_server = 200\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
for m in alexnet res18 res50; do
    echo "[$m]"
    echo "argv = /usr/bin/env TSAN_OPTIONS=suppressions=$src/tests/tsan.supp {synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
done > "$tmp/catalog.ini"
"$bin" deploy --cluster "$tmp/c.ini" --local 2 --time-scale 100 --catalog "$tmp/catalog.ini" \
    --run-dir "$tmp/run" --state "$tmp/st.db" > "$tmp/out" 2> "$tmp/err" &
dep=$!
port=
for _ in $(seq 400); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: deploy did not say where it listens"; tail "$tmp/err"; exit 1; }
adm() { "$bin" "$1" --scheduler "127.0.0.1:$port" --insecure "${@:2}"; }
for _ in $(seq 200); do adm submit --model res18 --gpus 2 --iterations 400 > /dev/null 2>&1 && break; sleep 0.2; done
for _ in 1 2 3 4 5 6; do
    adm submit --model alexnet --gpus 1 --iterations 300 > /dev/null
    adm queue > /dev/null
    adm nodes --json > /dev/null
    sleep 0.5
done
adm submit --model res50 --gpus 8 --iterations 300 > /dev/null
adm cancel 8 > /dev/null
adm cancel 2 > /dev/null 2>&1 || true # running or already finished
for _ in $(seq 120); do
    [ "$(adm queue | tail -n +2 | grep -c .)" = 0 ] && break
    sleep 0.5
done
kill -TERM "$dep"
rc=0; wait "$dep" || rc=$?
dep=
[ $rc = 0 ] || { echo "FAIL: deploy exited $rc"; tail -20 "$tmp/err"; exit 1; }
cat "$tmp/out"
if grep -rq "WARNING: ThreadSanitizer" "$tmp/err" "$tmp/run"; then
    grep -rh -A40 "WARNING: ThreadSanitizer" "$tmp/err" "$tmp/run" | head -120
    exit 1
fi
echo "ok: no ThreadSanitizer report"
