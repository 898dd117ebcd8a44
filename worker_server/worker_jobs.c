/*
 * The worker's service: the scheduler's calls RunJob, ExtendLease and
 * KillJob. Only the scheduler may call (peer_allowed): with mutual TLS its
 * certificate identity, with --insecure its address. Even the scheduler is
 * obeyed only within bounds: leases of at most a few rounds, and no GPU of
 * another live job.
 */
#include "worker_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether `ip` is an address of this machine: binding it succeeds. */
static bool ip_is_local(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        len = sizeof *a6;
    } else {
        return false;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

/* The scheduler's addresses (its --scheduler host resolved), and whether one
 * of them is on this machine. */
void worker__resolve_scheduler(struct worker *w)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    w->n_sched_ips = 0;
    char host[256];
    snprintf(host, sizeof host, "%s", w->o->sched_addr + (w->o->sched_addr[0] == '['));
    char *rb = strchr(host, ']');
    if (rb)
        *rb = '\0';
    if (getaddrinfo(host, NULL, &hints, &res) == 0) {
        for (struct addrinfo *a = res; a && w->n_sched_ips < 8; a = a->ai_next) {
            char buf[INET6_ADDRSTRLEN];
            const void *src = a->ai_family == AF_INET
                                  ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                  : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
            if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
                !inet_ntop(a->ai_family, src, buf, sizeof buf))
                continue;
            snprintf(w->sched_ips[w->n_sched_ips++], sizeof w->sched_ips[0], "%s", buf);
        }
        freeaddrinfo(res);
    }
    if (w->n_sched_ips == 0)
        snprintf(w->sched_ips[w->n_sched_ips++], sizeof w->sched_ips[0], "%s", host);
    for (int i = 0; i < w->n_sched_ips; i++)
        w->sched_is_local |= ip_is_local(w->sched_ips[i]);
}

/* Only the scheduler may call: a peer with one of its addresses, or, when the
 * scheduler runs on this machine, any address of this machine (the kernel
 * picks the source address: a scheduler on 127.0.0.2 calls 127.0.0.3 from
 * 127.0.0.1). An address check, not authentication (docs/security.md). */
const char *worker__sched_identity(const struct worker *w)
{
    return w->o->sched_identity ? w->o->sched_identity : "scheduler";
}

static bool peer_allowed(struct worker *w, rpc_call_t *call)
{
    if (w->o->tls) {
        const char *id = rpc_call_identity(call);
        const char *want = worker__sched_identity(w);
        if (strcmp(id, want) == 0)
            return true;
        LOG(LOG_WARN, "worker", "refused a call from %s: identity '%s' is not the scheduler's "
                                "('%s')", rpc_call_peer(call), id, want);
        rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED,
                            "caller's certificate is not the scheduler's");
        return false;
    }
    char ip[128];
    rpc_call_peer_ip(call, ip, sizeof ip);
    for (int i = 0; i < w->n_sched_ips; i++)
        if (strcmp(ip, w->sched_ips[i]) == 0)
            return true;
    if (w->sched_is_local && ip_is_local(ip))
        return true;
    LOG(LOG_WARN, "worker", "refused a call from %s: only the scheduler (%s) may call",
        rpc_call_peer(call), w->o->sched_addr);
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED, "caller is not the scheduler");
    return false;
}

/* The longest lease obeyed; set by a (re-)registration on the main thread. */
static long long max_lease_ms(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    long long v = w->max_lease_ms;
    pthread_mutex_unlock(&w->mu);
    return v;
}

/* Whether a lease of lease_ms is longer than the worker obeys (RunJob and
 * ExtendLease alike); msg says so. */
static bool lease_too_long(struct worker *w, uint32_t lease_ms, char *msg, size_t n)
{
    long long max_lease = max_lease_ms(w);
    if ((long long)lease_ms <= max_lease)
        return false;
    snprintf(msg, n, "lease of %u ms is longer than %lld ms (%d rounds)", lease_ms, max_lease,
             MAX_LEASE_ROUNDS);
    return true;
}

/* A job in the way of a launch (an earlier attempt of the same job, or a job
 * on the same GPUs) that was already SIGKILLed is gone within milliseconds,
 * once reaped: wait for that (at most a second) rather than refuse the launch
 * and cost the job a round. The scheduler kills an attempt it does not know
 * (say, launched just before it crashed) and launches the job again at once.
 * Called with w->mu held. */
