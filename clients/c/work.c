/*
 * The stand-in job's step work (job_work.h). CPU mode keeps one helper
 * thread per allowed CPU but the first; the caller is the first. The threads
 * share each step's work, so with c CPUs a step takes about 1/c of the time
 * it takes on one: the job is CPU-bound the way a data loader is, and the
 * profiler can see it.
 */
#include "job_work.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

volatile sig_atomic_t job_work_stop_asked;

void job_sleep_s(double s)
{
    if (!(s > 0))
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !job_work_stop_asked)
        ;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sleep n steps of `per` seconds in one go (one sleep per step would add
 * each sleep's overshoot); cut short, the whole steps that fit. */
static long sleep_steps(long n, double per)
{
    double t0 = now_s();
    job_sleep_s((double)n * per);
    if (!job_work_stop_asked || !(per > 0))
        return n;
    long done = (long)floor((now_s() - t0) / per);
    return done < n ? done : n;
}

int job_work_opt(struct job_work *w, int opt, const char *arg)
{
    double d;
    switch (opt) {
    case JOB_OPT_STARTUP:
        if (parse_double(arg, &d) < 0 || d < 0 || d > 86400) {
            fprintf(stderr, "synergy job: --startup-s: '%s' must be 0..86400 seconds\n", arg);
            return -1;
        }
        w->startup_s = d;
        return 1;
    case JOB_OPT_CPU_WORK:
        if (parse_double(arg, &d) < 0 || !(d > 0) || d > 1e6) {
            fprintf(stderr, "synergy job: --cpu-work: '%s' must be a positive number of "
                            "million steps\n", arg);
            return -1;
        }
        w->kind = JOB_WORK_CPU;
        w->mops = d;
        return 1;
    case JOB_OPT_ITER_COST: {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", arg);
        char *comma = strchr(buf, ',');
        double a, b;
        if (!comma || (*comma = '\0', parse_double(buf, &a) < 0) ||
            parse_double(comma + 1, &b) < 0 || a < 0 || b < 0 || !(a + b > 0)) {
            fprintf(stderr, "synergy job: --iter-cost: '%s' must be A,B seconds (A, B >= 0)\n",
                    arg);
            return -1;
        }
        w->kind = JOB_WORK_COST;
        w->cost_a = a;
        w->cost_b = b;
        return 1;
    }
    }
    return 0;
}

/* A chunk of a step: a dependent multiply-add chain (no memory traffic). */
static double burn(double steps)
{
    double x = 1.0;
    for (long i = 0; i < (long)steps; i++) {
        x = x * 0.999999999 + 1e-9;
        __asm__ volatile("" : "+x"(x)); /* the compiler may not skip or fold the chain */
    }
    return x;
}

/* Each step is CHUNKS equal chunks taken from a shared counter, so a thread
 * the kernel runs late (a loaded machine) does not hold the step up: the
 * others take its chunks. The step's time is its work over the CPU time the
 * job got, which is what a data loader with c workers sees. */
#define CHUNKS 64

static void take_chunks(struct job_work *w)
{
    double ops = w->mops * 1e6 / CHUNKS;
    while (atomic_fetch_add(&w->next, 1) < CHUNKS) {
        if (burn(ops) == 42) /* never: keeps the result alive */
            abort();
        if (atomic_fetch_add(&w->done, 1) + 1 == CHUNKS && w->threads) {
            pthread_mutex_lock(&w->mu); /* the step's last chunk: wake the caller */
            pthread_cond_broadcast(&w->done_cv);
            pthread_mutex_unlock(&w->mu);
        }
    }
}

static void *helper_main(void *arg)
{
    struct job_work *w = arg;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->gen == seen && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        seen = w->gen;
        bool quit = w->quit;
        pthread_mutex_unlock(&w->mu);
        if (quit)
            return NULL;
        take_chunks(w);
    }
}

void job_work_start(struct job_work *w)
{
    cpu_set_t set;
    w->n_cpus = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        w->n_cpus = CPU_COUNT(&set);
    if (w->kind != JOB_WORK_CPU || w->n_cpus == 1)
        return;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    atomic_store(&w->next, CHUNKS);
    atomic_store(&w->done, CHUNKS);
    w->threads = xcalloc((size_t)w->n_cpus - 1, sizeof *w->threads);
    for (int i = 0; i < w->n_cpus - 1; i++)
        if (pthread_create(&w->threads[i], NULL, helper_main, w) != 0)
            abort(); /* cannot run the work we were asked for */
}

void job_work_startup(const struct job_work *w)
{
    job_sleep_s(w->startup_s);
}

long job_work_steps(struct job_work *w, long n, double spi, double f)
{
    switch (w->kind) {
    case JOB_WORK_SLEEP:
        return sleep_steps(n, spi * f);
    case JOB_WORK_COST:
        return sleep_steps(n, w->cost_a + w->cost_b / w->n_cpus);
    case JOB_WORK_CPU:
        for (long i = 0; i < n; i++) {
            if (job_work_stop_asked)
                return i;
            /* every chunk of the last step is done: start this one */
            atomic_store(&w->done, 0);
            atomic_store(&w->next, 0);
            if (w->threads) {
                pthread_mutex_lock(&w->mu);
                w->gen++;
                pthread_cond_broadcast(&w->cv);
                pthread_mutex_unlock(&w->mu);
            }
            take_chunks(w);
            if (w->threads) { /* a helper may still be on its last chunk */
                pthread_mutex_lock(&w->mu);
                while (atomic_load(&w->done) < CHUNKS)
                    pthread_cond_wait(&w->done_cv, &w->mu);
                pthread_mutex_unlock(&w->mu);
            }
        }
        return n;
    }
    return n;
}

void job_work_stop(struct job_work *w)
{
    if (!w->threads)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_cpus - 1; i++)
        pthread_join(w->threads[i], NULL);
    free(w->threads);
    w->threads = NULL;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
}

bool job_work_startup_round(const struct job_work *w, double left, double spi, long *target,
                            double *f)
{
    if (!(w->startup_s > 0) || w->kind != JOB_WORK_SLEEP || !(spi > 0))
        return false;
    long fit = left > 0 ? (long)floor(left / spi) : 0;
    if (fit < *target)
        *target = fit;
    *f = 1;
    return true;
}
