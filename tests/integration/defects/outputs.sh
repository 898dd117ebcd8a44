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
