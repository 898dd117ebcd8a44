#!/usr/bin/env bash
# Synergy-OPT solver time per round: 128 GPUs (configs/default_cluster.ini),
# 200 queued jobs drawn like the synthetic workload, one FIFO round planned
# from an empty cluster per trial (bench/opt_round_bench.c), TUNE for scale.
# usage: bench/opt_solver.sh [BUILD_DIR] [TRIALS] [QUEUE]   (from the source tree)
set -euo pipefail
build=${1:-build}
trials=${2:-50}
queue=${3:-200}
cmake --build "$build" --target opt_round_bench >/dev/null
"$build/bench/opt_round_bench" configs/default_cluster.ini configs/models.ini "$trials" "$queue"
