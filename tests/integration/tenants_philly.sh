#!/usr/bin/env bash
# Issue 25's run: the whole Pollux Philly CSV (82,247 jobs) on the 512-GPU
# Philly cluster, FIFO/tune, each job's tenant its virtual cluster, quotas
# proportional to each VC's GPU-time. From the run's per-round plan log it
# checks, independently of the tenant layer's code, that in every round each
# tenant whose runnable jobs ask for at least its nominal quota holds at least
# that quota, or else none of its waiting jobs would fit in what is left of it
# (held + its smallest waiting job > quota): the owners' GPUs were reclaimed
# from borrowers in that same round. Also: the JSON reports all 15 VCs, their
# quotas add up to 512, and every job finishes.
# usage: tenants_philly.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$bin" simulate --trace "$src/traces/pollux-philly/philly.csv" \
    --cluster "$src/configs/philly_cluster.ini" --tenant-from vc --tenants proportional \
    --mode tune --json --plan-log "$tmp/plan.log" > "$tmp/run.json" ||
    { echo "FAIL: synergy exited $?"; exit 1; }

python3 - "$tmp/run.json" <<'EOF' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
t = r["tenants"]
bad = []
if len(t) != 15: bad.append("%d tenants, want 15" % len(t))
if sum(x["quota"] for x in t) != 512: bad.append("quotas add up to %d" % sum(x["quota"] for x in t))
if r["jobs_finished"] != 82247: bad.append("jobs_finished %d" % r["jobs_finished"])
if sum(x["jobs"] for x in t) != 82247: bad.append("tenants' jobs %d" % sum(x["jobs"] for x in t))
# GPU-hours received never exceed the cluster's over the run
if sum(x["gpu_hours"] for x in t) > 512 * r["end_time_h"] + 1e-6: bad.append("GPU-hours")
if not (0 < r["jain_tenants"] <= 1): bad.append("jain %s" % r["jain_tenants"])
print("FAIL json: " + "; ".join(bad) if bad else "json: 15 tenants, quotas 512, %d jobs" % r["jobs_finished"])
sys.exit(1 if bad else 0)
EOF

awk '
    $1 != "tenant" { next }
    {
        for (i = 4; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] + 0 }
        rows++
        if (f["held"] > 512 || f["borrowed"] > f["held"]) { print "FAIL " $0; bad++ }
        if (f["demand"] >= f["quota"] && f["quota"] > 0) {
            checked++
            if (f["held"] < f["quota"] && f["held"] + f["min_waiting"] <= f["quota"]) {
                if (bad < 10) print "FAIL under quota: " $0
                bad++
            }
            if (f["held"] < f["quota"]) short++
        }
    }
    END {
        printf "plan log: %d tenant-rounds, %d with demand >= quota, %d of them below quota only by job size, %d violations\n", rows, checked, short, bad
        exit (bad > 0 || rows < 15 * 31000 || checked == 0)
    }' "$tmp/plan.log" || fail=1

[ $fail -eq 0 ] && echo "tenants_philly: pass"
exit $fail
