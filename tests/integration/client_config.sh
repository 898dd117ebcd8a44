#!/usr/bin/env bash
# The admin clients' configuration (docs/client.md): submit, queue, cancel and
# nodes take the scheduler and TLS files from flags, then $SYNERGY_SCHEDULER /
# $SYNERGY_TLS_*, then ~/.config/synergy/client.ini, then the machine's file.
#  parse     client.ini mistakes: file:line: field, exit 2, before any call
#  loopback  deploy --local --write-client-config: `synergy queue` with no
#            flags lists the service's jobs; the export line deploy prints
#            works; flags over environment over the user's file over the
#            machine's (shown by pointing the stronger one at a dead port)
#  tls       under mutual TLS a client.ini naming the CA, certificate and key
#            (relative to the file) is enough; --insecure on the command line
#            wins over the file's TLS files (and is told the scheduler uses TLS)
# usage: client_config.sh SYNERGY SRCDIR CASE
set -u
bin=$1 src=$2 case=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
export HOME=$tmp/home XDG_CONFIG_HOME= SYNERGY_CLIENT_CONFIG_SYSTEM=$tmp/etc/client.ini
unset SYNERGY_SCHEDULER SYNERGY_TLS_CA SYNERGY_TLS_CERT SYNERGY_TLS_KEY
user_ini=$HOME/.config/synergy/client.ini
mkdir -p "$(dirname "$user_ini")" etc
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $case: $*"; fail=$((fail+1)); }
want() { # RC TEXT -- CMD...: exit RC, one stderr line with TEXT
    local rc_want=$1 text=$2
    shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq "$rc_want" ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] &&
        [[ $err == *"$text"* ]]; then ok
    else bad "$*: rc=$rc (wanted $rc_want) stderr: $err (wanted: $text)"; fi
}
printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\n' > two.ini
listening() { # sets port from dep.err
    port=
    for _ in $(seq 400); do
        port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' dep.err 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    bad "deploy did not start: $(cat dep.err)"
    return 1
}
submit_until() {
    local out
    for _ in $(seq 150); do
        out=$("$bin" submit "$@" 2>/dev/null) && { echo "$out"; return 0; }
        sleep 0.2
    done
    return 1
}

case $case in
parse)
    p=$user_ini
    printf '[client]\nshceduler = 127.0.0.1:5\n' > "$p"
    want 2 "$p:2: unknown key 'shceduler' in [client]" -- "$bin" queue
    printf '[client]\nscheduler = 127.0.0.1:70000\n' > "$p"
    want 2 "$p:2: '127.0.0.1:70000': the port must be 1..65535" -- "$bin" queue
    printf '[client]\nscheduler = nohost\n' > "$p"
    want 2 "$p:2: 'nohost' must be HOST:PORT" -- "$bin" nodes
    printf '[client\nscheduler = 127.0.0.1:5\n' > "$p"
    want 2 "$p:1: section header '[client' not closed" -- "$bin" queue
    printf 'scheduler = 127.0.0.1:5\n' > "$p"
    want 2 "$p:1: key 'scheduler' outside a section" -- "$bin" queue
    printf '[server]\nscheduler = 127.0.0.1:5\n' > "$p"
    want 2 "$p:2: unknown section [server] (expected [client])" -- "$bin" queue
    printf '[client]\nscheduler = 127.0.0.1:5\ninsecure = maybe\n' > "$p"
    want 2 "$p:3: insecure: 'maybe' must be yes or no" -- "$bin" queue
    printf '[client]\nscheduler = 127.0.0.1:5\ntls_ca = ca.pem\n' > "$p"
    want 2 "mutual TLS needs the CA, a certificate and its key: $p:3 set one, but --tls-cert and --tls-key are not set" -- "$bin" queue
    printf '[client]\nscheduler = 10.1.2.3:5\n' > "$p"
    want 2 "10.1.2.3:5 is not on this machine: give --tls-ca, --tls-cert and --tls-key" -- "$bin" cancel 3
    # a bad file is bad input even when a flag would not need it, as git treats its config
    printf '[client]\nbogus = 1\n' > "$p"
    want 2 "$p:2: unknown key 'bogus'" -- "$bin" queue --scheduler 127.0.0.1:5
    rm -f "$p"
    printf '[client]\nscheduler = 127.0.0.1:0\n' > etc/client.ini
    want 2 "$tmp/etc/client.ini:2: '127.0.0.1:0': the port must be 1..65535" -- "$bin" queue
    rm -f etc/client.ini
    want 2 "which scheduler? give --scheduler HOST:PORT, export SYNERGY_SCHEDULER=HOST:PORT" -- "$bin" queue
    SYNERGY_SCHEDULER=127.0.0.1:x want 2 "\$SYNERGY_SCHEDULER: '127.0.0.1:x': the port must be 1..65535" -- "$bin" queue
    ;;
