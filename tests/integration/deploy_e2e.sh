#!/usr/bin/env bash
# End-to-end deployment: replay a trace with `synergy deploy --local N` (N
# workers x 8 simulated GPUs on 127.0.0.1, stand-in jobs) at time scale K and
# compare with `synergy simulate` on the same trace, policy and mode: every
# job finishes, every round places the same jobs (so the same jobs are
# preempted in the same rounds), each job's JCT is within 5 % of simulate's
# plus the lateness the run measured and reports for it, and the SQLite state
# records every job as finished.
# The lateness: deploy's plan log ends each job with `finish ID JCT LATE`,
# LATE the part of its JCT after its last round's boundary (its last round
# ended late: a slow process start, a starved job or RPC on a loaded
# machine, times K). Everything before that boundary is the plan's, so the
# bound (JCT - LATE within 5 %) holds however loaded the machine is, and
# LATE is printed.
# Extra flags go to both simulate and deploy, so any trace format the workload
# loader reads is deployed the same way (a non-replay trace needs --max-jobs N).
# Two checks do not lean on the core that simulate and deploy share: every
# job's stand-in logs (worker side) must show it ran exactly its trace's
# iterations, each attempt resuming where the previous one ended; and the
# preemption count (deploy's own, simulate's in its results store, and a
# recount from the plan log) must agree, and equal --expect-preemptions N
# when given. --expect-jct S: a one-job trace's JCT, worked out by hand, that
# the deployment must meet within 5 %.
# With --hosts SCHED,W0,W1,... (loopback addresses standing for hosts) the
# scheduler listens on SCHED only and one `synergy worker` per server listens
# on W<i> with port 0, named in a workers file by address (rows ip,0,...):
# workers call out from 127.0.0.1, not from the address they listen on.
# --cluster-ini FILE (under SRCDIR): that cluster instead of SERVERS x 8 GPUs; with GPU
# types, every worker must register with its server's type (deploy -v says so).
# usage: deploy_e2e.sh SYNERGY SRCDIR TRACE MODE TIME_SCALE SERVERS [--hosts LIST]
#        [--cluster-ini FILE] [--expect-preemptions N] [--expect-jct S] [extra flags...]
set -euo pipefail
bin=$1 src=$2 trace=$src/$3 mode=$4 scale=$5 servers=$6
shift 6
hosts= want_preempt= want_jct= cluster_ini=
while [ $# -gt 0 ]; do
    case $1 in
        --hosts) hosts=$2; shift 2 ;;
        --cluster-ini) cluster_ini=$src/$2; shift 2 ;;
        --expect-preemptions) want_preempt=$2; shift 2 ;;
        --expect-jct) want_jct=$2; shift 2 ;;
        *) break ;;
    esac
done
command -v sqlite3 >/dev/null ||
    { echo "FAIL: sqlite3 (CLI) is not installed: run scripts/install-deps.sh"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() { # stop, then wait before removing: a stopping job may still write its checkpoint
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
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
# a cluster of its own (servers that differ): its workers get their server's
# GPUs and --gpu-type from deploy --local, and must report that type
[ -n "$cluster_ini" ] && cp "$cluster_ini" "$tmp/cluster.ini"
verbose=()
grep -q '^gpu_type' "$tmp/cluster.ini" && verbose=(-v) # registrations are logged at info
"$bin" simulate --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --json --plan-log "$tmp/sim.plan" --db "$tmp/sim.db" > "$tmp/sim.json"
if [ -z "$hosts" ]; then
timeout 150 "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --local "$servers" --time-scale "$scale" --run-dir "$tmp/run" --state "$tmp/state.db" \
    --catalog "$src/tests/deploy/catalog.ini" "${verbose[@]}" \
    --json --plan-log "$tmp/dep.plan" > "$tmp/dep.json" 2> "$tmp/dep.err" || {
    echo "deploy failed:"; tail -20 "$tmp/dep.err"; exit 1; }
else
IFS=, read -r -a h <<< "$hosts"
[ "${#h[@]}" -eq $(( servers + 1 )) ] || { echo "--hosts: need 1 + $servers addresses"; exit 2; }
for ((i = 1; i <= servers; i++)); do echo "${h[i]},0,0,0,1"; done > "$tmp/workers"
timeout 150 "$bin" deploy --trace "$trace" --cluster "$tmp/cluster.ini" --mode "$mode" "$@" \
    --insecure --workers "$tmp/workers" --listen "${h[0]}" --time-scale "$scale" --state "$tmp/state.db" \
    -v --json --plan-log "$tmp/dep.plan" > "$tmp/dep.json" 2> "$tmp/dep.err" &
dep=$!; pids+=("$dep")
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || { echo "deploy did not say where it listens"; cat "$tmp/dep.err"; exit 1; }
# it listens on that address only
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ "${h[0]}" != 127.0.0.1 ]; then
    echo "the scheduler answers on 127.0.0.1 although it was told to listen on ${h[0]}"; exit 1
