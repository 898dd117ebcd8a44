# Issue 23's defects of the command line itself: completion, output errors,
# help texts, lists and repeated options, data directory. Sourced by run.sh.

# M8: every command completes, from the one command table
defect_M8() {
    # shellcheck disable=SC1091
    . "$build/synergy.bash-completion"
    local cmds c
    cmds=$("$bin" --help | awk '/^commands:/{on=1;next} on && /^  [a-z]/{print $1}')
    [ "$(wc -w <<<"$cmds")" -ge 13 ] && ok || bad "synergy --help lists: $cmds"
    for c in $cmds; do
        COMP_WORDS=(synergy "${c:0:2}") COMP_CWORD=1
        _synergy
        [[ " ${COMPREPLY[*]} " == *" $c "* ]] && ok || bad "'synergy ${c:0:2}<TAB>' gives '${COMPREPLY[*]}', not $c"
    done
    COMP_WORDS=(synergy q) COMP_CWORD=1
    _synergy
    [ "${COMPREPLY[*]}" = queue ] && ok || bad "'synergy q<TAB>': '${COMPREPLY[*]}'"
    COMP_WORDS=(synergy trace c) COMP_CWORD=2
    _synergy
    [ "${COMPREPLY[*]}" = convert ] && ok || bad "'synergy trace c<TAB>': '${COMPREPLY[*]}'"
    COMP_WORDS=(synergy submit --mo) COMP_CWORD=2
    _synergy
    [ "${COMPREPLY[*]}" = --model ] && ok || bad "'synergy submit --mo<TAB>': '${COMPREPLY[*]}'"
}

# L2: a write to a full disk is an error, whatever the command
defect_L2() {
    [ -w /dev/full ] || { bad "/dev/full is not writable here"; return; }
    "$bin" simulate --trace "$tr" --mode fair --db r.db > /dev/null
    local cmd err rc
    for cmd in "trace convert $tr" "trace stats $tr" "report --db r.db" \
               "sweep --trace $tr --mode fair --workers 1 --db s.db" "simulate --help" \
               "--help" "trace --help"; do
        # shellcheck disable=SC2086
        err=$("$bin" $cmd 2>&1 >/dev/full)
        rc=$?
        [ $rc -eq 1 ] && [[ $err == *"writing: No space left on device"* ]] && ok ||
            bad "synergy $cmd > /dev/full: rc=$rc: $err"
    done
}

# L12: empty list items and a single-valued option given twice are errors
defect_L12() {
    want 2 "--policy: 'fifo,,las': give 1 to" -- "$bin" simulate --synthetic --max-jobs 20 --measure 0:10 --policy fifo,,las
    want 2 "--policy: '': give 1 to" -- "$bin" simulate --synthetic --max-jobs 20 --measure 0:10 --policy ''
    want 2 "--mode: 'fair,': give 1 to" -- "$bin" simulate --synthetic --max-jobs 20 --measure 0:10 --mode fair,
    want 2 "--jobs-per-hour: '2,,4' has an empty item" -- "$bin" sweep --max-jobs 20 --measure 0:10 --db l12.db --jobs-per-hour 2,,4
    want 2 "--policy: 'FIFO,,LAS' has an empty item" -- "$bin" sweep --max-jobs 20 --measure 0:10 --db l12.db --policy FIFO,,LAS
    want 2 "--trace given twice ('$tr', then 'B')" -- "$bin" simulate --trace "$tr" --trace B
    want 2 "--seed given twice ('1', then '2')" -- "$bin" simulate --synthetic --max-jobs 20 --measure 0:10 --seed 1 --seed 2
    # the same value twice, and --models (repeatable), stay accepted
    "$bin" simulate --trace "$tr" --trace "$tr" --mode fair --json > /dev/null && ok ||
        bad "the same --trace twice is refused"
    "$bin" simulate --trace "$tr" --models "$src/configs/models.ini" --models "$src/configs/models.ini" \
        --mode fair --json > /dev/null &&
        ok || bad "--models twice is refused"
}

# L20: each command's help says what that command does
defect_L20() {
    local h
    h=$("$bin" generate --help)
    grep -q "cluster file" <<<"$h" && bad "generate --help mentions a cluster file: $(grep cluster <<<"$h")" || ok
    h=$("$bin" deploy --help | grep -A2 -- '--max-jobs')
    grep -q synthetic <<<"$h" && bad "deploy --help: $h" || ok
    h=$("$bin" worker --help)
    grep -A1 -- '--topology' <<<"$h" | grep -q -- '--local' && bad "worker --help: topology for --local workers" || ok
    awk '/^measurement and output:/{on=1;next} /^[a-z]/{on=0} on' <<<"$h" | grep -q -- '--verbose' &&
        bad "worker --help: -v under 'measurement and output'" || ok
    [ "$("$bin" help simulate)" = "$("$bin" simulate --help)" ] && ok || bad "synergy help simulate is not simulate's help"
    [ "$("$bin" help trace convert)" = "$("$bin" trace convert --help)" ] && ok || bad "synergy help trace convert"
    # the worker defaults its catalog, as deploy and profile do
    : > notadir
    want 2 "--run-dir notadir: not a directory" -- "$bin" worker --scheduler 127.0.0.1:1 --insecure --gpus 1 --job-user nobody --run-dir notadir
    # the README says what SIGTERM gives
    grep -rn "SIGTERM.*exits 130\|exits 130.*SIGTERM" "$src/README.md" "$src/docs" && bad "docs say SIGTERM exits 130" || ok
}

# L22: a binary without its configs says where it looked and what to do
defect_L22() {
    mkdir -p lone/bin
    cp "$bin" lone/bin/synergy
    local cmd
    for cmd in "simulate --synthetic" "sweep" "trace stats $tr" "generate --jobs 1"; do
        # shellcheck disable=SC2086
        want 2 "not found (looked in: $tmp/lone/bin/../share/synergy" -- env -u SYNERGY_CONFIG_DIR lone/bin/synergy $cmd
    done
    want 2 "set SYNERGY_CONFIG_DIR to the directory holding configs/ or give --cluster" -- env -u SYNERGY_CONFIG_DIR lone/bin/synergy simulate --synthetic
    SYNERGY_CONFIG_DIR=$src lone/bin/synergy simulate --trace "$tr" --mode fair --json > /dev/null && ok ||
        bad "SYNERGY_CONFIG_DIR=$src does not help"
}
