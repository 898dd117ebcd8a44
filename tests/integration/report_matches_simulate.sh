#!/usr/bin/env bash
# `synergy report` over recorded runs must give the same numbers as the
# `simulate --json` output of the same runs: every key/value of the simulate
# object appears, digit for digit, in the report's JSON object for that run,
# and the JCT table recomputed from the job rows agrees with the summary. The
# runs are reference runs (spec §11), so the values are also checked against
# the reference's: FIFO 4 jobs/h [0,300) fair 17.675463 h, tune 15.725185 h.
# Also: the TSV telemetry has one line per job and per round.
# usage: report_matches_simulate.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/r.db

"$bin" simulate --json --db "$db" --synthetic --jobs-per-hour 4 --measure 0:300 \
    --policy FIFO,SRTF --mode fair,tune > "$tmp/sim1.json" || fail "simulate (synthetic) exited $?"
"$bin" simulate --json --db "$db" --trace "$src/traces/synergy-deploy/static_100job_6_3_1100.0" \
    --static --cluster "$src/configs/static_trace.ini" --policy LAS --mode greedy \
    > "$tmp/sim2.json" || fail "simulate (trace) exited $?"
cat "$tmp/sim1.json" "$tmp/sim2.json" > "$tmp/sim.json"
"$bin" report --db "$db" --all --format json > "$tmp/report.json" || fail "report exited $?"
[ "$(wc -l < "$tmp/sim.json")" -eq 5 ] || fail "expected 5 simulate runs"
[ "$(wc -l < "$tmp/report.json")" -eq 5 ] || fail "expected 5 report objects, got $(wc -l < "$tmp/report.json")"

