#!/usr/bin/env bash
# Issue 13's walkthrough defects that concern output and files, each checked
# against numbers known independently of the table code (the JSON summary of
# the same runs, hand-made traces):
#   4  Ctrl-C during simulate --record F --jobs-csv G leaves neither F.tmp.PID
#      nor an empty G, says so, exits 130
#   7  trace stats on a static trace has no arrival rate (it printed 3,600,000/h)
#   8  a failed write of stdout is an error: simulate --json, generate
#   9  'vs fair' compares each row with the same policy's fair run
#   10 CPU % and mem % columns, equal to the JSON summary
#   11 the columns stay put beyond 1000 h
#   13 report --batch N for a batch that does not exist says so
#   16 a long simulate shows progress on a terminal
# and input paths in an experiment file resolve relative to the file.
# usage: cli_defects.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
tr=$src/traces/synergy-deploy/test_trace

# 4: Ctrl-C
echo "keep" > G
# a run far longer than the 1 s before the signal, however fast the simulator gets
"$bin" simulate --synthetic --measure 4000:400000 --mode tune --record F --jobs-csv G 2> err4 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && ok || bad "4: exit $rc after SIGINT, wanted 130"
ls F.tmp.* G.tmp.* >/dev/null 2>&1 && bad "4: temporaries left: $(ls)" || ok
[ ! -e F ] && ok || bad "4: F written by an interrupted run"
[ "$(cat G)" = keep ] && ok || bad "4: G was truncated"
grep -q "interrupted; no output file was written" err4 && ok || bad "4: no message: $(cat err4)"

# 7: a static trace (arrivals 1 ms apart) has no arrival rate
out=$("$bin" trace stats "$src/traces/synergy-deploy/static_100job_6_3_1100.0")
grep -q "a static trace (simulate --static), no arrival rate" <<<"$out" && ok || bad "7: $out"
grep -q "3600000" <<<"$out" && bad "7: still a rate of millions" || ok
grep -q "all jobs arrive at once: 296.8 GPU-h on 128 GPUs" <<<"$out" && ok || bad "7: load: $out"

# 8: writes to a full device fail loudly
if [ -w /dev/full ]; then
    err=$("$bin" simulate --trace "$tr" --json 2>&1 >/dev/full); rc=$?
    [ $rc -eq 1 ] && [[ $err == *"writing the results: No space left on device"* ]] && ok ||
        bad "8: simulate --json > /dev/full: rc=$rc $err"
    err=$("$bin" generate --jobs 10 2>&1 >/dev/full); rc=$?
    [ $rc -eq 1 ] && [[ $err == *"No space left on device"* ]] && ok ||
        bad "8: generate > /dev/full: rc=$rc $err"
else
    bad "8: /dev/full is not writable here"
fi
"$bin" generate --jobs 5 -o gen.trace && [ "$(grep -c . gen.trace)" = 5 ] && ok || bad "generate -o"

# 9, 10: the table against the JSON summary of the same runs
args=(--trace "$tr" --policy FIFO,LAS --mode tune,fair)
"$bin" simulate "${args[@]}" --json > runs.json
"$bin" simulate "${args[@]}" > table.txt
head_line=$(grep '^policy' table.txt)
[[ $head_line == *"CPU %"*"mem %"*"vs fair"* ]] && ok || bad "10: header: $head_line"
field() { grep "\"policy\":\"$1\",\"mode\":\"$2\"" runs.json | grep -o "\"$3\":[^,}]*" | cut -d: -f2; }
for p in FIFO LAS; do
    fair=$(field $p fair avg_jct_h) tune=$(field $p tune avg_jct_h)
    want=$(awk -v f="$fair" -v t="$tune" 'BEGIN { printf "%.2fx", f / t }')
    row=$(awk -v p=$p '$1 == p && $2 == "tune"' table.txt)
    got=$(awk '{print $(NF-1)}' <<<"$row")
    [ "$got" = "$want" ] && ok || bad "9: $p tune vs fair $got, wanted $want ($row)"
    cpu=$(awk '{print $(NF-3)}' <<<"$row") mem=$(awk '{print $(NF-2)}' <<<"$row")
    [ "$cpu" = "$(printf '%.2f' "$(field $p tune cpu_alloc_pct)")" ] && ok || bad "10: $p CPU % $cpu"
    [ "$mem" = "$(printf '%.2f' "$(field $p tune mem_alloc_pct)")" ] && ok || bad "10: $p mem % $mem"
    fr=$(awk -v p=$p '$1 == p && $2 == "fair" {print $(NF-1)}' table.txt)
    [ "$fr" = "1.00x" ] && ok || bad "9: $p fair row says $fr"
done

# 11: a job of thousands of hours keeps every line as wide as the header
printf '0,alexnet,0,50000000,1\n1,res18,10,100,1\n' > long.trace
"$bin" simulate --trace long.trace --mode fair,tune > long.txt
w=$(grep '^policy' long.txt | awk '{print length($0)}')
grep -q ' 4166\.' long.txt && ok || bad "11: no 1000+ h value: $(cat long.txt)"
bad_rows=$(grep -E '^(FIFO) ' long.txt | awk -v w="$w" 'length($0) != w' | wc -l)
[ "$bad_rows" -eq 0 ] && ok || bad "11: rows wider or narrower than the header: $(cat long.txt)"

# 13: report --batch for a batch that does not exist
"$bin" simulate --trace "$tr" --db r.db > /dev/null
err=$("$bin" report --db r.db --batch 3 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ $err == *"there is no batch 3 (batches 1..1)"* ]] && ok || bad "13: rc=$rc $err"

# 16: progress on a terminal while a run takes long (script(1) gives it a tty)
script -qefc "'$bin' simulate --synthetic --mode tune > /dev/null" typescript > /dev/null 2>&1
grep -q "h simulated, .* jobs finished" typescript && ok || bad "16: no progress line: $(tr -d '\r' < typescript | head -3)"
"$bin" simulate --synthetic --mode tune 2> noprog.err > /dev/null
[ ! -s noprog.err ] && ok || bad "16: progress written when stderr is not a terminal"

# experiment files: input paths are relative to the file, not the current directory
mkdir -p exp/sub elsewhere
cp "$tr" exp/sub/jobs.trace
cp "$src/configs/default_cluster.ini" exp/c.ini
printf '[sweep]\ntrace = sub/jobs.trace\nclusters = c.ini\nmodes = fair\nworkers = 1\n' > exp/e.ini
(cd elsewhere && "$bin" sweep ../exp/e.ini --db s.db > out 2>&1) && ok || bad "experiment paths: $(cat elsewhere/out)"
[ -s elsewhere/s.db ] && ok || bad "experiment db: outputs are relative to the current directory"

echo "cli defects: $pass passed, $fail failed"
[ $fail -eq 0 ]
