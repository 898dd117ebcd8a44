#!/usr/bin/env bash
# `synergy trace` and `simulate --trace-format` end to end: format detection,
# validate's file:line diagnostics and exit codes, the Philly summary on the
# nasty fixture, stats on a Gavel file, the generated Philly log, and the
# arrival options.
# usage: trace_tools.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # name, wanted exit code, wanted output substring, command...
    local name=$1 code=$2 want=$3; shift 3
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ $rc -ne "$code" ]; then echo "FAIL: $name: exit $rc, want $code"; echo "$out" | head -5; fail=$((fail+1)); return; fi
    case $out in *"$want"*) ;; *) echo "FAIL: $name: output lacks '$want'"; echo "$out" | head -5; fail=$((fail+1)) ;; esac
}
fx=$src/tests/fixtures/philly
expect "validate replay ok" 0 "ok, 8 jobs" "$bin" trace validate "$src/traces/synergy-deploy/test_trace"
printf '0,alexnet,0,10,1\n1,resnet,5,10,1\n2,gnmt,x,10,1\n' > "$tmp/bad.trace"
expect "validate replay bad field" 2 "bad.trace:3: arrival: 'x' is not a number" "$bin" trace validate "$tmp/bad.trace"
printf '0,alexnet,0,10,1\n1,resnet,5,10,1\n2,gnmt,6,10,999\n' > "$tmp/bad2.trace"
expect "validate unknown model" 2 "bad2.trace:2: model: 'resnet' is not a profiled model" "$bin" trace validate "$tmp/bad2.trace"
expect "validate too many gpus" 2 "bad2.trace:3: gpus: 999 is more than the cluster's 128" "$bin" trace validate "$tmp/bad2.trace"
expect "validate philly nasty" 2 "nasty.json:5: record 2: not an object" "$bin" trace validate "$fx/nasty.json"
expect "validate philly counts" 2 "17 records, 4 jobs kept; skipped: 8 malformed" "$bin" trace validate "$fx/nasty.json"
expect "validate philly small" 0 "4 records, 2 jobs kept" "$bin" trace validate "$fx/small.json"
expect "validate philly strict" 2 "nasty.json:5: record 2: not an object" "$bin" trace validate --strict "$fx/nasty.json"
printf '[{"a": [1, 2}]\n' > "$tmp/syntax.json"
expect "validate philly syntax" 2 "syntax.json:1: JSON syntax error" "$bin" trace validate "$tmp/syntax.json"
expect "validate pollux" 0 "ok, 82247 jobs (pollux)" "$bin" trace validate "$src/traces/pollux-philly/philly.csv"
expect "validate gavel" 0 "ok, 2000 jobs (gavel)" "$bin" trace validate "$src/traces/gavel-msr-philly-vc/seed=0/6214e9.trace"
printf 'x\ty\n' > "$tmp/g.trace"
expect "validate gavel bad" 2 "g.trace:1: expected 7 tab-separated fields" "$bin" trace validate "$tmp/g.trace"
# simulate detects formats; the Philly summary goes to stderr and is not fatal
expect "simulate philly" 0 "nasty.json: 17 records, 2 jobs kept" "$bin" simulate --trace "$fx/nasty.json" --multigpu --philly-arrival
expect "simulate philly strict" 2 "nasty.json:5: record 2: not an object" "$bin" simulate --trace "$fx/nasty.json" --strict
expect "simulate gavel explicit" 0 "FIFO    fair" "$bin" simulate --trace "$src/traces/gavel-msr-philly-vc/seed=0/795a4c.trace" --trace-format gavel
expect "simulate wrong format" 2 "expected the header" "$bin" simulate --trace "$src/traces/synergy-deploy/test_trace" --trace-format pollux
# --help lists the registered formats (traces/formats.c) on --trace-format's line
expect "help lists formats" 0 "--trace-format F      synergy | philly | pollux | gavel (default: detected)" "$bin" simulate --help
expect "bad format name" 2 "expected one of: synergy, philly, pollux, gavel" "$bin" simulate --trace x --trace-format csv
# Philly default arrivals: Poisson at 9 jobs/h (seed 42) over the kept jobs
"$bin" trace convert "$fx/nasty.json" -o "$tmp/n.trace" 2>/dev/null
expect "philly poisson arrivals" 0 "" cmp "$tmp/n.trace" - <<'EOT'
0,alexnet,409,12000,1
1,gnmt,420,30000,1
2,transformer,549,10746,1
3,m5,651,6000,1
EOT
expect "philly per-attempt" 0 "4 jobs kept" "$bin" trace convert --per-attempt --no-duration-filter "$fx/small.json" -o "$tmp/x"
# stats
expect "stats gavel" 0 "gpus       1: 1928 (96.4%), 2: 27 (1.4%), 4: 32 (1.6%), 8: 13 (0.7%)" \
    "$bin" trace stats "$src/traces/gavel-msr-philly-vc/seed=0/6214e9.trace"
expect "stats pollux load" 0 "load       0.731 of" "$bin" trace stats --cluster "$src/configs/philly_cluster.ini" "$src/traces/pollux-philly/philly.csv"
# arrival options re-time a replay trace without changing its jobs
printf '0,a\n3600000,b\n' > "$tmp/d.csv"
"$bin" trace convert --arrival "deltas:$tmp/d.csv" "$src/traces/synergy-deploy/test_trace" -o "$tmp/dd"
expect "deltas re-time" 0 "" cmp "$tmp/dd" - <<'EOT'
0,alexnet,0,3349,4
1,gnmt,3600,26435,1
EOT
expect "generate alias" 0 "" cmp <("$bin" generate --jobs 20) <("$bin" trace generate --jobs 20)
# a generated Philly log with every 10th record broken
"$bin" trace gen-philly --jobs 200 --bad-every 10 --seed 3 > "$tmp/gen.json"
expect "gen-philly validate" 2 "200 records" "$bin" trace validate --multigpu "$tmp/gen.json"
expect "gen-philly malformed" 2 "10 malformed" "$bin" trace validate --multigpu "$tmp/gen.json"
# a replay with an idle gap runs to the end; --stop-on-gap is the reference's early stop
printf '0,alexnet,0,100,1\n1,alexnet,100000,100,1\n' > "$tmp/gap.trace"
expect "gap: both jobs" 0 '"jobs_finished":2' "$bin" simulate --trace "$tmp/gap.trace" --json
expect "gap: stop-on-gap" 0 '"jobs_finished":1' "$bin" simulate --trace "$tmp/gap.trace" --json --stop-on-gap
# writing to a device must not replace it: -o and --record write through, not rename
mkfifo "$tmp/fifo"
(timeout 10 cat "$tmp/fifo" > "$tmp/from-fifo") &
"$bin" trace convert "$src/traces/synergy-deploy/test_trace" -o "$tmp/fifo"
wait
[ -p "$tmp/fifo" ] || { echo "FAIL: convert -o replaced a fifo"; fail=$((fail+1)); }
expect "convert into a fifo" 0 "" cmp "$tmp/from-fifo" <("$bin" trace convert "$src/traces/synergy-deploy/test_trace")
echo "trace tools: $fail failed"
[ $fail -eq 0 ]