n=0
while IFS= read -r sim && IFS= read -r rep <&3; do
    n=$((n+1))
    # every "key":value of simulate's flat object, in the report's object
    for kv in $(echo "$sim" | tr -d '{}' | sed 's/,"/\n"/g'); do
        case "$rep" in *"$kv"*) ;; *) fail "run $n: report lacks $kv"; esac
    done
    # the table from the job rows against the summary
    awk -v rep="$rep" '
        function f(name,   m) {
            if (!match(rep, "\"" name "\":[-0-9.eE+]+")) { print "missing " name; exit 1 }
            m = substr(rep, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0
        }
        function abs(x) { return x < 0 ? -x : x }
        BEGIN {
            if (abs(f("mean_h") - f("avg_jct_h")) > 1e-8) { print "mean"; exit 1 }
            if (f("med_h") != f("p50_jct_h")) { print "median"; exit 1 }
            if (f("p99_h") != f("p99_jct_h")) { print "p99"; exit 1 }
            if (f("p999_h") != f("p999_jct_h")) { print "p99.9"; exit 1 }
            if (f("num") != f("jobs_measured")) { print "num"; exit 1 }
        }' || fail "run $n: JCT table disagrees with the summary"
done < "$tmp/sim.json" 3< "$tmp/report.json"

grep -q '"policy":"FIFO","mode":"fair".*"avg_jct_h":17.67546' "$tmp/report.json" ||
    fail "FIFO/fair 4/h avg JCT is not the reference's 17.675463 h"
grep -q '"policy":"FIFO","mode":"tune".*"avg_jct_h":15.72518' "$tmp/report.json" ||
    fail "FIFO/tune 4/h avg JCT is not the reference's 15.725185 h"
# tune against GPU-proportional: 17.675463 / 15.725185
grep -q '"run_id":2,.*"baseline":{"run_id":1,"avg_jct_ratio":1.124023' "$tmp/report.json" ||
    fail "run 2's ratio to its fair-mode baseline should be 1.124023"
"$bin" report --db "$db" --run 2 --baseline 1 | grep -q 'avg JCT 1.12x better than' ||
    fail "text comparison line missing"

# text and CSV carry the same table
"$bin" report --db "$db" --all --format csv > "$tmp/r.csv" || fail "report csv exited $?"
grep -q '^1,"FIFO/fair[^"]*",FIFO,fair,4,20/70/10,.*,all,300,4.655556,17.675463,145.682508,' "$tmp/r.csv" ||
    fail "CSV row for run 1 wrong"
"$bin" report --db "$db" --run 1 --brief | grep -Eq '^ +1 +FIFO/fair +300 +4\.656 +17\.675 +145\.683 ' ||
    fail "text row for run 1 wrong"

# telemetry: a header plus one line per job / per round
"$bin" report --db "$db" --run 1 --telemetry "$tmp/tel" > /dev/null || fail "telemetry exited $?"
rounds=$(sed 's/.*"rounds":\([0-9]*\).*/\1/' <<< "$(head -1 "$tmp/sim.json")")
[ "$(wc -l < "$tmp/tel/run1_jobs.tsv")" -eq 301 ] || fail "run1_jobs.tsv should have 301 lines"
[ "$(wc -l < "$tmp/tel/run1_rounds.tsv")" -eq $((rounds + 1)) ] || fail "run1_rounds.tsv should have $((rounds + 1)) lines"
head -1 "$tmp/tel/run1_jobs.tsv" | grep -q $'^job_id\tmodel\tgpus\tarrival_s' || fail "jobs TSV header"
# a sweep records the same numbers: the static trace on 32 GPUs, spec §11.2
"$bin" sweep --trace "$src/traces/synergy-deploy/static_100job_6_3_1100.0" --static \
    --cluster "$src/configs/static_trace.ini" --policy FIFO,LAS,FTF --mode fair,tune \
    --workers 2 --db "$tmp/s.db" > "$tmp/sweep.log" || fail "sweep exited $?"
"$bin" report --db "$tmp/s.db" --format json --brief > "$tmp/sweep.json" || fail "report exited $?"
for want in FIFO:fair:5.631097 FIFO:tune:5.082764 LAS:fair:5.625264 LAS:tune:5.171097 \
            FTF:fair:7.982764 FTF:tune:7.777764; do
    IFS=: read -r p m avg <<< "$want"
    grep -q "\"policy\":\"$p\",\"mode\":\"$m\".*\"avg_jct_h\":$avg" "$tmp/sweep.json" ||
        fail "sweep: $p/$m avg JCT is not the reference's $avg h"
done
grep -q 'FTF/tune .*avg JCT 1.03x better than GPU-proportional' "$tmp/sweep.log" ||
    fail "sweep's comparison table lacks FTF/tune vs FTF/fair"
# a cluster with GPU types (docs/heterogeneous.md): the report repeats simulate's hetero and
# by_gpu_type (per type: jobs, JCTs, allocation of its own), breaks the JCTs down by type,
# and the allocation plot's data has each type's columns; report --merge keeps them
tdb=$tmp/typed.db
"$bin" simulate --json --db "$tdb" --trace "$src/tests/deploy/typed_trace" \
    --cluster "$src/tests/deploy/typed_cluster.ini" --policy LAS --mode tune --hetero agnostic \
    > "$tmp/typed.json" || fail "simulate (typed) exited $?"
"$bin" sweep --trace "$src/tests/deploy/typed_trace" --cluster "$src/tests/deploy/typed_cluster.ini" \
    --policy LAS --mode tune --hetero aware,agnostic --workers 1 --db "$tmp/shard.db" \
    > "$tmp/tsweep.log" || fail "sweep (typed) exited $?"
grep -q 'LAS/tune aware' "$tmp/tsweep.log" && grep -q 'LAS/tune agnostic' "$tmp/tsweep.log" ||
    fail "the sweep did not run both placements: $(cat "$tmp/tsweep.log")"
"$bin" report --merge "$tmp/shard.db" --db "$tmp/merged.db" > /dev/null || fail "merge exited $?"
for d in "$tdb" "$tmp/merged.db"; do
    "$bin" report --db "$d" --format json --brief | grep '"hetero":"agnostic"' > "$tmp/typed_rep.json" ||
        fail "report (typed) exited $?"
    python3 - "$tmp/typed.json" "$tmp/typed_rep.json" <<'PY' || fail "typed report ($d) differs from simulate"
import json, sys
s = json.loads(open(sys.argv[1]).read())
r = json.loads(open(sys.argv[2]).readline())
assert s["hetero"] == "agnostic" and sorted(s["by_gpu_type"]) == ["fast", "slow"], s
bad = [k for k in s if k not in ("wall_s", "seed") and r.get(k) != s[k]]
assert not bad, bad
assert sum(t["jobs"] for t in s["by_gpu_type"].values()) == s["jobs_measured"]
PY
done
"$bin" report --db "$tdb" > "$tmp/typed.txt" || fail "report (typed, text) exited $?"
grep -A3 '^by GPU type' "$tmp/typed.txt" | grep -qE '^ +1 +LAS/tune +fast +[0-9]+ ' ||
    fail "the text report has no by-GPU-type table: $(cat "$tmp/typed.txt")"
"$bin" report --db "$tdb" --plot "$tmp/tplot" > /dev/null || fail "report --plot (typed) exited $?"
head -1 "$tmp/tplot/data/run1_rounds.dat" | grep -q 'fast_gpu fast_cpu fast_mem slow_gpu slow_cpu slow_mem' ||
    fail "the allocation data has no per-type columns"
[ "$(awk 'NR == 2 { print NF }' "$tmp/tplot/data/run1_rounds.dat")" = 16 ] || fail "per-type columns"
# tenants (docs/tenants.md): the report repeats simulate's per-tenant figures and Jain's index
# (run_tenants), in the tenants file's order, and the text report has a by-tenant table
printf '[tenant vision]\ngpus = 96\nweight = 2\n[tenant speech]\ngpus = 32\n[tenant guests]\n' > "$tmp/teams.ini"
"$bin" simulate --json --db "$tmp/ten.db" --synthetic --tenant-mix vision:50,speech:30,guests:20 \
    --tenants "$tmp/teams.ini" --mode tune --jobs-per-hour 30 --max-jobs 300 --measure 0:300 \
    > "$tmp/ten.json" || fail "simulate (tenants) exited $?"
"$bin" report --db "$tmp/ten.db" --format json > "$tmp/ten_rep.json" || fail "report (tenants) exited $?"
python3 - "$tmp/ten.json" "$tmp/ten_rep.json" <<'PY' || fail "the tenants' report differs from simulate"
import json, sys
s = json.loads(open(sys.argv[1]).read())
r = json.loads(open(sys.argv[2]).readline())
assert [t["name"] for t in s["tenants"]] == ["vision", "speech", "guests"], s["tenants"]
assert r["tenants"] == s["tenants"] and r["jain_tenants"] == s["jain_tenants"], (r, s)
assert sum(t["jobs"] for t in s["tenants"]) == s["jobs_measured"] == 300
PY
"$bin" report --db "$tmp/ten.db" --brief > "$tmp/ten.txt" || fail "report (tenants, text) exited $?"
grep -A4 '^by tenant' "$tmp/ten.txt" | grep -qE '^ +1 +FIFO/tune +speech +32 +90 ' &&
    grep -q "Jain's index across tenants: 0\.99" "$tmp/ten.txt" ||
    fail "the text report has no by-tenant table: $(cat "$tmp/ten.txt")"
# each round's GPUs per tenant (round_tenants) average to the run's mean_gpus, and --plot draws
# each tenant against its quota from them
sqlite3 "$tmp/ten.db" "SELECT t.tenant, abs(t.mean_gpus - avg(r.gpus)) < 1e-9, count(*) FROM run_tenants t
    JOIN round_tenants r ON r.run_id = t.run_id AND r.tenant_index = t.tenant_index
    GROUP BY t.tenant ORDER BY t.tenant_index" > "$tmp/ten_rounds.txt"
rounds=$(sqlite3 "$tmp/ten.db" "SELECT count(*) FROM rounds")
[ "$(cat "$tmp/ten_rounds.txt")" = "$(printf 'vision|1|%s\nspeech|1|%s\nguests|1|%s' "$rounds" "$rounds" "$rounds")" ] ||
    fail "round_tenants do not average to mean_gpus: $(cat "$tmp/ten_rounds.txt")"
"$bin" report --db "$tmp/ten.db" --plot "$tmp/tenplot" > /dev/null || fail "report --plot (tenants) exited $?"
[ "$(awk '!/^#/ { print NF; exit }' "$tmp/tenplot/data/run1_tenants.dat")" = 4 ] &&
    grep -q "title 'speech', .* 32 with lines" <(tr -d '\\\n' < "$tmp/tenplot/plots.gp") ||
    fail "the tenants plot lacks a tenant or its quota"
echo "ok: report matches simulate --json for $n runs; sweep matches the reference; GPU types and tenants kept"
