/*
 * The scheduler's RPC handlers. JobToScheduler keeps the reference's wire
 * contract (paths, field numbers) so the stock SynergyIterator works;
 * RoundEnd is parked until the round loop decides (no thread held).
 * WorkerToScheduler is synergy.v1. Every handler runs on the rpc thread,
 * takes d->mu, records the report and wakes the round loop.
 *
 * Caller checks (issue 10). Jobs: every JobToScheduler call must carry
 * its attempt's token (metadata synergy-job-token, handed to the job by its
 * worker), checked before anything else (job_enter: exactly the current
 * attempt's, or the previous attempt's to be told to stop; issue 21);
 * without one it is heard only with --allow-legacy-jobs, on the address
 * check below. Workers: under mutual TLS the certificate identity
 * must be the workers-file row's (the row it registers as, or the server_id
 * it reports for); in plaintext (--insecure) only addresses listed in the
 * workers file, or that a registered worker called from, may call, which is
 * not authentication. A worker is identified by the address it claims to
 * listen on (a workers-file row), not by the one it calls from (multi-homed
 * hosts, NAT, loopback aliases).
 */
#include "deploy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "job_to_scheduler.pb-c.h"
#include "synergy_worker.pb-c.h"

static bool peer_allowed(struct deploy *d, rpc_call_t *call)
{
    char ip[128];
    rpc_call_peer_ip(call, ip, sizeof ip);
    for (size_t i = 0; i < d->reg.n_workers; i++)
        if (strcmp(d->reg.workers[i].a.ip, ip) == 0 ||
            (d->reg.workers[i].registered && strcmp(d->reg.workers[i].peer_ip, ip) == 0))
            return true;
    LOG(LOG_WARN, "deploy", "refused a call from %s: not a worker's address",
        rpc_call_peer(call));
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                        "address not in the workers file nor used by a registered worker");
    return false;
}

const char *deploy__job_token(struct djob *dj)
{
    if (dj->token_launch != dj->launch || !dj->token[0]) {
        memcpy(dj->prev_token, dj->token, sizeof dj->token);
        dj->prev_launch = dj->token_launch;
        unsigned char r[16];
        size_t got = 0;
        while (got < sizeof r) {
            ssize_t n = getrandom(r + got, sizeof r - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) { /* no weak token, ever */
                fprintf(stderr, "synergy deploy: getrandom: %s\n", strerror(errno));
                abort();
            }
            got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof r; i++)
            snprintf(dj->token + 2 * i, 3, "%02x", r[i]);
        dj->token_launch = dj->launch;
    }
    return dj->token;
}

/* Constant-time comparison of a presented token with a known one: equal
 * lengths and every byte, and never an empty known token. */
static bool token_eq(const char *a, const char *b)
{
    if (!b[0] || strlen(a) != strlen(b))
        return false;
    unsigned char x = 0;
    for (size_t i = 0; a[i]; i++)
        x |= (unsigned char)(a[i] ^ b[i]);
    return x == 0;
}

/* Does `tok` speak for the job's attempt `attempt` (0: not sent)? Exactly
 * the current attempt's token (attempt 0 or that one), or the immediately
 * previous attempt's with that attempt's number (an attempt being stopped:
 * the handlers answer it "stop" and credit nothing). */
static bool token_ok(const struct djob *dj, const char *tok, uint32_t attempt)
{
    if (dj->token_launch == dj->launch && token_eq(tok, dj->token))
        return attempt == 0 || (int)attempt == dj->launch;
    if (token_eq(tok, dj->prev_token))
        return attempt != 0 && (int)attempt == dj->prev_launch;
    return false;
}

/* The first thing every JobToScheduler handler does: may this call speak for
 * job `job_id`, attempt `attempt`? With a token, token_ok() must hold; a call
 * that fails gets PERMISSION_DENIED, the same status and message whether the
 * job exists or not, and nothing else happens. Without a token: only with
 * --allow-legacy-jobs, on the address check. On true d->mu is held (the
 * handler runs under the same hold: no check-then-use window) and *out is the
 * job (NULL only for a legacy call of an unknown job). On false d->mu is not
 * held and the call's status is set. */
