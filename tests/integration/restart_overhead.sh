#!/usr/bin/env bash
# Start-up and restore cost (issue 11): `simulate --restart-overhead S|profile`.
#  hand:   hand-computed JCTs on a 1-GPU cluster. A model of 1 s per iteration,
#          850 iterations, rounds of 300 s from t=1: without overhead 300, 300,
#          250 -> 3 rounds, JCT 901 s; with 100 s charged at the launch only
#          (the job keeps its GPU): 200, 300, 300, 50 -> 4 rounds, 1201 s; a
#          profile's startup_s = 100 does the same. Two jobs under LAS: a
#          relaunch pays, a job kept on its GPU does not.
#  deploy: a deployment of stand-in jobs with --startup-s 2 at --time-scale 100
#          (200 simulated seconds of start-up) under LAS with preemptions: the
#          start-up it measures (launch -> first report, per attempt, in its
#          state; more than 200 s when the machine is slow to start a process)
#          is at least 200 s, its average JCT agrees within 5 % with simulate
#          --restart-overhead S for that measured S (mean over attempts), and
#          disagrees by more than 5 % with --restart-overhead 0. The nominal
#          --restart-overhead 200 is printed beside it.
# usage: restart_overhead.sh SYNERGY_BIN SOURCE_DIR hand|deploy
set -u
bin=$1 src=$2 what=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { echo "FAIL $1"; fail=$((fail+1)); }
jct() { # -> the per-job JCTs "id:jct ..."
    "$bin" simulate --static --jobs-csv "$tmp/j.csv" "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; return; }
    awk -F, 'NR > 1 {printf "%s%s:%s", (NR > 2 ? " " : ""), $3, $9}' "$tmp/j.csv"
}
avg() { awk -v s="$1" 'BEGIN {match(s, /"avg_jct_h":[0-9.]+/); print substr(s, RSTART + 12, RLENGTH - 12)}'; }

if [ "$what" = hand ]; then
    printf '[CLUSTER]\nservers_per_rack = 1\ngpus_per_server = 1\ncpus_per_server = 3\ndram_per_server = 100\n' > "$tmp/c.ini"
    printf '[one:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 1\n' > "$tmp/one.ini"
    printf '[one:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 1\nstartup_s = 100\n' > "$tmp/one_su.ini"
    echo "0,one,0,850,1" > "$tmp/t1"
    base=(--trace "$tmp/t1" --cluster "$tmp/c.ini" --models "$tmp/one.ini")
    [ "$(jct "${base[@]}")" = "0:901" ] && ok || no "no overhead: $(jct "${base[@]}")"
    [ "$(jct "${base[@]}" --restart-overhead 0)" = "0:901" ] && ok || no "overhead 0"
    [ "$(jct "${base[@]}" --restart-overhead 100)" = "0:1201" ] && ok || no "overhead 100: $(jct "${base[@]}" --restart-overhead 100)"
    [ "$(jct --trace "$tmp/t1" --cluster "$tmp/c.ini" --models "$tmp/one_su.ini" --restart-overhead profile)" = "0:1201" ] &&
        ok || no "overhead from the profile"
    # the profile's startup_s counts only with 'profile'
    [ "$(jct --trace "$tmp/t1" --cluster "$tmp/c.ini" --models "$tmp/one_su.ini")" = "0:901" ] && ok || no "startup_s without profile"
    # overhead >= the round: a launch round makes no progress, the job never finishes
    # while it is relaunched; kept on its GPU it does: 0, 300, 300, 250 -> 1201
    [ "$(jct "${base[@]}" --restart-overhead 300)" = "0:1201" ] && ok || no "overhead 300: $(jct "${base[@]}" --restart-overhead 300)"
    # LAS, two jobs of 500 iterations on one GPU. Round 1 (t=1): job 0 (least
    # attained, ties in trace order). Round 2: job 1. Round 3: a tie again, kept in
    # the last round's order (1, 0): job 1 goes on, same GPU. Round 4: job 0.
    printf '0,one,0,500,1\n1,one,0,500,1\n' > "$tmp/t2"
    two=(--trace "$tmp/t2" --cluster "$tmp/c.ini" --models "$tmp/one.ini" --policy LAS)
    # no overhead: job 0 300 + 200 (round 4, done at 1201); job 1 300 + 200 (round 3, 901)
    [ "$(jct "${two[@]}")" = "0:1201 1:901" ] && ok || no "LAS: $(jct "${two[@]}")"
    # 100 s a launch: job 1 200 (launch) + 300 (kept its GPU: no charge) -> 901;
    # job 0 200 (launch, round 1) + 200 (relaunch, round 4) + 100 (round 5) -> 1501
    [ "$(jct "${two[@]}" --restart-overhead 100)" = "0:1501 1:901" ] && ok ||
        no "LAS with overhead: $(jct "${two[@]}" --restart-overhead 100)"
    "$bin" simulate --trace "$tmp/t1" --restart-overhead soon > /dev/null 2>&1; [ $? -eq 2 ] && ok || no "bad value accepted"
