#!/usr/bin/env bash
# deploy --record and deploy --db (issue 10): a live run recorded for replay,
# and stored beside its simulation.
#  replay   deploy --local 2 a trace with --record, --db and --jobs-csv; the
#           record holds every job with its arrival (byte for byte what
#           simulate --record writes for the same trace); `simulate --trace
#           RECORD --plan-log` places the same jobs as `deploy --plan-log`,
#           round by round; `report --run` shows the deployment and its
#           simulation side by side from one --db, and the deployment's row
#           has the deployment's own job count, mean JCT and per-job JCTs.
#  restart  two external workers; the scheduler is SIGKILLed right after a
#           round's arrivals were recorded but before that round's state was
#           committed (SYNERGY_TEST_CRASH_AT=r:4), and the record is given a
#           torn last line (a write cut by a power loss); the scheduler is
#           restarted with the same command (same --state). The record ends
#           with every job exactly once, byte for byte the clean record, and
#           the --db run has every job and every planned round, the rounds
#           before the restart included.
#  service  deploy without --trace (a service) on 2 local workers, 4 jobs
#           submitted online at different times (`synergy submit`) and a 5th,
#           long one cancelled once it runs, stopped with SIGTERM once the 4
#           finished: the record holds the 5 with their submission times and
#           the 5th's cancel ("#cancel,5,T"), and its replay places the same
#           jobs in every round that placed any (the service also plans idle
#           rounds, which the simulator skips), the cancelled job up to its
#           cancel and never after; --db holds the service run beside the
#           replay.
# usage: deploy_record.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
command -v sqlite3 >/dev/null ||
    { echo "FAIL: sqlite3 (CLI) is not installed: run scripts/install-deps.sh"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v "reporting job" "$tmp/dep.err" | tail -20; exit 1; }
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# arrivals inside rounds (not on boundaries), several per round, one alone
cat > "$tmp/trace" <<'T'
0,alexnet,0,3000,4
1,res18,0,6000,4
2,alexnet,0,2000,8
3,res18,120.25,4000,2
4,alexnet,300,3000,8
5,res18,600.5,2500,4
6,alexnet,610,1500,2
7,res18,1000,2000,4
T
n=$(grep -c . "$tmp/trace")
catalog=$src/tests/deploy/catalog.ini
common=(--trace "$tmp/trace" --cluster "$tmp/c.ini" --policy LAS --mode tune)
# what the record must be: the trace as simulate --record writes it
"$bin" simulate "${common[@]}" --record "$tmp/clean.rec" > /dev/null
[ "$(wc -l < "$tmp/clean.rec")" -eq "$n" ] || fail "simulate --record wrote $(wc -l < "$tmp/clean.rec") lines"

case $case in
replay)
    timeout 150 "$bin" deploy "${common[@]}" --local 2 --time-scale 500 --run-dir "$tmp/run" \
        --catalog "$catalog" --record "$tmp/dep.rec" --db "$tmp/r.db" --jobs-csv "$tmp/dep.csv" \
        --plan-log "$tmp/dep.plan" --json > "$tmp/dep.json" 2> "$tmp/dep.err" ||
        fail "deploy failed"
    cat "$tmp/dep.json"
    cmp "$tmp/clean.rec" "$tmp/dep.rec" || { diff "$tmp/clean.rec" "$tmp/dep.rec"; fail "the record is not the trace's jobs"; }
    # the replay of the record places the same jobs round by round
    "$bin" simulate --trace "$tmp/dep.rec" --cluster "$tmp/c.ini" --policy LAS --mode tune \
        --plan-log "$tmp/sim.plan" --db "$tmp/r.db" > /dev/null
    diff <(grep -v '^finish' "$tmp/sim.plan") <(grep -v '^finish' "$tmp/dep.plan") ||
        fail "the replayed record placed jobs differently from the deployment"
    rounds=$(grep -vc '^finish' "$tmp/dep.plan")
    echo "replay: $rounds rounds, the same placements"
    # one database: the deployment (run 1) and its simulation (run 2)
    "$bin" report --db "$tmp/r.db" --run 1,2 --brief | tee "$tmp/report.txt"
    grep -Eq '^ +1 +LAS/tune .*deployed +8 ' "$tmp/report.txt" || fail "report: no deployed row of 8 jobs"
    grep -Eq '^ +2 +LAS/tune dep.rec +8 ' "$tmp/report.txt" || fail "report: no simulated row of 8 jobs"
    "$bin" report --db "$tmp/r.db" --run 1 --format json > "$tmp/report.json"
    want=$(sed -n 's/.*"avg_jct_h":\([0-9.e+-]*\).*/\1/p' "$tmp/dep.json")
    got=$(sqlite3 "$tmp/r.db" "select avg_jct_s / 3600, jobs_finished from runs where id = 1")
    [ "$(sqlite3 "$tmp/r.db" "select kind from batches where id = (select batch_id from runs where id = 1)")" = deploy ] ||
        fail "run 1's batch is not a deployment"
    grep -q "\"jobs_finished\":${got#*|}," "$tmp/dep.json" || fail "stored job count ${got#*|} is not the deployment's"
    awk -v a="${got%|*}" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }' ||
        fail "stored mean JCT ${got%|*} h is not the deployment's $want h"
    # every job's JCT as the deployment measured it
    sqlite3 -separator ' ' "$tmp/r.db" "select job_id, jct_s from jobs where run_id = 1 order by job_id" > "$tmp/db.jct"
    tail -n +2 "$tmp/dep.csv" | awk -F, '{ print $3, $9 }' | sort -n > "$tmp/csv.jct"
    [ "$(wc -l < "$tmp/db.jct")" -eq "$n" ] || fail "the store holds $(wc -l < "$tmp/db.jct") jobs of the deployment"
    join "$tmp/db.jct" "$tmp/csv.jct" | awk -v n="$n" '{ d = $2 - $3; if (d < 0) d = -d; if (d > 1e-6) bad = 1; k++ }
        END { exit bad || k != n }' || fail "stored JCTs differ from the deployment's --jobs-csv"
    [ "$(sqlite3 "$tmp/r.db" "select count(*) from rounds where run_id = 1")" -eq "$rounds" ] ||
        fail "the store does not hold the deployment's $rounds rounds"
    echo "ok: record = trace, replay = deployment round by round, report shows both ($n jobs)"
    ;;
