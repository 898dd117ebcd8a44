/*
 * report: tables over recorded runs. A JCT table in the style of serving
 * benchmarks (NUM MED MEAN P99 P99.5 P99.9, hours) with makespan and
 * utilization; per-model and per-GPU-count breakdowns; each run against a
 * baseline as ratios ("avg JCT 1.14x better than GPU-proportional"). Text,
 * CSV or JSON. Also the telemetry export (job log and round log as TSV).
 */
#ifndef SYNERGY_REPORT_H
#define SYNERGY_REPORT_H

#include <stdio.h>

#include "store.h"

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON };

struct report_opts {
    enum report_format format;
    int64_t baseline;   /* > 0: compare every run with this run; 0: with the same
                           run in fair (GPU-proportional) mode, when there is one */
    bool breakdowns;    /* per-model and per-GPU-count tables (text, JSON) */
};

/* A short label for runs[i] naming what differs among runs[0..n):
 * "FIFO/tune 4/h", "SRTF/fair 20/70/10 cluster_4". Writes into buf. */
void report_run_label(const struct store_run *runs, size_t n, size_t i, char *buf, size_t len);

/* Index of runs[i]'s baseline in runs, or -1 (see report_opts.baseline). */
long report_baseline_of(const struct store_run *runs, size_t n, size_t i, int64_t baseline);

/* Print the report for runs to out. 0, or -1 with err (reading the store). */
int report_print(FILE *out, store_t *st, const struct store_run *runs, size_t n,
                 const struct report_opts *o, struct err *err);

/* Write DIR/run<ID>_jobs.tsv and DIR/run<ID>_rounds.tsv for each run.
 * 0 or -1 with err. */
int report_telemetry(store_t *st, const struct store_run *runs, size_t n, const char *dir,
                     struct err *err);

/* mkdir -p. 0 or -1 with err. */
int report_mkdirs(const char *dir, struct err *err);

#endif
