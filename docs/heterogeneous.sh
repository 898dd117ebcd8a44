#!/usr/bin/env bash
# The Gavel comparison of docs/heterogeneous.md with one command:
#   docs/heterogeneous.sh [SYNERGY_BIN] [OUT_DIR]         (from the source tree)
# Gavel's 36 V100 / 36 P100 / 36 K80 cluster (configs/gavel_108.ini) with Gavel's
# measured throughputs (configs/gavel_models.ini); a Gavel-style continuous-single
# workload (docs/heterogeneous/gavel_trace.py: 6,000 one-GPU jobs, Poisson arrivals,
# Gavel's job types and duration distribution) at 4, 5 and 6 jobs/h, seeds 0, 1, 2; jobs
# 4000-4999 measured, as Gavel does. LAS and FIFO, GPU-proportional (Gavel models no
# CPUs), --hetero aware against agnostic: 36 runs. Output: OUT_DIR/runs.tsv (one line a
# run), OUT_DIR/table.md, OUT_DIR/jct_vs_load.png (gnuplot). Traces go to a temporary
# directory.
set -euo pipefail
bin=${1:-build/synergy}
out=${2:-docs/heterogeneous}
loads=${LOADS:-"4 5 6"}
seeds=${SEEDS:-"0 1 2"}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
printf 'load\tseed\tpolicy\thetero\tavg_jct_h\tp99_jct_h\tmakespan_h\tV100_jobs\tP100_jobs\tK80_jobs\tV100_gpu_pct\tP100_gpu_pct\tK80_gpu_pct\n' > "$out/runs.tsv"
for l in $loads; do
  for s in $seeds; do
    python3 docs/heterogeneous/gavel_trace.py configs/gavel_models.ini "$l" "$s" 6000 > "$tmp/t"
    for p in LAS FIFO; do
      for h in aware agnostic; do
        j=$("$bin" simulate --cluster configs/gavel_108.ini --models configs/gavel_models.ini \
              --trace "$tmp/t" --measure 4000:5000 --policy "$p" --mode fair --hetero "$h" --json)
        row="$l"$'\t'"$s"$'\t'"$p"$'\t'"$h"
        for k in avg_jct_h p99_jct_h makespan_h; do row+=$'\t'$(field "$k" <<<"$j"); done
        for k in jobs gpu_alloc_pct; do
          for t in V100 P100 K80; do
            row+=$'\t'$(grep -o "\"$t\":{[^}]*}" <<<"$j" | field "$k")
          done
        done
        printf '%s\n' "$row" >> "$out/runs.tsv"
        echo "load $l seed $s $p $h: $(field avg_jct_h <<<"$j") h" >&2
      done
    done
  done
done

# mean and min..max over seeds, per load, policy and placement
awk -F'\t' 'NR > 1 { k = $1 SUBSEP $3 SUBSEP $4; n[k]++; s[k] += $5
    if (!(k in lo) || $5 < lo[k]) lo[k] = $5; if (!(k in hi) || $5 > hi[k]) hi[k] = $5
    v[k] += $8; pp[k] += $9; kk[k] += $10 }
  END { for (k in n) { split(k, a, SUBSEP)
      printf "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.0f\t%.0f\t%.0f\n", a[1], a[2], a[3], s[k] / n[k],
        lo[k], hi[k], v[k] / n[k], pp[k] / n[k], kk[k] / n[k] } }' "$out/runs.tsv" |
  sort -k2,2 -k1,1n -k3,3 > "$tmp/mean"
{
  echo "| policy | jobs/h | avg JCT h, aware (min-max) | agnostic (min-max) | agnostic / aware | measured jobs on V100 / P100 / K80, aware | agnostic |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' '{ k = $2 SUBSEP $1; m[k, $3] = $4; r[k, $3] = sprintf("%.2f (%.2f-%.2f)", $4, $5, $6)
      j[k, $3] = $7 " / " $8 " / " $9; keys[k] = 1 }
    END { for (k in keys) { split(k, a, SUBSEP)
        printf "%s\t%s\t| %s | %s | %s | %s | %.2fx | %s | %s |\n", a[1], a[2], a[1], a[2],
          r[k, "aware"], r[k, "agnostic"], m[k, "agnostic"] / m[k, "aware"], j[k, "aware"],
          j[k, "agnostic"] } }' "$tmp/mean" | sort -k1,1r -k2,2n | cut -f3
} > "$out/table.md"
cat "$out/table.md"

if command -v gnuplot > /dev/null; then
  for p in LAS FIFO; do
    for h in aware agnostic; do
      awk -F'\t' -v p="$p" -v h="$h" '$2 == p && $3 == h { print $1, $4, $5, $6 }' "$tmp/mean" |
        sort -n > "$tmp/$p-$h.dat"
    done
  done
  gnuplot <<GP
set terminal pngcairo size 800,480 font ",11"
set output "$out/jct_vs_load.png"
set title "Gavel's 36 V100 / 36 P100 / 36 K80 cluster, continuous-single, jobs 4000-4999, seeds 0-2"
set xlabel "input job rate (jobs/h)"
set ylabel "average JCT (h), mean and min-max over seeds"
set key top left
set xrange [3.5:6.5]
set yrange [0:*]
plot "$tmp/LAS-aware.dat" using 1:2:3:4 with yerrorlines lw 2 lc rgb "#1f77b4" title "LAS aware", \
     "$tmp/LAS-agnostic.dat" using 1:2:3:4 with yerrorlines lw 2 dt 2 lc rgb "#1f77b4" title "LAS agnostic", \
     "$tmp/FIFO-aware.dat" using 1:2:3:4 with yerrorlines lw 2 lc rgb "#d62728" title "FIFO aware", \
     "$tmp/FIFO-agnostic.dat" using 1:2:3:4 with yerrorlines lw 2 dt 2 lc rgb "#d62728" title "FIFO agnostic"
GP
fi
