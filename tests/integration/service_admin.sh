#!/usr/bin/env bash
# A deployment as a service (issue 10, online submission): `synergy deploy`
# without --trace on 2 local workers (stand-in jobs, 5 s rounds at time scale
# 60) and its admin clients.
#  e2e  submit 6 jobs at different times, see them in `queue` (table and
#       --json, parsed with /usr/bin/python3), cancel one once it arrived (the
#       last, an 8-GPU job waiting for the whole cluster, so it never ran) and
#       see it leave the queue, list `nodes`; the other 5 finish with executed
#       == total; SIGTERM stops the service cleanly. The service runs with
#       --record and --db: the record holds the 6 jobs that arrived, with
#       their submission times, and job 6's cancel ("#cancel,6,T", T the
#       boundary that applied it); `simulate --trace RECORD --plan-log` places
#       the same jobs as `deploy --plan-log` in every round that placed any,
#       job 6 included (without its cancel it would run alone at the end);
#       `report` shows the deployment and the replay (5 jobs, window complete)
#       side by side from one --db.
#  bad  11 kinds of bad submission and 2 bad cancels against a deployment
#       running jobs: each gets a one-line error and exit 2, and the queue
#       (ids, names, models, sizes; nothing cancelled) is unchanged after
#       each; the next good submission gets the next id (none was used up).
#  restart  submissions survive a scheduler crash: 3 jobs submitted (one
#       cancelled), the scheduler SIGKILLed while they run and restarted with
#       the same command and --state: the queue lists the same jobs (ids,
#       names, users, models, sizes, arrivals; the cancelled one still
#       cancelled), the two others finish with executed == total, and the next
#       submission gets the next id.
#  types  two servers of GPU types V100 and K80: a job submitted with --gpu-type
#       K80 runs on the K80 server with the V100 idle, one allowed either runs
#       on the V100; `nodes` shows each server's type; unknown types and more
#       GPUs than the allowed types have are refused; a worker reporting K80
#       for the V100 row is refused.
#  consistent  nodes, queue and /metrics give a job that exited mid-round the
#       same GPUs until the round that records its end (issue 21, finding 12).
#  tls  under mutual TLS (scripts/make-certs.sh) the admin's certificate may
#       use the service; a worker's certificate (not in --admins) is refused
#       PERMISSION_DENIED and changes nothing; a plaintext client is refused;
#       a scheduler presenting worker-1's certificate is refused by the admin
#       client (issue 21, finding 5), unless told --scheduler-identity worker-1.
# usage: service_admin.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() { # stop, then wait before removing: a stopping job may still write its checkpoint
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v 'cgroup\|CPUs per server' "$tmp/dep.err" | tail -20; exit 1; }

printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\n' > "$tmp/c.ini"
printf 'cpus_per_server = 12\ndram_per_server = 200\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
scale=60

wait_port() { # [the deploy's stderr, default dep.err]
    port=
    for _ in $(seq 300); do
        # (the background deploy may not have opened dep.err yet)
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' \
               "${1:-$tmp/dep.err}" 2>/dev/null || true)
        [ -n "$port" ] && return 0; sleep 0.05
    done
    fail "deploy did not say where it listens"
}
start_local() { # extra deploy flags
    "$bin" deploy --cluster "$tmp/c.ini" --local 2 --time-scale $scale --run-dir "$tmp/run" \
        --state "$tmp/state.db" --catalog "$src/tests/deploy/catalog.ini" \
        --plan-log "$tmp/dep.plan" "$@" > "$tmp/dep.out" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    wait_port
    S=127.0.0.1:$port
}
adm() { "$bin" "$1" --scheduler "$S" --insecure "${@:2}"; }
# submit until the round loop runs (it refuses submissions while workers register)
submit_first() {
    local out
    for _ in $(seq 100); do
        out=$(adm submit "$@" 2>/dev/null) && { echo "$out"; return 0; }
        sleep 0.2
    done
    fail "no submission accepted"
}
qjson() { adm queue --json "$@"; }
# field F of job ID in queue --all --json
jfield() { qjson --all | "$py" -c "import json,sys; q=json.load(sys.stdin); print([j for j in q['jobs'] if j['id']==$1][0]['$2'])"; }

