#!/usr/bin/env python3
"""A Gavel-style workload as a synergy replay trace (docs/heterogeneous.md).

Usage: gavel_trace.py MODELS_INI JOBS_PER_HOUR SEED N_JOBS > trace

Gavel's continuous-single workload (Narayanan et al., OSDI'20; its generator in
stanford-futuredata/gavel, scheduler/utils.py, generate_job and _generate_duration): jobs
arrive as a Poisson process at JOBS_PER_HOUR; each is one of the 26 job types, uniformly,
on one GPU; with probability 0.8 it runs 10^U(1.5, 3) minutes on a V100, else
10^U(3, 4) minutes; its steps are that time times its V100 steps per second. The job types
and their V100 rates are read from MODELS_INI (configs/gavel_models.ini: the
[<m>:1:V100] sections' iter_time). Python's random.Random(SEED), one stream per
quantity as Gavel does (arrivals SEED, durations SEED+2, types SEED+1); the jobs are not
Gavel's own draws.
"""
import math
import random
import re
import sys


def v100_models(path):
    models, cur = [], None
    for line in open(path):
        m = re.match(r"^\[(\w+):1:V100\]", line)
        if m:
            cur = m.group(1)
            continue
        if line.startswith("["):
            cur = None
        m = re.match(r"^iter_time\s*=\s*([0-9.eE+-]+)", line)
        if cur and m:
            models.append((cur, 1.0 / float(m.group(1))))
            cur = None
    return models


def main():
    models = v100_models(sys.argv[1])
    rate, seed, n = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    arrivals, types, durations = (random.Random(seed), random.Random(seed + 1),
                                  random.Random(seed + 2))
    t = 0.0
    for i in range(n):
        if i > 0:
            t += -math.log(1.0 - arrivals.random()) * 3600.0 / rate
        if durations.random() >= 0.8:
            run_s = 60 * 10 ** durations.uniform(3, 4)
        else:
            run_s = 60 * 10 ** durations.uniform(1.5, 3)
        name, steps_per_s = types.choice(models)
        print("%d,%s,%.3f,%d,1" % (i, name, t, max(1, int(run_s * steps_per_s))))


if __name__ == "__main__":
    main()
