#!/usr/bin/env bash
# make uninstall: remove what the last `make install` from this build tree
# wrote (CMake's list, BUILD/install_manifest.txt, under the DESTDIR that
# make install recorded in BUILD/install_destdir.txt), then the directories of
# synergy's own that are left empty. Files that are already gone are skipped;
# nothing outside the list is touched.
# usage: scripts/uninstall.sh BUILD_DIR
set -euo pipefail
build=$1
manifest=$build/install_manifest.txt
if [ ! -f "$manifest" ]; then
    echo "make uninstall: $manifest does not exist: nothing was installed from $build" \
         "(give the BUILD, PREFIX and DESTDIR of the make install)" >&2
    exit 1
fi
if [ ! -f "$build/install_destdir.txt" ]; then
    echo "make uninstall: $build/install_destdir.txt does not exist: install with make install" >&2
    exit 1
fi
root=$(cat "$build/install_destdir.txt")
n=0
while IFS= read -r f || [ -n "$f" ]; do  # (the last line has no newline)
    [ -n "$f" ] || continue
    f=$root$f
    if [ -e "$f" ] || [ -L "$f" ]; then
        rm -f -- "$f"
        n=$((n + 1))
    fi
done < "$manifest"
# the directories the install made for synergy alone (deepest first), if empty
dirs=$(sed -n "s|\\(.*/share/synergy\\)/.*|$root\\1|p" "$manifest" | sort -u)
for top in $dirs; do
    [ -d "$top" ] && find "$top" -depth -type d -empty -delete
done
echo "removed $n files listed in $manifest${root:+ under $root}"
rm -f -- "$manifest" "$build/install_destdir.txt"
