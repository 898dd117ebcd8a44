#!/usr/bin/env bash
# Re-run the OPT-vs-TUNE study of docs/opt-vs-tune.md with one command:
#   docs/opt-vs-tune.sh [SYNERGY_BIN] [OUT_DIR]        (from the source tree)
# 1. `synergy sweep`: FIFO, SRTF, LAS, FTF x {fair, tune, opt} x 2, 4, 6 jobs/h,
#    synthetic workload (seed 42, split 20/70/10), jobs 0-299 measured, on
#    configs/default_cluster.ini (16 x 8 = 128 GPUs); results DB in OUT_DIR.
# 2. `synergy report --format json` -> OUT_DIR/runs.jsonl
# 3. OUT_DIR/table.md (the doc's table) and OUT_DIR/opt-vs-tune.png (gnuplot).
# REUSE_DB=1 skips step 1 when OUT_DIR/runs.db exists (to redraw only).
# WORKERS (default 2) sets the sweep's parallel workers.
set -euo pipefail
bin=${1:-build/synergy}
out=${2:-docs/opt-vs-tune}
mkdir -p "$out"
db=$out/runs.db
if [ "${REUSE_DB:-0}" != 1 ] || [ ! -f "$db" ]; then
  rm -f "$db"
  "$bin" sweep --policy FIFO,SRTF,LAS,FTF --mode fair,tune,opt --jobs-per-hour 2,4,6 \
    --measure 0:300 --seed 42 --cluster configs/default_cluster.ini --db "$db" \
    -j "${WORKERS:-2}"
fi
"$bin" report --db "$db" --all --format json --brief > "$out/runs.jsonl"

# one TSV line per run: policy mode load avg_jct_h makespan_h rounds wall_s
field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
: > "$out/runs.tsv"
while read -r line; do
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(field policy <<<"$line")" "$(field mode <<<"$line")" \
    "$(field jobs_per_hour <<<"$line")" "$(field avg_jct_h <<<"$line")" \
    "$(field makespan_h <<<"$line")" "$(field rounds <<<"$line")" \
    "$(field wall_s <<<"$line")" >> "$out/runs.tsv"
done < "$out/runs.jsonl"

# the table: per policy and load, avg JCT and makespan of fair/tune/opt, the
# TUNE/OPT gap (tune / opt - 1: how much longer TUNE's is), and OPT's wall
# time per round (the solver dominates it: fair and tune runs take < 1 s)
awk -F'\t' '
  { k = $1 SUBSEP $3; jct[k, $2] = $4; mk[k, $2] = $5; rounds[k, $2] = $6; wall[k, $2] = $7
    pol[$1] = 1; load[$3] = 1 }
  END {
    n = split("FIFO SRTF LAS FTF", P, " "); m = split("2 4 6", L, " ")
    print "| policy | jobs/h | avg JCT fair | tune | opt | TUNE/OPT gap | makespan fair | tune | opt | TUNE/OPT gap | OPT rounds | OPT s/round |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) for (l = 1; l <= m; l++) {
      k = P[i] SUBSEP L[l]
      if (!((k, "opt") in jct)) continue
      printf "| %s | %s | %.2f | %.2f | %.2f | %+.1f%% | %.1f | %.1f | %.1f | %+.1f%% | %d | %.4f |\n",
        P[i], L[l], jct[k, "fair"], jct[k, "tune"], jct[k, "opt"],
        (jct[k, "tune"] / jct[k, "opt"] - 1) * 100,
        mk[k, "fair"], mk[k, "tune"], mk[k, "opt"], (mk[k, "tune"] / mk[k, "opt"] - 1) * 100,
        rounds[k, "opt"], wall[k, "opt"] / rounds[k, "opt"]
    }
  }' "$out/runs.tsv" > "$out/table.md"

# plot data: per policy, load fair tune opt (avg JCT h)
for p in FIFO SRTF LAS FTF; do
  awk -F'\t' -v p="$p" '$1 == p { v[$3, $2] = $4; l[$3] = 1 }
    END { for (x in l) printf "%s %s %s %s\n", x, v[x, "fair"], v[x, "tune"], v[x, "opt"] }' \
    "$out/runs.tsv" | sort -n > "$out/plot_$p.dat"
done
gnuplot <<EOF
set terminal pngcairo size 1100,800 font "sans,10"
set output "$out/opt-vs-tune.png"
set multiplot layout 2,2 title "Average JCT, synthetic workload (seed 42, jobs 0-299), 128 GPUs"
set xlabel "load (jobs/h)"
set ylabel "avg JCT (h)"
set xtics (2, 4, 6)
set key top left
set offsets 0, 0, graph 0.2, 0
set grid ytics
do for [p in "FIFO SRTF LAS FTF"] {
  set title p
  f = "$out/plot_".p.".dat"
  plot f using 1:2 with linespoints lw 2 pt 7 title "fair", \
       f using 1:3 with linespoints lw 2 pt 5 title "tune", \
       f using 1:4 with linespoints lw 2 pt 9 title "opt"
}
unset multiplot
EOF
rm -f "$out"/plot_*.dat
cat "$out/table.md"
echo "wrote $out/table.md, $out/opt-vs-tune.png, $out/runs.jsonl"
