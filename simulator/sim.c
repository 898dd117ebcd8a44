/*
 * The simulation loop (spec §4). Events: ARRIVAL adds a job to the runnable
 * list (and, for synthetic workloads, generates the next job); SCHEDULE plans a
 * round from an empty cluster, and the round ledger credits each placed job the
 * whole round's progress up front; LEASE_END one round later frees the job and
 * finishes it if its iterations are done. Completion is therefore always at a
 * round boundary. This file owns only the event heap, the simulated clock and
 * the termination rules; the bookkeeping is the ledger's (scheduler.h).
 *
 * A replay trace's cancels (job_spec.cancelled, a recorded service run) are
 * events too: the job leaves the run then, as the deployment cancelled it.
 *
 * Termination follows the reference: a run stops the moment every job of the
 * measured id window has finished; a static or replay run also stops at a
 * round that finds nothing runnable. Unlike the reference, a replay run with a
 * gap (nothing runnable, jobs still to arrive) goes on to the next arrival,
 * unless cfg->stop_on_gap asks for the reference's behaviour.
 */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The lease ends of one round: all at the same instant, of the same type and
 * pushed one after another, so in the heap's (time, type, seq) order they
 * would pop as one unbroken block in placement order. One event carries them
 * all: a heap operation per round instead of two per placed job. */
struct lease_batch {
    size_t n, cap;
    struct job *jobs[];
};

struct run {
    const struct sim_config *cfg;
    const struct sim_workload *w;
    sched_run_t *ledger;
    struct sim_heap heap;
    size_t pending_arrivals;
    bool synth_done;
    struct lease_batch *spare; /* a processed batch, kept for reuse */
    struct job **by_spec;      /* replay: the job of w->jobs[i], once it arrived */
};

static struct lease_batch *batch_new(struct run *r, struct job *const *jobs, size_t n)
{
    struct lease_batch *b = r->spare;
    if (!b || b->cap < n) {
        free(b);
        b = xmalloc(sizeof *b + n * sizeof *b->jobs);
        b->cap = n;
    }
    r->spare = NULL;
    b->n = n;
    memcpy(b->jobs, jobs, n * sizeof *jobs);
    return b;
}

static void batch_done(struct run *r, struct lease_batch *b)
{
    if (!r->spare) {
        r->spare = b;
    } else {
        free(b);
    }
}

static int arrive(struct run *r, const struct job_spec *spec, double now, struct err *err)
{
    struct job *j = sched_run_arrive(r->ledger, spec, err);
    if (!j)
        return -1;
    if (r->by_spec)
        r->by_spec[spec - r->w->jobs] = j;
    if (r->cfg->obs.on_arrival)
        r->cfg->obs.on_arrival(r->cfg->obs.ctx, spec);
    if (r->w->synth && !r->synth_done) {
        struct job_spec *next = xmalloc(sizeof *next);
        if (synth_next(r->w->synth, now, next) == 0) {
            sim_heap_push(&r->heap, next->arrival, EV_ARRIVAL, next);
            r->pending_arrivals++;
        } else {
            free(next);
            r->synth_done = true;
        }
    }
    return 0;
}

/* Returns true when the measured window is complete. */
static bool lease_end(struct run *r, struct job *j, double now)
{
    if (!sched_run_lease_end(r->ledger, j, now))
        return false;
    bool done = sched_run_finish(r->ledger, j, now);
    if (r->cfg->obs.on_finish)
        r->cfg->obs.on_finish(r->cfg->obs.ctx, j, sched_run_measured(r->ledger, j->id));
    return done;
}

/* A replayed cancel. Returns true when the measured window is complete. */
static bool cancel(struct run *r, const struct job_spec *spec, double now)
{
    struct job *j = r->by_spec[spec - r->w->jobs];
    bool complete = false;
    if (j && sched_run_cancel(r->ledger, j, &complete) && r->cfg->obs.on_cancel)
        r->cfg->obs.on_cancel(r->cfg->obs.ctx, j, now);
    return complete;
}

