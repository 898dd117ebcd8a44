/*
 * simulator: drives the scheduling core's round ledger with simulated time. A
 * binary heap of events keyed on (time, type, insertion seq) - arrivals before
 * lease ends before scheduling rounds at the same instant, like the reference -
 * and the reference's termination rules. What a round does to a job (progress,
 * preemptions, results) is the ledger's (scheduler.h), shared with deploy.
 */
#ifndef SYNERGY_SIM_H
#define SYNERGY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"
#include "trace.h"

/* ------------------------------------------------------------ event heap */

/* At one instant: arrivals, lease ends, a replayed record's cancels (after
 * the lease ends and arrivals, as the deployment applies them), the round. */
enum sim_event_type { EV_ARRIVAL = 1, EV_LEASE_END = 3, EV_CANCEL = 4, EV_SCHEDULE = 5 };

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

/* Observer hooks (all optional), e.g. for a results store or a recorder. */
struct sim_observer {
    void *ctx;
    /* a job arrived (its spec exactly as simulated) */
    void (*on_arrival)(void *ctx, const struct job_spec *spec);
    /* after each round's placement, with the cluster's allocated fractions */
    void (*on_round)(void *ctx, double now, size_t runnable, size_t placed,
                     const double alloc[3], const double demand[3]);
    /* after each round, the same round in more detail (borrowed pointer) */
    void (*on_sample)(void *ctx, const struct sched_round_sample *s);
    /* a job finished */
    void (*on_finish)(void *ctx, const struct job *j, bool measured);
    /* a replayed record's cancel took a job out of the run at `now` */
    void (*on_cancel)(void *ctx, const struct job *j, double now);
    /* the jobs placed by a round, in placement order (the plan log) */
    void (*on_plan)(void *ctx, double now, struct job *const *placed, size_t n);
    /* with tenants, after each round: every tenant's state (borrowed array) */
    void (*on_tenants)(void *ctx, double now, const struct sched_tenant_status *t, int n);
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

/* Run a simulation. 0, or -1 with err (a job that cannot be built for this
 * cluster, a failed invariant). Fills *res (the round ledger's results); free
 * with sched_result_free(). */
int sim_run(const struct sim_config *cfg, const struct sim_workload *w, struct sched_result *res,
            struct err *err);

#endif
