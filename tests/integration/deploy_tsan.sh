#!/usr/bin/env bash
# ThreadSanitizer run of the deployment servers (SYNERGY_TSAN builds only):
# a short deployment on 4 local workers; any TSan report from our code fails.
# Reports from inside Debian's uninstrumented gRPC/abseil are suppressed
# (tests/tsan.supp). Jobs get a scratch environment, so the catalog passes
# the TSan options to them through /usr/bin/env.
# usage: deploy_tsan.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TSAN_OPTIONS="halt_on_error=0 suppressions=$src/tests/tsan.supp"
cat > "$tmp/c.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = 4
gpus_per_server = 8
cpus_per_server = 24
dram_per_server = 500
sspeed_per_server = 500
INI
for m in alexnet gnmt transformer; do
    echo "[$m]"
    echo "argv = /usr/bin/env TSAN_OPTIONS=suppressions=$src/tests/tsan.supp {synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}"
done > "$tmp/catalog.ini"
head -3 "$src/traces/synergy-deploy/test_trace" > "$tmp/trace"
timeout 200 "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --local 4 \
    --time-scale 100 --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" --json \
    > "$tmp/out" 2> "$tmp/err" || { tail -20 "$tmp/err"; exit 1; }
cat "$tmp/out"
if grep -rq "WARNING: ThreadSanitizer" "$tmp/err" "$tmp/run"; then
    grep -rh -A30 "WARNING: ThreadSanitizer" "$tmp/err" "$tmp/run" | head -80
    exit 1
fi
echo "ok: no ThreadSanitizer report"
