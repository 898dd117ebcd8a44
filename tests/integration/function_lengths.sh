#!/usr/bin/env bash
# Rooms of a readable size (issues 13 and 23): no function of production code
# is longer than 120 lines, and no production .c file longer than 1,000.
# Production code is every library the top-level CMakeLists.txt adds
# (add_subdirectory), and src/, but not tests/ or bench/. First the counter
# itself, on functions of known length (121 lines flagged, 120 not; braces in
# strings, character constants and comments ignored; a multi-line signature
# counted from its first line), then the guards on the tree.
# usage: function_lengths.sh SYNERGY_BIN SOURCE_DIR
set -u
src=$2
count=$src/scripts/function-lengths.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }

# fn NAME BODY_LINES: a function of BODY_LINES + 3 lines (two-line signature,
# body, closing brace), its body full of braces that do not count
fn() {
    printf 'static int %s(int a,\n                 int b) {\n' "$1"
    for ((i = 0; i < $2; i++)); do
        case $((i % 4)) in
        0) printf '    a += b; /* { not a brace */\n' ;;
        1) printf '    puts("}{ {");\n' ;;
        2) printf "    b += '{';\n" ;;
        3) printf '    if (a) { b++; }\n' ;;
        esac
    done
    printf '    return a;\n}\n\n'
}
{
    printf '/* a comment {\n * still { comment\n */\n#include <stdio.h>\n'
    printf 'struct s {\n    int x;\n};\nstatic const int t[] = {\n    1, 2,\n};\n'
    fn long121 117
    fn ok120 116
    printf 'int main(void)\n{\n    return long121(1, 2) + ok120(3, 4);\n}\n'
} > "$tmp/x.c"
out=$("$count" "$tmp/x.c")
[[ $(printf '%s\n' "$out" | grep ' long121$') == "121 $tmp/x.c:"*" long121" ]] && ok ||
    bad "long121 counted as: $out"
[[ $(printf '%s\n' "$out" | grep ' ok120$') == "120 $tmp/x.c:"*" ok120" ]] && ok ||
    bad "ok120 counted as: $out"
[[ $(printf '%s\n' "$out" | grep ' main$') == "4 $tmp/x.c:"*" main" ]] && ok ||
    bad "main counted as: $out"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] && ok || bad "not 3 functions: $out"
out=$("$count" --max 120 "$tmp/x.c"); rc=$?
[ $rc -eq 1 ] && [[ $out == "121 "*" long121" ]] && ok || bad "--max 120 gave rc $rc: $out"

# the guards: every library's .c files
libs=$(sed -n 's/^add_subdirectory(\([^)]*\)).*/\1/p' "$src/CMakeLists.txt" | grep -v '^tests$\|^bench$')
files=()
for d in $libs; do
    while IFS= read -r f; do files+=("$f"); done < <(find "$src/$d" -name '*.c' | sort)
done
for d in src scheduler deploy worker_server store report sweep profiler common; do
    [[ " "${files[*]}" " == *" $src/$d/"* ]] && ok || bad "no .c file of $d/ is checked"
done
out=$("$count" --max 120 "${files[@]}"); rc=$?
[ $rc -eq 0 ] && ok || bad "functions over 120 lines:"$'\n'"$out"
n=$("$count" "${files[@]}" | wc -l)
[ "$n" -gt 800 ] && ok || bad "only $n functions found in ${#files[@]} files"
long=$(wc -l "${files[@]}" | awk '$2 != "total" && $1 > 1000')
[ -z "$long" ] && ok || bad "production .c files over 1,000 lines:"$'\n'"$long"

echo "function_lengths: $pass passed, $fail failed (${#files[@]} files, $n functions)"
[ $fail -eq 0 ]
