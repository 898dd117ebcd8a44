#!/usr/bin/env bash
# Worker CPU hygiene on the live machine, through a real deployment: a worker
# started with --reserve-cpus 0-0 (core 0 held back) runs every one of its
# threads on core 0's PUs, no job it launches ever has a PU of core 0 in its
# affinity (read from /proc while the jobs run), the scheduler is told the
# reduced capacity and warns that it is below the INI's cpus_per_server, and
# every job still finishes with executed == total. The expected PUs and core
# count come from hwloc-calc, not from synergy. Bad --reserve-cpus /
# --cpu-unit values are refused with exit 2.
# usage: worker_cpus.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
pids=()
cleanup() { # stop, then wait before removing: a stopping job may still write its checkpoint
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.err; do echo "== $f"; tail -15 "$f"; done; exit 1; }
command -v hwloc-calc >/dev/null || fail "hwloc-calc missing (Debian package hwloc)"
cores=$(hwloc-calc --number-of core machine:0)
[ "$cores" -ge 2 ] || fail "needs a machine with at least 2 cores, this one has $cores"
reserved=$(hwloc-calc --physical-output --intersect pu core:0)   # e.g. 0 or 0,64
echo "host: $cores cores; core 0 is PU(s) $reserved"

# bad input: exit 2 and one line naming the flag
rc=0; "$bin" worker --insecure --job-user "$(id -un)" --scheduler 127.0.0.1:1 --catalog "$src/tests/deploy/catalog.ini" \
    --gpus 8 --reserve-cpus 0-100000 2> "$tmp/bad.err" || rc=$?
[ $rc = 2 ] && grep -q -- "--reserve-cpus: core 100000 does not exist" "$tmp/bad.err" ||
    fail "a core id that does not exist should be refused (rc $rc)"
rc=0; "$bin" worker --insecure --job-user "$(id -un)" --scheduler 127.0.0.1:1 --catalog "$src/tests/deploy/catalog.ini" \
    --gpus 8 --cpu-unit socket 2> "$tmp/bad.err" || rc=$?
[ $rc = 2 ] && grep -q -- "--cpu-unit: 'socket' must be core or thread" "$tmp/bad.err" ||
    fail "--cpu-unit socket should be refused (rc $rc)"

printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# one job at a time (8 GPUs each): on a loaded 2-CPU host they share the one
# unreserved core with nothing but the load
printf '0,alexnet,0,700,8\n1,res18,0,700,8\n2,res18,0,500,8\n' > "$tmp/trace"
p0=$(( 20000 + RANDOM % 20000 )); port=$(( p0 + 1 ))
printf '127.0.0.1,%d,0,0,1\n' "$p0" > "$tmp/workers"
"$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --insecure --workers "$tmp/workers" \
    --port "$port" --state "$tmp/state.db" --time-scale 100 -v \
    --json > "$tmp/dep.json" 2> "$tmp/dep.err" &
dep=$!; pids+=("$dep")
"$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" --port "$p0" --gpus 8 --reserve-cpus 0-0 -v \
    --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w" 2> "$tmp/w.err" &
w=$!; pids+=("$w")

# the worker's threads (gRPC's, the supervisor's, main) all run on core 0
for _ in $(seq 100); do grep -q "server 0 on port" "$tmp/w.err" && break; sleep 0.1; done
grep -q "server 0 on port" "$tmp/w.err" || fail "the worker did not register"
n_threads=0
for st in /proc/$w/task/*/status; do
    got=$(awk '/^Cpus_allowed_list/ { print $2 }' "$st")
    [ "$got" = "$reserved" ] || fail "worker thread $(dirname "$st"): CPUs $got, not $reserved"
    n_threads=$(( n_threads + 1 ))
done
[ "$n_threads" -ge 3 ] || fail "expected the worker's threads, found $n_threads"
echo "worker: $n_threads threads, all on PU(s) $reserved"

# every job's affinity, read while it runs, avoids core 0
declare -A seen
while kill -0 "$dep" 2>/dev/null; do
    for pid in $(sed -n 's/.*: pid \([0-9]*\), GPUs.*/\1/p' "$tmp/w.err"); do
        [ -n "${seen[$pid]:-}" ] && continue
        got=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        [ -n "$got" ] && seen[$pid]=$got
    done
    sleep 0.1
done
wait "$dep" || fail "deploy failed"
[ "${#seen[@]}" -ge 1 ] || fail "no running job was observed"
for pid in "${!seen[@]}"; do
    for pu in $(echo "${seen[$pid]}" | tr ',' ' '); do   # ranges a-b expanded
        lo=${pu%-*} hi=${pu#*-}
        for r in $(echo "$reserved" | tr ',' ' '); do
            [ "$r" -lt "$lo" ] || [ "$r" -gt "$hi" ] ||
                fail "job pid $pid runs on reserved PU $r (CPUs ${seen[$pid]})"
        done
    done
    echo "job pid $pid: CPUs ${seen[$pid]}"
done

cat "$tmp/dep.json"
grep -q '"jobs_finished":3,' "$tmp/dep.json" || fail "all 3 jobs should finish"
[ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where executed != total")" = 0 ] ||
    fail "a job was credited more or less than its total"
left=$(( cores - 1 ))
grep -q "server 0: $left core(s), [0-9]* thread(s) for jobs, 1 core(s) reserved; a CPU is a core" \
    "$tmp/dep.err" || fail "registration should report $left cores and 1 reserved"
grep -q "the cluster INI plans 24 CPUs per server but the worker offers jobs $left core(s) (after its reserved cores)" \
    "$tmp/dep.err" || fail "no warning about cpus_per_server 24 > $left cores"
echo "ok: worker on core 0 ($reserved), ${#seen[@]} jobs observed off it, $left cores reported"
