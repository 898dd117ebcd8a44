/*
 * The admin service of a deployment (issue 10, online submission):
 * synergy.admin.v1.Admin, served next to the jobs' and workers' services.
 *
 *  - Submit: a new job. Checked against the cluster and the model zoo, given
 *    the next id and its arrival on the run's logical clock (now), written to
 *    the state file and answered once that write is committed (so an id a
 *    client saw survives a scheduler restart). The round loop moves it into
 *    jobs[] at the next boundary: from then on it is a job like a trace job
 *    (the same ledger, policy and mode).
 *  - Queue: the jobs, like squeue. Cancel: marks jobs; the round loop cancels
 *    them at the next boundary (a running one is told to stop). Nodes: the
 *    servers, like sinfo.
 *
 * Who may call: under mutual TLS the certificate identity (CN, else first
 * SAN) must be listed in the --admins file; in plaintext only when the
 * scheduler listens on loopback (cfg->admin_plaintext). A refused call, like
 * a bad submission, changes nothing.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synergy_admin.pb-c.h"
#include "trace.h"

#define ADMIN_MAX_PRIORITY 100
#define ADMIN_MAX_ITERS 1000000000000L /* 1e12 */
#define ADMIN_MAX_HOURS (24.0 * 366 * 10)
/* Submissions a round moves into the job table (and so into the ledger): a
 * burst of them is admitted over several rounds, each keeping its submission
 * time as its arrival, so no one round does unbounded admin work (issue 21) */
#define ADMIN_MERGE_PER_ROUND 1000
/* Jobs in one Queue answer: a page stays far below gRPC's 4 MB message */
#define ADMIN_QUEUE_PAGE 1000
#define ADMIN_QUEUE_PAGE_MAX 5000

/* ------------------------------------------------------------ admins file */

static bool identity_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 128 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@:") == n;
}

int deploy_admins_read(const char *path, char ***out, size_t *n, struct err *err)
{
    *out = NULL;
    *n = 0;
    struct line_reader lr;
    if (line_reader_open(&lr, path, NULL, true, err) < 0)
        return -1;
    char *s;
    size_t cap = 0;
    int got;
    while ((got = line_next(&lr, &s, err)) > 0) {
        if (!identity_ok(s)) {
            got = errprintf(err, "%s:%d: expected one certificate identity per line "
                                 "([A-Za-z0-9._@:-], at most 127 characters)", path, lr.lineno);
            break;
        }
        xgrow((void **)out, &cap, *n + 1, sizeof **out);
        (*out)[(*n)++] = xstrdup(s);
    }
    line_reader_close(&lr);
    if (got < 0) {
        deploy_admins_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

void deploy_admins_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* May this call use the admin service, and as whom? Sets the status and
 * logs if not. Under mutual TLS: an identity of the --admins file (an
 * admin), or of a [user] of the tenants file (an admin if it says so). */
static bool admin_allowed(struct deploy *d, rpc_call_t *call, struct deploy_caller *who)
{
    const struct deploy_config *c = d->cfg;
    *who = (struct deploy_caller){.user = "local", .tuser = -1, .admin = true};
    if (!c->tls) {
        if (c->admin_plaintext)
            return true;
        LOG(LOG_WARN, "deploy", "admin call from %s refused: plaintext admin calls are only "
                                "taken on a loopback listener", rpc_call_peer(call));
        rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                            "admin calls need mutual TLS (plaintext only on loopback)");
        return false;
    }
    const char *id = rpc_call_identity(call);
    bool listed = false;
    for (size_t i = 0; id[0] && i < c->n_admins && !listed; i++)
        listed = strcmp(c->admins[i], id) == 0;
    int u = id[0] ? tenants_user_by_identity(c->sched.tenants, id) : -1;
    if (listed || u >= 0) {
        *who = (struct deploy_caller){.user = id, .tuser = u,
                                      .admin = listed || c->sched.tenants->u[u].admin};
        return true;
    }
    LOG(LOG_WARN, "deploy", "admin call from %s refused: identity '%s' is not an admin%s",
        rpc_call_peer(call), id, c->sched.tenants ? " nor a user" : "");
    char m[200];
    snprintf(m, sizeof m, "identity '%.100s' is not in the scheduler's --admins file%s", id,
             c->sched.tenants ? " nor a user of its tenants file" : "");
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED, m);
    return false;
}

/* ------------------------------------------------------------ jobs table */

int deploy__arrival_cmp(const void *a, const void *b)
{
    const struct djob *x = a, *y = b;
    if (x->spec->arrival != y->spec->arrival)
        return x->spec->arrival < y->spec->arrival ? -1 : 1;
    if (!x->sub != !y->sub)
        return x->sub ? 1 : -1; /* trace jobs first */
    if (x->sub)
        return (x->spec->id > y->spec->id) - (x->spec->id < y->spec->id);
    return (x->spec > y->spec) - (x->spec < y->spec);
}

/* Insert a submission into jobs[] at its place in arrival order, never
 * before a job that has arrived. Under d->mu, from the round loop (or before
 * the RPC server starts). */
