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