static bool job_enter(struct deploy *d, rpc_call_t *call, uint64_t job_id, uint32_t attempt,
                      struct djob **out)
{
    char tok[80];
    *out = NULL;
    if (!rpc_call_metadata(call, "synergy-job-token", tok, sizeof tok)) {
        if (!d->cfg->allow_legacy_jobs) {
            LOG(LOG_WARN, "deploy", "refused a call for job %lu from %s: no job token (legacy "
                                    "iterators need --allow-legacy-jobs)", (unsigned long)job_id,
                rpc_call_peer(call));
            rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                                "no job token (synergy-job-token metadata)");
            return false;
        }
        pthread_mutex_lock(&d->mu);
        if (!peer_allowed(d, call)) {
            pthread_mutex_unlock(&d->mu);
            return false;
        }
        *out = deploy__find_job(d, job_id);
        return true;
    }
    pthread_mutex_lock(&d->mu);
    struct djob *dj = deploy__find_job(d, job_id);
    if (dj && token_ok(dj, tok, attempt)) {
        *out = dj;
        return true;
    }
    pthread_mutex_unlock(&d->mu);
    LOG(LOG_WARN, "deploy", "refused a call for job %lu attempt %u from %s: wrong job token",
        (unsigned long)job_id, attempt, rpc_call_peer(call));
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                        "the job token is not this job's and attempt's");
    return false;
}

/* Under mutual TLS: is the caller's certificate the identity of row `id`? */
static bool worker_identity_ok(struct deploy *d, rpc_call_t *call, uint32_t id)
{
    if (!d->cfg->tls)
        return true;
    const char *who = rpc_call_identity(call);
    if (id < d->reg.n_workers && strcmp(who, d->reg.workers[id].a.identity) == 0)
        return true;
    LOG(LOG_WARN, "deploy", "refused a call from %s: identity '%s' is not server %u's ('%s')",
        rpc_call_peer(call), who, id, id < d->reg.n_workers ? d->reg.workers[id].a.identity : "none");
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                        "the caller's certificate is not this server's identity");
    return false;
}

/* A message of an attempt that is over (a relaunch happened since): it must
 * never be credited. attempt 0 = not sent (the stock iterator). */
static bool stale(const struct djob *dj, uint32_t attempt, const char *what)
{
    if (attempt == 0 || (int)attempt == dj->launch)
        return false;
    LOG(LOG_INFO, "deploy", "job %d: %s of attempt %u ignored (current attempt %d)",
        dj->spec->id, what, attempt, dj->launch);
    return true;
}

/* A message of the current attempt (or one that does not say). */
static bool current(const struct djob *dj, uint32_t attempt)
{
    return attempt == 0 || (int)attempt == dj->launch;
}

/* rank of a request: its rank field, or -1 when not sent */
#define RANK_OF(req, PFX) ((req)->rank_opt_case == PFX##__RANK_OPT_RANK ? (int)(req)->rank : -1)

void deploy__answer_parked(struct djob *dj, bool terminate)
{
    RoundEndResponse resp = ROUND_END_RESPONSE__INIT;
    resp.terminate_lease = terminate;
    for (int i = 0; i < DJ_MAX_PROCS && dj->n_parked > 0; i++)
        if (dj->parked[i]) {
            rpc_call_reply(dj->parked[i], &resp.base);
            dj->parked[i] = NULL;
            dj->n_parked--;
        }
    dj->n_parked = 0;
    if (terminate)
        dj->terminated = true;
}

void deploy__reset_reports(struct djob *dj)
{
    if (dj->n_parked > 0) /* never leave a call parked with nobody to answer it */
        deploy__answer_parked(dj, true);
    dj->n_lease_ended = 0;
    if (dj->lease_ended_rank)
        memset(dj->lease_ended_rank, 0, DJ_MAX_PROCS * sizeof *dj->lease_ended_rank);
}

static enum rpc_result h_register_job(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                      ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const RegisterJobRequest *req = (const void *)rq;
    RegisterJobResponse *resp = (void *)rs;
    struct djob *dj;
    if (!job_enter(d, call, req->job_id, req->attempt, &dj))
        return RPC_FAILED;
    bool old = dj && stale(dj, req->attempt, "RegisterJob");
    /* the phase of this lease's round clock: its rounds end at lease_b + k *
     * round. Not the driver's current round: a launch fan-out that runs past
     * the next boundary would make the job take the next round for its first
     * and end its real first round a whole round late */
    double el = deploy__logical_now(d) - (dj && !old ? dj->lease_b : d->cur_b);
    if (dj && !old)
        deploy__job_heard(d, dj);
    if (dj && !old && dj->state == DJ_RUNNING && !dj->terminated)
        deploy__job_registered(dj, RANK_OF(req, REGISTER_JOB_REQUEST));
    pthread_mutex_unlock(&d->mu);
    if (!dj) {
        rpc_call_set_status(call, RPC_STATUS_NOT_FOUND, "unknown job");
        return RPC_FAILED;
    }
    if (old) {
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION, "this attempt is over");
        return RPC_FAILED;
    }
    resp->time_elapsed_this_round_s = el > 0 ? (uint64_t)el : 0;
    resp->round_duration_s = (uint64_t)d->round_s;
    return RPC_REPLY;
}