fi
for ((i = 1; i <= servers; i++)); do
    "$bin" worker --insecure --job-user "$(id -un)" --scheduler "${h[0]}:$port" --listen "${h[i]}" --port 0 --gpus 8 \
        --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w$i" -v 2> "$tmp/w$i.err" &
    pids+=($!)
done
wait "$dep" || { echo "deploy failed:"; grep -v '\[debug\]' "$tmp/dep.err" | tail -20; exit 1; }
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
# servers of GPU types: each worker registered with its server's type (the
# scheduler refuses any other), and the JSON breaks the run down by type
if grep -q '^gpu_type' "$tmp/cluster.ini"; then
    [ "$(grep -cE 'server [0-9]+ registered: .* GPU\(s\) of type ' "$tmp/dep.err")" -eq "$servers" ] ||
        { echo "not every worker registered with a GPU type"; grep registered "$tmp/dep.err"; exit 1; }
    grep -q '"by_gpu_type":{' "$tmp/dep.json" || { echo "no by_gpu_type in the JSON"; exit 1; }
fi
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
# per-job JCT within 5 % of simulate's plus the job's measured lateness
join <(grep '^finish' "$tmp/sim.plan" | awk '{print $2, $3}' | sort) \
     <(grep '^finish' "$tmp/dep.plan" | awk '{print $2, $3, $4}' | sort) > "$tmp/jct"
[ "$(wc -l < "$tmp/jct")" -eq "$n" ] || { echo "finish records missing"; exit 1; }
awk -v k="$scale" '
     NF != 4 || $4 < 0 { printf "job %s: no lateness in the finish record\n", $1; bad = 1; next }
     { if ($3 - $4 > $2 * 1.05 || $3 < $2 * 0.95) {
           printf "job %s: JCT %s s deployed (%s s of it late) vs %s s simulated\n", $1, $3, $4, $2
           bad = 1 }
       if ($4 > 0) { late++; if ($4 > max) max = $4 } }
     END { printf "lateness: %d of %d jobs ended their last round late, at most %.1f s (%.0f ms wall)\n",
                  late, NR, max, max / k * 1000
           exit bad }' "$tmp/jct"
# the durable state agrees
[ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where state='finished'")" -eq "$n" ] ||
    { echo "the state database does not record every job as finished"; exit 1; }
# worker side: each job's attempts, in order, resume where the last one ended
# and the last completes at the trace's iteration count; the ranks of one
# attempt (a job spread over workers) must agree
if [ "$(awk -F, 'NR == 1 { print NF }' "$trace")" = 5 ] && [ "$(grep -c . "$trace")" -eq "$n" ]; then
    cut -d, -f1,4 "$trace" | tr , ' ' > "$tmp/totals"
else # another format: the trace's columns differ; take the total the job was given
    sqlite3 -separator ' ' "$tmp/sim.db" "select job_id, 0 from jobs" > "$tmp/totals"