loopback)
    "$bin" deploy --local 2 --cluster two.ini --time-scale 300 --run-dir run \
        --catalog "$src/tests/deploy/catalog.ini" --write-client-config > dep.out 2> dep.err &
    pids+=($!)
    listening || exit 1
    grep -q "export SYNERGY_SCHEDULER=127.0.0.1:$port\$" dep.err && ok || bad "no export line: $(cat dep.err)"
    grep -q "^scheduler = 127.0.0.1:$port\$" "$user_ini" && ok || bad "client.ini: $(cat "$user_ini")"
    id=$(submit_until --model res18 --gpus 4 --hours 20 --name first)
    [ "$id" = 1 ] && ok || bad "submit with no flags: '$id'"
    "$bin" queue | grep -qE '^ +1 first .* res18 ' && ok || bad "queue with no flags: $("$bin" queue 2>&1)"
    # a service plans at once: its workers are up, or joining until the next round
    nodes=$("$bin" nodes 2>&1)
    [ "$(printf '%s\n' "$nodes" | grep -cE ' (up|joining) ')" = 2 ] && ok || bad "nodes with no flags: $nodes"
    # the export line alone (no file) works too
    line=$(sed -n 's/.*: export //p' dep.err)
    mv "$user_ini" "$tmp/saved.ini"
    env $line "$bin" queue | grep -qE '^ +1 first ' && ok || bad "with $line: failed"
    # each source over the next: a dead port in the stronger one shows which was used
    dead=127.0.0.1:1
    printf '[client]\nscheduler = %s\n' "127.0.0.1:$port" > etc/client.ini
    "$bin" queue | grep -qE '^ +1 first ' && ok || bad "the machine's file alone"
    printf '[client]\nscheduler = %s\n' "$dead" > "$user_ini"
    want 1 "$dead: unavailable" -- "$bin" queue                                  # user file over machine's
    SYNERGY_SCHEDULER=127.0.0.1:$port "$bin" queue | grep -qE '^ +1 first ' && ok || bad "env over the user file"
    want 1 "$dead: unavailable" -- env SYNERGY_SCHEDULER=127.0.0.1:$port "$bin" queue --scheduler $dead  # flag over env
    mv "$tmp/saved.ini" "$user_ini"
    "$bin" cancel 1 | grep -qx "cancelled 1" && ok || bad "cancel with no flags"
    ;;
tls)
    command -v openssl >/dev/null || { echo "FAIL openssl is not installed"; exit 1; }
    mkdir -p "$HOME/.config/synergy"
    "$src/scripts/make-certs.sh" -o "$HOME/.config/synergy/certs" -w 2 -a 127.0.0.1 > /dev/null
    C=$HOME/.config/synergy/certs
    printf 'admin\n' > admins
    printf '127.0.0.1,0,0,0,1\n127.0.0.1,0,0,0,1\n' > workers
    "$bin" deploy --cluster two.ini --workers workers --tls-ca "$C/ca.pem" --tls-cert "$C/scheduler.pem" \
        --tls-key "$C/scheduler.key" --admins admins --time-scale 300 > dep.out 2> dep.err &
    pids+=($!)
    listening || exit 1
    grep -q "export SYNERGY_SCHEDULER=127.0.0.1:$port SYNERGY_TLS_CA=$C/ca.pem\$" dep.err && ok ||
        bad "no export line with the CA: $(grep export dep.err)"
    for i in 0 1; do
        "$bin" worker --scheduler "127.0.0.1:$port" --server-id "$i" --port 0 --gpus 4 \
            --tls-ca "$C/ca.pem" --tls-cert "$C/worker-$i.pem" --tls-key "$C/worker-$i.key" \
            --job-user "$(id -un)" --catalog "$src/tests/deploy/catalog.ini" --run-dir "w$i" 2> "w$i.err" &
        pids+=($!)
    done
    # paths relative to the file's directory
    printf '[client]\nscheduler = 127.0.0.1:%s\ntls_ca = certs/ca.pem\ntls_cert = certs/admin.pem\ntls_key = certs/admin.key\n' \
        "$port" > "$user_ini"
    id=$(submit_until --model res18 --gpus 1 --hours 3 --name tls-job)
    [ "$id" = 1 ] && ok || bad "submit under mutual TLS from client.ini: '$id'"
    "$bin" queue | grep -qE '^ +1 tls-job +admin +- +res18 ' && ok || bad "queue under TLS: $("$bin" queue 2>&1)"
    want 1 "closed the connection: does it use TLS?" -- "$bin" queue --insecure
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "client config $case: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
