/*
 * The worker's children: a worker__reaper thread blocked in waitpid() (job leaders'
 * exits are queued for the scheduler, what they leave behind is killed, and
 * orphans re-parented to us as subreaper are swept), and a lease thread that
 * sleeps until the next lease deadline or kill-wait end.
 *
 * Every stop is graceful (docs/real-jobs.md, "How a job is stopped"): lease
 * expiry, the scheduler's KillJob (a cancel, an attempt it does not know)
 * and the worker's own stop send SIGTERM to the job's process group, and
 * SIGKILL only once the job's kill-wait has passed (RunJob's kill_wait_ms,
 * like Slurm's KillWait). Once the job's leader has exited, whatever is left
 * of it is SIGKILLed at once: the leader was the job.
 */
#include "worker_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>

void worker__term_job(struct worker *w, struct wjob *j, const char *why)
{
    if (j->term_ns || j->sigkilled)
        return;
    j->term_ns = mono_ns();
    LOG(LOG_WARN, "worker", "job %ld attempt %u: %s: SIGTERM to process group %d, SIGKILL in "
                            "%.3f s if still there", j->job_id, j->attempt, why, (int)j->pid,
        (double)j->kill_wait_ns / 1e9);
    kill(-j->pid, SIGTERM);
    contain_signal_cgroup(j->lr.cgroup, SIGTERM); /* those that left the group too */
    pthread_cond_signal(&w->lease_cv);
}

void worker__kill_job(struct worker *w, struct wjob *j)
{
    (void)w;
    if (j->sigkilled)
        return;
    kill(-j->pid, SIGKILL);
    contain_signal_cgroup(j->lr.cgroup, SIGKILL);
    j->sigkilled = true;
}

void worker__note_orphans(struct worker *w)
{
    pid_t kids[1024];
    int n = supervise_children(kids, 1024);
    for (int i = 0; i < n; i++) {
        bool leader = false;
        pthread_mutex_lock(&w->mu);
        for (int k = 0; k < MAX_JOBS && !leader; k++)
            leader = w->jobs[k].used && w->jobs[k].pid == kids[i];
        pthread_mutex_unlock(&w->mu);
        if (!leader && contain_note_orphan(w->run_dir, kids[i]))
            LOG(LOG_DEBUG, "worker", "pid %d adopted (a job's daemon): noted", (int)kids[i]);
    }
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
        contain_forget_orphan(w->run_dir, kids[i]);
    }
}

/* Reap every child: job leaders (their exit is queued for the scheduler, and
 * what they leave behind is killed) and orphans re-parented to us. */
void *worker__reaper(void *arg)
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
        /* the leader exited: make sure nothing of its group (or cgroup) survives */
        kill(-pid, SIGKILL);
        launch_cleanup(&j->lr);
        if (w->launch == launch_job)
            contain_forget_job(w->run_dir, id, attempt);
        j->used = false;
        w->n_live--;
        /* a failed job's last words go to the scheduler's log, where the
         * operator looks first */
        bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char *tail = failed ? worker__file_tail(j->log, EXIT_TAIL_LINES, EXIT_TAIL_BYTES) : NULL;
        xgrow((void **)&w->exits, &w->cap_exits, w->n_exits + 1, sizeof *w->exits);
        w->exits[w->n_exits++] = (struct pending_exit){.job_id = id, .attempt = attempt,
                                                       .status = status, .lease = lease,
                                                       .worker_stop = j->worker_stop,
                                                       .log_tail = tail};
        pthread_cond_signal(&w->lease_cv);
        pthread_cond_broadcast(&w->stop_cv);
        pthread_mutex_unlock(&w->mu);
        /* and nothing it started elsewhere (setsid, double fork) */
        sweep_orphans(w);
        LOG(LOG_INFO, "worker", "job %ld attempt %u exited: %s %d%s", id, attempt,
            WIFEXITED(status) ? "code" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
            lease ? " (stopped at lease expiry)" : "");
    }
}

/* One job's deadlines at `now`: its lease (then SIGTERM) and, once told,
 * its kill-wait (then SIGKILL). Returns the next moment it needs us. */
static long long job_deadlines(struct worker *w, struct wjob *j, long long now)
{
    if (!j->killed_lease && !j->term_ns && j->deadline_ns <= now) {
        j->killed_lease = true;
        worker__term_job(w, j, "lease expired");
    }
    if (j->term_ns && !j->sigkilled && j->term_ns + j->kill_wait_ns <= now) {
        LOG(LOG_WARN, "worker", "job %ld attempt %u: still running %.3f s after SIGTERM: SIGKILL "
                                "to process group %d", j->job_id, j->attempt,
            (double)(now - j->term_ns) / 1e9, (int)j->pid);
        worker__kill_job(w, j);
    }
    if (j->sigkilled)
        return LLONG_MAX;
    if (j->term_ns)
        return j->term_ns + j->kill_wait_ns;
    return j->killed_lease ? LLONG_MAX : j->deadline_ns;
}

void *worker__lease_thread(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        long long now = mono_ns(), next = LLONG_MAX;
        for (int i = 0; i < MAX_JOBS; i++) {
            if (!w->jobs[i].used)
                continue;
            long long t = job_deadlines(w, &w->jobs[i], now);
            if (t < next)
                next = t;
        }
        if (next == LLONG_MAX) {
            pthread_cond_wait(&w->lease_cv, &w->mu);
        } else {
            struct timespec ts = worker__ns_to_ts(next);
            pthread_cond_timedwait(&w->lease_cv, &w->mu, &ts);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}