static void insert_job(struct deploy *d, const struct dsub *s)
{
    size_t cap = d->cap_jobs;
    xgrow((void **)&d->jobs, &d->cap_jobs, d->n_jobs + 1, sizeof *d->jobs);
    if (d->cap_jobs != cap) /* relaunch[] has jobs[]'s capacity */
        d->relaunch = xrealloc(d->relaunch, d->cap_jobs * sizeof *d->relaunch);
    struct djob nj = {.spec = &s->spec, .sub = s, .cancel_req = s->cancel, .round_end_steps = -1,
                      .finish = -1};
    size_t pos = d->n_jobs;
    while (pos > d->next_arrival && deploy__arrival_cmp(&d->jobs[pos - 1], &nj) > 0)
        pos--;
    memmove(&d->jobs[pos + 1], &d->jobs[pos], (d->n_jobs - pos) * sizeof *d->jobs);
    d->jobs[pos] = nj;
    d->n_jobs++;
}

/* Move up to `max` submissions into jobs[]. */
static void merge(struct deploy *d, size_t max)
{
    if (d->adm.n_merged == d->adm.n_subs)
        return;
    for (size_t k = 0; k < max && d->adm.n_merged < d->adm.n_subs; k++)
        insert_job(d, d->adm.subs[d->adm.n_merged++]);
    memset(d->relaunch, 0, d->n_jobs * sizeof *d->relaunch);
    deploy__index_jobs(d);
}

void deploy__admin_merge(struct deploy *d)
{
    merge(d, ADMIN_MERGE_PER_ROUND);
}

void deploy__admin_init(struct deploy *d)
{
    int next = 1;
    for (size_t i = 0; i < d->n_jobs; i++) {
        if (d->jobs[i].spec->id >= next)
            next = d->jobs[i].spec->id + 1;
        /* restored: a job cancelled before the restart */
        if (d->jobs[i].cancel_req && d->jobs[i].state == DJ_FAILED)
            d->jobs[i].cancelled = true;
    }
    for (size_t i = 0; i < d->adm.n_subs; i++)
        if (d->adm.subs[i]->spec.id >= next)
            next = d->adm.subs[i]->spec.id + 1;
    d->adm.next_id = next;
    deploy__admit_recount(d);
}

static struct dsub *sub_new(struct deploy *d, int id, const char *model, int gpus, long iters,
                            double arrival, const char *name, int ident, int prio,
                            const char *gpu_types)
{
    struct dsub *s = xcalloc(1, sizeof *s);
    s->spec.id = id;
    if (gpu_types && gpu_types[0] && trace_parse_gpu_types(gpu_types, s->spec.gpu_types) < 0)
        s->spec.gpu_types[0] = '\0'; /* checked on submission */
    snprintf(s->spec.model, sizeof s->spec.model, "%s", model);
    s->spec.gpus = gpus;
    s->spec.iterations = iters;
    s->spec.arrival = arrival;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ident = ident;
    s->priority = prio;
    xgrow((void **)&d->adm.subs, &d->adm.cap_subs, d->adm.n_subs + 1, sizeof *d->adm.subs);
    d->adm.subs[d->adm.n_subs++] = s;
    return s;
}

static int load_row(void *ctx, const struct deploy_state_admin *a)
{
    struct deploy *d = ctx;
    if (!a->submitted)
        return 0;
    struct dsub *s = sub_new(d, a->id, a->model, a->gpus, a->iterations, a->arrival, a->name,
                             deploy__ident(d, a->user), a->priority, a->gpu_types);
    snprintf(s->spec.tenant, sizeof s->spec.tenant, "%s", a->tenant);
    return 0;
}

static int load_cancel(void *ctx, const struct deploy_state_admin *a)
{
    struct deploy *d = ctx;
    struct djob *dj = a->cancelled ? deploy__job_by_id(d, (uint64_t)a->id) : NULL;
    if (dj)
        dj->cancel_req = true;
    return 0;
}

int deploy__admin_load(struct deploy *d, struct err *err)
{
    if (deploy_state_admin_each(d->db, load_row, d, err) < 0)
        return -1;
    merge(d, d->adm.n_subs);
    if (deploy_state_admin_each(d->db, load_cancel, d, err) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ cancel */

bool deploy__admin_cancelled_before_arrival(struct deploy *d, struct djob *dj)
{
    if (!dj->cancel_req)
        return false;
    dj->state = DJ_FAILED;
    dj->cancelled = true;
    LOG(LOG_INFO, "deploy", "job %d cancelled before it arrived", dj->spec->id);
    deploy_state_job(d->db, dj->spec->id, dj->spec->model, "cancelled", 0, 0,
                     dj->spec->iterations, dj->spec->arrival, -1, NULL);
    return true;
}

void deploy__admin_cancel(struct deploy *d)
{
    for (size_t i = 0; i < d->next_arrival; i++) {
        struct djob *dj = &d->jobs[i];
        if (!dj->cancel_req || dj->cancelled || !dj->j)
            continue;
        if (dj->state == DJ_DONE || dj->state == DJ_FAILED) {
            dj->cancelled = dj->state == DJ_FAILED && dj->crashes <= d->cfg->max_retries;
            continue;
        }
        /* a job parked in RoundEnd is told by its answer; one in the middle
         * of its round gets SIGTERM now (and SIGKILL after the kill-wait),
         * as scancel does, rather than work on to the round's end */
        bool all_parked = dj->n_parked >= dj->n_procs;
        deploy__answer_parked(dj, true);
        if (dj->state == DJ_RUNNING && !dj->stop_ns)
            dj->stop_ns = mono_ns();
        if (dj->state == DJ_RUNNING && !all_parked)
            deploy__kill_job(d, dj);
        sched_run_fail(d->ledger, dj->j);
        deploy__record_cancel(d, dj->spec, d->cur_b); /* replayed at the same boundary */
        dj->state = DJ_FAILED;
        dj->cancelled = true;
        LOG(LOG_INFO, "deploy", "job %d cancelled (%ld of %ld iterations done)", dj->spec->id,
            dj->j->executed, dj->j->total_iters);
        deploy_state_job(d->db, dj->spec->id, dj->j->model->name, "cancelled", dj->launch,
                         dj->j->executed, dj->j->total_iters, dj->spec->arrival, -1, NULL);
    }
}

/* ------------------------------------------------------------ submit */

/* A parked submission whose row was not stored: it never happened (its id
 * is given again: no client saw it). */
static void sub_drop(struct deploy *d, uint64_t id)
{
    for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++) {
        if ((uint64_t)d->adm.subs[i]->spec.id != id)
            continue;
        free(d->adm.subs[i]);
        memmove(&d->adm.subs[i], &d->adm.subs[i + 1], (d->adm.n_subs - i - 1) * sizeof *d->adm.subs);
        d->adm.n_subs--;
        break;
    }
    int next = 1;
    for (size_t i = 0; i < d->n_jobs; i++)
        if (d->jobs[i].spec->id >= next)
            next = d->jobs[i].spec->id + 1;
    for (size_t i = 0; i < d->adm.n_subs; i++)
        if (d->adm.subs[i]->spec.id >= next)
            next = d->adm.subs[i]->spec.id + 1;
    d->adm.next_id = next;
}

/* A stored cancel takes effect: the jobs are marked (the round loop cancels
 * them at its next boundary). */
static void cancel_mark(struct deploy *d, const uint64_t *ids, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct djob *dj = deploy__job_by_id(d, ids[k]);
        if (dj) {
            dj->cancel_req = true;
        } else {
            for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++)
                if ((uint64_t)d->adm.subs[i]->spec.id == ids[k])
                    d->adm.subs[i]->cancel = true; /* marked when merged */
        }
        LOG(LOG_INFO, "deploy", "job %llu: cancel asked", (unsigned long long)ids[k]);
    }
    d->durable.cancels_acked++;
    /* done at the next boundary: no wake-up (see deploy__admin_submit) */
}

