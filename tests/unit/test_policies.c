/* Unit tests: each policy's order on a hand-built queue. The expected orders
 * are worked out by hand from the keys of spec §6 (see the comments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "policies.h"

static struct model_profile m_gnmt = {.name = "gnmt", .iter_time = 0.12, .speedup = 1};
static struct model_profile m_res50 = {.name = "res50", .iter_time = 0.78, .speedup = 1.15};
static struct model_profile m_alex = {.name = "alexnet", .iter_time = 0.6, .speedup = 2.94};
static struct model_profile m_lstm = {.name = "lstm", .iter_time = 0.011, .speedup = 1};

/*
 * J0: arrival 0,  gnmt,    1 GPU, 1000 iters, 0 done      -> remaining 120 s, attained 600
 * J1: arrival 10, res50,   2 GPU, 100 iters, 50 done      -> remaining 39 s,  attained 300
 * J2: arrival 20, alexnet, 1 GPU, 10000 iters, priority 1 -> remaining 6000 s, attained 0
 * J3: arrival 5,  lstm,    4 GPU, 100000 iters, 90000 done -> remaining 110 s, attained 1200
 * Demands (cpu, mem): J0 (1, 20), J1 (8, 125), J2 (12, 125), J3 (4, 80).
 */
static struct job jobs[4];

static void build(void)
{
    memset(jobs, 0, sizeof jobs);
    struct {
        int id;
        const struct model_profile *m;
        double arrival;
        int gpus;
        long total, done;
        double attained, cpu, mem;
        int prio;
    } d[4] = {
        {0, &m_gnmt, 0, 1, 1000, 0, 600, 1, 20, 0},
        {1, &m_res50, 10, 2, 100, 50, 300, 8, 125, 0},
        {2, &m_alex, 20, 1, 10000, 0, 0, 12, 125, 1},
        {3, &m_lstm, 5, 4, 100000, 90000, 1200, 4, 80, 0},
    };
    for (int i = 0; i < 4; i++) {
        struct job *j = &jobs[i];
        j->id = d[i].id;
        j->model = d[i].m;
        j->arrival = d[i].arrival;
        j->gpus = d[i].gpus;
        j->total_iters = d[i].total;
        j->executed = d[i].done;
        j->attained = j->service = d[i].attained;
        j->iter_time = d[i].m->iter_time;
        j->speedup = j->speedup_orig = d[i].m->speedup;
        j->cpu_demand = d[i].cpu;
        j->mem_demand = d[i].mem;
        j->priority = d[i].prio;
    }
}

static const struct sched_view view = {.now = 1000, .fair = true, .total_gpus = 8,
                                       .total_cpus = 24, .total_mem = 500};

