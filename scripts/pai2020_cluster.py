#!/usr/bin/env python3
"""Write configs/pai2020.ini from the Alibaba PAI-2020 machine spec.

Usage: scripts/pai2020_cluster.py PATH/pai_machine_spec.csv > configs/pai2020.ini

The machine spec (alibaba/clusterdata, cluster-trace-gpu-v2020; CC-BY-4.0, "Alibaba PAI,
MLaaS in the Wild (NSDI'22)") has one row per machine: name, GPU type, CPU cores, memory
GB, GPUs. Machines with the same (type, CPUs, memory, GPUs) become one [servers] group;
CPU-only machines (no GPU) are left out, as the scheduler places GPU jobs only. A
development tool: the build and the tests read only the INI.
"""
import collections
import csv
import sys


def main():
    groups = collections.Counter()
    order = []
    cpu_only = 0
    for row in csv.reader(open(sys.argv[1])):
        name, gtype, cpus, mem, gpus = row
        if int(gpus) == 0:
            cpu_only += 1
            continue
        key = (gtype, int(gpus), int(cpus), int(mem))
        if key not in groups:
            order.append(key)
        groups[key] += 1
    # biggest groups first within a type; types by their first appearance
    types = []
    for k in order:
        if k[0] not in types:
            types.append(k[0])
    n = sum(groups.values())
    g = sum(c * k[1] for k, c in groups.items())
    print("; Alibaba PAI-2020's GPU cluster: %d machines with %d GPUs of %d types (%d CPU-only" %
          (n, g, len(types), cpu_only))
    print("; machines left out). From the PAI-2020 machine spec (alibaba/clusterdata,")
    print("; cluster-trace-gpu-v2020, pai_machine_spec.csv), CC-BY-4.0: \"Alibaba PAI, MLaaS in")
    print("; the Wild (NSDI'22)\". Written by scripts/pai2020_cluster.py; docs/heterogeneous.md.")
    print(";")
    print("; The speed factors (relative to the V100 the default profiles were measured on) are")
    print("; assumptions, not PAI data: V100M32 is a V100 with 32 GB; P100 0.81 is the median")
    print("; P100/V100 throughput of Gavel's 26 job types (configs/gavel_108.ini); T4 0.52 is")
    print("; its FP32 peak over V100's (8.1 / 15.7 TFLOPS); MISC (older GPUs the trace does not")
    print("; name) 0.5.")
    print("[gpu_types]")
    speed = {"V100": 1.0, "V100M32": 1.0, "P100": 0.81, "T4": 0.52, "MISC": 0.5}
    for t in types:
        print("%s = %g" % (t, speed[t]))
    for t in types:
        ks = sorted([k for k in groups if k[0] == t], key=lambda k: -groups[k])
        for i, k in enumerate(ks):
            print()
            print("[servers %s%s]" % (t.lower(), "" if len(ks) == 1 else "_%dgb" % k[3]))
            print("count = %d" % groups[k])
            print("gpu_type = %s" % t)
            print("gpus = %d" % k[1])
            print("cpus = %d" % k[2])
            print("dram_gb = %d" % k[3])


if __name__ == "__main__":
    main()
