/*
 * What the stand-in job (`synergy job`) does for one training step, apart
 * from the protocol: sleep the plan's seconds per iteration (the default), do
 * real multi-threaded CPU work spread over the CPUs it is allowed
 * (--cpu-work, for the profiler: its speed scales with cores), or sleep a
 * cost known by construction, A + B / cpus seconds (--iter-cost A,B, for
 * testing the profiler against exact numbers). Plus --startup-s, a sleep
 * before the first step (the start-up cost of a real framework).
 */
#ifndef SYNERGY_JOB_WORK_H
#define SYNERGY_JOB_WORK_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

enum job_work_kind { JOB_WORK_SLEEP = 0, JOB_WORK_CPU, JOB_WORK_COST };

struct job_work {
    enum job_work_kind kind;
    double startup_s;      /* --startup-s: wall seconds before the first step */
    double mops;           /* --cpu-work: million floating-point steps per iteration */
    double cost_a, cost_b; /* --iter-cost A,B: seconds per iteration = A + B / cpus */
    int n_cpus;            /* CPUs in our affinity mask (job_work_start) */
    /* CPU mode's thread pool: n_cpus - 1 helpers and the caller share each
     * step's chunks through two counters (work.c) */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv, done_cv;
    unsigned long gen; /* bumped when a step starts (under mu) */
    bool quit;
    _Atomic long next, done;
};

/* The work options' codes for job_work_opt. */
enum { JOB_OPT_STARTUP = 500, JOB_OPT_CPU_WORK, JOB_OPT_ITER_COST };

/* Handle one work option: 1 handled, 0 not ours, -1 bad value (message printed). */
int job_work_opt(struct job_work *w, int opt, const char *arg);
/* Count the CPUs we may use and start CPU mode's helpers. */
void job_work_start(struct job_work *w);
/* Sleep the start-up time. */
void job_work_startup(const struct job_work *w);
/* Set (by a SIGTERM handler) to stop: job_work_steps returns early and
 * job_sleep_s wakes. */
extern volatile sig_atomic_t job_work_stop_asked;
/* Run n steps. Sleep mode sleeps n * spi * f (f < 1 compresses a late
 * round); the other modes run at their own pace. Returns the steps done: n,
 * or fewer when job_work_stop_asked was set meanwhile (a step is whole or
 * not counted). */
long job_work_steps(struct job_work *w, long n, double spi, double f);
void job_work_stop(struct job_work *w);
/* The first round after a --startup-s sleep (sleep mode): its cost is the
 * job's own, so the round is not compressed to make up for it; *target
 * shrinks to the steps that fit in the `left` seconds before the round's
 * end, *f = 1. Returns false (nothing changed) without a start-up time. */
bool job_work_startup_round(const struct job_work *w, double left, double spi, long *target,
                            double *f);
/* Sleep s seconds (EINTR-safe; cut short once job_work_stop_asked is set). */
void job_sleep_s(double s);

#endif