restart)
    port=$(( 20000 + RANDOM % 20000 ))
    printf '127.0.0.1,%d,0,0,1\n127.0.0.1,%d,0,0,1\n' $(( port + 1 )) $(( port + 2 )) > "$tmp/workers"
    for i in 0 1; do
        "$bin" worker --insecure --job-user "$(id -un)" --scheduler "127.0.0.1:$port" \
            --port $(( port + 1 + i )) --gpus 8 --catalog "$catalog" --run-dir "$tmp/w$i" \
            2>> "$tmp/w$i.err" &
        pids+=($!)
    done
    deploy() {
        "$bin" deploy "${common[@]}" --insecure --workers "$tmp/workers" --port "$port" \
            --state "$tmp/state.db" --time-scale 500 --record "$tmp/dep.rec" --db "$tmp/r.db" \
            --json -v >> "$tmp/dep.json" 2>> "$tmp/dep.err" &
        pids+=($!)
    }
    SYNERGY_TEST_CRASH_AT=r:4 deploy
    rc=0; wait $! || rc=$?
    [ $rc = 137 ] || fail "the scheduler should have died of SIGKILL, got $rc"
    grep -q "SYNERGY_TEST_CRASH_AT=r:4" "$tmp/dep.err" || fail "no crash at r:4"
    before=$(wc -l < "$tmp/dep.rec")
    # round 4 (t=900) recorded jobs 5 and 6 (arrived at 600.5 and 610); the state has not seen them
    [ "$before" -eq 7 ] || fail "the record held $before jobs at the crash, want 7 (ids 0-6)"
    printf '7,alexn' >> "$tmp/dep.rec" # torn
    deploy
    wait $! || fail "the restarted scheduler failed"
    grep -q "continuing the run at round" "$tmp/dep.err" || fail "the restart did not continue the run"
    cmp "$tmp/clean.rec" "$tmp/dep.rec" || { diff "$tmp/clean.rec" "$tmp/dep.rec"; fail "the record after the restart is not every job once"; }
    grep -q "\"jobs_finished\":$n," "$tmp/dep.json" || fail "not every job finished"
    rounds=$(grep -o '"rounds":[0-9]*' "$tmp/dep.json" | tail -1 | cut -d: -f2)
    [ "$(sqlite3 "$tmp/r.db" "select count(*) from runs")" = 1 ] || fail "the store should hold one run"
    [ "$(sqlite3 "$tmp/r.db" "select count(*) from jobs")" = "$n" ] || fail "the store lacks jobs"
    [ "$(sqlite3 "$tmp/r.db" "select count(*) from rounds")" = "$rounds" ] ||
        fail "the store holds $(sqlite3 "$tmp/r.db" "select count(*) from rounds") rounds, the run planned $rounds"
    [ "$(sqlite3 "$tmp/r.db" "select min(t_s) from rounds")" = 0.0 ] || fail "the rounds before the restart are missing"
    echo "ok: crash after recording round 4's arrivals, torn line: the record is every job once; the store has $n jobs, $rounds rounds"
    ;;