static int cmp_key(const double *a, const double *b)
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Order of job ids under a policy (insertion sort: stable). */
static void order(const char *policy, const struct sched_view *v, int out[4])
{
    const struct sched_policy_ops *p = policy_find(policy);
    assert_non_null(p);
    double k[4][3];
    int idx[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        p->key(v, &jobs[i], k[i]);
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && cmp_key(k[idx[j]], k[idx[j - 1]]) < 0; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    for (int i = 0; i < 4; i++)
        out[i] = jobs[idx[i]].id;
}

#define ASSERT_ORDER(got, a, b, c, d)                                                              \
    do {                                                                                           \
        int want_[4] = {a, b, c, d};                                                               \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            assert_int_equal((got)[i_], want_[i_]);                                                \
    } while (0)

static void test_fifo_is_arrival_order_ignoring_priority(void **state)
{
    build();
    int o[4];
    order("fifo", &view, o);
    ASSERT_ORDER(o, 0, 3, 1, 2);
}

static void test_srtf(void **state)
{
    build();
    int o[4];
    /* priority first (J2), then remaining time: J1 39 < J3 110 < J0 120 */
    order("SRTF", &view, o);
    ASSERT_ORDER(o, 2, 1, 3, 0);
    /* not fair: J1's remaining is divided by its speedup 1.15 -> 33.9 s, same order;
     * drop J2's priority: 6000/2.94 = 2040.8 s puts it last */
    jobs[2].priority = 0;
    struct sched_view v = view;
    v.fair = false;
    order("srtf", &v, o);
    ASSERT_ORDER(o, 1, 3, 0, 2);
}

static void test_las_ties_break_by_arrival(void **state)
{
    build();
    int o[4];
    /* J2 (priority), then attained x GPUs: J0 600 = J1 600 (arrival 0 < 10), J3 4800 */
    order("LAS", &view, o);
    ASSERT_ORDER(o, 2, 0, 1, 3);
}

static void test_ftf(void **state)
{
    build();
    int o[4];
    /* (now - arrival + remaining) / ideal: J3 1105/1100 = 1.0045, J0 1120/120 = 9.33,
     * J1 1029/78 = 13.19; J2 first by priority */
    order("ftf", &view, o);
    ASSERT_ORDER(o, 2, 3, 0, 1);
}

static void test_drf(void **state)
{
    build();
    jobs[2].priority = 0;
    int o[4];
    /* dominant shares: J0 max(1/8, 1/24, 20/500) = 0.125; J1 max(2/8, 8/24, 125/500) = 0.333;
     * J2 max(1/8, 12/24, 125/500) = 0.5; J3 max(4/8, 4/24, 80/500) = 0.5 (J3 arrived first) */
    order("DRF", &view, o);
    ASSERT_ORDER(o, 0, 1, 3, 2);
}

static void test_tetris(void **state)
{
    build();
    jobs[2].priority = 0;
    int o[4];
    /* remaining x (g/8 + cpu/24 + mem/500):
     * J0 120 x (0.125 + 0.0417 + 0.04) = 24.8; J1 39 x (0.25 + 0.333 + 0.25) = 32.5;
     * J3 110 x (0.5 + 0.1667 + 0.16) = 90.9; J2 6000 x (0.125 + 0.5 + 0.25) = 5250 */
    order("tetris", &view, o);
    ASSERT_ORDER(o, 0, 1, 3, 2);
}

/* SRTF outside fair mode divides the remaining time by the speedup, and here
 * that moves a job: J2 (alexnet, speedup 2.94) with 300 iterations left.
 * Fair:     J1 39, J3 110, J0 120, J2 0.6 x 300 = 180 s  -> 1, 3, 0, 2.
 * Not fair: J1 39/1.15 = 33.9, J2 180/2.94 = 61.2, J3 110, J0 120 -> 1, 2, 3, 0. */
static void test_srtf_speedup_moves_a_job_when_not_fair(void **state)
{
    build();
    jobs[2].priority = 0;
    jobs[2].executed = 9700;
    int o[4];
    order("SRTF", &view, o);
    ASSERT_ORDER(o, 1, 3, 0, 2);
    struct sched_view v = view;
    v.fair = false;
    order("SRTF", &v, o);
    ASSERT_ORDER(o, 1, 2, 3, 0);
}

/* TETRIS counts memory: give J0 400 GB (of 500). Without the memory term J0
 * would lead (120 x (1/8 + 1/24) = 20.0 < J1 39 x (2/8 + 8/24) = 22.75);
 * with it J0 weighs 120 x (0.125 + 0.0417 + 0.8) = 116.0, behind J1 32.5 and
 * J3 110 x (0.5 + 0.1667 + 0.16) = 90.9; J2 (5250) stays last. */
static void test_tetris_memory_moves_a_job(void **state)
{
    build();
    jobs[2].priority = 0;
    jobs[0].mem_demand = 400;
    int o[4];
    order("TETRIS", &view, o);
    ASSERT_ORDER(o, 1, 3, 0, 2);
    /* the same queue with J0 at 20 GB: J0 24.8 leads */
    jobs[0].mem_demand = 20;
    order("TETRIS", &view, o);
    ASSERT_ORDER(o, 0, 1, 3, 2);
}

static void test_srsf(void **state)
{
    build();
    jobs[2].priority = 0;
    int o[4];
    /* remaining x GPUs: J1 39 x 2 = 78, J0 120, J3 110 x 4 = 440, J2 6000 */
    order("SRSF", &view, o);
    ASSERT_ORDER(o, 1, 0, 3, 2);
}

static void test_registry(void **state)
{
    const char *names[] = {"FIFO", "SRTF", "LAS", "FTF", "DRF", "TETRIS", "SRSF"};
    size_t n = 0;
    while (sched_policies[n])
        n++;
    assert_int_equal(n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_ptr_equal(policy_find(names[i]), sched_policies[i]);
    assert_null(policy_find("fifo2"));
    assert_true(policy_find("las")->place_round_jobs_only);
    assert_false(policy_find("fifo")->place_round_jobs_only);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_is_arrival_order_ignoring_priority),
        cmocka_unit_test(test_srtf),
        cmocka_unit_test(test_las_ties_break_by_arrival),
        cmocka_unit_test(test_ftf),
        cmocka_unit_test(test_drf),
        cmocka_unit_test(test_tetris),
        cmocka_unit_test(test_srsf),
        cmocka_unit_test(test_srtf_speedup_moves_a_job_when_not_fair),
        cmocka_unit_test(test_tetris_memory_moves_a_job),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
