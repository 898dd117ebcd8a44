/*
 * simulator: drives the scheduling core with simulated time. A binary heap of
 * events keyed on (time, type, insertion seq) - arrivals before lease ends
 * before scheduling rounds at the same instant, like the reference - plus
 * per-round progress from the model profiles, the reference's termination
 * rules, and the run's metrics.
 */
#ifndef SYNERGY_SIM_H
#define SYNERGY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"
#include "trace.h"

/* ------------------------------------------------------------ event heap */

enum sim_event_type { EV_ARRIVAL = 1, EV_LEASE_END = 3, EV_SCHEDULE = 4 };

struct sim_event {
    double time;
    int type;
    uint64_t seq;
    void *data;
};

struct sim_heap {
    struct sim_event *ev;
    size_t n, cap;
    uint64_t next_seq;
};

void sim_heap_push(struct sim_heap *h, double time, int type, void *data);
/* Pop the earliest event into *out. Returns false when empty. */
bool sim_heap_pop(struct sim_heap *h, struct sim_event *out);
void sim_heap_free(struct sim_heap *h);

/* -------------------------------------------------------------- the run */

/* Where jobs come from: a trace read in full, or the synthetic generator. */
struct sim_workload {
    const struct job_spec *jobs; /* replay: all jobs, in trace order */
    size_t n_jobs;
    synth_t *synth;              /* synthetic: jobs made one at a time */
};

/* One scheduling round as the results store records it: what the round did
 * and the cluster's allocation, true utilization and demand, each as a
 * fraction of the cluster's GPUs, CPUs and memory ([0] [1] [2]). Utilization
 * is the allocation minus the part above each running job's demand
 * (reference metrics/cluster_util.py); demand sums every runnable job's
 * ideal (GPUs, CPUs, memory) and can exceed 1. */
struct sim_round_sample {
    double now;
    size_t runnable, placed;
    size_t started;   /* placed for the first time this round */
    size_t preempted; /* ran last round, not this one */
    size_t demoted;   /* placed below their ideal CPU/memory */
    double alloc[3], util[3], demand[3];
};

/* Observer hooks (all optional), e.g. for a results store or a recorder. */
struct sim_observer {
    void *ctx;
    /* a job arrived (its spec exactly as simulated) */
    void (*on_arrival)(void *ctx, const struct job_spec *spec);
    /* after each round's placement, with the cluster's allocated fractions */
    void (*on_round)(void *ctx, double now, size_t runnable, size_t placed,
                     const double alloc[3], const double demand[3]);
    /* after each round, the same round in more detail (borrowed pointer) */
    void (*on_sample)(void *ctx, const struct sim_round_sample *s);
    /* a job finished */
    void (*on_finish)(void *ctx, const struct job *j, bool measured);
    /* the jobs placed by a round, in placement order (the plan log) */
    void (*on_plan)(void *ctx, double now, struct job *const *placed, size_t n);
};

struct sim_config {
    struct sched_params sched;
    const model_zoo_t *zoo;
    bool is_static;    /* --static: first round at t=1, stop when nothing is runnable */
    bool stop_on_gap;  /* reference: a replay stops at the first round with nothing
                          runnable, even if jobs are still to arrive */
    long measure_lo, measure_hi; /* measured ids [lo, hi); hi <= lo: all */
    bool check_invariants;       /* verify capacities after every round */
    struct sim_observer obs;
};

struct sim_job_result {
    int id;
    char model[32];
    int gpus;
    double arrival, first_start, finish, jct;
    double attained;
    int rounds_run, rounds_demoted, preemptions;
};

struct sim_result {
    size_t jobs_arrived;
    size_t jobs_finished;
    size_t jobs_measured;     /* measured jobs that finished */
    size_t window_size;       /* ids in the measured window */
    double avg_jct_s, p50_jct_s, p99_jct_s, p999_jct_s, max_jct_s;
    double makespan_s;        /* last finish among measured jobs, from t=0 */
    double end_time_s;        /* time the simulation stopped */
    size_t rounds;
    double mean_gpu_alloc, mean_cpu_alloc, mean_mem_alloc; /* per round, 0..1 */
    bool window_complete;
    struct sched_opt_stats opt;  /* OPT solver figures (zero for other modes) */
    struct sim_job_result *jobs; /* measured finished jobs, by id */
};

/* Run a simulation. 0, or -1 with err (a job that cannot be built for this
 * cluster, a failed invariant). Fills *res; free with sim_result_free(). */
int sim_run(const struct sim_config *cfg, const struct sim_workload *w, struct sim_result *res,
            struct err *err);
void sim_result_free(struct sim_result *res);

/* Record a finished job's result row. */
void sim_job_result_fill(struct sim_job_result *o, const struct job *j, double finish);

/* Fill the summary of res from its jobs[0..jobs_measured) (sorting them by
 * id) and the per-round allocation sums; used by every driver so that
 * `simulate` and `deploy` report the same statistics the same way. */
void sim_result_summarize(struct sim_result *res, const double util_sum[3]);

/* Linear-interpolated quantile at (n-1)q of sorted values (pandas/numpy). */
double sim_quantile(const double *sorted, size_t n, double q);

#endif
