#!/usr/bin/env bash
# The systemd units (contrib/systemd) pass `systemd-analyze verify` with no
# complaint: the build tree's copies, whose ExecStart= is this build's binary
# (verify needs it to exist), and the worker template as an instance. They
# are Type=notify with a watchdog, restart on failure and carry the
# hardening the docs promise. A unit whose ExecStart= does not exist must
# fail the same check (so the check can fail at all). The install rules put
# both units under PREFIX/lib/systemd/system with ExecStart=PREFIX/bin/synergy
# for the prefix given at install time (DESTDIR staging, PREFIX=/usr).
# usage: systemd_units.sh SYNERGY SRCDIR BUILD_UNIT_DIR
set -euo pipefail
bin=$1 src=$2 units=$3
command -v systemd-analyze >/dev/null ||
    { echo "systemd-analyze missing: scripts/install-deps.sh installs systemd"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$units/synergy-scheduler.service" "$tmp/"
cp "$units/synergy-worker@.service" "$tmp/synergy-worker@0.service"
cd "$tmp"
verify() { # verify UNIT...: exit 0 and not a word on stderr or stdout
    local out rc=0
    out=$(systemd-analyze verify --man=no "$@" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] && [ -z "$out" ] || { echo "systemd-analyze verify $*: rc $rc"; echo "$out"; return 1; }
}
verify ./synergy-scheduler.service ./synergy-worker@0.service
for u in synergy-scheduler.service synergy-worker@0.service; do
    grep -q "^ExecStart=$bin " "$u" || { echo "$u: ExecStart is not $bin"; exit 1; }
    for key in Type=notify NotifyAccess=main Restart=on-failure WatchdogSec=30 \
               NoNewPrivileges=yes ProtectSystem= EnvironmentFile=/etc/synergy/; do
        grep -q "^$key" "$u" || { echo "$u: no $key"; exit 1; }
    done
done
grep -q '^ProtectSystem=strict' synergy-scheduler.service
grep -q '^DynamicUser=yes' synergy-scheduler.service
# the dynamic user gets its TLS key (root's, mode 0600) as a credential, at the
# path the example configuration passes
grep -q '^LoadCredential=tls.key:/etc/synergy/tls/scheduler.key$' synergy-scheduler.service
grep -q -- '--tls-key /run/credentials/synergy-scheduler.service/tls.key' \
    "$src/contrib/systemd/scheduler.conf.example"
grep -q '^EnvironmentFile=/etc/synergy/worker-%i.conf' synergy-worker@0.service
# the check can fail: a unit whose binary is missing
sed "s|^ExecStart=$bin |ExecStart=$tmp/no-such-synergy |" synergy-scheduler.service > broken.service
if verify ./broken.service >/dev/null 2>&1; then
    echo "verify accepted a unit whose ExecStart does not exist"; exit 1
fi
# installed: contrib/systemd's install rules alone, PREFIX=/usr into a DESTDIR
build=$(dirname "$bin")
DESTDIR=$tmp/stage cmake -DCMAKE_INSTALL_PREFIX=/usr \
    -P "$build/contrib/systemd/cmake_install.cmake" > /dev/null
for u in synergy-scheduler.service synergy-worker@.service; do
    f=$tmp/stage/usr/lib/systemd/system/$u
    [ -f "$f" ] || { echo "not installed: /usr/lib/systemd/system/$u"; exit 1; }
    grep -q "^ExecStart=/usr/bin/synergy " "$f" || { echo "$u: ExecStart is not /usr/bin/synergy"; exit 1; }
    # the same unit as the build tree's, but for the binary's path
    diff <(sed "s|^ExecStart=/usr/bin/synergy |ExecStart=$bin |" "$f") "$units/$u" ||
        { echo "$u: installed unit differs from the build tree's"; exit 1; }
done
[ -f "$tmp/stage/usr/share/synergy/systemd/scheduler.conf.example" ]
echo "ok: systemd-analyze verify passes on synergy-scheduler.service and synergy-worker@.service"
