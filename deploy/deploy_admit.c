/*
 * Admission control of the admin service (issue 21): one admin must not be
 * able to knock out the cluster by submitting in a tight loop. Each identity
 * that submits (a certificate identity, or "local" for plaintext calls on
 * loopback) has
 *  - a limit on its jobs not finished (pending, queued or running; default
 *    10,000, --max-queued-jobs), recounted from the job table every round and
 *    counted up at each submission in between;
 *  - a token bucket on its submissions: --submit-rate a second (default 100)
 *    in bursts of up to --submit-burst (default 1,000).
 * A submission past either is refused RESOURCE_EXHAUSTED with a message
 * naming the limit, before anything else is checked or written: the refusal
 * changes nothing (no id is used, no row written). Refusals are logged at
 * most once a second per identity, with a count, so a flood does not flood
 * the log as well.
 */
#include "deploy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_QUEUED 10000
#define DEFAULT_RATE 100.0
#define DEFAULT_BURST 1000

static long max_queued(const struct deploy *d)
{
    return d->cfg->max_queued_jobs > 0 ? d->cfg->max_queued_jobs : DEFAULT_MAX_QUEUED;
}

static double rate(const struct deploy *d)
{
    return d->cfg->submit_rate > 0 ? d->cfg->submit_rate
           : d->cfg->submit_rate < 0 ? 0 /* no limit */
                                     : DEFAULT_RATE;
}

static double burst(const struct deploy *d)
{
    return d->cfg->submit_burst > 0 ? (double)d->cfg->submit_burst : DEFAULT_BURST;
}

int deploy__ident(struct deploy *d, const char *name)
{
    struct deploy_admin *a = &d->adm;
    for (size_t i = 0; i < a->n_idents; i++)
        if (strcmp(a->idents[i].name, name) == 0)
            return (int)i;
    xgrow((void **)&a->idents, &a->cap_idents, a->n_idents + 1, sizeof *a->idents);
    struct dident *id = &a->idents[a->n_idents];
    memset(id, 0, sizeof *id);
    snprintf(id->name, sizeof id->name, "%s", name);
    id->tokens = burst(d);
    id->refill_ns = mono_ns();
    return (int)a->n_idents++;
}

const char *deploy__ident_name(const struct deploy *d, int ident)
{
    return ident >= 0 && (size_t)ident < d->adm.n_idents ? d->adm.idents[ident].name : "";
}

/* Log a refusal, or count it for the next line (at most one a second). */
static void log_refusal(struct dident *id, const char *msg, long long now)
{
    id->refused++;
    if (now - id->refusal_log_ns < 1000000000LL)
        return;
    LOG(LOG_WARN, "deploy", "%ld submission(s) by %s refused: %s", id->refused, id->name, msg);
    id->refused = 0;
    id->refusal_log_ns = now;
}

int deploy__admit(struct deploy *d, int ident, char *msg, size_t n)
{
    struct dident *id = &d->adm.idents[ident];
    long long now = mono_ns();
    double r = rate(d), b = burst(d);
    if (r > 0) {
        id->tokens += r * (double)(now - id->refill_ns) / 1e9;
        if (id->tokens > b)
            id->tokens = b;
        id->refill_ns = now;
        if (id->tokens < 1) {
            snprintf(msg, n, "identity '%.100s' submits faster than its limit of %g a second "
                     "in bursts of %g (--submit-rate, --submit-burst): try again in %.2f s",
                     id->name, r, b, (1 - id->tokens) / r);
            log_refusal(id, msg, now);
            return RPC_STATUS_RESOURCE_EXHAUSTED;
        }
        id->tokens -= 1;
    }
    if (id->active >= max_queued(d)) {
        snprintf(msg, n, "identity '%.100s' has %ld jobs queued or running, its limit "
                 "(--max-queued-jobs %ld)", id->name, id->active, max_queued(d));
        log_refusal(id, msg, now);
        return RPC_STATUS_RESOURCE_EXHAUSTED;
    }
    return 0;
}

void deploy__admit_recount(struct deploy *d)
{
    struct deploy_admin *a = &d->adm;
    for (size_t i = 0; i < a->n_idents; i++)
        a->idents[i].active = 0;
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        if (dj->sub && dj->state != DJ_DONE && dj->state != DJ_FAILED && !dj->cancelled)
            a->idents[dj->sub->ident].active++;
    }
    for (size_t i = a->n_merged; i < a->n_subs; i++)
        if (!a->subs[i]->cancel)
            a->idents[a->subs[i]->ident].active++;
}

void deploy__admit_free(struct deploy *d)
{
    free(d->adm.idents);
    d->adm.idents = NULL;
    d->adm.n_idents = d->adm.cap_idents = 0;
}
