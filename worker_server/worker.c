/*
 * The worker server: registers with the scheduler (reporting its probed
 * topology), serves synergy.v1.SchedulerToWorker, and supervises the jobs it
 * launched. Threads: the rpc completion-queue thread (handlers), a reaper
 * blocked in waitpid(), a lease thread sleeping until the earliest lease
 * expiry (then SIGKILL to the job's process group), a heartbeat thread, and
 * the main thread waiting for SIGTERM/SIGINT. Nothing polls in a loop.
 *
 * This file starts and stops the worker; the calls it serves are in
 * worker_jobs.c, its child and lease threads in worker_children.c, and its
 * link to the scheduler in worker_link.c.
 */
#include "worker_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

struct timespec worker__ns_to_ts(long long ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

struct wjob *worker__find_job(struct worker *w, long id)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used && w->jobs[i].job_id == id)
            return &w->jobs[i];
    return NULL;
}

void worker__mkdirs(const char *path)
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

void worker__exits_free(struct worker *w)
{
    for (size_t i = 0; i < w->n_exits; i++)
        free(w->exits[i].log_tail);
    free(w->exits);
    w->exits = NULL;
    w->n_exits = w->cap_exits = 0;
}

char *worker__file_tail(const char *path, int lines, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = xmalloc(bytes + 1);
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        long from = end > (long)bytes ? end - (long)bytes : 0;
        if (end > 0 && fseek(f, from, SEEK_SET) == 0)
            n = fread(buf, 1, bytes, f);
    }
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    size_t start = n;
    for (int k = 0; k < lines && start > 0; k++) {
        start--;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
    }
    if (start == n) {
        free(buf);
        return NULL;
    }
    memmove(buf, buf + start, n - start + 1);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n')
            *c = '?';
        else if ((unsigned char)*c == 0x7f)
            *c = '?';
    return buf;
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

struct worker *worker_test_new(const struct worker_options *o, const struct topo *t,
                               catalog_t *cat, worker_launch_fn launch)
{
    struct worker *w = xcalloc(1, sizeof *w);
    w->o = o;
    w->topo = *t;
    w->cat = cat;
    w->launch = launch;
    snprintf(w->synergy_path, sizeof w->synergy_path, "/bin/true");
    snprintf(w->run_dir, sizeof w->run_dir, "%s", o->run_dir ? o->run_dir : "");
    w->max_lease_ms = DEFAULT_MAX_LEASE_MS;
    worker__resolve_scheduler(w);
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
    worker__exits_free(w);
    free(w);
}

/* --job-user: whom jobs run as. 0, or -1 + err (bad input). */
static int job_user(struct worker *w, struct err *err)
{
    const struct worker_options *o = w->o;
    if (!o->job_user) {
        if (geteuid() == 0 && !o->job_users)
            return errprintf(err, "started as root: give --job-user NAME (an unprivileged "
                                  "user to run jobs as), or --job-user root to run them as root, "
                                  "or --job-users A,B (the accounts jobs may run as)");
        return 0;
    }
    struct passwd *pw = getpwnam(o->job_user);
    if (!pw)
        return errprintf(err, "--job-user: '%s' is not a user of this machine", o->job_user);
    if (geteuid() != 0 && pw->pw_uid != geteuid())
        return errprintf(err, "--job-user %s: only a worker started as root can run jobs as "
                              "another user", o->job_user);
    w->set_user = geteuid() == 0;
    w->job_uid = pw->pw_uid;
    w->job_gid = pw->pw_gid;
    return 0;
}

/* Can the account (uid, gid) do what its jobs need? A child becomes it and
 * tries: read the CA it hands jobs (they verify the scheduler with it), reach
 * the run directory (their checkpoints are under it) and run synergy itself
 * when the catalog runs {synergy} (a build in a private home or temporary
 * directory is out of its reach). 0, or -1 + err naming `who`. */
