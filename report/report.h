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

/* `report --list`: each run's id, batch, status, policy, mode, load, split,
 * start time and cluster: a table, CSV, or one JSON object per run and line. */
void report_list(FILE *out, const struct store_run *runs, size_t n, enum report_format fmt);

/* Write DIR/run<ID>_jobs.tsv and DIR/run<ID>_rounds.tsv for each run.
 * 0 or -1 with err. */
int report_telemetry(store_t *st, const struct store_run *runs, size_t n, const char *dir,
                     struct err *err);

/* Merge the sharded sweep databases srcs[0..n) into dst_path (created if
 * missing), printing one line per shard to out. Refuses (-1 with err, nothing
 * written) shards of different grids, or of another grid than dst's runs.
 * Idempotent: runs already in dst are not copied again. 0 on success, -2
 * for bad input (nothing written), -1 for a failure while merging. */
int report_merge(const char *dst_path, const char *const *srcs, size_t n, FILE *out,
                 struct err *err);

/* Runs that differ only in their seed, and their means over the seeds with
 * the half-width of the 95% confidence interval (Student t, n-1 degrees of
 * freedom), in hours: [0] average JCT, [1] p99 JCT, [2] makespan. */
struct report_seed_group {
    char label[96];  /* the runs' label without the seed */
    size_t *runs, n; /* indexes into the runs array */
    double mean[3], half[3];
};
/* Groups of at least two runs with different seeds, in run order (caller
 * frees with report_seed_groups_free). Returns how many. */
size_t report_seed_groups(const struct store_run *runs, size_t n, struct report_seed_group **out);
void report_seed_groups_free(struct report_seed_group *g, size_t n);
/* The over-seeds table (text), objects (JSON lines) or a second CSV table
 * after a blank line; nothing when no run was repeated over seeds. */
void report_seed_print(FILE *out, const struct store_run *runs, size_t n, enum report_format fmt);
/* mean and 95% half-width of v[0..n) (half NaN for n < 2) */
void report_ci95(const double *v, size_t n, double *mean, double *half);
/* Student's t quantile 0.975 with dof degrees of freedom */
double report_t975(int dof);

/* mkdir -p. 0 or -1 with err. */
int report_mkdirs(const char *dir, struct err *err);

#endif
