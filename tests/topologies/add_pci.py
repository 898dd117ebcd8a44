#!/usr/bin/env python3
"""Add PCI devices to a hwloc XML topology exported by lstopo.

usage: add_pci.py IN.xml OUT.xml PKG:KIND:BUSID[,PKG:KIND:BUSID...]

Each device becomes a PCIDev I/O child of Package PKG (logical index), the
way tests/topologies/2socket-8gpu.xml has them: hwloc's XML reader attaches
them there, and their non-I/O ancestor (the Package) gives their NUMA node.
KIND is one of the rows below (class, vendor:device, subsystem, revision).
"""
import re
import sys

KINDS = {
    # NVIDIA H100 SXM: 3D controller (0302): a GPU
    "gpu": "0302 [10de:2330] [10de:16c1] a1",
    # NVIDIA NVSwitch: vendor 0x10de but a bridge (0680): not a GPU
    "nvswitch": "0680 [10de:22a3] [10de:1796] a1",
    # Samsung NVMe (0108) and Mellanox ConnectX-7 InfiniBand (0207)
    "nvme": "0108 [144d:a80a] [144d:a812] 00",
    "nic": "0207 [15b3:1021] [15b3:0041] 00",
}


def main():
    src, dst, spec = sys.argv[1], sys.argv[2], sys.argv[3]
    by_pkg = {}
    for n, item in enumerate(spec.split(",")):
        pkg, kind, busid = item.split(":", 2)
        line = ('<object type="PCIDev" gp_index="%d" pci_busid="%s" pci_type="%s" '
                'pci_link_speed="0.000000"/>' % (1001 + n, busid, KINDS[kind]))
        by_pkg.setdefault(int(pkg), []).append(line)
    out, pkg = [], -1
    for line in open(src, encoding="utf-8"):
        out.append(line)
        m = re.match(r'(\s*)<object type="Package"', line)
        if m:
            pkg += 1
            for dev in by_pkg.pop(pkg, []):
                out.append(m.group(1) + "  " + dev + "\n")
    if by_pkg:
        sys.exit("no Package %s in %s" % (sorted(by_pkg), src))
    text = "".join(out)
    # ProcessName would only record which program exported the file
    text = re.sub(r'\s*<info name="ProcessName" value="[^"]*"/>', "", text)
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