static void wait_killed(struct worker *w, long id, unsigned attempt, const int *gpus, int n)
{
    long long until = mono_ns() + w->kill_wait_ms * 1000000LL;
    for (;;) {
        bool dying = false, blocked = false;
        for (int i = 0; i < MAX_JOBS; i++) {
            const struct wjob *o = &w->jobs[i];
            if (!o->used || (o->job_id == id && o->attempt == attempt))
                continue;
            bool in_way = o->job_id == id;
            for (int a = 0; a < o->n_gpus && !in_way; a++)
                for (int b = 0; b < n && !in_way; b++)
                    in_way = o->gpus[a] == gpus[b];
            if (!in_way)
                continue;
            if (o->sigkilled)
                dying = true;
            else
                blocked = true;
        }
        long long now = mono_ns();
        if (!dying || blocked || now >= until)
            return;
        struct timespec ts = {.tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL};
        pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
    }
}

/* A later attempt of a job whose earlier attempt is being stopped (SIGTERM
 * sent: the scheduler killed an attempt it did not know, after its restart,
 * and launches the job again): the earlier one's grace ends now, SIGKILL,
 * rather than refuse the launch and cost the job a round. Its work since the
 * scheduler last heard of it is not credited anyway. w->mu held. */
static void supersede(struct worker *w, long id, unsigned attempt)
{
    struct wjob *o = worker__find_job(w, id);
    if (o && o->attempt < attempt && o->term_ns && !o->sigkilled) {
        LOG(LOG_INFO, "worker", "job %ld attempt %u: superseded by attempt %u: SIGKILL", id,
            o->attempt, attempt);
        worker__kill_job(w, o);
    }
}

/* Refuse with `status` and a message, logged as the job's. RPC_FAILED. */
static enum rpc_result refuse(rpc_call_t *call, uint64_t job, int status, const char *msg)
{
    LOG(LOG_WARN, "worker", "job %lu refused: %s", (unsigned long)job, msg);
    rpc_call_set_status(call, status, msg);
    return RPC_FAILED;
}

/* The request's own checks (no lock): protocol, model, GPUs, lease bound.
 * Fills gpus[]. RPC_REPLY when it may go on. */
static enum rpc_result check_run_request(struct worker *w, rpc_call_t *call,
                                         const Synergy__V1__RunJobRequest *req, int *gpus)
{
    char msg[160];
    if (req->version != 1)
        return refuse(call, req->job_id, RPC_STATUS_FAILED_PRECONDITION,
                      "protocol version must be 1");
    if (!catalog_has(w->cat, req->model)) {
        snprintf(msg, sizeof msg, "model '%s' is not in this worker's catalog", req->model);
        return refuse(call, req->job_id, RPC_STATUS_NOT_FOUND, msg);
    }
    if (req->n_gpus == 0 || req->n_gpus > TOPO_MAX_GPUS)
        return refuse(call, req->job_id, RPC_STATUS_INVALID_ARGUMENT, "bad GPU list");
    for (size_t i = 0; i < req->n_gpus; i++) {
        if ((int)req->gpus[i] >= w->topo.n_gpus)
            return refuse(call, req->job_id, RPC_STATUS_INVALID_ARGUMENT,
                          "GPU index out of range");
        gpus[i] = (int)req->gpus[i];
    }
    if (lease_too_long(w, req->lease_ms, msg, sizeof msg))
        return refuse(call, req->job_id, RPC_STATUS_INVALID_ARGUMENT, msg);
    if (lease_too_long(w, req->kill_wait_ms, msg, sizeof msg)) /* a grace is a lease too */
        return refuse(call, req->job_id, RPC_STATUS_INVALID_ARGUMENT, msg);
    return RPC_REPLY;
}

/* With w->mu held: the job's slot, or an answer. A GPU held by another live
 * job is never given twice; a retried RunJob of the running attempt is
 * answered as accepted; an earlier attempt still running is refused.
 * *slot is set when a new job may start (RPC_REPLY); otherwise the call is
 * answered (RPC_REPLY with resp filled for a retry, or RPC_FAILED). */
