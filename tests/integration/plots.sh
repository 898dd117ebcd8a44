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
check "$tmp/sim" jct_cdf_by_mode
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
echo "ok: plots"
