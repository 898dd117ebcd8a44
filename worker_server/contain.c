/*
 * Containment that outlives the worker. A worker that is SIGKILLed (or
 * crashes) cannot kill its jobs; their leaders die with it
 * (PR_SET_PDEATHSIG), but what they started (data loaders, daemonised
 * grandchildren) lives on under init. The next worker on the same run
 * directory finds and kills it before it registers (contain_sweep), from
 * what the earlier one left there:
 *  - each job's cgroup v2 (where a cgroup v2 hierarchy is writable): every
 *    process of the job, whatever it did to its session, group or
 *    environment, is in it. The cgroups of a worker are under
 *    <cgroup2 mount>/synergy-<identity>-<hash of the run directory>, so two
 *    workers on one host (even with one identity, in tests) never share one;
 *  - notes in RUN_DIR/procs: each job's process group (leader pid and start
 *    time) and each process the worker adopted as a subreaper (a daemon
 *    that left its job's group), with its start time, so a reused pid is
 *    never taken for it;
 *  - SYNERGY_RUN_DIR=<run dir> in the environment of every job process.
 * Without a cgroup, a process that leaves its group and clears its
 * environment before the worker adopted it (it is noted at the next
 * heartbeat) and dies before it can be noted escapes: the known limit.
 * RUN_DIR/worker.lock (flock) keeps a second worker off a run directory in
 * use, so a sweep never kills a live worker's jobs.
 */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lock_fd = -1; /* RUN_DIR/worker.lock, held while the process lives */

/* The lock's holder as its file says: "PID" (serving) or "PID stopping
 * UNTIL" (stopping; gone by UNTIL, seconds since the epoch). 0 for UNTIL
 * when serving. */
static void lock_holder(int fd, char pid[32], double *until)
{
    char line[96] = "";
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = '\0';
    *until = 0;
    pid[0] = '\0';
    if (sscanf(line, "%31[0-9] stopping %lf", pid, until) < 2)
        *until = 0;
}

int contain_lock(const char *run_dir, struct err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/worker.lock", run_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errprintf(err, "--run-dir %s: cannot create worker.lock: %s", run_dir,
                         strerror(errno));
    /* A worker that is stopping (its scheduler or service manager restarts
     * the deployment) leaves within its jobs' kill-wait: wait for it. One
     * that serves is refused at once; it may be a moment from saying it
     * stops when its restarted deploy starts us, hence the half second. */
    double waited_until = wall_s() + 0.5;
    char pid[32] = "";
    bool told = false;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        double until;
        lock_holder(fd, pid, &until);
        if (until + 1 > waited_until)
            waited_until = until + 1;
        if (wall_s() >= waited_until) {
            close(fd);
            return errprintf(err, "--run-dir %s is in use by another worker (pid %s): give "
                                  "each worker a run directory of its own",
                             run_dir, pid[0] ? pid : "?");
        }
        if (until > 0 && !told) {
            LOG(LOG_WARN, "worker", "--run-dir %s: waiting up to %.0f s for the stopping worker "
                "(pid %s) to leave it", run_dir, until + 1 - wall_s(), pid);
            told = true;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
        LOG(LOG_WARN, "worker", "%s: %s", path, strerror(errno));
    lock_fd = fd;
    return 0; /* the fd stays open (and locked) until the process ends */
}

void contain_lock_stopping(double in_s)
{
    double until_s = wall_s() + in_s;
    if (lock_fd < 0)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, "%d stopping %.3f\n", (int)getpid(), until_s);
    if (pwrite(lock_fd, line, (size_t)n, 0) != n || ftruncate(lock_fd, n) < 0)
        LOG(LOG_WARN, "worker", "worker.lock: %s", strerror(errno));
}

/* The mount point of the cgroup v2 hierarchy ("" none), from mountinfo. */
static bool cgroup2_mount(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - cgroup2 ");
        char mnt[PATH_MAX];
        if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
            snprintf(out, n, "%s", mnt);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, s, strlen(s));
    close(fd);
    return w == (ssize_t)strlen(s) ? 0 : -1;
}

/* Whether a cgroup has no process (cgroup.events says populated 0). */
static bool unpopulated(const char *cgroup)
{
    char path[PATH_MAX + 640], line[64];
    snprintf(path, sizeof path, "%s/cgroup.events", cgroup);
    FILE *f = fopen(path, "r");
    bool empty = false;
    while (f && fgets(line, sizeof line, f))
        if (strcmp(line, "populated 0\n") == 0)
            empty = true;
    if (f)
        fclose(f);
    return empty;
}