/* Every rank asks; every rank gets the same budget: the round's, fixed by the
 * plan before any RoundEnd of the round is answered, and memoised per
 * (attempt, iterator round) at the first ask. */
static enum rpc_result h_update_iters(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                      ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const UpdateItersRequest *req = (const void *)rq;
    UpdateItersResponse *resp = (void *)rs;
    struct djob *dj;
    if (!job_enter(d, call, req->job_id, req->attempt, &dj))
        return RPC_FAILED;
    if (dj && dj->state == DJ_RUNNING && !stale(dj, req->attempt, "UpdateIters")) {
        deploy__job_heard(d, dj);
        if ((long)req->num_steps > dj->progress_steps)
            dj->progress_steps = (long)req->num_steps;
        resp->num_steps_per_round = (uint64_t)deploy__round_budget(dj, req->round_num);
    }
    pthread_mutex_unlock(&d->mu);
    return RPC_REPLY;
}

/* Parked per process: each rank in its own slot (a retried call of a rank
 * replaces its earlier one), so a job with one process per GPU ends its round
 * when all of them are in, and all get the same answer. */
static enum rpc_result h_round_end(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const RoundEndRequest *req = (const void *)rq;
    RoundEndResponse *resp = (void *)rs;
    struct djob *dj;
    if (!job_enter(d, call, req->job_id, req->attempt, &dj))
        return RPC_FAILED;
    int rank = RANK_OF(req, ROUND_END_REQUEST);
    if (rank >= DJ_MAX_PROCS) {
        pthread_mutex_unlock(&d->mu);
        rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, "rank out of range");
        return RPC_FAILED;
    }
    const char *why = !dj                                       ? "unknown"
                      : dj->state != DJ_RUNNING                 ? "not running"
                      : dj->terminated                          ? "stopped"
                      : stale(dj, req->attempt, "RoundEnd")     ? "stale attempt"
                                                                : NULL;
    if (dj && dj->state == DJ_RUNNING && current(dj, req->attempt))
        deploy__job_heard(d, dj);
    int slot = rank;
    if (!why && slot < 0)
        for (int i = 0; i < DJ_MAX_PROCS && slot < 0; i++)
            if (!dj->parked[i])
                slot = i;
    if (!why && slot < 0)
        why = "all parked";
    if (!why) {
        if (dj->parked[slot]) { /* the rank retried: its earlier call is gone or will be */
            rpc_call_fail(dj->parked[slot], RPC_STATUS_CANCELLED, "replaced by a retried RoundEnd");
            dj->parked[slot] = NULL;
            dj->n_parked--;
        }
        long s = (long)req->num_steps;
        if (dj->round_end_steps < 0 || s < dj->round_end_steps)
            dj->round_end_steps = s;
        dj->parked[slot] = call;
        dj->n_parked++;
        deploy__note_round_end(dj);
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        return RPC_PARKED;
    }
    LOG(LOG_DEBUG, "deploy", "RoundEnd of job %lu answered at once: %s", (unsigned long)req->job_id,
        why);
    pthread_mutex_unlock(&d->mu);
    resp->terminate_lease = true;
    return RPC_REPLY;
}

static enum rpc_result h_lease_ended(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                     ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const LeaseEndedRequest *req = (const void *)rq;
    struct djob *dj;
    if (!job_enter(d, call, req->job_id, req->attempt, &dj))
        return RPC_FAILED;
    int rank = RANK_OF(req, LEASE_ENDED_REQUEST);
    if (dj && dj->state == DJ_RUNNING && current(dj, req->attempt))
        deploy__job_heard(d, dj);
    /* after a RoundEnd the iterator's counters restart at 0: only a lease
     * that ends without one (the job reached its total) carries progress */
    /* it is stored before it is answered (deploy_durable.c) */
    enum rpc_result res = RPC_REPLY;
    if (dj && dj->state == DJ_RUNNING && !dj->terminated && dj->n_parked == 0 &&
        !stale(dj, req->attempt, "LeaseEnded") &&
        (rank < 0 || rank >= DJ_MAX_PROCS || !dj->lease_ended_rank[rank]))
        res = deploy__completion(d, call, dj, rank, (long)req->num_steps);
    pthread_mutex_unlock(&d->mu);
    return res;
}

