/*
 * results: the glue between a simulation and the results store. Collects a
 * run's round samples through the simulator's observer hook, describes its
 * configuration as a store_run, and writes its summary and jobs once it ends.
 * Used by `simulate --db` and by `sweep`'s workers.
 */
#ifndef SYNERGY_RESULTS_H
#define SYNERGY_RESULTS_H

#include "sim.h"
#include "store.h"

/* Round samples collected during one run. */
struct results_rounds {
    struct store_round *r;
    size_t n, cap;
};

/* sim_observer.on_sample hook; ctx is a struct results_rounds. */
void results_rounds_add(void *ctx, const struct sched_round_sample *s);
void results_rounds_free(struct results_rounds *rr);

/* What was run, for store_run_insert. trace_path NULL means synthetic (synth
 * then describes it). Reads cluster_path's text into run->cluster_ini. */
void results_run_describe(struct store_run *run, const struct sim_config *cfg,
                          const char *trace_path, const struct synth_params *synth,
                          const char *cluster_path, const char *models_path, const char *profiles,
                          const char *placement);

/* Copy res's summary into run and write run complete with its jobs and rounds.
 * 0 or -1 with err. */
int results_run_complete(store_t *st, struct store_run *run, const struct sched_result *res,
                         const struct results_rounds *rr, double wall_s, struct err *err);

/* --jobs-csv: the header line, and one line per measured job of res. */
#define RESULTS_JOBS_CSV_COLUMNS                                                                  \
    "policy,mode,id,model,gpus,arrival_s,first_start_s,finish_s,jct_s"
#define RESULTS_JOBS_CSV_HEADER RESULTS_JOBS_CSV_COLUMNS "\n"
/* simulate --jobs-csv-reasons: after jct_s, the rounds the job spent for
 * each reason (sched_job_waits, docs/forecast.md), None left out */
#define RESULTS_JOBS_CSV_WAITS ",starting,quota,held,gputype,cpu,memory,fragmentation,resources,priority"
void results_jobs_csv_write(FILE *f, const struct sched_result *res, const char *policy,
                            const char *mode);
/* The same with the rounds per reason after jct_s (RESULTS_JOBS_CSV_WAITS). */
void results_jobs_csv_write_waits(FILE *f, const struct sched_result *res, const char *policy,
                                  const char *mode, bool waits);
/* sweep --jobs-csv: the same lines for the measured jobs of recorded runs,
 * read back from the store, written to path atomically (a temporary renamed
 * into place; nothing is left on failure). 0, or -1 with err. */
int results_jobs_csv_from_store(store_t *st, const struct store_run *runs, size_t n,
                                const char *path, struct err *err);

/* The JSON summary of one run (simulate --json, deploy --json): one object on
 * one line. `extra` (may be NULL) is appended as further members, e.g.
 * "\"deploy\":{...}". */
struct results_json {
    const char *policy, *mode, *placement, *workload, *cluster;
    unsigned long seed;
    int gpus;
    bool opt_compat;
    double wall_s;
    const char *hetero; /* typed clusters: aware | agnostic */
};
void results_json_write(FILE *f, const struct results_json *j, const struct sched_result *r,
                        const char *extra);
/* The members "tenants":[...],"jain_tenants":J, (a trailing comma), for runs
 * with tenants (docs/tenants.md). */
void results_json_tenants(FILE *f, const struct sched_tenant_result *t, int n, double jain);
/* The members a run's JSON starts with, from "policy" to "window_complete"
 * and a comma: the same keys in simulate --json and report --format json. */
void results_json_head(FILE *f, const struct results_json *j, long arrived, long finished,
                       long measured, bool window_complete);
/* A typed run's "hetero":"...","by_gpu_type":{...} members, as simulate
 * --json prints them (no comma around them). */
void results_json_types(FILE *f, const char *hetero, const struct store_type *types, int n);

#endif
