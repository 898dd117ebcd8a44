/*
 * The worker server: registers with the scheduler (reporting its probed
 * topology), serves synergy.v1.SchedulerToWorker, and supervises the jobs it
 * launched. Threads: the rpc completion-queue thread (handlers), a reaper
 * blocked in waitpid(), a lease thread sleeping until the earliest lease
 * expiry (then SIGKILL to the job's process group), a heartbeat thread, and
 * the main thread waiting for SIGTERM/SIGINT. Nothing polls in a loop.
 *
 * Only the scheduler may call RunJob/ExtendLease/KillJob: with mutual TLS
 * the peer's certificate identity must be the scheduler's
 * (--scheduler-identity); with --insecure the check is on the peer IP,
 * which is not authentication (see README). Even the scheduler is obeyed
 * only within bounds: leases of at most a few rounds, and no GPU of another
 * live job.
 */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "rpc.h"
#include "synergy_worker.pb-c.h"

#define MAX_JOBS 256

struct wjob {
    bool used;
    long job_id;
    unsigned attempt;
    pid_t pid;
    int n_cpus;
    int cpus[TOPO_MAX_CPUS];
    long long deadline_ns; /* CLOCK_MONOTONIC */
    bool killed_lease;
    bool sigkilled;        /* SIGKILL sent to its group: gone once reaped */
    unsigned processes;    /* iterator processes of this launch */
    int n_gpus;
    int gpus[TOPO_MAX_GPUS];
    char token[33];        /* the attempt's job token (RunJob), "" none */
    struct launch_result lr;
};

/* An exit the scheduler has not acknowledged yet: kept and re-sent, also
 * across a scheduler restart. */
struct pending_exit {
    long job_id;
    unsigned attempt;
    int status;
    bool lease;
};

/* RegisterWorker's topology part, built once. */
struct reg_msg {
    Synergy__V1__RegisterWorkerRequest req;
    Synergy__V1__NumaNode nodes[TOPO_MAX_NUMA], *np[TOPO_MAX_NUMA];
    uint32_t *cpu_lists[TOPO_MAX_NUMA];
    Synergy__V1__Gpu gpus[TOPO_MAX_GPUS], *gp[TOPO_MAX_GPUS];
};

struct worker {
    const struct worker_options *o;
    struct topo topo;
    catalog_t *cat;
    rpc_server_t *srv;
    rpc_client_t *sched;
    int port;
    unsigned server_id;
    unsigned heartbeat_ms;
    char synergy_path[PATH_MAX];
    char sched_ips[8][256];
    int n_sched_ips;
    bool sched_is_local;
    pthread_mutex_t mu;
    pthread_cond_t child_cv; /* a child was launched / stop */
    pthread_cond_t lease_cv; /* leases changed / stop */
    pthread_cond_t stop_cv;  /* stop / an exit to report (the scheduler link thread) */
    long long kill_wait_ms;  /* how long a launch waits for a killed job in its way */
    struct wjob jobs[MAX_JOBS];
    int n_live;
    unsigned long child_gen;  /* bumped at every launch (wakes the reaper) */
    bool stop;
    bool warned_mem_limit;
    bool registered;          /* false: the scheduler does not know us (register again) */
    struct pending_exit *exits;
    size_t n_exits, cap_exits;
    struct reg_msg reg;
    long long max_lease_ms;   /* the longest lease obeyed: a few rounds */
    bool set_user;            /* jobs run as uid/gid (--job-user) */
    uid_t job_uid;
    gid_t job_gid;
    worker_launch_fn launch;  /* launch_job (tests: a stand-in for fork + exec) */
};

/* A lease longer than this many rounds is refused (unscaled round length:
 * at a time scale K > 1 the real rounds are shorter, so this is looser). */
#define MAX_LEASE_ROUNDS 4
#define DEFAULT_MAX_LEASE_MS (3600LL * 1000)

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ns_to_ts(long long ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

static struct wjob *find_job(struct worker *w, long id)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used && w->jobs[i].job_id == id)
            return &w->jobs[i];
    return NULL;
}

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
static void resolve_scheduler(struct worker *w)
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
 * 127.0.0.1). An address check, not authentication (see README). */
