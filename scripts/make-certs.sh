#!/usr/bin/env bash
# make-certs.sh: a private CA and the certificates of one synergy cluster
# (mutual TLS, docs/service.md), made with the openssl CLI.
#
#   make-certs.sh [-o DIR] [-w N] [-a ADDRS] [-W ADDRS] [-n ID=ADDRS]... [-u USER] [-d DAYS]
#
#   -o DIR      output directory (default ./certs)
#   -w N        worker certificates worker-0 .. worker-(N-1) (default 2)
#   -a ADDRS    the scheduler's addresses, its certificate's SANs (default
#               127.0.0.1,localhost); IPs become IP: entries, names DNS: entries
#   -W ADDRS    the addresses of the -w workers (default 127.0.0.1,localhost:
#               workers on the scheduler's machine, as in tests)
#   -n ID=ADDRS one more certificate, identity ID with its own addresses
#               (repeatable), e.g. -n worker-7=10.0.0.7
#   -u USER     the keys this run makes belong to USER (and USER's group),
#               e.g. the user a service runs as; needs root
#   -d DAYS     validity (default 825)
#
# Writes DIR/ca.pem and ca.key (keep ca.key offline), and for each identity
# ID in scheduler, worker-0.., admin and the -n ones: DIR/ID.pem (certificate)
# and DIR/ID.key (private key). The identity is the certificate's CN: a
# worker's must be its row's in the scheduler's workers file, the scheduler's
# is what workers expect (worker --scheduler-identity, default scheduler).
# Each server certificate names only the addresses that server is reached at
# (clients dial by IP, so TLS checks the address against IP: SANs), and
# clients also check the identity, so no certificate can stand in for
# another. admin is a client certificate only.
#
# Who may read what: DIR and ca.pem are readable by everyone (jobs, running
# as --job-user, verify the scheduler with the CA); every key is mode 0600,
# owned by whoever ran this (or -u USER). Under systemd a service whose user
# cannot read its key gets it with LoadCredential= (contrib/systemd).
#
# Run again with the same -o to add identities: an existing CA, key or
# certificate is never rewritten (an identity that exists is kept as it is;
# remove its .pem and .key to issue it again).
set -euo pipefail

out=certs
workers=2
addrs=127.0.0.1,localhost
waddrs=127.0.0.1,localhost
days=825
owner=
extra=()
usage() { sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "o:w:a:W:d:n:u:h" o; do
    case $o in
    o) out=$OPTARG ;;
    w) workers=$OPTARG ;;
    a) addrs=$OPTARG ;;
    W) waddrs=$OPTARG ;;
    d) days=$OPTARG ;;
    n) extra+=("$OPTARG") ;;
    u) owner=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { echo "make-certs.sh: unexpected argument '$1'" >&2; exit 2; }
[[ $workers =~ ^[0-9]+$ ]] || { echo "make-certs.sh: -w: '$workers' must be a count" >&2; exit 2; }
[[ $days =~ ^[1-9][0-9]*$ ]] || { echo "make-certs.sh: -d: '$days' must be a number of days" >&2; exit 2; }
for e in "${extra[@]}"; do
    [[ $e == *=* && -n ${e%%=*} ]] || { echo "make-certs.sh: -n: '$e' must be ID=ADDR[,ADDR...]" >&2; exit 2; }
    [[ ${e%%=*} =~ ^[A-Za-z0-9._-]+$ && ${e%%=*} != ca ]] ||
        { echo "make-certs.sh: -n: '${e%%=*}' is not a valid identity ([A-Za-z0-9._-], not ca)" >&2; exit 2; }
done
group=
if [[ -n $owner ]]; then
    id -u "$owner" >/dev/null 2>&1 || { echo "make-certs.sh: -u: '$owner' is not a user of this machine" >&2; exit 2; }
    group=$(id -gn "$owner")
    [[ $(id -u) == 0 || $(id -u) == $(id -u "$owner") ]] ||
        { echo "make-certs.sh: -u $owner: only root can give keys to another user" >&2; exit 2; }
fi
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

umask 077
mkdir -p "$out"
chmod 755 "$out"  # the CA certificate is public; keys stay 0600

san_of() { # "a,b,c" -> "IP:a,DNS:b,..."
    local IFS=, s="" a
    for a in $1; do
        [[ -z $a ]] && continue
        if [[ $a =~ ^[0-9.]+$ || $a == *:* ]]; then s+="${s:+,}IP:$a"; else s+="${s:+,}DNS:$a"; fi
    done
    echo "$s"
}

give_key() { # FILE: to -u USER
    [[ -z $owner ]] && return 0
    chown "$owner:$group" "$1"
}

if [[ -s $out/ca.pem || -s $out/ca.key ]]; then
    [[ -s $out/ca.pem && -s $out/ca.key ]] ||
        { echo "make-certs.sh: $out has only half a CA (ca.pem and ca.key go together)" >&2; exit 2; }
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "$days" \
        -subj "/CN=synergy-ca" -keyout "$out/ca.key" -out "$out/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    echo "make-certs.sh: CA $out/ca.pem"
fi
chmod 644 "$out/ca.pem"

issue() { # CN SANLIST server|client
    local cn=$1 san eku=serverAuth,clientAuth
    san=$(san_of "$2")
    [[ $3 == client ]] && eku=clientAuth
    [[ $cn =~ ^[A-Za-z0-9._-]+$ && $cn != ca ]] ||
        { echo "make-certs.sh: '$cn' is not a valid identity ([A-Za-z0-9._-], not ca)" >&2; exit 2; }
    if [[ -e $out/$cn.pem || -e $out/$cn.key ]]; then
        [[ -s $out/$cn.pem && -s $out/$cn.key ]] ||
            { echo "make-certs.sh: $out/$cn: a certificate without its key, or a key without its certificate" >&2; exit 2; }
        echo "make-certs.sh: $cn $out/$cn.pem exists: kept as it is"
        return 0
    fi
    local ext tmpd
    tmpd=$(mktemp -d "$out/.new-$cn.XXXXXX")
    ext=$tmpd/ext
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$eku"
        [[ -n $san ]] && echo "subjectAltName=$san"
    } >"$ext"
    # written beside, moved into place once complete: no half identity
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj "/CN=$cn" \
        -keyout "$tmpd/key" -out "$tmpd/csr" 2>/dev/null
    openssl x509 -req -in "$tmpd/csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
        -CAcreateserial -days "$days" -sha256 -extfile "$ext" -out "$tmpd/pem" 2>/dev/null
    chmod 600 "$tmpd/key"
    chmod 644 "$tmpd/pem"
    give_key "$tmpd/key"
    mv "$tmpd/key" "$out/$cn.key"
    mv "$tmpd/pem" "$out/$cn.pem"
    rm -rf "$tmpd"
    echo "make-certs.sh: $cn $out/$cn.pem ${san:+($san)}${owner:+, key owned by $owner}"
}

issue scheduler "$addrs" server
for ((i = 0; i < workers; i++)); do issue "worker-$i" "$waddrs" server; done
issue admin "" client
for e in "${extra[@]}"; do issue "${e%%=*}" "${e#*=}" server; done
