#!/usr/bin/env bash
# Every example of a page marked runnable runs as written (issue 23;
# docs/testing.md, "Runnable examples"). A fenced block opened with
# "```sh runnable" is a bash script: it runs with `set -e -o pipefail` in a
# scratch directory that holds build/synergy (the binary under test) and the
# source tree's configs/, traces/, scripts/, examples/ and tests/, with HOME in
# the scratch directory and no SYNERGY_* variables, as a newcomer's shell
# after `make build`. The blocks of one page run in page order in one scratch
# directory, so a later block may use what an earlier one wrote. A block
# opened with "```sh runnable service" is one long-running command (a
# `deploy` without --trace): it is started in the background, waited for
# until it plans rounds (`queue --json` reports a logical time above 0), and
# stopped with SIGTERM at the end of the page (it must then exit 0). Its
# `--port N` is replaced by --port 0 and N, in the blocks after it, by the
# port the service reports, so that parallel test runs never collide.
# `--selftest` checks the harness on pages of its own: a failing example and
# a service that is never ready must fail the run.
# usage: doc_examples.sh SYNERGY SRCDIR PAGE.md|--selftest
set -uo pipefail
bin=$(readlink -f "$1") src=$(readlink -f "$2") page=$3
tmp=$(mktemp -d)
svc_pid=
cleanup() {
    [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
clear_env() { for v in $(env | sed -n 's/^\(SYNERGY_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done; }

# extract PAGE's runnable blocks into DIR as NNN.sh / NNN.service, with
# NNN.line holding the line of the block's opening fence
extract() { # PAGE DIR
    awk -v dir="$2" '
    /^```/ {
        if (infence) { infence = 0; if (f) close(f); f = ""; next }
        infence = 1
        if ($0 == "```sh runnable" || $0 == "```sh runnable service") {
            n++
            f = sprintf("%s/%03d.%s", dir, n, $0 ~ /service$/ ? "service" : "sh")
            printf "" > f
            print FNR > (f ".line"); close(f ".line")
        }
        next
    }
    infence && f != "" { print >> f }
    END { if (infence) { print FILENAME ": unclosed fence" > "/dev/stderr"; exit 1 } }
    ' "$1"
}

# the scratch directory a page's examples run in
scratch() { # DIR
    mkdir -p "$1/build" "$1/home"
    ln -s "$bin" "$1/build/synergy"
    for d in configs traces scripts examples tests; do ln -s "$src/$d" "$1/$d"; done
}

# start service block F in DIR; sets svc_pid and port
start_service() { # F DIR PAGE
    local f=$1 dir=$2 where=$3 orig
    orig=$(sed -n 's/.*--port \([0-9][0-9]*\).*/\1/p' "$f" | head -1)
    if [ -z "$orig" ]; then
        echo "FAIL $where: a service block needs --port N"; return 1
    fi
    { printf 'exec '; sed "s/--port $orig\\b/--port 0/" "$f"; } > "$f.run"
    (cd "$dir" && HOME=$dir/home exec bash "$f.run") > "$f.out" 2> "$f.err" &
    svc_pid=$!
    port=
    for _ in $(seq 600); do
        port=$(sed -n 's/.*listening on .* port \([0-9]*\);.*/\1/p' "$f.err")
        [ -n "$port" ] && break
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "FAIL $where: the service did not say where it listens:"; tail -20 "$f.err"
        return 1
    fi
    # ready once its round loop runs: queue --json then reports a logical time above 0
    for _ in $(seq 600); do
        if "$bin" queue --scheduler "127.0.0.1:$port" --insecure --json 2>/dev/null |
            grep -q '"now_s":[0-9.]*[1-9]'; then
            svc_orig=$orig
            return 0
        fi
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "FAIL $where: the service never planned a round:"; tail -20 "$f.err"
    return 1
}

stop_service() { # WHERE
    [ -n "$svc_pid" ] || return 0
    local rc
    kill -TERM "$svc_pid"
    wait "$svc_pid"; rc=$?
    svc_pid=
    [ $rc -eq 0 ] && return 0
    echo "FAIL $1: the service exited $rc on SIGTERM"; return 1
}

# run every runnable example of PAGE; prints one line per block
run_page() { # PAGE
    local p=$1 name blocks dir n=0 failed=0 where line t0 t1
    name=$(basename "$p" .md)
    clear_env
    blocks=$(mktemp -d "$tmp/blocks.XXXX") dir=$(mktemp -d "$tmp/run.XXXX")
    extract "$p" "$blocks" || return 1
    scratch "$dir"
    svc_orig= port=
    for f in "$blocks"/*.sh "$blocks"/*.service; do
        [ -e "$f" ] && echo "$f"
    done | sort > "$blocks/list"
    while read -r f; do
        n=$((n + 1))
        line=$(cat "$f.line")
        where="$p:$line"
        if [[ $f == *.service ]]; then
            stop_service "$where" || failed=1
            start_service "$f" "$dir" "$where" || { failed=1; break; }
            echo "ok   $name:$line service on port $port"
            continue
        fi
        [ -n "$svc_orig" ] && sed -i "s/\\b$svc_orig\\b/$port/g" "$f"
        t0=$(date +%s.%N)
        (cd "$dir" && HOME=$dir/home timeout 300 bash -e -o pipefail "$f") > "$f.log" 2>&1
        rc=$?
        t1=$(date +%s.%N)
        if [ $rc -ne 0 ]; then
            echo "FAIL $where: exit $rc; the example:"; sed 's/^/    /' "$f"
            echo "  its output (last 30 lines):"; tail -30 "$f.log" | sed 's/^/    /'
            failed=1
        else
            echo "ok   $name:$line ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
        fi
    done < "$blocks/list"
    stop_service "$p: end" || failed=1
    [ $n -gt 0 ] || echo "$name: no runnable examples"
    return $failed
}

if [ "$page" != --selftest ]; then
    [ -f "$page" ] || page=$src/$page
    run_page "$page"
    exit
fi

# --selftest: the harness itself
fails=0
check() { # WANT(0|1) PAGE-TEXT DESCRIPTION
    printf '%s\n' "$2" > "$tmp/self.md"
    out=$(run_page "$tmp/self.md" 2>&1); rc=$?
    if { [ "$1" = 0 ] && [ $rc -ne 0 ]; } || { [ "$1" = 1 ] && [ $rc -eq 0 ]; }; then
        echo "FAIL selftest: $3 gave $rc:"; echo "$out"; fails=$((fails + 1))
    else
        echo "ok   selftest: $3"
    fi
}
ok_block='```sh runnable
build/synergy simulate --trace traces/synergy-deploy/test_trace --json > out.json
grep -q avg_jct_h out.json
```'
check 0 "text
$ok_block
more text" "a passing example"
check 1 '```sh runnable
build/synergy simulate --no-such-option
```' "a failing example"
check 1 '```sh runnable
build/synergy simulate --trace traces/synergy-deploy/test_trace
false
build/synergy simulate --trace traces/synergy-deploy/test_trace
```' "a failing line in the middle"
check 0 '```
build/synergy simulate --no-such-option
```
not marked: not run' "an unmarked block"
check 1 '```sh runnable
test -s out.json
```' "a fresh scratch directory per page"
check 0 "$ok_block
\`\`\`sh runnable
test -s out.json
\`\`\`" "blocks of a page share one directory"
export SYNERGY_SELFTEST=1
check 0 '```sh runnable
test "${SYNERGY_SELFTEST:-unset}" = unset
test "$HOME" = "$PWD/home"
```' "SYNERGY_* variables cleared, HOME in the scratch directory"
check 0 '```sh runnable service
build/synergy deploy --cluster configs/static_trace.ini --local 4 --port 14999 --time-scale 60
```
```sh runnable
build/synergy submit --scheduler 127.0.0.1:14999 --insecure --model res18 --gpus 2 --iterations 500
build/synergy queue --scheduler 127.0.0.1:14999 --insecure | grep -q res18
```' "a service and its client"
check 1 '```sh runnable service
build/synergy deploy --cluster configs/default_cluster.ini --local 2 --port 14999 --time-scale 60
```' "a service that does not start"
[ $fails -eq 0 ]
