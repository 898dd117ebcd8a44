#!/usr/bin/env bash
# The main job of `make run`: simulate the Philly trace (the Pollux authors'
# philly.csv, shipped in traces/pollux-philly) on the default 128-GPU cluster,
# GPU-proportional vs Synergy-TUNE side by side, in about a second.
# The whole trace asks for ~374 GPUs on average (73% of configs/philly_cluster.ini's
# 512), three times what 128 GPUs serve, so the run here takes Philly's largest
# virtual cluster, 6214e9: 41,226 jobs over 106 days, ~37 GPUs on average with
# bursts far above 128. Models are assigned by class split (20/70/10) and each
# job's length is its trace duration (docs/traces.md).
set -euo pipefail
bin=${1:-build/synergy}
src=$(cd "$(dirname "$0")/.." && pwd)
trace=$src/traces/pollux-philly/philly.csv
# the plots (JCT CDFs, GPU/CPU/memory allocated against demand) and the runs
# go next to the binary, so a newcomer can open them at once
out=$(cd "$(dirname "$bin")" && pwd)
rm -rf "$out/run-plots" "$out/run.db"
"$bin" simulate --trace "$trace" --vc 6214e9 --policy FIFO --mode fair,tune \
    --db "$out/run.db" --plot "$out/run-plots"
cat <<EOT

Next:
  - the whole trace on Philly's size (82,247 jobs, 512 GPUs; a few seconds):
      $bin simulate --trace traces/pollux-philly/philly.csv --cluster configs/philly_cluster.ini --mode fair,tune
  - the busiest virtual cluster, and other policies:
      $bin simulate --trace traces/pollux-philly/philly.csv --vc ee9e8c --policy fifo,srtf,las --mode fair,tune
  - look at a trace before simulating it, or re-time it with an arrival process:
      $bin trace stats traces/pollux-philly/philly.csv --vc 6214e9
      $bin simulate --trace traces/pollux-philly/philly.csv --arrival poisson:6 --max-jobs 3000 --mode fair,tune
  - your own Philly cluster_job_log (streamed; see docs/traces.md):
      $bin simulate --trace cluster_job_log --multigpu --philly-arrival --mode fair,tune
  - the reference's synthetic experiment: $bin simulate --synthetic --mode fair,greedy,tune
EOT
