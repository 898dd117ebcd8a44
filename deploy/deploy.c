/*
 * The deploy round loop (see deploy.h). One driver thread; RPC handlers
 * (deploy_rpc.c) only record reports and signal d->cv. Every wait is a
 * pthread_cond_timedwait on CLOCK_MONOTONIC, bounded by the next round
 * boundary, a lease deadline or the worker heartbeat timeout: nothing spins.
 *
 * A round at logical time b, processed at wall time t0 + b / K:
 *  A. wait until every running job has ended its round (all ranks parked in
 *     RoundEnd, or LeaseEnded because it reached its total, or exited), at
 *     most until b + grace; a job still silent then is treated as crashed.
 *  B. credit the measured steps (the plan credited the budget up front, as in
 *     the simulator; a crash keeps only the steps last reported), release,
 *     finish or retry jobs, add arrivals, take lost workers out of planning.
 *  C. plan with the round ledger (sched_run_plan, as the simulator); a job
 *     placed exactly as before keeps running (RoundEnd answered "extend",
 *     worker lease extended); every other parked RoundEnd is told to stop.
 *  D. wait for the stopped jobs' processes to be gone (worker exit reports;
 *     the worker kills a job that ignores the stop at its lease expiry).
 *  E. RunJob the new placements, one call per (job, server).
 * JCT is measured on the wall clock: arrival -> the boundary at which the
 * finished lease was processed, times K.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_to_scheduler.pb-c.h"
#include "synergy_worker.pb-c.h"

long long deploy__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double deploy__logical_now(const struct deploy *d)
{
    return (double)(deploy__mono_ns() - d->t0_ns) / 1e9 * d->cfg->time_scale;
}

static long long wall_ns(const struct deploy *d, double b)
{
    return d->t0_ns + (long long)(b / d->cfg->time_scale * 1e9);
}

struct djob *deploy__find_job(struct deploy *d, uint64_t id)
{
    for (size_t i = 0; i < d->n_jobs; i++)
        if ((uint64_t)d->jobs[i].spec->id == id && d->jobs[i].j)
            return &d->jobs[i];
    return NULL;
}

/* ------------------------------------------------------- workers file */

int deploy_workers_read(const char *path, struct deploy_worker_addr **out, size_t *n,
                        struct err *err)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errprintf(err, "%s: %s", path, strerror(errno));
    char line[512];
    int ln = 0;
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = str_trim(line);
        if (!*s || *s == '#')
            continue;
        struct deploy_worker_addr a = {0};
        char *fields[5];
        int nf = 0;
        char *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t && nf < 5; t = strtok_r(NULL, ",", &save))
            fields[nf++] = str_trim(t);
        long v[4];
        if (nf != 5 || strlen(fields[0]) >= sizeof a.ip || parse_long(fields[1], &v[0]) < 0 ||
            parse_long(fields[2], &v[1]) < 0 || parse_long(fields[3], &v[2]) < 0 ||
            parse_long(fields[4], &v[3]) < 0 || v[0] < 0 || v[0] > 65535 || v[1] < 0 ||
            v[2] < 0 || (v[3] != 0 && v[3] != 1)) {
            fclose(f);
            free(*out);
            *out = NULL;
            *n = 0;
            return errprintf(err, "%s:%d: expected ip,port,start_gpu,start_cpu,numa(0|1) "
                             "(port 0-65535; 0: the port the worker reports)", path, ln);
        }
        snprintf(a.ip, sizeof a.ip, "%s", fields[0]);
        a.port = (int)v[0];
        a.start_gpu = (int)v[1];
        a.start_cpu = (int)v[2];
        a.numa = (int)v[3];
        xgrow((void **)out, &cap, *n + 1, sizeof **out);
        (*out)[(*n)++] = a;
    }
    fclose(f);
    if (*n == 0)
        return errprintf(err, "%s: no workers listed", path);
    return 0;
}

/* ------------------------------------------------------------ reports */