case $case in
e2e)
    start_local --record "$tmp/dep.rec" --db "$tmp/r.db"
    grep -q "admin service in PLAINTEXT on loopback" "$tmp/dep.err" || fail "no plaintext warning"
    grep -q "no --trace: running as a service" "$tmp/dep.err" || fail "no service notice"
    ids=()
    ids+=("$(submit_first --model res18 --gpus 2 --iterations 900 --name first)")
    # the others at different times, every 1.5 s (about a third of a round)
    for spec in "alexnet 1 --iterations 700" "res50 4 --hours 0.25" "gnmt 2 --iterations 600" \
                "lstm 1 --iterations 800" "mobilenet 8 --iterations 700"; do
        sleep 1.5
        set -- $spec
        id=$(adm submit --model "$1" --gpus "$2" "$3" "$4" --name "job-$1") || fail "submit $spec"
        ids+=("$id")
    done
    echo "submitted: ${ids[*]}"
    [ "${ids[*]}" = "1 2 3 4 5 6" ] || fail "ids ${ids[*]}, expected 1 .. 6"
    # --all: on a loaded machine the submissions are slow, and job 1 may be done already
    table=$(adm queue --all)
    echo "$table"
    for i in "${ids[@]}"; do
        grep -qE "^ +$i " <<<"$table" || fail "job $i not in the queue table"
    done
    grep -qE "^ +1 first +local +- +res18 " <<<"$table" || fail "job 1's row: name, user, model"
    # the JSON: six jobs, their sizes and totals as submitted, arrivals increasing
    qjson --all > "$tmp/q.json"
    "$py" - "$tmp/q.json" <<'PY' || fail "queue --json"
import json, sys
q = json.load(open(sys.argv[1]))
jobs = {j["id"]: j for j in q["jobs"]}
assert sorted(jobs) == [1, 2, 3, 4, 5, 6], sorted(jobs)
want = {1: ("res18", 2, 900), 2: ("alexnet", 1, 700), 4: ("gnmt", 2, 600), 5: ("lstm", 1, 800),
        6: ("mobilenet", 8, 700)}
for i, (m, g, t) in want.items():
    assert (jobs[i]["model"], jobs[i]["gpus"], jobs[i]["total"]) == (m, g, t), jobs[i]
assert jobs[3]["model"] == "res50" and jobs[3]["gpus"] == 4 and jobs[3]["total"] > 0
arr = [jobs[i]["arrival_s"] for i in range(1, 7)]
assert arr == sorted(arr) and arr[5] - arr[0] > 4 * 60, arr   # 7.5 s wall x 60
for j in q["jobs"]:
    assert j["user"] == "local" and j["state"] in ("pending", "queued", "running", "finished"), j
print("queue --json: 6 jobs, arrivals %s" % ["%.0f" % a for a in arr])
PY
    # job 6 (8 GPUs: it waits for the whole cluster) arrives, is cancelled and leaves the
    # queue (if the machine is so slow that the others are done by then, it runs a little)
    for _ in $(seq 100); do
        st6=$(jfield 6 state); [ "$st6" = queued ] || [ "$st6" = running ] && break; sleep 0.2
    done
    [ "$st6" = queued ] || [ "$st6" = running ] || fail "job 6 is $st6, not queued (arrived)"
    adm cancel 6 | grep -qx "cancelled 6" || fail "cancel 6"
    gone=
    for _ in $(seq 100); do
        if ! qjson | "$py" -c "import json,sys; sys.exit(any(j['id']==6 for j in json.load(sys.stdin)['jobs']))"; then
            :
        else gone=1; break; fi
        sleep 0.2
    done
    [ -n "$gone" ] || fail "job 6 still in the queue after its cancel"
    [ "$(jfield 6 state)" = cancelled ] || fail "job 6 is $(jfield 6 state), not cancelled"
    [ "$st6" = running ] || { [ "$(jfield 6 attempt)" = 0 ] && [ "$(jfield 6 executed)" = 0 ]; } ||
        fail "job 6 ran"
    echo "job 6 cancelled ($st6 when cancelled) and gone from the queue (queue --all: cancelled)"
    nodes=$(adm nodes)
    echo "$nodes"
    [ "$(grep -cE '^ +[01] 127\.0\.0\.1:[0-9]+ +- +up +[0-4]/4 ' <<<"$nodes")" = 2 ] ||
        fail "nodes: two servers up with 4 GPUs each"
    adm nodes --json | "$py" -c "