static enum rpc_result claim_slot(struct worker *w, rpc_call_t *call,
                                  const Synergy__V1__RunJobRequest *req, const int *gpus,
                                  Synergy__V1__RunJobResponse *resp, struct wjob **slot)
{
    *slot = NULL;
    for (int i = 0; i < MAX_JOBS; i++) {
        const struct wjob *o = &w->jobs[i];
        if (!o->used || o->job_id == (long)req->job_id)
            continue;
        for (int a = 0; a < o->n_gpus; a++)
            for (size_t b = 0; b < req->n_gpus; b++)
                if (o->gpus[a] == gpus[b]) {
                    char msg[160];
                    snprintf(msg, sizeof msg, "GPU %d is held by job %ld", gpus[b], o->job_id);
                    return refuse(call, req->job_id, RPC_STATUS_FAILED_PRECONDITION, msg);
                }
    }
    struct wjob *old = worker__find_job(w, (long)req->job_id);
    if (old && old->attempt == req->attempt) { /* a retried RunJob: already running */
        resp->accepted = true;
        resp->pid = old->pid;
        resp->processes = old->processes;
        return RPC_REPLY;
    }
    if (old) {
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION,
                            "an earlier attempt of this job is still running");
        return RPC_FAILED;
    }
    for (int i = 0; i < MAX_JOBS && !*slot; i++)
        if (!w->jobs[i].used)
            *slot = &w->jobs[i];
    if (!*slot) {
        rpc_call_set_status(call, RPC_STATUS_UNAVAILABLE, "job table full");
        return RPC_FAILED;
    }
    return RPC_REPLY;
}

/* The CPUs for the job's GPUs that no live job holds (w->mu held). */
static int pick_cpus(struct worker *w, const Synergy__V1__RunJobRequest *req, const int *gpus,
                     int *cpus)
{
    bool busy[TOPO_MAX_CPUS] = {false};
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used)
            for (int c = 0; c < w->jobs[i].n_cpus; c++)
                if (w->jobs[i].cpus[c] < TOPO_MAX_CPUS)
                    busy[w->jobs[i].cpus[c]] = true;
    int want = req->cpus > 0 ? (int)req->cpus : 1;
    if (want > TOPO_MAX_CPUS)
        want = TOPO_MAX_CPUS;
    return topo_cpus_for_gpus(&w->topo, gpus, (int)req->n_gpus, want, busy, cpus);
}

/* A job's paths under --run-dir: its checkpoint directory (also HOME), the
 * log directory, this attempt's log, and its cgroup. */
struct job_paths {
    char chk[PATH_MAX + 48], logdir[PATH_MAX + 8], log[PATH_MAX + 64], cgroup[PATH_MAX + 200];
};

/* Whom a job runs as. */
struct job_account {
    bool set_user;
    uid_t uid;
    gid_t gid;
};

/* Is `name` in the comma-separated list? */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *q = list; q && *q;) {
        size_t l = strcspn(q, ",");
        if (l == n && strncmp(q, name, n) == 0)
            return true;
        q += l + (q[l] == ',');
    }
    return false;
}

/* The account of a job (issue 25): the RunJob's unix_user (its submitter's,
 * from the scheduler's tenants file) when the worker has --job-users and
 * lists it (root only if listed); else --job-user. 0, or -1 + err. */
static int job_account(const struct worker *w, const char *name, struct job_account *a,
                       struct err *err)
{
    *a = (struct job_account){.set_user = w->set_user, .uid = w->job_uid, .gid = w->job_gid};
    const char *allow = w->o->job_users;
    if (!allow || !name || !name[0]) {
        if (allow && !w->o->job_user && geteuid() == 0)
            return errprintf(err, "the job names no user, and this worker has --job-users but "
                                  "no --job-user");
        return 0;
    }
    if (!in_list(allow, name))
        return errprintf(err, "job user '%s' is not in this worker's --job-users", name);
    char buf[4096];
    struct passwd pw, *res = NULL;
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res)
        return errprintf(err, "job user '%s' is not a user of this machine", name);
    if (geteuid() != 0 && res->pw_uid != geteuid())
        return errprintf(err, "job user '%s': only a worker started as root can run jobs as "
                              "another user", name);
    *a = (struct job_account){.set_user = geteuid() == 0, .uid = res->pw_uid,
                              .gid = res->pw_gid};
    return 0;
}

