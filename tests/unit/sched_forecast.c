/*
 * Forecasts (scheduler/forecast.c): a copy of a run's runnable jobs, run
 * forward with no new arrivals. A hand-worked case on one server, then the
 * independent check: a run's forecast from its middle equals, job for job,
 * what the run itself then does when nothing more arrives (FIFO/fair,
 * LAS/tune, SRTF/greedy on 30 jobs of 1-8 GPUs on 2 servers of 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies.h"

static model_zoo_t *zoo;

static int setup(void **state)
{
    struct err err;
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    return zoo ? 0 : -1;
}

static int teardown(void **state)
{
    model_zoo_destroy(zoo);
    return 0;
}

static sched_run_t *make_run(int servers, int gpus, const char *policy, const char *mode)
{
    struct sched_run_params p = {0};
    cluster_config_defaults(&p.sched.cluster);
    p.sched.cluster.servers_per_rack = servers;
    p.sched.cluster.gpus_per_server = gpus;
    p.sched.cluster.cpus_per_server = 3 * gpus;
    p.sched.policy = policy_find(policy);
    p.sched.mode = sched_mode_find(mode);
    p.sched.round_duration = 300;
    p.sched.starvation_s = 1000 * 3600.0;
    p.zoo = zoo;
    p.measure_lo = 0;
    p.measure_hi = 1000;
    struct err err;
    sched_run_t *r = sched_run_create(&p, &err);
    if (!r)
        fail_msg("%s", err.msg);
    return r;
}

static void arrive(sched_run_t *r, int id, const char *model, double at, long iters, int gpus)
{
    struct job_spec s = {.id = id, .arrival = at, .iterations = iters, .gpus = gpus};
    snprintf(s.model, sizeof s.model, "%s", model);
    struct err err;
    if (!sched_run_arrive(r, &s, &err))
        fail_msg("%s", err.msg);
}

/* One round at t: plan, end every lease at t + 300 (finishing done jobs).
 * starts/ends (by id, may be NULL): the first round placing each job from
 * the first call on, and its finish. */
static void round_at(sched_run_t *r, double t, double *starts, double *ends)
{
    struct job **placed;
    size_t n;
    struct err err;
    assert_int_equal(sched_run_plan(r, t, &placed, &n, NULL, &err), 0);
    for (size_t i = 0; i < n; i++) {
        struct job *j = placed[i];
        if (starts && starts[j->id] < 0)
            starts[j->id] = t;
        if (sched_run_lease_end(r, j, t + 300)) {
            sched_run_finish(r, j, t + 300);
            if (ends)
                ends[j->id] = t + 300;
        }
    }
}

/* alexnet: 0.6 s an iteration at the fair share, 500 a round (fair mode).
 * One server of 4 GPUs, FIFO: job 1 (4 GPUs, 1500 iterations: 3 rounds)
 * and job 2 (4 GPUs, 1000: 2 rounds) arrive at 0. After the round at 0
 * (job 1 runs), a forecast from 300: job 2 starts at 900 when job 1 is
 * done, ends at 1500; a hypothetical 4-GPU job of 500 iterations (1 round)
 * arriving at 300 runs after both: 1500 to 1800. */
static void test_by_hand(void **state)
{
    sched_run_t *r = make_run(1, 4, "FIFO", "fair");
    arrive(r, 1, "alexnet", 0, 1500, 4);
    arrive(r, 2, "alexnet", 0, 1000, 4);
    round_at(r, 0, NULL, NULL);
    struct job_spec extra = {.id = 99, .iterations = 500, .gpus = 4};
    snprintf(extra.model, sizeof extra.model, "alexnet");
    struct sched_forecast *f;
    struct err err;
    long n = sched_run_forecast(r, 300, &extra, 1000, &f, &err);
    assert_int_equal(n, 3);
    assert_int_equal(f[0].id, 1);
    assert_true(f[0].start == 300 && f[0].end == 900);
    assert_int_equal(f[1].id, 2);
    assert_true(f[1].start == 900 && f[1].end == 1500); /* it ends before job 99 */
    assert_int_equal(f[2].id, 99);
    assert_true(f[2].start == 1500 && f[2].end == 1800);
    free(f);
    /* the run itself is untouched: job 99 is not in it */
    assert_int_equal(sched_run_job_count(r), 2);
    sched_run_destroy(r);
}

/* A run of 30 jobs arriving over the first 20 rounds; forecast at round
 * 10 (t = 3000) for the jobs there then, with the rest not yet arrived
 * left out of the trace: the run continued without them must match. */
static void forecast_matches(const char *policy, const char *mode)
{
    static const char *models[] = {"alexnet", "res18", "gnmt", "lstm", "m5", "transformer"};
    sched_run_t *r = make_run(2, 8, policy, mode);
    unsigned x = 12345;
    int n_jobs = 0;
    for (int id = 0; id < 30; id++) {
        x = x * 1103515245u + 12345u;
        double at = (double)(x >> 8 & 0xffff) / 65536.0 * 3000; /* before the forecast */
        int gpus = 1 << (x >> 4 & 3);
        long iters = 300 + (long)(x >> 12 & 0xfff);
        arrive(r, id, models[id % 6], (double)id * 100 < at ? (double)id * 100 : at, iters, gpus);
        n_jobs++;
    }
    double t = 0;
    for (; t < 3000; t += 300)
        round_at(r, t, NULL, NULL);
    struct sched_forecast *f;
    struct err err;
    long n = sched_run_forecast(r, t, NULL, 100000, &f, &err);
    assert_true(n > 0);
    double starts[30], ends[30];
    for (int i = 0; i < 30; i++)
        starts[i] = ends[i] = -1;
    for (int k = 0; k < 100000 && sched_runnable_count(sched_run_sched(r)) > 0; k++, t += 300)
        round_at(r, t, starts, ends);
    for (long i = 0; i < n; i++) {
        if (f[i].start != starts[f[i].id] || f[i].end != ends[f[i].id])
            fail_msg("%s/%s job %d: forecast %g-%g, ran %g-%g", policy, mode, f[i].id, f[i].start,
                     f[i].end, starts[f[i].id], ends[f[i].id]);
    }
    print_message("%s/%s: %ld jobs forecast exactly\n", policy, mode, n);
    free(f);
    sched_run_destroy(r);
}

static void test_matches_run(void **state)
{
    forecast_matches("FIFO", "fair");
    forecast_matches("LAS", "tune");
    forecast_matches("SRTF", "greedy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_matches_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
