#!/usr/bin/env bash
# --plot on simulate, sweep and report writes the figures as valid PNG
# (signature and IEND chunk) and SVG (XML with an <svg> root) files.
# usage: plots.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v xmllint > /dev/null || fail "xmllint is not installed (libxml2-utils): run scripts/install-deps.sh"
check() { # dir name
    local png=$1/$2.png svg=$1/$2.svg
    [ -s "$png" ] || fail "$png missing"
    [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png: not a PNG"
    tail -c 12 "$png" | grep -q IEND || fail "$png: truncated (no IEND)"
    [ -s "$svg" ] || fail "$svg missing"
    head -c 5 "$svg" | grep -q '<?xml' || fail "$svg: no XML declaration"
    grep -q '<svg' "$svg" || fail "$svg: no <svg> element"
    tail -c 20 "$svg" | grep -q '</svg>' || fail "$svg: not closed"
    xmllint --noout "$svg" || fail "$svg: not well-formed"
}
trace=$src/traces/synergy-deploy/static_100job_6_3_1100.0
cluster=$src/configs/static_trace.ini

"$bin" simulate --trace "$trace" --static --cluster "$cluster" --policy FIFO,SRTF --mode fair,tune \
    --db "$tmp/r.db" --plot "$tmp/sim" > /dev/null || fail "simulate --plot exited $?"
check "$tmp/sim" jct_cdf
check "$tmp/sim" alloc_run1
# one group at one load: the by-mode CDF would draw jct_cdf's curves again (issue 23, L27)
[ ! -e "$tmp/sim/jct_cdf_by_mode.png" ] || fail "jct_cdf_by_mode repeats jct_cdf"
grep -q 'FIFO/tune' "$tmp/sim/jct_cdf.svg" || fail "CDF legend lacks FIFO/tune"
grep -q 'allocated' "$tmp/sim/alloc_run1.svg" || fail "allocation plot lacks its legend"

# the grid from an experiment file; flags override its keys
cat > "$tmp/exp.ini" <<INI
[sweep]
policies = FIFO
modes = fair,tune
loads = 2,3
measure = 0:50
db = $tmp/elsewhere.db
INI
"$bin" sweep "$tmp/exp.ini" --workers 2 --db "$tmp/r.db" --plot "$tmp/sweep" > "$tmp/sweep.log" ||
    fail "sweep --plot exited $?"
grep -q '^sweep: 4 runs on 2 workers' "$tmp/sweep.log" || fail "sweep did not run the file's 2x2 grid"
[ ! -e "$tmp/elsewhere.db" ] || fail "--db did not override the file's db"
check "$tmp/sweep" jct_vs_load
check "$tmp/sweep" jct_cdf_by_mode_load2
check "$tmp/sweep" jct_cdf_by_mode_load3
grep -q 'FIFO/fair' "$tmp/sweep/jct_vs_load.svg" || fail "load plot legend lacks FIFO/fair"

"$bin" report --db "$tmp/r.db" --run 1,2 --plot "$tmp/report" > /dev/null || fail "report --plot exited $?"
check "$tmp/report" jct_cdf
check "$tmp/report" alloc_run2
# ---- defect 14 (issue 13) ----
# the style of a curve titled T in the plot block of figure F in plots.gp
style() { # dir figure title
    awk -v fig="set output '$2.svg'" -v t="title '$3" '
        index($0, fig) { on = 1 } on && /^unset output/ { exit }
        on && index($0, t) { sub(/.* with steps /, ""); sub(/ title .*/, ""); print; exit }' "$1/plots.gp"
}
# tune and opt: one policy, two modes, two different line styles
"$bin" simulate --trace "$src/tests/deploy/static20_trace" --static --policy FIFO --mode tune,opt \
    --db "$tmp/opt.db" --plot "$tmp/opt" > /dev/null || fail "simulate tune,opt --plot exited $?"
a=$(style "$tmp/opt" jct_cdf "FIFO/tune") b=$(style "$tmp/opt" jct_cdf "FIFO/opt")
[ -n "$a" ] && [ -n "$b" ] || fail "no FIFO/tune or FIFO/opt curve in the CDF"
[ "$a" != "$b" ] || fail "tune and opt drawn alike: '$a'"
# ten runs in one CDF: ten different styles; and the runs of an earlier plot
# into the same directory are gone, other files stay
mkdir -p "$tmp/ten/data"
touch "$tmp/ten/alloc_run999.png" "$tmp/ten/jct_cdf_by_mode_load7.svg" "$tmp/ten/jct_vs_load.png" \
      "$tmp/ten/data/run999_jct.dat" "$tmp/ten/notes.txt"
"$bin" simulate --trace "$trace" --static --cluster "$cluster" --policy FIFO,SRTF,LAS,FTF,DRF \
    --mode fair,tune --db "$tmp/ten.db" --plot "$tmp/ten" > /dev/null || fail "10 runs --plot exited $?"
styles=$(awk '/set output .jct_cdf.svg./ { on = 1 } on && /^unset output/ { exit }
              on && / with steps / { sub(/.* with steps /, ""); sub(/ title .*/, ""); print }' \
         "$tmp/ten/plots.gp")
[ "$(printf '%s\n' "$styles" | wc -l)" = 10 ] || fail "the CDF of 10 runs has not 10 curves: $styles"
[ "$(printf '%s\n' "$styles" | sort -u | wc -l)" = 10 ] ||
    fail "curves share a style in the CDF of 10 runs:"$'\n'"$styles"
for old in alloc_run999.png jct_cdf_by_mode_load7.svg jct_vs_load.png data/run999_jct.dat; do
    [ ! -e "$tmp/ten/$old" ] || fail "an old plot stays beside the new ones: $old"
done
[ -e "$tmp/ten/notes.txt" ] || fail "a file that is not a plot was removed"
# a trace's CDF names the trace
grep -qF "JCT CDF per run: static_100job_6_3_1100.0 (32 GPUs)" "$tmp/ten/jct_cdf.svg" ||
    fail "the trace CDF's title does not name the trace"
[ ! -e "$tmp/ten/jct_cdf_by_mode.svg" ] || fail "the by-mode CDF repeats jct_cdf"
# a long run (15,000 one-minute rounds): its allocation plot is drawn from at
# most 1,000 means, and its SVG stays small
"$bin" simulate --synthetic --max-jobs 600 --measure 0:600 --round-duration 60 --policy FIFO \
    --mode tune --db "$tmp/long.db" --plot "$tmp/long" > /dev/null || fail "long run --plot exited $?"
check "$tmp/long" alloc_run1
rounds=$(sqlite3 "$tmp/long.db" "select count(*) from rounds")
[ "$rounds" -gt 10000 ] || fail "the long run has only $rounds rounds"
lines=$(grep -vc '^#' "$tmp/long/data/run1_rounds.dat")
[ "$lines" -le 1000 ] && [ "$lines" -ge 500 ] || fail "$rounds rounds drawn as $lines points"
size=$(stat -c %s "$tmp/long/alloc_run1.svg")
[ "$size" -lt 400000 ] || fail "alloc_run1.svg of $rounds rounds is $size bytes"
grep -qF "allocation vs demand (means of" "$tmp/long/alloc_run1.svg" ||
    fail "the long run's allocation title does not say it shows means"
# docs/results.md names the files --plot writes
for f in "$tmp"/sim/*.png "$tmp"/sweep/*.png "$tmp"/ten/*.png; do
    name=$(basename "$f" .png | sed -E 's/run[0-9]+/run<ID>/; s/load[0-9.]+/load<L>/')
    grep -qF -- "$name" "$src/docs/results.md" || fail "docs/results.md does not name the plot file $name"
done
echo "ok: plots"
