/*
 * What the deploy driver tells the outside world at a round boundary: it
 * fills a metrics snapshot from its job and worker tables (called with d->mu
 * held, right after the round's state commit, so the snapshot and the SQLite
 * state describe the same round) and sends the service manager a STATUS line
 * and a watchdog ping. The HTTP thread only ever sees the copied snapshot.
 */
#include "deploy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "notify.h"

static void add_job(struct metrics_snapshot *s, const struct djob *dj)
{
    if (s->n_jobs >= METRICS_MAX_JOBS) {
        s->jobs_dropped++;
        return;
    }
    struct metrics_job *mj = &s->jobs[s->n_jobs++];
    mj->id = dj->spec->id;
    snprintf(mj->model, sizeof mj->model, "%s", dj->j->model->name);
    mj->running = dj->state == DJ_RUNNING;
    /* a running job's progress: what it had before this round (the plan
     * already credited the round's budget to j->executed) */
    mj->executed = mj->running ? dj->base : dj->j->executed;
    mj->total = dj->j->total_iters;
}

void deploy__publish(struct deploy *d, double b, double late_ms, long rounds)
{
    notify_watchdog();
    if (!d->cfg->metrics && !notify_watchdog_enabled() && !getenv("NOTIFY_SOCKET"))
        return;
    struct metrics_snapshot *s = xcalloc(1, sizeof *s);
    const struct deploy_stats *st = d->st;
    s->rounds = rounds;
    s->round_time_s = b;
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        switch (dj->state) {
        case DJ_PENDING: s->jobs_pending++; break;
        case DJ_QUEUED: s->jobs_queued++; break;
        case DJ_RUNNING:
            s->jobs_running++;
            s->gpus_allocated += dj->j->n_alloc;
            s->cpus_allocated += dj->j->cpus;
            s->mem_allocated_gb += dj->j->mem;
            break;
        case DJ_DONE: s->jobs_finished++; break;
        case DJ_FAILED: s->jobs_failed++; break;
        }
    }
    /* per-job series: running jobs first, then queued, in arrival order */
    for (size_t i = 0; i < d->n_jobs; i++)
        if (d->jobs[i].state == DJ_RUNNING)
            add_job(s, &d->jobs[i]);
    for (size_t i = 0; i < d->n_jobs; i++)
        if (d->jobs[i].state == DJ_QUEUED)
            add_job(s, &d->jobs[i]);
    double tot[3];
    sched_cluster_totals(d->sched, tot);
    s->gpus_total = sched_total_gpus(d->sched);
    s->cpus_total = tot[1];
    s->mem_total_gb = tot[2];
    s->workers_total = (int)d->reg.n_workers;
    for (size_t i = 0; i < d->reg.n_workers; i++)
        s->workers_up += d->reg.workers[i].registered && !d->reg.workers[i].lost;
    s->lateness_s = isfinite(late_ms) ? late_ms / 1e3 : 0;
    s->lateness_max_s = st->max_lateness_ms / 1e3;
    s->crashes = (long)st->crashes;
    s->preemptions = (long)st->preemptions;
    s->relaunches = (long)st->relaunches;
    s->lease_kills = (long)st->lease_kills;
    s->workers_lost = (long)st->workers_lost;
    deploy__tenants_metrics(d, s);
    metrics_publish(d->cfg->metrics, s);
    if (s->rounds > 0)
        notify_status("round %ld at %.0f s: %ld running, %ld queued, %ld finished, %ld failed; "
                      "%d/%d workers up",
                      s->rounds, b, s->jobs_running, s->jobs_queued, s->jobs_finished,
                      s->jobs_failed, s->workers_up, s->workers_total);
    free(s);
}
