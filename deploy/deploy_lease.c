/*
 * Leases (see deploy.c for the round): a job runs on its workers until a
 * wall-clock deadline the scheduler keeps moving. This file launches new
 * leases (RunJob, one per (job, server), on physical GPUs kept jobs do not
 * hold), extends kept ones (ExtendLease), keeps slow-but-alive jobs' leases
 * from lapsing while the round loop waits, and kills (KillJob).
 */
#include "deploy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synergy_worker.pb-c.h"

static void extend_lease(struct deploy *d, struct djob *dj, long long until_ns);

/* How far past its round a lease reaches: the slack, plus twice the slowest
 * stop-and-launch fan-out seen so far (on a loaded machine RunJobs take
 * seconds, and no lease is kept alive while they are sent). */
long long deploy__lease_slack(const struct deploy *d)
{
    return d->lease.slack_ns + (long long)(2e6 * (d->st->dispatch_ms_max + d->lease.stop_ms_max));
}

/* Keep the leases of jobs that are slow, not hung: a job parked in RoundEnd
 * (it waits for us), one that still talks in its round, one that talks after
 * its stop (winding down). A job silent for d->lease.silence_ns, or one that
 * ignores its stop, is left to its lease's end. Leases are wall-clock
 * deadlines on the workers, so a late scheduler must not let them lapse. */
void deploy__keep_leases(struct deploy *d)
{
    long long now = mono_ns();
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING || dj->n_exited >= dj->n_ranks || dj->crashed || dj->lost ||
            dj->lease_until_ns - now >= deploy__lease_slack(d) / 2)
            continue;
        bool alive;
        if (dj->terminated) {
            alive = dj->last_msg_ns > dj->stop_ns && now - dj->last_msg_ns < d->lease.silence_ns;
        } else {
            long long heard =
                dj->last_msg_ns > dj->launched_ns ? dj->last_msg_ns : dj->launched_ns;
            alive = deploy__round_ended(dj) || now - heard < d->lease.silence_ns;
        }
        dj->let_lapse = !alive;
        if (!alive)
            continue;
        extend_lease(d, dj, now + deploy__lease_slack(d));
        now = mono_ns();
    }
}

/* --------------------------------------------------------- placements */

static void save_signature(struct djob *dj)
{
    struct job *j = dj->j;
    xgrow((void **)&dj->sig_shares, &dj->sig_cap, (size_t)j->n_shares + 1,
          sizeof *dj->sig_shares);
    dj->sig_n_shares = j->n_shares;
    memcpy(dj->sig_shares, j->shares, sizeof(struct job_share) * (size_t)j->n_shares);
}

void deploy__lease_persist(struct deploy *d, struct djob *dj, double b, const char *state)
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

/* One RunJob to send: prepared under d->mu, sent without it, in parallel. */
struct pending_run {
    struct djob *dj;
    int rank;
    Synergy__V1__RunJobRequest req;
    uint32_t gpus[64];
    int status;
    unsigned processes; /* iterator processes the worker launched */
    long long until_ns; /* the lease's end, fixed when the RunJob is sent */
    char err[512];
};

struct run_batch {
    struct deploy *d;
    struct pending_run *p;
    size_t n;
    size_t next; /* guarded by mu */
    pthread_mutex_t mu;
    long long t_start; /* when the requests' lease_ms were computed */
};

/* Physical GPUs (local indexes on the worker) for a new lease on `server`:
 * the plan's own GPUs where no running job holds them, else the lowest ones
 * nobody holds. Running jobs keep their physical GPUs across renumbering
 * plans, so the plan's ids are only a count per server. busy[] marks the
 * server's physical GPUs in use (kept leases and earlier launches). */
static void map_gpus(struct deploy *d, int server, const int *plan, int n, int *out, bool *busy)
{
    const struct server_spec *sp = sched_server(d->sched, server);
    int gps = sp->gpus;
    int base = d->reg.workers[server].a.start_gpu;
    bool *want = xcalloc((size_t)gps, sizeof *want);
    for (int k = 0; k < n; k++)
        out[k] = -1;
    for (int k = 0; k < n; k++) {
        int g = plan[k] - sp->first_gpu;
        if (!busy[g] && !want[g]) {
            want[g] = true;
            out[k] = g;
        }
    }
    for (int k = 0; k < n; k++) {
        if (out[k] >= 0)
            continue;
        for (int g = 0; g < gps; g++)
            if (!busy[g] && !want[g]) {
                want[g] = true;
                out[k] = g;
                break;
            }
    }
    for (int k = 0; k < n; k++) {
        if (out[k] < 0) /* cannot happen: the plan fits the server */
            out[k] = plan[k] - sp->first_gpu;
        busy[out[k]] = true;
        out[k] += base;
    }
    free(want);
}