static bool peer_allowed(struct worker *w, rpc_call_t *call)
{
    if (w->o->tls) {
        const char *id = rpc_call_identity(call);
        const char *want = w->o->sched_identity ? w->o->sched_identity : "scheduler";
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

static void mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

/* The longest lease obeyed; set by a (re-)registration on the main thread. */
static long long max_lease_ms(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    long long v = w->max_lease_ms;
    pthread_mutex_unlock(&w->mu);
    return v;
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

static enum rpc_result h_run_job(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                 ProtobufCMessage *rs)
{
    struct worker *w = ud;
    const Synergy__V1__RunJobRequest *req = (const void *)rq;
    Synergy__V1__RunJobResponse *resp = (void *)rs;
    if (!peer_allowed(w, call))
        return RPC_FAILED;
    if (req->version != 1) {
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION, "protocol version must be 1");
        return RPC_FAILED;
    }
    if (!catalog_has(w->cat, req->model)) {
        char msg[160];
        snprintf(msg, sizeof msg, "model '%s' is not in this worker's catalog", req->model);
        LOG(LOG_WARN, "worker", "job %lu refused: %s", (unsigned long)req->job_id, msg);
        rpc_call_set_status(call, RPC_STATUS_NOT_FOUND, msg);
        return RPC_FAILED;
    }
    int gpus[TOPO_MAX_GPUS];
    if (req->n_gpus == 0 || req->n_gpus > TOPO_MAX_GPUS) {
        rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, "bad GPU list");
        return RPC_FAILED;
    }
    for (size_t i = 0; i < req->n_gpus; i++) {
        if ((int)req->gpus[i] >= w->topo.n_gpus) {
            rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, "GPU index out of range");
            return RPC_FAILED;
        }
        gpus[i] = (int)req->gpus[i];
    }
    long long max_lease = max_lease_ms(w);
    if ((long long)req->lease_ms > max_lease) {
        char msg[160];
        snprintf(msg, sizeof msg, "lease of %u ms is longer than %lld ms (%d rounds)",
                 req->lease_ms, max_lease, MAX_LEASE_ROUNDS);
        LOG(LOG_WARN, "worker", "job %lu refused: %s", (unsigned long)req->job_id, msg);
        rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, msg);
        return RPC_FAILED;
    }
    pthread_mutex_lock(&w->mu);
    wait_killed(w, (long)req->job_id, req->attempt, gpus, (int)req->n_gpus);
    /* a GPU held by another live job is never given twice */
    for (int i = 0; i < MAX_JOBS; i++) {
        const struct wjob *o = &w->jobs[i];
        if (!o->used || o->job_id == (long)req->job_id)
            continue;
        for (int a = 0; a < o->n_gpus; a++)
            for (size_t b = 0; b < req->n_gpus; b++)
                if (o->gpus[a] == gpus[b]) {
                    pthread_mutex_unlock(&w->mu);
                    char msg[160];
                    snprintf(msg, sizeof msg, "GPU %d is held by job %ld", gpus[b], o->job_id);
                    LOG(LOG_WARN, "worker", "job %lu refused: %s", (unsigned long)req->job_id,
                        msg);
                    rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION, msg);
                    return RPC_FAILED;
                }
    }
    struct wjob *old = find_job(w, (long)req->job_id);
    if (old) {
        bool same = old->attempt == req->attempt;
        pthread_mutex_unlock(&w->mu);
        if (same) { /* a retried RunJob: already running */
            resp->accepted = true;
            resp->pid = old->pid;
            resp->processes = old->processes;
            return RPC_REPLY;
        }
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION,
                            "an earlier attempt of this job is still running");
        return RPC_FAILED;
    }
    struct wjob *j = NULL;
    for (int i = 0; i < MAX_JOBS && !j; i++)
        if (!w->jobs[i].used)
            j = &w->jobs[i];
    if (!j) {
        pthread_mutex_unlock(&w->mu);
        rpc_call_set_status(call, RPC_STATUS_UNAVAILABLE, "job table full");
        return RPC_FAILED;
    }
    bool busy[TOPO_MAX_CPUS] = {false};
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used)
            for (int c = 0; c < w->jobs[i].n_cpus; c++)
                if (w->jobs[i].cpus[c] < TOPO_MAX_CPUS)
                    busy[w->jobs[i].cpus[c]] = true;
    int want = req->cpus > 0 ? (int)req->cpus : 1;
    if (want > TOPO_MAX_CPUS)
        want = TOPO_MAX_CPUS;
    int cpus[TOPO_MAX_CPUS];
    int nc = topo_cpus_for_gpus(&w->topo, gpus, (int)req->n_gpus, want, busy, cpus);

    char chk[PATH_MAX], logdir[PATH_MAX], logpath[PATH_MAX + 64], cg[PATH_MAX];
    snprintf(chk, sizeof chk, "%s/checkpoints/job_id=%lu", w->o->run_dir,
             (unsigned long)req->job_id);
    snprintf(logdir, sizeof logdir, "%s/logs", w->o->run_dir);
    snprintf(logpath, sizeof logpath, "%s/job-%lu-attempt-%u.log", logdir,
             (unsigned long)req->job_id, req->attempt);
    snprintf(cg, sizeof cg, "/sys/fs/cgroup/synergy-worker-%d-job-%lu", w->port,
             (unsigned long)req->job_id);
    mkdirs(chk);
    mkdirs(logdir);
    if (w->set_user && chown(chk, w->job_uid, w->job_gid) < 0)
        LOG(LOG_WARN, "worker", "chown %s: %s", chk, strerror(errno));

    struct catalog_vars v = {.synergy = w->synergy_path, .sched_addr = req->sched_addr,
                             .chk_dir = chk, .log_dir = logdir, .model = req->model,
                             .job_id = (long)req->job_id, .sched_port = req->sched_port,
                             .batch_size = req->batch_size, .total_iters = (long)req->total_iters,
                             .elapsed_iters = (long)req->elapsed_iters,
                             .time_scale = req->time_scale};
    struct err err = {{0}};
    char **argv = catalog_argv(w->cat, req->model, &v, &err);

    char list[8192] = "", cpulist[8192] = "";
    for (size_t i = 0; i < req->n_gpus; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%u", i ? "," : "",
                 req->gpus[i]);
    for (int i = 0; i < nc; i++)
        snprintf(cpulist + strlen(cpulist), sizeof cpulist - strlen(cpulist), "%s%d",
                 i ? "," : "", cpus[i]);
    struct env_builder env = {0};
    env_add(&env, "PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add(&env, "HOME", "%s", chk);
    env_add(&env, "LANG", "C.UTF-8");
    env_add(&env, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    env_add(&env, "CUDA_VISIBLE_DEVICES", "%s", list);
    env_add(&env, "SYNERGY_GPUS_ALLOCATED", "%s", list);
    env_add(&env, "SYNERGY_CPUS_ALLOCATED", "%s", cpulist);
    env_add(&env, "SYNERGY_GPU_THIS_SERVER", "%zu", req->n_gpus);
    env_add(&env, "SYNERGY_CPU_THIS_SERVER", "%u", req->cpus);
    env_add(&env, "SYNERGY_MEM_THIS_SERVER", "%.3f", req->mem_gb);
    env_add(&env, "SYNERGY_ARCH", "%s", req->model);
    env_add(&env, "SYNERGY_BATCH_SIZE", "%u", req->batch_size);
    env_add(&env, "SYNERGY_TOTAL_ITERS", "%lu", (unsigned long)req->total_iters);
    env_add(&env, "SYNERGY_ELAPSED_ITERS", "%lu", (unsigned long)req->elapsed_iters);
    env_add(&env, "SYNERGY_LOG_DIR", "%s", logdir);
    env_add(&env, "SYNERGY_JOB_ID", "%lu", (unsigned long)req->job_id);
    env_add(&env, "SYNERGY_SCHED_ADDR", "%s", req->sched_addr);
    env_add(&env, "SYNERGY_SCHED_PORT", "%u", req->sched_port);
    env_add(&env, "SYNERGY_ITER_TIME_S", "%.17g", req->iter_time_s);
    env_add(&env, "SYNERGY_TIME_SCALE", "%.17g", req->time_scale > 0 ? req->time_scale : 1.0);
    env_add(&env, "SYNERGY_ATTEMPT", "%u", req->attempt);
    if (req->job_token && req->job_token[0])
        env_add(&env, "SYNERGY_JOB_TOKEN", "%s", req->job_token);
    if (w->o->tls_ca_path) /* the CA is public: jobs verify the scheduler with it */
        env_add(&env, "SYNERGY_TLS_CA", "%s", w->o->tls_ca_path);
    /* one process per GPU (catalog ranks = per-gpu): RANK = rank_base + LOCAL_RANK */
    unsigned procs = catalog_processes(w->cat, req->model, (unsigned)req->n_gpus);
    env_add(&env, "SYNERGY_PROCS_THIS_SERVER", "%u", procs);
    env_add(&env, "SYNERGY_RANK_BASE", "%u", req->rank_base);
    env_add(&env, "SYNERGY_JOB_GPUS", "%u", req->job_gpus ? req->job_gpus : (unsigned)req->n_gpus);
    if (getenv("SYNERGY_JOB_TRACE")) /* debugging aid, passed through on purpose */
        env_add(&env, "SYNERGY_JOB_TRACE", "1");
    if (req->world > 1) {
        env_add(&env, "SYNERGY_DISTRIBUTED", "1");
        env_add(&env, "SYNERGY_NNODES", "%u", req->world);
        env_add(&env, "SYNERGY_RANK", "%u", req->rank);
        env_add(&env, "SYNERGY_WORLD_SIZE", "%u", req->world);
    }
    struct launch_spec sp = {.argv = argv, .envp = env.v, .cpus = cpus, .n_cpus = nc,
                             .membind_nodes = 0, .mem_gb = req->mem_gb, .cgroup_dir = cg,
                             .cwd = w->o->run_dir, .log_path = logpath,
                             .set_user = w->set_user, .uid = w->job_uid, .gid = w->job_gid};
    unsigned long long nodes = topo_nodes_of_cpus(&w->topo, cpus, nc);
    for (int k = 0; k < w->topo.n_numa && k < 64; k++)
        if ((nodes >> k) & 1ULL)
            sp.membind_nodes |= 1ULL << w->topo.numa[k].os_index;
    if (w->o->no_cgroup)
        sp.cgroup_dir = NULL;
    int rc = argv ? w->launch(&sp, &j->lr, &err) : -1;
    env_free(&env);
    catalog_argv_free(argv);
    if (rc < 0) {
        pthread_mutex_unlock(&w->mu);
        LOG(LOG_WARN, "worker", "job %lu: %s", (unsigned long)req->job_id, err.msg);
        rpc_call_set_status(call, RPC_STATUS_FAILED_PRECONDITION, err.msg);
        return RPC_FAILED;
    }
    j->used = true;
    j->job_id = (long)req->job_id;
    j->attempt = req->attempt;
    j->pid = j->lr.pid;
    j->n_cpus = nc;
    memcpy(j->cpus, cpus, sizeof(int) * (size_t)nc);
    snprintf(j->token, sizeof j->token, "%s", req->job_token ? req->job_token : "");
    j->n_gpus = (int)req->n_gpus;
    memcpy(j->gpus, gpus, sizeof(int) * req->n_gpus);
    j->deadline_ns =
        mono_ns() + (req->lease_ms ? (long long)req->lease_ms : w->max_lease_ms) * 1000000LL;
    j->killed_lease = false;
    j->sigkilled = false;
    j->processes = procs;
    w->n_live++;
    w->child_gen++;
    pthread_cond_signal(&w->child_cv);
    pthread_cond_signal(&w->lease_cv);
    resp->accepted = true;
    resp->pid = j->pid;
    resp->processes = procs;
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
    LOG(LOG_INFO, "worker", "job %lu attempt %u: pid %d, GPUs %s, CPUs %s, memory limit %s",
        (unsigned long)req->job_id, req->attempt, (int)j->pid, list, cpulist,
        j->lr.mem_limit_enforced ? "enforced (cgroup v2)" : "not enforced");
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
    long long max_lease = max_lease_ms(w);
    if ((long long)req->lease_ms > max_lease) {
        char msg[160];
        snprintf(msg, sizeof msg, "lease of %u ms is longer than %lld ms (%d rounds)",
                 req->lease_ms, max_lease, MAX_LEASE_ROUNDS);
        LOG(LOG_WARN, "worker", "ExtendLease of job %lu refused: %s",
            (unsigned long)req->job_id, msg);
        rpc_call_set_status(call, RPC_STATUS_INVALID_ARGUMENT, msg);
        return RPC_FAILED;
    }
    pthread_mutex_lock(&w->mu);
    struct wjob *j = find_job(w, (long)req->job_id);
    if (j && !j->killed_lease) {
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
    struct wjob *j = find_job(w, (long)req->job_id);
    if (j) {
        kill(-j->pid, SIGKILL);
        j->sigkilled = true;
        resp->known = true;
    }
    pthread_mutex_unlock(&w->mu);
    return RPC_REPLY;
}

/* Kill the orphans (children that are not job leaders, re-parented to us as
 * subreaper) that belong to no running job. See supervise.c. */
static void sweep_orphans(struct worker *w)
{
    pid_t kids[1024];
    int n = supervise_children(kids, 1024);
    for (int i = 0; i < n; i++) {
        long id = -1;
        unsigned att = 0;
        bool tagged = supervise_job_of(kids[i], &id, &att);
        bool keep = false;
        pthread_mutex_lock(&w->mu);
        for (int k = 0; k < MAX_JOBS && !keep; k++) {
            const struct wjob *j = &w->jobs[k];
            keep = j->used && (j->pid == kids[i] || (tagged && j->job_id == id && j->attempt == att));
        }
        pthread_mutex_unlock(&w->mu);
        if (keep)
            continue;
        if (tagged)
            LOG(LOG_INFO, "worker", "killing pid %d, left behind by job %ld attempt %u",
                (int)kids[i], id, att);
        else
            LOG(LOG_INFO, "worker", "killing pid %d, an orphan of no running job", (int)kids[i]);
        supervise_kill(kids[i]);
    }
}

/* Reap every child: job leaders (their exit is queued for the scheduler, and
 * what they leave behind is killed) and orphans re-parented to us. */
static void *reaper(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        unsigned long gen = w->child_gen;
        pthread_mutex_unlock(&w->mu);
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            /* no child at all: wait for a launch (or stop) */
            pthread_mutex_lock(&w->mu);
            while (w->child_gen == gen && !w->stop)
                pthread_cond_wait(&w->child_cv, &w->mu);
            bool stop = w->stop && w->child_gen == gen;
            pthread_mutex_unlock(&w->mu);
            if (stop)
                return NULL;
            continue;
        }
        pthread_mutex_lock(&w->mu);
        struct wjob *j = NULL;
        for (int i = 0; i < MAX_JOBS && !j; i++)
            if (w->jobs[i].used && w->jobs[i].pid == pid)
                j = &w->jobs[i];
        if (!j) { /* an orphan, or a child of a failed launch */
            pthread_mutex_unlock(&w->mu);
            sweep_orphans(w);
            continue;
        }
        long id = j->job_id;
        unsigned attempt = j->attempt;
        bool lease = j->killed_lease;
        /* the leader exited: make sure nothing of its group survives */
        kill(-pid, SIGKILL);
        launch_cleanup(&j->lr);
        j->used = false;
        w->n_live--;
        xgrow((void **)&w->exits, &w->cap_exits, w->n_exits + 1, sizeof *w->exits);
        w->exits[w->n_exits++] = (struct pending_exit){id, attempt, status, lease};
        pthread_cond_signal(&w->lease_cv);
        pthread_cond_broadcast(&w->stop_cv);
        pthread_mutex_unlock(&w->mu);
        /* and nothing it started elsewhere (setsid, double fork) */
        sweep_orphans(w);
        LOG(LOG_INFO, "worker", "job %ld attempt %u exited: %s %d%s", id, attempt,
            WIFEXITED(status) ? "code" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
            lease ? " (killed at lease expiry)" : "");
    }
}