import json,sys
n=json.load(sys.stdin)['nodes']
assert len(n)==2 and all(x['gpus_total']==4 and x['cpus_total']==12 and x['mem_total_gb']==200 and 0<=x['heartbeat_age_s']<5 for x in n), n" ||
        fail "nodes --json"
    # the other five finish, every iteration done
    done5=
    for _ in $(seq 300); do
        n=$(qjson --all | "$py" -c "import json,sys; print(sum(j['state']=='finished' and j['executed']==j['total'] for j in json.load(sys.stdin)['jobs']))")
        [ "$n" = 5 ] && { done5=1; break; }
        sleep 0.5
    done
    [ -n "$done5" ] || { adm queue --all; fail "the five jobs did not all finish"; }
    adm queue --all
    [ -z "$(adm queue | tail -n +2)" ] || fail "the default queue still lists jobs"
    kill -TERM "$dep"
    rc=0; wait "$dep" || rc=$?
    [ $rc = 0 ] || fail "deploy exited $rc after SIGTERM"
    grep -qE "deployed a service on 2 workers \(time scale $scale\): 5 of 6 jobs finished" \
        "$tmp/dep.out" || fail "summary: $(cat "$tmp/dep.out")"
    # every finished job's rounds are in the plan log
    for i in 1 2 3 4 5; do grep -q "^finish $i " "$tmp/dep.plan" || fail "no finish $i in the plan log"; done
    [ "$st6" = running ] || ! grep -qE "^[0-9.]+:.* 6( |\$)" "$tmp/dep.plan" ||
        fail "the cancelled job 6 was placed"
    # the record: jobs 1-6 as submitted, then job 6's cancel at a boundary after its arrival
    grep -v '^#' "$tmp/dep.rec" | cut -d, -f1,2,4,5 | tr '\n' ' ' |
        grep -q '^1,res18,900,2 2,alexnet,700,1 3,res50,[0-9]*,4 4,gnmt,600,2 5,lstm,800,1 6,mobilenet,700,8 $' ||
        fail "the record is not the submitted jobs: $(cat "$tmp/dep.rec")"
    nrec=$(grep -vc '^#' "$tmp/dep.rec")
    cancel=$(grep '^#' "$tmp/dep.rec") || fail "the record has no cancel line: $(cat "$tmp/dep.rec")"
    arr6=$(grep '^6,' "$tmp/dep.rec" | cut -d, -f3)
    awk -v c="$cancel" -v a="$arr6" 'BEGIN { n = split(c, f, ",")
        exit !(n == 3 && f[1] == "#cancel" && f[2] == 6 && f[3] % 300 == 0 && f[3] >= a) }' ||
        fail "job 6's cancel line '$cancel' is not at a round boundary after its arrival ($arr6 s)"
    "$bin" simulate --trace "$tmp/dep.rec" --cluster "$tmp/c.ini" --plan-log "$tmp/sim.plan" \
        --db "$tmp/r.db" > /dev/null
    # rounds that placed jobs (the service also plans idle rounds, the simulator does not)
    placing() { grep -v '^finish' "$1" | grep -v ':$'; }
    diff <(placing "$tmp/sim.plan") <(placing "$tmp/dep.plan") ||
        fail "the replayed record placed jobs differently from the service"
    echo "replay of the record ($nrec jobs, $cancel): the same placements in $(placing "$tmp/dep.plan" | wc -l) rounds"
    "$bin" report --db "$tmp/r.db" --run 1,2 --brief | tee "$tmp/report.txt"
    grep -Eq '^ +1 +FIFO/fair deployed +5 ' "$tmp/report.txt" || fail "report: no deployed row of 5 jobs"
    ! grep -q 'window incomplete' "$tmp/report.txt" || fail "report: a window incomplete"
    grep -Eq "^ +2 +FIFO/fair( +dep.rec)? +5 " "$tmp/report.txt" ||
        fail "report: no simulated row of 5 jobs (job 6 cancelled in the replay too)"
    echo "PASS: 6 submitted, 1 cancelled, 5 finished with executed == total"
    ;;