void deploy__admin_committed(struct deploy *d, const char *refused)
{
    for (size_t i = 0; i < d->adm.n_sub_wait; i++) {
        struct dsub_wait *w = &d->adm.sub_wait[i];
        if (refused) {
            sub_drop(d, w->id);
            LOG(LOG_WARN, "deploy", "a submission was refused: %s", refused);
            rpc_call_fail(w->call, RPC_STATUS_UNAVAILABLE, refused);
            continue;
        }
        Synergy__Admin__V1__SubmitResponse r = SYNERGY__ADMIN__V1__SUBMIT_RESPONSE__INIT;
        r.job_id = w->id;
        r.iterations = w->iterations;
        r.arrival_s = w->arrival;
        rpc_call_reply(w->call, &r.base);
    }
    d->adm.n_sub_wait = 0;
    for (size_t i = 0; i < d->adm.n_cancel_wait; i++) {
        struct dcancel_wait *w = &d->adm.cancel_wait[i];
        if (refused) {
            rpc_call_fail(w->call, RPC_STATUS_UNAVAILABLE, refused);
            continue;
        }
        cancel_mark(d, w->ids, w->n);
        Synergy__Admin__V1__CancelResponse r = SYNERGY__ADMIN__V1__CANCEL_RESPONSE__INIT;
        r.cancelled = w->ids;
        r.n_cancelled = w->n;
        rpc_call_reply(w->call, &r.base);
    }
    d->adm.n_cancel_wait = 0;
}

void deploy__admin_free(struct deploy *d)
{
    free(d->adm.sub_wait); /* empty: answered at the last commit (deploy_run) */
    d->adm.sub_wait = NULL;
    d->adm.n_sub_wait = 0;
    free(d->adm.cancel_wait);
    d->adm.cancel_wait = NULL;
    d->adm.n_cancel_wait = 0;
    for (size_t i = 0; i < d->adm.n_subs; i++)
        free(d->adm.subs[i]);
    free(d->adm.subs);
    d->adm.subs = NULL;
    d->adm.n_subs = 0;
    deploy__admit_free(d);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n < 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
           (n == 0 || s[0] != '-');
}

static bool job_active(const struct djob *dj)
{
    return dj->state != DJ_DONE && dj->state != DJ_FAILED && !dj->cancel_req;
}

/* Is `name` taken by a job still pending, queued or running? */
static bool name_taken(const struct deploy *d, const char *name)
{
    for (size_t i = 0; i < d->n_jobs; i++)
        if (d->jobs[i].sub && job_active(&d->jobs[i]) && strcmp(d->jobs[i].sub->name, name) == 0)
            return true;
    for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++)
        if (!d->adm.subs[i]->cancel && strcmp(d->adm.subs[i]->name, name) == 0)
            return true;
    return false;
}

/* The GPU types a submission may use: names of the cluster's types, with
 * room for its GPUs on one of them. 0, or -1 and msg. */
