/* Unit tests: the round ledger (scheduler/ledger.c) that both drivers share.
 * Every number is worked out by hand in the comments from configs/models.ini:
 * alexnet runs 0.6 s per iteration at its fair share, so a 300 s round is
 * 500 iterations in the fair mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
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

/* One server of 8 GPUs, 24 CPUs, 500 GB; the fair (GPU-proportional) mode. */
static sched_run_t *make(const char *policy, const struct job_spec *trace, size_t n)
{
    struct sched_run_params p = {0};
    cluster_config_defaults(&p.sched.cluster);
    p.sched.cluster.servers_per_rack = 1;
    p.sched.policy = policy_find(policy);
    p.sched.mode = sched_mode_find("fair");
    p.sched.round_duration = 300;
    p.sched.starvation_s = 1000 * 3600.0;
    p.zoo = zoo;
    p.trace = trace;
    p.n_trace = n;
    p.check_invariants = true;
    struct err err;
    sched_run_t *r = sched_run_create(&p, &err);
    assert_non_null(r);
    return r;
}

static struct job_spec spec(int id, const char *model, double arrival, long iters, int gpus)
{
    struct job_spec s = {.id = id, .arrival = arrival, .iterations = iters, .gpus = gpus};
    snprintf(s.model, sizeof s.model, "%s", model);
    return s;
}

static size_t plan(sched_run_t *r, double now, struct job ***placed,
                   struct sched_round_sample *smp)
{
    size_t n;
    struct err err;
    assert_int_equal(sched_run_plan(r, now, placed, &n, smp, &err), 0);
    return n;
}

/* FIFO: job 0 (8 GPUs, 1200 iterations) runs rounds 300, 600, 900 (500 +
 * 500 + 200) and finishes at its lease end, 1200; job 1 (an unknown model:
 * alexnet, 4 GPUs, 500 iterations, arrived at 10) waits, runs at 1200 and
 * finishes at 1500. JCTs 1200 and 1490: mean and median 1345. Allocation:
 * three full rounds and one half round, a mean of 0.875. */
static void fifo_two_jobs_with_unknown_model(void **state)
{
    struct job_spec t[2] = {spec(0, "alexnet", 0, 1200, 8), spec(1, "nosuch", 10, 500, 4)};
    sched_run_t *r = make("FIFO", t, 2);
    struct err err;
    struct job *a = sched_run_arrive(r, &t[0], &err);
    struct job *b = sched_run_arrive(r, &t[1], &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(b->model->name, "alexnet");
    assert_int_equal(sched_run_window_size(r), 2);

    struct job **placed;
    struct sched_round_sample smp;
    for (int k = 1; k <= 3; k++) {
        double now = 300.0 * k;
        assert_int_equal(plan(r, now, &placed, &smp), 1);
        assert_ptr_equal(placed[0], a);
        assert_int_equal(smp.started, k == 1);
        assert_int_equal(smp.runnable, 2);
        assert_true(fabs(smp.alloc[0] - 1) < 1e-12);
        /* demand: 8 + 4 GPUs of 8 */
        assert_true(fabs(smp.demand[0] - 1.5) < 1e-12);
        long base, budget;
        sched_run_round_credit(r, a, &base, &budget);
        assert_int_equal(base, 500 * (k - 1));
        assert_int_equal(budget, k < 3 ? 500 : 200);
        assert_int_equal(sched_run_lease_end(r, a, now + 300), k == 3);
    }
    assert_false(sched_run_finish(r, a, 1200));
    assert_int_equal(a->rounds_run, 3);
    assert_true(a->attained == 900);
    assert_true(a->first_start == 300);
    assert_int_equal(plan(r, 1200, &placed, &smp), 1);
    assert_ptr_equal(placed[0], b);
    assert_int_equal(smp.preempted, 0); /* job 0 finished: not preempted */
    assert_true(sched_run_lease_end(r, b, 1500));
    assert_true(sched_run_finish(r, b, 1500));

    struct sched_result res;
    sched_run_result(r, 1500, &res);
    assert_int_equal(res.jobs_finished, 2);
    assert_int_equal(res.jobs_measured, 2);
    assert_true(res.window_complete);
    assert_int_equal(res.rounds, 4);
    assert_true(res.avg_jct_s == 1345);
    assert_true(res.p50_jct_s == 1345);
    assert_true(res.max_jct_s == 1490);
    assert_true(res.makespan_s == 1500);
    assert_true(fabs(res.mean_gpu_alloc - 0.875) < 1e-12);
    assert_int_equal(res.jobs[1].id, 1);
    assert_true(res.jobs[1].first_start == 1200);
    sched_result_free(&res);
    sched_run_destroy(r);
}

/* LAS: two 8-GPU jobs take turns. 300: A (arrived first); 600: B, A is
 * preempted; 900: A (attained 2400 each, A arrived first), B preempted;
 * 1200: B, A preempted a second time. */
static void las_preemptions_and_restore(void **state)
{
    struct job_spec t[2] = {spec(0, "alexnet", 0, 100000, 8), spec(1, "alexnet", 1, 100000, 8)};
    sched_run_t *r = make("LAS", t, 2);
    struct err err;
    struct job *a = sched_run_arrive(r, &t[0], &err);
    struct job *b = sched_run_arrive(r, &t[1], &err);
    struct job **placed;
    struct sched_round_sample smp;
    const struct job *expect[3] = {a, b, a};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(plan(r, 300.0 * (k + 1), &placed, &smp), 1);
        assert_ptr_equal(placed[0], expect[k]);
        assert_int_equal(smp.preempted, k > 0);
        sched_run_lease_end(r, placed[0], 300.0 * (k + 2));
    }
    assert_int_equal(a->preemptions, 1);
    assert_int_equal(b->preemptions, 1);
    /* deploy's credit: A's rounds were 300 and 900, so the plan credited
     * 500 -> 1000 up front; the job measured 120 steps */
    sched_run_credit(r, a, 120);
    assert_int_equal(a->executed, 620);
    sched_run_credit(r, a, 9999); /* never more than the plan's budget */
    assert_int_equal(a->executed, 1000);
    sched_run_credit(r, a, -5);
    assert_int_equal(a->executed, 500);
    sched_run_credit(r, a, 500);

    /* a restarted driver restores both jobs and plans the same next round */
    sched_run_t *r2 = make("LAS", t, 2);
    struct job *rj[2];
    struct job *orig[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        struct sched_job_saved sv;
        sched_run_save(r, orig[i], &sv);
        assert_int_equal(sv.placed_last_round, i == 0);
        rj[i] = sched_run_restore(r2, &t[i], &sv, &err);
        assert_non_null(rj[i]);
        assert_int_equal(sched_run_runnable_rank(r2, rj[i]),
                         sched_run_runnable_rank(r, orig[i]));
    }
    struct sched_run_totals tot;
    sched_run_totals_get(r, &tot);
    assert_int_equal(tot.rounds, 3);
    sched_run_totals_set(r2, &tot);
    struct job **p2;
    assert_int_equal(plan(r, 1200, &placed, &smp), 1);
    assert_ptr_equal(placed[0], b);
    assert_int_equal(smp.preempted, 1);
    assert_int_equal(plan(r2, 1200, &p2, &smp), 1);
    assert_ptr_equal(p2[0], rj[1]);
    assert_int_equal(smp.preempted, 1);
    assert_int_equal(rj[0]->preemptions, 2);
    assert_int_equal(rj[1]->executed, b->executed);
    assert_true(rj[1]->attained == b->attained);
    assert_int_equal(rj[1]->rounds_run, 2); /* 600 and 1200 */
    assert_int_equal(b->rounds_run, 2);

    /* a failed job leaves planning without a result row, and is not preempted */
    sched_run_lease_end(r2, rj[1], 1500);
    sched_run_fail(r2, rj[1]);
    assert_int_equal(plan(r2, 1500, &p2, &smp), 1);
    assert_ptr_equal(p2[0], rj[0]);
    assert_int_equal(smp.preempted, 0);
    struct sched_result res;
    sched_run_result(r2, 1500, &res);
    assert_int_equal(res.jobs_finished, 0);
    assert_false(res.window_complete);
    assert_int_equal(res.rounds, 5);
    sched_result_free(&res);
    sched_run_destroy(r2);
    sched_run_destroy(r);
}

