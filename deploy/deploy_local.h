/*
 * deploy --local: N `synergy worker` processes on 127.0.0.1 next to the
 * scheduler, started once it listens and stopped with it; and the helpers
 * the deploy command shares with them (timing defaults, JSON summary).
 */
#ifndef SYNERGY_DEPLOY_LOCAL_H
#define SYNERGY_DEPLOY_LOCAL_H

#include <sys/types.h>

#include "deploy.h"

struct deploy_local {
    int n;                 /* workers to start (0: none) */
    pid_t *pids;           /* filled by deploy_local_start */
    const char *catalog;   /* --catalog of each worker */
    const char *topology;  /* --topology, or NULL */
    const char *run_dir;   /* worker i runs in run_dir/worker-i */
    const char *sched_host;/* the scheduler's advertised address */
    const char *job_user;  /* --job-user of each worker */
    int gpus;              /* GPUs per worker, unless gpus_of is set */
    int *gpus_of;          /* worker i's GPUs (a cluster of server groups; owned) */
    char (*type_of)[16];   /* worker i's --gpu-type, "" none (owned; NULL: none) */
    bool verbose;          /* -v to each worker */
    int kill_wait_ms;      /* their jobs' SIGTERM-to-SIGKILL grace (wall): a stop waits for it */
};

/* Fork and exec the workers against sched_host:port (this binary, read from
 * /proc/self/exe). Each dies with this process (PR_SET_PDEATHSIG). 0 or -1. */
int deploy_local_start(struct deploy_local *lw, int port);
/* SIGTERM every worker and reap it; one still there after its jobs' kill-wait
 * and 5 s more is killed. */
void deploy_local_stop(struct deploy_local *lw);
/* The same from a signal handler (async-signal-safe: kill, waitpid,
 * nanosleep), after the kill-wait and 3 s SIGKILL. */
void deploy_local_interrupt(const struct deploy_local *lw);
void deploy_local_free(struct deploy_local *lw);

/* Heartbeat, worker timeout and registration timeout for n_local local
 * workers (0: remote ones); hb_ms, wto_ms: the flags (0: not given). */
void deploy_local_timing(struct deploy_config *cfg, int n_local, int hb_ms, int wto_ms);

/* The "deploy" member of the JSON summary (no braces around it). */
void deploy_stats_json(char *buf, size_t n, const struct deploy_stats *st, double scale);

#endif
