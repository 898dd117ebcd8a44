#!/usr/bin/env bash
# queue --start (issue 26, docs/forecast.md): `synergy deploy` on 2 local
# workers of 4 GPUs (stand-in jobs, 5 s rounds at time scale 60). Job 1
# (alexnet, 8 GPUs, 400 iterations: one round) runs; jobs 2 and 3 (4 GPUs,
# 400 iterations each) wait behind it. Once a round planned them (REASON
# Priority), `queue --start --json` forecasts each job's start and end; the
# test then waits until jobs 2 and 3 ran and checks each actual start
# (arrival_s + wait_s) is within one round of its forecast, and the table
# form lists START_IN and END_IN. submit --test-only forecasts an 8-GPU job
# after them (900-1200 s), stores nothing and uses no id.
# usage: queue_start.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
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
"$bin" deploy --cluster "$tmp/c.ini" --local 2 --time-scale 60 --run-dir "$tmp/run" \
    --state "$tmp/state.db" --catalog "$src/tests/deploy/catalog.ini" \
    > "$tmp/dep.out" 2> "$tmp/dep.err" &
pids+=($!)
port=
for _ in $(seq 300); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || fail "deploy did not say where it listens"
adm() { "$bin" "$1" --scheduler "127.0.0.1:$port" --insecure "${@:2}"; }
ok=
for _ in $(seq 100); do
    adm submit --model alexnet --gpus 8 --iterations 400 --name first > /dev/null 2>&1 && { ok=1; break; }
    sleep 0.2
done
[ -n "$ok" ] || fail "no submission accepted"
adm submit --model alexnet --gpus 4 --iterations 400 --name second > /dev/null || fail "submit 2"
adm submit --model alexnet --gpus 4 --iterations 400 --name third > /dev/null || fail "submit 3"
field() { adm queue --all --json | "$py" -c "import json,sys; print([j for j in json.load(sys.stdin)['jobs'] if j['id']==$1][0]['$2'])"; }
r=
for _ in $(seq 150); do
    r=$(field 3 reason); [ "$r" = Priority ] && break; sleep 0.1
done
[ "$r" = Priority ] || fail "job 3's reason is '$r', expected Priority"
adm queue --start --json > "$tmp/fc.json" || fail "queue --start --json"
table=$(adm queue --start) || fail "queue --start"
echo "$table"
head -1 <<<"$table" | grep -qE '^ +ID NAME +STATE +GPUS +START_IN +END_IN REASON$' || fail "queue --start header"
# submit --test-only: an 8-GPU job of one round would follow jobs 2 and 3
# (600-900 s): 900 to 1200 s; nothing is stored and no id is used
[ "$(field 1 state)" = running ] || fail "job 1 no longer running: the forecast below assumes it"
tonly=$(adm submit --test-only --model alexnet --gpus 8 --iterations 400 2> /dev/null) ||
    fail "submit --test-only"
[ "$tonly" = "900 1200" ] || fail "submit --test-only: '$tonly', expected '900 1200'"
[ "$(adm queue --all --json | "$py" -c "import json,sys; print(len(json.load(sys.stdin)['jobs']))")" = 3 ] ||
    fail "submit --test-only stored a job"
id4=$(adm submit --model alexnet --gpus 1 --iterations 10 --name after) || fail "submit 4"
[ "$id4" = 4 ] || fail "the next submission got id $id4, not 4 (--test-only used one up)"
for _ in $(seq 200); do
    [ "$(field 2 state)" = finished ] && [ "$(field 3 state)" = finished ] && break; sleep 0.1
done
adm queue --all --json > "$tmp/done.json"
"$py" - "$tmp/fc.json" "$tmp/done.json" <<'PY' || fail "forecast against actual"
import json, sys
fc = {j["id"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
done = json.load(open(sys.argv[2]))
rnd = done["round_s"]
for i in (2, 3):
    j = [x for x in done["jobs"] if x["id"] == i][0]
    assert j["state"] == "finished", j
    actual = j["arrival_s"] + j["wait_s"]
    f = fc[i]["start_s"]
    err = actual - f
    print("job %d: forecast start %.0f s, actual %.0f s, error %+.0f s (%+.2f rounds)" % (i, f, actual, err, err / rnd))
    assert f >= 0 and abs(err) <= rnd, (i, f, actual)
    assert fc[i]["end_s"] > f, fc[i]
PY
echo "queue --start: jobs 2 and 3 started within a round of their forecasts"
