#!/usr/bin/env python3
"""Write configs/gavel_models.ini from Gavel's simulation_throughputs.json.

Usage: scripts/gavel_profiles.py PATH/simulation_throughputs.json > configs/gavel_models.ini

Gavel (stanford-futuredata/gavel @ c4fa400, scheduler/simulation_throughputs.json, MIT
License, Copyright (c) 2020 Stanford Future Data Systems) measured the steps per second of
26 job types on K80, P100 and V100 GPUs. Each job type becomes a synergy model with a
profile per GPU type: iter_time = 1 / (steps/s of one job alone on one GPU, the 'null'
entry of the (type, 1) key). Gavel measured no CPU or memory sensitivity, so every profile
asks for 3 CPUs and 62.5 GB per GPU (the reference cluster's fair share) with speedup 1.
The model's own [<m>:1] profile is its V100 one (the models of configs/models.ini were
measured on V100s). This script is a development tool: the build and the tests read only
the INI it wrote, never the JSON.
"""
import ast
import json
import re
import sys

TYPES = [("V100", "v100"), ("P100", "p100"), ("K80", "k80")]


def model_name(job_type):
    """'ResNet-18 (batch size 16)' -> 'resnet18_bs16'; 'A3C' -> 'a3c'."""
    m = re.match(r"^(.*?)(?: \(batch size (\d+)\))?$", job_type)
    base = re.sub(r"[^a-z0-9]", "", m.group(1).lower())
    return base + ("_bs" + m.group(2) if m.group(2) else "")


def main():
    d = json.load(open(sys.argv[1]))
    keys = []
    for k in d["v100"]:
        job_type, scale = ast.literal_eval(k)
        if scale == 1:
            keys.append((k, job_type))
    print("; Gavel's 26 job types as synergy models, one profile per GPU type.")
    print("; Derived by scripts/gavel_profiles.py from Gavel's simulation_throughputs.json")
    print("; (stanford-futuredata/gavel @ c4fa400, scheduler/simulation_throughputs.json;")
    print("; MIT License, Copyright (c) 2020 Stanford Future Data Systems).")
    print("; iter_time = 1 / steps per second of one job alone on one GPU of the type.")
    print("; Gavel measured no CPU or memory sensitivity: cpus = 3, mem = 62.5 per GPU and")
    print("; speedup = 1 everywhere. [<m>:1] repeats the V100 profile. Load with")
    print("; --models configs/gavel_models.ini (docs/heterogeneous.md).")
    for k, job_type in keys:
        name = model_name(job_type)
        print()
        print("; %s" % job_type)
        for section, src in [("", "v100")] + [(":" + t, s) for t, s in TYPES]:
            tput = d[src][k]["null"]
            print("[%s:1%s]" % (name, section))
            print("cpus = 3")
            print("mem = 62.5")
            print("speedup = 1")
            print("iter_time = %.9g" % (1.0 / tput))
            print("source = gavel %s steps/s %.9g" % (src, tput))


if __name__ == "__main__":
    main()