static int check_gpu_types(const struct deploy *d, const char *types, int gpus, char *msg,
                           size_t n)
{
    char list[64], buf[64];
    int nt = sched_num_gpu_types(d->sched);
    if (nt == 0) {
        snprintf(msg, n, "--gpu-type: the cluster has no GPU types");
        return -1;
    }
    if (trace_parse_gpu_types(types, list) < 0) {
        snprintf(msg, n, "--gpu-type '%.60s': GPU type names separated by ','", types);
        return -1;
    }
    int room = 0;
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        int t = 0;
        while (t < nt && strcmp(sched_gpu_type_name(d->sched, t), tok) != 0)
            t++;
        if (t == nt) {
            int l = snprintf(msg, n, "GPU type '%.20s' is not in the cluster; it has:", tok);
            for (int k = 0; k < nt && l > 0 && (size_t)l < n; k++)
                l += snprintf(msg + l, n - (size_t)l, " %s", sched_gpu_type_name(d->sched, k));
            return -1;
        }
        if (sched_type_gpus(d->sched, t) > room)
            room = sched_type_gpus(d->sched, t);
    }
    if (gpus > room) {
        snprintf(msg, n, "%d GPUs: its GPU types have at most %d", gpus, room);
        return -1;
    }
    return 0;
}

/* Check a submission against the zoo and the cluster: 0, or a status and
 * msg. *iters gets the job's iterations. */
