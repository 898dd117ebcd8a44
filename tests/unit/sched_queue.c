/*
 * The incremental queue (scheduler/queue.c) against the plain re-sort it
 * replaces (sched_params.legacy_order: every runnable job keyed, stably
 * sorted and walked every round, as the reference does). Each scenario runs
 * twice through the simulator, and every round's plan (time, placed ids in
 * placement order) and every job's start, finish, preemptions and demoted
 * rounds must be identical. The scenarios are built to stress what the queue
 * does lazily: overloaded small clusters (long walks that stop early), ties
 * (identical jobs, static arrivals, arrivals on round boundaries), a short
 * starvation limit (many bumps), Tune's demotions (keys that change because
 * of a reset), every policy, mode and placement.
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
#include "sim.h"

static model_zoo_t *zoo;

struct trace_log {
    uint64_t h;
    size_t rounds;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ULL;
}

static void on_plan(void *ctx, double now, struct job *const *placed, size_t n)
{
    struct trace_log *t = ctx;
    mix(&t->h, &now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        mix(&t->h, &placed[i]->id, sizeof placed[i]->id);
        mix(&t->h, &placed[i]->n_shares, sizeof placed[i]->n_shares);
        mix(&t->h, &placed[i]->cpus, sizeof placed[i]->cpus);
        mix(&t->h, &placed[i]->speedup, sizeof placed[i]->speedup);
    }
    t->rounds++;
}

struct scenario {
    const char *name;
    int servers;
    bool is_static;
    double starvation_h;
    const struct job_spec *jobs; /* NULL: synthetic */
    size_t n_jobs;
    double jobs_per_hour;
    long max_jobs, lo, hi;
    uint64_t seed;
};

static int run(const struct scenario *sc, const char *policy, const char *mode,
               enum placement placement, bool legacy, struct trace_log *log,
               struct sched_result *res)
{
    struct sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cluster_config_defaults(&cfg.sched.cluster);
    cfg.sched.cluster.servers_per_rack = sc->servers;
    cfg.sched.policy = policy_find(policy);
    cfg.sched.mode = sched_mode_find(mode);
    cfg.sched.placement = placement;
    cfg.sched.round_duration = 300;
    cfg.sched.starvation_s = sc->starvation_h * 3600;
    cfg.sched.legacy_order = legacy;
    cfg.zoo = zoo;
    cfg.is_static = sc->is_static;
    cfg.measure_lo = sc->lo;
    cfg.measure_hi = sc->hi;
    cfg.check_invariants = true;
    memset(log, 0, sizeof *log);
    log->h = 1469598103934665603ULL;
    cfg.obs.ctx = log;
    cfg.obs.on_plan = on_plan;
    struct sim_workload w = {.jobs = sc->jobs, .n_jobs = sc->n_jobs};
    struct err err;
    synth_t *g = NULL;
    if (!sc->jobs) {
        struct synth_params sp;
        synth_params_defaults(&sp);
        sp.jobs_per_hour = sc->jobs_per_hour;
        sp.seed = sc->seed;
        sp.max_jobs = sc->max_jobs;
        g = synth_create(zoo, &sp, &err);
        assert_non_null(g);
        w.synth = g;
    }
    int rc = sim_run(&cfg, &w, res, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", sc->name, err.msg);
    synth_destroy(g);
    return rc;
}

static void compare(const struct scenario *sc)
{
    static const char *modes[] = {"fair", "greedy", "tune"};
    int checked = 0;
    for (size_t p = 0; sched_policies[p]; p++)
        for (int m = 0; m < 3; m++)
            for (int pl = 0; pl < 2; pl++) {
                const char *pol = sched_policies[p]->name;
                struct trace_log a, b;
                struct sched_result ra, rb;
                assert_int_equal(run(sc, pol, modes[m], pl, true, &a, &ra), 0);
                assert_int_equal(run(sc, pol, modes[m], pl, false, &b, &rb), 0);
                if (a.h != b.h || a.rounds != b.rounds || ra.rounds != rb.rounds ||
                    ra.jobs_measured != rb.jobs_measured)
                    fail_msg("%s %s/%s/%s: plans differ (%zu vs %zu rounds)", sc->name, pol,
                             modes[m], pl ? "consolidate" : "first-fit", a.rounds, b.rounds);
                for (size_t i = 0; i < ra.jobs_measured; i++) {
                    const struct sched_job_result *x = &ra.jobs[i], *y = &rb.jobs[i];
                    if (x->id != y->id || x->first_start != y->first_start ||
                        x->finish != y->finish || x->preemptions != y->preemptions ||
                        x->rounds_demoted != y->rounds_demoted)
                        fail_msg("%s %s/%s: job %d differs", sc->name, pol, modes[m], x->id);
                }
                assert_true(ra.jobs_measured > 0);
                sched_result_free(&ra);
                sched_result_free(&rb);
                checked++;
            }
    assert_int_equal(checked, 7 * 3 * 2);
}

/* Synthetic, overloaded: 16 GPUs at 9 jobs/h (the default experiment's
 * rate on an eighth of its cluster). */
static void test_synthetic_overloaded(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct scenario sc = {.name = "synthetic", .servers = 2, .starvation_h = 1000,
                              .jobs_per_hour = 9, .max_jobs = 260, .lo = 0, .hi = 200,
                              .seed = seed};
        compare(&sc);
    }
}

/* The same with a starvation limit of 5 h: most waiting jobs get bumped. */
static void test_synthetic_bumps(void **state)
{
    (void)state;
    struct scenario sc = {.name = "bumps", .servers = 2, .starvation_h = 5,
                          .jobs_per_hour = 12, .max_jobs = 260, .lo = 0, .hi = 200, .seed = 7};
    compare(&sc);
}

/* Ties: groups of identical jobs (same model, length, GPUs, arrival), a few
 * arriving exactly on round boundaries, on one 8-GPU server. */
static void test_ties(void **state)
{
    (void)state;
    static const char *models[] = {"res18", "lstm", "transformer", "alexnet"};
    static const int gpus[] = {1, 2, 1, 4, 1, 8};
    enum { N = 96 };
    struct job_spec jobs[N];
    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        snprintf(jobs[i].model, sizeof jobs[i].model, "%s", models[(i / 3) % 4]);
        jobs[i].arrival = (i / 6) * 600.0 + (i % 2 ? 0 : 37);
        jobs[i].iterations = 2000 + 1000 * ((i / 3) % 5);
        jobs[i].gpus = gpus[(i / 3) % 6];
    }
    struct scenario sc = {.name = "ties", .servers = 1, .starvation_h = 2, .jobs = jobs,
                          .n_jobs = N};
    compare(&sc);
    /* static: everything at t=0, first round at t=1 */
    for (int i = 0; i < N; i++)
        jobs[i].arrival = 0;
    struct scenario st = {.name = "static", .servers = 2, .is_static = true,
                          .starvation_h = 3, .jobs = jobs, .n_jobs = N};
    compare(&st);
}

int main(void)
{
    struct err err;
    log_max_level = LOG_ERROR; /* Tune's "skipped" warnings are expected here */
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (!zoo) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_overloaded),
        cmocka_unit_test(test_synthetic_bumps),
        cmocka_unit_test(test_ties),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    model_zoo_destroy(zoo);
    return rc;
}