/* The one same-placement rule (issue 20): which changes end a lease. By
 * hand: a job on servers 0 and 1, 2 GPUs, 4 CPUs and 50 GB on each. */
static void same_placement_rule(void **state)
{
    (void)state;
    const struct job_share was[2] = {{.server = 0, .gpu = 2, .cpu = 4, .mem = 50},
                                     {.server = 1, .gpu = 2, .cpu = 4, .mem = 50}};
    struct job_share now[2];
    memcpy(now, was, sizeof now);
    assert_true(sched_same_placement(was, 2, now, 2));
    /* the same shares listed the other way round */
    now[0] = was[1];
    now[1] = was[0];
    assert_true(sched_same_placement(was, 2, now, 2));
    /* another server */
    memcpy(now, was, sizeof now);
    now[1].server = 2;
    assert_false(sched_same_placement(was, 2, now, 2));
    /* one GPU more on a server */
    memcpy(now, was, sizeof now);
    now[0].gpu = 3;
    assert_false(sched_same_placement(was, 2, now, 2));
    /* other CPUs, other memory */
    memcpy(now, was, sizeof now);
    now[1].cpu = 5;
    assert_false(sched_same_placement(was, 2, now, 2));
    memcpy(now, was, sizeof now);
    now[0].mem = 25;
    assert_false(sched_same_placement(was, 2, now, 2));
    /* one server fewer */
    assert_false(sched_same_placement(was, 2, was, 1));
    assert_false(sched_same_placement(was, 1, was, 2));
}

/* numpy's linear quantile: at (n-1)q between neighbours. */
static void quantiles(void **state)
{
    double v[4] = {1, 2, 3, 10};
    assert_true(sched_quantile(v, 4, 0.5) == 2.5);
    assert_true(fabs(sched_quantile(v, 4, 0.99) - 9.79) < 1e-12);
    assert_true(sched_quantile(v, 4, 1) == 10);
    assert_true(isnan(sched_quantile(v, 0, 0.5)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_two_jobs_with_unknown_model),
        cmocka_unit_test(las_preemptions_and_restore),
        cmocka_unit_test(quantiles),
        cmocka_unit_test(same_placement_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