fi
shopt -s nullglob
while read -r id total; do
    # --local: run/worker-N/logs; --hosts: wN/logs
    files=("$tmp"/run/worker-*/logs/job-"$id"-attempt-*.log "$tmp"/w*/logs/job-"$id"-attempt-*.log)
    [ ${#files[@]} -gt 0 ] || { echo "job $id: no stand-in log on any worker"; exit 1; }
    logs=$(printf '%s\n' "${files[@]}" |
           awk -F'attempt-' '{ split($2, a, "."); print a[1], $0 }' | sort -n | cut -d' ' -f2-)
    # shellcheck disable=SC2086
    verdict=$(awk -v id="$id" -v total="$total" '
        FNR == 1 { nf++; a = FILENAME; sub(/.*attempt-/, "", a); sub(/[.]log$/, "", a)
                   att[nf] = a + 0; kind[nf] = "" }
        /resuming at/ { res[nf] = $6 + 0; of[nf] = $8 + 0 }
        /lease ended at/ { endv[nf] = $NF + 0; kind[nf] = "ended" }
        /complete at/ { endv[nf] = $NF + 0; kind[nf] = "complete" }
        END {
            if (total == 0) total = of[1]
            prev = 0; pa = -1
            for (i = 1; i <= nf; i++) {
                if (of[i] != total) bad = bad " attempt " att[i] " was given " of[i] " iterations, not " total
                if (kind[i] == "") bad = bad " attempt " att[i] " ended without a word"
                if (att[i] == pa) {
                    if (res[i] != res[i - 1] || endv[i] != endv[i - 1] || kind[i] != kind[i - 1])
                        bad = bad " the ranks of attempt " att[i] " disagree"
                    continue
                }
                if (res[i] != prev) bad = bad " attempt " att[i] " resumed at " res[i] " after " prev
                prev = endv[i]; pa = att[i]; last = kind[i]
            }
            if (last != "complete") bad = bad " never complete"
            else if (prev != total) bad = bad " complete at " prev " of " total
            print bad == "" ? "ok" : "job " id ":" bad
        }' $logs)
    [ "$verdict" = ok ] || { echo "worker logs: $verdict"; exit 1; }
done < "$tmp/totals"
# preemptions: deploy's count, simulate's (results store), the plan log's
preempted=$(awk -F: '/^finish/ { split($0, f, " "); delete prev[f[2]]; next }
    { split($2, ids, " "); delete now; for (k in ids) now[ids[k]] = 1
      for (j in prev) if (!(j in now)) p++
      delete prev; for (j in now) prev[j] = 1 }
    END { print p + 0 }' "$tmp/dep.plan")
dep_preempt=$(grep -o '"preemptions":[0-9]*' "$tmp/dep.json" | cut -d: -f2)
sim_preempt=$(sqlite3 "$tmp/sim.db" "select coalesce(sum(preemptions), 0) from jobs")
[ "$dep_preempt" = "$preempted" ] && [ "$sim_preempt" = "$preempted" ] ||
    { echo "preemptions: deploy $dep_preempt, simulate $sim_preempt, plan log $preempted"; exit 1; }
if [ -n "$want_preempt" ] && [ "$preempted" != "$want_preempt" ]; then
    echo "preemptions: $preempted, want $want_preempt"; exit 1
fi
if [ -n "$want_jct" ]; then
    [ "$n" -eq 1 ] || { echo "--expect-jct needs a one-job trace"; exit 1; }
    awk -v want="$want_jct" '{ d = ($3 - $4 - want) / want; if (d < 0) d = -d
         if (d > 0.05) { printf "JCT %s s deployed (%s s of it late), %s s by hand\n", $3, $4, want; bad = 1 } }
         END { exit bad }' "$tmp/jct"
    awk -v want="$want_jct" '$2 + 0 != want + 0 { printf "JCT %s s simulated, %s s by hand\n", $2, want; bad = 1 }
         END { exit bad }' "$tmp/jct"
fi
echo "ok: $n jobs, same plan as simulate ($preempted preemptions), JCTs within 5 % (plus lateness)," \
     "worker logs show every job's iterations run once"
