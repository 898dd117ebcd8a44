/*
 * queue --start (docs/forecast.md): the ledger's runnable jobs, copied with
 * their progress, planned forward from the next round boundary by the same
 * core with no new arrivals (sched_run_forecast), under d->mu. Submissions
 * not merged into the ledger yet (they join at the next boundary) get no
 * forecast (-1), nor do finished, failed or cancelled jobs. submit --test-only:
 * the same with the job it describes arriving at that boundary.
 */
#include "deploy_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "synergy_admin.pb-c.h"

/* Rounds a forecast may plan: a year of 5-minute rounds. */
#define FORECAST_MAX_ROUNDS 105120

static int fc_cmp(const void *a, const void *b)
{
    const struct sched_forecast *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

void deploy__queue_forecast(struct deploy *d, void *jobs_v, size_t n)
{
    Synergy__Admin__V1__JobInfo **jobs = jobs_v;
    for (size_t i = 0; i < n; i++)
        jobs[i]->start_s = jobs[i]->end_s = -1;
    struct sched_forecast *f;
    struct err err = {{0}};
    long m = sched_run_forecast(d->ledger, d->next_b, NULL, FORECAST_MAX_ROUNDS, &f, &err);
    if (m < 0) {
        LOG(LOG_WARN, "deploy", "queue --start: no forecast: %s", err.msg);
        return;
    }
    qsort(f, (size_t)m, sizeof *f, fc_cmp);
    for (size_t i = 0; i < n; i++) {
        struct sched_forecast key = {.id = (int)jobs[i]->job_id};
        const struct sched_forecast *hit = bsearch(&key, f, (size_t)m, sizeof *f, fc_cmp);
        if (hit && (jobs[i]->state[0] == 'q' || jobs[i]->state[0] == 'r')) {
            jobs[i]->start_s = hit->start;
            jobs[i]->end_s = hit->end;
        }
    }
    free(f);
}

int deploy__submit_test_only(struct deploy *d, const void *req, const char *model, long iters,
                             const char *tenant, void *resp_v)
{
    const Synergy__Admin__V1__SubmitRequest *r = req;
    Synergy__Admin__V1__SubmitResponse *resp = resp_v;
    struct job_spec spec = {.id = -1, .iterations = iters, .gpus = (int)r->gpus};
    snprintf(spec.model, sizeof spec.model, "%s", model);
    snprintf(spec.gpu_types, sizeof spec.gpu_types, "%s", r->gpu_types ? r->gpu_types : "");
    snprintf(spec.tenant, sizeof spec.tenant, "%s", tenant);
    struct sched_forecast *f;
    struct err err = {{0}};
    long m = sched_run_forecast(d->ledger, d->next_b, &spec, FORECAST_MAX_ROUNDS, &f, &err);
    resp->job_id = 0;
    resp->iterations = (uint64_t)iters;
    resp->arrival_s = d->next_b;
    resp->start_s = m > 0 ? f[m - 1].start : -1;
    resp->end_s = m > 0 ? f[m - 1].end : -1;
    pthread_mutex_unlock(&d->mu);
    if (m < 0)
        LOG(LOG_WARN, "deploy", "submit --test-only: no forecast: %s", err.msg);
    else
        free(f);
    return 0;
}