bad)
    start_local
    first=$(submit_first --model res50 --gpus 2 --hours 5 --name keep)
    adm submit --model alexnet --gpus 1 --hours 5 > /dev/null
    snap() { qjson --all | "$py" -c "
import json,sys
q=json.load(sys.stdin)
print(sorted((j['id'],j['name'],j['user'],j['model'],j['gpus'],j['total'],round(j['arrival_s'],3),j['priority'],j['state'] in ('cancelled','cancelling')) for j in q['jobs']))"; }
    before=$(snap)
    echo "queue: $before"
    n=0
    bad() { # WHAT WANT -- command args
        local what=$1 want=$2 err rc=0
        shift 3
        err=$("$bin" "$@" --scheduler "$S" --insecure 2>&1 >/dev/null) || rc=$?
        [ $rc = 2 ] || fail "$what: exit $rc (wanted 2): $err"
        [ "$(grep -c . <<<"$err")" = 1 ] || fail "$what: not one line: $err"
        [[ $err == *"$want"* ]] || fail "$what: '$err' lacks '$want'"
        [ "$(snap)" = "$before" ] || fail "$what: the queue changed: $(snap)"
        n=$((n+1))
        echo "  $what: $err"
    }
    bad "unknown model" "unknown model 'resnet9000'" -- submit --model resnet9000 --gpus 1 --iterations 10
    bad "more GPUs than the cluster" "9 GPUs: the cluster has 8" -- submit --model res18 --gpus 9 --iterations 10
    bad "zero GPUs" "--gpus: '0' must be an integer in 1.." -- submit --model res18 --gpus 0 --iterations 10
    bad "zero iterations" "--iterations: must be a whole number, at least 1" -- submit --model res18 --gpus 1 --iterations 0
    bad "negative hours" "hours must be more than 0" -- submit --model res18 --gpus 1 --hours -2
    bad "both amounts" "exactly one of --iterations N and --hours H" -- submit --model res18 --gpus 1 --iterations 5 --hours 1
    bad "no amount" "exactly one of --iterations N and --hours H" -- submit --model res18 --gpus 1
    bad "duplicate name" "name 'keep' is taken" -- submit --model res18 --gpus 1 --iterations 10 --name keep
    bad "bad priority" "priority 101: must be 0 to 100" -- submit --model res18 --gpus 1 --iterations 10 --priority 101
    bad "name with a space" "name: at most 63 characters" -- submit --model res18 --gpus 1 --iterations 10 --name "a b"
    bad "name too long" "name: at most 63 characters" -- submit --model res18 --gpus 1 --iterations 10 --name "$(printf 'x%.0s' $(seq 64))"
    bad "cancel of an unknown id" "no job 77" -- cancel 77
    bad "cancel with one unknown id" "no job 78" -- cancel "$first" 78
    echo "$n bad requests refused, the queue unchanged after each"
    [ $n = 13 ] || fail "ran $n of 13"
    # no id was used up by a refused submission
    next=$(adm submit --model res18 --gpus 1 --iterations 10 --name keep2)
    [ "$next" = $((first + 2)) ] || fail "the next id is $next, not $((first + 2))"
    echo "PASS: the next submission got id $next"
    ;;
restart)
    start_local
    submit_first --model res18 --gpus 2 --iterations 1500 --name r1 > /dev/null
    adm submit --model alexnet --gpus 4 --iterations 1200 --name r2 > /dev/null
    adm submit --model res50 --gpus 8 --hours 3 --name r3 > /dev/null
    adm cancel 3 > /dev/null
    ident() { qjson --all | "$py" -c "
import json,sys
print(sorted((j['id'],j['name'],j['user'],j['model'],j['gpus'],j['total'],round(j['arrival_s'],3),j['state'] in ('cancelled','cancelling')) for j in json.load(sys.stdin)['jobs']))"; }
    for _ in $(seq 100); do
        [ "$(jfield 1 state)" = running ] && [ "$(jfield 2 state)" = running ] && break
        sleep 0.2
    done
    [ "$(jfield 1 state)" = running ] || fail "job 1 did not start"
    before=$(ident)
    echo "before the crash: $before"
    kill -9 "$dep"
    wait "$dep" 2>/dev/null || true
    : > "$tmp/dep.err"
    start_local -v
    grep -q "continuing the run at round" "$tmp/dep.err" || fail "the restart did not continue the run"
    after=$(ident)
    echo "after the restart: $after"
    [ "$before" = "$after" ] || fail "the queue changed across the restart"
    [ "$(jfield 3 state)" = cancelled ] || fail "job 3 is $(jfield 3 state) after the restart"
    for _ in $(seq 300); do
        n=$(qjson --all | "$py" -c "import json,sys; print(sum(j['state']=='finished' and j['executed']==j['total'] for j in json.load(sys.stdin)['jobs']))")
        [ "$n" = 2 ] && break
        sleep 0.5
    done
    [ "$n" = 2 ] || { adm queue --all; fail "jobs 1 and 2 did not finish after the restart"; }
    next=$(adm submit --model res18 --gpus 1 --iterations 10)
    [ "$next" = 4 ] || fail "the next id after the restart is $next, not 4"
    echo "PASS: 3 submissions survived a SIGKILL; 1 and 2 finished, 3 stayed cancelled, next id 4"
    ;;
tls)
    command -v openssl >/dev/null || fail "openssl is not installed"
    "$src/scripts/make-certs.sh" -o "$tmp/certs" -w 2 -a 127.0.0.1 > /dev/null
    C=$tmp/certs
    tls() { echo "--tls-ca $C/ca.pem --tls-cert $C/$1.pem --tls-key $C/$1.key"; }
    # a bad --admins file: file:line, exit 2, before anything starts
    printf 'admin\nops team\n' > "$tmp/bad-admins"
    printf '127.0.0.1,0,0,0,1\n127.0.0.1,0,0,0,1\n' > "$tmp/workers"
    for a in "$tmp/bad-admins" "$tmp/none"; do
        rc=0
        "$bin" deploy --cluster "$tmp/c.ini" --workers "$tmp/workers" $(tls scheduler) \
            --admins "$a" 2> "$tmp/adm.err" > /dev/null || rc=$?
        err=$(grep -v '^synergy deploy: mutual TLS' "$tmp/adm.err")
        [ $rc = 2 ] && [ "$(grep -c . <<<"$err")" = 1 ] || fail "--admins $a: exit $rc: $err"
        case $a in
        *bad-admins) want="$a:2: expected one certificate identity per line" ;;
        *) want="$a: No such file or directory" ;;
        esac
        [[ $err == *"$want"* ]] || fail "--admins $a: '$err' lacks '$want'"
        echo "  --admins $(basename "$a"): $err"
    done
    printf '# admins of this test\nadmin\n' > "$tmp/admins"
    printf '127.0.0.1,0,0,0,1\n127.0.0.1,0,0,0,1\n' > "$tmp/workers"
    "$bin" deploy --cluster "$tmp/c.ini" --workers "$tmp/workers" $(tls scheduler) \
        --admins "$tmp/admins" --time-scale $scale --state "$tmp/state.db" \
        > "$tmp/dep.out" 2> "$tmp/dep.err" &
    dep=$!; pids+=("$dep")
    wait_port
    S=127.0.0.1:$port
    grep -q "admin service (submit, queue, cancel, nodes): 1 admin identity from $tmp/admins" \
        "$tmp/dep.err" || fail "deploy does not say who the admins are"
    for i in 0 1; do
        "$bin" worker --scheduler "$S" --server-id "$i" --port 0 --gpus 4 $(tls "worker-$i") \
            --job-user "$(id -un)" --catalog "$src/tests/deploy/catalog.ini" \
            --run-dir "$tmp/w$i" 2> "$tmp/w$i.err" &
        pids+=("$!")
    done
    as() { local who=$1; shift; "$bin" "$1" --scheduler "$S" $(tls "$who") "${@:2}"; }
    id=
    for _ in $(seq 100); do
        id=$(as admin submit --model res18 --gpus 1 --hours 3 --name tls-job 2>/dev/null) && break
        sleep 0.2
    done
    [ "$id" = 1 ] || fail "the admin's submission: '$id'"
    as admin queue | grep -qE "^ +1 tls-job +admin +- +res18 " || fail "queue: user 'admin'"
    before=$(as admin queue --all --json | "$py" -c "import json,sys; print([(j['id'],j['name'],j['state']=='cancelled') for j in json.load(sys.stdin)['jobs']])")
    for cmd in "submit --model res18 --gpus 1 --iterations 5" "cancel 1" "queue" "nodes"; do
        rc=0; err=$(as worker-0 $cmd 2>&1 >/dev/null) || rc=$?
        [ $rc = 2 ] || fail "worker-0 $cmd: exit $rc"
        [[ $err == *"permission denied: identity 'worker-0' is not in the scheduler's --admins file"* ]] ||
            fail "worker-0 $cmd: $err"
        echo "  worker-0 $cmd: $err"
    done
    rc=0; err=$("$bin" queue --scheduler "$S" --insecure 2>&1 >/dev/null) || rc=$?
    [ $rc = 1 ] || fail "plaintext queue: exit $rc: $err"
    echo "  plaintext queue: $err"
    after=$(as admin queue --all --json | "$py" -c "import json,sys; print([(j['id'],j['name'],j['state']=='cancelled') for j in json.load(sys.stdin)['jobs']])")
    [ "$before" = "$after" ] || fail "the refused calls changed the queue: $after"
    grep -q "admin call from .* refused: identity 'worker-0' is not an admin" "$tmp/dep.err" ||
        fail "the scheduler did not log the refusal"
    # a scheduler presenting a worker's certificate (worker-1's: the right CA,
    # the right address): the admin client refuses it at the handshake, before
    # its request (and the admin's certificate) is any use to it
    "$bin" deploy --cluster "$tmp/c.ini" --workers "$tmp/workers" $(tls worker-1) \
        --admins "$tmp/admins" --time-scale $scale > /dev/null 2> "$tmp/fake.err" &
    pids+=("$!")
    real=$port
    wait_port "$tmp/fake.err"
    F=127.0.0.1:$port; port=$real
    rc=0; err=$("$bin" queue --scheduler "$F" $(tls admin) 2>&1 >/dev/null) || rc=$?
    [ $rc = 1 ] && [ "$(grep -c . <<<"$err")" = 1 ] || fail "queue of a fake scheduler: exit $rc: $err"
    [[ $err == *"refused the server at 127.0.0.1: its certificate is 'worker-1', not the expected 'scheduler'"* ]] ||
        fail "the refusal does not name both identities: $err"
    echo "  queue of a scheduler with worker-1's certificate: $err"
    grep -q "admin call from" "$tmp/fake.err" && fail "the fake scheduler received the admin call"
    # the pin is what refused it: told to expect worker-1, the client asks it
    SYNERGY_SCHEDULER_IDENTITY=worker-1 "$bin" queue --scheduler "$F" $(tls admin) > /dev/null ||
        fail "the client expecting worker-1 was refused"
    echo "PASS: admin accepted; worker-0 and plaintext refused, the queue unchanged; a scheduler with a worker's certificate refused by the admin client"
    ;;
