#!/usr/bin/env bash
# synergy profile through a real worker (issue 11):
#  1. the stand-in's CPU-work mode (real multi-threaded work over its cpuset):
#     the profile recovers the 1 -> 2 core speedup, between 1.6 and 2.1 on a
#     2-core machine (needs CPU time: the machine's load is printed);
#  2. `simulate --profiles-dir` and `--models` run the written profile: a job's
#     JCT follows from its iter_time by hand;
#  3. a job whose cost is known by construction (--iter-cost A,B sleeps
#     A + B / cpus a step): every measured point within 10 %, the start-up time
#     at least its --startup-s, and the plot files are written.
# `speedup` runs 1 and 2 (ctest label `measure`: it needs idle cores, see
# docs/testing.md); `exact` runs 3 and 2 on the known-cost profile.
# usage: profile_cpu.sh SYNERGY_BIN SOURCE_DIR speedup|exact
set -u
bin=$1 src=$2 what=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { echo "FAIL $1"; fail=$((fail+1)); }
ncpu=$(nproc)
cat > "$tmp/catalog.ini" <<INI
[burn]
argv = {synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir} --cpu-work 20
[cost]
argv = {synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir} --iter-cost 0.1,0.4 --startup-s 0.5
INI
echo "machine: $ncpu CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# simulate_uses PROFILE_FILE MODEL: 20000 iterations at floor(300 / iter_time) a round
simulate_uses() {
    local prof=$1 model=$2 it want got how
    it=$(sed -n 's/^iter_time = //p' "$prof")
    want=$(awk -v it="$it" 'BEGIN {per = int(300 / it); r = int((20000 + per - 1) / per); print 1 + 300 * r}')
    echo "0,$model,0,20000,1" > "$tmp/t"
    mkdir -p "$tmp/sim-store"
    cp "$prof" "$tmp/sim-store/$model.ini"
    for how in "--profiles-dir $tmp/sim-store" "--models $prof"; do
        # shellcheck disable=SC2086
        "$bin" simulate --trace "$tmp/t" --static $how --jobs-csv "$tmp/j.csv" > /dev/null 2> "$tmp/sim.err"
        got=$(awk -F, 'NR == 2 {print $9}' "$tmp/j.csv")
        [ "$got" = "$want" ] && { echo "simulate $how: JCT $got s as computed from iter_time $it"; ok; } ||
            no "simulate $how: JCT $got, want $want (iter_time $it): $(cat "$tmp/sim.err")"
    done
}

if [ "$what" = speedup ]; then
# 1. real CPU work: speedup from 1 to 2 cores. A busy moment on the machine
# only lowers the measured speedup, so up to three profiles are taken and the
# first within bounds counts (a best-of-three, as a benchmark would).
for attempt in 1 2 3; do
    rm -rf "$tmp/store" "$tmp/run1"
    "$bin" profile --model burn --catalog "$tmp/catalog.ini" --profiles-dir "$tmp/store" \
        --max-cpus 2 --timeout 120 --run-dir "$tmp/run1" > "$tmp/burn.out" 2> "$tmp/burn.err" ||
        { cat "$tmp/burn.err"; no "profile burn"; break; }
    cat "$tmp/burn.out"
    measured=$(sed -n 's/^measured = //p' "$tmp/store/burn.ini")
    t1=$(tr ',' '\n' <<< "$measured" | awk -F: '$1+0 == 1 {print $2}')
    t2=$(tr ',' '\n' <<< "$measured" | awk -F: '$1+0 == 2 {print $2}')
    echo "burn (attempt $attempt): 1 CPU $t1 s/iter, 2 CPUs $t2 s/iter"
    if [ -z "$t1" ] || [ -z "$t2" ]; then
        no "burn: the search did not measure 2 and 1 CPUs: $measured"
        break
    fi
    sp=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.3f", a / b}')
    echo "burn: speedup 1 -> 2 cores: $sp (load now $(cut -d' ' -f1 /proc/loadavg))"
    if awk -v s="$sp" 'BEGIN {exit !(s >= 1.6 && s <= 2.1)}'; then
        ok
        break
    fi
    [ $attempt = 3 ] && no "speedup $sp not in 1.6..2.1 in three profiles"
