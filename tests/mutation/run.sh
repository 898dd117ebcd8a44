#!/usr/bin/env bash
# Mutation harness: apply each one-line mutation of tests/mutation/mutants.tsv
# to a scratch copy of the tree (never the real one), rebuild it, run the fast
# tests (ctest -LE 'e2e|measure|slow': unit + integration) plus the e2e tests
# the row names, and report which tests caught it. A mutant that no test catches fails the
# run; so does a pattern that matches no line or several lines (the list must
# follow the code when it moves), and a baseline that does not pass.
# usage: run.sh [ID...]          (default: every row)
# env:   MUTATE_JOBS (ctest -j, default nproc), MUTATE_KEEP=1 keeps the scratch copy,
#        MUTATE_LIST=FILE another list (a probe, say), MUTATE_CHECK_ONLY=1 only
#        checks that every pattern matches one line of the tree itself (ctest
#        mutants_patterns: make test notices a row the code has moved past)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
list=${MUTATE_LIST:-$here/mutants.tsv}
jobs=${MUTATE_JOBS:-$(nproc)}
die() { echo "mutate: $*" >&2; exit 2; }

# the rows to run
ids=()
declare -A file pat rep e2e what
while IFS=$'\t' read -r id f p r e w; do
    case $id in \#*|'') continue ;; esac
    [ -n "$w" ] || die "$list: row $id: want 6 tab-separated fields"
    file[$id]=$f pat[$id]=$p rep[$id]=$r e2e[$id]=$e what[$id]=$w
    ids+=("$id")
done < "$list"
if [ $# -gt 0 ]; then
    for id in "$@"; do [ -n "${file[$id]+x}" ] || die "no mutant $id in $list"; done
    ids=("$@")
fi

if [ "${MUTATE_CHECK_ONLY:-0}" = 1 ]; then
    tree=$src
else
# a scratch copy: tracked and untracked (not ignored) files, so that work in
# progress is what gets mutated; ../shared as in CI
scratch=$(mktemp -d /tmp/synergy-mutate.XXXXXX)
if [ "${MUTATE_KEEP:-0}" = 1 ]; then
    echo "mutate: scratch copy kept in $scratch"
else
    trap 'rm -rf "$scratch"' EXIT
fi
tree=$scratch/tree
mkdir "$tree"
(cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$tree"
[ -e "$src/../shared" ] && ln -s "$(readlink -f "$src/../shared")" "$scratch/shared"
fi

# every pattern must match exactly one line, before anything is built
# A pattern is a fixed string found anywhere in a line; one that starts with ^
# must be the whole line, leading and trailing blanks aside.
# (awk: hit(line) says whether the line matches; at(line) where the pattern starts)
match_awk='
    function at(line,   p, t) {
        p = ENVIRON["P"]
        if (substr(p, 1, 1) != "^") return index(line, p)
        t = line; sub(/^[ \t]+/, "", t); sub(/[ \t]+$/, "", t)
        return t == substr(p, 2) ? index(line, t) : 0
    }'
count() { # file pattern -> lines it matches
    P=$2 awk "$match_awk"' at($0) { n++ } END { print n + 0 }' "$1"
}
bad=0
for id in "${ids[@]}"; do
    f=$tree/${file[$id]}
    if [ ! -f "$f" ]; then
        echo "mutate: $id: ${file[$id]}: no such file" >&2; bad=1; continue
    fi
    n=$(count "$f" "${pat[$id]}")
    if [ "$n" != 1 ]; then
        echo "mutate: $id: '${pat[$id]}' matches $n lines of ${file[$id]} (want exactly 1): update $list" >&2
        bad=1
    fi
done
[ $bad = 0 ] || exit 2
if [ "${MUTATE_CHECK_ONLY:-0}" = 1 ]; then
    echo "mutate: every pattern of ${#ids[@]} rows matches exactly one line"
    exit 0
fi

build() {
    env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS cmake --build "$tree/build" -j "$jobs" > "$scratch/build.log" 2>&1
}
# run ctest with the given selection; print the failing test names
failing() {
    (cd "$tree/build" && ctest --timeout 300 -j "$jobs" "$@" > "$scratch/ctest.log" 2>&1) || true
    grep -q 'tests passed\|No tests were found' "$scratch/ctest.log" ||
        die "ctest did not run: $(tail -5 "$scratch/ctest.log")"
    sed -n '/The following tests FAILED:/,$p' "$scratch/ctest.log" |
        sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p'
}

# the fast tests leave these labels out (meta: mutants_patterns, which any
# mutant trips by changing the line its row names)
fast_out='e2e|measure|slow|meta'

echo "mutate: building the scratch copy ($tree)"
cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$scratch/configure.log" 2>&1 ||
    die "configure failed: $(tail -5 "$scratch/configure.log")"
build || die "the unmutated tree does not build: $(tail -20 "$scratch/build.log")"
base=$(failing -LE "$fast_out")
[ -z "$base" ] || die "the unmutated tree fails: $base"
echo "mutate: baseline passes; $(grep -c 'Test *#' "$scratch/ctest.log") fast tests"
# the e2e tests the rows name must pass unmutated too (a deployment that fails
# on a loaded machine would otherwise count as a catch)
e2e_all=$(for id in "${ids[@]}"; do [ "${e2e[$id]}" = - ] || echo "${e2e[$id]}"; done | sort -u | paste -sd '|')
if [ -n "$e2e_all" ]; then
    base=$(failing -L e2e -R "$e2e_all")
    [ -z "$base" ] || die "the unmutated tree fails e2e: $base (a loaded machine? try again later)"
    echo "mutate: baseline passes e2e: $e2e_all"
fi

table=$scratch/table.md
echo "| mutant | file | what it breaks | caught by |" > "$table"
echo "|---|---|---|---|" >> "$table"
survived=()
for id in "${ids[@]}"; do
    f=$tree/${file[$id]}
    cp -p "$f" "$scratch/orig"
    P=${pat[$id]} R=${rep[$id]} awk "$match_awk"' {
        i = at($0); p = ENVIRON["P"]; sub(/^\^/, "", p)
        if (i) $0 = substr($0, 1, i - 1) ENVIRON["R"] substr($0, i + length(p))
        print }' "$scratch/orig" > "$f"
    cmp -s "$f" "$scratch/orig" && die "$id: the replacement changes nothing"
    t0=$(date +%s)
    if ! build; then
        caught="(does not compile: fix the row)"
        survived+=("$id")
    else
        caught=$(failing -LE "$fast_out" | tr '\n' ' ')
        if [ "${e2e[$id]}" != - ]; then
            caught+=$(failing -L e2e -R "${e2e[$id]}" | tr '\n' ' ')
        fi
        caught=${caught% }
        [ -n "$caught" ] || { caught="NOTHING"; survived+=("$id"); }
    fi
    # restore (a newer mtime, so the next build recompiles it)
    cp "$scratch/orig" "$f"
    touch "$f"
    n=$(wc -w <<<"$caught")
    printf 'mutate: %-4s %4ss  %s\n' "$id" "$(($(date +%s) - t0))" "$caught"
    [ "$caught" = NOTHING ] && n=0
    echo "| $id | \`${file[$id]}\` | ${what[$id]} | $caught ($n) |" >> "$table"
done
build || die "the restored tree does not build"
echo
cat "$table"
if [ ${#survived[@]} -gt 0 ]; then
    echo "mutate: NOT caught: ${survived[*]}"
    exit 1
fi
echo "mutate: all ${#ids[@]} mutants caught"
