#!/usr/bin/env bash
# Install the Debian packages synergy needs to build, test and plot.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang
      libinih-dev libcmocka-dev libsqlite3-dev sqlite3 libxml2-utils
      libyajl-dev libglpk-dev gnuplot-nox
      libgrpc-dev libssl-dev protobuf-c-compiler libprotobuf-c-dev
      libhwloc-dev hwloc libnuma-dev numactl valgrind time
      libsystemd-dev systemd libmicrohttpd-dev python3
      python3-grpcio python3-protobuf python3-grpc-tools python3-numpy)
# more packages for one suite: install-deps.sh PKG... (e.g. python3-torch)
pkgs+=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# several builds may install at once (parallel worktrees, CI): wait for dpkg's lock
lock=(-o DPkg::Lock::Timeout=900)
$sudo apt-get "${lock[@]}" update -qq
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
