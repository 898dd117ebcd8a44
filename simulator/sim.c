/*
 * The simulation loop (spec §4). Events: ARRIVAL adds a job to the runnable
 * list (and, for synthetic workloads, generates the next job); SCHEDULE plans a
 * round from an empty cluster and credits each placed job the whole round's
 * progress up front; LEASE_END one round later frees the job and finishes it if
 * its iterations are done. Completion is therefore always at a round boundary.
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

struct run {
    const struct sim_config *cfg;
    const struct sim_workload *w;
    sched_t *sched;
    struct sim_heap heap;
    struct job **all;
    size_t n_all, cap_all;
    size_t pending_arrivals;
    bool synth_done;
    long lo, hi;
    size_t window_done;
    size_t n_jct;
    struct sim_job_result *res_jobs;
    size_t cap_res;
    double util_sum[3];
    struct job **prev; /* jobs placed in the previous round */
    size_t n_prev, cap_prev;
    bool warned_unknown;
};

static bool in_window(const struct run *r, int id)
{
    return id >= r->lo && id < r->hi;
}

static int arrive(struct run *r, const struct job_spec *spec, double now, struct err *err)
{
    const struct model_profile *m = model_zoo_find(r->cfg->zoo, spec->model);
    if (!m) {
        /* reference rule (model_zoo.py): unknown names become alexnet */
        if (!r->warned_unknown)
            LOG(LOG_WARN, "sim", "job %d: unknown model '%s' runs as alexnet (reference rule)",
                spec->id, spec->model);
        r->warned_unknown = true;
        m = model_zoo_find(r->cfg->zoo, "alexnet");
    }
    struct job *j = job_create(r->sched, spec, m, (int)r->n_all, err);
    if (!j)
        return -1;
    xgrow((void **)&r->all, &r->cap_all, r->n_all + 1, sizeof *r->all);
    r->all[r->n_all++] = j;
    sched_job_add(r->sched, j);
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
static bool lease_end(struct run *r, struct job *j, double now, size_t window_size)
{
    sched_job_release(r->sched, j);
    j->last_exec = now;
    if (j->executed < j->total_iters)
        return false;
    j->finish = now;
    sched_job_remove(r->sched, j);
    bool measured = in_window(r, j->id);
    if (r->cfg->obs.on_finish)
        r->cfg->obs.on_finish(r->cfg->obs.ctx, j, measured);
    if (!measured)
        return false;
    xgrow((void **)&r->res_jobs, &r->cap_res, r->n_jct + 1, sizeof *r->res_jobs);
    sim_job_result_fill(&r->res_jobs[r->n_jct++], j, now);
    r->window_done++;
    return r->window_done == window_size;
}

static int schedule(struct run *r, double now, struct err *err)
{
    double round = r->cfg->sched.round_duration;
    struct job **placed;
    size_t n_placed;
    struct sim_round_sample smp = {.now = now};
    sched_round(r->sched, now, &placed, &n_placed);
    if (sched_round_error(r->sched, err) < 0)
        return -1;
    for (size_t i = 0; i < n_placed; i++) {
        struct job *j = placed[i];
        smp.started += j->first_start < 0;
        smp.demoted += j->demoted;
        long it = sched_job_round_iters(r->sched, j);
        j->attained += round;
        j->last_round_progress = j->executed;
        j->executed += it;
        if (j->executed > j->total_iters)
            j->executed = j->total_iters;
        j->rounds_run++;
        if (j->demoted)
            j->rounds_demoted++;
        if (j->first_start < 0)
            j->first_start = now;
        sim_heap_push(&r->heap, now + round, EV_LEASE_END, j);
    }
    if (r->cfg->obs.on_plan)
        r->cfg->obs.on_plan(r->cfg->obs.ctx, now, placed, n_placed);
    if (r->cfg->check_invariants && sched_check_invariants(r->sched, err) < 0)
        return -1;

    /* a job that ran last round and not in this one was preempted */
    for (size_t i = 0; i < r->n_prev; i++) {
        struct job *j = r->prev[i];
        if (j->finish < 0 && j->n_alloc == 0) {
            j->preemptions++;
            smp.preempted++;
        }
    }
    xgrow((void **)&r->prev, &r->cap_prev, n_placed + 1, sizeof *r->prev);
    memcpy(r->prev, placed, n_placed * sizeof *placed);
    r->n_prev = n_placed;

    double alloc[3];
    sched_alloc_fraction(r->sched, alloc);
    for (int k = 0; k < 3; k++)
        r->util_sum[k] += alloc[k];
    if (!r->cfg->obs.on_round && !r->cfg->obs.on_sample)
        return 0;

    /* observers only: demand over the whole queue, and true utilisation */
    size_t n_run;
    struct job *const *run = sched_runnable_jobs(r->sched, &n_run);
    double demand[3] = {0, 0, 0}, total[3];
    for (size_t i = 0; i < n_run; i++) {
        const struct job *j = run[i];
        demand[0] += j->gpus;
        demand[1] += j->cpu_demand;
        demand[2] += j->mem_demand;
    }
    for (size_t i = 0; i < n_placed; i++) {
        const struct job *j = placed[i];
        smp.util[0] += j->n_alloc;
        smp.util[1] += j->cpus < j->cpu_demand ? j->cpus : j->cpu_demand;
        smp.util[2] += j->mem < j->mem_demand ? j->mem : j->mem_demand;
    }
    const struct cluster_config *c = &r->cfg->sched.cluster;
    int ns = c->racks * c->servers_per_rack;
    total[0] = (double)c->gpus_per_server * ns;
    total[1] = (double)c->cpus_per_server * ns;
    total[2] = (double)c->dram_per_server * ns;
    for (int k = 0; k < 3; k++)
        demand[k] /= total[k];
    if (r->cfg->obs.on_round)
        r->cfg->obs.on_round(r->cfg->obs.ctx, now, n_run, n_placed, alloc, demand);
    if (r->cfg->obs.on_sample) {
        smp.runnable = n_run;
        smp.placed = n_placed;
        for (int k = 0; k < 3; k++) {
            smp.alloc[k] = alloc[k];
            smp.util[k] /= total[k];
            smp.demand[k] = demand[k];
        }
        r->cfg->obs.on_sample(r->cfg->obs.ctx, &smp);
    }
    return 0;
}

int sim_run(const struct sim_config *cfg, const struct sim_workload *w, struct sim_result *res,
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
    r.sched = sched_create(&cfg->sched, err);
    if (!r.sched)
        return -1;

    /* the measured window and how many ids it holds */
    size_t window_size;
    if (cfg->measure_hi > cfg->measure_lo) {
        r.lo = cfg->measure_lo;
        r.hi = cfg->measure_hi;
    } else if (replay) {
        r.lo = w->jobs[0].id;
        r.hi = w->jobs[0].id + 1L;
        for (size_t i = 0; i < w->n_jobs; i++) {
            if (w->jobs[i].id < r.lo)
                r.lo = w->jobs[i].id;
            if (w->jobs[i].id + 1L > r.hi)
                r.hi = w->jobs[i].id + 1L;
        }
    } else {
        r.lo = 4000;
        r.hi = 5000;
    }
    if (replay) {
        window_size = 0;
        for (size_t i = 0; i < w->n_jobs; i++)
            window_size += in_window(&r, w->jobs[i].id);
    } else {
        window_size = (size_t)(r.hi - r.lo);
    }

    if (replay) {
        for (size_t i = 0; i < w->n_jobs; i++)
            sim_heap_push(&r.heap, w->jobs[i].arrival, EV_ARRIVAL, (void *)&w->jobs[i]);
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

    struct sim_event ev;
    double now = 0;
    bool done = window_size == 0;
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
        case EV_LEASE_END:
            done = lease_end(&r, ev.data, now, window_size);
            break;
        case EV_SCHEDULE:
            if (schedule(&r, now, err) < 0)
                goto out;
            res->rounds++;
            if (sched_runnable_count(r.sched) == 0) {
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
            if (replay && sched_runnable_count(r.sched) == 0 && r.heap.n > 0 &&
                r.heap.ev[0].time > next) {
                /* a gap in the trace: jump to the round boundary of the next
                 * arrival instead of simulating idle rounds one by one */
                next = now + ceil((r.heap.ev[0].time - now) / round) * round;
            }
            sim_heap_push(&r.heap, next, EV_SCHEDULE, NULL);
            break;
        }
    }

    res->jobs_arrived = r.n_all;
    for (size_t i = 0; i < r.n_all; i++)
        res->jobs_finished += r.all[i]->finish >= 0;
    res->jobs_measured = r.n_jct;
    res->window_size = window_size;
    res->window_complete = r.window_done == window_size;
    res->end_time_s = now;
    res->jobs = r.res_jobs;
    sim_result_summarize(res, r.util_sum);
    sched_opt_stats(r.sched, &res->opt);
    r.res_jobs = NULL;
    rc = 0;
out:
    /* free what is left in the heap (synthetic specs we own) */
    while (sim_heap_pop(&r.heap, &ev))
        if (ev.type == EV_ARRIVAL && !replay)
            free(ev.data);
    sim_heap_free(&r.heap);
    for (size_t i = 0; i < r.n_all; i++)
        job_destroy(r.all[i]);
    free(r.all);
    free(r.prev);
    free(r.res_jobs);
    sched_destroy(r.sched);
    return rc;
}

void sim_result_free(struct sim_result *res)
{
    free(res->jobs);
    res->jobs = NULL;
}