done

# 2. the simulator runs the profile
simulate_uses "$tmp/store/burn.ini" burn
else
# 3. a cost known by construction: 0.1 + 0.4 / c seconds a step, 10 steps a report
# (the profiler's default): a report's fixed costs (its RPCs, a late wake-up on a
# loaded machine) weigh a third of what they did at 3 steps a report, which put the
# points 10-13 % off at load 30 (0.2-0.3 % off at load 14 with 10)
# (on GPUs it names H200: the profile is written for that type too)
"$bin" profile --model cost --catalog "$tmp/catalog.ini" --output "$tmp/cost.ini" --steps 10 \
    --plot "$tmp/plot" --max-cpus 2 --timeout 120 --run-dir "$tmp/run2" --gpu-type H200 \
    > "$tmp/cost.out" 2> "$tmp/cost.err" || { cat "$tmp/cost.err"; no "profile cost"; }
cat "$tmp/cost.out"
measured=$(sed -n 's/^measured = //p' "$tmp/cost.ini" | head -1)
n=0
for pt in $(tr -d ' ' <<< "$measured" | tr ',' ' '); do
    c=${pt%%:*} t=${pt#*:}
    want=$(awk -v c="$c" 'BEGIN {print 0.1 + 0.4 / c}')
    n=$((n+1))
    awk -v t="$t" -v w="$want" 'BEGIN {d = (t - w) / w; if (d < 0) d = -d; exit !(d <= 0.10)}' &&
        { echo "cost: $c CPUs: $t s/iter, by construction $want"; ok; } ||
        no "cost: $c CPUs: $t s/iter, by construction $want (more than 10 % off)"
done
[ $n -eq 2 ] && ok || no "cost: $n points measured, expected 2 (2 and 1 CPUs): $measured"
su=$(sed -n 's/^startup_s = //p' "$tmp/cost.ini")
awk -v s="$su" 'BEGIN {exit !(s >= 0.5 && s < 10)}' && ok || no "start-up $su s: the job sleeps 0.5 s"
[ -s "$tmp/plot/cost-profile.dat" ] && [ -s "$tmp/plot/cost-profile.gp" ] && ok || no "plot files"
command -v gnuplot > /dev/null || no "gnuplot is not installed (gnuplot-nox): run scripts/install-deps.sh"
[ -s "$tmp/plot/cost-profile.png" ] && ok || no "plot png"
# a model the worker's catalog does not list: a runtime failure, nothing written
"$bin" profile --model nosuch --catalog "$tmp/catalog.ini" --output "$tmp/no.ini" --timeout 20 \
    --run-dir "$tmp/run3" > /dev/null 2> "$tmp/no.err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$tmp/no.ini" ] && ok || no "unknown catalog model: rc $rc, $(cat "$tmp/no.err")"
# the GPU type it ran on: recorded, and its [cost:1:H200] profile the same figures
grep -qx 'gpu_type = H200' "$tmp/cost.ini" && grep -qx '\[cost:1:H200\]' "$tmp/cost.ini" && ok ||
    no "the profile does not name its GPU type H200"
[ "$(sed -n 's/^iter_time = //p' "$tmp/cost.ini" | sort -u | wc -l)" = 1 ] && ok ||
    no "the H200 section's iter_time differs from the model's"
# 2. the simulator runs the profile
sed -i '/^\[cost:1:H200\]/,$d' "$tmp/cost.ini" # (simulate_uses reads one iter_time)
simulate_uses "$tmp/cost.ini" cost
fi
echo "profile: $pass passed, $fail failed"
[ $fail -eq 0 ]