service)
    "$bin" deploy --cluster "$tmp/c.ini" --policy LAS --mode tune --local 2 --time-scale 300 \
        --run-dir "$tmp/run" --state "$tmp/state.db" --catalog "$catalog" --record "$tmp/dep.rec" \
        --db "$tmp/r.db" --plan-log "$tmp/dep.plan" > "$tmp/dep.out" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    port=
    for _ in $(seq 300); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
        [ -n "$port" ] && break; sleep 0.05
    done
    [ -n "$port" ] || fail "deploy did not say where it listens"
    adm() { "$bin" "$1" --scheduler "127.0.0.1:$port" --insecure "${@:2}"; }
    k=0
    for spec in "res18 4 3000" "alexnet 8 2000" "res18 2 1500" "alexnet 4 1000"; do
        set -- $spec
        for _ in $(seq 100); do # the first waits for the workers to register
            adm submit --model "$1" --gpus "$2" --iterations "$3" > /dev/null 2>&1 && break
            sleep 0.2
        done
        k=$((k + 1))
        sleep 0.7
    done
    # a 5th, long job, cancelled while it runs: the replay must stop it there too
    adm submit --model alexnet --gpus 2 --iterations 100000 > /dev/null || fail "submit job 5"
    state5() { adm queue --all --json | /usr/bin/python3 -c "import json,sys
print([j['state'] for j in json.load(sys.stdin)['jobs'] if j['id'] == 5][0])"; }
    for _ in $(seq 300); do [ "$(state5)" = running ] && break; sleep 0.2; done
    [ "$(state5)" = running ] || fail "job 5 did not start"
    adm cancel 5 > /dev/null || fail "cancel job 5"
    for _ in $(seq 300); do
        [ "$(adm queue --all --json | grep -o '"state":"finished"' | wc -l)" -eq 4 ] && break
        sleep 0.2
    done
    [ "$(adm queue --all --json | grep -o '"state":"finished"' | wc -l)" -eq 4 ] || fail "the 4 jobs did not finish"
    kill -TERM "$dep"
    wait "$dep" || fail "the service did not stop cleanly"
    cat "$tmp/dep.out"
    [ "$(grep -vc '^#' "$tmp/dep.rec")" -eq 5 ] || fail "the record holds $(grep -vc '^#' "$tmp/dep.rec") jobs, want 5"
    grep -v '^#' "$tmp/dep.rec" | cut -d, -f1,2,4,5 | tr '\n' ' ' |
        grep -q '^1,res18,3000,4 2,alexnet,2000,8 3,res18,1500,2 4,alexnet,1000,4 5,alexnet,100000,2 $' ||
        fail "the record is not the submitted jobs: $(cat "$tmp/dep.rec")"
    # submitted at increasing times after the service started, each in its own round or later
    grep -v '^#' "$tmp/dep.rec" | awk -F, 'NR > 1 && $3 <= prev { exit 1 } { prev = $3 } END { exit !(prev > 0) }' ||
        fail "the arrivals are not the submission times: $(cut -d, -f3 "$tmp/dep.rec" | tr '\n' ' ')"
    # job 5's cancel, at a boundary (rounds of 300 s) after it started running
    cancel=$(grep '^#' "$tmp/dep.rec") || fail "no cancel line: $(cat "$tmp/dep.rec")"
    awk -v c="$cancel" 'BEGIN { n = split(c, f, ","); exit !(n == 3 && f[1] == "#cancel" && f[2] == 5 && f[3] % 300 == 0) }' ||
        fail "job 5's cancel line is '$cancel'"
    grep -qE "^[0-9.]+:(.* )?5( |\$)" "$tmp/dep.plan" || fail "job 5 never ran before its cancel"
    awk -F: -v c="${cancel##*,}" '$1 !~ /^finish/ && $1 + 0 >= c + 0 && $2 ~ / 5( |$)/ { bad = 1 } END { exit bad }' \
        "$tmp/dep.plan" || fail "job 5 was placed at or after its cancel"
    "$bin" simulate --trace "$tmp/dep.rec" --cluster "$tmp/c.ini" --policy LAS --mode tune \
        --plan-log "$tmp/sim.plan" --db "$tmp/r.db" > /dev/null
    diff <(grep -v '^finish' "$tmp/sim.plan" | grep -v ':$') <(grep -v '^finish' "$tmp/dep.plan" | grep -v ':$') ||
        fail "the replayed record placed jobs differently from the service"
    placed=$(grep -v '^finish' "$tmp/sim.plan" | grep -vc ':$')
    [ "$placed" -ge 4 ] || fail "only $placed rounds placed jobs"
    "$bin" report --db "$tmp/r.db" --run 1,2 --brief | tee "$tmp/report.txt"
    grep -Eq '^ +1 +LAS/tune deployed +4 ' "$tmp/report.txt" || fail "report: no deployed row of 4 jobs"
    grep -Eq '^ +2 +LAS/tune( +dep.rec)? +4 ' "$tmp/report.txt" || fail "report: no simulated row of 4 jobs"
    echo "ok: 5 online submissions recorded, one cancelled while it ran ($cancel); the replay placed them as the service did in $placed rounds"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
