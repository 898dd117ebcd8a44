/*
 * Tenants in the service (issue 25, docs/tenants.md): with `deploy --tenants
 * FILE`, the file's [user] sections map certificate identities to users,
 * users to tenants and to a Unix account.
 *
 *  - Submit: a job goes to the tenant the caller names (`submit --tenant T`)
 *    or to the caller's first; a user may only name its own tenants. The
 *    tenant's max_queued_jobs (jobs waiting) and max_running_gpus (a job
 *    larger than it could never run) refuse a submission with one line.
 *  - Cancel: a user cancels its own jobs; an admin (--admins, or a [user]
 *    with admin = true, or plaintext on loopback) any. A refusal is logged.
 *  - Share (`synergy share`, like Slurm's sshare) and the per-tenant gauges
 *    of /metrics: quota, GPUs held, borrowed and lent, decayed usage, jobs
 *    running and queued. Running, queued and held come from the job table
 *    (what the state file's jobs rows say); the rest from the tenant layer.
 */
#include "deploy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "synergy_admin.pb-c.h"

#define STATUS_RESOURCE_EXHAUSTED 8

static const struct tenants_config *tcfg(const struct deploy *d)
{
    return d->cfg->sched.tenants;
}

/* A job that waits: submitted or arrived, not running, not over. */
static bool waiting(const struct deploy *d, size_t i)
{
    const struct djob *dj = &d->jobs[i];
    if (dj->state == DJ_RUNNING || dj->state == DJ_DONE || dj->state == DJ_FAILED ||
        dj->cancel_req)
        return false;
    return dj->sub || i < d->next_arrival;
}

static long tenant_waiting(const struct deploy *d, const char *tenant)
{
    long q = 0;
    for (size_t i = 0; i < d->n_jobs; i++)
        q += waiting(d, i) && strcmp(d->jobs[i].spec->tenant, tenant) == 0;
    for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++)
        q += !d->adm.subs[i]->cancel && strcmp(d->adm.subs[i]->spec.tenant, tenant) == 0;
    return q;
}

/* "a, b, c": a user's tenants, for a refusal's message. */
static void user_tenants(const struct tenants_config *c, int u, char *out, size_t n)
{
    size_t l = 0;
    out[0] = '\0';
    for (int k = 0; k < c->u[u].n_tenants && l < n; k++)
        l += (size_t)snprintf(out + l, n - l, "%s%s", k ? ", " : "",
                              c->t[c->u[u].tenants[k]].name);
}

static int pick_tenant(const struct tenants_config *c, const struct deploy_caller *who,
                       const char *want, char *msg, size_t n)
{
    char list[120];
    if (!want[0]) {
        if (who->tuser < 0 || c->u[who->tuser].n_tenants == 0) {
            snprintf(msg, n, "give --tenant T: '%.60s' has no tenant of its own in %.80s",
                     who->user, c->path);
            return -RPC_STATUS_INVALID_ARGUMENT;
        }
        return c->u[who->tuser].tenants[0];
    }
    int t = tenants_find(c, want);
    if (t < 0) {
        snprintf(msg, n, "tenant '%.40s' is not in the tenants file %.100s", want, c->path);
        return -RPC_STATUS_INVALID_ARGUMENT;
    }
    if (who->tuser >= 0 && !tenants_user_in(c, who->tuser, t)) {
        user_tenants(c, who->tuser, list, sizeof list);
        snprintf(msg, n, "user %.40s is not in tenant %.40s (its tenants: %s)",
                 c->u[who->tuser].name, want, list);
        return -RPC_STATUS_PERMISSION_DENIED;
    }
    return t;
}

int deploy__tenant_submit(struct deploy *d, const struct deploy_caller *who, const char *want,
                          int gpus, char tenant[32], char *msg, size_t n)
{
    const struct tenants_config *c = tcfg(d);
    tenant[0] = '\0';
    if (!c) {
        if (!want[0])
            return 0;
        snprintf(msg, n, "--tenant %.40s: the scheduler has no tenants file (deploy --tenants)",
                 want);
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    int t = pick_tenant(c, who, want, msg, n);
    if (t < 0)
        return -t;
    const struct tenant_def *td = &c->t[t];
    if (td->max_running_gpus >= 0 && gpus > td->max_running_gpus) {
        snprintf(msg, n, "%d GPUs: tenant %s may run at most %ld GPUs (max_running_gpus)", gpus,
                 td->name, td->max_running_gpus);
        return STATUS_RESOURCE_EXHAUSTED;
    }
    if (td->max_queued_jobs >= 0) {
        long q = tenant_waiting(d, td->name);
        if (q >= td->max_queued_jobs) {
            snprintf(msg, n, "tenant %s has %ld jobs waiting, its limit (max_queued_jobs %ld)",
                     td->name, q, td->max_queued_jobs);
            return STATUS_RESOURCE_EXHAUSTED;
        }
    }
    snprintf(tenant, 32, "%s", td->name);
    return 0;
}

int deploy__tenant_may_cancel(struct deploy *d, const struct deploy_caller *who, uint64_t id,
                              const struct dsub *s, char *msg, size_t n)
{
    if (who->admin || (s && s->ident == deploy__ident(d, who->user)))
        return 0;
    const char *owner = s ? deploy__ident_name(d, s->ident) : "trace";
    LOG(LOG_WARN, "deploy", "cancel of job %llu by %s refused: it is %s's (not an admin)",
        (unsigned long long)id, who->user, owner);
    snprintf(msg, n, "job %llu is %.60s's: only its owner or an admin may cancel it",
             (unsigned long long)id, owner);
    return RPC_STATUS_PERMISSION_DENIED;
}

const char *deploy__job_unix_user(const struct deploy *d, const struct djob *dj)
{
    const struct tenants_config *c = tcfg(d);
    if (!c || !dj->sub)
        return "";
    int u = tenants_user_by_identity(c, deploy__ident_name(d, dj->sub->ident));
    return u >= 0 ? c->u[u].unix_user : "";
}

char *deploy__node_tenants(const struct deploy *d, int server)
{
    const struct tenants_config *c = tcfg(d);
    if (!c)
        return xstrdup("");
    int *g = xcalloc((size_t)c->n + 1, sizeof *g);
    for (size_t k = 0; k < d->n_jobs; k++) {
        const struct djob *dj = &d->jobs[k];
        int t = dj->j && dj->state == DJ_RUNNING ? sched_job_tenant(d->sched, dj->j) : -1;
        for (int r = 0; t >= 0 && t < c->n && r < dj->n_ranks; r++)
            if (dj->ranks[r].server == server && !dj->ranks[r].exited)
                g[t] += dj->ranks[r].n_gpus;
    }
    char buf[512] = "";
    size_t l = 0;
    for (int t = 0; t < c->n && l < sizeof buf - 1; t++)
        if (g[t] > 0)
            l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%s:%d", l ? "," : "", c->t[t].name,
                                  g[t]);
    free(g);
    return xstrdup(buf);
}

