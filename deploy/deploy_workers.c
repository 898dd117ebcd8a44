/*
 * The worker registry of the deploy driver: the --workers file, registration
 * at start, heartbeats overdue (a lost worker's ranks count as gone), and
 * calls to a worker made without d->mu held.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "synergy_worker.pb-c.h"

/* ------------------------------------------------------- workers file */

int deploy_workers_read(const char *path, struct deploy_worker_addr **out, size_t *n,
                        struct err *err)
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
        struct deploy_worker_addr a = {0};
        char *fields[7];
        int nf = 0;
        char *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t && nf < 7; t = strtok_r(NULL, ",", &save))
            fields[nf++] = str_trim(t);
        long v[4];
        bool bad_id = nf == 6 && (!fields[5][0] || strlen(fields[5]) >= sizeof a.identity ||
                                  strspn(fields[5], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                    "qrstuvwxyz0123456789._-") != strlen(fields[5]));
        if ((nf != 5 && nf != 6) || bad_id || strlen(fields[0]) >= sizeof a.ip || parse_long(fields[1], &v[0]) < 0 ||
            parse_long(fields[2], &v[1]) < 0 || parse_long(fields[3], &v[2]) < 0 ||
            parse_long(fields[4], &v[3]) < 0 || v[0] < 0 || v[0] > 65535 || v[1] < 0 ||
            v[2] < 0 || (v[3] != 0 && v[3] != 1)) {
            got = errprintf(err, "%s:%d: expected ip,port,start_gpu,start_cpu,numa(0|1)"
                            "[,identity] (port 0-65535; 0: the port the worker reports; "
                            "identity: a certificate CN of [A-Za-z0-9._-])", path, lr.lineno);
            break;
        }
        snprintf(a.ip, sizeof a.ip, "%s", fields[0]);
        a.port = (int)v[0];
        a.start_gpu = (int)v[1];
        a.start_cpu = (int)v[2];
        a.numa = (int)v[3];
        if (nf == 6)
            snprintf(a.identity, sizeof a.identity, "%s", fields[5]);
        else
            snprintf(a.identity, sizeof a.identity, "worker-%zu", *n);
        xgrow((void **)out, &cap, *n + 1, sizeof **out);
        (*out)[(*n)++] = a;
    }
    line_reader_close(&lr);
    if (got < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n == 0)
        return errprintf(err, "%s: no workers listed", path);
    return 0;
}

/* Lose workers whose heartbeat is overdue; their ranks count as gone. */
void deploy__check_workers(struct deploy *d)
{
    long long now = mono_ns();
    for (size_t i = 0; i < d->reg.n_workers; i++) {
        struct dworker *w = &d->reg.workers[i];
        if (!w->registered || w->lost ||
            now - w->last_hb_ns < (long long)d->cfg->worker_timeout_ms * 1000000LL)
            continue;
        w->lost = true;
        d->st->workers_lost++;
        LOG(LOG_WARN, "deploy", "server %zu (%s:%d) lost: no heartbeat for %d ms", i, w->a.ip,
            w->a.port, d->cfg->worker_timeout_ms);
        if (d->db)
            deploy_state_worker(d->db, (int)i, w->a.ip, w->a.port, "lost", w->n_gpus, NULL);
        for (size_t k = 0; k < d->n_jobs; k++) {
            struct djob *dj = &d->jobs[k];
            if (dj->state != DJ_RUNNING)
                continue;
            for (int r = 0; r < dj->n_ranks; r++)
                if (dj->ranks[r].server == (int)i && !dj->ranks[r].exited) {
                    dj->ranks[r].exited = true;
                    dj->n_exited++;
                    dj->lost = true;
                }
        }
    }
}

void deploy__lose_worker(struct deploy *d, int server, const char *why)
{
    struct dworker *w = &d->reg.workers[server];
    if (w->lost)
        return;
    w->last_hb_ns = 0;
    LOG(LOG_WARN, "deploy", "server %d: %s", server, why);
    /* deploy__check_workers() does the bookkeeping for an overdue heartbeat */
    deploy__check_workers(d);
}

/* Call a worker without holding d->mu. Returns the gRPC status. */
int deploy__worker_call(struct deploy *d, int server, const char *method,
                       const ProtobufCMessage *req, ProtobufCMessage **resp, struct err *err)
{
    rpc_client_t *cl = d->reg.workers[server].cl;
    pthread_mutex_unlock(&d->mu);
    int st = rpc_client_call(cl, &synergy__v1__scheduler_to_worker__descriptor, method, req, resp,
                             2000, err);
    pthread_mutex_lock(&d->mu);
    return st;
}

static size_t n_registered(const struct deploy *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->reg.n_workers; i++)
        n += d->reg.workers[i].registered && !d->reg.workers[i].lost;
    return n;
}

/* "server 0 at 10.0.0.1:50051, server 3 (--local), ... and 5 more": the
 * servers not registered yet, for the waiting line. */