else
    printf '[CLUSTER]\nservers_per_rack = 1\ngpus_per_server = 2\ncpus_per_server = 6\ndram_per_server = 125\nsspeed_per_server = 500\n' > "$tmp/c.ini"
    # four 1-GPU jobs on 2 GPUs under LAS: two run, two wait, and they swap
    printf '0,res18,0,1000,1\n1,res18,0,1000,1\n2,res18,0,1000,1\n3,res18,0,1000,1\n' > "$tmp/t"
    sed 's/--chk-dir {chk_dir}$/--chk-dir {chk_dir} --startup-s 2/' "$src/tests/deploy/catalog.ini" > "$tmp/catalog.ini"
    grep -q -- '--startup-s 2' "$tmp/catalog.ini" || { echo "FAIL catalog"; exit 1; }
    run=(--trace "$tmp/t" --cluster "$tmp/c.ini" --static --policy LAS --mode fair)
    # what is measured is the job's start-up, which the deployment times
    # itself; the CPU that the suite's other tests and hogs take from it
    # stretches its rounds unevenly (9 % off beside two hogs): as root it runs
    # ahead of them (nice -10), as a service an operator runs would
    pri=(); [ "$(id -u)" = 0 ] && pri=(nice -n -10)
    timeout 150 "${pri[@]}" "$bin" deploy "${run[@]}" --local 1 --time-scale 100 --catalog "$tmp/catalog.ini" \
        --run-dir "$tmp/run" --state "$tmp/state.db" --json > "$tmp/dep.json" 2> "$tmp/dep.err" ||
        { echo "deploy failed:"; tail -20 "$tmp/dep.err"; exit 1; }
    dep=$(cat "$tmp/dep.json")
    grep -q '"jobs_finished":4,' <<< "$dep" && grep -q '"jobs_failed":0,' <<< "$dep" && ok ||
        no "not every job finished: $dep"
    pre=$(sed -n 's/.*"preemptions":\([0-9]*\).*/\1/p' <<< "$dep")
    [ "${pre:-0}" -gt 0 ] && ok || no "no preemptions: $dep"
    d=$(avg "$dep")
    # the start-up the deployment measured, in simulated seconds
    su=$(sqlite3 "$tmp/state.db" "select round(100 * avg(startup_s), 1) from attempts where startup_s >= 0")
    awk -v s="$su" 'BEGIN { exit !(s + 0 >= 200) }' && ok || no "measured start-up ${su:-none} s, below the stand-in's 200 s"
    # (a start-up of a whole round or more would make no progress at all)
    awk -v s="$su" 'BEGIN { exit !(s + 0 < 300) }' || { no "measured start-up $su s: a whole round"; su=200; }
    smeas=$(avg "$("$bin" simulate "${run[@]}" --restart-overhead "$su" --json)")
    s200=$(avg "$("$bin" simulate "${run[@]}" --restart-overhead 200 --json)")
    s0=$(avg "$("$bin" simulate "${run[@]}" --restart-overhead 0 --json)")
    echo "average JCT: deploy (--startup-s 2, time scale 100) $d h; simulate --restart-overhead $su (measured) $smeas h; 200 $s200 h; 0 $s0 h; $pre preemptions"
    awk -v a="$d" -v b="$smeas" -v su="$su" 'BEGIN {r = (a - b) / b; if (r < 0) r = -r; printf "deploy vs measured overhead %s: %.2f %%\n", su, 100 * r; exit !(r <= 0.05)}' &&
        ok || no "deploy and simulate --restart-overhead (measured start-up) differ by more than 5 %"
    awk -v a="$d" -v b="$s200" 'BEGIN {r = (a - b) / b; if (r < 0) r = -r; printf "deploy vs overhead 200: %.2f %%\n", 100 * r}' 
    awk -v a="$d" -v b="$s0" 'BEGIN {r = (a - b) / b; if (r < 0) r = -r; printf "deploy vs overhead 0: %.2f %%\n", 100 * r; exit !(r > 0.05)}' &&
        ok || no "deploy and simulate --restart-overhead 0 agree within 5 %: start-up cost invisible"
fi
echo "restart overhead ($what): $pass passed, $fail failed"
[ $fail -eq 0 ]
