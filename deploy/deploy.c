/*
 * The deploy round loop (see deploy.h). One driver thread; RPC handlers
 * (deploy_rpc.c) only record reports and signal d->cv. Every wait is a
 * pthread_cond_timedwait on CLOCK_MONOTONIC, bounded by the next round
 * boundary, a lease deadline or the worker heartbeat timeout: nothing spins.
 *
 * A round at logical time b, processed at wall time t0 + b / K, one function
 * per phase (run_rounds):
 *  A. phase_a_round_end: wait until every running job has ended its round
 *     (all ranks parked in RoundEnd, or LeaseEnded at its total, or exited).
 *     A late job is waited for: a delay, logged and visible in its JCT, not a
 *     crash. The parked jobs' leases are kept alive meanwhile; only the late
 *     job's own lease end bounds the wait (its worker kills it: charged).
 *  B. phase_b_credit / phase_b_arrivals: the ledger replaces the plan's
 *     up-front credit with the measured steps (a crash keeps only the steps
 *     last reported); leases end, jobs finish or are charged; arrivals; lost
 *     workers leave planning and registered ones return.
 *  C. phase_c_plan: the ledger plans; a job kept on the same servers with the
 *     same GPU count, CPUs and memory keeps running (RoundEnd answered
 *     "extend", lease extended) even if the plan renumbered its GPUs; every
 *     other parked RoundEnd is told to stop.
 *  D. phase_d_stop_wait: wait for the stopped jobs' processes to be gone. A
 *     job that ignores its stop is killed by its worker at its lease's end and
 *     charged a retry; the job that waits for its GPUs is not.
 *  E. phase_e_launch: RunJob the new placements, one call per (job, server),
 *     on physical GPUs that kept jobs do not hold (map_gpus).
 * JCT is measured on the wall clock: arrival -> the boundary at which the
 * finished lease was processed, times K.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_to_scheduler.pb-c.h"
#include "notify.h"
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
            fclose(f);
            free(*out);
            *out = NULL;
            *n = 0;
            return errprintf(err, "%s:%d: expected ip,port,start_gpu,start_cpu,numa(0|1)"
                             "[,identity] (port 0-65535; 0: the port the worker reports; "
                             "identity: a certificate CN of [A-Za-z0-9._-])", path, ln);
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
        if (lease_kill && !dj->lease_ours && dj->state == DJ_RUNNING && !dj->terminated) {
            /* a restored job whose lease ran out before this scheduler could
             * extend it (the outage, or its worker re-registering late) */
            dj->lost = true;
            LOG(LOG_INFO, "deploy", "job %d attempt %d ended while the scheduler was away: "
                                    "relaunched without a charge", dj->spec->id, dj->launch);
            break;
        }
        if (lease_kill && dj->state == DJ_RUNNING && !dj->terminated && !dj->let_lapse) {
            /* nobody decided to let this lease go: the scheduler was too late
             * to extend it (starved of CPU, stalled). Its lateness, not the
             * job's fault: relaunched, not charged. A job left silent near
             * its lease's end (keep_leases) is charged below. */
            dj->lost = true;
            d->st->lease_kills++;
            dj->lease_killed = true;
            LOG(LOG_WARN, "deploy", "job %d attempt %d: its lease ran out before the scheduler "
                                    "extended it (scheduler late): relaunched without a charge",
                dj->spec->id, dj->launch);
            break;
        }
        if (lease_kill) {
            d->st->lease_kills++;
            dj->lease_killed = true;
            /* told to stop, still there at its lease's end: charged in D */
            if (dj->terminated && dj->state == DJ_RUNNING)
                dj->stop_ignored = true;
        }
        if (dj->state == DJ_RUNNING && !dj->terminated && !(clean && dj->n_lease_ended > 0) &&
            !dj->crashed) {
            dj->crashed = true;
            d->st->crashes++;
            LOG(LOG_WARN, "deploy", "job %d crashed on server %d (%s %d%s)", dj->spec->id,
                server, sig ? "signal" : "exit code", sig ? sig : code,
                lease_kill ? ", killed at its lease's end" : "");
        }
        break;
    }
    deploy__note_round_end(dj);
    pthread_cond_broadcast(&d->cv);
}

static bool round_ended(const struct djob *dj);

/* Stamp the moment a job's round ended (its last rank parked, its lease
 * ended, or it exited), when the report comes in: the driver may reach the
 * boundary late (a long stop-and-launch round on a loaded machine), and that
 * lateness is the scheduler's, not the job's; it must not be charged to the
 * job's JCT or counted as the job's delay. */
void deploy__note_round_end(struct djob *dj)
{
    if (dj->state == DJ_RUNNING && !dj->ended_ns && round_ended(dj))
        dj->ended_ns = deploy__mono_ns();
}