/* Prepare the job's new lease and queue one RunJob per server. busy[server]
 * is that server's physical-GPU map (see map_gpus). */
static void launch(struct deploy *d, struct djob *dj, double b, long long lease_until_ns,
                   bool **busy, struct pending_run **q, size_t *nq, size_t *capq)
{
    struct job *j = dj->j;
    deploy__lease_tables(dj);
    dj->launch++;
    dj->n_ranks = j->n_shares;
    dj->n_procs = dj->n_ranks; /* more if a worker launches one process per GPU */
    dj->n_registered = 0;
    dj->procs_restored = false;
    for (int i = 0; i < j->n_shares; i++) {
        struct drank *rk = &dj->ranks[i];
        memset(rk, 0, sizeof *rk);
        rk->server = j->shares[i].server;
        int plan[64];
        for (int k = 0; k < j->n_alloc; k++)
            if (sched_gpu_server(d->sched, j->alloc_gpus[k]) == rk->server && rk->n_gpus < 64)
                plan[rk->n_gpus++] = j->alloc_gpus[k];
        map_gpus(d, rk->server, plan, rk->n_gpus, rk->gpus, busy[rk->server]);
        rk->cpus = (int)lround(j->shares[i].cpu);
        rk->mem = j->shares[i].mem;
    }
    deploy__reset_round(dj);
    dj->n_exited = 0;
    dj->crashed = dj->lost = dj->terminated = dj->lease_killed = dj->stop_ignored = false;
    dj->let_lapse = false;
    dj->state = DJ_RUNNING;
    dj->launched_ns = mono_ns();
    dj->first_report_ns = 0;
    dj->last_msg_ns = 0;
    dj->stop_ns = 0;
    dj->startup_s = -1;
    dj->startup_saved = false;
    dj->restored = false;
    dj->lease_ours = true;
    dj->lease_b = b;
    dj->lease_until_ns = lease_until_ns;
    save_signature(dj);
    double it = sched_job_iter_time(d->sched, j);
    for (int r = 0; r < dj->n_ranks; r++) {
        struct drank *rk = &dj->ranks[r];
        if (d->reg.workers[rk->server].lost) {
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
        long long ms = (lease_until_ns - mono_ns()) / 1000000LL;
        req.lease_ms = (uint32_t)(ms > 1 ? ms : 1);
        req.sched_addr = (char *)d->advertise;
        req.sched_port = (uint32_t)d->port;
        req.job_token = (char *)deploy__job_token(dj);
        req.rank = (uint32_t)r;
        req.world = (uint32_t)dj->n_ranks;
        /* one process per GPU: its RANK is rank_base + LOCAL_RANK of job_gpus */
        for (int k = 0; k < r; k++)
            req.rank_base += (uint32_t)dj->ranks[k].n_gpus;
        req.job_gpus = (uint32_t)j->n_alloc;
        req.time_scale = d->cfg->time_scale;
        long long kw = d->lease.kill_wait_ns / 1000000LL; /* 0 is the worker's default */
        req.kill_wait_ms = (uint32_t)(kw > 1 ? kw : 1);
        /* the tenants file's, immutable for the run: safe without d->mu */
        req.unix_user = (char *)deploy__job_unix_user(d, dj);
        p->req = req;
    }
    deploy__lease_persist(d, dj, b, "active");
    deploy__job_persist(d, dj, "running");
    if (d->db) { /* a restarted scheduler checks this attempt's calls at once */
        struct deploy_state_token t = {.job = dj->spec->id, .attempt = dj->token_launch,
                                       .prev_attempt = dj->prev_launch};
        memcpy(t.token, dj->token, sizeof t.token);
        memcpy(t.prev_token, dj->prev_token, sizeof t.prev_token);
        deploy_state_token(d->db, &t, NULL);
    }
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
        /* a slow fan-out must not eat the lease: a round plus the slack
         * from the moment this RunJob leaves, at least */
        long long now = mono_ns(), min_until = now + rb->d->lease.round_ns + deploy__lease_slack(rb->d);
        p->until_ns = (long long)p->req.lease_ms * 1000000LL + rb->t_start;
        if (p->until_ns < min_until)
            p->until_ns = min_until;
        p->req.lease_ms = (uint32_t)((p->until_ns - now) / 1000000LL);
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        rpc_client_t *cl = rb->d->reg.workers[p->dj->ranks[p->rank].server].cl;
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
    struct run_batch rb = {.d = d, .p = q, .n = n, .t_start = mono_ns()};
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
            if (p->until_ns > dj->lease_until_ns)
                dj->lease_until_ns = p->until_ns;
            if (p->processes > 1 && dj->n_procs + (int)p->processes - 1 <= DJ_MAX_PROCS)
                dj->n_procs += (int)p->processes - 1;
            continue;
        }
        if (p->status == RPC_STATUS_UNAVAILABLE || p->status == RPC_STATUS_DEADLINE_EXCEEDED) {
            deploy__lose_worker(d, rk->server, p->err);
        } else if (p->status == RPC_STATUS_FAILED_PRECONDITION && !rk->exited) {
            /* the worker still holds an earlier attempt (being killed): the
             * launch did not happen; not the job's fault, retried next round */
            LOG(LOG_INFO, "deploy", "job %d not started on server %d: %s", dj->spec->id,
                rk->server, p->err);
            rk->exited = true;
            dj->n_exited++;
            dj->lost = true;
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

/* Move the job's lease end on its workers to until_ns (no answer to the job). */
static void extend_lease(struct deploy *d, struct djob *dj, long long until_ns)
{
    dj->lease_until_ns = until_ns;
    for (int r = 0; r < dj->n_ranks; r++) {
        Synergy__V1__ExtendLeaseRequest req = SYNERGY__V1__EXTEND_LEASE_REQUEST__INIT;
        req.job_id = (uint64_t)dj->spec->id;
        long long ms = (until_ns - mono_ns()) / 1000000LL;
        req.lease_ms = (uint32_t)(ms > 1 ? ms : 1);
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int server = dj->ranks[r].server;
        if (d->reg.workers[server].lost || !d->reg.workers[server].cl || dj->ranks[r].exited)
            continue;
        int st = deploy__worker_call(d, server, "ExtendLease", &req.base, &resp, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (st == RPC_STATUS_OK)
            dj->lease_ours = true;
        if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
            deploy__lose_worker(d, server, err.msg);
    }
}

/* The job keeps its placement for the next round: answer "go on". */
void deploy__extend(struct deploy *d, struct djob *dj, double b, long long lease_until_ns)
{
    deploy__answer_round_end(dj, false);
    deploy__reset_round(dj);
    extend_lease(d, dj, lease_until_ns);
    deploy__lease_persist(d, dj, b, "extended");
}

void deploy__kill_job(struct deploy *d, struct djob *dj)
{
    for (int r = 0; r < dj->n_ranks; r++) {
        int server = dj->ranks[r].server;
        if (dj->ranks[r].exited || d->reg.workers[server].lost || !d->reg.workers[server].cl)
            continue;
        Synergy__V1__KillJobRequest req = SYNERGY__V1__KILL_JOB_REQUEST__INIT;
        req.job_id = (uint64_t)dj->spec->id;
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int st = deploy__worker_call(d, server, "KillJob", &req.base, &resp, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
            deploy__lose_worker(d, server, err.msg);
    }
}

/* E: RunJob the new placements, one call per (job, server). */
void deploy__launch_round(struct deploy *d, double b)
{
    long long t_launch = mono_ns();
    long long lease = t_launch + d->lease.round_ns + deploy__lease_slack(d);
    if (lease < d->lease.until_ns)
        lease = d->lease.until_ns;
    /* the physical GPUs the kept leases hold */
    bool **busy = xcalloc(d->reg.n_workers, sizeof *busy);
    for (size_t s = 0; s < d->reg.n_workers; s++)
        busy[s] = xcalloc((size_t)sched_server(d->sched, (int)s)->gpus, sizeof **busy);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING)
            continue;
        for (int r = 0; r < dj->n_ranks; r++)
            for (int k = 0; k < dj->ranks[r].n_gpus; k++) {
                int sv = dj->ranks[r].server;
                int g = dj->ranks[r].gpus[k] - d->reg.workers[sv].a.start_gpu;
                if (g >= 0 && g < sched_server(d->sched, sv)->gpus)
                    busy[dj->ranks[r].server][g] = true;
            }
    }
    struct pending_run *q = NULL;
    size_t nq = 0, capq = 0;
    for (size_t i = 0; i < d->n_jobs; i++)
        if (d->relaunch[i])
            launch(d, &d->jobs[i], b, lease, busy, &q, &nq, &capq);
    send_runs(d, q, nq);
    free(q);
    for (size_t s = 0; s < d->reg.n_workers; s++)
        free(busy[s]);
    free(busy);
    d->dispatch_ms += (double)(mono_ns() - t_launch) / 1e6;
}