static int schedule(struct run *r, double now, struct err *err)
{
    const struct sim_observer *obs = &r->cfg->obs;
    struct job **placed;
    size_t n_placed;
    struct sched_round_sample smp;
    bool sample = obs->on_round || obs->on_sample;
    if (sched_run_plan(r->ledger, now, &placed, &n_placed, sample ? &smp : NULL, err) < 0)
        return -1;
    if (n_placed > 0) {
        struct lease_batch *b = batch_new(r, placed, n_placed);
        sim_heap_push(&r->heap, now + r->cfg->sched.round_duration, EV_LEASE_END, b);
    }
    if (obs->on_plan)
        obs->on_plan(obs->ctx, now, placed, n_placed);
    int nt = sched_tenants_count(sched_run_sched(r->ledger));
    if (obs->on_tenants && nt > 0) {
        struct sched_tenant_status *st = xmalloc(sizeof *st * (size_t)nt);
        for (int i = 0; i < nt; i++)
            sched_tenant_status(sched_run_sched(r->ledger), i, &st[i]);
        obs->on_tenants(obs->ctx, now, st, nt);
        free(st);
    }
    if (obs->on_round)
        obs->on_round(obs->ctx, now, smp.runnable, n_placed, smp.alloc, smp.demand);
    if (obs->on_sample)
        obs->on_sample(obs->ctx, &smp);
    return 0;
}

/* The synthetic workload with nothing runnable (so nothing running) until
 * the next arrival at `arrival`: the rounds at next, next + round, ... before
 * it would each plan nothing. Count them as rounds with nothing allocated,
 * as simulating them one by one would (the mean allocation is over rounds),
 * and return the first boundary at or after the arrival. A slow arrival
 * process (poisson:1e-9) has 1e11 of them. The boundaries are the sums of
 * round_duration the loop makes, so the plans' times are bit for bit the
 * same; beyond a million idle rounds they are taken in one step. */
static double skip_idle_rounds(struct run *r, double next, double arrival)
{
    const struct sim_observer *obs = &r->cfg->obs;
    double round = r->cfg->sched.round_duration;
    struct sched_run_totals t;
    sched_run_totals_get(r->ledger, &t);
    double k = floor((arrival - next) / round);
    if (k > 1e6) {
        next += (k - 1) * round;
        t.rounds += (size_t)(k - 1);
    }
    /* the observers see each idle round as its plan would have shown it
     * (nothing runnable, placed or allocated), so a --db run keeps one row
     * per counted round; only the rounds of a step over a million are not
     * shown */
    struct sched_round_sample smp = {.n_types = sched_num_gpu_types(sched_run_sched(r->ledger))};
    while (next < arrival) {
        smp.now = next;
        if (obs->on_plan)
            obs->on_plan(obs->ctx, next, NULL, 0);
        if (obs->on_round)
            obs->on_round(obs->ctx, next, 0, 0, smp.alloc, smp.demand);
        if (obs->on_sample)
            obs->on_sample(obs->ctx, &smp);
        next += round;
        t.rounds++;
    }
    sched_run_totals_set(r->ledger, &t);
    return next;
}

int sim_run(const struct sim_config *cfg, const struct sim_workload *w, struct sched_result *res,
            struct err *err)
{
    memset(res, 0, sizeof *res);
    struct run r = {.cfg = cfg, .w = w};
    int rc = -1;
    double round = cfg->sched.round_duration;
    bool replay = w->synth == NULL;

    if (!replay && cfg->is_static)
        return errprintf(err, "--static needs a trace: a static synthetic workload is empty "
                              "(the reference ignores arrival=0 for synthetic jobs)");
    if (replay && w->n_jobs == 0)
        return errprintf(err, "the trace has no jobs");
    struct sched_run_params rp = {
        .sched = cfg->sched,
        .zoo = cfg->zoo,
        .trace = replay ? w->jobs : NULL,
        .n_trace = replay ? w->n_jobs : 0,
        .measure_lo = cfg->measure_lo,
        .measure_hi = cfg->measure_hi,
        .check_invariants = cfg->check_invariants,
        .log_tag = "sim",
    };
    r.ledger = sched_run_create(&rp, err);
    if (!r.ledger)
        return -1;