static int check_access_as(struct worker *w, const char *who, uid_t uid, gid_t gid,
                           struct err *err)
{
    const char *ca = w->o->tls_ca_path;
    const char *self = catalog_uses_synergy(w->cat) ? w->synergy_path : NULL;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return errprintf(err, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return errprintf(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) { /* async-signal-safe calls only */
        int res[2] = {0, 0}, fd;
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            res[0] = 3;
        else if (ca && (fd = open(ca, O_RDONLY | O_CLOEXEC)) < 0)
            res[0] = 1;
        else if (access(w->run_dir, X_OK) < 0)
            res[0] = 2;
        else if (self && access(self, X_OK) < 0)
            res[0] = 4;
        res[1] = errno;
        ssize_t n = write(pfd[1], res, sizeof res);
        _exit(n == (ssize_t)sizeof res ? 0 : 1);
    }
    close(pfd[1]);
    int res[2] = {3, EIO};
    ssize_t n = read(pfd[0], res, sizeof res);
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    if (n != (ssize_t)sizeof res)
        res[0] = 3;
    if (res[0] == 1)
        return errprintf(err, "%s cannot read the CA certificate %s (%s), which jobs need to "
                              "verify the scheduler: make it and its directories readable by "
                              "that user (scripts/make-certs.sh does)", who, ca, strerror(res[1]));
    if (res[0] == 2)
        return errprintf(err, "%s cannot reach --run-dir %s (%s), where jobs keep their "
                              "checkpoints: make it and its parent directories searchable (x) "
                              "by that user", who, w->run_dir, strerror(res[1]));
    if (res[0] == 4)
        return errprintf(err, "%s cannot run %s (%s), which the catalog runs as {synergy}: "
                              "install synergy where that user can reach it (make install), or "
                              "make its directories searchable (x) by that user",
                         who, self, strerror(res[1]));
    if (res[0] == 3)
        return errprintf(err, "%s: cannot become that user to check its access (%s)", who,
                         strerror(res[1]));
    return 0;
}

/* A worker started as root checks, at start, every account its jobs may run
 * as (--job-user, and each of --job-users): that it exists and can reach
 * what jobs need, so that a mistake is one line here rather than every job
 * of that account crashing. Root itself needs no check. 0, or -1 + err. */
static int check_job_user_access(struct worker *w, struct err *err)
{
    char who[300];
    if (w->set_user && w->job_uid != 0) {
        snprintf(who, sizeof who, "--job-user %s", w->o->job_user);
        if (check_access_as(w, who, w->job_uid, w->job_gid, err) < 0)
            return -1;
    }
    const char *list = w->o->job_users;
    for (const char *q = list; geteuid() == 0 && q && *q;) {
        size_t l = strcspn(q, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(l < sizeof name ? l : sizeof name - 1), q);
        q += l + (q[l] == ',');
        struct passwd *pw = getpwnam(name);
        if (!pw)
            return errprintf(err, "--job-users: '%s' is not a user of this machine", name);
        snprintf(who, sizeof who, "--job-users account %s", name);
        if (pw->pw_uid != 0 && check_access_as(w, who, pw->pw_uid, pw->pw_gid, err) < 0)
            return -1;
    }
    return 0;
}

/* This run directory is ours alone (a lock); the jobs' cgroups go under a
 * base named by our identity and the run directory; and what an earlier
 * worker on it left behind (it was SIGKILLed, or crashed) is killed now,
 * before we register: nothing of its jobs may run unsupervised beside ours.
 * 0, or -1 + err. */
static int contain(struct worker *w, struct err *err)
{
    const struct worker_options *o = w->o;
    if (contain_lock(w->run_dir, err) < 0)
        return -1;
    char id[128];
    if (o->tls)
        rpc_tls_identity(o->tls, id, sizeof id);
    else if (o->server_id >= 0)
        snprintf(id, sizeof id, "server-%d", o->server_id);
    else
        snprintf(id, sizeof id, "%s-%d", o->listen_ip ? o->listen_ip : "127.0.0.1", o->port);
    if (!o->no_cgroup)
        contain_cgroup_base(id[0] ? id : "worker", w->run_dir, w->cg_base, sizeof w->cg_base);
    int killed = contain_sweep(w->run_dir, w->cg_base);
    if (killed > 0)
        LOG(LOG_WARN, "worker", "killed %d process(es) left by an earlier worker on %s", killed,
            w->run_dir);
    LOG(LOG_INFO, "worker", "jobs are contained %s%s", w->cg_base[0] ? "in cgroups under " :
        "by process group and environment (no cgroup v2 we may write)", w->cg_base);
    return 0;
}

/* Everything before serving: topology, CPU reservation, catalog, the path
 * of synergy itself, the job user. 0, or -1 + err (bad input: exit 2). */
static int worker_setup(struct worker *w, struct err *err)
{
    const struct worker_options *o = w->o;
    if (topo_probe(&w->topo, o->topology_xml, o->sim_gpus, err) < 0)
        return -1;
    if (w->topo.n_gpus == 0)
        return errprintf(err, "no NVIDIA GPU found (use --gpus N to simulate)");
    if (o->gpu_type)
        snprintf(w->gpu_type, sizeof w->gpu_type, "%s", o->gpu_type);
    else if (!w->topo.simulated_gpus &&
             gpu_type_detect(o->gpu_proc_dir ? o->gpu_proc_dir : "/proc/driver/nvidia/gpus",
                             w->gpu_type, sizeof w->gpu_type, err) < 0)
        return -1;
    if (reserve_and_pin(w, err) < 0)
        return -1;
    w->cat = catalog_load(o->catalog_path, err);
    if (!w->cat)
        return -1;
    if (o->synergy_path) {
        snprintf(w->synergy_path, sizeof w->synergy_path, "%s", o->synergy_path);
    } else {
        ssize_t n = readlink("/proc/self/exe", w->synergy_path, sizeof w->synergy_path - 1);
        if (n > 0)
            w->synergy_path[n] = '\0';
    }
    w->max_lease_ms = DEFAULT_MAX_LEASE_MS;
    if (job_user(w, err) < 0)
        return -1;
    LOG(LOG_INFO, "worker", "jobs run as %s (uid %d); calls %s", o->job_user ? o->job_user :
        "the worker's user", (int)(o->job_user ? w->job_uid : geteuid()),
        o->tls ? "over mutual TLS" : "in PLAINTEXT (--insecure): not authenticated");
    worker__resolve_scheduler(w);
    /* jobs run in the run directory and are handed paths under it: make it
     * absolute, or a relative one would be taken from the job's own cwd */
    worker__mkdirs(o->run_dir);
    struct stat st;
    if (stat(o->run_dir, &st) < 0)
        return errprintf(err, "--run-dir %s: %s", o->run_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return errprintf(err, "--run-dir %s: not a directory", o->run_dir);
    if (!realpath(o->run_dir, w->run_dir))
        return errprintf(err, "--run-dir %s: %s", o->run_dir, strerror(errno));
    if (check_job_user_access(w, err) < 0)
        return -1;
    if (contain(w, err) < 0)
        return -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->child_cv, &ca);
    pthread_cond_init(&w->lease_cv, &ca);
    pthread_cond_init(&w->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->kill_wait_ms = 1000;
    return 0;
}

static void log_started(const struct worker *w)
{
    int units = 0, reserved = 0;
    for (int k = 0; k < w->topo.n_numa; k++) {
        units += topo_node_capacity(&w->topo, k);
        reserved += w->topo.numa[k].n_reserved_cores;
    }
    LOG(LOG_INFO, "worker",
        "server %u on port %d: %d NUMA node(s), %d %sGPU(s)%s%s, %d %s(s) for jobs in %d %s "
        "domain(s), %d core(s) reserved", w->server_id, w->port, w->topo.n_numa, w->topo.n_gpus,
        w->topo.simulated_gpus ? "simulated " : "", w->gpu_type[0] ? " of type " : "",
        w->gpu_type, units,
        w->topo.unit == TOPO_UNIT_THREAD ? "thread" : "core", w->topo.n_domains,
        w->topo.domain_kind, reserved);
}

/* Stop: every job gets SIGTERM and its kill-wait (the lease thread SIGKILLs
 * it after), while the link to the scheduler stays up, so their exits are
 * reported (marked as the worker's doing: not charged to the jobs); then the
 * threads end, and the orphans go as they come to us. */
static void stop_all(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    long long until = mono_ns();
    for (int i = 0; i < MAX_JOBS; i++) {
        struct wjob *j = &w->jobs[i];
        if (!j->used)
            continue;
        j->worker_stop = true;
        worker__term_job(w, j, "the worker is stopping");
        if (j->term_ns + j->kill_wait_ns > until)
            until = j->term_ns + j->kill_wait_ns;
    }
    until += 2000000000LL; /* SIGKILLed at their kill-wait: reaped at once */
    /* then up to 2 s for the exit reports and 2 s for the orphans */
    contain_lock_stopping((double)(until - mono_ns()) / 1e9 + 4);
    while (w->n_live > 0 && mono_ns() < until) {
        struct timespec ts = worker__ns_to_ts(until);
        pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
    }
    long long sent_by = mono_ns() + 2000000000LL; /* the exit reports, if it listens */
    while (w->n_exits > 0 && w->registered && mono_ns() < sent_by) {
        struct timespec ts = worker__ns_to_ts(sent_by);
        pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
    }
    w->stop = true;
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].used)
            worker__kill_job(w, &w->jobs[i]);
    pthread_cond_broadcast(&w->child_cv);
    pthread_cond_broadcast(&w->lease_cv);
    pthread_cond_broadcast(&w->stop_cv);
    pthread_mutex_unlock(&w->mu);
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
}