void deploy__job_exited(struct deploy *d, struct djob *dj, int server, int code, int sig,
                        bool lease_kill)
{
    for (int r = 0; r < dj->n_ranks; r++) {
        struct drank *rk = &dj->ranks[r];
        if (rk->server != server || rk->exited)
            continue;
        rk->exited = true;
        dj->n_exited++;
        bool clean = code == 0 && sig == 0;
        if (lease_kill) {
            d->st->lease_kills++;
            dj->lease_killed = true;
        }
        if (dj->state == DJ_RUNNING && !dj->terminated && !(clean && dj->n_lease_ended > 0) &&
            !dj->crashed) {
            dj->crashed = true;
            d->st->crashes++;
            LOG(LOG_WARN, "deploy", "job %d crashed on server %d (%s %d)", dj->spec->id, server,
                sig ? "signal" : "exit code", sig ? sig : code);
        }
        break;
    }
    pthread_cond_broadcast(&d->cv);
}

/* A worker's report of its running jobs. Today: a registration of a worker
 * that was lost keeps it out of planning (as before); nothing is reconciled
 * yet and nothing killed. d9a owns this function (issue 9: adoption,
 * unknown jobs killed, missing expected jobs treated as exited). */
int deploy__worker_report(struct deploy *d, int server, enum deploy_report kind,
                          const struct deploy_running *run, size_t n, struct deploy_kill *kill,
                          size_t cap, size_t *n_kill)
{
    (void)run;
    (void)n;
    (void)kill;
    (void)cap;
    *n_kill = 0;
    struct dworker *w = &d->workers[server];
    if (kind == DEPLOY_REPORT_HEARTBEAT)
        return w->registered ? 0 : -1;
    if (w->lost)
        LOG(LOG_WARN, "deploy", "server %d re-registered after being lost; it stays out of "
                                "planning for this run", server);
    return 0;
}

