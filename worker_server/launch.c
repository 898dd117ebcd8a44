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
 * Memory limit: cgroup v2 memory.max on a per-job cgroup when the worker may
 * create one; otherwise mem_limit_enforced stays false and the caller
 * reports the limit as not enforced.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
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

/* Create the job's cgroup and set memory.max; returns an fd of its
 * cgroup.procs, or -1 when cgroups v2 with the memory controller are not
 * available to us. */
static int cgroup_prepare(const struct launch_spec *sp, struct launch_result *res)
{
    if (!sp->cgroup_dir || sp->mem_gb <= 0)
        return -1;
    if (mkdir(sp->cgroup_dir, 0755) < 0 && errno != EEXIST)
        return -1;
    char path[600], val[64];
    snprintf(path, sizeof path, "%s/memory.max", sp->cgroup_dir);
    snprintf(val, sizeof val, "%llu", (unsigned long long)(sp->mem_gb * 1024 * 1024 * 1024));
    if (write_file(path, val) < 0) {
        rmdir(sp->cgroup_dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/cgroup.procs", sp->cgroup_dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        rmdir(sp->cgroup_dir);
        return -1;
    }
    snprintf(res->cgroup, sizeof res->cgroup, "%s", sp->cgroup_dir);
    res->mem_limit_enforced = true;
    return fd;
}

enum child_step { STEP_PGID = 1, STEP_LOG, STEP_CWD, STEP_AFFINITY, STEP_MEMBIND, STEP_CGROUP,
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
    if (res->cgroup[0])
        rmdir(res->cgroup);
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
