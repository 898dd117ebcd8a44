/*
 * The worker's link to the scheduler: RegisterWorker (with its probed
 * topology and the jobs it runs), heartbeats, and exit reports kept until
 * the scheduler has them, across its restarts.
 */
#include "worker_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "notify.h"

/* Build RegisterWorker's topology part once. */
void worker__reg_init(struct worker *w)
{
    struct reg_msg *m = &w->reg;
    Synergy__V1__RegisterWorkerRequest *req = &m->req;
    synergy__v1__register_worker_request__init(req);
    req->version = 1;
    req->ip = (char *)(w->o->listen_ip ? w->o->listen_ip : "127.0.0.1");
    req->port = (uint32_t)w->port;
    req->simulated_gpus = w->topo.simulated_gpus;
    req->gpu_type = w->gpu_type;
    if (w->o->server_id >= 0) {
        req->server_id_opt_case = SYNERGY__V1__REGISTER_WORKER_REQUEST__SERVER_ID_OPT_SERVER_ID;
        req->server_id = (uint32_t)w->o->server_id;
    }
    for (int i = 0; i < w->topo.n_numa; i++) {
        Synergy__V1__NumaNode *nd = &m->nodes[i];
        synergy__v1__numa_node__init(nd);
        nd->os_index = (uint32_t)w->topo.numa[i].os_index;
        nd->mem_bytes = w->topo.numa[i].mem_bytes;
        m->cpu_lists[i] = xmalloc(sizeof(uint32_t) * ((size_t)w->topo.numa[i].n_cpus + 1));
        size_t nc = 0;
        for (int k = 0; k < w->topo.n_cores; k++) /* the PUs jobs may use */
            if (w->topo.cores[k].numa == i && !w->topo.cores[k].reserved)
                for (int c = 0; c < w->topo.cores[k].n_pus; c++)
                    m->cpu_lists[i][nc++] = (uint32_t)w->topo.cores[k].pus[c];
        nd->n_cpus = nc;
        nd->cpus = m->cpu_lists[i];
        nd->cores = (uint32_t)(w->topo.numa[i].n_cores - w->topo.numa[i].n_reserved_cores);
        nd->threads = (uint32_t)nc;
        nd->reserved_cores = (uint32_t)w->topo.numa[i].n_reserved_cores;
        m->np[i] = nd;
    }
    for (int i = 0; i < w->topo.n_gpus; i++) {
        synergy__v1__gpu__init(&m->gpus[i]);
        m->gpus[i].index = (uint32_t)w->topo.gpus[i].index;
        int k = w->topo.gpus[i].numa;
        m->gpus[i].numa = k < 0 ? -1 : w->topo.numa[k].os_index;
        m->gpus[i].pci_bus_id = w->topo.gpus[i].pci_bus_id;
        m->gp[i] = &m->gpus[i];
    }
    req->n_numa = (size_t)w->topo.n_numa;
    req->numa = m->np;
    req->n_gpus = (size_t)w->topo.n_gpus;
    req->gpus = m->gp;
    req->cpu_unit = w->topo.unit == TOPO_UNIT_THREAD ? "thread" : "core";
}

void worker__reg_free(struct worker *w)
{
    for (int i = 0; i < w->topo.n_numa; i++)
        free(w->reg.cpu_lists[i]);
}

/* The running jobs, for a registration or heartbeat. */
struct running_set {
    Synergy__V1__RunningJob rj[MAX_JOBS], *rp[MAX_JOBS];
    uint64_t ids[MAX_JOBS];
    char tokens[MAX_JOBS][33];
    size_t n;
};