/* ------------------------------------------------------------ share */

struct tally {
    double held;
    long running, queued;
};

/* Each tenant's running and queued jobs and GPUs held, from the job table. */
static struct tally *tally(const struct deploy *d, int nt)
{
    struct tally *y = xcalloc((size_t)nt + 1, sizeof *y);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        int t = dj->j ? sched_job_tenant(d->sched, dj->j) : -1;
        if (t < 0 || t >= nt)
            continue;
        if (dj->state == DJ_RUNNING) {
            y[t].running++;
            y[t].held += dj->j->n_alloc;
        } else if (dj->state == DJ_QUEUED) {
            y[t].queued++;
        }
    }
    return y;
}

int deploy__admin_share(struct deploy *d, ProtobufCMessage *rs, char *msg, size_t n)
{
    Synergy__Admin__V1__ShareResponse *resp = (void *)rs;
    const struct tenants_config *c = tcfg(d);
    if (!c) {
        snprintf(msg, n, "the scheduler has no tenants file (deploy --tenants FILE)");
        return RPC_STATUS_FAILED_PRECONDITION;
    }
    pthread_mutex_lock(&d->mu);
    int nt = sched_tenants_count(d->sched);
    struct tally *y = tally(d, nt);
    resp->tenants = xcalloc((size_t)nt + 1, sizeof *resp->tenants);
    for (int i = 0; i < nt; i++) {
        struct sched_tenant_status ts;
        sched_tenant_status(d->sched, i, &ts);
        Synergy__Admin__V1__TenantInfo *ti = xcalloc(1, sizeof *ti);
        synergy__admin__v1__tenant_info__init(ti);
        ti->name = xstrdup(ts.name);
        ti->quota = (uint32_t)ts.quota;
        ti->weight = c->t[i].weight;
        ti->held = y[i].held;
        ti->borrowed = ts.borrowed;
        ti->lent = ts.lent;
        ti->usage = ts.usage;
        ti->fair_share = ts.fair_weight;
        ti->share = ts.share;
        ti->running = (uint32_t)y[i].running;
        ti->queued = (uint32_t)y[i].queued;
        ti->max_running_gpus = (int32_t)c->t[i].max_running_gpus;
        ti->max_queued_jobs = c->t[i].max_queued_jobs;
        resp->tenants[resp->n_tenants++] = ti;
    }
    resp->now_s = d->cur_b;
    pthread_mutex_unlock(&d->mu);
    free(y);
    return 0;
}

void deploy__share_free(ProtobufCMessage *rs)
{
    if (rs->descriptor != &synergy__admin__v1__share_response__descriptor)
        return;
    Synergy__Admin__V1__ShareResponse *r = (void *)rs;
    for (size_t i = 0; i < r->n_tenants; i++) {
        free(r->tenants[i]->name);
        free(r->tenants[i]);
    }
    free(r->tenants);
    r->tenants = NULL;
    r->n_tenants = 0;
}

void deploy__tenants_metrics(const struct deploy *d, struct metrics_snapshot *s)
{
    int nt = tcfg(d) ? sched_tenants_count(d->sched) : 0;
    if (nt > METRICS_MAX_TENANTS)
        nt = METRICS_MAX_TENANTS;
    struct tally *y = tally(d, nt);
    for (int i = 0; i < nt; i++) {
        struct sched_tenant_status ts;
        sched_tenant_status(d->sched, i, &ts);
        struct metrics_tenant *mt = &s->tenants[s->n_tenants++];
        snprintf(mt->name, sizeof mt->name, "%s", ts.name);
        mt->quota = ts.quota;
        mt->held = y[i].held;
        mt->borrowed = ts.borrowed;
        mt->usage = ts.usage;
        mt->running = y[i].running;
        mt->queued = y[i].queued;
    }
    free(y);
}
