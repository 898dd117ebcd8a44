#!/usr/bin/env bash
# The paper-figure pipeline (make figures): every experiment file of
# configs/experiments/ is a valid sweep (run here on a tiny window: 60 jobs,
# ids 0-29, one seed, flags overriding the file), scripts/paper_figures.py
# turns the results into the page with all four figures and their plots, and
# the checked-in docs/paper-figures.md is exactly what the generator makes
# from the checked-in results (nobody edited the numbers by hand).
# usage: paper_figures.sh SYNERGY SRCDIR
set -euo pipefail
bin=$1 src=$2
command -v gnuplot >/dev/null || { echo "gnuplot missing: scripts/install-deps.sh installs it"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/small/paper-figures"
n=0
for ini in "$src"/configs/experiments/*.ini; do
  name=$(basename "$ini" .ini)
  (cd "$(dirname "$ini")" && "$bin" sweep "$(basename "$ini")" --seed 1 --max-jobs 60 \
     --measure 0:30 --db "$tmp/$name.db" -j 2 > "$tmp/$name.log" 2>&1) ||
    { echo "$name: sweep failed"; tail -5 "$tmp/$name.log"; exit 1; }
  "$bin" report --db "$tmp/$name.db" --all --format json --brief \
    > "$tmp/small/paper-figures/$name.jsonl"
  n=$((n + 1))
done
[ "$n" -eq 4 ] || { echo "expected 4 experiment files, found $n"; exit 1; }
# the grid sizes the page describes
for f in fig7_jct_vs_load:40 fig9_splits:16 fig_drf_tetris:12 fig_cpu_ratio:16; do
  got=$(grep -c '"status":"complete"' "$tmp/small/paper-figures/${f%%:*}.jsonl")
  [ "$got" -eq "${f##*:}" ] || { echo "${f%%:*}: $got runs, expected ${f##*:}"; exit 1; }
done
python3 "$src/scripts/paper_figures.py" "$tmp/small/paper-figures" "$tmp/small/paper-figures.md" \
  --seeds 1
for h in "## Figure 7" "## Figure 9" "## DRF and Tetris" "## CPU:GPU ratio" \
         "up to 3.4x" "21.88 h" "within 10% of OPT" "## Where ours differs"; do
  grep -qF "$h" "$tmp/small/paper-figures.md" || { echo "the page lacks '$h'"; exit 1; }
done
for png in fig7_jct_vs_load fig9_splits fig_drf_tetris fig_cpu_ratio; do
  [ -s "$tmp/small/paper-figures/$png.png" ] || { echo "$png.png not drawn"; exit 1; }
  grep -qF "(paper-figures/$png.png)" "$tmp/small/paper-figures.md"
done
# the committed page is the generator's output for the committed results
mkdir -p "$tmp/docs/paper-figures"
cp "$src"/docs/paper-figures/*.jsonl "$src"/docs/paper-figures/timing.txt "$tmp/docs/paper-figures/"
python3 "$src/scripts/paper_figures.py" "$tmp/docs/paper-figures" "$tmp/docs/paper-figures.md" \
  --seeds "1 2 3" --timing "$tmp/docs/paper-figures/timing.txt"
diff -u "$src/docs/paper-figures.md" "$tmp/docs/paper-figures.md" ||
  { echo "docs/paper-figures.md differs from what scripts/paper_figures.py makes of docs/paper-figures/*.jsonl"; exit 1; }
echo "ok: 4 experiments sweep, the page and its plots are generated, docs/paper-figures.md is current"
