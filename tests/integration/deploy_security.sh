#!/usr/bin/env bash
# Security of a deployment (issue 10), on loopback with certificates made by
# scripts/make-certs.sh (a CA, the scheduler, two workers, an admin, and a
# second CA for an outsider):
#  tls    a mutual-TLS run completes with the simulator's placements and JCTs
#         (within 5 %, plus the lateness the run measured: deploy_e2e.sh); a
#         plaintext client, a client with a certificate from another CA, a
#         worker presenting another worker's certificate, and a scheduler
#         presenting a worker's certificate (refused by the worker calling it,
#         and by the Python client of a job) are refused, and each refusal is shown.
#  nobody the tls run with jobs as --job-user nobody (CI runs as root): a
#         worker whose CA nobody cannot read refuses to start, in one line, as
#         one whose synergy nobody cannot run does (for --job-user nobody, and
#         for nobody among --job-users), and one listing an unknown account;
#         then every job reads the CA, runs to its end and checkpoints as nobody.
#  forge  while a TLS deployment runs, an unrelated local process sends
#         LeaseEnded, RoundEnd and UpdateIters for other jobs (no token, a
#         wrong token), JobExited and Heartbeat for another worker, a
#         RegisterWorker claiming a real worker's row, RunJob on leased GPUs,
#         a 49-day ExtendLease and KillJob: every one is refused, and every
#         job's JCT equals the undisturbed run's (the simulator's, which an
#         undisturbed deployment matches within 5 %) within 5 %, with the
#         same placements.
# usage: deploy_security.sh SYNERGY SRCDIR CASE
set -euo pipefail
bin=$1 src=$2 case=$3
py=/usr/bin/python3
"$py" -c 'import grpc, grpc_tools' 2>/dev/null ||
    { echo "FAIL: /usr/bin/python3 lacks grpc/grpc_tools: run scripts/install-deps.sh"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl is not installed"; exit 1; }
tmp=$(mktemp -d)
pids=()
wlive=() wlog=() # the latest worker of each row: its pid, its stderr
cleanup() { # stop, then wait before removing: a stopping job may still write its checkpoint
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/dep.err" ] && grep -v '\[debug\]' "$tmp/dep.err" | tail -30; exit 1; }

"$src/scripts/make-certs.sh" -o "$tmp/certs" -w 2 -a 127.0.0.1 > /dev/null
"$src/scripts/make-certs.sh" -o "$tmp/other" -w 2 -a 127.0.0.1 > /dev/null
"$py" "$src/tests/integration/security_probe.py" gen "$tmp/pb" "$src"
C=$tmp/certs
tls() { echo "--tls-ca $C/ca.pem --tls-cert $C/$1.pem --tls-key $C/$1.key"; }
probe() { "$py" "$src/tests/integration/security_probe.py" call "$tmp/pb" "$@"; }
# a call that must be refused with CODE (and print the refusal)
refused() { # CODE TARGET CREDS SERVICE METHOD ARGS...
    local code=$1 out rc=0
    shift
    out=$(probe "$@") || rc=$?
    echo "  $out"
    [ $rc = 0 ] || fail "accepted: $*"
    case $out in *"$code"*) ;; *) fail "refused, but not with $code: $out" ;; esac
}

printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 8\n' > "$tmp/c.ini"
printf 'cpus_per_server = 24\ndram_per_server = 500\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
# rows: 127.0.0.1 port 0 (each worker claims its row with --server-id);
# identities by the default rule (worker-<row>), row 1 written out
printf '127.0.0.1,0,0,0,1\n127.0.0.1,0,0,0,1,worker-1\n' > "$tmp/workers"
# four 8-GPU jobs: two run, two wait; worker 0 is busy from the first round on
printf '0,res18,0,3000,8\n1,alexnet,0,3000,8\n2,res18,0,2000,8\n3,alexnet,0,2000,8\n' > "$tmp/trace"
scale=200

"$bin" simulate --trace "$tmp/trace" --cluster "$tmp/c.ini" --json --plan-log "$tmp/sim.plan" \
    > "$tmp/sim.json"