static void job_paths(struct worker *w, const Synergy__V1__RunJobRequest *req,
                      const struct job_account *acct, struct job_paths *p)
{
    snprintf(p->chk, sizeof p->chk, "%s/checkpoints/job_id=%lu", w->run_dir,
             (unsigned long)req->job_id);
    snprintf(p->logdir, sizeof p->logdir, "%s/logs", w->run_dir);
    snprintf(p->log, sizeof p->log, "%s/job-%lu-attempt-%u.log", p->logdir,
             (unsigned long)req->job_id, req->attempt);
    if (w->cg_base[0]) {
        mkdir(w->cg_base, 0755); /* the worker removes it when it has no job */
        snprintf(p->cgroup, sizeof p->cgroup, "%s/job-%lu-attempt-%u", w->cg_base,
                 (unsigned long)req->job_id, req->attempt);
    }
    else
        p->cgroup[0] = '\0';
    worker__mkdirs(p->chk);
    worker__mkdirs(p->logdir);
    if (acct->set_user && chown(p->chk, acct->uid, acct->gid) < 0)
        LOG(LOG_WARN, "worker", "chown %s: %s", p->chk, strerror(errno));
}

/* The job's environment: the launch contract of the reference (SYNERGY_*),
 * CUDA's device list, and one process per GPU's ranks. */
