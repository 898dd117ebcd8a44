#!/usr/bin/env bash
# Full OPT simulations with --check: after every round, every server's GPU,
# CPU and memory use must be within its capacity (sched_check_invariants), or
# the run fails. Covers all four study policies, the default formulation and
# --opt-compat, on the shipped static trace (100 jobs, 128 GPUs) and on a
# small synthetic run (32 GPUs, CPU-bound: the rounding and repair paths run).
set -euo pipefail
synergy=$1
src=$2
trace=$src/traces/synergy-deploy/static_100job_6_3_1100.0
fail=0
check() {
  local out
  if ! out=$("$synergy" simulate "$@" --mode opt --check --json 2>&1); then
    echo "FAIL: synergy simulate $* --mode opt --check"; echo "$out"; fail=1; return
  fi
  # every run finishes its measured jobs, and OPT planned every round itself
  while read -r line; do
    case $line in
      \{*) ;;
      *) continue ;;
    esac
    if ! grep -q '"window_complete":true' <<<"$line" || ! grep -q '"opt_fallbacks":0' <<<"$line"; then
      echo "FAIL: $* -> $line"; fail=1
    fi
  done <<<"$out"
}
check --trace "$trace" --static --policy FIFO,SRTF,LAS,FTF
check --trace "$trace" --static --policy FIFO,LAS --opt-compat
check --synthetic --cluster "$src/configs/static_trace.ini" --jobs-per-hour 3 --max-jobs 60 --measure 0:40 \
      --policy FIFO,SRTF
exit $fail
