#!/usr/bin/env bash
# How far to trust a forecast (issue 26, docs/forecast.md): `synergy deploy`
# on W local workers of 4 GPUs (stand-in jobs, 1 s rounds at time scale
# 300) under POLICY; 40 jobs (alexnet, 1, 2 or 4 GPUs, 300 iterations: one
# round) submitted online every 0.1 s (about 3 a round: a queue builds). Before each submission `submit
# --test-only` of the same job records its forecast start; once all ran,
# each actual start (arrival_s + wait_s) is compared with it. Prints the
# error distribution in rounds; at least 90 % of the jobs must start within
# one round of their forecast.
# usage: forecast_accuracy.sh SYNERGY SRCDIR WORKERS POLICY
set -euo pipefail
bin=$1 src=$2 workers=$3 policy=$4
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

printf '[CLUSTER]\nracks = 1\nservers_per_rack = %s\ngpus_per_server = 4\n' "$workers" > "$tmp/c.ini"
printf 'cpus_per_server = 12\ndram_per_server = 200\nsspeed_per_server = 500\n' >> "$tmp/c.ini"
"$bin" deploy --cluster "$tmp/c.ini" --local "$workers" --time-scale 300 --policy "$policy" \
    --run-dir "$tmp/run" --state "$tmp/state.db" --catalog "$src/tests/deploy/catalog.ini" \
    > "$tmp/dep.out" 2> "$tmp/dep.err" &
pids+=($!)
port=
for _ in $(seq 300); do
    port=$(sed -n 's/^synergy deploy: listening on .* port \([0-9]*\);.*/\1/p' "$tmp/dep.err" 2>/dev/null || true)
    [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || fail "deploy did not say where it listens"
adm() { "$bin" "$1" --scheduler "127.0.0.1:$port" --insecure "${@:2}"; }
for _ in $(seq 100); do
    adm submit --test-only --model alexnet --gpus 1 --iterations 300 > /dev/null 2>&1 && break
    sleep 0.2
done
: > "$tmp/fc"
for i in $(seq 40); do
    g=$(( (i * 7 % 3 == 0) ? 4 : (i % 2 ? 1 : 2) ))
    fc=$(adm submit --test-only --model alexnet --gpus $g --iterations 300 2> /dev/null) || fail "test-only $i"
    id=$(adm submit --model alexnet --gpus $g --iterations 300 2> /dev/null) || fail "submit $i"
    echo "$id ${fc%% *}" >> "$tmp/fc"
    sleep 0.1
done
for _ in $(seq 300); do
    adm queue --json | "$py" -c "import json,sys; sys.exit(len(json.load(sys.stdin)['jobs']) > 0)" && break
    sleep 0.1
done
adm queue --all --json > "$tmp/done.json"
"$py" - "$tmp/fc" "$tmp/done.json" "$workers" "$policy" <<'PY' || fail "forecast accuracy"
import json, sys
fc = dict(tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip())
done = json.load(open(sys.argv[2]))
rnd = done["round_s"]
errs, waits = [], []
for j in done["jobs"]:
    assert j["state"] == "finished", j
    errs.append((j["arrival_s"] + j["wait_s"] - fc[j["id"]]) / rnd)
    waits.append(j["wait_s"] / rnd)
n = len(errs)
assert n == 40, n
within = sum(abs(e) <= 1 + 1e-9 for e in errs)
hist = {}
for e in errs:
    k = int(round(e))
    hist[k] = hist.get(k, 0) + 1
print("forecast error, %s workers, %s: %d/%d within one round (%.0f %%); rounds: %s; mean %+.2f, max |e| %.2f"
      % (sys.argv[3], sys.argv[4], within, n, 100.0 * within / n,
         " ".join("%+d:%d" % kv for kv in sorted(hist.items())), sum(errs) / n, max(map(abs, errs))))
print("waits: mean %.1f rounds, max %.1f" % (sum(waits) / n, max(waits)))
assert within >= 0.9 * n, within
PY
