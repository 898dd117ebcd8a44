# Issue 23's defects met while talking to a running service (deploy --local
# on loopback, plaintext) and its admin clients. Sourced by run.sh.

# start a plaintext service on two.ini with 2 local workers; sets $port, $S
start_service() {
    two_ini
    HOME=$tmp/home "$bin" deploy --local 2 --cluster two.ini --time-scale 300 --run-dir run \
        --catalog "$src/tests/deploy/catalog.ini" "$@" > dep.out 2> dep.err &
    cleanup_pids+=($!)
    port=
    for _ in $(seq 400); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' dep.err 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { bad "deploy did not start: $(cat dep.err)"; return 1; }
    S=127.0.0.1:$port
}
# submit (args) until the round loop takes submissions; prints the id
submit_until() {
    local out
    for _ in $(seq 150); do
        out=$(HOME=$tmp/home "$bin" submit "$@" 2>/dev/null) && { echo "$out"; return 0; }
        sleep 0.2
    done
    return 1
}

# L1: the README's submit, as written (no --insecure), against a loopback service
defect_L1() {
    start_service || return
    local id
    id=$(submit_until --scheduler "$S" --model res18 --gpus 2 --iterations 5000)
    [ "$id" = 1 ] && ok || bad "submit --scheduler $S --model res18 --gpus 2 --iterations 5000 (no --insecure): '$id'"
    HOME=$tmp/home "$bin" queue --scheduler "$S" | grep -qE '^ +1 .* res18 ' && ok || bad "queue without --insecure"
    # off this machine, plaintext still has to be asked for
    want 2 "10.0.0.1:5 is not on this machine: give --tls-ca" -- "$bin" queue --scheduler 10.0.0.1:5
}

# M7: a port out of range is bad input; a plaintext client of a TLS scheduler is told why
defect_M7() {
    want 2 "--scheduler: '127.0.0.1:99999': the port must be 1..65535" -- "$bin" queue --scheduler 127.0.0.1:99999 --insecure
    want 2 "--scheduler: '127.0.0.1:0': the port must be 1..65535" -- "$bin" nodes --scheduler 127.0.0.1:0
    want 2 "--scheduler: '127.0.0.1:99999' must be HOST:PORT" -- "$bin" worker --scheduler 127.0.0.1:99999 --insecure --job-user nobody
    command -v openssl >/dev/null || { bad "openssl is not installed"; return; }
    "$src/scripts/make-certs.sh" -o certs -w 1 -a 127.0.0.1 > /dev/null
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 4\n' > one.ini
    printf '127.0.0.1,0,0,0,1\n' > workers
    printf 'admin\n' > admins
    "$bin" deploy --cluster one.ini --workers workers --tls-ca certs/ca.pem \
        --tls-cert certs/scheduler.pem --tls-key certs/scheduler.key --admins admins \
        > dep.out 2> dep.err &
    cleanup_pids+=($!)
    port=
    for _ in $(seq 400); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' dep.err 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.05
    done
    want 1 "the scheduler at 127.0.0.1:$port closed the connection: does it use TLS? give --tls-ca" -- \
        "$bin" queue --scheduler "127.0.0.1:$port" --insecure
}

# L14: each job once; sizes and amounts at least 1
defect_L14() {
    want 2 "--iterations: must be a whole number, at least 1" -- "$bin" submit --scheduler 127.0.0.1:1 --model res18 --gpus 1 --iterations -5
    want 2 "--gpus: 'abc' must be an integer in 1..1000000" -- "$bin" submit --scheduler 127.0.0.1:1 --model res18 --gpus abc --hours 1
    want 2 "--gpus: '0' must be an integer in 1..1000000" -- "$bin" submit --scheduler 127.0.0.1:1 --model res18 --gpus 0 --hours 1
    start_service || return
    local id out
    id=$(submit_until --scheduler "$S" --model res18 --gpus 4 --hours 20)
    [ "$id" = 1 ] || { bad "submit: '$id'"; return; }
    out=$("$bin" cancel --scheduler "$S" 1 1)
    [ "$out" = "cancelled 1" ] && ok || bad "cancel 1 1 printed: $out"
}