/* Another worker's base: remove the job cgroups it left empty when it was
 * SIGKILLed and never came back to its run directory, and the base itself
 * once empty. Only those a minute old: a live worker's cgroup is empty for
 * a moment between its creation and its job joining it, and a live worker
 * makes its base again before each launch. */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    time_t now = time(NULL);
    while (d && (e = readdir(d))) {
        char cg[PATH_MAX + 600];
        struct stat st;
        snprintf(cg, sizeof cg, "%s/%s", base, e->d_name);
        if (strncmp(e->d_name, "job-", 4) == 0 && stat(cg, &st) == 0 &&
            now - st.st_mtime > 60 && unpopulated(cg))
            rmdir(cg);
    }
    if (d)
        closedir(d);
    struct stat st;
    if (stat(base, &st) == 0 && now - st.st_mtime > 60)
        rmdir(base);
}

bool contain_cgroup_base(const char *identity, const char *run_dir, char *out, size_t n)
{
    out[0] = '\0';
    char mnt[PATH_MAX];
    if (!cgroup2_mount(mnt, sizeof mnt))
        return false;
    unsigned h = 2166136261u; /* FNV-1a of the run directory */
    for (const char *c = run_dir; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    char id[64];
    snprintf(id, sizeof id, "%s", identity);
    for (char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == '_'))
            *c = '_';
    char base[PATH_MAX + 128], f[PATH_MAX + 160];
    snprintf(base, sizeof base, "%s/synergy-%s-%08x", mnt, id, h);
    DIR *d = opendir(mnt);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char other[PATH_MAX + 300];
        snprintf(other, sizeof other, "%s/%s", mnt, e->d_name);
        if (strncmp(e->d_name, "synergy-", 8) == 0 && strcmp(other, base) != 0)
            remove_stale(other);
    }
    if (d)
        closedir(d);
    if (mkdir(base, 0755) < 0 && errno != EEXIST)
        return false;
    snprintf(f, sizeof f, "%s/cgroup.procs", base);
    if (access(f, W_OK) < 0) { /* not a cgroup we may use */
        rmdir(base);
        return false;
    }
    /* the jobs below get memory.max where the controller is there */
    snprintf(f, sizeof f, "%s/cgroup.subtree_control", base);
    write_str(f, "+memory");
    snprintf(out, n, "%s", base);
    return true;
}

/* The start time (clock ticks since boot) and process group of pid; false
 * when it does not exist or is a zombie (dead, waiting for its parent). */