consistent)
    # a job of 20 iterations ends early in its first 5 s round; until the
    # round that records its end, every sample of nodes, queue and /metrics
    # (taken between two equal reads of queue and of the round counter) gives
    # it the same GPUs: nodes freed them at its exit before (issue 21, finding 12)
    start_local -v --metrics-listen 127.0.0.1:0
    mport=
    for _ in $(seq 100); do
        mport=$(sed -n 's|^synergy deploy: metrics at http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' "$tmp/dep.err")
        [ -n "$mport" ] && break; sleep 0.05
    done
    [ -n "$mport" ] || fail "no metrics address"
    submit_first --model res18 --gpus 2 --iterations 20 --name short > /dev/null
    "$py" - "$bin" "$S" "$mport" "$tmp/dep.err" <<'PY' || fail "nodes, queue and /metrics disagree"
import json, subprocess, sys, time, urllib.request
bin, S, mport, log = sys.argv[1:]
def adm(*a):
    return json.loads(subprocess.run([bin, *a, "--scheduler", S, "--insecure", "--json"],
                                     check=True, capture_output=True, text=True).stdout)
def metrics():
    m = {}
    for l in urllib.request.urlopen("http://127.0.0.1:%s/metrics" % mport, timeout=5).read().decode().splitlines():
        if l and l[0] != "#" and "{" not in l:
            k, v = l.split()
            m[k] = float(v)
    return m