# M1: deploy --local N without --cluster runs N servers; with a cluster of another size, a hint
defect_M1() {
    HOME=$tmp/home "$bin" deploy --local 2 --time-scale 300 --run-dir run \
        --catalog "$src/tests/deploy/catalog.ini" > dep.out 2> dep.err &
    cleanup_pids+=($!)
    port=
    for _ in $(seq 400); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' dep.err 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] && ok || { bad "deploy --local 2 did not start: $(cat dep.err)"; return; }
    grep -q "^synergy deploy: --local 2 without --cluster: 2 servers of 8 GPUs, 24 CPUs, 500 GB" dep.err &&
        ok || bad "no line saying what cluster it made: $(head -3 dep.err)"
    local nodes=""
    for _ in $(seq 100); do
        nodes=$("$bin" nodes --scheduler "127.0.0.1:$port" 2>/dev/null | grep -c ' up .* 0/8 ')
        [ "$nodes" = 2 ] && break
        sleep 0.2
    done
    [ "$nodes" = 2 ] && ok || bad "nodes: $("$bin" nodes --scheduler "127.0.0.1:$port" 2>&1)"
    want 2 "--local 2: $src/configs/default_cluster.ini has 16 servers: give a cluster INI with 2 ([CLUSTER] racks = 1, servers_per_rack = 2)" -- \
        "$bin" deploy --local 2 --cluster "$src/configs/default_cluster.ini" --trace "$tr"
}

# M2: a bad catalog stops deploy at once, not after 30 s of waiting for its workers
defect_M2() {
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = 1\ngpus_per_server = 4\n' > one.ini
    printf '[res18]\nargv = \n' > bad_catalog.ini
    local t0=$SECONDS
    want 2 "bad_catalog.ini:2: argv[0] must be an absolute path or {synergy}" -- \
        "$bin" deploy --local 1 --cluster one.ini --catalog bad_catalog.ini --trace "$tr"
    [ $((SECONDS - t0)) -lt 10 ] && ok || bad "it took $((SECONDS - t0)) s"
}

# L9: --wait-workers above the cluster's workers is an error, before anything starts
defect_L9() {
    two_ini
    want 2 "--wait-workers 5: the cluster has 2 workers" -- "$bin" deploy --local 2 --cluster two.ini --wait-workers 5 --trace "$tr"
}

# SIGTERM the service start_service started; waits for its exit (rc in $rc)
stop_service() {
    local p=${cleanup_pids[-1]}
    kill -TERM "$p"
    wait "$p"
    rc=$?
}
# wait until job $1 of the service at $S is in state $2 (queue --all)
wait_state() {
    for _ in $(seq 150); do
        HOME=$tmp/home "$bin" queue --scheduler "$S" --all 2>/dev/null | grep -qE "^ +$1 .* $2 " && return 0
        sleep 0.1
    done
    return 1
}

# L6: a stopped service counts its cancelled and unfinished jobs; no jobs gives '-', not nan
defect_L6() {
    start_service --state svc.db || return
    submit_until --scheduler "$S" --model res18 --gpus 1 --iterations 100 > /dev/null
    HOME=$tmp/home "$bin" submit --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null 2>&1
    HOME=$tmp/home "$bin" submit --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null 2>&1
    HOME=$tmp/home "$bin" cancel --scheduler "$S" 3 > /dev/null
    wait_state 1 finished && wait_state 2 running || bad "jobs 1, 2: $(HOME=$tmp/home "$bin" queue --scheduler "$S" --all 2>&1)"
    # a job submitted and cancelled just before the stop: the cancel was
    # answered, so it counts as one even if no boundary applied it (CI once
    # stopped between job 3's cancel and the boundary: "2 still running")
    HOME=$tmp/home "$bin" submit --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null
    [ "$(HOME=$tmp/home "$bin" cancel --scheduler "$S" 4)" = "cancelled 4" ] || bad "cancel 4"
    stop_service
    grep -q "): 1 of 4 jobs finished, 2 cancelled, 1 still running or waiting (kept in svc.db), 0 failed$" dep.out &&
        ok || bad "summary: $(cat dep.out)"
    mkdir empty && cd empty || return
    start_service || return
    HOME=$tmp/home "$bin" nodes --scheduler "$S" > /dev/null 2>&1
    stop_service
    grep -q "0 of 0 jobs finished, 0 failed$" dep.out && grep -q "^avg JCT -, makespan -, " dep.out &&
        ok || bad "an empty service's summary: $(cat dep.out)"
}

