#!/usr/bin/env bash
# Regenerate the SMT test topologies (see README.md here): hwloc's synthetic
# backend exported to XML by lstopo, then the PCI devices added by
# add_pci.py. Needs the `hwloc` package (lstopo-no-graphics) and python3.
# usage: tests/topologies/generate.sh   (writes next to this script)
set -euo pipefail
cd "$(dirname "$0")"

# 2 sockets, each one NUMA node of 64 GiB with two 32 MiB L3 domains of 4
# cores; a private 2 MiB L2 and 48 KiB L1d per core; 2 threads per core.
# Core os indexes restart at 0 on each socket and thread siblings are 16
# apart (core c has PUs c and c+16), as Linux numbers a 2-socket x86 server.
pu2=$(python3 -c "print(','.join(str(c + 16 * t) for c in range(16) for t in range(2)))")
core2=$(python3 -c "print(','.join(str(c % 8) for c in range(16)))")
lstopo-no-graphics --force --of xml --input \
  "pack:2 [numa(memory=68719476736)] l3:2(size=33554432) l2:4(size=2097152) l1d:1(size=49152) core:1(indexes=$core2) pu:2(indexes=$pu2)" \
  2socket-smt-8gpu.xml.tmp
python3 add_pci.py 2socket-smt-8gpu.xml.tmp 2socket-smt-8gpu.xml \
  "0:gpu:0000:18:00.0,0:gpu:0000:2a:00.0,0:gpu:0000:3a:00.0,0:gpu:0000:5d:00.0,0:nvme:0000:3f:00.0,0:nvswitch:0000:05:00.0,1:gpu:0000:9a:00.0,1:gpu:0000:ab:00.0,1:gpu:0000:ba:00.0,1:gpu:0000:db:00.0,1:nic:0000:c0:00.0"

# 1 socket, one NUMA node of 128 GiB with four 32 MiB L3 domains of 4 cores
# (an EPYC-style CCX layout), private L2/L1d, 2 threads per core numbered
# next to each other (core k has PUs 2k and 2k+1), 4 GPUs.
lstopo-no-graphics --force --of xml --input \
  "pack:1 [numa(memory=137438953472)] l3:4(size=33554432) l2:4(size=1048576) l1d:1(size=32768) core:1 pu:2" \
  1socket-smt-4gpu.xml.tmp
python3 add_pci.py 1socket-smt-4gpu.xml.tmp 1socket-smt-4gpu.xml \
  "0:gpu:0000:01:00.0,0:gpu:0000:41:00.0,0:gpu:0000:81:00.0,0:gpu:0000:c1:00.0,0:nvme:0000:02:00.0"
rm -f ./*.xml.tmp
