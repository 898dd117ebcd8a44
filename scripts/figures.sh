#!/usr/bin/env bash
# Reproduce the Synergy paper's simulation figures that our workloads can:
# every experiment file in configs/experiments/ is swept once per seed into
# one results database per experiment, then scripts/paper_figures.py averages
# the seeds, draws the plots (gnuplot) and writes docs/paper-figures.md.
#   scripts/figures.sh [SYNERGY_BIN] [OUT_DIR]       (or: make figures)
# OUT_DIR (default docs/paper-figures) gets, per experiment NAME, NAME.jsonl
# (`synergy report --format json`, committed), NAME.png and the sweep's log;
# the databases (NAME.db) are not committed. SEEDS (default "1 2 3") and
# WORKERS (default: one per core) override. REUSE_DB=1 only redraws.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$src/build/synergy}")
out=$(realpath -m "${2:-$src/docs/paper-figures}")
seeds=${SEEDS:-1 2 3}
workers=${WORKERS:-$(nproc)}
mkdir -p "$out"
t0=$(date +%s.%N)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
ran=0
for ini in "$src"/configs/experiments/*.ini; do
  name=$(basename "$ini" .ini)
  db=$out/$name.db
  if [ "${REUSE_DB:-0}" != 1 ] || [ ! -f "$db" ]; then
    rm -f "$db" "$db-wal" "$db-shm" "$out/$name.log"
    ran=1
    for seed in $seeds; do
      # paths in an experiment file are relative to it: run from its directory
      (cd "$(dirname "$ini")" && "$bin" sweep "$(basename "$ini")" --seed "$seed" --db "$db" \
         -j "$workers") >> "$out/$name.log" 2>&1 ||
        { echo "figures.sh: $name seed $seed failed; see $out/$name.log" >&2; exit 1; }
    done
  fi
  "$bin" report --db "$db" --all --format json --brief > "$out/$name.jsonl"
  echo "figures.sh: $name: $(grep -c . "$out/$name.jsonl") runs" >&2
done
t1=$(date +%s.%N)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# how long the sweeps took, kept for redraws (REUSE_DB=1)
if [ "$ran" = 1 ]; then
  { echo "wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
    echo "load=$load0 / $load1"
    echo "cores=$(nproc)"
    echo "version=$("$bin" --version 2>/dev/null | head -1)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"; } > "$out/timing.txt"
fi
python3 "$src/scripts/paper_figures.py" "$out" "$(dirname "$out")/paper-figures.md" \
  --seeds "$seeds" --timing "$out/timing.txt"
echo "figures.sh: wrote $(dirname "$out")/paper-figures.md" >&2