static void running_snapshot(struct worker *w, struct running_set *rs)
{
    rs->n = 0;
    long long now = mono_ns();
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < MAX_JOBS; i++) {
        const struct wjob *j = &w->jobs[i];
        if (!j->used)
            continue;
        Synergy__V1__RunningJob *r = &rs->rj[rs->n];
        synergy__v1__running_job__init(r);
        r->job_id = (uint64_t)j->job_id;
        r->attempt = j->attempt;
        r->pid = j->pid;
        r->processes = j->processes;
        memcpy(rs->tokens[rs->n], j->token, sizeof j->token);
        r->job_token = rs->tokens[rs->n];
        long long left = (j->deadline_ns - now) / 1000000LL;
        r->lease_left_ms = left > 0 ? (uint32_t)(left < UINT32_MAX ? left : UINT32_MAX) : 0;
        rs->rp[rs->n] = r;
        rs->ids[rs->n++] = (uint64_t)j->job_id;
    }
    pthread_mutex_unlock(&w->mu);
}

/* Kill what the scheduler says it does not know (after its restart, or jobs
 * it moved elsewhere while it had lost us), at once. */
static void apply_kills(struct worker *w, Synergy__V1__JobRef *const *k, size_t n)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        struct wjob *j = worker__find_job(w, (long)k[i]->job_id);
        if (!j || (k[i]->attempt && k[i]->attempt != j->attempt))
            continue;
        /* no grace: this attempt's work was never credited, and the
         * scheduler may launch another job on its GPUs at once */
        LOG(LOG_WARN, "worker", "job %ld attempt %u: the scheduler does not run it: SIGKILL",
            j->job_id, j->attempt);
        worker__kill_job(w, j);
    }
    pthread_mutex_unlock(&w->mu);
}

/* One RegisterWorker call. Returns the gRPC status; *refused is set with err
 * when the scheduler answered but refused. */
static int register_once(struct worker *w, bool *refused, struct err *err)
{
    struct running_set *rs = xmalloc(sizeof *rs);
    running_snapshot(w, rs);
    w->reg.req.n_running = rs->n;
    w->reg.req.running = rs->rp;
    ProtobufCMessage *r = NULL;
    *refused = false;
    /* a busy scheduler (many workers registering at once) may take a while */
    int st = rpc_client_call(w->sched, &synergy__v1__worker_to_scheduler__descriptor,
                             "RegisterWorker", &w->reg.req.base, &r, 10000, err);
    if (st == RPC_STATUS_OK) {
        Synergy__V1__RegisterWorkerResponse *resp = (void *)r;
        if (resp->success) {
            pthread_mutex_lock(&w->mu);
            w->server_id = resp->server_id;
            w->heartbeat_ms = resp->heartbeat_ms ? resp->heartbeat_ms : 500;
            if (resp->round_duration_s > 0)
                w->max_lease_ms = MAX_LEASE_ROUNDS * 1000LL * (long long)resp->round_duration_s;
            w->registered = true;
            pthread_mutex_unlock(&w->mu);
            apply_kills(w, resp->kill, resp->n_kill);
        } else {
            *refused = true;
            errprintf(err, "the scheduler refused the registration: %s", resp->error);
        }
        protobuf_c_message_free_unpacked(r, NULL);
    }
    free(rs);
    return st;
}

static bool transport_error(int st)
{
    return st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED ||
           st == RPC_STATUS_CANCELLED;
}

/* The first registration: retried with backoff (200 ms doubling to 2 s)
 * while the scheduler is not up or too busy to answer, for at most
 * register_timeout_ms (0: for ever); a refusal is final. While it waits, a
 * line every 10 s (the first after 5 s) says the scheduler is unreachable,
 * and SIGTERM/SIGINT (blocked, in `stop`) end the wait. 0, -1 + err, or -2
 * on a stop signal. */
int worker__register_first(struct worker *w, const sigset_t *stop, struct err *err)
{
    long long start = mono_ns();
    long long give_up = start + (long long)w->o->register_timeout_ms * 1000000LL;
    long long backoff_ms = 200, next_say = start + 5000000000LL;
    for (;;) {
        bool refused;
        int st = register_once(w, &refused, err);
        if (st == RPC_STATUS_OK)
            return refused ? -1 : 0;
        long long now = mono_ns();
        if (!transport_error(st) || (w->o->register_timeout_ms > 0 && now > give_up))
            return -1;
        if (now >= next_say) {
            LOG(LOG_WARN, "worker", "scheduler at %s:%d unreachable for %.0f s (%s); retrying",
                w->o->sched_addr, w->o->sched_port, (double)(now - start) / 1e9, err->msg);
            next_say = now + 10000000000LL;
        }
        struct timespec ts = worker__ns_to_ts(backoff_ms * 1000000LL);
        int sig = sigtimedwait(stop, NULL, &ts);
        if (sig > 0) {
            LOG(LOG_INFO, "worker", "signal %d before registering: stopping", sig);
            return -2;
        }
        backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
    }
}