static struct dworker *worker_of(struct deploy *d, uint32_t id)
{
    return id < d->reg.n_workers ? &d->reg.workers[id] : NULL;
}

/* The row a registering worker is: the one whose (ip, port) it claims to
 * listen on. Rows with port 0 (deploy --local) take the port it reports; a
 * claimed server_id picks among them. NULL + msg when none fits. */
static struct dworker *row_of(struct deploy *d, const Synergy__V1__RegisterWorkerRequest *req,
                              char *msg, size_t n)
{
    bool claim = req->server_id_opt_case == SYNERGY__V1__REGISTER_WORKER_REQUEST__SERVER_ID_OPT_SERVER_ID;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < d->reg.n_workers; i++) {
            struct dworker *w = &d->reg.workers[i];
            int cfg_port = d->cfg->workers[i].port;
            if ((claim && req->server_id != i) || strcmp(w->a.ip, req->ip) != 0)
                continue;
            if (pass == 0 && cfg_port == (int)req->port)
                return w;
            /* a port-0 row: a worker restarted on a new port reclaims its
             * row by server_id; without a claim, the first free row */
            if (pass == 1 && cfg_port == 0 && (claim || !w->registered || w->a.port == (int)req->port))
                return w;
        }
    if (claim)
        snprintf(msg, n, "%s:%u is not row %u of the workers file", req->ip, req->port,
                 req->server_id);
    else
        snprintf(msg, n, "%s:%u is not in the workers file", req->ip, req->port);
    return NULL;
}

static void running_of(const Synergy__V1__RunningJob *const *rj, size_t n,
                       struct deploy_running *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct deploy_running){.job_id = rj[i]->job_id, .attempt = rj[i]->attempt,
                                         .pid = rj[i]->pid, .processes = rj[i]->processes,
                                         .lease_left_ms = rj[i]->lease_left_ms,
                                         .token = rj[i]->job_token ? rj[i]->job_token : ""};
}

/* The kill list of an answer, in the call's memory. */
static Synergy__V1__JobRef **kill_list(rpc_call_t *call, const struct deploy_kill *k, size_t n)
{
    if (n == 0)
        return NULL;
    Synergy__V1__JobRef **v = rpc_call_alloc(call, n * sizeof *v);
    Synergy__V1__JobRef *r = rpc_call_alloc(call, n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        synergy__v1__job_ref__init(&r[i]);
        r[i].job_id = k[i].job_id;
        r[i].attempt = k[i].attempt;
        v[i] = &r[i];
    }
    return v;
}

/* The cluster INI's cpus_per_server against the CPUs the worker really
 * offers jobs (cores, or threads with --cpu-unit thread; reserved cores left
 * out). Fewer is a warning, not a refusal: jobs still run, sharing cores, but
 * slower than the throughput profiles assume, and test setups (several
 * workers with simulated GPUs on one small host) depend on it. */
static void check_worker_cpus(const Synergy__V1__RegisterWorkerRequest *req, unsigned id,
                              double ini_cpus)
{
    long cores = 0, threads = 0, reserved = 0, have;
    for (size_t i = 0; i < req->n_numa; i++) {
        cores += req->numa[i]->cores;
        threads += req->numa[i]->threads;
        reserved += req->numa[i]->reserved_cores;
    }
    bool per_thread = req->cpu_unit && strcmp(req->cpu_unit, "thread") == 0;
    have = per_thread ? threads : cores;
    LOG(LOG_INFO, "deploy", "server %u: %ld core(s), %ld thread(s) for jobs, %ld core(s) "
                            "reserved; a CPU is a %s", id, cores, threads, reserved,
        per_thread ? "thread" : "core");
    /* said once a run (at -v for each further server), not once per worker */
    static atomic_bool said;
    if (have >= (long)ini_cpus)
        return;
    enum log_level lvl = atomic_exchange(&said, true) ? LOG_INFO : LOG_WARN;
    LOG(lvl, "deploy", "server %u: the cluster INI plans %g CPUs per server but the worker "
                       "offers jobs %ld %s(s)%s: jobs will share them and run slower than "
                       "their profiles (other servers that offer fewer: -v)",
        id, ini_cpus, have, per_thread ? "thread" : "core",
        reserved ? " (after its reserved cores)" : "");
}