/* Registered: run the threads until SIGTERM/SIGINT, then stop everything. */
static void serve(struct worker *w, sigset_t *sigs)
{
    log_started(w);
    pthread_t th_reap, th_lease, th_hb;
    pthread_create(&th_reap, NULL, worker__reaper, w);
    pthread_create(&th_lease, NULL, worker__lease_thread, w);
    pthread_create(&th_hb, NULL, worker__sched_link, w);
    notify_ready("server %u registered with %s:%d; serving on port %d, %d GPU(s)", w->server_id,
                 w->o->sched_addr, w->o->sched_port, w->port, w->topo.n_gpus);
    int sig;
    sigwait(sigs, &sig);
    LOG(LOG_INFO, "worker", "signal %d: stopping", sig);
    notify_stopping("signal %d: stopping the jobs (SIGTERM, then SIGKILL after their "
                    "kill-wait)", sig);
    stop_all(w);
    pthread_join(th_hb, NULL);
    pthread_join(th_lease, NULL);
    pthread_join(th_reap, NULL);
    if (w->cg_base[0]) /* every job's cgroup is gone with it */
        rmdir(w->cg_base);
}

int worker_main(const struct worker_options *o)
{
    struct worker *w = xcalloc(1, sizeof *w);
    w->o = o;
    w->launch = launch_job;
    /* a deploy --local worker other than the first: the first says it */
    w->warned_mem_limit = getenv("SYNERGY_WORKER_SAME_HOST") != NULL;
    struct err err = {{0}};
    int rc = 2;
    if (worker_setup(w, &err) < 0) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        goto out_cat;
    }
    /* SIGTERM/SIGINT are taken by sigwait in this thread only */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    char addr[128];
    snprintf(addr, sizeof addr, "%s:%d", o->listen_ip ? o->listen_ip : "127.0.0.1", o->port);
    rc = 1;
    w->srv = rpc_server_create_tls(addr, o->tls, &w->port, &err);
    if (!w->srv || (worker_add_service(w, w->srv), rpc_server_start(w->srv, &err) < 0)) {
        fprintf(stderr, "synergy worker: %s\n", err.msg);
        goto out_srv;
    }
    /* orphans of our jobs (setsid + fork) come to us, not to init */
    if (supervise_become_subreaper() < 0)
        LOG(LOG_WARN, "worker", "PR_SET_CHILD_SUBREAPER: %s; a job's daemonised processes may "
                                "escape", strerror(errno));
    snprintf(addr, sizeof addr, "%s:%d", o->sched_addr, o->sched_port);
    /* the scheduler is whoever holds its identity's certificate, not any
     * certificate of the CA (a worker's key must not pass for it) */
    w->sched = rpc_client_create_pinned(addr, o->tls, worker__sched_identity(w));
    worker__reg_init(w);
    int reg = worker__register_first(w, &sigs, &err);
    if (reg == -1)
        fprintf(stderr, "synergy worker: %s\n", err.msg);
    if (reg == 0)
        serve(w, &sigs);
    rc = reg == -1 ? 1 : 0;
    rpc_client_destroy(w->sched);
    worker__reg_free(w);
out_srv:
    rpc_server_destroy(w->srv);
out_cat:
    catalog_destroy(w->cat);
    worker__exits_free(w);
    free(w);
    return rc;
}
