#!/usr/bin/env bash
# `make install DESTDIR=$tmp PREFIX=/usr` into a staging root, from a build
# tree of its own; then, with that build tree moved away and from an
# unrelated directory, the installed binary finds its installed configs (no
# --cluster, no --models) and simulates a shipped trace; its man page and
# completion are installed; and the search order holds: $SYNERGY_CONFIG_DIR
# wins, and a binary copied elsewhere never reads the build tree it came from.
# usage: install.sh SYNERGY_BIN SOURCE_DIR
set -euo pipefail
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -C "$src" --no-print-directory install BUILD="$tmp/build" DESTDIR="$tmp/root" PREFIX=/usr JOBS=2 \
    > "$tmp/install.log" 2>&1 || { tail -20 "$tmp/install.log"; exit 1; }
root=$tmp/root/usr
for f in bin/synergy share/synergy/configs/default_cluster.ini share/synergy/configs/models.ini \
         share/synergy/configs/deploy_catalog.ini share/man/man1/synergy.1 \
         share/bash-completion/completions/synergy \
         share/synergy/traces/synergy-deploy/static_100job_6_3_1100.0 share/synergy/make-certs.sh; do
    [ -e "$root/$f" ] || { echo "not installed: $f"; exit 1; }
done
[ -x "$root/share/synergy/make-certs.sh" ] || { echo "make-certs.sh is not executable"; exit 1; }
[ ! -e "$root/bin/synergy-source-dir" ] || { echo "the build-tree marker was installed"; exit 1; }
mv "$tmp/build" "$tmp/build.away"           # the build tree is gone
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
out=$(env -u SYNERGY_CONFIG_DIR "$root/bin/synergy" simulate \
      --trace "$root/share/synergy/traces/synergy-deploy/static_100job_6_3_1100.0" --static \
      --cluster "$root/share/synergy/configs/static_trace.ini" --mode fair,tune)
grep -q "tune" <<<"$out" || { echo "simulate on an installed config failed: $out"; exit 1; }
# the default configs, found next to the binary (../share/synergy)
out=$(env -u SYNERGY_CONFIG_DIR "$root/bin/synergy" simulate \
      --trace "$root/share/synergy/traces/synergy-deploy/test_trace" --json)
grep -q "\"cluster\":\"$root/bin/../share/synergy/configs/default_cluster.ini\"" <<<"$out" ||
    { echo "default cluster not found next to the binary: $out"; exit 1; }
# $SYNERGY_CONFIG_DIR wins, and only it is looked at
mkdir -p "$tmp/cfg/configs"
printf '[CLUSTER]\nservers_per_rack = 2\n' > "$tmp/cfg/configs/default_cluster.ini"
cp "$root/share/synergy/configs/models.ini" "$tmp/cfg/configs/"
# (the output first: grep -q ends the pipe early, and pipefail would see SIGPIPE)
out=$(SYNERGY_CONFIG_DIR=$tmp/cfg "$root/bin/synergy" simulate \
      --trace "$root/share/synergy/traces/synergy-deploy/test_trace")
grep -q "2 servers x" <<<"$out" || { echo "SYNERGY_CONFIG_DIR ignored"; exit 1; }
err=$(SYNERGY_CONFIG_DIR=$tmp/none "$root/bin/synergy" simulate \
      --trace "$root/share/synergy/traces/synergy-deploy/test_trace" 2>&1 >/dev/null || true)
[[ $err == *"configs/default_cluster.ini not found (looked in: $tmp/none)"* ]] ||
    { echo "SYNERGY_CONFIG_DIR without configs: $err"; exit 1; }
# a binary copied out of its build tree (marker left behind) does not read the
# source tree: with nothing next to it, it looks at the compiled-in /usr/share/synergy
mv "$tmp/build.away" "$tmp/build"
mkdir "$tmp/copy"
cp "$tmp/build/synergy" "$tmp/copy/"
err=$(env -u SYNERGY_CONFIG_DIR "$tmp/copy/synergy" simulate --trace "$src/traces/synergy-deploy/test_trace" 2>&1 >/dev/null || true)
if [ ! -e /usr/share/synergy/configs/default_cluster.ini ]; then
    [[ $err == *"default_cluster.ini not found (looked in: $tmp/copy/../share/synergy, /usr/share/synergy)"* &&
       $err != *"$src"* ]] ||
        { echo "a copied binary read its build tree: $err"; exit 1; }
fi
# and run from its build tree (marker present), it does
out=$(env -u SYNERGY_CONFIG_DIR "$tmp/build/synergy" simulate --trace "$src/traces/synergy-deploy/test_trace" --json)
grep -q "\"cluster\":\"$src/configs/default_cluster.ini\"" <<<"$out" || { echo "build tree not used"; exit 1; }
# man page and completion from the installed tree
grep -q '^\.SS "synergy simulate"' "$root/share/man/man1/synergy.1"
bash -c "source '$root/share/bash-completion/completions/synergy'; COMP_WORDS=(synergy simulate --pol); COMP_CWORD=2; _synergy; [[ \" \${COMPREPLY[*]} \" == *' --policy '* ]]" ||
    { echo "completion does not complete --pol"; exit 1; }
# make uninstall removes every installed file and share/synergy, nothing else
touch "$tmp/root/usr/bin/other-tool"
make -C "$src" --no-print-directory uninstall BUILD="$tmp/build" > "$tmp/uninstall.log" 2>&1 ||
    { cat "$tmp/uninstall.log"; echo "make uninstall failed"; exit 1; }
left=$(find "$tmp/root" -type f | grep -v "/usr/bin/other-tool$" || true)
[ -z "$left" ] || { echo "make uninstall left: $left"; exit 1; }
[ ! -e "$root/share/synergy" ] || { echo "make uninstall left share/synergy"; exit 1; }
[ -e "$tmp/root/usr/bin/other-tool" ] || { echo "make uninstall removed a file it did not install"; exit 1; }
grep -q "^removed [1-9][0-9]* files" "$tmp/uninstall.log" || { echo "uninstall said: $(cat "$tmp/uninstall.log")"; exit 1; }
echo "ok: installed under DESTDIR with PREFIX=/usr; runs without its build tree; uninstalled"
