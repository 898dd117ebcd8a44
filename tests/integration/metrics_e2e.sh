#!/usr/bin/env bash
# Prometheus endpoint, end to end: `deploy --local 1 --metrics-listen
# 127.0.0.1:0 --state DB` runs 6 one-GPU jobs under LAS on a 4-GPU server
# (8 rounds, jobs preempted and resumed); a scraper polls /metrics all along
# and reads the state DB right after each scrape. Whenever both describe the
# same round (synergy_round_time_seconds = the DB's latest rounds.t, and
# that round is done: the driver publishes right after committing a round's
# launches; a commit in mid-round has done = 0), jobs running, queued and
# finished must equal the DB's counts; the GPU, CPU and memory totals must
# be the cluster's at every scrape; counters never go down; every scrape is
# valid text exposition format. At the end every job has executed == total.
# usage: metrics_e2e.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
dpid=
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cat > "$tmp/cluster.ini" <<INI
[CLUSTER]
racks = 1
servers_per_rack = 1
gpus_per_server = 4
cpus_per_server = 12
dram_per_server = 250
sspeed_per_server = 250
INI
# bad addresses are bad input (exit 2), before anything starts
set +e
"$bin" deploy --trace "$src/tests/deploy/metrics6_trace" --cluster "$tmp/cluster.ini" --local 1 \
    --metrics-listen localhost:9 2> "$tmp/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- "--metrics-listen: 'localhost:9'" "$tmp/bad.err" ||
    { echo "a malformed --metrics-listen must exit 2 with a message (rc $rc)"; cat "$tmp/bad.err"; exit 1; }

"$bin" deploy --trace "$src/tests/deploy/metrics6_trace" --cluster "$tmp/cluster.ini" \
    --mode tune --static --policy LAS --local 1 --time-scale 100 \
    --catalog "$src/tests/deploy/catalog.ini" --run-dir "$tmp/run" --state "$tmp/state.db" \
    --metrics-listen 127.0.0.1:0 --json > "$tmp/dep.json" 2> "$tmp/dep.err" &
dpid=$!
python3 - "$tmp/dep.err" "$tmp/state.db" "$dpid" <<'PY'
import os, re, sqlite3, sys, time, urllib.request, urllib.error
err_path, db_path, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])

def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

port = None
deadline = time.time() + 60
while port is None and time.time() < deadline and alive():
    m = re.search(r"metrics at http://127\.0\.0\.1:(\d+)/metrics", open(err_path).read())
    if m:
        port = int(m.group(1))
    else:
        time.sleep(0.05)
if port is None:
    sys.exit("no 'metrics at' line on stderr")

sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$')
def parse(text):
    vals, typed, helped = {}, set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            typed.add(line.split()[2])
        else:
            m = sample_re.match(line)
            if not m:
                sys.exit(f"not exposition format: {line!r}")
            name = m.group(1)
            if name not in typed or name not in helped:
                sys.exit(f"{name}: sample before its HELP/TYPE")
            vals[name + (m.group(2) or "")] = float(m.group(3))
    return vals

def db_state():
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("select t, done from rounds order by t desc limit 1").fetchone()
        t = row[0] if row and row[1] else None  # None: a round is half committed
        counts = dict(con.execute("select state, count(*) from jobs group by state").fetchall())
    finally:
        con.close()
    return t, counts

totals = {"synergy_gpus_total": 4, "synergy_cpus_total": 12,
          "synergy_memory_total_bytes": 250e9, "synergy_workers": 1}
counters = ["synergy_rounds_total", "synergy_jobs_finished_total", "synergy_job_crashes_total",
            "synergy_job_preemptions_total", "synergy_job_relaunches_total"]
last = {}
matched, scrapes = {}, 0
while alive():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            ctype = r.headers["Content-Type"]
            text = r.read().decode()
    except (urllib.error.URLError, ConnectionError):
        break  # the run ended and the server went away
    scrapes += 1
    if not ctype.startswith("text/plain; version=0.0.4"):
        sys.exit(f"Content-Type {ctype}")
    v = parse(text)
    for k, want in totals.items():
        if v[k] != want:
            sys.exit(f"{k} = {v[k]}, the cluster has {want}")
    for k in counters:
        if v[k] < last.get(k, 0):
            sys.exit(f"counter {k} went down: {last[k]} -> {v[k]}")
        last[k] = v[k]
    if not 0 <= v["synergy_gpus_allocated"] <= 4:
        sys.exit(f"synergy_gpus_allocated = {v['synergy_gpus_allocated']}")
    rt = v["synergy_round_time_seconds"]
    if rt < 0 or not os.path.exists(db_path):
        continue
    t, counts = db_state()
    if t is None or t != rt:
        continue  # the DB has moved on to the next round since the scrape
    got = (v["synergy_jobs_running"], v["synergy_jobs_queued"], v["synergy_jobs_finished_total"])
    want = (counts.get("running", 0), counts.get("queued", 0), counts.get("finished", 0))
    if got != want:
        sys.exit(f"round at {rt} s: metrics say running/queued/finished {got}, the DB {want}")
    progress = [k for k in v if k.startswith("synergy_job_progress_ratio{")]
    if len(progress) != want[0] + want[1]:
        sys.exit(f"round at {rt} s: {len(progress)} per-job series for {want[0] + want[1]} jobs")
    matched[rt] = got
    time.sleep(0.1)
print(f"{scrapes} scrapes; rounds compared with the DB: "
      + ", ".join(f"{t:g}s running/queued/finished {g}" for t, g in sorted(matched.items())))
if len(matched) < 4:
    sys.exit(f"only {len(matched)} rounds could be compared with the DB")
if not any(g[0] > 0 and g[1] > 0 for g in matched.values()):
    sys.exit("no compared round had jobs both running and queued")
PY
wait "$dpid" || { echo "deploy failed"; tail -20 "$tmp/dep.err"; dpid=; exit 1; }
dpid=
cat "$tmp/dep.json"
grep -q '"jobs_finished":6,' "$tmp/dep.json" || { echo "not every job finished"; exit 1; }
[ "$(sqlite3 "$tmp/state.db" "select count(*) from jobs where state='finished' and executed=total")" -eq 6 ] ||
    { echo "the state DB does not show 6 jobs finished with executed == total"; exit 1; }
echo "ok: /metrics agrees with the state DB round by round"
