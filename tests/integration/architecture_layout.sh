#!/usr/bin/env bash
# The layout table of docs/architecture.md stays current (issue 23): every
# top-level directory of the source tree has a row (| `dir/` | ...) in the
# table under "## Layout", and every row names a directory that exists. Directories git ignores (build trees)
# and hidden ones (.git, .ci) are not part of the layout. First the check
# itself on a made-up tree: a missing row and a row without its directory
# must both fail.
# usage: architecture_layout.sh SYNERGY SRCDIR
set -uo pipefail
src=$(readlink -f "$2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# DIR PAGE: prints the differences, returns 1 if any
check() {
    local dir=$1 page=$2 d
    find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort |
        while read -r d; do
            # a build tree or another ignored directory is not part of the layout
            # (CMakeCache.txt: a build tree also where there is no git, as in the
            # scratch copy tests/mutation/run.sh makes)
            [ -e "$dir/$d/CMakeCache.txt" ] || git -C "$dir" check-ignore -q "$d/" 2>/dev/null ||
                echo "$d"
        done > "$tmp/dirs"
    # the rows of the table under "## Layout" (other tables may name directories too)
    awk '/^## / { inl = ($0 == "## Layout") } inl' "$page" |
        sed -n 's/^| `\([^`/]*\)\/` |.*/\1/p' | sort > "$tmp/rows"
    local bad=0
    for d in $(comm -23 "$tmp/dirs" "$tmp/rows"); do
        echo "$d/ exists but has no row in $page"; bad=1
    done
    for d in $(comm -13 "$tmp/dirs" "$tmp/rows"); do
        echo "$d/ has a row in $page but does not exist"; bad=1
    done
    [ "$(sort "$tmp/rows" | uniq -d)" = "" ] || { echo "rows listed twice: $(uniq -d "$tmp/rows")"; bad=1; }
    return $bad
}

# the check itself, on a made-up tree
mkdir -p "$tmp/t/alpha" "$tmp/t/beta" "$tmp/t/.hidden"
L='## Layout\n'
printf "$L"'| dir | what |\n|---|---|\n| `alpha/` | a |\n| `beta/` | b |\n## Other\n| `gamma/` | not the layout |\n' > "$tmp/ok.md"
printf "$L"'| dir | what |\n|---|---|\n| `alpha/` | a |\n## Other\n| `beta/` | not the layout |\n' > "$tmp/missing.md"
printf "$L"'| `alpha/` | a |\n| `beta/` | b |\n| `gamma/` | c |\n' > "$tmp/absent.md"
printf "$L"'| `alpha/` | a |\n| `beta/` | b |\n| `beta/` | b again |\n' > "$tmp/twice.md"
check "$tmp/t" "$tmp/ok.md" > /dev/null && pass=$((pass+1)) || { echo "FAIL: a matching table fails"; fail=$((fail+1)); }
out=$(check "$tmp/t" "$tmp/missing.md") && { echo "FAIL: a missing row passes"; fail=$((fail+1)); } ||
    { [[ $out == *"beta/ exists but has no row"* ]] && pass=$((pass+1)) || { echo "FAIL: $out"; fail=$((fail+1)); }; }
out=$(check "$tmp/t" "$tmp/absent.md") && { echo "FAIL: a row without its directory passes"; fail=$((fail+1)); } ||
    { [[ $out == *"gamma/ has a row"* ]] && pass=$((pass+1)) || { echo "FAIL: $out"; fail=$((fail+1)); }; }
check "$tmp/t" "$tmp/twice.md" > /dev/null && { echo "FAIL: a row listed twice passes"; fail=$((fail+1)); } || pass=$((pass+1))

# the real tree
if out=$(check "$src" "$src/docs/architecture.md"); then
    pass=$((pass+1))
else
    echo "FAIL: docs/architecture.md's layout table is out of date:"; echo "$out"; fail=$((fail+1))
fi
n=$(wc -l < "$tmp/rows")
[ "$n" -ge 20 ] && pass=$((pass+1)) || { echo "FAIL: only $n rows found"; fail=$((fail+1)); }
echo "architecture_layout: $pass passed, $fail failed ($n directories)"
[ $fail -eq 0 ]
