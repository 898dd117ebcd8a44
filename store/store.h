/*
 * store: the results database. Every simulated run is one row of `runs` (its
 * full configuration, seed, program version, status and summary), its
 * measured jobs are rows of `jobs` and its scheduling rounds rows of `rounds`.
 * SQLite in WAL mode with a busy timeout, so several processes (a sweep's
 * workers, two `simulate --db` at once) can write the same file. This is the
 * only code that includes sqlite3.h; the schema is in docs/results-schema.md.
 *
 * A run is written in two transactions: store_run_insert() commits the row as
 * 'running', store_run_complete() writes jobs, rounds and summary and flips it
 * to 'complete' in one transaction. A process that dies in between leaves a
 * 'running' row and nothing else; store_open() marks such rows 'incomplete'
 * once the process that owned them (pid on this host) is gone.
 */
#ifndef SYNERGY_STORE_H
#define SYNERGY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct store store_t;

/* The schema version this build writes; older files migrate forward. */
#define STORE_SCHEMA_VERSION 7

#define STORE_MAX_TYPES 16 /* GPU types of a run (the scheduler's CLUSTER_MAX_TYPES) */
#define STORE_MAX_ROUND_TENANTS 32 /* tenants with per-round rows (SCHED_SAMPLE_TENANTS) */

/* One GPU type of a run on a cluster with GPU types (schema 5; table
 * run_types): its measured jobs and their JCTs, the mean per-round
 * allocation of its own GPUs, CPUs and memory (0..1). */
struct store_type {
    char name[16];
    int gpus;
    long jobs;
    double avg_jct_s, p50_jct_s, p99_jct_s;
    double gpu_alloc, cpu_alloc, mem_alloc;
};

/* One tenant of a run with a tenants file (schema 6; table run_tenants;
 * docs/tenants.md): its nominal GPU quota, its measured jobs and their JCTs,
 * the GPU-hours its jobs were given, the GPUs it held per round on average,
 * and the GPU-hours it was entitled to. */
struct store_tenant {
    char name[32];
    int quota;
    long jobs;
    double avg_jct_s, p50_jct_s, p99_jct_s;
    double gpu_hours, mean_gpus, entitled_hours;
};

/* A run: its configuration (set before insert) and summary (from complete). */
struct store_run {
    int64_t id;        /* assigned by store_run_insert */
    int64_t batch_id;  /* the simulate or sweep invocation it belongs to */
    char status[16];   /* running | complete | incomplete */
    /* configuration */
    char policy[16], mode[16], placement[16];
    char workload[256]; /* trace path, or "synthetic" */
    double jobs_per_hour;
    int split[3];
    uint64_t seed;
    long max_jobs;
    char cluster[256];  /* cluster INI path */
    char *cluster_ini;  /* its text (owned; may be NULL) */
    int servers, gpus_per_server, cpus_per_server, mem_per_server, gpus;
    char models[256], profiles[32];
    double round_duration;
    long measure_lo, measure_hi;
    bool is_static, stop_on_gap;
    char arrival[128];  /* the loader's --arrival spec for a trace, or "" */
    bool opt_compat;    /* opt: the reference's cluster-wide formulation */
    double opt_time_limit_s; /* opt: solver seconds per round (0: default) */
    char version[32];
    char started_at[32]; /* UTC, ISO 8601; set by store_run_insert */
    /* summary (meaningful when status is complete) */
    long jobs_arrived, jobs_finished, jobs_measured, window_size;
    bool window_complete;
    double avg_jct_s, p50_jct_s, p99_jct_s, p999_jct_s, max_jct_s, makespan_s, end_time_s;
    long rounds;
    double gpu_alloc, cpu_alloc, mem_alloc; /* mean per round, 0..1 */
    double wall_s;
    /* Synergy-OPT's counters, as `simulate --json` prints them (0 when no
     * round was planned by the solver; the means are NaN then) */
    long opt_rounds, opt_fallbacks, opt_lowered, opt_unplaced, opt_packed;
    double opt_solve_mean_s, opt_solve_max_s;
    /* rounds the wall-clock safety cap (--opt-time-limit) cut short: a run
     * with any is not reproducible (schema 4; older runs read 0) */
    long opt_capped;
    /* a sweep's run: its grid's fingerprint and its point number in the grid
     * ("" and -1 otherwise); (grid, point) identifies it across shards */
    char grid[17];
    long point;
    /* a cluster with GPU types (schema 5): --hetero ("" untyped) and its types
     * (store_run_complete writes them; store_run_types_load reads them) */
    char hetero[16];
    int n_types;
    struct store_type types[STORE_MAX_TYPES];
    /* a run with tenants (schema 6): written by store_run_complete (borrowed;
     * NULL none); read with store_run_tenants_load */
    const struct store_tenant *tenants;
    int n_tenants;
    /* read back only: its batch's kind, "simulate" | "sweep" | "deploy" (a
     * deployment: deploy --db) */
    char kind[16];
};

/* One measured job of a run. */
struct store_job {
    int id;
    char model[32];
    int gpus;
    double arrival, first_start, finish, jct, attained; /* seconds */
    int rounds_run, rounds_demoted, preemptions;
    char gpu_type[16]; /* the type it ran the most rounds on ("" untyped) */
};

