#!/usr/bin/env bash
# The option table (src/options.c) against what users see: every command's
# --help and --version work; every option --help shows is in the man page's
# section for that command and in the bash completion's list for it; an
# unknown option is an error naming it (never read as a file name); an
# option of another command says which commands take it.
# usage: cli_options.sh SYNERGY_BIN SOURCE_DIR BUILD_DIR
set -u
bin=$1 src=$2 build=${3:-$(dirname "$1")}
man=$build/synergy.1 comp=$build/synergy.bash-completion
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
[ -s "$man" ] || { echo "FAIL no man page at $man"; exit 1; }
[ -s "$comp" ] || { echo "FAIL no completion at $comp"; exit 1; }
bash -n "$comp" && ok || bad "completion is not valid bash"
if command -v groff >/dev/null; then
    w=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
    [ -z "$w" ] && ok || bad "groff warns on synergy.1: $w"
fi

cmds=("simulate" "sweep" "deploy" "trace convert" "trace stats" "trace validate" "generate"
      "report" "worker" "job" "profile" "submit" "queue" "cancel" "nodes" "share")
for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    help=$("$bin" $c --help) || { bad "$c --help exits non-zero"; continue; }
    # shellcheck disable=SC2086
    v=$("$bin" $c --version) && [[ $v == "synergy "* ]] && ok || bad "$c --version: '$v'"
    opts=$(printf '%s\n' "$help" | grep -oE '^  (-[a-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    [ -n "$opts" ] || bad "$c --help lists no options"
    # the man page's section of this command: from its .SS line to the next
    sect=$(awk -v t=".SS \"synergy $c\"" '$0==t{on=1;next} /^\.SS /{on=0} on' "$man" | sed 's/\\-/-/g')
    [ -n "$sect" ] || bad "man page has no section for '$c'"
    # the completion's option list for this command
    key=$c; [ "$c" = generate ] && key=generate
    line=$(grep -F "\"$key\"" "$comp" | grep -F 'opts=')
    for o in $opts; do
        grep -qE -- "^\.B (-[a-z], )?$o( |\$)" <<<"$sect" && ok || bad "$c: $o is not in the man page's section"
        grep -qE -- "(\"| )$o( |\")" <<<"$line" && ok || bad "$c: $o is not in the completion"
    done
done
# registries in the help: every policy and mode the code knows
for p in FIFO SRTF LAS FTF DRF TETRIS SRSF; do
    "$bin" simulate --help | grep -q "$p" && ok || bad "simulate --help lacks policy $p"
done
for m in fair greedy tune opt; do
    "$bin" deploy --help | grep -A1 -- '--mode' | grep -qw "$m" && ok || bad "deploy --help lacks mode $m"
done
"$bin" simulate --help | grep -q 'pollux' && ok || bad "simulate --help lacks the trace formats"

# an unknown option is an error naming it, not a file name
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # NAME WANT -- args
    local name=$1 want=$2
    shift 3
    local err rc
    err=$(cd "$tmp" && "$bin" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] && [[ $err == *"$want"* ]]; then ok
    else bad "$name: rc=$rc stderr: $err (wanted: $want)"; fi
}
check unknown_with_value "unknown option '--bogus'" -- sweep --bogus 600
check unknown_simulate "unknown option '--frobnicate'" -- simulate --frobnicate
check other_command "option '--seed' does not apply here (it is an option of: simulate" -- report --seed 3
check missing_value "--trace needs a value" -- simulate --trace
check bad_int "--max-jobs: 'x' must be" -- simulate --synthetic --max-jobs x
check bad_round "--round-duration: '0' must be a positive number" -- sweep --round-duration 0
check unknown_short "unknown option '-q'" -- simulate -q
check generate_extra "unexpected argument 'foo'" -- generate foo
echo "cli options: $pass passed, $fail failed"
[ $fail -eq 0 ]
