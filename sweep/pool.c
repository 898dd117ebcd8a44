/*
 * sweep: the pool of forked workers that runs a grid's points (sweep.h's
 * sweep_pool_run). One child per task, at most `workers` at a time; each
 * child runs its task and writes a one-line summary to the parent over a
 * pipe. The parent only reaps children and passes their summaries on, so a
 * child that dies can neither corrupt the parent nor leave half a run behind
 * (its row stays 'running' and store_open() marks it incomplete). Children
 * die with the parent (PR_SET_PDEATHSIG), so a SIGKILLed sweep leaves no
 * orphan writing on.
 */
#include "sweep.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct slot {
    pid_t pid;
    int fd;
    size_t task;
};

/* In the child: run the task, report, exit. */
static void child(const struct sweep_pool *p, size_t i, int fd, pid_t parent)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    struct sweep_point_msg m = {0};
    p->run(p->ctx, i, &m);
    ssize_t wr = write(fd, &m, sizeof m); /* < PIPE_BUF: atomic, never blocks */
    (void)wr;
    _exit(m.ok ? 0 : 1);
}

/* Start task i in a free slot. 0, or -1 with err (pipe or fork failed). */
static int start(const struct sweep_pool *p, struct slot *slots, size_t i, struct err *err)
{
    int fds[2];
    if (pipe(fds) < 0)
        return errprintf(err, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return errprintf(err, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        child(p, i, fds[1], parent);
    }
    close(fds[1]);
    int s = 0;
    while (slots[s].pid)
        s++;
    slots[s] = (struct slot){pid, fds[0], i};
    return 0;
}

/* The summary of the child in slot s, which exited with `status`. */
static void reap(struct slot *s, int status, struct sweep_point_msg *m)
{
    memset(m, 0, sizeof *m);
    if (read(s->fd, m, sizeof *m) != (ssize_t)sizeof *m) {
        m->ok = 0;
        snprintf(m->err, sizeof m->err, "worker %s",
                 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited without a result");
    }
    close(s->fd);
    s->pid = 0;
}

long sweep_pool_run(const struct sweep_pool *p, struct err *err)
{
    int workers = p->workers > 0 ? p->workers : 1;
    struct slot *slots = xcalloc((size_t)workers, sizeof *slots);
    size_t next = 0;
    long failed = 0;
    int running = 0;
    bool killed = false, broken = false;
    while (next < p->n || running > 0) {
        while (!*p->stop && running < workers && next < p->n) {
            if (start(p, slots, next, err) < 0) {
                *p->stop = SIGTERM;
                broken = true;
                break;
            }
            next++;
            running++;
        }
        if (running == 0)
            break;
        if (*p->stop && !killed) { /* stopped while launching: end the runs in flight */
            for (int s = 0; s < workers; s++)
                if (slots[s].pid)
                    kill(slots[s].pid, SIGTERM);
            killed = true;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR)
            continue; /* a stop signal, handled at the top */
        if (pid < 0) {
            errprintf(err, "waitpid: %s", strerror(errno));
            *p->stop = SIGTERM;
            broken = true;
            break;
        }
        int s = 0;
        while (s < workers && slots[s].pid != pid)
            s++;
        if (s == workers)
            continue;
        struct sweep_point_msg m;
        size_t task = slots[s].task;
        reap(&slots[s], status, &m);
        running--;
        if (*p->stop && !m.ok)
            continue; /* killed by us: the caller reports the stop */
        failed += !m.ok;
        p->done(p->ctx, task, &m);
    }
    free(slots);
    if (!broken && *p->stop)
        errprintf(err, "interrupted");
    return *p->stop ? -1 : failed;
}