/* On a cluster with GPU types, a worker must run the type of its server's
 * group (it says so with worker --gpu-type, or its driver does). */
static void check_gpu_type(struct deploy *d, int server, const char *type, char *msg, size_t n)
{
    if (sched_num_gpu_types(d->sched) == 0)
        return;
    const char *want = sched_gpu_type_name(d->sched, sched_server(d->sched, server)->gpu_type);
    if (!type || !type[0])
        snprintf(msg, n, "server %d has %s GPUs; the worker reports no GPU type (worker "
                         "--gpu-type %s)", server, want, want);
    else if (strcmp(type, want) != 0)
        snprintf(msg, n, "server %d has %s GPUs; the worker reports %.40s", server, want, type);
}

static enum rpc_result h_register_worker(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                         ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const Synergy__V1__RegisterWorkerRequest *req = (const void *)rq;
    Synergy__V1__RegisterWorkerResponse *resp = (void *)rs;
    char ip[128];
    rpc_call_peer_ip(call, ip, sizeof ip);
    char *msg = rpc_call_alloc(call, 256);
    msg[0] = '\0';
    if (req->version != 1)
        snprintf(msg, 256, "protocol version %u, expected 1", req->version);
    else if (req->port < 1 || req->port > 65535)
        snprintf(msg, 256, "port %u out of range", req->port);
    pthread_mutex_lock(&d->mu);
    struct dworker *w = msg[0] ? NULL : row_of(d, req, msg, 256);
    if (w && d->cfg->tls && strcmp(rpc_call_identity(call), w->a.identity) != 0) {
        snprintf(msg, 256, "certificate identity '%s' is not server %d's ('%s')",
                 rpc_call_identity(call), (int)(w - d->reg.workers), w->a.identity);
        w = NULL;
    }
    int need = 0;
    if (w) {
        int sv = (int)(w - d->reg.workers);
        need = w->a.start_gpu + sched_server(d->sched, sv)->gpus;
        if ((int)req->n_gpus < need)
            snprintf(msg, 256, "worker has %zu GPUs, the cluster needs %d", req->n_gpus, need);
        else
            check_gpu_type(d, sv, req->gpu_type, msg, 256);
    }
    if (msg[0]) {
        pthread_mutex_unlock(&d->mu);
        LOG(LOG_WARN, "deploy", "registration from %s refused: %s", ip, msg);
        resp->success = false;
        resp->error = msg;
        return RPC_REPLY;
    }
    int server = (int)(w - d->reg.workers);
    bool again = w->registered;
    w->registered = true;
    w->n_gpus = (int)req->n_gpus;
    w->last_hb_ns = mono_ns();
    snprintf(w->peer_ip, sizeof w->peer_ip, "%s", ip);
    if (!w->cl || w->a.port != (int)req->port) {
        if (w->cl) { /* restarted on a new port: a round-loop call may still hold the old one */
            xgrow((void **)&d->reg.dead_cl, &d->reg.cap_dead_cl, d->reg.n_dead_cl + 1, sizeof *d->reg.dead_cl);
            d->reg.dead_cl[d->reg.n_dead_cl++] = w->cl;
        }
        w->a.port = (int)req->port;
        char target[128];
        snprintf(target, sizeof target, "%s:%d", w->a.ip, w->a.port);
        /* under TLS: only the row's identity is this worker, whatever
         * other certificate of the CA answers at its address */
        w->cl = rpc_client_create_pinned(target, d->cfg->tls, w->a.identity);
    }
    struct deploy_running *run = rpc_call_alloc(call, (req->n_running + 1) * sizeof *run);
    running_of((const Synergy__V1__RunningJob *const *)req->running, req->n_running, run);
    size_t cap = req->n_running + 64, n_kill = 0;
    struct deploy_kill *kill = rpc_call_alloc(call, cap * sizeof *kill);
    deploy__worker_report(d, server, DEPLOY_REPORT_REGISTER, run, req->n_running, kill, cap,
                          &n_kill);
    resp->success = true;
    resp->server_id = (uint32_t)server;
    resp->round_duration_s = d->round_s;
    resp->heartbeat_ms = (uint32_t)d->cfg->heartbeat_ms;
    resp->kill = kill_list(call, kill, n_kill);
    resp->n_kill = n_kill;
    if (d->db)
        deploy_state_worker(d->db, server, w->a.ip, w->a.port, "registered", w->n_gpus, NULL);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    LOG(LOG_INFO, "deploy", "server %d %sregistered: %s:%u (calls from %s), %zu NUMA node(s), "
        "%zu %sGPU(s)%s%s, %zu running job(s)", server, again ? "re-" : "", req->ip, req->port,
        ip, req->n_numa, req->n_gpus, req->simulated_gpus ? "simulated " : "",
        req->gpu_type && req->gpu_type[0] ? " of type " : "", req->gpu_type ? req->gpu_type : "",
        req->n_running);
    check_worker_cpus(req, (unsigned)server, sched_server_cap(d->sched, server, RES_CPU));
    return RPC_REPLY;
}

