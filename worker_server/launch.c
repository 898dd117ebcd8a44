/*
 * The launcher: fork + execve of a catalog argv, with an environment built
 * from scratch (never the worker's own), in a new process group so a lease
 * expiry can kill everything the job started. In the child, between fork and
 * exec, only async-signal-safe calls run (the worker is multi-threaded):
 * setpgid, prctl(PR_SET_PDEATHSIG), dup2, chdir, sched_setaffinity, set_mempolicy (libnuma's numaif
 * syscall wrapper), write to a cgroup.procs fd opened by the parent, execve.
 * A failure in the child is sent back as an errno code over a CLOEXEC pipe,
 * so the caller learns whether the exec happened.
 *
 * Containment and memory limit: a per-job cgroup v2 when the worker may
 * create one (everything the job starts stays in it, contain.c), with
 * memory.max when the memory controller is there; otherwise
 * mem_limit_enforced stays false and the caller reports the limit as not
 * enforced.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void env_add(struct env_builder *e, const char *key, const char *fmt, ...)
{
    char val[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    size_t n = strlen(key) + strlen(val) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s=%s", key, val);
    xgrow((void **)&e->v, &e->cap, e->n + 2, sizeof *e->v);
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
}

void env_free(struct env_builder *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, s, strlen(s));
    close(fd);
    return w == (ssize_t)strlen(s) ? 0 : -1;
}

/* Create the job's cgroup (containment: everything the job starts stays
 * in it) and set memory.max when there is a limit and the memory
 * controller; returns an fd of its cgroup.procs, or -1 when no cgroup v2 is
 * available to us. */
static int cgroup_prepare(const struct launch_spec *sp, struct launch_result *res)
{
    if (!sp->cgroup_dir)
        return -1;
    if (mkdir(sp->cgroup_dir, 0755) < 0 && errno == ENOENT) {
        /* its parent, the worker's base, was just removed as empty by
         * another worker starting (contain.c): make it again */
        char parent[4300];
        snprintf(parent, sizeof parent, "%s", sp->cgroup_dir);
        char *slash = strrchr(parent, '/');
        if (slash)
            *slash = '\0';
        mkdir(parent, 0755);
        mkdir(sp->cgroup_dir, 0755);
    }
    char path[4300], val[64];
    snprintf(path, sizeof path, "%s/cgroup.procs", sp->cgroup_dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { /* not a cgroup (a plain directory, say) */
        rmdir(sp->cgroup_dir);
        return -1;
    }
    snprintf(res->cgroup, sizeof res->cgroup, "%s", sp->cgroup_dir);
    if (sp->mem_gb > 0) {
        snprintf(path, sizeof path, "%s/memory.max", sp->cgroup_dir);
        snprintf(val, sizeof val, "%llu", (unsigned long long)(sp->mem_gb * 1024 * 1024 * 1024));
        res->mem_limit_enforced = write_file(path, val) == 0;
    }
    return fd;
}

enum child_step { STEP_PGID = 1, STEP_LOG, STEP_CWD, STEP_AFFINITY, STEP_MEMBIND, STEP_CGROUP, STEP_USER,
                  STEP_EXEC };

static const char *step_name(int s)
{
    switch (s) {
    case STEP_PGID: return "setpgid";
    case STEP_LOG: return "opening the log";
    case STEP_CWD: return "chdir";
    case STEP_AFFINITY: return "sched_setaffinity";
    case STEP_MEMBIND: return "set_mempolicy";
    case STEP_CGROUP: return "joining the cgroup";
    case STEP_USER: return "switching to the job user";
    default: return "execve";
    }
}

static void child_fail(int fd, int step)
{
    int msg[2] = {step, errno};
    ssize_t w = write(fd, msg, sizeof msg);
    (void)w;
    _exit(127);
}

int launch_job(const struct launch_spec *sp, struct launch_result *res, struct err *err)
{
    memset(res, 0, sizeof *res);
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < sp->n_cpus; i++)
        if (sp->cpus[i] >= 0 && sp->cpus[i] < CPU_SETSIZE)
            CPU_SET(sp->cpus[i], &set);
    unsigned long mask[16] = {0};
    unsigned long maxnode = 0;
    /* bind memory only to nodes this machine has (an XML topology may name
     * nodes that do not exist here) */
    int live_max = numa_available() < 0 ? -1 : numa_max_node();
    for (int k = 0; k < 64; k++)
        if ((sp->membind_nodes >> k) & 1ULL) {
            if (k > live_max)
                continue;
            mask[k / (8 * sizeof(long))] |= 1UL << (k % (8 * sizeof(long)));
            maxnode = (unsigned long)k + 2;
        }
    int cg_fd = cgroup_prepare(sp, res);
    int logfd = open(sp->log_path ? sp->log_path : "/dev/null",
                     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        if (cg_fd >= 0)
            close(cg_fd);
        if (logfd >= 0)
            close(logfd);
        return errprintf(err, "pipe: %s", strerror(errno));
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        if (cg_fd >= 0)
            close(cg_fd);
        if (logfd >= 0)
            close(logfd);
        return errprintf(err, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* child: async-signal-safe calls only */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (setpgid(0, 0) < 0)
            child_fail(pfd[1], STEP_PGID);
        /* a job must not outlive its worker (nobody would enforce its lease) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (logfd < 0)
            child_fail(pfd[1], STEP_LOG);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (sp->cwd && chdir(sp->cwd) < 0)
            child_fail(pfd[1], STEP_CWD);
        if (sp->n_cpus > 0 && sched_setaffinity(0, sizeof set, &set) < 0)
            child_fail(pfd[1], STEP_AFFINITY);
        if (maxnode > 0 && set_mempolicy(MPOL_BIND, mask, maxnode) < 0)
            child_fail(pfd[1], STEP_MEMBIND);
        if (cg_fd >= 0 && write(cg_fd, "0", 1) != 1)
            child_fail(pfd[1], STEP_CGROUP);
        if (sp->set_user) { /* last: the steps above need the worker's privileges */
            if (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 || setuid(sp->uid) < 0)
                child_fail(pfd[1], STEP_USER);
            if (sp->uid != 0 && setuid(0) == 0) /* must not be able to get root back */
                child_fail(pfd[1], STEP_USER);
            /* a credential change clears the parent-death signal: set it again */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
        }
        execve(sp->argv[0], sp->argv, sp->envp);
        child_fail(pfd[1], STEP_EXEC);
    }
    /* parent: also set the group from here, to close the race with a kill */
    setpgid(pid, pid);
    close(pfd[1]);
    if (cg_fd >= 0)
        close(cg_fd);
    if (logfd >= 0)
        close(logfd);
    int msg[2];
    ssize_t r;
    do
        r = read(pfd[0], msg, sizeof msg);
    while (r < 0 && errno == EINTR);
    close(pfd[0]);
    if (r == (ssize_t)sizeof msg) {
        waitpid(pid, NULL, 0);
        launch_cleanup(res);
        return errprintf(err, "launching %s: %s failed: %s", sp->argv[0], step_name(msg[0]),
                         strerror(msg[1]));
    }
    res->pid = pid;
    res->mem_bound = maxnode > 0;
    return 0;
}

void launch_cleanup(const struct launch_result *res)
{
    contain_remove_cgroup(res->cgroup);
}

int launch_pin_self(const int *cpus, int n, struct err *err)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++)
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE)
            CPU_SET(cpus[i], &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        return errprintf(err, "--reserve-cpus: cannot run on the reserved cores' PUs: %s",
                         strerror(errno));
    return 0;
}