static void job_env(struct worker *w, const Synergy__V1__RunJobRequest *req,
                    const struct job_paths *p, const char *gpulist, const char *cpulist,
                    unsigned procs, struct env_builder *env)
{
    env_add(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add(env, "HOME", "%s", p->chk);
    env_add(env, "LANG", "C.UTF-8");
    env_add(env, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    env_add(env, "CUDA_VISIBLE_DEVICES", "%s", gpulist);
    env_add(env, "SYNERGY_GPUS_ALLOCATED", "%s", gpulist);
    env_add(env, "SYNERGY_CPUS_ALLOCATED", "%s", cpulist);
    env_add(env, "SYNERGY_GPU_THIS_SERVER", "%zu", req->n_gpus);
    env_add(env, "SYNERGY_CPU_THIS_SERVER", "%u", req->cpus);
    env_add(env, "SYNERGY_MEM_THIS_SERVER", "%.3f", req->mem_gb);
    env_add(env, "SYNERGY_ARCH", "%s", req->model);
    env_add(env, "SYNERGY_BATCH_SIZE", "%u", req->batch_size);
    env_add(env, "SYNERGY_TOTAL_ITERS", "%lu", (unsigned long)req->total_iters);
    env_add(env, "SYNERGY_ELAPSED_ITERS", "%lu", (unsigned long)req->elapsed_iters);
    env_add(env, "SYNERGY_LOG_DIR", "%s", p->logdir);
    /* every process of the job inherits it: a later worker on this run
     * directory finds what an earlier one left (contain.c) */
    env_add(env, "SYNERGY_RUN_DIR", "%s", w->run_dir);
    env_add(env, "SYNERGY_JOB_ID", "%lu", (unsigned long)req->job_id);
    env_add(env, "SYNERGY_SCHED_ADDR", "%s", req->sched_addr);
    env_add(env, "SYNERGY_SCHED_PORT", "%u", req->sched_port);
    env_add(env, "SYNERGY_ITER_TIME_S", "%.17g", req->iter_time_s);
    env_add(env, "SYNERGY_TIME_SCALE", "%.17g", req->time_scale > 0 ? req->time_scale : 1.0);
    env_add(env, "SYNERGY_ATTEMPT", "%u", req->attempt);
    if (req->job_token && req->job_token[0])
        env_add(env, "SYNERGY_JOB_TOKEN", "%s", req->job_token);
    if (w->o->tls_ca_path) { /* the CA is public: jobs verify the scheduler with it */
        env_add(env, "SYNERGY_TLS_CA", "%s", w->o->tls_ca_path);
        env_add(env, "SYNERGY_SCHED_IDENTITY", "%s", worker__sched_identity(w));
    }
    /* one process per GPU (catalog ranks = per-gpu): RANK = rank_base + LOCAL_RANK */
    env_add(env, "SYNERGY_PROCS_THIS_SERVER", "%u", procs);
    env_add(env, "SYNERGY_RANK_BASE", "%u", req->rank_base);
    env_add(env, "SYNERGY_JOB_GPUS", "%u", req->job_gpus ? req->job_gpus : (unsigned)req->n_gpus);
    if (getenv("SYNERGY_JOB_TRACE")) /* debugging aid, passed through on purpose */
        env_add(env, "SYNERGY_JOB_TRACE", "1");
    if (req->world > 1) {
        env_add(env, "SYNERGY_DISTRIBUTED", "1");
        env_add(env, "SYNERGY_NNODES", "%u", req->world);
        env_add(env, "SYNERGY_RANK", "%u", req->rank);
        env_add(env, "SYNERGY_WORLD_SIZE", "%u", req->world);
    }
}

/* "a,b,c" of n ints (unsigned when u != NULL) into buf. */
static void int_list(char *buf, size_t n, const int *v, const uint32_t *u, size_t count)
{
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%ld", i ? "," : "",
                 u ? (long)u[i] : (long)v[i]);
}

/* Fork and exec the job into `j` (w->mu held). 0, or -1 + err. */
static int start_job(struct worker *w, const Synergy__V1__RunJobRequest *req, const int *gpus,
                     const int *cpus, int nc, struct wjob *j, struct err *err)
{
    struct job_paths p;
    struct job_account acct;
    if (job_account(w, req->unix_user, &acct, err) < 0)
        return -1;
    job_paths(w, req, &acct, &p);
    struct catalog_vars v = {.synergy = w->synergy_path, .sched_addr = req->sched_addr,
                             .chk_dir = p.chk, .log_dir = p.logdir, .model = req->model,
                             .gpu_type = w->gpu_type,
                             .job_id = (long)req->job_id, .sched_port = req->sched_port,
                             .batch_size = req->batch_size, .total_iters = (long)req->total_iters,
                             .elapsed_iters = (long)req->elapsed_iters,
                             .time_scale = req->time_scale};
    char **argv = catalog_argv(w->cat, req->model, &v, err);
    char gpulist[8192], cpulist[8192];
    int_list(gpulist, sizeof gpulist, NULL, req->gpus, req->n_gpus);
    int_list(cpulist, sizeof cpulist, cpus, NULL, (size_t)nc);
    unsigned procs = catalog_processes(w->cat, req->model, (unsigned)req->n_gpus);
    struct env_builder env = {0};
    job_env(w, req, &p, gpulist, cpulist, procs, &env);
    struct launch_spec sp = {.argv = argv, .envp = env.v, .cpus = cpus, .n_cpus = nc,
                             .membind_nodes = 0, .mem_gb = req->mem_gb,
                             .cgroup_dir = p.cgroup[0] ? p.cgroup : NULL,
                             .cwd = w->run_dir, .log_path = p.log,
                             .set_user = acct.set_user, .uid = acct.uid, .gid = acct.gid};
    unsigned long long nodes = topo_nodes_of_cpus(&w->topo, cpus, nc);
    for (int k = 0; k < w->topo.n_numa && k < 64; k++)
        if ((nodes >> k) & 1ULL)
            sp.membind_nodes |= 1ULL << w->topo.numa[k].os_index;
    int rc = argv ? w->launch(&sp, &j->lr, err) : -1;
    env_free(&env);
    catalog_argv_free(argv);
    if (rc < 0)
        return -1;
    j->used = true;
    j->job_id = (long)req->job_id;
    j->attempt = req->attempt;
    j->pid = j->lr.pid;
    j->n_cpus = nc;
    memcpy(j->cpus, cpus, sizeof(int) * (size_t)nc);
    snprintf(j->token, sizeof j->token, "%s", req->job_token ? req->job_token : "");
    snprintf(j->log, sizeof j->log, "%s", p.log);
    if (w->launch == launch_job)
        contain_note_job(w->run_dir, j->job_id, j->attempt, j->pid, j->lr.cgroup);
    j->n_gpus = (int)req->n_gpus;
    memcpy(j->gpus, gpus, sizeof(int) * req->n_gpus);
    j->deadline_ns = mono_ns() +
                     (req->lease_ms ? (long long)req->lease_ms : w->max_lease_ms) * 1000000LL;
    j->killed_lease = false;
    j->sigkilled = false;
    j->worker_stop = false;
    j->term_ns = 0;
    double scale = req->time_scale > 0 ? req->time_scale : 1.0;
    j->kill_wait_ns = req->kill_wait_ms ? (long long)req->kill_wait_ms * 1000000LL
                                        : (long long)(DEFAULT_KILL_WAIT_MS * 1e6 / scale);
    j->processes = procs;
    w->n_live++;
    w->child_gen++;
    pthread_cond_signal(&w->child_cv);
    pthread_cond_signal(&w->lease_cv);
    LOG(LOG_INFO, "worker", "job %lu attempt %u: pid %d, GPUs %s, CPUs %s, memory limit %s, %s",
        (unsigned long)req->job_id, req->attempt, (int)j->pid, gpulist, cpulist,
        j->lr.mem_limit_enforced ? "enforced (cgroup v2)" : "not enforced",
        j->lr.cgroup[0] ? "in its cgroup" : "in its process group");
    return 0;
}

static enum rpc_result h_run_job(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                 ProtobufCMessage *rs)
{
    struct worker *w = ud;
    const Synergy__V1__RunJobRequest *req = (const void *)rq;
    Synergy__V1__RunJobResponse *resp = (void *)rs;
    if (!peer_allowed(w, call))
        return RPC_FAILED;
    int gpus[TOPO_MAX_GPUS];
    if (check_run_request(w, call, req, gpus) != RPC_REPLY)
        return RPC_FAILED;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        rpc_call_set_status(call, RPC_STATUS_UNAVAILABLE, "the worker is stopping");
        return RPC_FAILED;
    }
    supersede(w, (long)req->job_id, req->attempt);
    wait_killed(w, (long)req->job_id, req->attempt, gpus, (int)req->n_gpus);
    struct wjob *j;
    enum rpc_result r = claim_slot(w, call, req, gpus, resp, &j);
    if (!j) {
        pthread_mutex_unlock(&w->mu);
        return r;
    }
    int cpus[TOPO_MAX_CPUS];
    int nc = pick_cpus(w, req, gpus, cpus);
    struct err err = {{0}};
    if (start_job(w, req, gpus, cpus, nc, j, &err) < 0) {
        pthread_mutex_unlock(&w->mu);
        LOG(LOG_WARN, "worker", "job %lu: %s", (unsigned long)req->job_id, err.msg);
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION, err.msg);
        return RPC_FAILED;
    }
    resp->accepted = true;
    resp->pid = j->pid;
    resp->processes = j->processes;
    resp->mem_bound = j->lr.mem_bound;
    resp->mem_limit_enforced = j->lr.mem_limit_enforced;
    uint32_t *ca = rpc_call_alloc(call, sizeof(uint32_t) * (size_t)nc);
    for (int i = 0; i < nc; i++)
        ca[i] = (uint32_t)cpus[i];
    resp->n_cpus_applied = (size_t)nc;
    resp->cpus_applied = ca;
    bool warn_mem = !j->lr.mem_limit_enforced && req->mem_gb > 0 && !w->warned_mem_limit;
    if (warn_mem)
        w->warned_mem_limit = true;
    pthread_mutex_unlock(&w->mu);
    if (warn_mem)
        LOG(LOG_WARN, "worker", "memory limits are NOT enforced: cannot create a cgroup v2 with "
                                "memory.max under /sys/fs/cgroup (jobs get membind only)");
    return RPC_REPLY;
}