void deploy__job_heard(struct deploy *d, struct djob *dj)
{
    long long now = deploy__mono_ns();
    dj->last_msg_ns = now;
    dj->restored = false;
    if (!dj->first_report_ns && dj->state == DJ_RUNNING) {
        dj->first_report_ns = now;
        dj->startup_s = (double)(now - dj->launched_ns) / 1e9;
    }
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

static void extend_lease(struct deploy *d, struct djob *dj, long long until_ns);

/* How far past its round a lease reaches: the slack, plus twice the slowest
 * stop-and-launch fan-out seen so far (on a loaded machine RunJobs take
 * seconds, and no lease is kept alive while they are sent). */
static long long lease_slack(const struct deploy *d)
{
    return d->slack_ns + (long long)(2e6 * (d->st->dispatch_ms_max + d->stop_ms_max));
}

/* Keep the leases of jobs that are slow, not hung: a job parked in RoundEnd
 * (it waits for us), one that still talks in its round, one that talks after
 * its stop (winding down). A job silent for d->silence_ns, or one that
 * ignores its stop, is left to its lease's end. Leases are wall-clock
 * deadlines on the workers, so a late scheduler must not let them lapse. */
static void keep_leases(struct deploy *d)
{
    long long now = deploy__mono_ns();
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING || dj->n_exited >= dj->n_ranks || dj->crashed || dj->lost ||
            dj->lease_until_ns - now >= lease_slack(d) / 2)
            continue;
        bool alive;
        if (dj->terminated) {
            alive = dj->last_msg_ns > dj->stop_ns && now - dj->last_msg_ns < d->silence_ns;
        } else {
            long long heard =
                dj->last_msg_ns > dj->launched_ns ? dj->last_msg_ns : dj->launched_ns;
            alive = round_ended(dj) || now - heard < d->silence_ns;
        }
        dj->let_lapse = !alive;
        if (!alive)
            continue;
        extend_lease(d, dj, now + lease_slack(d));
        now = deploy__mono_ns();
    }
}

static void timed_wait(struct deploy *d, long long until_ns)
{
    keep_leases(d);
    long long cap = deploy__mono_ns() + (long long)d->cfg->heartbeat_ms * 1000000LL;
    if (until_ns > cap)
        until_ns = cap;
    struct timespec ts = {.tv_sec = until_ns / 1000000000LL, .tv_nsec = until_ns % 1000000000LL};
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    notify_watchdog();
    check_workers(d);
}

static bool round_ended(const struct djob *dj)
{
    return dj->n_parked + dj->n_lease_ended >= dj->n_procs || dj->n_exited >= dj->n_ranks ||
           dj->crashed || dj->lost;
}