# L7: a continued run says so at the default level, in rounds (as the summary counts them)
# L23: and what concerns every worker, or every job of a worker, is said once
defect_L7() {
    start_service --state svc.db || return
    submit_until --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null
    wait_state 1 running || bad "job 1 is not running"
    stop_service
    local rounds
    rounds=$(sqlite3 svc.db 'select rounds from run') # what the summary counted, as stored
    start_service --state svc.db || return
    wait_state 1 running || bad "job 1 is not running after the restart"
    stop_service
    grep -q "^synergy deploy: continuing the run from svc.db (round $rounds, 1 job, 1 running)$" dep.err &&
        ok || bad "no resume line at the default level for round $rounds: $(cat dep.err)"
}
defect_L23() {
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\ncpus_per_server = 4096\ndram_per_server = 64\n' > big.ini
    HOME=$tmp/home "$bin" deploy --local 2 --cluster big.ini --time-scale 300 --run-dir run \
        --catalog "$src/tests/deploy/catalog.ini" --state svc.db > dep.out 2> dep.err &
    cleanup_pids+=($!)
    for _ in $(seq 200); do
        S=127.0.0.1:$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' dep.err)
        [ "$S" != 127.0.0.1: ] && break
        sleep 0.05
    done
    submit_until --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null
    HOME=$tmp/home "$bin" submit --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null
    HOME=$tmp/home "$bin" submit --scheduler "$S" --model res18 --gpus 4 --hours 100 > /dev/null
    wait_state 2 running && wait_state 3 running || bad "jobs 2, 3: $(HOME=$tmp/home "$bin" queue --scheduler "$S" --all 2>&1)"
    [ "$(grep -c 'the cluster INI plans 4096 CPUs per server' dep.err)" = 1 ] && ok ||
        bad "the CPU warning is not said once for 2 workers: $(grep -c 'plans 4096' dep.err)"
    [ "$(grep -c 'memory limits are NOT enforced' dep.err)" -le 1 ] && ok ||
        bad "the memory-limit warning is said by every local worker"
    stop_service
    # the restarted workers run none of the 3 jobs: one line per worker, not per job
    HOME=$tmp/home "$bin" deploy --local 2 --cluster big.ini --time-scale 300 --run-dir run \
        --catalog "$src/tests/deploy/catalog.ini" --state svc.db > dep.out 2> dep.err &
    cleanup_pids+=($!)
    for _ in $(seq 300); do grep -q "no longer runs" dep.err && break; sleep 0.1; done
    sleep 0.5
    stop_service
    [ "$(grep -c 'not on server .* any more' dep.err)" = 0 ] && [ "$(grep -c 'no longer runs' dep.err)" -ge 1 ] &&
        [ "$(grep -c 'no longer runs' dep.err)" -le 2 ] && ok ||
        bad "lost jobs are not summed up per worker: $(grep -E 'any more|no longer' dep.err)"
}

# L8: a port in use is one line naming why, with no gRPC log record
defect_L8() {
    start_service || return
    local err
    err=$("$bin" deploy --local 2 --cluster two.ini --port "$port" --run-dir run2 \
        --catalog "$src/tests/deploy/catalog.ini" 2>&1 >/dev/null)
    local rc=$?
    [ $rc = 1 ] && [[ $err == *"synergy deploy: cannot listen on 127.0.0.1:$port: Address already in use"* ]] &&
        ! grep -qE 'chttp2|UNKNOWN:|created_time' <<<"$err" && ok || bad "rc $rc: $err"
}

# L10: a state file of other arguments is bad input (exit 2), before any banner
defect_L10() {
    start_service --state svc.db || return
    submit_until --scheduler "$S" --model res18 --gpus 1 --hours 100 > /dev/null
    stop_service
    want 2 "svc.db holds an unfinished run of other arguments" -- "$bin" deploy --local 2 --cluster two.ini \
        --mode tune --state svc.db --run-dir run2 --catalog "$src/tests/deploy/catalog.ini"
    echo notdb > notdb.db
    mkdir adir
    want 2 "notdb.db: not a usable state file" -- "$bin" deploy --local 2 --cluster two.ini --state notdb.db --trace "$tr"
    want 2 "adir" -- "$bin" deploy --local 2 --cluster two.ini --state adir --trace "$tr"
}