static void missing_workers(const struct deploy *d, char *buf, size_t n)
{
    size_t len = 0, shown = 0, left = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->reg.n_workers; i++) {
        const struct dworker *w = &d->reg.workers[i];
        if (w->registered && !w->lost)
            continue;
        if (shown == 8 || len >= n) {
            left++;
            continue;
        }
        if (w->a.port)
            len += (size_t)snprintf(buf + len, n - len, "%sserver %zu at %s:%d", shown ? ", " : "",
                                    i, w->a.ip, w->a.port);
        else
            len += (size_t)snprintf(buf + len, n - len, "%sserver %zu (--local)", shown ? ", " : "",
                                    i);
        shown++;
    }
    if (left && len < n)
        snprintf(buf + len, n - len, " and %zu more", left);
}

/* Wait until cfg->wait_workers workers (all when 0) registered; servers still
 * missing then stay out of planning until they register. 0, or -1 + err on
 * the registration timeout. A service (no --trace) does not die of a missing
 * worker (issue 21): a new one starts planning at once with the workers it
 * has; a restarted one waits up to the timeout for its workers to come back
 * (to adopt their jobs), then goes on without the missing ones. Called with
 * d->mu held. */
int deploy__wait_registration(struct deploy *d, struct err *err)
{
    const struct deploy_config *cfg = d->cfg;
    size_t need = cfg->wait_workers > 0 && (size_t)cfg->wait_workers < d->reg.n_workers
                      ? (size_t)cfg->wait_workers
                      : d->reg.n_workers;
    if (cfg->service) /* --wait-workers is a start-up condition of trace runs only */
        need = d->restarted ? d->reg.n_workers : 0;
    long long start = mono_ns();
    long long deadline = start + (long long)cfg->register_timeout_ms * 1000000LL;
    long long next_log = start + 2000000000LL;
    for (;;) {
        size_t n = n_registered(d);
        if (n >= need)
            break;
        long long now = mono_ns();
        if (cfg->stop && *cfg->stop) /* a service stopped before its workers came */
            return errprintf(err, "stopped while waiting for workers (%zu of %zu registered)", n,
                             d->reg.n_workers);
        if (now >= deadline && cfg->service) {
            LOG(LOG_WARN, "deploy", "only %zu of %zu workers re-registered within %d ms: "
                "going on without the others (they join planning when they register)",
                n, d->reg.n_workers, cfg->register_timeout_ms);
            break;
        }
        if (now >= deadline)
            return errprintf(err, "only %zu of %zu workers registered within %d ms (waiting for %zu)",
                             n, d->reg.n_workers, cfg->register_timeout_ms, need);
        if (now >= next_log) {
            char missing[512];
            missing_workers(d, missing, sizeof missing);
            LOG(LOG_WARN, "deploy", "waiting for workers: %zu of %zu registered (missing: %s); "
                "planning starts at %zu, giving up in %.0f s", n, d->reg.n_workers, missing, need,
                (double)(deadline - now) / 1e9);
            next_log = now + 5000000000LL;
        }
        long long until = deadline < next_log ? deadline : next_log;
        if (until > now + 1000000000LL)
            until = now + 1000000000LL; /* watchdog pings */
        struct timespec ts = {until / 1000000000LL, until % 1000000000LL};
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        deploy__publish(d, -1, 0, 0); /* workers up; a watchdog ping */
    }
    d->st->registration_s = (double)(mono_ns() - start) / 1e9;
    for (size_t i = 0; i < d->reg.n_workers; i++) {
        struct dworker *w = &d->reg.workers[i];
        if (w->registered)
            continue;
        LOG(cfg->service && !d->restarted ? LOG_INFO : LOG_WARN, "deploy",
            "server %zu (%s:%d) not registered: out of planning until it is", i, w->a.ip,
            w->a.port);
        sched_server_set_down(d->sched, (int)i, true);
        w->marked_down = true;
        /* a restarted scheduler's jobs there are gone for now */
        for (size_t k = 0; k < d->n_jobs; k++) {
            struct djob *dj = &d->jobs[k];
            for (int r = 0; r < dj->n_ranks; r++)
                if (dj->ranks[r].server == (int)i && !dj->ranks[r].exited) {
                    dj->ranks[r].exited = true;
                    dj->n_exited++;
                    dj->lost = true;
                }
        }
    }
    return 0;
}

void deploy__workers_sync_planning(struct deploy *d)
{
    for (size_t i = 0; i < d->reg.n_workers; i++) {
        struct dworker *w = &d->reg.workers[i];
        bool up = w->registered && !w->lost;
        if (!up && !w->marked_down) {
            sched_server_set_down(d->sched, (int)i, true);
            w->marked_down = true;
        } else if (up && w->marked_down) {
            LOG(LOG_INFO, "deploy", "server %zu back in planning", i);
            sched_server_set_down(d->sched, (int)i, false);
            w->marked_down = false;
        }
    }
}