static enum rpc_result h_heartbeat(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const Synergy__V1__HeartbeatRequest *req = (const void *)rq;
    Synergy__V1__HeartbeatResponse *resp = (void *)rs;
    if (!(d->cfg->tls ? worker_identity_ok(d, call, req->server_id) : peer_allowed(d, call)))
        return RPC_FAILED;
    struct deploy_running *run = rpc_call_alloc(call, (req->n_running + 1) * sizeof *run);
    running_of((const Synergy__V1__RunningJob *const *)req->running, req->n_running, run);
    size_t cap = req->n_running + 64, n_kill = 0;
    struct deploy_kill *kill = rpc_call_alloc(call, cap * sizeof *kill);
    pthread_mutex_lock(&d->mu);
    struct dworker *w = worker_of(d, req->server_id);
    if (w && w->registered &&
        deploy__worker_report(d, (int)req->server_id, DEPLOY_REPORT_HEARTBEAT, run,
                              req->n_running, kill, cap, &n_kill) == 0) {
        if (!w->lost)
            w->last_hb_ns = mono_ns();
        resp->known = true;
        resp->kill = kill_list(call, kill, n_kill);
        resp->n_kill = n_kill;
    }
    pthread_mutex_unlock(&d->mu);
    return RPC_REPLY;
}

static enum rpc_result h_job_exited(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                    ProtobufCMessage *rs)
{
    struct deploy *d = ud;
    const Synergy__V1__JobExitedRequest *req = (const void *)rq;
    Synergy__V1__JobExitedResponse *resp = (void *)rs;
    if (!(d->cfg->tls ? worker_identity_ok(d, call, req->server_id) : peer_allowed(d, call)))
        return RPC_FAILED;
    pthread_mutex_lock(&d->mu);
    struct djob *dj = deploy__find_job(d, req->job_id);
    /* finished and failed jobs still hold their ranks until the exits are in */
    if (dj && dj->n_ranks > 0 && (int)req->attempt == dj->launch) {
        deploy__job_exited(d, dj, (int)req->server_id, req->exit_code, req->signal,
                           req->killed_at_lease_end, req->worker_stopping,
                           req->log_tail ? req->log_tail : "");
        resp->known = true;
    }
    pthread_mutex_unlock(&d->mu);
    return RPC_REPLY;
}

int deploy__serve(struct deploy *d, struct err *err)
{
    char addr[160];
    const char *ip = d->cfg->listen_ip ? d->cfg->listen_ip : "127.0.0.1";
    /* an IPv6 literal needs brackets before the port */
    snprintf(addr, sizeof addr, strchr(ip, ':') && ip[0] != '[' ? "[%s]:%d" : "%s:%d", ip,
             d->cfg->port);
    /* under TLS a client certificate is verified when presented but not
     * required: jobs have none (they prove themselves with their token),
     * and every worker call checks the certificate's identity */
    d->srv = rpc_server_create_tls(addr, d->cfg->tls, &d->port, err);
    if (!d->srv)
        return -1;
    deploy__add_services(d, d->srv);
    return rpc_server_start(d->srv, err);
}

void deploy__add_services(struct deploy *d, rpc_server_t *srv)
{
    static const struct rpc_method job_h[] = {{"RegisterJob", h_register_job},
                                              {"UpdateIters", h_update_iters},
                                              {"RoundEnd", h_round_end},
                                              {"LeaseEnded", h_lease_ended},
                                              {NULL, NULL}};
    static const struct rpc_method worker_h[] = {{"RegisterWorker", h_register_worker},
                                                 {"Heartbeat", h_heartbeat},
                                                 {"JobExited", h_job_exited},
                                                 {NULL, NULL}};
    rpc_server_add_service(srv, &job_to_scheduler__descriptor, job_h, d);
    rpc_server_add_service(srv, &synergy__v1__worker_to_scheduler__descriptor, worker_h, d);
    deploy__admin_add_service(d, srv);
}
