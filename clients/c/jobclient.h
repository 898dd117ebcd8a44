/*
 * jobclient: the C side of the reference's JobToScheduler protocol, as the
 * stand-in job `synergy job` speaks it (iterator.c: RegisterJob, the round's
 * budget from UpdateIters, RoundEnd, LeaseEnded, retries while the scheduler
 * is away, the round clock; job_work.h: what one training step costs). The
 * Python client (clients/python) is the same protocol for real jobs.
 * The job's parameters come from the environment its worker sets
 * (SYNERGY_TOTAL_ITERS, SYNERGY_ITER_TIME_S, SYNERGY_TIME_SCALE, ...).
 */
#ifndef SYNERGY_JOBCLIENT_H
#define SYNERGY_JOBCLIENT_H

#include <stdbool.h>

#include "job_work.h"

struct job_opts {
    long id;                             /* the job's id (required) */
    const char *sched;                   /* the scheduler's address (required) */
    const char *chk;                     /* checkpoint directory, or NULL */
    const char *crash_dir, *daemon_file; /* fault switches for tests, or NULL */
    bool crash_always, ignore_stop;
    long crash_late_ms;   /* fault switch: the crashing rank starts this many ms late */
    bool ignore_sigterm;  /* SIG_IGN: only SIGKILL (after the kill-wait) ends it */
    bool ranks;           /* one process per GPU of this server */
    bool legacy;          /* speak as the stock reference iterator (iterator.c) */
    struct job_work work; /* what a step does */
};

/* Whether the environment carries what the job needs: SYNERGY_TOTAL_ITERS
 * (>= 0), SYNERGY_ITER_TIME_S (> 0) and SYNERGY_TIME_SCALE (> 0, default 1). */
bool job_client_env_ok(void);

/* Run the job to the end of its lease or of its iterations: one process, or
 * with o->ranks one forked process per GPU of this server. Returns the
 * process's exit code: 0, 1 (the scheduler refused or could not be
 * reached, a rank failed), 2 (--ranks: a bad process count). */
int job_client_run(struct job_opts *o);

#endif
