/*
 * Forecasts (docs/forecast.md): when will each waiting job start and end if
 * nothing else arrives? The run's runnable jobs are copied, with their
 * progress, attained service and counters (sched_run_save / restore), into
 * a new run of the same parameters, which the same core then plans round by
 * round from `now`, as the simulator does: a placed job is credited its
 * round up front and finishes at the lease end that completes it.
 *
 * Known limits: every job runs at its profile's speed (a deployment's jobs
 * run at whatever speed they measure); jobs that finished or failed are left
 * out, and the copies join in arrival order, so a tie between equal policy
 * keys may fall differently from the live run's.
 */
#include "scheduler_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The spec a job was built from, as far as the run still knows it. */
static void spec_of(const sched_run_t *r, const struct job *j, struct job_spec *o)
{
    const sched_t *s = sched_run_sched((sched_run_t *)r);
    memset(o, 0, sizeof *o);
    o->id = j->id;
    snprintf(o->model, sizeof o->model, "%s", j->model->name);
    o->arrival = j->arrival;
    o->iterations = j->total_iters;
    o->gpus = j->gpus;
    unsigned mask = sched__priv(j)->type_mask;
    size_t l = 0, cap = sizeof o->gpu_types;
    for (int t = 0; s->typed && mask != (1u << s->n_types) - 1 && t < s->n_types; t++)
        if ((mask & (1u << t)) && l < cap)
            l += (size_t)snprintf(o->gpu_types + l, cap - l, "%s%s", l ? "|" : "",
                                  s->types[t].name);
    int ten = sched_job_tenant(s, j);
    if (ten >= 0)
        snprintf(o->tenant, sizeof o->tenant, "%s",
                 sched_run_params_get(r)->sched.tenants->t[ten].name);
}

/* The copy: the runnable jobs of r in arrival order, then `extra`. */
static sched_run_t *copy_run(const sched_run_t *r, double now, const struct job_spec *extra,
                             struct job ***jobs, size_t *n, struct err *err)
{
    struct sched_run_params p = *sched_run_params_get(r);
    p.trace = NULL;
    p.n_trace = 0;
    p.measure_lo = p.measure_hi = 0;
    p.check_invariants = false;
    p.on_arrive = NULL;
    sched_run_t *c = sched_run_create(&p, err);
    if (!c)
        return NULL;
    size_t nj = sched_run_job_count(r);
    *jobs = xmalloc(sizeof **jobs * (nj + 2));
    *n = 0;
    for (size_t i = 0; i < nj; i++) {
        bool runnable;
        struct job *j = sched_run_job_at(r, i, &runnable);
        if (!runnable)
            continue;
        struct job_spec spec;
        struct sched_job_saved sv;
        spec_of(r, j, &spec);
        sched_run_save(r, j, &sv);
        if (sv.executed >= j->total_iters) /* this round's credit completes it */
            sv.finish = now;
        struct job *cj = sched_run_restore(c, &spec, &sv, err);
        if (!cj)
            goto error;
        (*jobs)[(*n)++] = cj;
    }
    if (extra) {
        struct job_spec e = *extra;
        e.arrival = now;
        struct job *cj = sched_run_arrive(c, &e, err);
        if (!cj)
            goto error;
        (*jobs)[(*n)++] = cj;
    }
    return c;
error:
    free(*jobs);
    *jobs = NULL;
    sched_run_destroy(c);
    return NULL;
}

long sched_run_forecast(const sched_run_t *r, double now, const struct job_spec *extra,
                        long max_rounds, struct sched_forecast **out, struct err *err)
{
    struct job **jobs;
    size_t n;
    sched_run_t *c = copy_run(r, now, extra, &jobs, &n, err);
    if (!c)
        return -1;
    struct sched_forecast *f = xmalloc(sizeof *f * (n + 1));
    for (size_t i = 0; i < n; i++) /* a job done at the current lease end: no start */
        f[i] = (struct sched_forecast){jobs[i]->id, -1, jobs[i]->finish >= 0 ? now : -1};
    double round = sched_run_params_get(r)->sched.round_duration, t = now;
    sched_t *s = sched_run_sched(c);
    size_t left = n;
    /* with a hypothetical job, only its own forecast is asked for: stop at its end */
    for (long k = 0; k < max_rounds && left > 0 && sched_runnable_count(s) > 0 &&
                    !(extra && f[n - 1].end >= 0);
         k++, t += round) {
        struct job **placed;
        size_t np;
        if (sched_run_plan(c, t, &placed, &np, NULL, err) < 0)
            goto error;
        for (size_t i = 0; i < np; i++) {
            struct job *j = placed[i];
            size_t at = (size_t)j->order; /* the copy's arrival order: its index in jobs */
            if (f[at].start < 0)
                f[at].start = t;
            if (sched_run_lease_end(c, j, t + round)) {
                sched_run_finish(c, j, t + round);
                f[at].end = t + round;
                left--;
            }
        }
    }
    free(jobs);
    sched_run_destroy(c);
    *out = f;
    return (long)n;
error:
    free(f);
    free(jobs);
    sched_run_destroy(c);
    return -1;
}
