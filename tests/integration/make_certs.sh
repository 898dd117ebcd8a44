#!/usr/bin/env bash
# scripts/make-certs.sh (issue 21, findings 3-5), checked with the openssl CLI:
#  - who may read what: the directory and the CA certificate by everyone (a job
#    running as nobody reads the CA), every key by its owner only (0600), and
#    -u USER gives the keys it makes to USER;
#  - each server certificate names only its own addresses (the scheduler -a,
#    the workers -W, a -n identity its own), admin is a client certificate;
#  - adding an identity (-n worker-7=127.0.0.7) leaves every existing key and
#    certificate byte-identical, and the new one verifies against the same CA;
#  - bad input: one line, exit 2, nothing written.
# usage: make_certs.sh SYNERGY SRCDIR
set -euo pipefail
src=$2
mc=$src/scripts/make-certs.sh
command -v openssl >/dev/null || { echo "FAIL: openssl is not installed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
chmod 755 "$tmp"
d=$tmp/certs
"$mc" -o "$d" -w 2 -a 127.0.0.1 -W 127.0.0.1 > "$tmp/out" || fail "make-certs.sh failed"

mode() { stat -c %a "$1"; }
[ "$(mode "$d")" = 755 ] || fail "the directory is mode $(mode "$d"), jobs cannot reach the CA"
[ "$(mode "$d/ca.pem")" = 644 ] || fail "ca.pem is mode $(mode "$d/ca.pem")"
for id in ca scheduler worker-0 worker-1 admin; do
    [ "$(mode "$d/$id.key")" = 600 ] || fail "$id.key is mode $(mode "$d/$id.key"), not 600"
done
for id in scheduler worker-0 worker-1 admin; do
    [ "$(mode "$d/$id.pem")" = 644 ] || fail "$id.pem is mode $(mode "$d/$id.pem")"
    openssl verify -CAfile "$d/ca.pem" "$d/$id.pem" > /dev/null || fail "$id.pem does not verify"
done
# a job user reads the CA, never a key
if [ "$(id -u)" = 0 ]; then
    setpriv --reuid nobody --regid nogroup --clear-groups cat "$d/ca.pem" > /dev/null ||
        fail "nobody cannot read the CA"
    setpriv --reuid nobody --regid nogroup --clear-groups cat "$d/worker-0.key" > /dev/null 2>&1 &&
        fail "nobody can read a worker's key"
fi

sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | sed -n '2p' | tr -d ' '; }
eku() { openssl x509 -in "$1" -noout -ext extendedKeyUsage 2>/dev/null | sed -n '2p' | tr -d ' '; }
[ "$(sans "$d/scheduler.pem")" = "IPAddress:127.0.0.1" ] || fail "scheduler SANs: $(sans "$d/scheduler.pem")"
[ "$(sans "$d/worker-0.pem")" = "IPAddress:127.0.0.1" ] || fail "worker-0 SANs: $(sans "$d/worker-0.pem")"
[ -z "$(sans "$d/admin.pem")" ] || fail "admin has SANs: $(sans "$d/admin.pem")"
[ "$(eku "$d/admin.pem")" = "TLSWebClientAuthentication" ] || fail "admin may serve: $(eku "$d/admin.pem")"
[ "$(eku "$d/scheduler.pem")" = "TLSWebServerAuthentication,TLSWebClientAuthentication" ] ||
    fail "scheduler EKU: $(eku "$d/scheduler.pem")"

# adding an identity touches nothing that exists
sums() { (cd "$d" && sha256sum ca.pem ca.key scheduler.* worker-0.* worker-1.* admin.*); }
sums > "$tmp/before"
"$mc" -o "$d" -n worker-7=127.0.0.7 > "$tmp/out2" || fail "make-certs.sh -n failed"
sums | diff "$tmp/before" - || fail "adding worker-7 rewrote existing keys or certificates"
grep -q "worker-0 .* exists: kept as it is" "$tmp/out2" || fail "no word that worker-0 was kept"
[ "$(sans "$d/worker-7.pem")" = "IPAddress:127.0.0.7" ] || fail "worker-7 SANs: $(sans "$d/worker-7.pem")"
openssl verify -CAfile "$d/ca.pem" "$d/worker-7.pem" > /dev/null || fail "worker-7 is not signed by the CA"
[ "$(mode "$d/worker-7.key")" = 600 ] || fail "worker-7.key is mode $(mode "$d/worker-7.key")"
[ -z "$(ls -A "$d" | grep '^\.new')" ] || fail "left temporary files in $d"
echo "$(wc -l < "$tmp/before") files unchanged after adding worker-7; SANs: scheduler $(sans "$d/scheduler.pem"), worker-7 $(sans "$d/worker-7.pem")"

# -u USER: the keys it makes are USER's
if [ "$(id -u)" = 0 ]; then user=nobody; else user=$(id -un); fi
"$mc" -o "$d" -w 0 -n svc=127.0.0.9 -u "$user" > /dev/null || fail "make-certs.sh -u failed"
[ "$(stat -c %U "$d/svc.key")" = "$user" ] || fail "svc.key belongs to $(stat -c %U "$d/svc.key"), not $user"
[ "$(mode "$d/svc.key")" = 600 ] || fail "svc.key is mode $(mode "$d/svc.key")"
sums | diff "$tmp/before" - || fail "-u changed existing files"

# bad input: one line, exit 2, nothing new
ls -A "$d" > "$tmp/ls"
bad() { # EXPECTED-TEXT ARGS...
    local want=$1 rc=0
    shift
    "$mc" -o "$d" "$@" > /dev/null 2> "$tmp/err" || rc=$?
    [ $rc = 2 ] || fail "make-certs.sh $* exited $rc, not 2"
    [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q -- "$want" "$tmp/err" ||
        fail "make-certs.sh $*: $(cat "$tmp/err")"
}
bad "is not a user" -u no-such-user-h21
bad "must be ID=ADDR" -n worker-8
bad "not a valid identity" -n 'bad/id=127.0.0.1'
bad "must be a count" -w x
ls -A "$d" | diff "$tmp/ls" - || fail "bad input left files behind"
rm "$d/worker-1.key"
bad "a certificate without its key" -w 2
echo "ok"