/* Lose workers whose heartbeat is overdue; their ranks count as gone. */
static void check_workers(struct deploy *d)
{
    long long now = deploy__mono_ns();
    for (size_t i = 0; i < d->n_workers; i++) {
        struct dworker *w = &d->workers[i];
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

static void timed_wait(struct deploy *d, long long until_ns)
{
    long long cap = deploy__mono_ns() + (long long)d->cfg->heartbeat_ms * 1000000LL;
    if (until_ns > cap)
        until_ns = cap;
    struct timespec ts = {.tv_sec = until_ns / 1000000000LL, .tv_nsec = until_ns % 1000000000LL};
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    check_workers(d);
}

static bool round_ended(const struct djob *dj)
{
    return dj->n_parked + dj->n_lease_ended >= dj->n_procs || dj->n_exited >= dj->n_ranks ||
           dj->crashed || dj->lost;
}

static void answer_parked(struct djob *dj, bool terminate)
{
    deploy__answer_parked(dj, terminate);
}

/* --------------------------------------------------------- placements */

static void save_signature(struct djob *dj)
{
    struct job *j = dj->j;
    free(dj->sig_gpus);
    free(dj->sig_shares);
    dj->sig_n_gpus = j->n_alloc;
    dj->sig_gpus = xmalloc(sizeof(int) * (size_t)(j->n_alloc + 1));
    memcpy(dj->sig_gpus, j->alloc_gpus, sizeof(int) * (size_t)j->n_alloc);
    dj->sig_n_shares = j->n_shares;
    dj->sig_shares = xmalloc(sizeof(struct job_share) * (size_t)(j->n_shares + 1));
    memcpy(dj->sig_shares, j->shares, sizeof(struct job_share) * (size_t)j->n_shares);
}

/* The reference's lease rule: same GPUs, same CPUs and memory per server. */
static bool same_placement(const struct djob *dj)
{
    const struct job *j = dj->j;
    if (j->n_alloc != dj->sig_n_gpus || j->n_shares != dj->sig_n_shares)
        return false;
    if (memcmp(j->alloc_gpus, dj->sig_gpus, sizeof(int) * (size_t)j->n_alloc) != 0)
        return false;
    for (int i = 0; i < j->n_shares; i++) {
        const struct job_share *a = &j->shares[i], *b = &dj->sig_shares[i];
        if (a->server != b->server || a->cpu != b->cpu || a->mem != b->mem)
            return false;
    }
    return true;
}

static void reset_round(struct djob *dj)
{
    dj->ended_ns = 0;
    deploy__reset_reports(dj);
    dj->round_end_steps = -1;
    dj->lease_end_steps = 0;
    dj->progress_steps = 0;
}

static void job_persist(struct deploy *d, struct djob *dj, const char *state)
{
    if (!d->db || !dj->j)
        return;
    deploy_state_job(d->db, dj->spec->id, dj->j->model->name, state, dj->launch,
                     dj->j->executed, dj->j->total_iters, dj->spec->arrival, dj->finish, NULL);
}

static void lease_persist(struct deploy *d, struct djob *dj, double b, const char *state)
{
    if (!d->db)
        return;
    for (int r = 0; r < dj->n_ranks; r++) {
        char g[512] = "";
        for (int k = 0; k < dj->ranks[r].n_gpus; k++)
            snprintf(g + strlen(g), sizeof g - strlen(g), "%s%d", k ? "," : "",
                     dj->ranks[r].gpus[k]);
        deploy_state_lease(d->db, dj->spec->id, dj->launch, dj->ranks[r].server, g,
                           dj->ranks[r].cpus, dj->ranks[r].mem, b, b + d->round_s, state, NULL);
    }
}

static void lose_worker(struct deploy *d, int server, const char *why)
{
    struct dworker *w = &d->workers[server];
    if (w->lost)
        return;
    w->last_hb_ns = 0;
    LOG(LOG_WARN, "deploy", "server %d: %s", server, why);
    /* check_workers() does the bookkeeping for an overdue heartbeat */
    check_workers(d);
}

/* Call a worker without holding d->mu. Returns the gRPC status. */
static int worker_call(struct deploy *d, int server, const char *method,
                       const ProtobufCMessage *req, ProtobufCMessage **resp, struct err *err)
{
    rpc_client_t *cl = d->workers[server].cl;
    pthread_mutex_unlock(&d->mu);
    int st = rpc_client_call(cl, &synergy__v1__scheduler_to_worker__descriptor, method, req, resp,
                             2000, err);
    pthread_mutex_lock(&d->mu);
    return st;
}

/* One RunJob to send: prepared under d->mu, sent without it, in parallel. */
struct pending_run {
    struct djob *dj;
    int rank;
    Synergy__V1__RunJobRequest req;
    uint32_t gpus[64];
    int status;
    unsigned processes; /* iterator processes the worker launched */
    char err[512];
};

struct run_batch {
    struct deploy *d;
    struct pending_run *p;
    size_t n;
    size_t next; /* guarded by mu */
    pthread_mutex_t mu;
};

/* Prepare the job's new lease and queue one RunJob per server. */
static void launch(struct deploy *d, struct djob *dj, double b, long long lease_until_ns,
                   struct pending_run **q, size_t *nq, size_t *capq)
{
    struct job *j = dj->j;
    int gps = d->cfg->sched.cluster.gpus_per_server;
    dj->launch++;
    dj->n_ranks = j->n_shares;
    dj->n_procs = dj->n_ranks; /* more if a worker launches one process per GPU */
    for (int i = 0; i < j->n_shares; i++) {
        struct drank *rk = &dj->ranks[i];
        memset(rk, 0, sizeof *rk);
        rk->server = j->shares[i].server;
        for (int k = 0; k < j->n_alloc; k++)
            if (j->alloc_gpus[k] / gps == rk->server && rk->n_gpus < 64)
                rk->gpus[rk->n_gpus++] =
                    j->alloc_gpus[k] % gps + d->workers[rk->server].a.start_gpu;
        rk->cpus = (int)lround(j->shares[i].cpu);
        rk->mem = j->shares[i].mem;
    }
    reset_round(dj);
    dj->n_exited = 0;
    dj->crashed = dj->lost = dj->terminated = dj->lease_killed = false;
    dj->state = DJ_RUNNING;
    dj->launched_ns = deploy__mono_ns();
    save_signature(dj);
    double it = sched_job_iter_time(d->sched, j);
    for (int r = 0; r < dj->n_ranks; r++) {
        struct drank *rk = &dj->ranks[r];
        if (d->workers[rk->server].lost) {
            rk->exited = true;
            dj->n_exited++;
            dj->lost = true;
            continue;
        }
        xgrow((void **)q, capq, *nq + 1, sizeof **q);
        struct pending_run *p = &(*q)[(*nq)++];
        memset(p, 0, sizeof *p);
        p->dj = dj;
        p->rank = r;
        Synergy__V1__RunJobRequest req = SYNERGY__V1__RUN_JOB_REQUEST__INIT;
        for (int k = 0; k < rk->n_gpus; k++)
            p->gpus[k] = (uint32_t)rk->gpus[k];
        req.version = 1;
        req.job_id = (uint64_t)dj->spec->id;
        req.attempt = (uint32_t)dj->launch;
        req.model = (char *)j->model->name;
        req.n_gpus = (size_t)rk->n_gpus;
        req.cpus = (uint32_t)(rk->cpus > 0 ? rk->cpus : 1);
        req.mem_gb = rk->mem;
        req.total_iters = (uint64_t)j->total_iters;
        req.elapsed_iters = (uint64_t)dj->base;
        req.batch_size = (uint32_t)j->model->batch;
        req.iter_time_s = it;
        long long ms = (lease_until_ns - deploy__mono_ns()) / 1000000LL;
        req.lease_ms = (uint32_t)(ms > 1 ? ms : 1);
        req.sched_addr = (char *)d->advertise;
        req.sched_port = (uint32_t)d->port;
        req.rank = (uint32_t)r;
        req.world = (uint32_t)dj->n_ranks;
        /* one process per GPU: its RANK is rank_base + LOCAL_RANK of job_gpus */
        for (int k = 0; k < r; k++)
            req.rank_base += (uint32_t)dj->ranks[k].n_gpus;
        req.job_gpus = (uint32_t)j->n_alloc;
        req.time_scale = d->cfg->time_scale;
        p->req = req;
    }
    lease_persist(d, dj, b, "active");
    job_persist(d, dj, "running");
}

static void *run_sender(void *arg)
{
    struct run_batch *rb = arg;
    for (;;) {
        pthread_mutex_lock(&rb->mu);
        size_t i = rb->next++;
        pthread_mutex_unlock(&rb->mu);
        if (i >= rb->n)
            return NULL;
        struct pending_run *p = &rb->p[i];
        p->req.gpus = p->gpus;
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        rpc_client_t *cl = rb->d->workers[p->dj->ranks[p->rank].server].cl;
        p->status = rpc_client_call(cl, &synergy__v1__scheduler_to_worker__descriptor, "RunJob",
                                    &p->req.base, &resp, 5000, &err);
        snprintf(p->err, sizeof p->err, "%s", err.msg);
        if (resp) {
            p->processes = ((Synergy__V1__RunJobResponse *)resp)->processes;
            protobuf_c_message_free_unpacked(resp, NULL);
        }
    }
}

/* Send the queued RunJobs, up to 8 at a time (a RunJob returns once the
 * worker's fork+execve succeeded), with d->mu released; then note refusals
 * and lost workers. Called with d->mu held. */
static void send_runs(struct deploy *d, struct pending_run *q, size_t n)
{
    if (n == 0)
        return;
    struct run_batch rb = {.d = d, .p = q, .n = n};
    pthread_mutex_init(&rb.mu, NULL);
    pthread_t th[8];
    int nt = n < 8 ? (int)n : 8;
    pthread_mutex_unlock(&d->mu);
    for (int i = 1; i < nt; i++)
        pthread_create(&th[i], NULL, run_sender, &rb);
    run_sender(&rb);
    for (int i = 1; i < nt; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&d->mu);
    pthread_mutex_destroy(&rb.mu);
    for (size_t i = 0; i < n; i++) {
        struct pending_run *p = &q[i];
        struct djob *dj = p->dj;
        struct drank *rk = &dj->ranks[p->rank];
        if (p->status == RPC_STATUS_OK) {
            if (p->processes > 1 && dj->n_procs + (int)p->processes - 1 <= DJ_MAX_PROCS)
                dj->n_procs += (int)p->processes - 1;
            continue;
        }
        if (p->status == RPC_STATUS_UNAVAILABLE || p->status == RPC_STATUS_DEADLINE_EXCEEDED) {
            lose_worker(d, rk->server, p->err);
        } else if (!rk->exited) {
            LOG(LOG_WARN, "deploy", "job %d refused by server %d: %s", dj->spec->id, rk->server,
                p->err);
            rk->exited = true;
            dj->n_exited++;
            if (!dj->crashed) {
                dj->crashed = true;
                d->st->crashes++;
            }
        }
    }
}

static void extend(struct deploy *d, struct djob *dj, double b, long long lease_until_ns)
{
    answer_parked(dj, false);
    reset_round(dj);
    for (int r = 0; r < dj->n_ranks; r++) {
        Synergy__V1__ExtendLeaseRequest req = SYNERGY__V1__EXTEND_LEASE_REQUEST__INIT;
        req.job_id = (uint64_t)dj->spec->id;
        long long ms = (lease_until_ns - deploy__mono_ns()) / 1000000LL;
        req.lease_ms = (uint32_t)(ms > 1 ? ms : 1);
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int server = dj->ranks[r].server;
        if (d->workers[server].lost)
            continue;
        int st = worker_call(d, server, "ExtendLease", &req.base, &resp, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
            lose_worker(d, server, err.msg);
    }
    lease_persist(d, dj, b, "extended");
}

static void kill_job(struct deploy *d, struct djob *dj)
{
    for (int r = 0; r < dj->n_ranks; r++) {
        int server = dj->ranks[r].server;
        if (dj->ranks[r].exited || d->workers[server].lost)
            continue;
        Synergy__V1__KillJobRequest req = SYNERGY__V1__KILL_JOB_REQUEST__INIT;
        req.job_id = (uint64_t)dj->spec->id;
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int st = worker_call(d, server, "KillJob", &req.base, &resp, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
            lose_worker(d, server, err.msg);
    }
}

/* ---------------------------------------------------------------- run */

static int arrival_cmp(const void *a, const void *b)
{
    const struct djob *x = a, *y = b;
    if (x->spec->arrival != y->spec->arrival)
        return x->spec->arrival < y->spec->arrival ? -1 : 1;
    return (x->spec > y->spec) - (x->spec < y->spec);
}

static void finish_job(struct deploy *d, struct djob *dj, double b)
{
    struct job *j = dj->j;
    /* the lease ends at the boundary, or when the job's last report came
     * in if that was later (a late job delays its own completion) */
    double now = dj->ended_ns ? (double)(dj->ended_ns - d->t0_ns) / 1e9 * d->cfg->time_scale : b;
    if (now < b)
        now = b;
    dj->finish = now;
    dj->state = DJ_DONE;
    sched_run_finish(d->ledger, j, now);
    job_persist(d, dj, "finished");
    if (d->cfg->plan_log)
        fprintf(d->cfg->plan_log, "finish %d %.3f\n", j->id, now - j->arrival);
}

int deploy_run(const struct deploy_config *cfg, struct sched_result *res, struct deploy_stats *st,
               struct err *err)
{
    memset(res, 0, sizeof *res);
    memset(st, 0, sizeof *st);
    if (cfg->n_jobs == 0)
        return errprintf(err, "the trace has no jobs");
    if (!(cfg->time_scale > 0))
        return errprintf(err, "the time scale must be positive");
    struct deploy *d = xcalloc(1, sizeof *d);
    d->cfg = cfg;
    d->advertise = cfg->advertise     ? cfg->advertise
                   : cfg->listen_ip ? cfg->listen_ip
                                    : "127.0.0.1";
    d->st = st;
    d->round_s = cfg->sched.round_duration;
    int rc = -1;

    struct sched_run_params rp = {
        .sched = cfg->sched,
        .zoo = cfg->zoo,
        .trace = cfg->jobs,
        .n_trace = cfg->n_jobs,
        .log_tag = "deploy",
    };
    d->ledger = sched_run_create(&rp, err);
    if (!d->ledger)
        goto out_free;
    d->sched = sched_run_sched(d->ledger);
    if ((size_t)sched_num_servers(d->sched) != cfg->n_workers) {
        errprintf(err, "the cluster has %d servers but the workers file lists %zu",
                  sched_num_servers(d->sched), cfg->n_workers);
        goto out_free;
    }
    d->n_jobs = cfg->n_jobs;
    d->jobs = xcalloc(cfg->n_jobs, sizeof *d->jobs);
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        d->jobs[i].spec = &cfg->jobs[i];
        d->jobs[i].round_end_steps = -1;
        d->jobs[i].finish = -1;
    }
    /* arrivals in (time, trace order), like the simulator's event heap */
    qsort(d->jobs, d->n_jobs, sizeof *d->jobs, arrival_cmp);
    d->n_workers = cfg->n_workers;
    d->workers = xcalloc(cfg->n_workers, sizeof *d->workers);
    for (size_t i = 0; i < cfg->n_workers; i++)
        d->workers[i].a = cfg->workers[i];
    d->db = deploy_state_open(cfg->state_path ? cfg->state_path : ":memory:", err);
    if (!d->db)
        goto out_free;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    d->t0_ns = deploy__mono_ns();
    if (deploy__serve(d, err) < 0)
        goto out_sync;
    if (cfg->on_listening)
        cfg->on_listening(cfg->ctx, d->port);

    pthread_mutex_lock(&d->mu);
    long long reg_deadline = deploy__mono_ns() + (long long)cfg->register_timeout_ms * 1000000LL;
    for (;;) {
        size_t n_reg = 0;
        for (size_t i = 0; i < d->n_workers; i++)
            n_reg += d->workers[i].registered;
        if (n_reg == d->n_workers)
            break;
        if (deploy__mono_ns() >= reg_deadline) {
            errprintf(err, "only %zu of %zu workers registered within %d ms", n_reg, d->n_workers,
                      cfg->register_timeout_ms);
            pthread_mutex_unlock(&d->mu);
            goto out_srv;
        }
        struct timespec ts = {reg_deadline / 1000000000LL, reg_deadline % 1000000000LL};
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    }
    /* heartbeats restart now: registration may have taken a while */
    d->t0_ns = deploy__mono_ns();
    for (size_t i = 0; i < d->n_workers; i++)
        d->workers[i].last_hb_ns = d->t0_ns;

    long long round_ns = (long long)(d->round_s / cfg->time_scale * 1e9);
    long long grace_ns = round_ns / 2 > 400000000LL ? round_ns / 2 : 400000000LL;
    double round = d->round_s;
    double b = cfg->is_static ? 1 : ceil(cfg->jobs[0].arrival / round) * round;
    size_t next_arrival = 0;
    for (;;) {
        /* ------------------------------------------ wait for the boundary */
        while (deploy__mono_ns() < wall_ns(d, b))
            timed_wait(d, wall_ns(d, b));
        double late_ms = (double)(deploy__mono_ns() - wall_ns(d, b)) / 1e6;
        if (late_ms > st->max_lateness_ms)
            st->max_lateness_ms = late_ms;
        d->cur_b = b;

        /* ---------------------------------- A: every lease ends its round */
        /* a job launched late (after a slow stop) gets its grace from its launch */
        long long deadline_a = wall_ns(d, b) + grace_ns;
        for (size_t i = 0; i < d->n_jobs; i++)
            if (d->jobs[i].state == DJ_RUNNING && d->jobs[i].launched_ns + grace_ns > deadline_a)
                deadline_a = d->jobs[i].launched_ns + grace_ns;
        for (;;) {
            bool all = true;
            for (size_t i = 0; i < d->n_jobs; i++) {
                struct djob *dj = &d->jobs[i];
                if (dj->state != DJ_RUNNING)
                    continue;
                if (!round_ended(dj))
                    all = false;
                else if (!dj->ended_ns)
                    dj->ended_ns = deploy__mono_ns();
            }
            if (all || deploy__mono_ns() >= deadline_a)
                break;
            timed_wait(d, deadline_a);
        }
        deploy_state_begin(d->db, NULL);

        /* ------------------------- B: credit, release, finish, arrivals */
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (dj->state != DJ_RUNNING)
                continue;
            struct job *j = dj->j;
            if (!round_ended(dj)) {
                /* silent: kill it; a worker that cannot be reached is lost
                 * (its jobs move, no retry is charged) */
                kill_job(d, dj);
            }
            if (!round_ended(dj)) {
                LOG(LOG_WARN, "deploy", "job %d did not end its round in time (%d/%d parked, %d lease ended, %d exited, %.0f ms late)", dj->spec->id, dj->n_parked, dj->n_procs, dj->n_lease_ended, dj->n_exited, (double)(deploy__mono_ns() - wall_ns(d, b)) / 1e6);
                dj->crashed = true;
                st->crashes++;
            }
            long steps;
            if (dj->crashed || dj->lost)
                steps = dj->progress_steps;
            else if (dj->n_parked > 0)
                steps = dj->n_lease_ended > 0 && dj->lease_end_steps < dj->round_end_steps
                            ? dj->lease_end_steps
                            : dj->round_end_steps;
            else
                steps = dj->lease_end_steps;
            sched_run_credit(d->ledger, j, steps);
            if (sched_run_lease_end(d->ledger, j, b)) {
                answer_parked(dj, true);
                finish_job(d, dj, b);
            } else if (dj->crashed && !dj->lost) {
                dj->crashes++;
                if (dj->crashes > cfg->max_retries) {
                    LOG(LOG_WARN, "deploy", "job %d failed after %d crashes", dj->spec->id,
                        dj->crashes);
                    answer_parked(dj, true);
                    sched_run_fail(d->ledger, j);
                    dj->state = DJ_FAILED;
                    st->jobs_failed++;
                    job_persist(d, dj, "failed");
                }
            }
        }
        /* like the simulator: the run ends the moment every job is done */
        bool all_over = next_arrival == d->n_jobs;
        for (size_t i = 0; i < d->n_jobs && all_over; i++)
            all_over = d->jobs[i].state == DJ_DONE || d->jobs[i].state == DJ_FAILED;
        if (all_over) {
            /* let the last exits come in before the server goes away */
            long long until = deploy__mono_ns() + 3000000000LL;
            for (;;) {
                bool gone = true;
                for (size_t i = 0; i < d->n_jobs && gone; i++)
                    gone = d->jobs[i].n_exited >= d->jobs[i].n_ranks;
                if (gone || deploy__mono_ns() >= until)
                    break;
                timed_wait(d, until);
            }
            deploy_state_commit(d->db, NULL);
            break;
        }
        while (next_arrival < d->n_jobs && d->jobs[next_arrival].spec->arrival <= b) {
            struct djob *dj = &d->jobs[next_arrival++];
            dj->j = sched_run_arrive(d->ledger, dj->spec, err);
            if (!dj->j) {
                pthread_mutex_unlock(&d->mu);
                goto out_srv;
            }
            dj->state = DJ_QUEUED;
            job_persist(d, dj, "queued");
        }
        for (size_t i = 0; i < d->n_workers; i++)
            if (d->workers[i].lost && !d->workers[i].marked_down) {
                sched_server_set_down(d->sched, (int)i, true);
                d->workers[i].marked_down = true;
            }

        /* ----------------------------------------------------- C: plan */
        long long t_plan = deploy__mono_ns();
        struct job **placed;
        size_t n_placed;
        struct sched_round_sample smp;
        if (sched_run_plan(d->ledger, b, &placed, &n_placed, &smp, err) < 0) {
            pthread_mutex_unlock(&d->mu);
            goto out_srv;
        }
        double plan_ms = (double)(deploy__mono_ns() - t_plan) / 1e6;
        if (cfg->plan_log) {
            fprintf(cfg->plan_log, "%.6f:", b);
            for (size_t i = 0; i < n_placed; i++)
                fprintf(cfg->plan_log, " %d", placed[i]->id);
            fprintf(cfg->plan_log, "\n");
        }
        for (size_t i = 0; i < n_placed; i++) {
            struct djob *dj = deploy__find_job(d, (uint64_t)placed[i]->id);
            sched_run_round_credit(d->ledger, placed[i], &dj->base, &dj->budget);
        }
        st->preemptions += smp.preempted;

        long long t_dispatch = deploy__mono_ns();
        long long lease_until = wall_ns(d, b + round) + 2 * grace_ns;
        /* extend unchanged placements, stop the rest */
        bool *relaunch = xcalloc(d->n_jobs, sizeof *relaunch);
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (dj->state == DJ_QUEUED) {
                relaunch[i] = dj->j->n_alloc > 0;
                continue;
            }
            if (dj->state != DJ_RUNNING)
                continue;
            bool healthy = !dj->crashed && !dj->lost && dj->n_parked == dj->n_procs;
            if (dj->j->n_alloc > 0 && healthy && same_placement(dj)) {
                extend(d, dj, b, lease_until);
                continue;
            }
            answer_parked(dj, true);
            relaunch[i] = dj->j->n_alloc > 0;
            if (dj->crashed || dj->lost)
                st->relaunches += relaunch[i];
        }
        double dispatch_ms = (double)(deploy__mono_ns() - t_dispatch) / 1e6;

        /* ------------------------ D: wait for the stopped jobs to be gone */
        long long deadline_d = lease_until - round_ns + 3000000000LL;
        for (;;) {
            bool all = true;
            for (size_t i = 0; i < d->n_jobs && all; i++) {
                struct djob *dj = &d->jobs[i];
                if ((dj->state == DJ_RUNNING && dj->terminated) ||
                    dj->state == DJ_DONE || dj->state == DJ_FAILED)
                    if (dj->n_ranks > 0 && dj->n_exited < dj->n_ranks)
                        all = false;
            }
            if (all)
                break;
            if (deploy__mono_ns() >= deadline_d) {
                for (size_t i = 0; i < d->n_jobs; i++) {
                    struct djob *dj = &d->jobs[i];
                    if (dj->n_ranks > 0 && dj->n_exited < dj->n_ranks &&
                        (dj->terminated || dj->state != DJ_RUNNING)) {
                        LOG(LOG_WARN, "deploy", "job %d: no exit report; killing it",
                            dj->spec->id);
                        kill_job(d, dj);
                        for (int r = 0; r < dj->n_ranks; r++)
                            dj->ranks[r].exited = true;
                        dj->n_exited = dj->n_ranks;
                    }
                }
                break;
            }
            timed_wait(d, deadline_d);
        }
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (dj->state == DJ_RUNNING && dj->terminated) {
                lease_persist(d, dj, b - round, dj->crashed ? "crashed" : dj->lost ? "lost" : "ended");
                dj->state = DJ_QUEUED;
                dj->n_ranks = 0;
                job_persist(d, dj, "queued");
            }
            if (dj->state == DJ_DONE || dj->state == DJ_FAILED)
                dj->n_ranks = 0;
        }

        /* ------------------------------------ E: launch new placements */
        long long t_launch = deploy__mono_ns();
        long long lease_launch = deploy__mono_ns() + 2 * grace_ns;
        if (lease_launch < lease_until)
            lease_launch = lease_until;
        struct pending_run *q = NULL;
        size_t nq = 0, capq = 0;
        for (size_t i = 0; i < d->n_jobs; i++)
            if (relaunch[i])
                launch(d, &d->jobs[i], b, lease_launch, &q, &nq, &capq);
        send_runs(d, q, nq);
        free(q);
        free(relaunch);
        dispatch_ms += (double)(deploy__mono_ns() - t_launch) / 1e6;
        st->plan_ms_sum += plan_ms;
        st->dispatch_ms_sum += dispatch_ms;
        st->dispatch_rounds++;
        if (plan_ms > st->plan_ms_max)
            st->plan_ms_max = plan_ms;
        if (dispatch_ms > st->dispatch_ms_max)
            st->dispatch_ms_max = dispatch_ms;
        deploy_state_commit(d->db, NULL);
        LOG(LOG_DEBUG, "deploy", "round %.0f: %zu placed, late %.1f ms, plan %.2f ms, extend+stop-wait %.1f ms, dispatch %.1f ms",
            b, n_placed, late_ms, plan_ms, (double)(t_launch - t_dispatch) / 1e6, dispatch_ms);

        if (sched_runnable_count(d->sched) == 0 &&
            (cfg->is_static || next_arrival == d->n_jobs))
            break;
        b += round;
    }
    pthread_mutex_unlock(&d->mu);

    sched_run_result(d->ledger, b, res);
    rc = 0;
out_srv:
    /* nothing may stay parked: tell any leftover job to stop */
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_jobs; i++)
        answer_parked(&d->jobs[i], true);
    pthread_mutex_unlock(&d->mu);
    rpc_server_destroy(d->srv);
    for (size_t i = 0; i < d->n_workers; i++)
        rpc_client_destroy(d->workers[i].cl);
    for (size_t i = 0; i < d->n_dead_cl; i++)
        rpc_client_destroy(d->dead_cl[i]);
    free(d->dead_cl);
out_sync:
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
out_free:
    deploy_state_close(d->db);
    for (size_t i = 0; i < d->n_jobs; i++) {
        free(d->jobs[i].sig_gpus);
        free(d->jobs[i].sig_shares);
    }
    free(d->jobs);
    free(d->workers);
    sched_run_destroy(d->ledger);
    free(d);
    return rc;
}
