#!/usr/bin/env bash
# make-certs.sh: a private CA and the certificates of one synergy cluster
# (issue 10, mutual TLS), made with the openssl CLI.
#
#   scripts/make-certs.sh [-o DIR] [-w N] [-a ADDR,...] [-d DAYS] [-n NAME=ADDR,...]...
#
#   -o DIR    output directory (default ./certs); created mode 0700
#   -w N      number of worker certificates, worker-0 .. worker-(N-1) (default 2)
#   -a LIST   addresses every server certificate names as SANs: IPs become
#             IP: entries, anything else DNS: entries (default 127.0.0.1,localhost)
#   -n CN=LIST  one more certificate with CN and its own SAN list (repeatable),
#             e.g. -n worker-7=10.0.0.7
#   -d DAYS   validity (default 825)
#
# Writes DIR/ca.pem and ca.key (keep ca.key offline), and for each identity
# ID in scheduler, worker-0.., admin: DIR/ID.pem (certificate) and DIR/ID.key
# (private key, mode 0600). Each certificate's CN is the identity synergy
# uses (a worker's CN must match its row of the workers file), and carries
# the SANs of the addresses it is reached at: clients dial servers by IP, so
# hostname verification needs SAN IP entries. Every certificate may act as
# client and server (extendedKeyUsage serverAuth,clientAuth).
# An existing CA in DIR is reused, so more workers can be added later.
set -euo pipefail

out=certs
workers=2
addrs=127.0.0.1,localhost
days=825
extra=()
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "o:w:a:d:n:h" o; do
    case $o in
    o) out=$OPTARG ;;
    w) workers=$OPTARG ;;
    a) addrs=$OPTARG ;;
    d) days=$OPTARG ;;
    n) extra+=("$OPTARG") ;;
    *) usage ;;
    esac
done
[[ $workers =~ ^[0-9]+$ ]] || { echo "make-certs.sh: -w: '$workers' must be a count" >&2; exit 2; }
[[ $days =~ ^[1-9][0-9]*$ ]] || { echo "make-certs.sh: -d: '$days' must be a number of days" >&2; exit 2; }
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

umask 077
mkdir -p "$out"

san_of() { # "a,b,c" -> "IP:a,DNS:b,..."
    local IFS=, s="" a
    for a in $1; do
        [[ -z $a ]] && continue
        if [[ $a =~ ^[0-9.]+$ || $a == *:* ]]; then s+="${s:+,}IP:$a"; else s+="${s:+,}DNS:$a"; fi
    done
    echo "$s"
}

if [[ ! -s $out/ca.pem || ! -s $out/ca.key ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "$days" \
        -subj "/CN=synergy-ca" -keyout "$out/ca.key" -out "$out/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    echo "make-certs.sh: CA $out/ca.pem"
fi

issue() { # CN SANLIST
    local cn=$1 san
    san=$(san_of "$2")
    [[ $cn =~ ^[A-Za-z0-9._-]+$ ]] || { echo "make-certs.sh: '$cn' is not a valid identity ([A-Za-z0-9._-])" >&2; exit 2; }
    local ext
    ext=$(mktemp)
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=serverAuth,clientAuth"
        [[ -n $san ]] && echo "subjectAltName=$san"
    } >"$ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj "/CN=$cn" \
        -keyout "$out/$cn.key" -out "$out/$cn.csr" 2>/dev/null
    openssl x509 -req -in "$out/$cn.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
        -CAcreateserial -days "$days" -sha256 -extfile "$ext" -out "$out/$cn.pem" 2>/dev/null
    rm -f "$out/$cn.csr" "$ext"
    chmod 600 "$out/$cn.key"
    chmod 644 "$out/$cn.pem" "$out/ca.pem"
    echo "make-certs.sh: $cn $out/$cn.pem ${san:+($san)}"
}

issue scheduler "$addrs"
for ((i = 0; i < workers; i++)); do issue "worker-$i" "$addrs"; done
issue admin ""
for e in "${extra[@]}"; do issue "${e%%=*}" "${e#*=}"; done
