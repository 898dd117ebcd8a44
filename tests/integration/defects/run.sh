#!/usr/bin/env bash
# Issue 23's new-user defects, one ctest per defect (defect_M1 ... defect_L27):
# each function below reproduces what the user did and asserts what a user of
# Slurm, git or curl expects. The table of defects and test names is in
# docs/testing.md ("Issue 23's defects").
# usage: run.sh SYNERGY_BIN SOURCE_DIR ID   (ID: M1..M10, L1..L27)
set -u
bin=$1 src=$2 id=$3
build=$(dirname "$bin")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup_pids=()
cleanup() {
    for p in "${cleanup_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${cleanup_pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL $id: $*"; fail=$((fail+1)); }
tr=$src/traces/synergy-deploy/test_trace
# want RC SUBSTRING -- CMD...: exit RC, exactly one stderr line containing SUBSTRING
want() {
    local rc_want=$1 text=$2
    shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq "$rc_want" ] && [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] &&
        [[ $err == *"$text"* ]]; then ok
    else bad "$*: rc=$rc (wanted $rc_want) stderr: $err (wanted: $text)"; fi
}
# a 2-server x 4-GPU cluster, as the issue's two.ini
two_ini() {
    printf '[CLUSTER]\nracks = 1\nservers_per_rack = 2\ngpus_per_server = 4\ncpus_per_server = 8\ndram_per_server = 64\n' > "${1:-two.ini}"
}
for f in "$here"/*.sh; do
    [ "$f" = "$here/run.sh" ] || . "$f"
done
if ! declare -F "defect_$id" >/dev/null; then
    echo "no test for defect $id"
    exit 1
fi
"defect_$id"
echo "defect $id: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
