#!/usr/bin/env bash
# Policies explained (issue 23): every policy and mode of the registries has
# its one line in `simulate --help`, in the man page's POLICIES and MODES, and
# docs/simulate.md carries the table `synergy --registries-md` prints (so the
# page cannot drift from the code).
# usage: policies_explained.sh SYNERGY SRCDIR
set -u
bin=$1 src=$2
build=$(dirname "$bin")
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
md=$("$bin" --registries-md)
[ "$(grep -c '^| [A-Za-z]* | ' <<<"$md")" -ge 11 ] || bad "--registries-md: $md"
page=$(sed -n '/^<!-- synergy --registries-md -->$/,/^<!-- end of synergy --registries-md -->$/p' \
       "$src/docs/simulate.md" | sed '1d;$d')
[ "$page" = "$md" ] && ok || bad "docs/simulate.md's table differs from 'synergy --registries-md': $(diff <(echo "$page") <(echo "$md"))"
help=$("$bin" simulate --help | tr -s ' \n' ' ')
man=$(groff -man -Tascii -P-cbou "$build/synergy.1" 2>/dev/null | tr -s ' \n' ' ' | sed 's/- //g')
while IFS='|' read -r _ name what _; do
    name=$(echo $name) what=$(echo $what)
    [ -n "$name" ] && [ "$name" != policy ] && [ "$name" != mode ] && [[ $name != ---* ]] || continue
    [[ $help == *"$name $what"* ]] && ok || bad "simulate --help lacks '$name $what'"
    [[ $man == *"$name $what"* ]] && ok || bad "the man page lacks '$name $what'"
done <<<"$md"
for p in FIFO SRTF LAS FTF DRF TETRIS SRSF; do
    grep -q "^| $p | " <<<"$md" && ok || bad "no line for $p"
done
grep -q '^\.SH POLICIES' "$build/synergy.1" && grep -q '^\.SH EXAMPLES' "$build/synergy.1" &&
    grep -q '^\.SH SEE ALSO' "$build/synergy.1" && ok || bad "the man page lacks POLICIES, EXAMPLES or SEE ALSO"
echo "policies explained: $pass passed, $fail failed"
[ $fail -eq 0 ]