def sample():
    q0, m0 = adm("queue", "--all")["jobs"], metrics()
    n = sum(x["gpus_used"] for x in adm("nodes")["nodes"])
    q1, m1 = adm("queue", "--all")["jobs"], metrics()
    if q0 != q1 or m0["synergy_rounds_total"] != m1["synergy_rounds_total"]:
        return None  # a boundary between the reads
    q = sum(j["gpus"] for j in q0 if j["state"] == "running")
    return q, n, m0["synergy_gpus_allocated"], q0[0]["state"]
t_end = time.time() + 40
after_exit = 0
while time.time() < t_end:
    exited = "job 1 attempt 1 exited" in open(log).read()
    s = sample()
    if s is None:
        continue
    q, n, m, state = s
    if state == "finished":
        break
    if exited and state == "running":
        after_exit += 1
        if not q == n == m == 2:
            print("job 1 exited, still running: queue %d GPUs, nodes %d, /metrics %g" % (q, n, m))
            sys.exit(1)
if state != "finished" or after_exit == 0:
    print("no sample between the job's exit and its end: state %s, %d samples" % (state, after_exit))
    sys.exit(1)
print("%d samples between job 1's exit and the round that ended it: queue = nodes = /metrics = 2 GPUs" % after_exit)
PY
    echo "PASS: nodes, queue and /metrics agree until the round that records a job's end"
    ;;
