#!/usr/bin/env bash
# The whole Pollux Philly CSV (82,247 jobs) on the default 128-GPU cluster, every
# policy under fair, tune and greedy (21 runs): the overloaded runs where the
# incremental queue (scheduler/queue.c) does the most work. Average JCT, p99 and
# makespan must equal, to 1e-6 h, what build 0a966c3 (the plain re-sort of every
# job every round; greedy: main @ f2f9f09, which walked every waiting job)
# printed; they are recorded in tests/fixtures/pollux_overloaded.tsv, with the
# sha256 of each run's --jobs-csv (every job's start and finish).
# usage: pollux_overloaded.sh SYNERGY_BIN SOURCE_DIR [POLICY_REGEX [MODE_REGEX]]
set -u
bin=$1 src=$2 filter=${3:-.*} modes=${4:-.*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0
while IFS=$'\t' read -r policy mode avg p99 makespan sha; do
    case $policy in \#*|'') continue ;; esac
    [[ $policy =~ ^($filter)$ ]] || continue
    [[ $mode =~ ^($modes)$ ]] || continue
    out=$("$bin" simulate --json --trace "$src/traces/pollux-philly/philly.csv" \
          --policy "$policy" --mode "$mode" --jobs-csv "$tmp/jobs.csv" 2>/dev/null) ||
        { echo "FAIL $policy/$mode: synergy exited $?"; fail=$((fail+1)); continue; }
    got_sha=$(sha256sum "$tmp/jobs.csv" | cut -d' ' -f1)
    verdict=$(awk -v out="$out" -v avg="$avg" -v p99="$p99" -v mk="$makespan" '
        function field(name,   m) {
            if (match(out, "\"" name "\":[-0-9.eE+]+")) {
                m = substr(out, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0
            }
            return "missing"
        }
        function abs(x) { return x < 0 ? -x : x }
        BEGIN {
            bad = ""
            if (field("jobs_measured") != 82247) bad = bad " jobs=" field("jobs_measured")
            if (abs(field("avg_jct_h") - avg) > 1e-6) bad = bad " avg=" field("avg_jct_h") "(want " avg ")"
            if (abs(field("p99_jct_h") - p99) > 1e-6) bad = bad " p99=" field("p99_jct_h") "(want " p99 ")"
            if (abs(field("makespan_h") - mk) > 1e-6) bad = bad " makespan=" field("makespan_h") "(want " mk ")"
            print bad == "" ? "ok" : bad
        }')
    [ "$got_sha" = "$sha" ] || verdict="${verdict% ok} jobs-csv sha256 $got_sha (want $sha)"
    if [ "$verdict" = ok ]; then
        pass=$((pass+1))
    else
        echo "FAIL $policy/$mode:$verdict"
        fail=$((fail+1))
    fi
done < "$src/tests/fixtures/pollux_overloaded.tsv"
echo "pollux overloaded: $pass passed, $fail failed"
[ $pass -gt 0 ] && [ $fail -eq 0 ]