"$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --workers "$tmp/workers" \
    $(tls scheduler) --time-scale $scale --state "$tmp/state.db" --json -v \
    --plan-log "$tmp/dep.plan" > "$tmp/dep.json" 2> "$tmp/dep.err" &
dep=$!; pids+=("$dep")
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || fail "deploy did not say where it listens"
grep -q "mutual TLS: workers are authenticated by certificate, jobs by token" "$tmp/dep.err" ||
    fail "deploy does not say it runs mutual TLS"
S=127.0.0.1:$port
juser=$(id -un)
start_worker() { # ROW CERT-IDENTITY [extra]
    local i=$1 id=$2
    shift 2
    "$bin" worker --scheduler "$S" --server-id "$i" --port 0 --gpus 8 $(tls "$id") \
        --job-user "$juser" --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/w$i" \
        -v "$@" 2> "$tmp/w$i-$id.err" &
    wpid=$!; pids+=("$wpid"); wlive[$i]=$wpid; wlog[$i]=$tmp/w$i-$id.err
}

case $case in
tls)
    echo "refusals:"
    # reachable: a TLS client without certificate gets an answer (no token)
    refused PERMISSION_DENIED "$S" "ca:$C/ca.pem" JobToScheduler RegisterJob job_id=0
    # a plaintext client: refused at the handshake
    refused UNAVAILABLE "$S" plain JobToScheduler RegisterJob job_id=0
    refused UNAVAILABLE "$S" plain synergy.v1.WorkerToScheduler Heartbeat server_id=0
    # a certificate from another CA
    o=$tmp/other
    refused UNAVAILABLE "$S" "mtls:$C/ca.pem,$o/worker-0.pem,$o/worker-0.key" \
        synergy.v1.WorkerToScheduler RegisterWorker version=1 ip=127.0.0.1 port=1 server_id=0
    # a worker presenting another worker's certificate: row 1 with worker-0's
    start_worker 1 worker-0
    rc=0; timeout 30 tail --pid="$wpid" -f /dev/null || true
    wait "$wpid" || rc=$?
    [ $rc = 1 ] || fail "the worker with another worker's certificate exited $rc, not 1"
    msg=$(grep "refused the registration" "$tmp/w1-worker-0.err") ||
        fail "no refusal for the worker with another worker's certificate"
    echo "  worker for row 1 with worker-0's certificate: $msg"
    grep -q "certificate identity 'worker-0' is not server 1's ('worker-1')" <<< "$msg" ||
        fail "the refusal does not name the identities"
    # a scheduler presenting a worker's certificate (worker-1's key, the
    # right CA, the right address): worker 0 refuses it at the handshake,
    # before its registration (jobs' tokens included) is sent
    "$bin" deploy --trace "$tmp/trace" --cluster "$tmp/c.ini" --workers "$tmp/workers" \
        $(tls worker-1) --time-scale $scale -v > /dev/null 2> "$tmp/fake.err" &
    fake=$!; pids+=("$fake")
    fport=
    for _ in $(seq 200); do
        fport=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/fake.err" 2>/dev/null || true)
        [ -n "$fport" ] && break; sleep 0.05
    done
    [ -n "$fport" ] || fail "the fake scheduler did not say where it listens"
    "$bin" worker --scheduler "127.0.0.1:$fport" --server-id 0 --port 0 --gpus 8 $(tls worker-0) \
        --job-user "$juser" --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/wfake" \
        2> "$tmp/wfake.err" &
    wfake=$!; pids+=("$wfake")
    for _ in $(seq 200); do grep -q "refused the server" "$tmp/wfake.err" && break; sleep 0.05; done
    msg=$(grep -m1 "refused the server" "$tmp/wfake.err") ||
        fail "worker 0 did not refuse a scheduler with worker-1's certificate"
    echo "  scheduler with worker-1's certificate, seen by worker 0: $msg"
    grep -q "its certificate is 'worker-1', not the expected 'scheduler'" <<< "$msg" ||
        fail "the refusal does not name both identities"
    grep -q "registration from\|registered:" "$tmp/fake.err" &&
        fail "the fake scheduler received a registration"
    # the Python client (a job of that worker) refuses it too, before its
    # RegisterJob (and token) is sent; told to expect worker-1, it calls it
    pyjob() { env -i PATH=/usr/bin:/bin SYNERGY_JOB_ID=1 SYNERGY_ATTEMPT=1 SYNERGY_JOB_TOKEN=00 SYNERGY_TOTAL_ITERS=10 \
        SYNERGY_SCHED_ADDR=127.0.0.1 SYNERGY_SCHED_PORT="$fport" SYNERGY_TLS_CA="$C/ca.pem" "$@" \
        /usr/bin/python3 -c "import sys; sys.path.insert(0, '$src/clients/python')
import synergy_client
for step, b in synergy_client.Job().steps([0], total=10): pass" 2>&1; }
    /usr/bin/python3 -c 'import grpc' || fail "python3-grpcio is not installed (the python_client test installs it)"
    out=$(pyjob SYNERGY_SCHED_IDENTITY=scheduler || true)
    msg=$(grep "refused the scheduler" <<< "$out") ||
        fail "the Python client did not refuse a scheduler with worker-1's certificate: $out"
    grep -q "at 127.0.0.1:$fport: its certificate is 'worker-1', not the expected 'scheduler'" <<< "$msg" ||
        fail "the Python client's refusal does not name both identities: $msg"
    echo "  the same, seen by the Python client: $msg"
    out=$(pyjob SYNERGY_SCHED_IDENTITY=worker-1 || true)
    ! grep -q "refused the scheduler" <<< "$out" && grep -q "PERMISSION_DENIED" <<< "$out" ||
        fail "the Python client expecting worker-1 did not reach it: $out"
    kill "$wfake" "$fake"
    # the real workers
    start_worker 0 worker-0
    start_worker 1 worker-1
    ;;
nobody)
    # CI runs as root: jobs run as nobody, who must read the CA (make-certs.sh
    # makes it public) and reach the run directory
    [ "$(id -u)" = 0 ] || fail "this case needs root (jobs run as nobody)"
    chmod 755 "$tmp"
    juser=nobody
    # a CA that nobody cannot read: the worker says so at start, in one line
    mkdir -m 700 "$tmp/private"
    cp "$C"/ca.pem "$C"/worker-0.* "$tmp/private/"
    rc=0
    timeout 30 "$bin" worker --scheduler "$S" --server-id 0 --port 0 --gpus 8 --job-user nobody \
        --tls-ca "$tmp/private/ca.pem" --tls-cert "$tmp/private/worker-0.pem" \
        --tls-key "$tmp/private/worker-0.key" --catalog "$src/tests/deploy/catalog.ini" \
        --run-dir "$tmp/wbad" 2> "$tmp/wbad.err" || rc=$?
    [ $rc = 2 ] || fail "a worker whose job user cannot read the CA exited $rc, not 2"
    [ "$(wc -l < "$tmp/wbad.err")" = 1 ] &&
        grep -q "^synergy worker: --job-user nobody cannot read the CA certificate $tmp/private/ca.pem (Permission denied)" \
            "$tmp/wbad.err" || { cat "$tmp/wbad.err"; fail "no one-line refusal for an unreadable CA"; }
    echo "  refused: $(cat "$tmp/wbad.err")"
    # synergy in a directory nobody cannot search (a build in a private
    # home, or in a clone under mktemp -d): the catalog's {synergy} jobs
    # could not start, and the worker says so at start, in one line
    cp "$bin" "$tmp/private/synergy"
    rc=0
    timeout 30 "$tmp/private/synergy" worker --scheduler "$S" --server-id 0 --port 0 --gpus 8 \
        --job-user nobody $(tls worker-0) --catalog "$src/tests/deploy/catalog.ini" \
        --run-dir "$tmp/wbad2" 2> "$tmp/wbad2.err" || rc=$?
    [ $rc = 2 ] && [ "$(wc -l < "$tmp/wbad2.err")" = 1 ] &&
        grep -q "^synergy worker: --job-user nobody cannot run $tmp/private/synergy (Permission denied), which the catalog runs as {synergy}" \
            "$tmp/wbad2.err" || { cat "$tmp/wbad2.err"; fail "exit $rc: no one-line refusal for a synergy nobody cannot run"; }
    echo "  refused: $(cat "$tmp/wbad2.err")"
    # the same for an account of --job-users (the tenants' accounts), and an
    # account this machine does not have: one line at start, not a crash per job
    for acct in nobody syn-no-such-account; do
        rc=0
        timeout 30 "$tmp/private/synergy" worker --scheduler "$S" --server-id 0 --port 0 --gpus 8 \
            --job-user root --job-users "root,$acct" $(tls worker-0) \
            --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/wbad3" 2> "$tmp/wbad3.err" || rc=$?
        want="--job-users account nobody cannot run $tmp/private/synergy (Permission denied)"
        [ $acct = nobody ] || want="--job-users: '$acct' is not a user of this machine"
        [ $rc = 2 ] && [ "$(wc -l < "$tmp/wbad3.err")" = 1 ] &&
            grep -qF "synergy worker: $want" "$tmp/wbad3.err" ||
            { cat "$tmp/wbad3.err"; fail "exit $rc: no one-line refusal for --job-users $acct"; }
        echo "  refused: $(cat "$tmp/wbad3.err")"
    done
    # the workers run a copy nobody can reach, wherever this tree lies
    cp "$bin" "$tmp/synergy"
    bin=$tmp/synergy
    start_worker 0 worker-0
    start_worker 1 worker-1
    ;;