static enum rpc_result h_extend(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                ProtobufCMessage *rs)
{
    struct worker *w = ud;
    const Synergy__V1__ExtendLeaseRequest *req = (const void *)rq;
    Synergy__V1__JobAck *resp = (void *)rs;
    if (!peer_allowed(w, call))
        return RPC_FAILED;
    char msg[160];
    if (lease_too_long(w, req->lease_ms, msg, sizeof msg)) {
        LOG(LOG_WARN, "worker", "ExtendLease of job %lu refused: %s",
            (unsigned long)req->job_id, msg);
        rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, msg);
        return RPC_FAILED;
    }
    pthread_mutex_lock(&w->mu);
    struct wjob *j = worker__find_job(w, (long)req->job_id);
    if (j && !j->killed_lease && !j->term_ns) {
        j->deadline_ns = mono_ns() + (long long)req->lease_ms * 1000000LL;
        resp->known = true;
        pthread_cond_signal(&w->lease_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return RPC_REPLY;
}

static enum rpc_result h_kill(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                              ProtobufCMessage *rs)
{
    struct worker *w = ud;
    const Synergy__V1__KillJobRequest *req = (const void *)rq;
    Synergy__V1__JobAck *resp = (void *)rs;
    if (!peer_allowed(w, call))
        return RPC_FAILED;
    pthread_mutex_lock(&w->mu);
    struct wjob *j = worker__find_job(w, (long)req->job_id);
    if (j) {
        worker__term_job(w, j, "KillJob");
        resp->known = true;
    }
    pthread_mutex_unlock(&w->mu);
    return RPC_REPLY;
}

void worker_add_service(struct worker *w, rpc_server_t *srv)
{
    static const struct rpc_method handlers[] = {{"RunJob", h_run_job},
                                                 {"ExtendLease", h_extend},
                                                 {"KillJob", h_kill},
                                                 {NULL, NULL}};
    rpc_server_add_service(srv, &synergy__v1__scheduler_to_worker__descriptor, handlers, w);
}
