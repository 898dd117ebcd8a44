#!/usr/bin/env bash
# End-to-end deployment: replay a trace with `synergy deploy --local N` (N
# workers x 8 simulated GPUs on 127.0.0.1, stand-in jobs) at time scale K and
# compare with `synergy simulate` on the same trace, policy and mode: every
# job finishes, every round places the same jobs (so the same jobs are
# preempted in the same rounds), each job's JCT is within 5 %, and the
# SQLite state records every job as finished.
# Extra flags go to both simulate and deploy, so any trace format the workload
# loader reads is deployed the same way (a non-replay trace needs --max-jobs N).
# With --hosts SCHED,W0,W1,... (loopback addresses standing for hosts) the
# scheduler listens on SCHED only and one `synergy worker` per server listens
# on W<i> with port 0, named in a workers file by address (rows ip,0,...):
# workers call out from 127.0.0.1, not from the address they listen on.
# usage: deploy_e2e.sh SYNERGY SRCDIR TRACE MODE TIME_SCALE SERVERS [--hosts LIST] [extra flags...]
set -euo pipefail
bin=$1 src=$2 trace=$src/$3 mode=$4 scale=$5 servers=$6
shift 6
hosts=
if [ "${1:-}" = --hosts ]; then hosts=$2; shift 2; fi
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
cat > "$tmp/cluster.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = $servers
gpus_per_server = 8
cpus_per_server = 24
dram_per_server = 500
sspeed_per_server = 500
INI
"$bin" simulate --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --json --plan-log "$tmp/sim.plan" > "$tmp/sim.json"
if [ -z "$hosts" ]; then
timeout 150 "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --local "$servers" --time-scale "$scale" --run-dir "$tmp/run" --state "$tmp/state.db" \
    --catalog "$src/tests/deploy/catalog.ini" \
    --json --plan-log "$tmp/dep.plan" > "$tmp/dep.json" 2> "$tmp/dep.err" || {
    echo "deploy failed:"; tail -20 "$tmp/dep.err"; exit 1; }
else
IFS=, read -r -a h <<< "$hosts"
[ "${#h[@]}" -eq $(( servers + 1 )) ] || { echo "--hosts: need 1 + $servers addresses"; exit 2; }
for ((i = 1; i <= servers; i++)); do echo "${h[i]},0,0,0,1"; done > "$tmp/workers"
timeout 150 "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --workers "$tmp/workers" --listen "${h[0]}" --time-scale "$scale" --state "$tmp/state.db" \
    -v --json --plan-log "$tmp/dep.plan" > "$tmp/dep.json" 2> "$tmp/dep.err" &
dep=$!; pids+=("$dep")
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err")
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || { echo "deploy did not say where it listens"; cat "$tmp/dep.err"; exit 1; }
# it listens on that address only
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ "${h[0]}" != 127.0.0.1 ]; then
    echo "the scheduler answers on 127.0.0.1 although it was told to listen on ${h[0]}"; exit 1
fi
for ((i = 1; i <= servers; i++)); do
    "$bin" worker --scheduler "${h[0]}:$port" --listen "${h[i]}" --port 0 --gpus 8 \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w$i" -v 2> "$tmp/w$i.err" &
    pids+=($!)
done
wait "$dep" || { echo "deploy failed:"; grep -v '^\[debug\]' "$tmp/dep.err" | tail -20; exit 1; }
# each worker registered under the address it listens on, calling from another one
for ((i = 1; i <= servers; i++)); do
    grep -Eq "server [0-9]+ registered: ${h[i]}:[0-9]+ \(calls from 127.0.0.1\)" "$tmp/dep.err" ||
        { echo "worker on ${h[i]} did not register as itself"; grep registered "$tmp/dep.err"; exit 1; }
done
# jobs were told the scheduler's address, not 127.0.0.1
grep -h "resuming at" "$tmp"/w*/logs/*.log | grep -qv "scheduler ${h[0]}:$port" &&
    { echo "a job was given another scheduler address"; exit 1; }
grep -qh "scheduler ${h[0]}:$port" "$tmp"/w1/logs/*.log || { echo "no job ran on worker 1"; exit 1; }
fi
cat "$tmp/dep.json"
# the job count: the replay trace's lines, or --max-jobs N for any other format
n=$(grep -c . "$trace")
prev=
for a in "$@"; do [ "$prev" = --max-jobs ] && n=$a; prev=$a; done
grep -q "\"jobs_finished\":$n," "$tmp/dep.json" || { echo "not every job finished"; exit 1; }
grep -q '"window_complete":true' "$tmp/dep.json"
grep -q '"jobs_failed":0,' "$tmp/dep.json"
# the same placements, round by round
diff <(grep -v '^finish' "$tmp/sim.plan") <(grep -v '^finish' "$tmp/dep.plan") ||
    { echo "the deployment placed jobs differently from the simulator"; exit 1; }
# per-job JCT within 5 %
join <(grep '^finish' "$tmp/sim.plan" | awk '{print $2, $3}' | sort) \
     <(grep '^finish' "$tmp/dep.plan" | awk '{print $2, $3}' | sort) > "$tmp/jct"
[ "$(wc -l < "$tmp/jct")" -eq "$n" ] || { echo "finish records missing"; exit 1; }
awk '{ d = ($3 - $2) / $2; if (d < 0) d = -d;
       if (d > 0.05) { printf "job %s: JCT %s s deployed vs %s s simulated\n", $1, $3, $2; bad = 1 } }
     END { exit bad }' "$tmp/jct"
# the durable state agrees
if command -v sqlite3 >/dev/null; then
    [ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where state='finished'")" -eq "$n" ]
fi
preempted=$(awk -F: '/^finish/ { split($0, f, " "); delete prev[f[2]]; next }
    { split($2, ids, " "); delete now; for (k in ids) now[ids[k]] = 1
      for (j in prev) if (!(j in now)) p++
      delete prev; for (j in now) prev[j] = 1 }
    END { print p + 0 }' "$tmp/dep.plan")
echo "ok: $n jobs, same plan as simulate ($preempted preemptions), JCTs within 5 %"
