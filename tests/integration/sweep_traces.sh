#!/usr/bin/env bash
# `synergy sweep` loads traces through the same loader as `simulate`, and its
# loads axis re-times a trace with Poisson arrivals at L jobs/h: a sweep over
# a Pollux-CSV slice (virtual cluster 103959, its first 60 jobs) at 2 loads
# must record, key for key, the numbers of the equivalent
# `simulate --json --arrival poisson:L` runs (all but wall_s). The same grid
# from an experiment file gives the same numbers. OPT: the store keeps the
# solver counters, so `report --format json` of a `simulate --mode opt --db`
# run repeats every key of its --json object, and a sweep with --opt-compat
# records the counters of `simulate --opt-compat`. And `sweep --jobs-csv`
# (read back from the store) holds the lines `simulate --jobs-csv` writes.
# usage: sweep_traces.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
trace=$src/traces/pollux-philly/philly.csv
cluster=$src/configs/default_cluster.ini
slice=(--trace "$trace" --vc 103959 --max-jobs 60 --cluster "$cluster")

# every "key":value of simulate's object (but timing keys) in the report's object
same_keys() { # label sim_line report_line [skip-regex]
    local kv
    for kv in $(echo "$2" | tr -d '{}' | sed 's/,"/\n"/g'); do
        [[ $kv =~ ${4:-^\"wall_s\"} ]] && continue
        case "$3" in *"$kv"*) ;; *) fail "$1: report lacks $kv"; esac
    done
}

# 1. a Pollux slice at 2 loads, sweep against simulate
"$bin" sweep "${slice[@]}" --trace-format pollux --jobs-per-hour 4,8 --policy FIFO,LAS \
    --mode fair,tune --workers 2 --db "$tmp/s.db" > "$tmp/sweep.log" || fail "sweep exited $?"
"$bin" report --db "$tmp/s.db" --format json --brief > "$tmp/rep.json" || fail "report exited $?"
[ "$(wc -l < "$tmp/rep.json")" -eq 8 ] || fail "expected 8 sweep runs"
n=0
for load in 4 8; do
    "$bin" simulate --json "${slice[@]}" --arrival poisson:$load --policy FIFO,LAS \
        --mode fair,tune > "$tmp/sim$load.json" || fail "simulate at $load/h exited $?"
    while IFS= read -r sim; do
        p=$(sed 's/.*"policy":"\([^"]*\)".*/\1/' <<< "$sim")
        m=$(sed 's/.*"mode":"\([^"]*\)".*/\1/' <<< "$sim")
        rep=$(grep "\"label\":\"$p/$m $load/h\"" "$tmp/rep.json") || fail "no sweep run $p/$m $load/h"
        grep -q "\"jobs_per_hour\":$load," <<< "$rep" || fail "$p/$m $load/h: jobs_per_hour not recorded"
        same_keys "$p/$m $load/h" "$sim" "$rep"
        n=$((n+1))
    done < "$tmp/sim$load.json"
done
[ $n -eq 8 ] || fail "compared $n runs, expected 8"
# the load re-times the jobs: the 60th arrival comes about twice as late at 4/h as at 8/h
"$bin" report --db "$tmp/s.db" --all --telemetry "$tmp/tel" > /dev/null || fail "telemetry exited $?"
last() { sort -t$'\t' -k4 -g "$tmp/tel/run$1_jobs.tsv" | tail -1 | cut -f4; }
id4=$(grep -o '"run_id":[0-9]*,"status":"complete","label":"FIFO/fair 4/h"' "$tmp/rep.json" | grep -o '[0-9]*' | head -1)
id8=$(grep -o '"run_id":[0-9]*,"status":"complete","label":"FIFO/fair 8/h"' "$tmp/rep.json" | grep -o '[0-9]*' | head -1)
awk -v a="$(last "$id4")" -v b="$(last "$id8")" 'BEGIN { r = a / b; exit !(r > 1.9 && r < 2.1) }' ||
    fail "last arrival at 4/h ($(last "$id4") s) is not about twice that at 8/h ($(last "$id8") s)"

# 2. the same grid from an experiment file
cat > "$tmp/exp.ini" <<INI
[sweep]
trace = $trace
trace_format = pollux
vc = 103959
max_jobs = 60
clusters = $cluster
loads = 4, 8
policies = FIFO, LAS
modes = fair, tune
db = $tmp/e.db
INI
"$bin" sweep "$tmp/exp.ini" --workers 2 > /dev/null || fail "sweep from the experiment file exited $?"
"$bin" report --db "$tmp/e.db" --format json --brief | sed 's/"run_id":[0-9]*,\{0,1\}//g; s/"wall_s":[0-9.]*,//g' |
    sort > "$tmp/e.norm"
sed 's/"run_id":[0-9]*,\{0,1\}//g; s/"wall_s":[0-9.]*,//g' "$tmp/rep.json" | sort > "$tmp/s.norm"
cmp -s "$tmp/e.norm" "$tmp/s.norm" || fail "the experiment file's sweep differs from the flags' sweep"

# 3. loads and one arrival process are exclusive; a bad format is a usage error
"$bin" sweep "${slice[@]}" --jobs-per-hour 4 --arrival poisson:3 --db "$tmp/x.db" \
    > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'loads re-time the trace' "$tmp/err" || fail "--arrival with loads: exit $rc, $(cat "$tmp/err")"
"$bin" sweep "${slice[@]}" --trace-format csv --db "$tmp/x.db" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--trace-format: 'csv'" "$tmp/err" || fail "--trace-format csv: exit $rc, $(cat "$tmp/err")"

# 4. OPT counters: simulate --db then report, and a sweep with --opt-compat
static=$src/traces/synergy-deploy/static_100job_6_3_1100.0
"$bin" simulate --json --db "$tmp/o.db" --trace "$static" --static --policy FIFO --mode opt \
    > "$tmp/opt.json" || fail "simulate opt exited $?"
grep -q '"opt_rounds":[1-9]' "$tmp/opt.json" || fail "simulate printed no OPT counters"
"$bin" report --db "$tmp/o.db" --format json --brief > "$tmp/orep.json" || fail "report exited $?"
same_keys "simulate opt" "$(cat "$tmp/opt.json")" "$(cat "$tmp/orep.json")" '^$'
"$bin" simulate --json --trace "$static" --static --policy LAS --mode opt --opt-compat \
    --opt-time-limit 30 > "$tmp/optc.json" || fail "simulate opt-compat exited $?"
grep -q '"opt_compat":true' "$tmp/optc.json" || fail "simulate --opt-compat not reported"
"$bin" sweep --trace "$static" --static --policy LAS --mode opt --opt-compat --opt-time-limit 30 \
    --workers 1 --db "$tmp/os.db" > /dev/null || fail "sweep opt-compat exited $?"
"$bin" report --db "$tmp/os.db" --format json --brief > "$tmp/osrep.json" || fail "report exited $?"
same_keys "sweep opt-compat" "$(cat "$tmp/optc.json")" "$(cat "$tmp/osrep.json")" \
    '^"(wall_s|opt_solve_mean_s|opt_solve_max_s)"'

# 4. sweep --jobs-csv: the measured jobs of every run, as simulate writes them
t=$src/traces/synergy-deploy/test_trace
"$bin" sweep --trace "$t" --policy FIFO,SRTF --mode fair,tune --workers 1 --db "$tmp/jc.db" \
    --jobs-csv "$tmp/sweep.csv" > /dev/null || fail "sweep --jobs-csv exited $?"
"$bin" simulate --trace "$t" --policy FIFO,SRTF --mode fair,tune --jobs-csv "$tmp/sim.csv" \
    > /dev/null || fail "simulate --jobs-csv exited $?"
[ "$(head -1 "$tmp/sweep.csv")" = "$(head -1 "$tmp/sim.csv")" ] || fail "jobs-csv headers differ"
[ "$(wc -l < "$tmp/sweep.csv")" = 33 ] || fail "sweep --jobs-csv: $(wc -l < "$tmp/sweep.csv") lines, not 1 + 4 runs x 8 jobs"
cmp -s <(sort "$tmp/sweep.csv") <(sort "$tmp/sim.csv") || fail "sweep --jobs-csv differs from simulate's"
echo "ok: sweep over a Pollux slice matches simulate for $n runs; OPT counters stored and reported; jobs-csv"
