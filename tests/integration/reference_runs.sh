#!/usr/bin/env bash
# Reproduce every reference run of shared/spec/reference-simulator.md §13 (the
# rows in reference_runs.tsv): average JCT, p99 and makespan must match to
# 1e-6 h, the synthetic end time to the reference's 0.01 h rounding, and the
# mean GPU utilisation (when the reference printed it) to its 4 decimals.
# usage: reference_runs.sh SYNERGY_BIN SOURCE_DIR [ROW_FILTER_REGEX]
set -u
bin=$1 src=$2 filter=${3:-.}
fail=0 pass=0
while IFS=$'\t' read -r row kind trace cluster static policy mode lo hi load jobs avg p99 endh util; do
    case $row in \#*|'') continue ;; esac
    [[ $row =~ ^($filter)$ ]] || continue
    args=(simulate --json --cluster "$src/configs/$cluster" --policy "$policy" --mode "$mode")
    if [ "$kind" = replay ]; then
        args+=(--trace "$src/traces/$trace")
        [ "$static" = yes ] && args+=(--static)
    else
        args+=(--synthetic --jobs-per-hour "$load" --measure "$lo:$hi")
    fi
    out=$("$bin" "${args[@]}" 2>/dev/null) || { echo "FAIL row $row: synergy exited $?"; fail=$((fail+1)); continue; }
    verdict=$(awk -v out="$out" -v kind="$kind" -v jobs="$jobs" -v avg="$avg" -v p99="$p99" \
                  -v endh="$endh" -v util="$util" '
        function field(name,   m) {
            if (match(out, "\"" name "\":[-0-9.eE+]+")) {
                m = substr(out, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0
            }
            return "missing"
        }
        function abs(x) { return x < 0 ? -x : x }
        BEGIN {
            bad = ""
            if (field("jobs_measured") != jobs) bad = bad " jobs=" field("jobs_measured") "(want " jobs ")"
            if (abs(field("avg_jct_h") - avg) > 1e-6) bad = bad " avg=" field("avg_jct_h") "(want " avg ")"
            if (abs(field("p99_jct_h") - p99) > 1e-6) bad = bad " p99=" field("p99_jct_h") "(want " p99 ")"
            if (kind == "replay") {
                if (abs(field("makespan_h") - endh) > 1e-6) bad = bad " makespan=" field("makespan_h") "(want " endh ")"
            } else if (abs(field("end_time_h") - endh) > 0.005) bad = bad " end=" field("end_time_h") "(want " endh ")"
            if (util != "-" && abs(field("gpu_alloc_pct") - util) > 0.00051) bad = bad " gpu_util=" field("gpu_alloc_pct") "(want " util ")"
            print bad == "" ? "ok" : bad
        }')
    if [ "$verdict" = ok ]; then
        pass=$((pass+1))
    else
        echo "FAIL row $row ($kind $trace $cluster $policy $mode):$verdict"
        fail=$((fail+1))
    fi
done < "$src/tests/integration/reference_runs.tsv"
echo "reference runs: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
