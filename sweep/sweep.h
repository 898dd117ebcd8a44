/*
 * sweep: the grid of a `synergy sweep` (policies x modes x loads x class
 * splits x clusters), filled from an INI experiment file and then from the
 * command line, which wins; its points in a fixed order, shards and
 * fingerprint; one run simulated into the results database (run.c), and the
 * pool of forked workers that runs a grid's points (pool.c). `synergy sweep`
 * and `synergy simulate --db` use them.
 */
#ifndef SYNERGY_SWEEP_H
#define SYNERGY_SWEEP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "scheduler.h"
#include "workload.h"

#define SWEEP_MAX 32 /* values per axis */
#define SWEEP_MAX_POINTS 1000000 /* points per grid (sweep_grid_check) */

struct sweep_grid {
    char policies[SWEEP_MAX][16];
    int n_policies;
    char modes[SWEEP_MAX][16];
    int n_modes;
    double loads[SWEEP_MAX]; /* jobs per hour; none: the cluster file's */
    int n_loads;
    int splits[SWEEP_MAX][3];  /* none: the cluster file's */
    int n_splits;
    char clusters[SWEEP_MAX][1024];
    int n_clusters;
    char trace[1024];          /* simulate this trace instead of synthetic jobs */
    /* the workload loader's options for the trace (workload.h) */
    char trace_format[16];     /* "": detected from the content */
    char arrival[128];         /* --arrival spec; exclusive with loads */
    char vc[64];               /* pollux: one virtual cluster */
    bool multigpu, philly_arrival, per_attempt, no_duration_filter, strict;
    bool opt_compat;           /* opt: the reference's cluster-wide formulation */
    double opt_time_limit;     /* opt: solver seconds per round; 0: the default */
    char models[1024];         /* more profile files or dirs, comma-separated ("" none) */
    char profiles_dir[1024];   /* a profile store, read after them ("" none) */
    bool unknown_reference;    /* unknown trace models run as alexnet */
    char profiles[32];
    char placement[16];
    char heteros[2][16];       /* the hetero axis: aware and/or agnostic (none: the
                                  cluster file's) */
    int n_heteros;
    long seeds[SWEEP_MAX];     /* the seed axis; none: the cluster file's seed */
    int n_seeds;
    int shard_k, shard_n;      /* run only points i with i % n == k - 1; 0/0: all */
    long measure_lo, measure_hi;
    long max_jobs;
    bool is_static;            /* replay: all jobs at t=0, first round at t=1 */
    bool stop_on_gap;          /* replay: stop at the first idle round */
    double round_duration;     /* seconds per round; 0: the cluster file's */
    bool check;                /* verify no server is oversubscribed after every round */
    int workers;               /* 0: one per core */
    char db[1024];
    char plot[1024];
};

/* Defaults: FIFO, fair and tune, the shipped default cluster. */
void sweep_grid_defaults(struct sweep_grid *g, const char *default_cluster,
                         const char *default_models);

/* Set one grid key ("policies", "modes", "loads", "splits", "clusters",
 * "trace", "trace_format", "arrival", "vc", "multigpu", "philly_arrival",
 * "per_attempt", "no_duration_filter", "strict", "opt_compat",
 * "opt_time_limit", "models" (appends), "profiles_dir", "unknown_model", "profiles",
 * "placement", "hetero" (aware,agnostic), "seed"/"seeds", "shard" (K/N), "measure",
 * "max_jobs", "static", "stop_on_gap", "round_duration", "check", "workers", "db",
 * "plot") from its text. Lists are comma-separated; splits
 * are "I,L,S" groups separated by ';'. 0, or -1 with err naming the key. */
int sweep_grid_set(struct sweep_grid *g, const char *key, const char *value, struct err *err);

/* Read an experiment file: keys of sweep_grid_set under [sweep]. 0, or -1
 * with err "file:line: ...". */
int sweep_grid_load(struct sweep_grid *g, const char *path, struct err *err);

/* Check that the grid's keys fit together (trace options without a trace,
 * loads with an arrival process, opt options without opt, the placement)
 * and that it has at most SWEEP_MAX_POINTS points.
 * 0, or -1 with err naming the keys. */
int sweep_grid_check(const struct sweep_grid *g, struct err *err);

/* The grid's points in their fixed order: cluster, split, load (heaviest
 * first), seed, policy, mode, hetero (when the grid has that axis). Every shard and every machine numbers them the
 * same way, which is what lets shards be merged. */
