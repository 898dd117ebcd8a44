# Issue 23's defects of input checking: INI structure, model sections, paths,
# options that do nothing, lists, report selections. Sourced by run.sh.

# L11: an INI's structural mistakes name their line and what is wrong
defect_L11() {
    printf '[CLUSTER\nracks = 1\n' > unclosed.ini
    printf 'racks = 1\n[CLUSTER]\n' > nosection.ini
    printf '[CLUSTER]\nracks 1\n' > noeq.ini
    local cmd
    for cmd in "simulate --synthetic --max-jobs 20 --measure 0:10 --cluster" "trace stats $tr --cluster" "sweep"; do
        # shellcheck disable=SC2086
        want 2 "unclosed.ini:1: section header '[CLUSTER' not closed" -- "$bin" $cmd unclosed.ini
        # shellcheck disable=SC2086
        want 2 "nosection.ini:1: key 'racks' outside a section" -- "$bin" $cmd nosection.ini
        # shellcheck disable=SC2086
        want 2 "noeq.ini:2: 'racks 1': expected [section] or key = value" -- "$bin" $cmd noeq.ini
    done
    want 2 "unclosed.ini:1: section header '[CLUSTER' not closed" -- "$bin" simulate --trace "$tr" --models unclosed.ini
}

# L16: a model section the simulator would never read is an error
defect_L16() {
    printf '[mymodel]\niter_time = abc\n' > m.ini
    want 2 "m.ini:2: section [mymodel] must be [model:gpus] or [model:gpus:type] (e.g. [mymodel:1])" -- "$bin" simulate --trace "$tr" --models m.ini
    printf '[mymodel:x]\niter_time = 1\n' > m2.ini
    want 2 "m2.ini:2: section [mymodel:x] must be [model:gpus]" -- "$bin" simulate --trace "$tr" --models m2.ini
    # the shipped profiles (with their multi-GPU sections) still load
    "$bin" simulate --trace "$tr" --mode fair --json > /dev/null && ok || bad "the shipped models.ini is refused"
}

# L17: a profile store that is a file is refused (the worker's --run-dir: defect_L20)
defect_L17() {
    : > some_file
    want 2 "--profiles-dir: some_file: Not a directory" -- "$bin" simulate --trace "$tr" --profiles-dir some_file
    want 2 "--profiles-dir: some_file: Not a directory" -- "$bin" trace stats "$tr" --profiles-dir some_file
    want 2 "--run-dir some_file: not a directory" -- "$bin" worker --scheduler 127.0.0.1:1 --insecure --gpus 1 --job-user nobody --run-dir some_file
}

# L18: a bad --arrival before anything is printed
defect_L18() {
    local spec out
    for spec in poisson:-1 foo:3 schedule:2,1.5 deltas:missing; do
        out=$("$bin" simulate --synthetic --max-jobs 20 --measure 0:10 --arrival "$spec" 2>/dev/null)
        [ $? -eq 2 ] && [ -z "$out" ] && ok || bad "--arrival $spec: printed '$out' before the error"
    done
}

# M3: --jobs-per-hour re-times a trace as in sweep; --seed and --split that do nothing are errors
defect_M3() {
    local g=$src/traces/gavel-msr-philly-vc/seed=0/ed69ec.trace out
    out=$("$bin" simulate --trace "$g" --jobs-per-hour 50 --mode fair --json)
    [[ $out == *'"avg_jct_h"'* ]] || { bad "simulate --jobs-per-hour 50 on a gavel trace failed"; return; }
    # the same run as --arrival poisson:50, and not the run without it
    local as_arrival plain
    as_arrival=$("$bin" simulate --trace "$g" --arrival poisson:50 --mode fair --json)
    plain=$("$bin" simulate --trace "$g" --mode fair --json)
    strip() { sed 's/"wall_s":[0-9.e+-]*//'; }
    [ "$(strip <<<"$out")" = "$(strip <<<"$as_arrival")" ] && ok || bad "--jobs-per-hour 50 differs from --arrival poisson:50"
    [ "$(strip <<<"$out")" != "$(strip <<<"$plain")" ] && ok || bad "--jobs-per-hour 50 changed nothing"
    # trace stats sees the new rate: about 50 jobs/h, not the trace's 16.181
    out=$("$bin" trace stats "$src/traces/pollux-philly/philly.csv" --vc 6214e9 --jobs-per-hour 50 | grep '^arrivals')
    local rate
    rate=$(sed -n 's/.*h, \([0-9.]*\) jobs\/h).*/\1/p' <<<"$out")
    awk -v r="$rate" 'BEGIN { exit !(r > 48 && r < 52) }' && ok || bad "trace stats --jobs-per-hour 50: $out"
    want 2 "--seed: $g is replayed with its own times, nothing is drawn at random" -- "$bin" simulate --trace "$g" --seed 7
    want 2 "--split: every job of $tr names its model" -- "$bin" simulate --trace "$tr" --split 10,10,80
    want 2 "give --jobs-per-hour or --arrival, not both" -- "$bin" simulate --trace "$tr" --jobs-per-hour 5 --arrival poisson:3
    # where they mean something they stay accepted: a re-timed trace takes a seed
    "$bin" simulate --trace "$tr" --jobs-per-hour 5 --seed 7 --mode fair --json > /dev/null && ok || bad "--jobs-per-hour with --seed refused"
}