static void answer_parked(struct djob *dj, bool terminate)
{
    if (terminate && !dj->terminated)
        dj->stop_ns = deploy__mono_ns();
    deploy__answer_parked(dj, terminate);
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

/* The lease rule: the same servers, and on each the same number of GPUs, CPUs
 * and memory. Which GPUs does not matter: a plan that only renumbers a job's
 * GPUs keeps it running on its physical ones (map_gpus()). */
static bool same_placement(const struct djob *dj)
{
    const struct job *j = dj->j;
    if (j->n_shares != dj->sig_n_shares)
        return false;
    for (int i = 0; i < j->n_shares; i++) {
        const struct job_share *a = &j->shares[i];
        bool found = false;
        for (int k = 0; k < dj->sig_n_shares && !found; k++) {
            const struct job_share *b = &dj->sig_shares[k];
            found = a->server == b->server && a->gpu == b->gpu && a->cpu == b->cpu &&
                    a->mem == b->mem;
        }
        if (!found)
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
    int gps = d->cfg->sched.cluster.gpus_per_server;
    int base = d->workers[server].a.start_gpu;
    bool *want = xcalloc((size_t)gps, sizeof *want);
    for (int k = 0; k < n; k++)
        out[k] = -1;
    for (int k = 0; k < n; k++) {
        int g = plan[k] % gps;
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
            out[k] = plan[k] % gps;
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
    int gps = d->cfg->sched.cluster.gpus_per_server;
    dj->launch++;
    dj->n_ranks = j->n_shares;
    dj->n_procs = dj->n_ranks; /* more if a worker launches one process per GPU */
    for (int i = 0; i < j->n_shares; i++) {
        struct drank *rk = &dj->ranks[i];
        memset(rk, 0, sizeof *rk);
        rk->server = j->shares[i].server;
        int plan[64];
        for (int k = 0; k < j->n_alloc; k++)
            if (j->alloc_gpus[k] / gps == rk->server && rk->n_gpus < 64)
                plan[rk->n_gpus++] = j->alloc_gpus[k];
        map_gpus(d, rk->server, plan, rk->n_gpus, rk->gpus, busy[rk->server]);
        rk->cpus = (int)lround(j->shares[i].cpu);
        rk->mem = j->shares[i].mem;
    }
    reset_round(dj);
    dj->n_exited = 0;
    dj->crashed = dj->lost = dj->terminated = dj->lease_killed = dj->stop_ignored = false;
    dj->let_lapse = false;
    dj->state = DJ_RUNNING;
    dj->launched_ns = deploy__mono_ns();
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
        req.job_token = (char *)deploy__job_token(dj);
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
        /* a slow fan-out must not eat the lease: a round plus the slack
         * from the moment this RunJob leaves, at least */
        long long now = deploy__mono_ns(), min_until = now + rb->d->round_ns + lease_slack(rb->d);
        p->until_ns = (long long)p->req.lease_ms * 1000000LL + rb->t_start;
        if (p->until_ns < min_until)
            p->until_ns = min_until;
        p->req.lease_ms = (uint32_t)((p->until_ns - now) / 1000000LL);
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
    struct run_batch rb = {.d = d, .p = q, .n = n, .t_start = deploy__mono_ns()};
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
            lose_worker(d, rk->server, p->err);
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
        long long ms = (until_ns - deploy__mono_ns()) / 1000000LL;
        req.lease_ms = (uint32_t)(ms > 1 ? ms : 1);
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int server = dj->ranks[r].server;
        if (d->workers[server].lost || !d->workers[server].cl || dj->ranks[r].exited)
            continue;
        int st = worker_call(d, server, "ExtendLease", &req.base, &resp, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (st == RPC_STATUS_OK)
            dj->lease_ours = true;
        if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
            lose_worker(d, server, err.msg);
    }
}

/* The job keeps its placement for the next round: answer "go on". */
static void extend(struct deploy *d, struct djob *dj, double b, long long lease_until_ns)
{
    answer_parked(dj, false);
    reset_round(dj);
    extend_lease(d, dj, lease_until_ns);
    lease_persist(d, dj, b, "extended");
}

static void kill_job(struct deploy *d, struct djob *dj)
{
    for (int r = 0; r < dj->n_ranks; r++) {
        int server = dj->ranks[r].server;
        if (dj->ranks[r].exited || d->workers[server].lost || !d->workers[server].cl)
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

/* Commit the round's writes; the Submits they made durable are answered. */
static void commit(struct deploy *d)
{
    deploy_state_commit(d->db, NULL);
    deploy__admin_committed(d);
}

static bool stop_asked(const struct deploy *d)
{
    return d->cfg->stop && *d->cfg->stop;
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

static void fail_job(struct deploy *d, struct djob *dj)
{
    LOG(LOG_WARN, "deploy", "job %d failed after %d crashes", dj->spec->id, dj->crashes);
    answer_parked(dj, true);
    sched_run_fail(d->ledger, dj->j);
    dj->state = DJ_FAILED;
    d->st->jobs_failed++;
    job_persist(d, dj, "failed");
}

static size_t n_registered(const struct deploy *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_workers; i++)
        n += d->workers[i].registered && !d->workers[i].lost;
    return n;
}

/* "server 0 at 10.0.0.1:50051, server 3 (--local), ... and 5 more": the
 * servers not registered yet, for the waiting line. */
static void missing_workers(const struct deploy *d, char *buf, size_t n)
{
    size_t len = 0, shown = 0, left = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->n_workers; i++) {
        const struct dworker *w = &d->workers[i];
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
 * the registration timeout. Called with d->mu held. */
static int wait_registration(struct deploy *d, struct err *err)
{
    const struct deploy_config *cfg = d->cfg;
    size_t need = cfg->wait_workers > 0 && (size_t)cfg->wait_workers < d->n_workers
                      ? (size_t)cfg->wait_workers
                      : d->n_workers;
    long long start = deploy__mono_ns();
    long long deadline = start + (long long)cfg->register_timeout_ms * 1000000LL;
    long long next_log = start + 2000000000LL;
    for (;;) {
        size_t n = n_registered(d);
        if (n >= need)
            break;
        long long now = deploy__mono_ns();
        if (now >= deadline)
            return errprintf(err, "only %zu of %zu workers registered within %d ms (waiting for %zu)",
                             n, d->n_workers, cfg->register_timeout_ms, need);
        if (now >= next_log) {
            char missing[512];
            missing_workers(d, missing, sizeof missing);
            LOG(LOG_WARN, "deploy", "waiting for workers: %zu of %zu registered (missing: %s); "
                "planning starts at %zu, giving up in %.0f s", n, d->n_workers, missing, need,
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
    d->st->registration_s = (double)(deploy__mono_ns() - start) / 1e9;
    for (size_t i = 0; i < d->n_workers; i++) {
        struct dworker *w = &d->workers[i];
        if (w->registered)
            continue;
        LOG(LOG_WARN, "deploy", "server %zu (%s:%d) not registered: out of planning until it is",
            i, w->a.ip, w->a.port);
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

/* Wait for boundary b; false if a stop was asked meanwhile. */
static bool wait_boundary(struct deploy *d, double b)
{
    while (deploy__mono_ns() < wall_ns(d, b)) {
        if (stop_asked(d))
            return false;
        timed_wait(d, wall_ns(d, b));
    }
    double late_ms = (double)(deploy__mono_ns() - wall_ns(d, b)) / 1e6;
    if (late_ms > d->st->max_lateness_ms)
        d->st->max_lateness_ms = late_ms;
    d->late_ms = late_ms;
    d->cur_b = b;
    return true;
}

/* A: every running lease ends its round (all ranks parked in RoundEnd, or
 * LeaseEnded at its total, or exited). A job that is late is waited for:
 * lateness is a delay, logged and visible in its JCT, never a crash. Only
 * its lease's end bounds the wait; then the worker kills it (charged, in
 * deploy__job_exited). Jobs already parked keep their leases alive. */
static void phase_a_round_end(struct deploy *d, double b)
{
    long long grace_at = wall_ns(d, b) + d->grace_ns;
    for (;;) {
        bool all = true;
        long long now = deploy__mono_ns(), wake = now + 1000000000LL;
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (dj->state != DJ_RUNNING)
                continue;
            if (round_ended(dj)) {
                if (!dj->ended_ns)
                    dj->ended_ns = now;
                continue;
            }
            long long give_up = dj->lease_until_ns + d->exit_margin_ns;
            if (now < give_up) {
                all = false;
                if (give_up < wake)
                    wake = give_up;
                continue;
            }
            /* past its lease and no exit report: the worker did not kill it
             * or cannot tell us; kill it ourselves and charge it */
            kill_job(d, dj);
            if (!round_ended(dj)) {
                LOG(LOG_WARN, "deploy", "job %d: no round end and no exit by its lease's end "
                                        "(%d/%d parked, %d exited): charged as a crash",
                    dj->spec->id, dj->n_parked, dj->n_procs, dj->n_exited);
                dj->crashed = true;
                d->st->crashes++;
            }
            now = deploy__mono_ns();
        }
        if (all)
            break;
        timed_wait(d, wake);
    }
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state == DJ_RUNNING && dj->ended_ns > grace_at && !dj->crashed && !dj->lost) {
            d->st->delays++;
            LOG(LOG_INFO, "deploy", "job %d ended round %.0f %.0f ms after the boundary: a delay",
                dj->spec->id, b, (double)(dj->ended_ns - wall_ns(d, b)) / 1e6);
        }
    }
}

/* The steps a job's round did, from its reports. */
static long measured_steps(const struct djob *dj)
{
    if (dj->crashed || dj->lost)
        return dj->progress_steps; /* the last UpdateIters before it went */
    if (dj->n_parked > 0)
        return dj->n_lease_ended > 0 && dj->lease_end_steps < dj->round_end_steps
                   ? dj->lease_end_steps
                   : dj->round_end_steps;
    return dj->lease_end_steps;
}

/* B: replace the plan's credit with what each job did, end the leases,
 * finish or charge jobs. Returns true when the run is over. */
static bool phase_b_credit(struct deploy *d, double b)
{
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING)
            continue;
        struct job *j = dj->j;
        sched_run_credit(d->ledger, j, measured_steps(dj));
        if (sched_run_lease_end(d->ledger, j, b)) {
            answer_parked(dj, true);
            finish_job(d, dj, b);
        } else if (dj->crashed && !dj->lost) {
            dj->crashes++;
            if (dj->crashes > d->cfg->max_retries)
                fail_job(d, dj);
        }
    }
    /* like the simulator: the run ends the moment every job is done (a
     * service runs on, for the next submissions) */
    bool over = !d->cfg->service && d->next_arrival == d->n_jobs && d->n_merged == d->n_subs;
    for (size_t i = 0; i < d->n_jobs && over; i++)
        over = d->jobs[i].state == DJ_DONE || d->jobs[i].state == DJ_FAILED;
    return over;
}

/* B, continued: arrivals up to b, and the servers' planning status. 0 or -1 + err. */
static int phase_b_arrivals(struct deploy *d, double b, struct err *err)
{
    deploy__admin_merge(d);
    while (d->next_arrival < d->n_jobs && d->jobs[d->next_arrival].spec->arrival <= b) {
        struct djob *dj = &d->jobs[d->next_arrival++];
        if (deploy__admin_cancelled_before_arrival(d, dj))
            continue; /* never enters the ledger (nor the --record replay trace) */
        dj->j = sched_run_arrive(d->ledger, dj->spec, err);
        if (!dj->j)
            return -1;
        dj->state = DJ_QUEUED;
        job_persist(d, dj, "queued");
    }
    deploy__admin_cancel(d);
    for (size_t i = 0; i < d->n_workers; i++) {
        struct dworker *w = &d->workers[i];
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
    return 0;
}

/* C: plan the round; extend every lease the plan keeps, stop the rest. Fills
 * d->relaunch. 0 or -1 + err (the planner failed). */
static int phase_c_plan(struct deploy *d, double b, struct err *err)
{
    const struct deploy_config *cfg = d->cfg;
    long long t_plan = deploy__mono_ns();
    struct job **placed;
    size_t n_placed;
    struct sched_round_sample smp;
    if (sched_run_plan(d->ledger, b, &placed, &n_placed, &smp, err) < 0)
        return -1;
    d->plan_ms = (double)(deploy__mono_ns() - t_plan) / 1e6;
    d->n_placed = n_placed;
    struct deploy_state_sample ds = {.t = b, .runnable = (long)smp.runnable,
                                     .placed = (long)smp.placed, .started = (long)smp.started,
                                     .preempted = (long)smp.preempted,
                                     .demoted = (long)smp.demoted};
    for (int k = 0; k < 3; k++) {
        ds.alloc[k] = smp.alloc[k];
        ds.util[k] = smp.util[k];
        ds.demand[k] = smp.demand[k];
    }
    deploy_state_sample(d->db, &ds, NULL); /* committed with the plan */
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
    d->st->preemptions += smp.preempted;

    long long t_dispatch = deploy__mono_ns();
    /* a late scheduler gives the next round its full length from now */
    long long next = wall_ns(d, b + d->round_s), min_next = deploy__mono_ns() + d->round_ns;
    d->lease_until_ns = (next > min_next ? next : min_next) + lease_slack(d);
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        d->relaunch[i] = false;
        if (dj->state == DJ_QUEUED) {
            d->relaunch[i] = dj->j->n_alloc > 0;
            continue;
        }
        if (dj->state != DJ_RUNNING)
            continue;
        bool healthy = !dj->crashed && !dj->lost && dj->n_parked == dj->n_procs;
        if (dj->j->n_alloc > 0 && healthy && same_placement(dj)) {
            extend(d, dj, b, d->lease_until_ns);
            continue;
        }
        answer_parked(dj, true);
        d->relaunch[i] = dj->j->n_alloc > 0;
        if (dj->crashed || dj->lost)
            d->st->relaunches += d->relaunch[i];
    }
    d->dispatch_ms = (double)(deploy__mono_ns() - t_dispatch) / 1e6;
    return 0;
}

static bool holds_ranks(const struct djob *dj)
{
    bool stopping = (dj->state == DJ_RUNNING && dj->terminated) || dj->state == DJ_DONE ||
                    dj->state == DJ_FAILED;
    return stopping && dj->n_ranks > 0 && dj->n_exited < dj->n_ranks;
}

/* D: wait until the stopped jobs' processes are gone (worker exit reports).
 * A job that ignores its stop is killed by its worker at its lease's end and
 * charged a retry; the job that waits for its GPUs only starts late. */
static void phase_d_stop_wait(struct deploy *d, double b)
{
    for (;;) {
        bool all = true;
        long long now = deploy__mono_ns(), wake = now + 1000000000LL;
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (!holds_ranks(dj))
                continue;
            long long give_up = dj->lease_until_ns + d->exit_margin_ns;
            if (now < give_up) {
                all = false;
                if (give_up < wake)
                    wake = give_up;
                continue;
            }
            LOG(LOG_WARN, "deploy", "job %d: no exit report by its lease's end; killing it",
                dj->spec->id);
            kill_job(d, dj);
            for (int r = 0; r < dj->n_ranks; r++)
                dj->ranks[r].exited = true;
            dj->n_exited = dj->n_ranks;
            if (dj->state == DJ_RUNNING)
                dj->stop_ignored = true;
            now = deploy__mono_ns();
        }
        if (all)
            break;
        timed_wait(d, wake);
    }
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state == DJ_RUNNING && dj->terminated) {
            lease_persist(d, dj, b - d->round_s,
                          dj->crashed ? "crashed" : dj->lost ? "lost" : "ended");
            dj->state = DJ_QUEUED;
            dj->n_ranks = 0;
            job_persist(d, dj, "queued");
            if (dj->stop_ignored && !dj->crashed) {
                d->st->stops_ignored++;
                LOG(LOG_WARN, "deploy", "job %d ignored its stop: killed at its lease's end, "
                                        "charged a retry", dj->spec->id);
                if (++dj->crashes > d->cfg->max_retries) {
                    d->relaunch[i] = false;
                    fail_job(d, dj);
                }
            }
        }
        if (dj->state == DJ_DONE || dj->state == DJ_FAILED)
            dj->n_ranks = 0;
    }
}

/* E: RunJob the new placements, one call per (job, server). */
static void phase_e_launch(struct deploy *d, double b)
{
    long long t_launch = deploy__mono_ns();
    long long lease = t_launch + d->round_ns + lease_slack(d);
    if (lease < d->lease_until_ns)
        lease = d->lease_until_ns;
    /* the physical GPUs the kept leases hold */
    int gps = d->cfg->sched.cluster.gpus_per_server;
    bool **busy = xcalloc(d->n_workers, sizeof *busy);
    for (size_t s = 0; s < d->n_workers; s++)
        busy[s] = xcalloc((size_t)gps, sizeof **busy);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING)
            continue;
        for (int r = 0; r < dj->n_ranks; r++)
            for (int k = 0; k < dj->ranks[r].n_gpus; k++) {
                int g = dj->ranks[r].gpus[k] - d->workers[dj->ranks[r].server].a.start_gpu;
                if (g >= 0 && g < gps)
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
    for (size_t s = 0; s < d->n_workers; s++)
        free(busy[s]);
    free(busy);
    d->dispatch_ms += (double)(deploy__mono_ns() - t_launch) / 1e6;
}

/* The run is over: let the last exits come in before the server goes away. */
static void wait_last_exits(struct deploy *d)
{
    long long until = deploy__mono_ns() + 3000000000LL;
    for (;;) {
        bool gone = true;
        for (size_t i = 0; i < d->n_jobs && gone; i++)
            gone = d->jobs[i].n_exited >= d->jobs[i].n_ranks;
        if (gone || deploy__mono_ns() >= until)
            break;
        timed_wait(d, until);
    }
}

/* Fault drills (tests/integration/deploy_drills.sh): SYNERGY_TEST_CRASH_AT=P:N
 * makes the scheduler SIGKILL itself at point P of the N-th round it
 * processes: 'b' at the boundary (before any credit), 'e' during the launches
 * (RunJobs sent, not yet committed). A test hook, like SQLite's: inert
 * unless the variable is set. */
static void crash_point(struct deploy *d, char point)
{
    const char *at = getenv("SYNERGY_TEST_CRASH_AT");
    if (!at || at[0] != point || at[1] != ':')
        return;
    if (atol(at + 2) != (long)d->st->dispatch_rounds + 1)
        return;
    LOG(LOG_WARN, "deploy", "SYNERGY_TEST_CRASH_AT=%s: killing the scheduler", at);
    fflush(NULL);
    raise(SIGKILL);
}

/* The round loop, from the first boundary to the end. 0, or -1 + err.
 * Called with d->mu held. */
static int run_rounds(struct deploy *d, double b, struct err *err)
{
    struct deploy_stats *st = d->st;
    for (;;) {
        if (!wait_boundary(d, b)) {
            LOG(LOG_INFO, "deploy", "stopping at logical time %.0f as asked; the state holds "
                                    "the run (--state continues it)", deploy__logical_now(d));
            break;
        }
        phase_a_round_end(d, b);
        crash_point(d, 'b');
        deploy_state_begin(d->db, NULL);
        if (phase_b_credit(d, b)) {
            wait_last_exits(d);
            deploy__persist(d, true);
            deploy_state_round(d->db, (long)st->dispatch_rounds + 1, b, true, NULL);
            commit(d);
            deploy__publish(d, b, d->late_ms, (long)st->dispatch_rounds);
            break;
        }
        if (phase_b_arrivals(d, b, err) < 0 || phase_c_plan(d, b, err) < 0) {
            commit(d);
            return -1;
        }
        deploy__record_sync(d); /* recorded arrivals before the state that has them */
        crash_point(d, 'r');    /* tests: recorded, not committed (the arrivals come again) */
        /* the plan and its extensions are an event that matters */
        d->next_b = b + d->round_s;
        deploy__persist(d, false);
        deploy_state_round(d->db, (long)st->dispatch_rounds + 1, b, false, NULL);
        commit(d);
        deploy_state_begin(d->db, NULL);
        long long t_stop = deploy__mono_ns();
        phase_d_stop_wait(d, b);
        double stop_ms = (double)(deploy__mono_ns() - t_stop) / 1e6;
        if (stop_ms > d->stop_ms_max)
            d->stop_ms_max = stop_ms;
        phase_e_launch(d, b);
        crash_point(d, 'e');
        deploy__persist(d, false);
        st->plan_ms_sum += d->plan_ms;
        st->dispatch_ms_sum += d->dispatch_ms;
        st->dispatch_rounds++;
        if (d->plan_ms > st->plan_ms_max)
            st->plan_ms_max = d->plan_ms;
        if (d->dispatch_ms > st->dispatch_ms_max)
            st->dispatch_ms_max = d->dispatch_ms;
        deploy_state_round(d->db, (long)st->dispatch_rounds, b, true, NULL);
        commit(d);
        /* the snapshot of the round just committed (metrics, STATUS, watchdog) */
        deploy__publish(d, b, d->late_ms, (long)st->dispatch_rounds);
        LOG(LOG_DEBUG, "deploy", "round %.0f: %zu placed, plan %.2f ms, stop-wait %.1f ms, "
                                 "dispatch %.1f ms",
            b, d->n_placed, d->plan_ms, stop_ms, d->dispatch_ms);
        if (sched_runnable_count(d->sched) == 0 && !d->cfg->service &&
            (d->cfg->is_static || d->next_arrival == d->n_jobs) && d->n_merged == d->n_subs) {
            deploy_state_begin(d->db, NULL);
            deploy__persist(d, true);
            commit(d);
            break;
        }
        b += d->round_s;
    }
    d->end_b = b;
    return 0;
}

/* deploy_state_samples_each -> cfg->on_sample */
static int give_sample(void *ctx, const struct deploy_state_sample *ds)
{
    const struct deploy_config *cfg = ctx;
    struct sched_round_sample s = {.now = ds->t, .runnable = (size_t)ds->runnable,
                                   .placed = (size_t)ds->placed, .started = (size_t)ds->started,
                                   .preempted = (size_t)ds->preempted,
                                   .demoted = (size_t)ds->demoted};
    for (int k = 0; k < 3; k++) {
        s.alloc[k] = ds->alloc[k];
        s.util[k] = ds->util[k];
        s.demand[k] = ds->demand[k];
    }
    cfg->on_sample(cfg->ctx, &s);
    return 0;
}

struct deploy *deploy__new(const struct deploy_config *cfg, struct deploy_stats *st,
                           struct err *err)
{
    struct deploy *d = xcalloc(1, sizeof *d);
    d->cfg = cfg;
    d->advertise = cfg->advertise     ? cfg->advertise
                   : cfg->listen_ip ? cfg->listen_ip
                                    : "127.0.0.1";
    d->st = st;
    d->round_s = cfg->sched.round_duration;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);

    struct sched_run_params rp = {
        .sched = cfg->sched,
        .zoo = cfg->zoo,
        .trace = cfg->jobs,
        .n_trace = cfg->n_jobs,
        .log_tag = "deploy",
        .on_arrive = deploy__record_arrival,
        .arrive_ctx = d,
    };
    d->rec_fd = -1;
    /* jobs submitted online are measured too (ids after the trace's) */
    rp.measure_lo = 0;
    for (size_t i = 0; i < cfg->n_jobs; i++)
        if (i == 0 || cfg->jobs[i].id < rp.measure_lo)
            rp.measure_lo = cfg->jobs[i].id;
    rp.measure_hi = INT_MAX;
    if (cfg->measure_hi > cfg->measure_lo) {
        rp.measure_lo = cfg->measure_lo;
        rp.measure_hi = cfg->measure_hi;
    }
    d->ledger = sched_run_create(&rp, err);
    if (!d->ledger)
        goto fail;
    d->sched = sched_run_sched(d->ledger);
    if ((size_t)sched_num_servers(d->sched) != cfg->n_workers) {
        errprintf(err, "the cluster has %d servers but the workers file lists %zu",
                  sched_num_servers(d->sched), cfg->n_workers);
        goto fail;
    }
    d->n_jobs = cfg->n_jobs;
    d->cap_jobs = cfg->n_jobs + 1;
    d->jobs = xcalloc(d->cap_jobs, sizeof *d->jobs);
    d->relaunch = xcalloc(d->cap_jobs, sizeof *d->relaunch);
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        d->jobs[i].spec = &cfg->jobs[i];
        d->jobs[i].round_end_steps = -1;
        d->jobs[i].finish = -1;
    }
    /* arrivals in (time, trace order), like the simulator's event heap */
    if (d->n_jobs > 0)
        qsort(d->jobs, d->n_jobs, sizeof *d->jobs, deploy__arrival_cmp);
    d->n_workers = cfg->n_workers;
    d->workers = xcalloc(cfg->n_workers, sizeof *d->workers);
    for (size_t i = 0; i < cfg->n_workers; i++)
        d->workers[i].a = cfg->workers[i];
    d->db = deploy_state_open(cfg->state_path ? cfg->state_path : ":memory:", err);
    if (!d->db)
        goto fail;
    d->round_ns = (long long)(d->round_s / cfg->time_scale * 1e9);
    d->grace_ns = d->round_ns / 2 > 400000000LL ? d->round_ns / 2 : 400000000LL;
    /* long enough for a restarted scheduler to adopt running jobs: workers
     * retry registration with a backoff of up to 5 s */
    d->slack_ns = 2 * d->grace_ns > 5000000000LL ? 2 * d->grace_ns : 5000000000LL;
    d->exit_margin_ns = d->grace_ns > 1000000000LL ? d->grace_ns : 1000000000LL;
    d->silence_ns = 2 * (d->round_ns + d->slack_ns);
    if (deploy__restore(d, err) < 0)
        goto fail;
    deploy__admin_init(d);
    if (deploy__record_open(d, err) < 0)
        goto fail;
    if (!d->restarted)
        deploy__set_t0(d);
    return d;
fail:
    deploy__free(d);
    return NULL;
}

void deploy__free(struct deploy *d)
{
    if (!d)
        return;
    rpc_server_destroy(d->srv); /* fails the calls still parked */
    for (size_t i = 0; i < d->n_workers; i++)
        rpc_client_destroy(d->workers[i].cl);
    for (size_t i = 0; i < d->n_dead_cl; i++)
        rpc_client_destroy(d->dead_cl[i]);
    free(d->dead_cl);
    deploy__record_close(d, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    deploy_state_close(d->db);
    for (size_t i = 0; i < d->n_jobs; i++)
        free(d->jobs[i].sig_shares);
    free(d->jobs);
    free(d->relaunch);
    free(d->workers);
    deploy__admin_free(d);
    sched_run_destroy(d->ledger);
    free(d);
}

int deploy_run(const struct deploy_config *cfg, struct sched_result *res, struct deploy_stats *st,
               struct err *err)
{
    memset(res, 0, sizeof *res);
    memset(st, 0, sizeof *st);
    if (cfg->n_jobs == 0 && !cfg->service)
        return errprintf(err, "the trace has no jobs");
    if (!(cfg->time_scale > 0))
        return errprintf(err, "the time scale must be positive");
    struct deploy *d = deploy__new(cfg, st, err);
    if (!d)
        return -1;
    int rc = -1;
    if (deploy__serve(d, err) < 0)
        goto out_free;
    if (cfg->on_listening)
        cfg->on_listening(cfg->ctx, d->port);

    pthread_mutex_lock(&d->mu);
    deploy__publish(d, -1, 0, 0);
    if (wait_registration(d, err) < 0) {
        pthread_mutex_unlock(&d->mu);
        goto out_srv;
    }
    /* heartbeats restart now: registration may have taken a while */
    double b;
    if (d->restarted) {
        b = d->next_b;
    } else {
        deploy__set_t0(d);
        b = cfg->is_static ? 1
            : cfg->n_jobs ? ceil(d->jobs[0].spec->arrival / d->round_s) * d->round_s
                          : 0;
        d->next_b = b;
        deploy_state_begin(d->db, NULL);
        deploy__persist(d, false);
        commit(d);
    }
    for (size_t i = 0; i < d->n_workers; i++)
        d->workers[i].last_hb_ns = deploy__mono_ns();
    d->accepting = true;
    d->end_b = b;
    int loop = run_rounds(d, b, err);
    pthread_mutex_unlock(&d->mu);
    if (loop < 0)
        goto out_srv;
    if (deploy__record_close(d, err) < 0)
        goto out_srv;
    if (cfg->on_sample &&
        deploy_state_samples_each(d->db, give_sample, (void *)cfg, err) < 0)
        goto out_srv;
    sched_run_result(d->ledger, d->end_b, res);
    if (cfg->service) { /* a service's window: the jobs that arrived, bar failed and cancelled */
        res->window_size = res->jobs_measured;
        for (size_t i = 0; i < d->next_arrival; i++)
            res->window_size += d->jobs[i].state != DJ_DONE && d->jobs[i].state != DJ_FAILED;
        res->window_complete = res->window_size == res->jobs_measured;
    }
    rc = 0;
out_srv:
    /* nothing may stay parked: tell any leftover job to stop */
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_jobs; i++)
        answer_parked(&d->jobs[i], true);
    d->accepting = false;
    deploy__admin_committed(d); /* what the last commit made durable */
    pthread_mutex_unlock(&d->mu);
    if (cfg->on_finished)
        cfg->on_finished(cfg->ctx);
out_free:
    deploy__free(d);
    return rc;
}
