/*
 * deploy --local: the workers a deployment starts next to itself on
 * 127.0.0.1 (one `synergy worker` process per server of the cluster), their
 * timing defaults, and the "deploy" member of the JSON summary.
 */
#include "deploy_local.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

/* The environment for helper processes: ours without the service manager's
 * notify variables, so a local worker never speaks for the scheduler's
 * service. Borrowed strings; caller frees the array. */
static char **helper_environ(const char *extra)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = false;
        for (const char *const *v = notify_env_vars; *v && !drop; v++) {
            size_t l = strlen(*v);
            drop = strncmp(environ[i], *v, l) == 0 && environ[i][l] == '=';
        }
        if (!drop)
            env[k++] = environ[i];
    }
    if (extra)
        env[k++] = (char *)extra;
    return env;
}

/* Worker i's command line into argv (at least 28 slots); strings in bufs. */
static void worker_argv(const struct deploy_local *lw, int i, const char *self, char **argv,
                        char sched[300], char gpus[16], char sid[16], char dir[4096], int port)
{
    snprintf(sched, 300, "%s:%d", lw->sched_host, port);
    snprintf(gpus, 16, "%d", lw->gpus_of ? lw->gpus_of[i] : lw->gpus);
    snprintf(sid, 16, "%d", i);
    snprintf(dir, 4096, "%s/worker-%d", lw->run_dir, i);
    int k = 0;
    argv[k++] = (char *)self;
    argv[k++] = "worker";
    argv[k++] = "--scheduler";
    argv[k++] = sched;
    /* port 0: each worker binds a free port and reports it; it claims
     * its row by number (every row is 127.0.0.1 with port 0) */
    argv[k++] = "--port";
    argv[k++] = "0";
    argv[k++] = "--server-id";
    argv[k++] = sid;
    argv[k++] = "--gpus";
    argv[k++] = gpus;
    argv[k++] = "--catalog";
    argv[k++] = (char *)lw->catalog;
    argv[k++] = "--run-dir";
    argv[k++] = dir;
    if (lw->type_of && lw->type_of[i][0]) {
        argv[k++] = "--gpu-type";
        argv[k++] = lw->type_of[i];
    }
    if (lw->topology) {
        argv[k++] = "--topology";
        argv[k++] = (char *)lw->topology;
    }
    if (lw->verbose)
        argv[k++] = "-v";
    static const char *const formats[] = {"plain", "rfc3339", "journal"};
    argv[k++] = "--log-format"; /* the deploy's */
    argv[k++] = (char *)formats[log_format];
    /* local workers are plaintext on loopback, like their deploy */
    argv[k++] = "--insecure";
    argv[k++] = "--job-user";
    argv[k++] = (char *)lw->job_user;
    argv[k] = NULL;
}

int deploy_local_start(struct deploy_local *lw, int port)
{
    if (lw->n == 0)
        return 0;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    if (!lw->pids)
        lw->pids = xcalloc((size_t)lw->n, sizeof *lw->pids);
    for (int i = 0; i < lw->n; i++) {
        char sched[300], gpus[16], sid[16], dir[4096];
        char *argv[28];
        worker_argv(lw, i, self, argv, sched, gpus, sid, dir, port);
        /* the machine-wide warnings (memory limits not enforced) once, from
         * worker 0, not once per local worker */
        char **env = helper_environ(i > 0 ? "SYNERGY_WORKER_SAME_HOST=1" : NULL);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            /* local workers die with their deploy (and their jobs with them) */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(127);
            execve(self, argv, env);
            _exit(127);
        }
        free(env);
        lw->pids[i] = pid;
    }
    return 0;
}

/* SIGTERM to each worker, reap them all within grace_ms, SIGKILL the rest.
 * Async-signal-safe. */
static void stop_all(pid_t *pids, int n, int grace_ms)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int t = 0;; t += 20) {
        int left = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            pid_t r = waitpid(pids[i], NULL, WNOHANG);
            if (r == pids[i] || (r < 0 && errno == ECHILD))
                pids[i] = 0;
            else
                left++;
        }
        if (left == 0)
            return;
        if (t >= grace_ms) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0) {
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], NULL, 0);
                    pids[i] = 0;
                }
            return;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void deploy_local_stop(struct deploy_local *lw)
{
    if (lw->pids)
        stop_all(lw->pids, lw->n, 5000 + lw->kill_wait_ms);
}

void deploy_local_interrupt(const struct deploy_local *lw)
{
    if (lw->pids)
        stop_all(lw->pids, lw->n, 3000 + lw->kill_wait_ms);
}

void deploy_local_free(struct deploy_local *lw)
{
    free(lw->pids);
    lw->pids = NULL;
    free(lw->gpus_of);
    lw->gpus_of = NULL;
    free(lw->type_of);
    lw->type_of = NULL;
}

void deploy_local_timing(struct deploy_config *cfg, int n_local, int hb_ms, int wto_ms)
{
    /* many --local workers share this machine's CPUs with the scheduler:
     * 128 workers heartbeating every 200 ms are 640 calls a second. Unless
     * told otherwise (hb_ms, wto_ms > 0), slow the heartbeat with their
     * number (8 ms a worker) and keep the timeout at 6 heartbeats */
    int hb = hb_ms > 0 ? hb_ms : n_local > 25 ? n_local * 8 : 200;
    int wto = wto_ms > 0 ? wto_ms : 1500;
    if (wto_ms <= 0 && wto < 6 * hb)
        wto = 6 * hb;
    cfg->heartbeat_ms = hb;
    cfg->worker_timeout_ms = wto;
    /* --local workers start on this machine, all at once: each probes the
     * topology and initialises gRPC, so on a small host 128 of them take
     * tens of seconds; give them 30 s plus 1 s each */
    cfg->register_timeout_ms = 30000 + n_local * 1000;
}

void deploy_stats_json(char *buf, size_t n, const struct deploy_stats *st, double scale)
{
    snprintf(buf, n,
             "\"deploy\":{\"time_scale\":%g,\"jobs_failed\":%zu,\"crashes\":%zu,\"relaunches\":%zu,"
             "\"lease_kills\":%zu,\"stops_ignored\":%zu,\"delays\":%zu,\"workers_lost\":%zu,"
             "\"preemptions\":%zu,"
             "\"max_lateness_ms\":%.3f,\"plan_ms_max\":%.3f,\"plan_ms_mean\":%.3f,"
             "\"dispatch_ms_max\":%.3f,\"dispatch_ms_mean\":%.3f,\"registration_s\":%.3f,"
             "\"jobs_late\":%zu,\"late_s_max\":%.3f}",
             scale, st->jobs_failed, st->crashes, st->relaunches, st->lease_kills,
             st->stops_ignored, st->delays, st->workers_lost,
             st->preemptions, st->max_lateness_ms, st->plan_ms_max,
             st->dispatch_rounds ? st->plan_ms_sum / (double)st->dispatch_rounds : 0,
             st->dispatch_ms_max,
             st->dispatch_rounds ? st->dispatch_ms_sum / (double)st->dispatch_rounds : 0,
             st->registration_s, st->jobs_late, st->late_s_max);
}