# M4: a directory as the experiment file
defect_M4() {
    want 2 "$src/configs/: Is a directory" -- "$bin" sweep "$src/configs/" --db m4.db
    [ ! -e m4.db ] && ok || bad "sweep DIR wrote m4.db"
}

# L13: report --list in JSON, each run once, one selection
defect_L13() {
    "$bin" simulate --trace "$tr" --policy FIFO,LAS --mode fair --db r.db > /dev/null
    local out
    out=$("$bin" report --db r.db --list --format json)
    [ "$(grep -c '^{"run":' <<<"$out")" = 2 ] && /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r["run"] for r in rows] == [1, 2] and rows[1]["policy"] == "LAS", rows' <<<"$out" && ok ||
        bad "report --list --format json: $out"
    out=$("$bin" report --db r.db --run 1,1 --format json --brief)
    [ "$(grep -c '^{"run_id":1,' <<<"$out")" = 1 ] && ok || bad "report --run 1,1 shows run 1 twice: $out"
    want 2 "give one of --run, --batch and --all" -- "$bin" report --db r.db --run 1 --batch 1
    want 2 "give one of --run, --batch and --all" -- "$bin" report --db r.db --all --batch 1
}

# L15: output paths are the user's and are checked before the work
defect_L15() {
    want 2 "--jobs-csv: /nonexistent/j.csv: No such file or directory" -- "$bin" simulate --trace "$tr" --jobs-csv /nonexistent/j.csv
    want 2 "--output: /nonexistent/o: No such file or directory" -- "$bin" trace convert "$tr" -o /nonexistent/o
    want 2 "--output: /nonexistent/x: No such file or directory" -- "$bin" generate --jobs 5 -o /nonexistent/x
    : > FILE
    local out
    # before the run: nothing printed on stdout (the header would come first)
    for args in "simulate --trace $tr --plot FILE" "simulate --trace $tr --record /nonexistent/x.trace" \
                "simulate --trace $tr --plan-log /nonexistent/p" "sweep --trace $tr --mode fair --db s.db --plot FILE"; do
        # shellcheck disable=SC2086
        out=$("$bin" $args 2>err)
        [ $? -eq 2 ] && [ -z "$out" ] && [[ $(cat err) != *".tmp."* ]] && ok || bad "$args: out '$out' err $(cat err)"
    done
    want 2 "--telemetry: FILE: Not a directory" -- "$bin" report --db r.db --telemetry FILE
    [ ! -e s.db ] && ok || bad "sweep --plot FILE wrote its database first"
}

# L19: an interrupted simulate says what it kept in --db; its header was flushed
defect_L19() {
    "$bin" simulate --synthetic --measure 4000:400000 --mode tune --db i.db > out 2> err &
    local pid=$!
    for _ in $(seq 100); do [ -s out ] && break; sleep 0.1; done
    kill -INT $pid
    wait $pid
    local rc=$?
    [ $rc -eq 130 ] && ok || bad "exit $rc after SIGINT"
    grep -q "^workload  synthetic" out && ok || bad "the header was lost: $(cat out)"
    grep -q "interrupted; the finished runs are in i.db and the interrupted one is kept there as incomplete" err &&
        ok || bad "message: $(cat err)"
    grep -q "no output file was written" err && bad "still says no output file was written" || ok
    "$bin" report --db i.db --all --list | grep -q " incomplete " && ok || bad "the run is not incomplete in i.db"
}
