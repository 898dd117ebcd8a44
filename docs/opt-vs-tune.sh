#!/usr/bin/env bash
# Re-run the OPT-vs-TUNE study of docs/opt-vs-tune.md with one command:
#   docs/opt-vs-tune.sh [SYNERGY_BIN] [OUT_DIR]        (from the source tree)
# WORKLOAD=philly (default): the Pollux Philly CSV, virtual cluster 103959, its
#   first 1,500 jobs (of 1,934), re-timed by Poisson arrivals at 4, 6, 8 jobs/h
#   (offered load 0.71, 1.06, 1.42 of 128 GPUs by `synergy trace stats`),
#   jobs 250-1249 measured. Output in docs/opt-vs-tune/philly by default.
# WORKLOAD=synthetic: the earlier study, synthetic workload (seed 42, split
#   20/70/10) at 2, 4, 6 jobs/h, jobs 0-299 measured. Output in docs/opt-vs-tune.
# Both: FIFO, SRTF, LAS, FTF x {fair, tune, opt} on configs/default_cluster.ini
# (16 x 8 = 128 GPUs) in one `synergy sweep`; results DB OUT_DIR/runs.db (not
# committed), `synergy report --format json` -> OUT_DIR/runs.jsonl, the table
# OUT_DIR/table.md and the plot OUT_DIR/opt-vs-tune.png (gnuplot).
# REUSE_DB=1 skips the sweep when OUT_DIR/runs.db exists (to redraw only).
# WORKERS (default 2) sets the sweep's parallel workers.
set -euo pipefail
bin=${1:-build/synergy}
workload=${WORKLOAD:-philly}
case $workload in
  philly)
    out=${2:-docs/opt-vs-tune/philly}
    workload_args=(--trace traces/pollux-philly/philly.csv --trace-format pollux --vc 103959
                   --max-jobs 1500 --measure 250:1250)
    loads="4 6 8" xrange="3.5:8.5"
    title="Pollux Philly CSV, VC 103959, 1500 jobs (250-1249 measured), 128 GPUs" ;;
  synthetic)
    out=${2:-docs/opt-vs-tune}
    workload_args=(--measure 0:300 --seed 42)
    loads="2 4 6" xrange="1.5:6.5"
    title="Synthetic workload (seed 42, jobs 0-299), 128 GPUs" ;;
  *) echo "opt-vs-tune.sh: WORKLOAD must be philly or synthetic" >&2; exit 2 ;;
esac
mkdir -p "$out"
db=$out/runs.db
if [ "${REUSE_DB:-0}" != 1 ] || [ ! -f "$db" ]; then
  rm -f "$db" "$db-wal" "$db-shm"
  "$bin" sweep "${workload_args[@]}" --policy FIFO,SRTF,LAS,FTF --mode fair,tune,opt \
    --jobs-per-hour "${loads// /,}" --cluster configs/default_cluster.ini --db "$db" \
    -j "${WORKERS:-2}" | tee "$out/sweep.log"
fi
"$bin" report --db "$db" --all --format json --brief > "$out/runs.jsonl"

# one TSV line per run: policy mode load avg_jct_h makespan_h rounds wall_s
# opt_solve_mean_s opt_solve_max_s opt_lowered opt_fallbacks
field() { { grep -o "\"$1\":[^,}]*" || true; } | head -1 | cut -d: -f2 | tr -d '"'; }
: > "$out/runs.tsv"
while read -r line; do
  row=
  for k in policy mode jobs_per_hour avg_jct_h makespan_h rounds wall_s opt_solve_mean_s \
           opt_solve_max_s opt_lowered opt_fallbacks; do
    v=$(field $k <<<"$line"); row+="${v:--}"$'\t'
  done
  printf '%s\n' "${row%$'\t'}" >> "$out/runs.tsv"
done < "$out/runs.jsonl"

# the table: per policy and load, avg JCT and makespan of fair/tune/opt, the
# TUNE/OPT gap (tune / opt - 1: how much longer TUNE's is), and the GLPK time
# per OPT round (mean and max, from the run's opt_solve_* counters)
awk -F'\t' -v loads="$loads" '
  { k = $1 SUBSEP $3; jct[k, $2] = $4; mk[k, $2] = $5; rounds[k, $2] = $6
    smean[k, $2] = $8; smax[k, $2] = $9; low[k, $2] = $10; fb[k, $2] = $11 }
  END {
    n = split("FIFO SRTF LAS FTF", P, " "); m = split(loads, L, " ")
    print "| policy | jobs/h | avg JCT fair | tune | opt | TUNE/OPT gap | makespan fair | tune | opt | TUNE/OPT gap | OPT rounds | solve ms/round mean | max | fallbacks |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) for (l = 1; l <= m; l++) {
      k = P[i] SUBSEP L[l]
      if (!((k, "opt") in jct)) continue
      printf "| %s | %s | %.2f | %.2f | %.2f | %+.1f%% | %.1f | %.1f | %.1f | %+.1f%% | %d | %.2f | %.1f | %s |\n",
        P[i], L[l], jct[k, "fair"], jct[k, "tune"], jct[k, "opt"],
        (jct[k, "tune"] / jct[k, "opt"] - 1) * 100,
        mk[k, "fair"], mk[k, "tune"], mk[k, "opt"], (mk[k, "tune"] / mk[k, "opt"] - 1) * 100,
        rounds[k, "opt"], smean[k, "opt"] * 1000, smax[k, "opt"] * 1000, fb[k, "opt"]
    }
  }' "$out/runs.tsv" > "$out/table.md"

# plot data: per policy, load fair tune opt (avg JCT h)
for p in FIFO SRTF LAS FTF; do
  awk -F'\t' -v p="$p" '$1 == p { v[$3, $2] = $4; l[$3] = 1 }
    END { for (x in l) printf "%s %s %s %s\n", x, v[x, "fair"], v[x, "tune"], v[x, "opt"] }' \
    "$out/runs.tsv" | sort -n > "$out/plot_$p.dat"
done
gnuplot <<GNUPLOT
set terminal pngcairo size 1100,800 font "sans,10"
set output "$out/opt-vs-tune.png"
set multiplot layout 2,2 title "Average JCT vs load: $title"
set xlabel "load (jobs/h)"
set ylabel "avg JCT (h)"
set xtics (${loads// /, })
set xrange [$xrange]
set key top left
set offsets 0, 0, graph 0.2, 0
set grid ytics
do for [p in "FIFO SRTF LAS FTF"] {
  set title p
  f = "$out/plot_".p.".dat"
  plot f using 1:2 with linespoints lw 2 pt 7 title "fair (GPU-proportional)", \
       f using 1:3 with linespoints lw 2 pt 5 title "tune", \
       f using 1:4 with linespoints lw 2 pt 9 dt 2 title "opt"
}
unset multiplot
GNUPLOT
rm -f "$out"/plot_*.dat
cat "$out/table.md"
echo "wrote $out/table.md, $out/opt-vs-tune.png, $out/runs.jsonl"