static bool proc_stat(pid_t pid, unsigned long long *start, pid_t *pgid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
        return false;
    buf[r] = '\0';
    char *rp = strrchr(buf, ')');
    int pg;
    char state;
    unsigned long long st;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue starttime */
    if (!rp || sscanf(rp + 2, "%c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                              "%*d %*d %*d %llu", &state, &pg, &st) != 3 || state == 'Z')
        return false;
    *start = st;
    *pgid = pg;
    return true;
}

static void note_write(const char *run_dir, const char *name, const char *text)
{
    char dir[PATH_MAX + 16], path[PATH_MAX + 96], tmp[PATH_MAX + 112];
    snprintf(dir, sizeof dir, "%s/procs", run_dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(text, f);
    if (fclose(f) == 0)
        rename(tmp, path);
}

void contain_note_job(const char *run_dir, long job, unsigned attempt, pid_t pid,
                      const char *cgroup)
{
    unsigned long long start = 0;
    pid_t pg;
    proc_stat(pid, &start, &pg);
    char name[64], text[PATH_MAX + 96];
    snprintf(name, sizeof name, "job-%ld-attempt-%u", job, attempt);
    snprintf(text, sizeof text, "group %d %llu\ncgroup %s\n", (int)pid, start,
             cgroup && *cgroup ? cgroup : "-");
    note_write(run_dir, name, text);
}

void contain_forget_job(const char *run_dir, long job, unsigned attempt)
{
    char path[PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/procs/job-%ld-attempt-%u", run_dir, job, attempt);
    unlink(path);
}

bool contain_note_orphan(const char *run_dir, pid_t pid)
{
    char name[64], path[PATH_MAX + 96], text[64];
    snprintf(name, sizeof name, "orphan-%d", (int)pid);
    snprintf(path, sizeof path, "%s/procs/%s", run_dir, name);
    unsigned long long start;
    pid_t pg;
    if (access(path, F_OK) == 0 || !proc_stat(pid, &start, &pg))
        return false;
    snprintf(text, sizeof text, "proc %d %llu\n", (int)pid, start);
    note_write(run_dir, name, text);
    return true;
}

void contain_forget_orphan(const char *run_dir, pid_t pid)
{
    char path[PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/procs/orphan-%d", run_dir, (int)pid);
    unlink(path);
}

/* Whether pid's environment has SYNERGY_RUN_DIR=run_dir. */
static bool env_tagged(pid_t pid, const char *run_dir)
{
    size_t n;
    char *buf = supervise_environ(pid, &n);
    if (!buf)
        return false;
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "SYNERGY_RUN_DIR=%s", run_dir);
    bool hit = false;
    for (size_t i = 0; i < n && !hit; i += strlen(buf + i) + 1)
        hit = strcmp(buf + i, want) == 0;
    free(buf);
    return hit;
}

void contain_signal_cgroup(const char *cgroup, int sig)
{
    if (!cgroup || !*cgroup)
        return;
    char path[PATH_MAX + 32];
    if (sig == SIGKILL) {
        snprintf(path, sizeof path, "%s/cgroup.kill", cgroup);
        if (write_str(path, "1") == 0)
            return;
    }
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    long p;
    while (fscanf(f, "%ld", &p) == 1)
        if (p > 1 && p != (long)getpid())
            kill((pid_t)p, sig);
    fclose(f);
}

/* Processes left in a cgroup (its cgroup.procs lines). */
static int cgroup_count(const char *cgroup)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    long p;
    while (fscanf(f, "%ld", &p) == 1)
        n++;
    fclose(f);
    return n;
}

void contain_remove_cgroup(const char *cgroup)
{
    if (!cgroup || !*cgroup)
        return;
    for (int i = 0; i < 40 && cgroup_count(cgroup) > 0; i++) { /* at most 200 ms */
        contain_signal_cgroup(cgroup, SIGKILL);
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    rmdir(cgroup);
}

/* The notes in RUN_DIR/procs, read into groups (pgid, start) and procs (pid,
 * start); the notes are removed. */
struct notes {
    pid_t pid[1024];
    unsigned long long start[1024];
    bool group[1024];
    bool alive[1024]; /* a group's leader still runs */
    int n;
};

static void notes_read(const char *run_dir, const char *base, struct notes *nt)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/procs", run_dir);
    nt->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 300], line[PATH_MAX + 32], cg[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            int p;
            unsigned long long st;
            if (nt->n < 1024 && (sscanf(line, "group %d %llu", &p, &st) == 2 ||
                                 sscanf(line, "proc %d %llu", &p, &st) == 2)) {
                nt->pid[nt->n] = p;
                nt->start[nt->n] = st;
                nt->group[nt->n++] = line[0] == 'g';
            } else if (sscanf(line, "cgroup %4095s", cg) == 1 && strcmp(cg, "-") != 0 &&
                       (!base || strncmp(cg, base, strlen(base)) != 0)) {
                contain_remove_cgroup(cg); /* a cgroup outside today's base */
            }
        }
        if (f)
            fclose(f);
        unlink(path);
    }
    closedir(d);
    for (int i = 0; i < nt->n; i++) {
        unsigned long long st;
        pid_t pg;
        nt->alive[i] = nt->group[i] && proc_stat(nt->pid[i], &st, &pg) && st == nt->start[i];
    }
}

/* One pass over /proc: SIGKILL each process the notes or the tag claim. */
static int kill_noted(const char *run_dir, const struct notes *nt)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int killed = 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long)self)
            continue;
        unsigned long long start;
        pid_t pg;
        if (!proc_stat((pid_t)pid, &start, &pg))
            continue;
        /* a noted process is itself (pid and start time); a noted group
         * counts only while its leader is alive (the same start time), so a
         * group id reused since cannot be taken for it */
        bool hit = false;
        for (int i = 0; i < nt->n && !hit; i++)
            hit = nt->group[i] ? pg == nt->pid[i] && nt->alive[i]
                               : (pid_t)pid == nt->pid[i] && start == nt->start[i];
        if (hit || env_tagged((pid_t)pid, run_dir)) {
            kill((pid_t)pid, SIGKILL);
            killed++;
        }
    }
    closedir(d);
    return killed;
}

int contain_sweep(const char *run_dir, const char *base)
{
    int killed = 0;
    if (base && *base) { /* every job cgroup under the base: all of each job */
        DIR *d = opendir(base);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strncmp(e->d_name, "job-", 4) != 0)
                continue;
            char cg[PATH_MAX + 300];
            snprintf(cg, sizeof cg, "%s/%s", base, e->d_name);
            killed += cgroup_count(cg);
            contain_remove_cgroup(cg);
        }
        if (d)
            closedir(d);
    }
    struct notes *nt = xmalloc(sizeof *nt);
    notes_read(run_dir, base, nt);
    /* a process may fork while we look: go over /proc until a pass finds nothing */
    for (int pass = 0; pass < 20; pass++) {
        int k = kill_noted(run_dir, nt);
        killed += k;
        if (k == 0)
            break;
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    free(nt);
    return killed;
}