static int check_submit(const struct deploy *d, const Synergy__Admin__V1__SubmitRequest *r,
                        const struct model_profile **mp, long *iters, char *msg, size_t n)
{
    long total_gpus = sched_total_gpus(d->sched);
    const struct model_profile *m = r->model && r->model[0] && strlen(r->model) < 32
                                        ? model_zoo_find(d->cfg->zoo, r->model)
                                        : NULL;
    int prio = r->priority_opt_case ? r->priority : 0;
    const char *name = r->name ? r->name : "";
    *mp = m;
    if (!m) {
        int l = snprintf(msg, n, "unknown model '%.40s'; known:", r->model ? r->model : "");
        size_t nz = model_zoo_count(d->cfg->zoo);
        for (size_t i = 0; i < nz && l > 0 && (size_t)l < n; i++)
            l += snprintf(msg + l, n - (size_t)l, " %s", model_zoo_at(d->cfg->zoo, i)->name);
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (r->gpus == 0) {
        snprintf(msg, n, "a job needs at least 1 GPU");
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if ((long)r->gpus > total_gpus || r->gpus > DJ_MAX_PROCS) {
        snprintf(msg, n, "%u GPUs: the cluster has %ld", r->gpus, total_gpus);
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (r->gpu_types && r->gpu_types[0] &&
        check_gpu_types(d, r->gpu_types, (int)r->gpus, msg, n) < 0)
        return RPC_STATUS_INVALID_ARGUMENT;
    if (r->amount_case == SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_ITERATIONS) {
        if (r->iterations == 0 || r->iterations > (uint64_t)ADMIN_MAX_ITERS) {
            snprintf(msg, n, "iterations must be 1 to %ld", ADMIN_MAX_ITERS);
            return RPC_STATUS_INVALID_ARGUMENT;
        }
        *iters = (long)r->iterations;
    } else if (r->amount_case == SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_HOURS) {
        if (!(r->hours > 0) || !(r->hours <= ADMIN_MAX_HOURS)) {
            snprintf(msg, n, "hours must be more than 0 and at most %g", ADMIN_MAX_HOURS);
            return RPC_STATUS_INVALID_ARGUMENT;
        }
        double it = m->iter_time > 0 ? r->hours * 3600.0 / m->iter_time : 0;
        *iters = it < 1 ? 1 : (long)llround(it);
        if (*iters > ADMIN_MAX_ITERS) {
            snprintf(msg, n, "%g hours of %s is more than %ld iterations", r->hours, m->name,
                     ADMIN_MAX_ITERS);
            return RPC_STATUS_INVALID_ARGUMENT;
        }
    } else {
        snprintf(msg, n, "give the job's iterations or hours");
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (prio < 0 || prio > ADMIN_MAX_PRIORITY) {
        snprintf(msg, n, "priority %d: must be 0 to %d", prio, ADMIN_MAX_PRIORITY);
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (!name_ok(name)) {
        snprintf(msg, n, "name: at most 63 characters of [A-Za-z0-9._-], not starting with '-'");
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (name[0] && name_taken(d, name)) {
        snprintf(msg, n, "name '%s' is taken by a job not finished", name);
        return 6; /* ALREADY_EXISTS */
    }
    return 0;
}

int deploy__admin_submit(struct deploy *d, const struct deploy_caller *who,
                         const ProtobufCMessage *rq, ProtobufCMessage *rs, rpc_call_t *park,
                         char *msg, size_t n)
{
    const char *user = who->user;
    char tenant[32] = "";
    const Synergy__Admin__V1__SubmitRequest *r = (const void *)rq;
    Synergy__Admin__V1__SubmitResponse *resp = (void *)rs;
    const struct model_profile *m;
    long iters = 0;
    pthread_mutex_lock(&d->mu);
    int ident = deploy__ident(d, user);
    int st = deploy__admit(d, ident, msg, n); /* first: a flood is refused cheaply */
    if (st == 0)
        st = check_submit(d, r, &m, &iters, msg, n);
    if (st == 0)
        st = deploy__tenant_submit(d, who, r->tenant ? r->tenant : "", (int)r->gpus, tenant,
                                   msg, n);
    if (st == 0 && !d->adm.accepting) {
        snprintf(msg, n, "the scheduler is not running rounds yet (waiting for workers)");
        st = RPC_STATUS_UNAVAILABLE;
    }
    if (st == 0 && deploy__state_failed(d)) {
        snprintf(msg, n, "the scheduler cannot write its state (%.150s): submissions are "
                         "refused until it can", deploy__state_failed(d));
        st = RPC_STATUS_UNAVAILABLE;
    }
    if (st != 0) {
        pthread_mutex_unlock(&d->mu);
        return st;
    }
    if (r->test_only) /* nothing stored, no id used; unlocks d->mu (deploy_forecast.c) */
        return deploy__submit_test_only(d, r, m->name, iters, tenant, resp);
    double arrival = deploy__logical_now(d);
    if (arrival < d->cur_b)
        arrival = d->cur_b;
    struct dsub *s = sub_new(d, d->adm.next_id++, m->name, (int)r->gpus, iters, arrival,
                             r->name ? r->name : "", ident,
                             r->priority_opt_case ? r->priority : 0, r->gpu_types);
    snprintf(s->spec.tenant, sizeof s->spec.tenant, "%s", tenant);
    struct deploy_state_admin row = {.id = s->spec.id, .gpus = s->spec.gpus,
                                     .iterations = iters, .arrival = arrival,
                                     .priority = s->priority, .submitted = true};
    snprintf(row.name, sizeof row.name, "%s", s->name);
    snprintf(row.user, sizeof row.user, "%s", user);
    snprintf(row.model, sizeof row.model, "%s", s->spec.model);
    snprintf(row.gpu_types, sizeof row.gpu_types, "%s", s->spec.gpu_types);
    snprintf(row.tenant, sizeof row.tenant, "%s", tenant);
    struct err e = {{0}};
    if (deploy_state_admin_put(d->db, &row, &e) < 0) {
        free(d->adm.subs[--d->adm.n_subs]);
        d->adm.next_id--;
        pthread_mutex_unlock(&d->mu);
        snprintf(msg, n, "the submission could not be stored (%.200s): no id was given", e.msg);
        return RPC_STATUS_UNAVAILABLE;
    }
    d->adm.idents[ident].active++;
    LOG(LOG_INFO, "deploy", "job %d submitted by %s: %s, %d GPU(s), %ld iterations%s%s%s%s",
        s->spec.id, user, s->spec.model, s->spec.gpus, iters, s->name[0] ? ", name " : "",
        s->name, tenant[0] ? ", tenant " : "", tenant);
    resp->job_id = (uint64_t)s->spec.id;
    resp->iterations = (uint64_t)iters;
    resp->arrival_s = arrival;
    bool wait = park && deploy_state_in_txn(d->db);
    if (wait) { /* durable at the round loop's next commit: answered then */
        xgrow((void **)&d->adm.sub_wait, &d->adm.cap_sub_wait, d->adm.n_sub_wait + 1, sizeof *d->adm.sub_wait);
        d->adm.sub_wait[d->adm.n_sub_wait++] =
            (struct dsub_wait){.call = park, .id = resp->job_id, .iterations = resp->iterations,
                               .arrival = arrival};
    }
    /* no wake-up of the round loop: it takes submissions at its next
     * boundary, and each wake-up costs it a pass over the job table (a
     * flood of them starved the workers' heartbeats: issue 21) */
    pthread_mutex_unlock(&d->mu);
    return wait ? -1 : 0;
}

/* ------------------------------------------------------------ queue */

static const char *job_state(const struct djob *dj, bool arrived)
{
    if (dj->cancelled)
        return "cancelled";
    if (dj->state == DJ_DONE)
        return "finished";
    if (dj->state == DJ_FAILED)
        return "failed";
    if (dj->cancel_req)
        return "cancelling";
    if (!arrived || dj->state == DJ_PENDING)
        return "pending";
    return dj->state == DJ_RUNNING ? "running" : "queued";
}

static char *servers_of(const struct djob *dj)
{
    char buf[1024] = "";
    size_t l = 0;
    for (int r = 0; dj->state == DJ_RUNNING && r < dj->n_ranks && l < sizeof buf - 16; r++) {
        l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%d:", r ? ";" : "", dj->ranks[r].server);
        for (int k = 0; k < dj->ranks[r].n_gpus && l < sizeof buf - 16; k++)
            l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%d", k ? "," : "",
                                  dj->ranks[r].gpus[k]);
    }
    return xstrdup(buf);
}

static Synergy__Admin__V1__JobInfo *job_info(const struct deploy *d, const struct djob *dj,
                                             bool arrived, double now)
{
    Synergy__Admin__V1__JobInfo *ji = xcalloc(1, sizeof *ji);
    synergy__admin__v1__job_info__init(ji);
    const struct job *j = dj->j;
    ji->job_id = (uint64_t)dj->spec->id;
    ji->name = xstrdup(dj->sub ? dj->sub->name : "");
    ji->user = xstrdup(dj->sub ? deploy__ident_name(d, dj->sub->ident) : "trace");
    ji->model = xstrdup(j ? j->model->name : dj->spec->model);
    ji->state = xstrdup(job_state(dj, arrived));
    ji->gpus = (uint32_t)dj->spec->gpus;
    ji->servers = servers_of(dj);
    for (int r = 0; dj->state == DJ_RUNNING && r < dj->n_ranks; r++) {
        ji->cpus += dj->ranks[r].cpus;
        ji->mem_gb += dj->ranks[r].mem;
    }
    long done = j ? j->executed : 0;
    if (j && dj->state == DJ_RUNNING)
        done = dj->base + dj->progress_steps;
    ji->executed = (uint64_t)(done > 0 ? done : 0);
    ji->total = (uint64_t)dj->spec->iterations;
    ji->attained_s = j ? j->attained : 0;
    double start = j && j->first_start >= 0 ? j->first_start : -1;
    double end = dj->finish >= 0 ? dj->finish : now;
    ji->wait_s = arrived && j ? (start >= 0 ? start : end) - dj->spec->arrival : 0;
    if (ji->wait_s < 0)
        ji->wait_s = 0;
    ji->run_s = j ? j->rounds_run * d->round_s : 0;
    ji->arrival_s = dj->spec->arrival;
    ji->priority = dj->sub ? dj->sub->priority : 0;
    ji->attempt = (uint32_t)dj->launch;
    ji->tenant = xstrdup(dj->spec->tenant);
    /* why it waits as of the last round (scheduler/reasons.c); "" once it left */
    bool left = dj->cancelled || dj->state == DJ_DONE || dj->state == DJ_FAILED || dj->cancel_req;
    ji->reason = xstrdup(left ? "" : !arrived || !j || dj->state == DJ_PENDING
                                         ? "None" : sched_reason_name(sched_job_reason(d->sched, j)));
    return ji;
}

/* A job the queue lists: in jobs[] (arrived tells its state) or a
 * submission not merged yet (dj NULL). */
struct qent {
    uint64_t id;
    const struct djob *dj;
    const struct dsub *sub;
    bool arrived;
};

static int qent_cmp(const void *a, const void *b)
{
    const struct qent *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int deploy__admin_queue(struct deploy *d, const ProtobufCMessage *rq, ProtobufCMessage *rs,
                        char *msg, size_t n)
{
    (void)msg, (void)n;
    const Synergy__Admin__V1__QueueRequest *r = (const void *)rq;
    Synergy__Admin__V1__QueueResponse *resp = (void *)rs;
    size_t limit = r->limit == 0 ? ADMIN_QUEUE_PAGE
                   : r->limit > ADMIN_QUEUE_PAGE_MAX ? ADMIN_QUEUE_PAGE_MAX
                                                       : r->limit;
    pthread_mutex_lock(&d->mu);
    double now = d->adm.accepting ? deploy__logical_now(d) : 0;
    size_t cap = d->n_jobs + (d->adm.n_subs - d->adm.n_merged), m = 0;
    struct qent *e = xmalloc((cap + 1) * sizeof *e);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        bool arrived = i < d->next_arrival;
        if ((uint64_t)dj->spec->id < r->from_id)
            continue;
        if (!arrived && !dj->sub && !(d->adm.accepting && dj->spec->arrival <= now))
            continue; /* a trace job of the future */
        if (!r->all && !job_active(dj) && !(dj->cancel_req && !dj->cancelled))
            continue;
        e[m++] = (struct qent){.id = (uint64_t)dj->spec->id, .dj = dj, .arrived = arrived};
    }
    for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++)
        if ((uint64_t)d->adm.subs[i]->spec.id >= r->from_id)
            e[m++] = (struct qent){.id = (uint64_t)d->adm.subs[i]->spec.id,
                                   .sub = d->adm.subs[i]};
    qsort(e, m, sizeof *e, qent_cmp);
    size_t k = m < limit ? m : limit;
    resp->jobs = xcalloc(k + 1, sizeof *resp->jobs);
    for (size_t i = 0; i < k; i++) {
        if (e[i].dj) {
            resp->jobs[resp->n_jobs++] = job_info(d, e[i].dj, e[i].arrived, now);
        } else {
            struct djob tmp = {.spec = &e[i].sub->spec, .sub = e[i].sub,
                               .cancel_req = e[i].sub->cancel, .finish = -1};
            resp->jobs[resp->n_jobs++] = job_info(d, &tmp, false, now);
        }
    }
    if (r->start) deploy__queue_forecast(d, resp->jobs, resp->n_jobs); /* after job_info */
    resp->more = m > k;
    resp->now_s = now;
    resp->round_s = d->round_s;
    pthread_mutex_unlock(&d->mu);
    free(e);
    return 0;
}

/* ------------------------------------------------------------ cancel */

int deploy__admin_cancel_ids(struct deploy *d, const struct deploy_caller *who,
                             const ProtobufCMessage *rq, ProtobufCMessage *rs, rpc_call_t *park,
                             char *msg, size_t n)
{
    const Synergy__Admin__V1__CancelRequest *r = (const void *)rq;
    Synergy__Admin__V1__CancelResponse *resp = (void *)rs;
    if (r->n_job_ids == 0) {
        snprintf(msg, n, "no job ids");
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    if (r->n_job_ids > 4096) {
        snprintf(msg, n, "at most 4096 job ids at once");
        return RPC_STATUS_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&d->mu);
    struct djob **hit = xcalloc(r->n_job_ids, sizeof *hit);
    struct dsub **hit_sub = xcalloc(r->n_job_ids, sizeof *hit_sub);
    int st = 0;
    for (size_t k = 0; k < r->n_job_ids && st == 0; k++) {
        uint64_t id = r->job_ids[k];
        struct djob *dj = deploy__job_by_id(d, id);
        size_t i = dj ? (size_t)(dj - d->jobs) : 0;
        if (dj && (i < d->next_arrival || dj->sub ||
                   (d->adm.accepting && dj->spec->arrival <= deploy__logical_now(d))))
            hit[k] = dj;
        for (size_t i = d->adm.n_merged; i < d->adm.n_subs && !hit[k]; i++)
            if ((uint64_t)d->adm.subs[i]->spec.id == id)
                hit_sub[k] = d->adm.subs[i];
        if (!hit[k] && !hit_sub[k]) {
            snprintf(msg, n, "no job %llu", (unsigned long long)id);
            st = RPC_STATUS_NOT_FOUND;
        } else if ((hit[k] && !job_active(hit[k])) || (hit_sub[k] && hit_sub[k]->cancel)) {
            snprintf(msg, n, "job %llu is already %s", (unsigned long long)id,
                     hit[k] ? job_state(hit[k], true) : "cancelling");
            st = RPC_STATUS_FAILED_PRECONDITION;
        } else {
            st = deploy__tenant_may_cancel(d, who, id, hit[k] ? hit[k]->sub : hit_sub[k], msg,
                                           n);
        }
    }
    /* stored first, then marked and answered: at once when no round is being
     * written, else at the round's commit */
    for (size_t k = 0; k < r->n_job_ids && st == 0; k++) {
        const struct dsub *s = hit[k] ? hit[k]->sub : hit_sub[k];
        const struct job_spec *sp = hit[k] ? hit[k]->spec : &hit_sub[k]->spec;
        struct deploy_state_admin row = {.id = sp->id, .gpus = sp->gpus,
                                         .iterations = sp->iterations, .arrival = sp->arrival,
                                         .priority = s ? s->priority : 0,
                                         .submitted = s != NULL, .cancelled = true};
        snprintf(row.name, sizeof row.name, "%s", s ? s->name : "");
        snprintf(row.user, sizeof row.user, "%s", s ? deploy__ident_name(d, s->ident) : "trace");
        snprintf(row.model, sizeof row.model, "%s", sp->model);
        snprintf(row.gpu_types, sizeof row.gpu_types, "%s", sp->gpu_types);
        snprintf(row.tenant, sizeof row.tenant, "%s", sp->tenant);
        struct err e = {{0}};
        if (deploy_state_admin_put(d->db, &row, &e) < 0) {
            snprintf(msg, n, "the cancel could not be stored: %.200s", e.msg);
            st = RPC_STATUS_UNAVAILABLE;
        }
    }
    if (st == 0)
        d->durable.cancels_seen++;
    if (st == 0 && park && deploy_state_in_txn(d->db)) {
        uint64_t *ids = rpc_call_alloc(park, r->n_job_ids * sizeof *ids);
        memcpy(ids, r->job_ids, r->n_job_ids * sizeof *ids);
        xgrow((void **)&d->adm.cancel_wait, &d->adm.cap_cancel_wait, d->adm.n_cancel_wait + 1,
              sizeof *d->adm.cancel_wait);
        d->adm.cancel_wait[d->adm.n_cancel_wait++] =
            (struct dcancel_wait){.call = park, .ids = ids, .n = r->n_job_ids};
        st = -1;
    } else if (st == 0) {
        resp->cancelled = xcalloc(r->n_job_ids, sizeof *resp->cancelled);
        memcpy(resp->cancelled, r->job_ids, r->n_job_ids * sizeof *resp->cancelled);
        resp->n_cancelled = r->n_job_ids;
        cancel_mark(d, r->job_ids, r->n_job_ids);
    }
    pthread_mutex_unlock(&d->mu);
    free(hit);
    free(hit_sub);
    return st;
}

/* ------------------------------------------------------------ nodes */

int deploy__admin_nodes(struct deploy *d, ProtobufCMessage *rs)
{
    Synergy__Admin__V1__NodesResponse *resp = (void *)rs;
    pthread_mutex_lock(&d->mu);
    long long now = mono_ns();
    resp->nodes = xcalloc(d->reg.n_workers + 1, sizeof *resp->nodes);
    for (size_t i = 0; i < d->reg.n_workers; i++) {
        const struct dworker *w = &d->reg.workers[i];
        Synergy__Admin__V1__NodeInfo *ni = xcalloc(1, sizeof *ni);
        synergy__admin__v1__node_info__init(ni);
        ni->server_id = (uint32_t)i;
        char addr[128];
        snprintf(addr, sizeof addr, "%s:%d", w->a.ip, w->a.port);
        ni->address = xstrdup(addr);
        ni->identity = xstrdup(d->cfg->tls ? w->a.identity : "");
        /* joining: registered and heartbeating, in planning from the next
         * round (a service plans at once with the workers it has) */
        ni->state = xstrdup(!w->registered ? "unregistered"
                            : w->lost      ? "lost"
                            : w->marked_down ? "joining"
                                             : "up");
        ni->gpus_total = (uint32_t)sched_server_cap(d->sched, (int)i, RES_GPU);
        ni->cpus_total = sched_server_cap(d->sched, (int)i, RES_CPU);
        ni->mem_total_gb = sched_server_cap(d->sched, (int)i, RES_MEM);
        ni->gpu_type = xstrdup(sched_num_gpu_types(d->sched) > 0
                                   ? sched_gpu_type_name(d->sched,
                                                         sched_server(d->sched, (int)i)->gpu_type)
                                   : "");
        /* a running job holds its GPUs until the round that records its end,
         * as queue and /metrics say, even once its processes exited: the
         * plan gives them to another job only at that boundary */
        for (size_t k = 0; k < d->n_jobs; k++) {
            const struct djob *dj = &d->jobs[k];
            bool here = false;
            for (int r = 0; dj->state == DJ_RUNNING && r < dj->n_ranks; r++) {
                const struct drank *rk = &dj->ranks[r];
                if (rk->server != (int)i)
                    continue;
                ni->gpus_used += (uint32_t)rk->n_gpus;
                ni->cpus_used += rk->cpus;
                ni->mem_used_gb += rk->mem;
                here = true;
            }
            ni->jobs += here;
        }
        ni->heartbeat_age_s = w->registered ? (double)(now - w->last_hb_ns) / 1e9 : -1;
        ni->tenants = deploy__node_tenants(d, (int)i);
        resp->nodes[resp->n_nodes++] = ni;
    }
    pthread_mutex_unlock(&d->mu);
    return 0;
}

/* Each JobInfo and NodeInfo is freed with all its strings by protobuf-c
 * (ours are malloc'd; unset ones point at its shared empty string, which it
 * skips): a field added later cannot leak, as JobInfo.reason did, a string
 * per listed job per queue call. */
void deploy__admin_resp_free(ProtobufCMessage *rs)
{
    if (rs->descriptor == &synergy__admin__v1__queue_response__descriptor) {
        Synergy__Admin__V1__QueueResponse *r = (void *)rs;
        for (size_t i = 0; i < r->n_jobs; i++)
            protobuf_c_message_free_unpacked(&r->jobs[i]->base, NULL);
        free(r->jobs);
        r->jobs = NULL;
        r->n_jobs = 0;
    } else if (rs->descriptor == &synergy__admin__v1__nodes_response__descriptor) {
        Synergy__Admin__V1__NodesResponse *r = (void *)rs;
        for (size_t i = 0; i < r->n_nodes; i++)
            protobuf_c_message_free_unpacked(&r->nodes[i]->base, NULL);
        free(r->nodes);
        r->nodes = NULL;
        r->n_nodes = 0;
    } else if (rs->descriptor == &synergy__admin__v1__cancel_response__descriptor) {
        Synergy__Admin__V1__CancelResponse *r = (void *)rs;
        free(r->cancelled);
        r->cancelled = NULL;
        r->n_cancelled = 0;
    }
}

/* ------------------------------------------------------------ transport */

/* Queue, Cancel and Nodes fill their responses with heap memory, freed by
 * deploy__admin_resp_free once rpc has packed the reply. */
static enum rpc_result finish_call(rpc_call_t *call, ProtobufCMessage *resp, int st,
                                   const char *msg)
{
    rpc_call_set_cleanup(call, deploy__admin_resp_free);
    if (st == 0)
        return RPC_REPLY;
    rpc_call_set_status(call, st, msg); /* copied (up to 159 characters) */
    return RPC_FAILED;
}

/* What every admin handler starts with: the caller's right to the service,
 * its identity, and room for a refusal's message. */
struct admin_call {
    struct deploy *d;
    struct deploy_caller who;
    const char *user;
    char msg[256];
};

static bool admin_enter(void *ud, rpc_call_t *call, struct admin_call *a)
{
    a->d = ud;
    a->msg[0] = '\0';
    bool ok = admin_allowed(a->d, call, &a->who);
    a->user = a->who.user;
    return ok;
}

static enum rpc_result h_submit(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                ProtobufCMessage *rs)
{
    struct admin_call a;
    if (!admin_enter(ud, call, &a))
        return RPC_FAILED;
    int st = deploy__admin_submit(a.d, &a.who, rq, rs, call, a.msg, sizeof a.msg);
    if (st < 0)
        return RPC_PARKED;
    if (st != 0)
        LOG(LOG_INFO, "deploy", "submission by %s refused: %s", a.user, a.msg);
    return finish_call(call, rs, st, a.msg);
}

static enum rpc_result h_queue(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                               ProtobufCMessage *rs)
{
    struct admin_call a;
    if (!admin_enter(ud, call, &a))
        return RPC_FAILED;
    int st = deploy__admin_queue(a.d, rq, rs, a.msg, sizeof a.msg);
    return finish_call(call, rs, st, a.msg);
}

static enum rpc_result h_cancel(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                ProtobufCMessage *rs)
{
    struct admin_call a;
    if (!admin_enter(ud, call, &a))
        return RPC_FAILED;
    int st = deploy__admin_cancel_ids(a.d, &a.who, rq, rs, call, a.msg, sizeof a.msg);
    if (st < 0)
        return RPC_PARKED;
    if (st == 0)
        LOG(LOG_INFO, "deploy", "cancel by %s of %zu job(s)", a.user,
            ((Synergy__Admin__V1__CancelResponse *)rs)->n_cancelled);
    return finish_call(call, rs, st, a.msg);
}

static enum rpc_result h_nodes(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                               ProtobufCMessage *rs)
{
    (void)rq;
    struct admin_call a;
    if (!admin_enter(ud, call, &a))
        return RPC_FAILED;
    rpc_call_set_cleanup(call, deploy__admin_resp_free);
    deploy__admin_nodes(a.d, rs);
    return RPC_REPLY;
}

static enum rpc_result h_share(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                               ProtobufCMessage *rs)
{
    (void)rq;
    struct admin_call a;
    if (!admin_enter(ud, call, &a))
        return RPC_FAILED;
    int st = deploy__admin_share(a.d, rs, a.msg, sizeof a.msg);
    rpc_call_set_cleanup(call, deploy__share_free);
    if (st == 0)
        return RPC_REPLY;
    rpc_call_set_status(call, st, a.msg);
    return RPC_FAILED;
}

void deploy__admin_add_service(struct deploy *d, rpc_server_t *srv)
{
    static const struct rpc_method h[] = {{"Submit", h_submit},
                                          {"Queue", h_queue},
                                          {"Cancel", h_cancel},
                                          {"Nodes", h_nodes},
                                          {"Share", h_share},
                                          {NULL, NULL}};
    /* its own lane: heartbeats and job calls never queue behind admin calls */
    rpc_server_add_service_lane(srv, &synergy__admin__v1__admin__descriptor, h, d,
                                RPC_LANE_ADMIN);
}
