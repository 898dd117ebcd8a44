#!/usr/bin/env bash
# A sharded sweep on a real Slurm: a single-node slurmctld + slurmd (and a
# munged with its own key and socket) started here under a temporary
# directory, with a generated slurm.conf on 127.0.0.1 and private ports.
# contrib/slurm/sweep.sbatch submits a 4-task array sweep and its dependent
# merge job; the merged database must equal a single-machine sweep of the
# same grid, run by run. The daemons are stopped at the end whatever happens.
# Installs Debian's slurm-wlm and munge if they are missing. Needs root (slurmd
# runs jobs as their user; here everything runs as root).
# usage: slurm_sweep.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "the Slurm test runs slurmd and needs root"

if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null ||
   ! command -v munged > /dev/null || ! command -v sbatch > /dev/null; then
    echo "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends slurm-wlm munge > /dev/null ||
        { apt-get -o DPkg::Lock::Timeout=600 update > /dev/null &&
          apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends slurm-wlm munge > /dev/null; } ||
        fail "cannot install slurm-wlm and munge"
fi
command -v sqlite3 > /dev/null && command -v python3 > /dev/null || fail "sqlite3 and python3 needed"

tmp=$(mktemp -d /tmp/synergy-slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_CONF=$tmp/slurm.conf
stop() {
    for p in slurmd slurmctld; do
        [ -s "$tmp/$p.pid" ] && kill "$(cat "$tmp/$p.pid")" 2> /dev/null
    done
    for i in $(seq 1 50); do
        alive=0
        for p in slurmd slurmctld; do
            [ -s "$tmp/$p.pid" ] && kill -0 "$(cat "$tmp/$p.pid")" 2> /dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for p in slurmd slurmctld; do
        [ -s "$tmp/$p.pid" ] && kill -9 "$(cat "$tmp/$p.pid")" 2> /dev/null
    done
    [ -S "$tmp/munge/munge.socket" ] && munged -s -S "$tmp/munge/munge.socket" > /dev/null 2>&1
    [ -s "$tmp/munge/munged.pid" ] && kill "$(cat "$tmp/munge/munged.pid")" 2> /dev/null
    rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

# munge: a key of our own, its own socket
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/run"
chmod 700 "$tmp/munge"
mungekey -c -k "$tmp/munge/munge.key" -b 1024 > /dev/null 2>&1 ||
    dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1 count=1024 2> /dev/null
chmod 600 "$tmp/munge/munge.key"
munged -f -S "$tmp/munge/munge.socket" --key-file="$tmp/munge/munge.key" \
    --log-file="$tmp/log/munged.log" --pid-file="$tmp/munge/munged.pid" \
    --seed-file="$tmp/munge/seed" || fail "munged did not start: $(tail -3 "$tmp/log/munged.log")"

ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r ctld_port d_port <<< "$ports"
host=$(hostname -s)
cat > "$SLURM_CONF" <<CONF
ClusterName=synergytest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
PlugStackConfig=$tmp/plugstack.conf
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=synergy Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
: > "$tmp/plugstack.conf"
slurmctld -c || fail "slurmctld did not start: $(tail -5 "$tmp/log/slurmctld.log")"
slurmd -N "$host" || fail "slurmd did not start: $(tail -5 "$tmp/log/slurmd.log")"
for i in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %t 2> /dev/null)
    [ "$state" = idle ] && break
    sleep 1
done
[ "$state" = idle ] || fail "the node is '$state', not idle: $(tail -5 "$tmp/log/slurmd.log")"

# the grid: 2 policies x 2 modes x 3 seeds on 16 GPUs, 12 points in 4 shards
cd "$tmp/run" || exit 1
cat > small.ini <<'INI'
[CLUSTER]
racks = 1
servers_per_rack = 2
gpus_per_server = 8
cpus_per_server = 24
dram_per_server = 500
sspeed_per_server = 500
INI
grid=(--cluster small.ini --policy FIFO,LAS --mode fair,tune --seed 1,2,3
      --jobs-per-hour 4 --measure 0:40 --max-jobs 80)
SYNERGY=$bin bash "$src/contrib/slurm/sweep.sbatch" 4 "$tmp/run/out" "${grid[@]}" > submit.out 2>&1 ||
    fail "sweep.sbatch exited $?: $(cat submit.out)"
read -r array merge < out/jobs || fail "no job ids: $(cat submit.out)"
for i in $(seq 1 240); do
    [ -z "$(squeue -h -j "$array,$merge" 2> /dev/null)" ] && break
    sleep 1
done
[ -z "$(squeue -h -j "$array,$merge" 2> /dev/null)" ] || fail "jobs still queued after 240 s: $(squeue)"
[ -s out/merged.db ] || fail "no merged database; merge log: $(cat out/merge.log 2> /dev/null); shard 1: $(cat out/shard-1.log 2> /dev/null)"
grep -q "12 runs added" out/merge.log || fail "merge: $(cat out/merge.log)"
for k in 1 2 3 4; do
    [ -s "out/shards/shard-$k.db" ] || fail "shard $k missing: $(cat "out/shard-$k.log")"
done
"$bin" sweep "${grid[@]}" --db single.db -j 2 > single.out 2>&1 || fail "single sweep: $(tail -3 single.out)"
python3 "$src/tests/integration/sweep_db_equal.py" single.db out/merged.db 12 ||
    fail "the merged database differs from the single-machine sweep"
echo "slurm: 4-task array sweep merged equals the single-machine sweep"