/* One scheduling round of a run (fractions of the cluster, see sim.h). */
struct store_round {
    double t;
    long runnable, placed, started, preempted, demoted;
    double alloc[3], util[3], demand[3]; /* GPU, CPU, memory */
    int n_types;                          /* the run's GPU types (0: untyped) */
    double type_alloc[STORE_MAX_TYPES][3];/* each type's own GPUs, CPUs, memory */
    int n_tenants;                        /* a run with tenants (schema 7): the GPUs */
    int tenant_held[STORE_MAX_ROUND_TENANTS]; /* each tenant held (file order) */
};

/* Open (creating, migrating) the database at path. NULL with err on failure,
 * also for a file written by a newer schema. Caller closes. */
store_t *store_open(const char *path, struct err *err);
/* Close; NULL is a no-op. */
void store_close(store_t *st);

/* Start a batch (one simulate or sweep invocation). Returns its id (> 0) or
 * -1 with err. kind: "simulate" | "sweep" | "deploy"; command: the command line. */
int64_t store_batch_insert(store_t *st, const char *kind, const char *command, struct err *err);

/* Insert run's configuration as 'running' in its own transaction, owned by
 * the calling process. Sets run->id and run->started_at; returns 0 or -1. */
int store_run_insert(store_t *st, struct store_run *run, struct err *err);

/* In one transaction: write the jobs and rounds of run->id, its summary
 * fields, and flip it to 'complete'. 0, or -1 with err (nothing written). */
int store_run_complete(store_t *st, const struct store_run *run, const struct store_job *jobs,
                       size_t n_jobs, const struct store_round *rounds, size_t n_rounds,
                       struct err *err);

/* Mark a run still 'running' as 'incomplete' (interrupted). 0 or -1. */
int store_run_abandon(store_t *st, int64_t id, struct err *err);

/* Mark 'running' runs whose owning process on this host is gone as
 * 'incomplete' (store_open does this). Known limit: a recycled pid keeps its
 * run 'running' until that process exits too. 0 or -1 with err. */
int store_runs_reap(store_t *st, struct err *err);

/* Which runs store_runs_select returns. */
struct store_filter {
    int64_t batch_id;     /* > 0: that batch; 0: any; STORE_LAST_BATCH: the newest */
    const int64_t *ids;   /* if n_ids > 0: exactly these runs, in this order */
    size_t n_ids;
    bool all_statuses;    /* include running and incomplete runs */
};
#define STORE_LAST_BATCH (-1)

/* Runs matching f, in id order (or f->ids order). *out is caller-freed with
 * store_runs_free. 0 or -1 with err (an unknown id in f->ids is an error). */
int store_runs_select(store_t *st, const struct store_filter *f, struct store_run **out,
                      size_t *n, struct err *err);
void store_runs_free(struct store_run *runs, size_t n);

/* A run's jobs by id / rounds by time; caller frees *out. 0 or -1. */
int store_jobs_load(store_t *st, int64_t run_id, struct store_job **out, size_t *n,
                    struct err *err);
int store_rounds_load(store_t *st, int64_t run_id, struct store_round **out, size_t *n,
                      struct err *err);

/* What store_merge() did. */
struct store_merge_stats {
    long added;   /* complete runs copied in */
    long present; /* complete runs the destination already had (same grid and point) */
    long skipped; /* runs not complete in the source: not copied */
};

/* The sweep grid fingerprint of the database at path ("" when it holds no
 * runs). -1 with err if it holds runs of several grids or runs that are not
 * from a sweep. */
int store_sweep_grid(const char *path, char grid[17], struct err *err);

/* Copy every complete sweep run of the database at src_path (a shard) into st,
 * with its jobs and rounds, in one transaction. A run whose (grid, point)
 * st already holds is not copied again, so merging is idempotent. Refuses
 * (-1 with err) a source whose runs come from another grid than st's runs,
 * or runs that are not from a sweep. 0 and *stats on success. */
int store_merge(store_t *st, const char *src_path, struct store_merge_stats *stats,
                struct err *err);

/* A typed run's GPU types (run->types, run->n_types; none for an untyped run
 * or one written before schema 5). 0 or -1 with err. */
int store_run_types_load(store_t *st, struct store_run *run, struct err *err);
/* A run's tenants, in the tenants file's order, into *out (caller frees;
 * none for a run without tenants or written before schema 6). 0 or -1 with
 * err. */
int store_run_tenants_load(store_t *st, int64_t run_id, struct store_tenant **out, size_t *n,
                           struct err *err);
/* Each round's GPUs per tenant into rounds[0..n) (n_tenants, tenant_held;
 * none before schema 7). 0 or -1 with err. */
int store_round_tenants_load(store_t *st, int64_t run_id, struct store_round *rounds, size_t n,
                             struct err *err);
/* Each round's allocation per GPU type into rounds[0..n) (n_types and
 * type_alloc), for a run whose types were loaded. 0 or -1 with err. */
int store_round_types_load(store_t *st, const struct store_run *run, struct store_round *rounds,
                           size_t n, struct err *err);

#endif