types)
    # two servers of different GPU types; deploy --local gives each worker its type
    cat > "$tmp/c.ini" <<'INI'
[gpu_types]
V100 = 1
K80 = 0.25
[servers v]
count = 1
gpu_type = V100
gpus = 4
cpus = 12
dram_gb = 200
[servers k]
count = 1
gpu_type = K80
gpus = 4
cpus = 12
dram_gb = 200
INI
    start_local
    # a job that may run on K80 only: on server 1 although the V100s are free and faster
    id=$(submit_first --model res18 --gpus 2 --hours 5 --gpu-type K80 --name on-k80)
    any=$(adm submit --model res18 --gpus 1 --hours 5 --gpu-type K80,V100 --name either)
    for _ in $(seq 100); do
        [ "$(jfield "$id" state)" = running ] && [ "$(jfield "$any" state)" = running ] && break
        sleep 0.2
    done
    [ "$(jfield "$id" state)" = running ] || fail "the K80 job is not running"
    [[ $(jfield "$id" servers) == 1:* ]] || fail "the K80 job runs on $(jfield "$id" servers)"
    [[ $(jfield "$any" servers) == 0:* ]] || fail "the V100-or-K80 job runs on $(jfield "$any" servers), not the V100 server"
    nodes=$(adm nodes)
    echo "$nodes"
    grep -qE '^ +0 127\.0\.0\.1:[0-9]+ +- +up .* V100 +-$' <<<"$nodes" || fail "nodes: server 0 is V100"
    grep -qE '^ +1 127\.0\.0\.1:[0-9]+ +- +up .* K80 +-$' <<<"$nodes" || fail "nodes: server 1 is K80"
    adm nodes --json | "$py" -c "
import json,sys
n=json.load(sys.stdin)['nodes']
assert [x['gpu_type'] for x in n] == ['V100', 'K80'], n" || fail "nodes --json: gpu_type"
    for spec in "1 A100|GPU type 'A100' is not in the cluster; it has: V100 K80" \
                "8 K80|8 GPUs: its GPU types have at most 4" \
                "1 V100,,K80|GPU type names separated by ','"; do
        args=${spec%%|*} want=${spec#*|}
        rc=0
        err=$(adm submit --model res18 --gpus "${args% *}" --iterations 10 --gpu-type "${args#* }" \
              2>&1 >/dev/null) || rc=$?
        [ $rc = 2 ] && [[ $err == *"$want"* ]] || fail "--gpu-type $args: exit $rc: $err"
        echo "  --gpu-type $args: $err"
    done
    # a worker of the wrong type for its row is refused, and the row keeps its worker
    timeout 5 "$bin" worker --scheduler "$S" --server-id 0 --port 0 --gpus 4 --gpu-type K80 \
        --insecure --job-user "$(id -un)" --catalog "$src/tests/deploy/catalog.ini" \
        --run-dir "$tmp/wrong" 2> "$tmp/wrong.err" || true
    grep -q "refused: server 0 has V100 GPUs; the worker reports K80" "$tmp/dep.err" ||
        fail "the K80 worker was not refused server 0"
    adm nodes | grep -qE '^ +0 .* +up .* V100 +-$' || fail "server 0 lost its worker"
    echo "PASS: placement by type, nodes show the types, bad --gpu-type refused, a worker of the wrong type refused"
    ;;
*) echo "usage: $0 SYNERGY SRCDIR e2e|bad|tls|restart|types|consistent"; exit 2 ;;
esac