struct sweep_point {
    int cluster, split, load, seed, policy, mode; /* indexes into the grid's axes */
    int hetero;                                   /* 0 without a hetero axis */
    long index; /* the point's number in the whole grid */
};

/* All points of the grid (caller frees) and their number. */
struct sweep_point *sweep_grid_points(const struct sweep_grid *g, size_t *n);

/* Whether point number i belongs to the grid's shard (always without one). */
bool sweep_grid_in_shard(const struct sweep_grid *g, size_t i);

/* A fingerprint of what the grid computes (axes, workload, cluster and model
 * files with their contents, measurement), not of how it is run (shard,
 * workers, db, plot): 16 hex digits into out[17]. Shards of one grid share it;
 * `report --merge` refuses to mix fingerprints. */
void sweep_grid_fingerprint(const struct sweep_grid *g, char out[17]);

/* ------------------------------------------------ running a point (run.c) */

/* A cluster of the grid: its config and model zoo, loaded once. */
struct sweep_cluster {
    struct synergy_config conf;
    model_zoo_t *zoo;
};

/* The grid's model files as the loader's options (they borrow buf, which
 * must be as large as g->models). */
void sweep_model_opts(const struct sweep_grid *g, struct wl_opts *o, char *buf);

/* The loader's options for point p's trace: the grid's trace options, the
 * point's seed and split, and at a load L a Poisson re-timing at L jobs/h.
 * arrival_buf holds the spec (the options borrow it). */
void sweep_point_wl_opts(const struct sweep_grid *g, const struct sweep_cluster *env,
                         const struct sweep_point *p, struct wl_opts *o, char *arrival_buf,
                         size_t n);


/* What a point's run comes to: what a pool worker tells the parent. */
struct sweep_point_msg {
    int ok;
    int64_t run_id; /* the run's row (0 if it never got one) */
    double avg_jct_s, wall_s;
    char err[512];
};

/* Simulate point p of grid g on its cluster env and record the run in g->db,
 * in batch `batch` of grid `grid_id` (sweep_grid_fingerprint); models_desc
 * names the model files for the run's row. 0, or -1 with err (a run row
 * already inserted is left 'running' or abandoned, never half-written). */
int sweep_point_run(const struct sweep_grid *g, const struct sweep_cluster *env,
                    const struct sweep_point *p, int64_t batch, const char *grid_id,
                    const char *models_desc, struct sweep_point_msg *out, struct err *err);

struct store;
struct store_run;
struct sim_config;
struct sim_workload;

/* One simulation, timed, recorded into the results database st unless st is
 * NULL: `run` (described by the caller, e.g. with results_run_describe) is
 * inserted as 'running' first, so a run that dies stays visible as
 * incomplete; then the simulation; then the run's summary, jobs and rounds in
 * one transaction, or the row marked abandoned if the simulation failed. The
 * rounds are collected through cfg->obs.on_sample; the caller's own observers
 * in cfg->obs still see every event. The one way `simulate --db` and every
 * sweep point record a run. 0 with *res (caller frees: sched_result_free)
 * and *wall_s, or -1 with err and nothing to free. */
int sweep_run_one(struct store *st, struct store_run *run, const struct sim_config *cfg,
                  const struct sim_workload *w, struct sched_result *res, double *wall_s,
                  struct err *err);

/* ------------------------------------------ the pool of workers (pool.c) */

/* n tasks run in forked children, at most `workers` at a time. */
struct sweep_pool {
    size_t n;
    int workers;
    /* in the child: run task i and fill *m (m->ok: it succeeded) */
    void (*run)(void *ctx, size_t i, struct sweep_point_msg *m);
    /* in the parent, as each task ends, in the order they end; not for the
     * tasks killed after a stop */
    void (*done)(void *ctx, size_t i, const struct sweep_point_msg *m);
    void *ctx;
    /* set by the caller's SIGINT/SIGTERM handler (installed without
     * SA_RESTART, so that waiting is interrupted): no task starts any more,
     * and the ones in flight get SIGTERM */
    volatile sig_atomic_t *stop;
};

/* Run every task of p. Children die with the parent (PR_SET_PDEATHSIG) and
 * take SIGINT and SIGTERM at their defaults. Returns the number of tasks
 * that failed; or -1 with err when stopped: "interrupted" by *p->stop, or a
 * failed pipe, fork or waitpid, which then sets *p->stop to SIGTERM. */
long sweep_pool_run(const struct sweep_pool *p, struct err *err);

#endif