forge)
    start_worker 0 worker-0
    w0pid=$wpid
    start_worker 1 worker-1
    # worker 0's port, and a job running there
    wport=
    for _ in $(seq 300); do
        wport=$(sed -n 's/.*server 0 registered: 127.0.0.1:\([0-9]*\) .*/\1/p' "$tmp/dep.err" 2>/dev/null | head -1 || true)
        running=$(sed -n 's/.*job \([0-9]*\) attempt 1: pid.*/\1/p' "$tmp/w0-worker-0.err" 2>/dev/null | head -1 || true)
        [ -n "$wport" ] && [ -n "$running" ] && break; sleep 0.05
    done
    [ -n "$wport" ] && [ -n "$running" ] || fail "worker 0 did not start a job"
    W=127.0.0.1:$wport
    other=$(( running == 0 ? 1 : 0 ))
    echo "forgeries while job $running runs on worker 0 ($W):"
    JS=JobToScheduler WS=synergy.v1.WorkerToScheduler SW=synergy.v1.SchedulerToWorker
    noc="ca:$C/ca.pem"
    w1="mtls:$C/ca.pem,$C/worker-1.pem,$C/worker-1.key"
    adm="mtls:$C/ca.pem,$C/admin.pem,$C/admin.key"
    sch="mtls:$C/ca.pem,$C/scheduler.pem,$C/scheduler.key"
    fake=0123456789abcdef0123456789abcdef
    # the running job's own token (root can read its environment): good for
    # that job only, never for another one
    jpid=$(sed -n "s/.*job $running attempt 1: pid \([0-9]*\).*/\1/p" "$tmp/w0-worker-0.err" | head -1)
    tok=$(tr '\0' '\n' < "/proc/$jpid/environ" | sed -n 's/^SYNERGY_JOB_TOKEN=//p')
    [ ${#tok} = 32 ] || fail "job $running has no 32-hex-digit SYNERGY_JOB_TOKEN"
    calls() {
        echo "PERMISSION_DENIED $S $noc $JS UpdateIters job_id=$other num_steps=999999 --token $tok"
        echo "PERMISSION_DENIED $S $noc $JS LeaseEnded job_id=$other num_steps=0 attempt=1 --token $tok"
        for j in 0 1 2 3; do
            echo "PERMISSION_DENIED $S $noc $JS LeaseEnded job_id=$j num_steps=0"
            echo "PERMISSION_DENIED $S $noc $JS RoundEnd job_id=$j num_steps=0 --token $fake"
            echo "PERMISSION_DENIED $S $w1 $JS UpdateIters job_id=$j num_steps=999999 --token $fake"
        done
        echo "PERMISSION_DENIED $S $w1 $WS JobExited server_id=0 job_id=$running attempt=1 exit_code=1"
        echo "PERMISSION_DENIED $S $w1 $WS Heartbeat server_id=0"
        echo "success=false $S $w1 $WS RegisterWorker version=1 ip=127.0.0.1 port=$wport server_id=0"
        echo "PERMISSION_DENIED $W $w1 $SW RunJob version=1 job_id=99 attempt=1 model=alexnet gpus=0,1 lease_ms=1000"
        echo "PERMISSION_DENIED $W $adm $SW KillJob job_id=$running"
        echo "PERMISSION_DENIED $W $adm $SW ExtendLease job_id=$running lease_ms=4233600000"
        echo "UNAVAILABLE $W plain $SW KillJob job_id=$running"
        # even the scheduler's own certificate is obeyed only within bounds
        echo "INVALID_ARGUMENT $W $sch $SW ExtendLease job_id=$running lease_ms=4233600000"
        echo "FAILED_PRECONDITION $W $sch $SW RunJob version=1 job_id=99 attempt=1 model=alexnet gpus=0,1,2,3,4,5,6,7 lease_ms=1000 sched_addr=127.0.0.1 sched_port=$port"
    }
    { calls; calls; } | "$py" "$src/tests/integration/security_probe.py" batch "$tmp/pb" ||
        fail "a forged call was not refused as expected"
    kill -0 "$dep" 2>/dev/null || fail "the deployment ended before the forgeries did: not a test"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac

# a worker that exits while deploy runs (refused at start, crashed) fails the
# test now, not at ctest's timeout; one that stops with deploy's end is fine
while kill -0 "$dep" 2>/dev/null; do
    for i in 0 1; do
        kill -0 "${wlive[$i]}" 2>/dev/null && continue
        timeout 15 tail --pid="$dep" -f /dev/null ||
            { tail -5 "${wlog[$i]}"; fail "worker $i exited while deploy runs"; }
    done
    sleep 0.2
done
wait "$dep" || fail "deploy failed"
cat "$tmp/dep.json"
grep -q '"jobs_finished":4,' "$tmp/dep.json" || fail "not every job finished"
grep -q '"jobs_failed":0,' "$tmp/dep.json" || fail "a job failed"
grep -q '"crashes":0,' "$tmp/dep.json" || fail "a job was counted as crashed"
[ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where state='finished' and executed = total")" = 4 ] ||
    fail "a job was credited more or less than its total"
grep -q "job 99" "$tmp"/w0-*.err "$tmp"/w1-*.err && grep -q "job 99 attempt 1: pid" "$tmp"/w*-*.err &&
    fail "a forged RunJob started a job"
diff <(grep -v '^finish' "$tmp/sim.plan") <(grep -v '^finish' "$tmp/dep.plan") ||
    fail "placements differ from the undisturbed (simulated) run"
join <(grep '^finish' "$tmp/sim.plan" | awk '{print $2, $3}' | sort) \
     <(grep '^finish' "$tmp/dep.plan" | awk '{print $2, $3, $4}' | sort) > "$tmp/jct"
[ "$(wc -l < "$tmp/jct")" -eq 4 ] || fail "finish records missing"
# the JCT less the part after the job's last boundary (LATE, the machine's
# lateness the run measured: deploy_e2e.sh) is the plan's
awk '{ d = ($3 - $4 - $2) / $2; if (d < 0) d = -d
       printf "job %s: JCT %s s, %s s of it late (undisturbed %s s, %.2f %%)\n", $1, $3, $4, $2, 100 * d
       if (NF != 4 || d > 0.05 || $3 < $2 * 0.95) bad = 1 } END { exit bad }' "$tmp/jct" ||
    fail "a JCT moved by more than 5 % (lateness aside)"
if [ "$case" = nobody ]; then
    grep -q "jobs run as nobody (uid 65534)" "$tmp/w0-worker-0.err" || fail "worker 0 does not run jobs as nobody"
    for j in 0 1 2 3; do
        owner=$(stat -c %U "$tmp"/w*/checkpoints/job_id=$j/progress 2>/dev/null | head -1)
        [ "$owner" = nobody ] || fail "job $j's checkpoint is owned by '$owner', not nobody"
    done
    echo "every job ran as nobody to its end, under mutual TLS"
fi
echo "ok: $case"