static void *lease_thread(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        long long now = mono_ns(), next = LLONG_MAX;
        for (int i = 0; i < MAX_JOBS; i++) {
            struct wjob *j = &w->jobs[i];
            if (!j->used || j->killed_lease)
                continue;
            if (j->deadline_ns <= now) {
                LOG(LOG_WARN, "worker", "job %ld: lease expired, killing process group %d",
                    j->job_id, (int)j->pid);
                kill(-j->pid, SIGKILL);
                j->killed_lease = true;
                j->sigkilled = true;
            } else if (j->deadline_ns < next) {
                next = j->deadline_ns;
            }
        }
        if (next == LLONG_MAX) {
            pthread_cond_wait(&w->lease_cv, &w->mu);
        } else {
            struct timespec ts = ns_to_ts(next);
            pthread_cond_timedwait(&w->lease_cv, &w->mu, &ts);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Build RegisterWorker's topology part once. */
static void reg_init(struct worker *w)
{
    struct reg_msg *m = &w->reg;
    Synergy__V1__RegisterWorkerRequest *req = &m->req;
    synergy__v1__register_worker_request__init(req);
    req->version = 1;
    req->ip = (char *)(w->o->listen_ip ? w->o->listen_ip : "127.0.0.1");
    req->port = (uint32_t)w->port;
    req->simulated_gpus = w->topo.simulated_gpus;
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

static void reg_free(struct worker *w)
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
 * it moved elsewhere while it had lost us). */
static void apply_kills(struct worker *w, Synergy__V1__JobRef *const *k, size_t n)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        struct wjob *j = find_job(w, (long)k[i]->job_id);
        if (!j || (k[i]->attempt && k[i]->attempt != j->attempt))
            continue;
        LOG(LOG_WARN, "worker", "job %ld attempt %u: killed, the scheduler does not run it",
            j->job_id, j->attempt);
        kill(-j->pid, SIGKILL);
        j->sigkilled = true;
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
static int register_first(struct worker *w, const sigset_t *stop, struct err *err)
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
        struct timespec ts = ns_to_ts(backoff_ms * 1000000LL);
        int sig = sigtimedwait(stop, NULL, &ts);
        if (sig > 0) {
            LOG(LOG_INFO, "worker", "signal %d before registering: stopping", sig);
            return -2;
        }
        backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
    }
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
        memmove(w->exits, w->exits + 1, (w->n_exits - 1) * sizeof *w->exits);
        w->n_exits--;
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
static void *sched_link(void *arg)
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
            struct timespec ts = ns_to_ts(wake);
            pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
        }
        if (w->stop)
            break;
        notify_watchdog(); /* alive, whether or not the scheduler is there */
        bool registered = w->registered;
        int live = w->n_live;
        pthread_mutex_unlock(&w->mu);
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
        if (st != RPC_STATUS_OK) {
            if (!down_since) {
                down_since = now;
                next_say = now + 10000000000LL;
                LOG(LOG_WARN, "worker", "scheduler %s:%d unreachable (%s); keeping %d job(s) "
                                        "running until their leases end, retrying with backoff",
                    w->o->sched_addr, w->o->sched_port, err.msg[0] ? err.msg : "no answer",
                    w->n_live);
            } else if (now >= next_say) { /* and again every 10 s while it is */
                next_say = now + 10000000000LL;
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

/* Count CPUs in the configured unit, hold the --reserve-cpus cores back
 * from jobs and move the worker onto them. This runs before any thread
 * exists (affinity is per thread and inherited), so gRPC's threads, the
 * reaper, lease and heartbeat threads all stay on the reserved cores; a job
 * sets its own cpuset between fork and exec. Nothing reserved: no pinning. */
static int reserve_and_pin(struct worker *w, struct err *err)
{
    w->topo.unit = w->o->cpu_unit;
    if (!w->o->reserve_cpus)
        return 0;
    if (topo_reserve(&w->topo, w->o->reserve_cpus, err) < 0)
        return -1;
    int pus[TOPO_MAX_CPUS];
    int n = topo_reserved_pus(&w->topo, pus);
    return n > 0 ? launch_pin_self(pus, n, err) : 0;
}

void worker_add_service(struct worker *w, rpc_server_t *srv)
{
    static const struct rpc_method handlers[] = {{"RunJob", h_run_job},
                                                 {"ExtendLease", h_extend},
                                                 {"KillJob", h_kill},
                                                 {NULL, NULL}};
    rpc_server_add_service(srv, &synergy__v1__scheduler_to_worker__descriptor, handlers, w);
}

struct worker *worker_test_new(const struct worker_options *o, const struct topo *t,
                               catalog_t *cat, worker_launch_fn launch)
{
    struct worker *w = xcalloc(1, sizeof *w);
    w->o = o;
    w->topo = *t;
    w->cat = cat;
    w->launch = launch;
    snprintf(w->synergy_path, sizeof w->synergy_path, "/bin/true");
    w->max_lease_ms = DEFAULT_MAX_LEASE_MS;
    resolve_scheduler(w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->child_cv, NULL);
    pthread_cond_init(&w->lease_cv, NULL);
    pthread_cond_init(&w->stop_cv, NULL);
    w->kill_wait_ms = 0; /* no supervisor reaps here: never wait for a kill */
    return w;
}

void worker_test_free(struct worker *w)
{
    pthread_cond_destroy(&w->child_cv);
    pthread_cond_destroy(&w->lease_cv);
    pthread_cond_destroy(&w->stop_cv);
    pthread_mutex_destroy(&w->mu);
    free(w->exits);
    free(w);
}

int worker_main(const struct worker_options *o)
{
    struct worker *w = xcalloc(1, sizeof *w);
    w->o = o;
    w->launch = launch_job;
    struct err err = {{0}};
    int rc = 2;
    if (topo_probe(&w->topo, o->topology_xml, o->sim_gpus, &err) < 0) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        free(w);
        return 2;
    }
    if (w->topo.n_gpus == 0) {
        fprintf(stderr, "synergy worker: no NVIDIA GPU found (use --gpus N to simulate)\n");
        free(w);
        return 2;
    }
    if (reserve_and_pin(w, &err) < 0) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        free(w);
        return 2;
    }
    w->cat = catalog_load(o->catalog_path, &err);
    if (!w->cat) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        free(w);
        return 2;
    }
    if (o->synergy_path)
        snprintf(w->synergy_path, sizeof w->synergy_path, "%s", o->synergy_path);
    else {
        ssize_t n = readlink("/proc/self/exe", w->synergy_path, sizeof w->synergy_path - 1);
        if (n > 0)
            w->synergy_path[n] = '\0';
    }
    w->max_lease_ms = DEFAULT_MAX_LEASE_MS;
    if (o->job_user) {
        struct passwd *pw = getpwnam(o->job_user);
        if (!pw) {
            fprintf(stderr, "synergy worker: --job-user: '%s' is not a user of this machine\n",
                    o->job_user);
            catalog_destroy(w->cat);
            free(w);
            return 2;
        }
        if (geteuid() != 0 && pw->pw_uid != geteuid()) {
            fprintf(stderr, "synergy worker: --job-user %s: only a worker started as root can run "
                            "jobs as another user\n", o->job_user);
            catalog_destroy(w->cat);
            free(w);
            return 2;
        }
        w->set_user = geteuid() == 0;
        w->job_uid = pw->pw_uid;
        w->job_gid = pw->pw_gid;
    } else if (geteuid() == 0) {
        fprintf(stderr, "synergy worker: started as root: give --job-user NAME (an unprivileged "
                        "user to run jobs as), or --job-user root to run them as root\n");
        catalog_destroy(w->cat);
        free(w);
        return 2;
    }
    LOG(LOG_INFO, "worker", "jobs run as %s (uid %d); calls %s", o->job_user ? o->job_user :
        "the worker's user", (int)(o->job_user ? w->job_uid : geteuid()),
        o->tls ? "over mutual TLS" : "in PLAINTEXT (--insecure): not authenticated");
    resolve_scheduler(w);
    mkdirs(o->run_dir);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->child_cv, &ca);
    pthread_cond_init(&w->lease_cv, &ca);
    pthread_cond_init(&w->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->kill_wait_ms = 1000;

    /* SIGTERM/SIGINT are taken by sigwait in this thread only */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    char addr[128];
    snprintf(addr, sizeof addr, "%s:%d", o->listen_ip ? o->listen_ip : "127.0.0.1", o->port);
    w->srv = rpc_server_create_tls(addr, o->tls, &w->port, &err);
    if (!w->srv) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        rc = 1;
        goto out_cat;
    }
    worker_add_service(w, w->srv);
    if (rpc_server_start(w->srv, &err) < 0) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        rc = 1;
        goto out_srv;
    }
    /* orphans of our jobs (setsid + fork) come to us, not to init */
    if (supervise_become_subreaper() < 0)
        LOG(LOG_WARN, "worker", "PR_SET_CHILD_SUBREAPER: %s; a job's daemonised processes may "
                                "escape", strerror(errno));
    snprintf(addr, sizeof addr, "%s:%d", o->sched_addr, o->sched_port);
    w->sched = rpc_client_create_tls(addr, o->tls);
    reg_init(w);
    int reg = register_first(w, &sigs, &err);
    if (reg < 0) {
        if (reg == -1)
            fprintf(stderr, "synergy worker: %s\n", err.msg);
        rc = reg == -1 ? 1 : 0;
        goto out_client;
    }
    int units = 0, reserved = 0;
    for (int k = 0; k < w->topo.n_numa; k++) {
        units += topo_node_capacity(&w->topo, k);
        reserved += w->topo.numa[k].n_reserved_cores;
    }
    LOG(LOG_INFO, "worker",
        "server %u on port %d: %d NUMA node(s), %d %sGPU(s), %d %s(s) for jobs in %d %s "
        "domain(s), %d core(s) reserved", w->server_id, w->port, w->topo.n_numa, w->topo.n_gpus,
        w->topo.simulated_gpus ? "simulated " : "", units,
        w->topo.unit == TOPO_UNIT_THREAD ? "thread" : "core", w->topo.n_domains,
        w->topo.domain_kind, reserved);
    pthread_t th_reap, th_lease, th_hb;
    pthread_create(&th_reap, NULL, reaper, w);
    pthread_create(&th_lease, NULL, lease_thread, w);
    pthread_create(&th_hb, NULL, sched_link, w);
    notify_ready("server %u registered with %s:%d; serving on port %d, %d GPU(s)", w->server_id,
                 o->sched_addr, o->sched_port, w->port, w->topo.n_gpus);
    int sig;
    sigwait(&sigs, &sig);
    LOG(LOG_INFO, "worker", "signal %d: stopping", sig);
    notify_stopping("signal %d: stopping, killing the jobs", sig);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used)
            kill(-w->jobs[i].pid, SIGKILL);
    pthread_cond_broadcast(&w->child_cv);
    pthread_cond_broadcast(&w->lease_cv);
    pthread_cond_broadcast(&w->stop_cv);
    pthread_mutex_unlock(&w->mu);
    /* everything below us goes: job groups, then orphans as they come to us */
    for (int round = 0; round < 40; round++) {
        pid_t kids[1024];
        int n = supervise_children(kids, 1024);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++)
            supervise_kill(kids[i]);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_join(th_hb, NULL);
    pthread_join(th_lease, NULL);
    pthread_join(th_reap, NULL);
    rc = 0;
out_client:
    rpc_client_destroy(w->sched);
    reg_free(w);
out_srv:
    rpc_server_destroy(w->srv);
out_cat:
    catalog_destroy(w->cat);
    free(w);
    return rc;
}
