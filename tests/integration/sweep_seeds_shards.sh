#!/usr/bin/env bash
# Sweeps over seeds, and sharded sweeps merged back together.
#  1. --seed 1,2,3 over 2 policies x 2 modes x 2 loads gives 24 runs, and the
#     report's 95% confidence interval for one point equals the one worked out
#     here from the three runs' averages (mean +- t(0.975, 2) s / sqrt(3),
#     t = 4.302653) without synergy's help; --plot draws the error bars.
#  2. The same grid as 4 shards (--shard K/4, one database each), merged with
#     report --merge, equals the single-machine sweep run by run (jobs and
#     rounds too); merging again adds nothing; a shard of another grid is
#     refused (exit 2) and leaves the merged database as it was.
# usage: sweep_seeds_shards.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
# 2 servers (16 GPUs): small enough that load and policy matter
cat > small.ini <<'INI'
[CLUSTER]
racks = 1
servers_per_rack = 2
gpus_per_server = 8
cpus_per_server = 24
dram_per_server = 500
sspeed_per_server = 500
INI
grid=(--cluster small.ini --policy FIFO,SRTF --mode fair,tune --jobs-per-hour 2,4
      --seed 1,2,3 --measure 0:40 --max-jobs 80 -j 2)
"$bin" sweep "${grid[@]}" --db single.db > single.out 2>&1 || fail "sweep exited $?: $(tail -3 single.out)"
runs=$(sqlite3 single.db "SELECT COUNT(*) FROM runs WHERE status = 'complete'")
[ "$runs" = 24 ] || fail "24 runs expected, got $runs"
[ "$(sqlite3 single.db "SELECT COUNT(DISTINCT seed) FROM runs")" = 3 ] || fail "3 seeds expected"

# the interval of SRTF/tune at 4 jobs/h, by hand
vals=$(sqlite3 single.db "SELECT avg_jct_s / 3600.0 FROM runs WHERE policy = 'SRTF' AND
        mode = 'tune' AND jobs_per_hour = 4 ORDER BY seed")
[ "$(echo "$vals" | wc -l)" = 3 ] || fail "3 runs of SRTF/tune at 4/h expected: $vals"
want=$(echo "$vals" | awk '{ v[NR] = $1; s += $1 } END {
        m = s / 3; ss = 0; for (i = 1; i <= 3; i++) ss += (v[i] - m)^2
        printf "%.9f %.9f\n", m, 4.302653 * sqrt(ss / 2) / sqrt(3) }')
"$bin" report --db single.db --all --format json > report.json || fail "report exited $?"
got=$(grep '"seed_group":"SRTF/tune 4/h"' report.json |
      sed 's/.*"avg_jct_h":{"mean":\([0-9.eE+-]*\),"ci95":\([0-9.eE+-]*\)}.*/\1 \2/')
[ -n "$got" ] || fail "no seed group SRTF/tune 4/h in the JSON report"
echo "$want $got" | awk '{ if ((($1 - $3)^2 > 1e-12) || (($2 - $4)^2 > 1e-12)) exit 1 }' ||
    fail "SRTF/tune 4/h: mean, half-width $got; by hand $want"
[ "$(grep -c '"seed_group"' report.json)" = 8 ] || fail "8 seed groups expected"
"$bin" report --db single.db --all --brief > report.txt || fail "report exited $?"
grep -q "^SRTF/tune 4/h  *3 " report.txt || fail "the text report has no over-seeds row: $(tail -12 report.txt)"
"$bin" report --db single.db --all --plot plots > /dev/null || fail "report --plot exited $?"
[ -s plots/jct_over_seeds.png ] && [ -s plots/jct_over_seeds.svg ] || fail "no error-bar plot"
grep -q yerrorbars plots/plots.gp || fail "the plot script draws no error bars"

# the same grid in 4 shards, merged
for k in 1 2 3 4; do
    "$bin" sweep "${grid[@]}" --shard "$k/4" --db "shard$k.db" > "shard$k.out" 2>&1 ||
        fail "shard $k exited $?: $(tail -3 "shard$k.out")"
done
n=0
for k in 1 2 3 4; do n=$((n + $(sqlite3 "shard$k.db" "SELECT COUNT(*) FROM runs"))); done
[ "$n" = 24 ] || fail "the shards hold $n runs, not 24"
# shard K of 4 holds the points numbered K-1, K+3, ... of the grid's 0..23
for k in 1 2 3 4; do
    got=$(sqlite3 "shard$k.db" "SELECT group_concat(point, ' ') FROM (SELECT point FROM runs ORDER BY point)")
    want="$((k - 1)) $((k + 3)) $((k + 7)) $((k + 11)) $((k + 15)) $((k + 19))"
    [ "$got" = "$want" ] || fail "shard $k/4 ran points '$got', not '$want'"
done
"$bin" report --merge shard1.db shard2.db shard3.db shard4.db --db all.db > merge.out ||
    fail "merge exited $?"
grep -q "24 runs added" merge.out || fail "merge: $(cat merge.out)"
python3 "$src/tests/integration/sweep_db_equal.py" single.db all.db 24 || fail "merged != single"
"$bin" report --merge shard4.db shard2.db shard1.db shard3.db --db all.db > merge2.out ||
    fail "second merge exited $?"
grep -q "0 runs added, 24 already there" merge2.out || fail "merging again: $(cat merge2.out)"
python3 "$src/tests/integration/sweep_db_equal.py" single.db all.db 24 || fail "after merging again"
"$bin" sweep --cluster small.ini --policy LAS --mode fair --measure 0:40 --max-jobs 80 \
    --db other.db > /dev/null 2>&1 || fail "other sweep exited $?"
"$bin" report --merge other.db --db all.db > /dev/null 2> refuse.err
rc=$?
[ $rc = 2 ] || fail "a shard of another grid: exit $rc, want 2"
grep -q "different grids" refuse.err || fail "refusal says: $(cat refuse.err)"
"$bin" report --merge shard1.db other.db --db fresh.db > /dev/null 2>&1
[ $? = 2 ] && [ ! -e fresh.db ] || fail "mixed shards must be refused before writing anything"
python3 "$src/tests/integration/sweep_db_equal.py" single.db all.db 24 || fail "after the refusal"
"$bin" sweep "${grid[@]}" --shard 5/4 --db x.db > /dev/null 2> bad.err
[ $? = 2 ] || fail "--shard 5/4 must be bad input"
echo "seeds and shards: ok"
