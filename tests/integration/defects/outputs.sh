# Issue 23's defects of what commands write: interrupted output, tables,
# plots, progress, merged sweeps. Sourced by run.sh.

# M6: an interrupted generate -o leaves no temporary and says so
defect_M6() {
    local sig rc
    for sig in INT TERM; do
        echo keep > big.trace
        "$bin" generate --jobs 100000000 -o big.trace 2> err &
        local pid=$!
        for _ in $(seq 100); do ls big.trace.tmp.* >/dev/null 2>&1 && break; sleep 0.05; done
        sleep 0.3
        kill -$sig $pid
        # a generate that ignores the signal (bash starts background jobs with
        # SIGINT ignored) would write 2.5 GB: give it 5 s
        for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
        kill -KILL $pid 2>/dev/null
        wait $pid
        rc=$?
        [ $rc -eq $((128 + $(kill -l $sig))) ] && ok || bad "SIG$sig: exit $rc"
        ls big.trace.tmp.* >/dev/null 2>&1 && bad "SIG$sig left $(ls big.trace.tmp.*)" || ok
        [ "$(cat big.trace)" = keep ] && ok || bad "SIG$sig: big.trace changed"
        grep -q "interrupted; nothing written" err && ok || bad "SIG$sig: message: $(cat err)"
    done
}

# L3: plot titles carry the load and the trace; 1-2-5 tick labels; hidden curves are named
defect_L3() {
    local g=$src/traces/gavel-msr-philly-vc/seed=0/ed69ec.trace
    "$bin" sweep --trace "$g" --jobs-per-hour 4,16 --mode fair,tune --policy FIFO --db l3.db --plot l3 > /dev/null ||
        { bad "sweep --plot failed"; return; }
    grep -qF "set title 'JCT CDF by mode: ed69ec.trace at 4 jobs/h (128 GPUs)'" l3/plots.gp && ok || bad "by-mode title lacks the load"
    grep -qF "set title 'JCT CDF by mode: ed69ec.trace at 16 jobs/h (128 GPUs)'" l3/plots.gp && ok || bad "load 16"
    grep -qF "set title 'average JCT vs load: ed69ec.trace" l3/plots.gp && ok || bad "jct_vs_load does not name the trace"
    grep -q '"2" 2, "5" 5' l3/plots.gp && ok || bad "no 2 and 5 tick labels"
    # two identical runs: the second is said to lie under the first
    "$bin" simulate --trace "$tr" --mode fair --db same.db > /dev/null
    "$bin" simulate --trace "$tr" --mode fair --db same.db > /dev/null
    "$bin" report --db same.db --all --plot same > /dev/null || { bad "report --plot failed"; return; }
    grep -q "title 'FIFO/fair (the JCTs of run 1: under it)'" same/plots.gp && ok ||
        bad "the hidden curve is not named: $(grep steps same/plots.gp)"
}

# L4: a sweep over seeds names its figures by seed
defect_L4() {
    "$bin" sweep --synthetic --max-jobs 60 --measure 0:50 --jobs-per-hour 4,8 --seed 1,2 --mode fair,tune \
        --db l4.db --plot l4 > /dev/null || { bad "sweep --plot failed"; return; }
    local f
    for f in jct_vs_load_seed1 jct_vs_load_seed2 jct_cdf_by_mode_load4_seed1 jct_cdf_by_mode_load8_seed2; do
        [ -s "l4/$f.png" ] && [ -s "l4/$f.svg" ] && ok || bad "no $f: $(ls l4)"
    done
    ls l4 | grep -v '^alloc_run' | grep -q '_run[0-9]' && bad "figures named by run id: $(ls l4)" || ok
    grep -q "jct_vs_load_seed1" "$src/docs/results.md" && ok || bad "docs/results.md does not name them"
}