/* SIGTERM or SIGINT sent to the worker and not yet taken by serve()'s
 * sigwait (every thread blocks them, so they stay pending for the process). */
static bool stop_signal_pending(void)
{
    sigset_t p;
    return sigpending(&p) == 0 && (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

/* Send the queued exit reports in order. Returns a transport error status if
 * the scheduler could not be reached (the rest stay queued), else 0. */
static int send_exits(struct worker *w)
{
    for (;;) {
        pthread_mutex_lock(&w->mu);
        if (w->n_exits == 0 || !w->registered) {
            pthread_mutex_unlock(&w->mu);
            return 0;
        }
        struct pending_exit e = w->exits[0];
        unsigned sid = w->server_id;
        pthread_mutex_unlock(&w->mu);
        Synergy__V1__JobExitedRequest req = SYNERGY__V1__JOB_EXITED_REQUEST__INIT;
        req.server_id = sid;
        req.job_id = (uint64_t)e.job_id;
        req.attempt = e.attempt;
        req.exit_code = WIFEXITED(e.status) ? WEXITSTATUS(e.status) : -1;
        req.signal = WIFSIGNALED(e.status) ? WTERMSIG(e.status) : 0;
        req.killed_at_lease_end = e.lease;
        req.log_tail = e.log_tail ? e.log_tail : "";
        req.worker_stopping = e.worker_stop;
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int st = rpc_client_call(w->sched, &synergy__v1__worker_to_scheduler__descriptor,
                                 "JobExited", &req.base, &resp, 2000, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (transport_error(st))
            return st;
        if (st != RPC_STATUS_OK) /* refused for good: drop it */
            LOG(LOG_WARN, "worker", "reporting job %ld's exit: %s", e.job_id, err.msg);
        pthread_mutex_lock(&w->mu);
        free(w->exits[0].log_tail);
        memmove(w->exits, w->exits + 1, (w->n_exits - 1) * sizeof *w->exits);
        w->n_exits--;
        pthread_cond_broadcast(&w->stop_cv); /* a stopping worker waits for its reports */
        pthread_mutex_unlock(&w->mu);
    }
}

/* One heartbeat with the running jobs. Returns the gRPC status; on OK,
 * *known says whether the scheduler knows us. */
static int heartbeat_once(struct worker *w, bool *known)
{
    struct running_set *rs = xmalloc(sizeof *rs);
    running_snapshot(w, rs);
    Synergy__V1__HeartbeatRequest req = SYNERGY__V1__HEARTBEAT_REQUEST__INIT;
    pthread_mutex_lock(&w->mu);
    req.server_id = w->server_id;
    int timeout = (int)w->heartbeat_ms * 2;
    pthread_mutex_unlock(&w->mu);
    req.n_running_jobs = rs->n;
    req.running_jobs = rs->ids;
    req.n_running = rs->n;
    req.running = rs->rp;
    ProtobufCMessage *r = NULL;
    struct err err = {{0}};
    int st = rpc_client_call(w->sched, &synergy__v1__worker_to_scheduler__descriptor, "Heartbeat",
                             &req.base, &r, timeout < 1000 ? 1000 : timeout, &err);
    if (st == RPC_STATUS_OK) {
        Synergy__V1__HeartbeatResponse *resp = (void *)r;
        *known = resp->known;
        if (resp->known)
            apply_kills(w, resp->kill, resp->n_kill);
    }
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    free(rs);
    return st;
}

/* The link to the scheduler: heartbeats, exit reports, and registering again
 * when the scheduler does not know us (it restarted, or declared us lost).
 * While it cannot be reached, jobs keep running until their leases end and
 * every call is retried with exponential backoff (heartbeat period .. 5 s);
 * one line says so, one more when it is back. */
void *worker__sched_link(void *arg)
{
    struct worker *w = arg;
    long long backoff_ms = 0, down_since = 0, next_hb = 0, next_say = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        long long now = mono_ns();
        long long wake = backoff_ms ? now + backoff_ms * 1000000LL
                                    : (next_hb > now ? next_hb : now);
        /* exits are sent as soon as they are queued, unless we are backing off */
        while (!w->stop && mono_ns() < wake && !(backoff_ms == 0 && w->n_exits > 0 && w->registered)) {
            struct timespec ts = worker__ns_to_ts(wake);
            pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
        }
        if (w->stop)
            break;
        notify_watchdog(); /* alive, whether or not the scheduler is there */
        bool registered = w->registered;
        int live = w->n_live;
        pthread_mutex_unlock(&w->mu);
        if (live > 0)
            worker__note_orphans(w);
        struct err err = {{0}};
        int st;
        if (!registered) {
            bool refused;
            st = register_once(w, &refused, &err);
            if (st == RPC_STATUS_OK && refused) {
                LOG(LOG_WARN, "worker", "%s; retrying", err.msg);
                st = RPC_STATUS_UNAVAILABLE; /* back off and retry */
            } else if (st == RPC_STATUS_OK) {
                LOG(LOG_INFO, "worker", "registered again as server %u with %d running job(s)",
                    w->server_id, live);
            }
        } else {
            st = send_exits(w);
            if (st == 0 && mono_ns() >= next_hb) {
                bool known = true;
                st = heartbeat_once(w, &known);
                next_hb = mono_ns() + (long long)w->heartbeat_ms * 1000000LL;
                if (st == RPC_STATUS_OK && !known) {
                    LOG(LOG_WARN, "worker", "the scheduler does not know this worker (it "
                                            "restarted, or lost us): registering again");
                    pthread_mutex_lock(&w->mu);
                    w->registered = false;
                    pthread_mutex_unlock(&w->mu);
                    next_hb = 0;
                }
            }
            if (st != 0 && st != RPC_STATUS_OK && !transport_error(st))
                st = RPC_STATUS_OK; /* an answer: the scheduler is there */
            if (st == 0)
                st = RPC_STATUS_OK;
        }
        pthread_mutex_lock(&w->mu);
        if (w->stop)
            break; /* stopping: a scheduler gone first is no news */
        now = mono_ns();
        /* stopping (or about to: Ctrl-C on a whole `deploy --local` signals the
         * scheduler and its workers at once), a scheduler gone too is no news:
         * keep trying to report the jobs' exits, but say nothing */
        bool quiet = w->stopping || stop_signal_pending();
        if (st != RPC_STATUS_OK) {
            if (!down_since) {
                down_since = now;
                next_say = now + 10000000000LL;
                if (!quiet)
                    LOG(LOG_WARN, "worker", "scheduler %s:%d unreachable (%s); keeping %d job(s) "
                                        "running until their leases end, retrying with backoff",
                    w->o->sched_addr, w->o->sched_port, err.msg[0] ? err.msg : "no answer",
                    w->n_live);
            } else if (now >= next_say) { /* and again every 10 s while it is */
                next_say = now + 10000000000LL;
                if (!quiet)
                    LOG(LOG_WARN, "worker", "scheduler at %s:%d still unreachable after %.0f s (%s); "
                                        "%d job(s) running, retrying",
                    w->o->sched_addr, w->o->sched_port, (double)(now - down_since) / 1e9,
                    err.msg[0] ? err.msg : "no answer", w->n_live);
            }
            long long hb = w->heartbeat_ms ? w->heartbeat_ms : 200;
            backoff_ms = backoff_ms ? backoff_ms * 2 : hb;
            if (backoff_ms > 5000)
                backoff_ms = 5000;
        } else {
            if (down_since)
                LOG(LOG_WARN, "worker", "scheduler reachable again after %.1f s",
                    (double)(now - down_since) / 1e9);
            down_since = 0;
            backoff_ms = 0;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}