    if (replay) {
        r.by_spec = xcalloc(w->n_jobs, sizeof *r.by_spec);
        for (size_t i = 0; i < w->n_jobs; i++) {
            sim_heap_push(&r.heap, w->jobs[i].arrival, EV_ARRIVAL, (void *)&w->jobs[i]);
            if (w->jobs[i].cancelled)
                sim_heap_push(&r.heap, w->jobs[i].cancel_at, EV_CANCEL, (void *)&w->jobs[i]);
        }
        r.pending_arrivals = w->n_jobs;
        double first = cfg->is_static ? 1 : ceil(w->jobs[0].arrival / round) * round;
        sim_heap_push(&r.heap, first, EV_SCHEDULE, NULL);
    } else {
        struct job_spec *first = xmalloc(sizeof *first);
        if (synth_next(w->synth, 0, first) < 0) {
            free(first);
            errprintf(err, "the synthetic workload generated no jobs");
            goto out;
        }
        sim_heap_push(&r.heap, first->arrival, EV_ARRIVAL, first);
        r.pending_arrivals = 1;
        sim_heap_push(&r.heap, 0, EV_SCHEDULE, NULL);
    }

    sched_t *sched = sched_run_sched(r.ledger);
    struct sim_event ev;
    double now = 0;
    bool done = sched_run_window_size(r.ledger) == 0;
    while (!done && sim_heap_pop(&r.heap, &ev)) {
        now = ev.time;
        switch (ev.type) {
        case EV_ARRIVAL: {
            r.pending_arrivals--;
            struct job_spec *spec = ev.data;
            int a = arrive(&r, spec, now, err);
            if (!replay)
                free(spec);
            if (a < 0)
                goto out;
            break;
        }
        case EV_LEASE_END: {
            struct lease_batch *b = ev.data;
            for (size_t i = 0; i < b->n && !done; i++)
                done = lease_end(&r, b->jobs[i], now);
            batch_done(&r, b);
            break;
        }
        case EV_CANCEL:
            done = cancel(&r, ev.data, now);
            break;
        case EV_SCHEDULE:
            if (schedule(&r, now, err) < 0)
                goto out;
            if (sched_runnable_count(sched) == 0) {
                if ((replay || cfg->is_static) &&
                    (cfg->stop_on_gap || cfg->is_static || r.pending_arrivals == 0)) {
                    done = true;
                    break;
                }
                if (!replay && r.pending_arrivals == 0) {
                    done = true; /* generator exhausted before the window filled */
                    break;
                }
            }
            double next = now + round;
            if (replay && sched_runnable_count(sched) == 0 && r.heap.n > 0 &&
                r.heap.ev[0].time > next) {
                /* a gap in the trace: jump to the round boundary of the next
                 * arrival instead of simulating idle rounds one by one */
                next = now + ceil((r.heap.ev[0].time - now) / round) * round;
            } else if (!replay && sched_runnable_count(sched) == 0 && r.heap.n > 0 &&
                       r.heap.ev[0].type == EV_ARRIVAL && r.heap.ev[0].time > next) {
                next = skip_idle_rounds(&r, next, r.heap.ev[0].time);
            }
            sim_heap_push(&r.heap, next, EV_SCHEDULE, NULL);
            break;
        }
    }

    sched_run_result(r.ledger, now, res);
    rc = 0;
out:
    /* free what is left in the heap (synthetic specs we own) */
    while (sim_heap_pop(&r.heap, &ev))
        if ((ev.type == EV_ARRIVAL && !replay) || ev.type == EV_LEASE_END)
            free(ev.data);
    sim_heap_free(&r.heap);
    free(r.spare);
    free(r.by_spec);
    sched_run_destroy(r.ledger);
    return rc;
}
