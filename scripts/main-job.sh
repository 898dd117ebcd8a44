#!/usr/bin/env bash
# The main job of `make run`: the reference's default experiment (synthetic
# workload, seed 42, 9 jobs/h, split 20/70/10, jobs 4000-4999 measured, FIFO on
# 128 GPUs), GPU-proportional vs Synergy-GREEDY vs Synergy-TUNE side by side.
# The reference needs about 12 minutes per mode for this.
set -euo pipefail
bin=${1:-build/synergy}
"$bin" simulate --synthetic --policy FIFO --mode fair,greedy,tune
cat <<'EOT'

Next: try another policy (--policy srtf,las,ftf), a lighter load (--jobs-per-hour 4
--measure 0:300), or a deployment trace:
  build/synergy simulate --trace traces/synergy-deploy/static_100job_6_3_1100.0 --static \
      --cluster configs/static_trace.ini --policy fifo,srtf,las,ftf --mode fair,tune
EOT
