/*
 * Supervision that nothing escapes. A job runs in its own process group, and
 * the worker kills that group when the job ends; but a job can leave its
 * group (setsid, setpgid) and daemonise (double fork), and without a cgroup
 * nothing else would find those processes. So the worker is a child
 * subreaper (PR_SET_CHILD_SUBREAPER): every process whose parent dies below
 * it is re-parented to the worker instead of init. When a job ends, the
 * worker lists its own children that are not job leaders (the orphans) and
 * kills those that belong to no running job. An orphan belongs to a job when
 * its environment (/proc/PID/environ, the one it was exec'd with) carries
 * that job's SYNERGY_JOB_ID and SYNERGY_ATTEMPT, which the worker sets and
 * every descendant inherits. An orphan with no such variables (one that
 * exec'd with a clean environment) belongs to no running job and is killed
 * too: the worker starts no other processes.
 * Known limit: a descendant whose parent is still alive is not an orphan yet;
 * it is found when its parent dies (the reaper sweeps after every reaped
 * process), so a tree is taken down level by level.
 */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int supervise_become_subreaper(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* Add the pids listed in a /proc/.../children file. */
static int read_children_file(const char *path, pid_t *out, int n, int cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long p;
    while (n < cap && fscanf(f, "%ld", &p) == 1)
        out[n++] = (pid_t)p;
    fclose(f);
    return n;
}

int supervise_children(pid_t *out, int cap)
{
    /* children are listed per thread (the thread that forked, or the one a
     * reparented orphan was given to): read every thread's list */
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (d) {
        struct dirent *e;
        bool ok = true;
        while ((e = readdir(d)) && ok) {
            if (e->d_name[0] == '.')
                continue;
            char path[300];
            snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
            int r = read_children_file(path, out, n, cap);
            if (r < 0)
                ok = false;
            else
                n = r;
        }
        closedir(d);
        if (ok)
            return n;
    }
    /* no children files (CONFIG_PROC_CHILDREN off): scan /proc for our pid
     * as the parent */
    n = 0;
    pid_t self = getpid();
    d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        char *rp = strrchr(buf, ')'); /* comm may hold spaces and parens */
        long ppid;
        if (rp && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)self)
            out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

char *supervise_environ(pid_t pid, size_t *len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    /* the variables the worker sets come first in a job's environment, but
     * a descendant may have added some: read up to 64 KiB */
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap + 1);
    ssize_t r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

bool supervise_job_of(pid_t pid, long *job_id, unsigned *attempt)
{
    size_t n;
    char *buf = supervise_environ(pid, &n);
    if (!buf)
        return false;
    bool have_id = false, have_att = false;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        const char *v = buf + i;
        if (strncmp(v, "SYNERGY_JOB_ID=", 15) == 0) {
            *job_id = strtol(v + 15, NULL, 10);
            have_id = true;
        } else if (strncmp(v, "SYNERGY_ATTEMPT=", 16) == 0) {
            *attempt = (unsigned)strtoul(v + 16, NULL, 10);
            have_att = true;
        }
    }
    free(buf);
    return have_id && have_att;
}

void supervise_kill(pid_t pid)
{
    pid_t pg = getpgid(pid);
    if (pg > 1 && pg != getpgrp())
        kill(-pg, SIGKILL);
    kill(pid, SIGKILL);
}