# L27: a big CDF stays small, no figure repeats another, each jct_cdf curve its own colour and dash
defect_L27() {
    "$bin" simulate --synthetic --max-jobs 5000 --measure 0:5000 --jobs-per-hour 30 --mode fair,tune \
        --db l27.db --plot l27 > /dev/null || { bad "simulate --plot failed"; return; }
    local pts size
    pts=$(grep -vc '^#' l27/data/run1_jct.dat)
    [ "$pts" -le 2001 ] && [ "$pts" -ge 1000 ] && ok || bad "the CDF of 5000 jobs has $pts points"
    tail -1 l27/data/run1_jct.dat | grep -q ' 1.000000$' && ok || bad "the CDF does not end at 1"
    size=$(stat -c %s l27/jct_cdf.svg)
    [ "$size" -lt 400000 ] && ok || bad "jct_cdf.svg is $size bytes"
    [ ! -e l27/jct_cdf_by_mode.png ] && ok || bad "jct_cdf_by_mode.png repeats jct_cdf.png"
    local styles
    styles=$(awk '/set output .jct_cdf.svg./ { on = 1 } on && /^unset output/ { exit }
                  on && / with steps / { sub(/.* with steps /, ""); sub(/ title .*/, ""); print }' l27/plots.gp)
    [ "$(sort -u <<<"$styles" | wc -l)" = 2 ] && [ "$(grep -o 'dt [0-9]' <<<"$styles" | sort -u | wc -l)" = 2 ] &&
        ok || bad "jct_cdf's two curves share a dash: $styles"
}

# L24: tables keep two spaces between columns at 10,000 h and more, 3 decimals
defect_L24() {
    printf '0,alexnet,0,150000000,1\n1,res18,10,100,1\n' > long.trace
    "$bin" simulate --trace long.trace --mode fair,tune --db l24.db > sim.txt || { bad "simulate failed"; return; }
    grep -q ' 12500\.082 ' sim.txt && ok || bad "no 12500.082 h value: $(cat sim.txt)"
    grep -E '^FIFO' sim.txt | grep -qE '[0-9] [0-9]' && bad "one space between columns: $(grep ^FIFO sim.txt)" || ok
    grep -E '^FIFO' sim.txt | grep -qE '\.[0-9]{4}' && bad "more than 3 decimals: $(grep ^FIFO sim.txt)" || ok
    "$bin" report --db l24.db --brief > rep.txt || { bad "report failed"; return; }
    awk '/^ RUN /{on=1;next} on && /^$/{exit} on' rep.txt > rows.txt
    [ "$(wc -l < rows.txt)" = 2 ] && ok || bad "report table: $(cat rep.txt)"
    grep -qE '[0-9] [0-9]' rows.txt && bad "report: one space between columns: $(cat rows.txt)" || ok
    grep -q ' 12500\.082 ' rep.txt && ok || bad "report lacks 12500.082: $(cat rep.txt)"
}

# M5: the shards of one sweep, merged, are one batch: the default report shows the whole grid
defect_M5() {
    local k
    for k in 1 2; do
        "$bin" sweep --synthetic --max-jobs 60 --measure 0:50 --jobs-per-hour 4 --policy FIFO,LAS \
            --mode fair,tune --workers 1 --shard "$k/2" --db "s$k.db" > /dev/null || { bad "shard $k"; return; }
    done
    "$bin" report --merge s1.db s2.db --db all.db > /dev/null || { bad "merge failed"; return; }
    local rows
    rows=$("$bin" report --db all.db --format json --brief | grep -c '^{"run_id"')
    [ "$rows" = 4 ] && ok || bad "the default report of the merged sweep shows $rows of 4 runs"
    [ "$(sqlite3 all.db 'select count(distinct batch_id) from runs')" = 1 ] && ok || bad "the shards are separate batches"
    # every run has its GPU-proportional twin to compare with
    "$bin" report --db all.db --brief | grep -q "than GPU-proportional (LAS/fair" && ok || bad "LAS/tune has no fair twin"
}

# M10: idle rounds of a slow arrival process are skipped (counted, not simulated
# one by one); a run of millions of rounds is announced before it starts
defect_M10() {
    local out rc
    out=$(timeout 20 "$bin" simulate --synthetic --arrival poisson:1e-9 --max-jobs 10 --measure 0:10 --json)
    rc=$?
    [ $rc -eq 0 ] && [[ $out == *'"jobs_finished":10'* ]] && ok || bad "poisson:1e-9 did not finish in 20 s (rc $rc)"
    # the same numbers as simulating every idle round (recorded from 2084638, which
    # stepped through all 3,146 rounds): FIFO/fair at poisson:0.05
    out=$("$bin" simulate --synthetic --arrival poisson:0.05 --max-jobs 20 --measure 0:20 --mode fair --json)
    local f
    for f in '"avg_jct_h":9.518680556' '"makespan_h":262.166666667' '"rounds":3146' '"gpu_alloc_pct":0.7976'; do
        [[ $out == *"$f"* ]] && ok || bad "poisson:0.05: no $f in $out"
    done
    timeout 3 "$bin" simulate --trace "$tr" --round-duration 0.001 > /dev/null 2> err
    grep -q "warning: the last job cannot end before 5.49 h: at least 2e+07 rounds of 0.001 s" err && ok ||
        bad "no warning before a run of 2e7 rounds: $(cat err)"
}

# L5: progress says how far (measured jobs of the window, %, ETA); sweep -v and deploy say more
defect_L5() {
    script -qefc "'$bin' simulate --trace '$src/traces/pollux-philly/philly.csv' --vc 6214e9 --mode tune > /dev/null" ts1 > /dev/null 2>&1
    tr '\r' '\n' < ts1 | grep -qE 'h simulated, [0-9]+/41226 measured jobs finished \([0-9]+%\), [0-9]+ running, [0-9]+ s, ETA' &&
        ok || bad "simulate's progress: $(tr '\r' '\n' < ts1 | grep simulated | tail -2)"
    script -qefc "'$bin' sweep --trace '$tr' --mode fair,tune --workers 1 --db s.db -v > /dev/null" ts2 > /dev/null 2>&1
    [ "$(tr '\r' '\n' < ts2 | grep -c '^.*\[[12]/2\] run [0-9]* FIFO/')" -ge 2 ] && ok ||
        bad "sweep -v on a terminal has no line per run: $(tr '\r' '\n' < ts2 | tail -5)"
    two_ini
    # (its first line comes after 2 s, then every 10 s: 6 s of it is enough)
    script -qefc "timeout -s INT 6 '$bin' deploy --local 2 --cluster two.ini --trace '$tr' --time-scale 1000 --run-dir run --catalog '$src/tests/deploy/catalog.ini' > /dev/null" ts3 > /dev/null 2>&1
    grep -q "h on the run's clock, round [0-9]*: [0-9]* running, [0-9]* waiting" ts3 && ok ||
        bad "deploy on a terminal says nothing while it runs: $(tail -5 ts3)"
}
