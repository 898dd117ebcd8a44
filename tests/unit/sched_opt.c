/*
 * Synergy-OPT on hand-built rounds: 2 servers, 1-8 jobs, throughput
 * matrices simple enough to find the optimum by hand (the reasoning is in
 * each test). Checks the chosen (CPU, memory) points, where each job lands,
 * every server's usage, and the progress credited for the round.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policies.h"
#include "scheduler_internal.h"

/* tput rows: CPUs per GPU {1,2,3,4,5,6,9,12,24}; columns: GB per GPU
 * {20.83,62.5,125,187.5,250}. Row 2 / column 1 is the fair share (3, 62.5). */
enum { R1, R2, R3, R4, R5, R6, R9, R12, R24 };
enum { C20, C62, C125, C187, C250 };

/* "A": CPU-hungry image model. Throughput by CPUs, flat in memory above
 * 20.83 GB (0.1 at 20.83 GB, like the real image models). */
static const double a_cpu[TPUT_ROWS] = {0.5, 0.8, 1.0, 1.5, 1.8, 2.0, 2.5, 3.0, 3.0};
/* "M": memory-hungry: by memory once it has 3 CPUs, 0.5 below that. */
static const double m_mem[TPUT_COLS] = {0.1, 1.0, 1.6, 2.0, 2.0};
/* "Q": a little slower below 3 CPUs, flat in memory. */
static const double q_cpu[TPUT_ROWS] = {0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};

static struct model_profile model_a, model_m, model_l, model_q;

static void profile_init(struct model_profile *m, const char *name)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->cpus = 3;
    m->mem = 62.5;
    m->speed = 62.5;
    m->batch = 512;
    m->placement_penalty = 1;
    m->speedup = 1;
    m->iter_time = 1.0; /* one iteration a second at tput 1: iters = 300 x tput */
    m->has_tput = true;
}

static void models_init(void)
{
    profile_init(&model_a, "A");
    profile_init(&model_m, "M");
    profile_init(&model_l, "L");
    profile_init(&model_q, "Q");
    for (int r = 0; r < TPUT_ROWS; r++)
        for (int c = 0; c < TPUT_COLS; c++) {
            model_a.tput[r][c] = c == C20 ? 0.1 : a_cpu[r];
            model_m.tput[r][c] = r >= R3 ? m_mem[c] : 0.5;
            model_l.tput[r][c] = 1.0; /* language model: insensitive */
            model_q.tput[r][c] = q_cpu[r];
        }
}

struct world {
    sched_t *s;
    struct job *jobs[16];
    int n;
};

static void world_init(struct world *w, int servers, int gpus, int cpus, int mem, bool compat,
                       double limit)
{
    models_init();
    struct sched_params p = {0};
    p.cluster = (struct cluster_config){.racks = 1, .servers_per_rack = servers, .gpus_per_server = gpus, .cpus_per_server = cpus, .dram_per_server = mem, .sspeed_per_server = (int)(62.5 * gpus), .net_per_server = 40};
    p.policy = policy_find("FIFO");
    p.mode = sched_mode_find("opt");
    p.placement = PLACEMENT_FIRST_FIT;
    p.round_duration = 300;
    p.starvation_s = 1000 * 3600.0;
    p.opt_compat = compat;
    p.opt_time_limit_s = limit;
    struct err err = {{0}};
    w->s = sched_create(&p, &err);
    assert_non_null(w->s);
    w->n = 0;
}

static struct job *world_add(struct world *w, const struct model_profile *m, int gpus)
{
    struct job_spec spec = {.id = w->n, .arrival = w->n, .iterations = 1000000, .gpus = gpus};
    snprintf(spec.model, sizeof spec.model, "%s", m->name);
    struct err err = {{0}};
    struct job *j = job_create(w->s, &spec, m, w->n, &err);
    assert_non_null(j);
    sched_job_add(w->s, j);
    w->jobs[w->n++] = j;
    return j;
}

static void world_free(struct world *w)
{
    for (int i = 0; i < w->n; i++)
        job_destroy(w->jobs[i]);
    sched_destroy(w->s);
}

static size_t world_round(struct world *w)
{
    struct job **placed;
    size_t n;
    sched_round(w->s, 100, &placed, &n);
    struct err err = {{0}};
    assert_int_equal(sched_round_error(w->s, &err), 0);
    assert_int_equal(sched_check_invariants(w->s, &err), 0);
    return n;
}

static int only_server(const struct job *j)
{
    assert_int_equal(j->n_shares, 1);
    return j->shares[0].server;
}

static void assert_point(const struct job *j, int row, int col)
{
    assert_int_equal(sched__priv(j)->opt_row, row);
    assert_int_equal(sched__priv(j)->opt_col, col);
}

/*
 * 2 servers x (4 GPUs, 12 CPUs, 250 GB): 24 CPUs, 500 GB in all.
 * Jobs: A1 (A, 2 GPUs), A2 (A, 1 GPU), L (L, 2 GPUs), M (M, 1 GPU).
 *
 * Stage 1. L is equally fast everywhere, so its only undominated point is
 * the smallest, (1 CPU, 20.83 GB): 2 CPUs, 41.66 GB. M has 3 CPUs and is
 * fastest at 187.5 GB (2.0; 250 GB is no faster). A gains only from CPUs, at
 * 62.5 GB. CPUs left for A1 (per GPU c1) and A2 (c2): 2 c1 + c2 <= 24-2-3 = 19.
 * f(c1)+f(c2) over the grid: (5,9) = 1.8+2.5 = 4.3; (6,6) = 4.0; (4,9) = 4.0;
 * (3,12) = 4.0; (4,12) and (5,12) exceed 19; (6,9) = 21 > 19. So the unique
 * optimum is A1 at 5 CPUs, A2 at 9 CPUs (total 1.8+2.5+2.0+1.0 = 7.3), using
 * all 24 CPUs and 41.66+3x62.5+187.5 = 416.7 GB.
 *
 * Stage 2. Per server 12 CPUs. A2 (9) cannot share a server with any GPU of
 * A1 (5 per GPU): 9+5 > 12. So A1 (10 CPUs) is whole on one server, and with
 * 2 CPUs left there only L (2 GPUs x 1 CPU) fits beside it; M (3 CPUs,
 * 187.5 GB) goes with A2: 12 CPUs, 62.5+187.5 = 250 GB, both exactly full.
 */
static void test_opt_points_and_packing(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, 4, 12, 250, false, 10);
    struct job *a1 = world_add(&w, &model_a, 2), *a2 = world_add(&w, &model_a, 1);
    struct job *l = world_add(&w, &model_l, 2), *m = world_add(&w, &model_m, 1);
    assert_int_equal(world_round(&w), 4);
    assert_point(a1, R5, C62);
    assert_point(a2, R9, C62);
    assert_point(l, R1, C20);
    assert_point(m, R3, C187);
    int sa1 = only_server(a1), sa2 = only_server(a2);
    assert_int_not_equal(sa1, sa2);
    assert_int_equal(only_server(l), sa1);
    assert_int_equal(only_server(m), sa2);
    assert_float_equal(a1->cpus, 10, 1e-9);
    assert_float_equal(m->mem, 187.5, 1e-9);
    for (int i = 0; i < 2; i++) {
        assert_float_equal(w.s->servers[i].used[RES_CPU], 12, 1e-9);
        assert_float_equal(w.s->servers[i].used[RES_GPU], i == sa1 ? 4 : 2, 1e-9);
    }
    assert_float_equal(w.s->servers[sa2].used[RES_MEM], 250, 1e-9);
    /* progress: 300 s at iter_time 1 / tput */
    assert_int_equal(sched_job_round_iters(w.s, a1), 540);
    assert_int_equal(sched_job_round_iters(w.s, a2), 750);
    assert_int_equal(sched_job_round_iters(w.s, l), 300);
    assert_int_equal(sched_job_round_iters(w.s, m), 600);
    struct sched_opt_stats st;
    sched_opt_stats(w.s, &st);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(st.capped, 0);
    assert_int_equal(st.lowered, 0);
    world_free(&w);
}

/*
 * The fair-share floor binds. 2 servers x (4 GPUs, 12 CPUs, 500 GB).
 * Jobs: A (1 GPU), then seven Q (1 GPU each): 8 GPUs, 24 CPUs.
 * Without the floor, Q at 1 CPU (0.9 each) would leave 17 CPUs and A would
 * take 12 (3.0): 7x0.9+3.0 = 9.3. With it, Q needs 3 CPUs for 1.0 (its
 * fair-share throughput); its cheapest such point is (3, 20.83). Seven Q use
 * 21 CPUs and A is left exactly 3: (3, 62.5) at 1.0. Sum 8.0.
 * Every server: 4 GPUs, 12 CPUs.
 */
static void test_opt_fair_share_floor(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, 4, 12, 500, false, 10);
    struct job *a = world_add(&w, &model_a, 1);
    for (int i = 0; i < 7; i++)
        world_add(&w, &model_q, 1);
    assert_int_equal(world_round(&w), 8);
    assert_point(a, R3, C62);
    for (int i = 1; i < 8; i++)
        assert_point(w.jobs[i], R3, C20);
    for (int i = 0; i < 2; i++) {
        assert_float_equal(w.s->servers[i].used[RES_CPU], 12, 1e-9);
        assert_float_equal(w.s->servers[i].used[RES_GPU], 4, 1e-9);
    }
    assert_int_equal(sched_job_round_iters(w.s, a), 300);
    world_free(&w);
}

/*
 * Per-server limits versus the reference's cluster-wide ones.
 * 2 servers x (2 GPUs, 6 CPUs, 500 GB); one A job on 1 GPU.
 * --opt-compat: the cluster has 12 CPUs, so A takes (12, 62.5) at 3.0, and
 * the LP must spread it half and half (6 CPUs per server, the only solution):
 * two shares of 0.5 GPU, 6 CPUs. Progress ignores that: 300 x 3.0 = 900.
 * Default: a GPU's CPUs must come from its own server, so 12 CPUs per GPU is
 * not offered; A takes (6, 62.5) at 2.0 on one server: 600 iterations.
 */
static void test_opt_compat_is_cluster_wide(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, 2, 6, 500, true, 10);
    struct job *a = world_add(&w, &model_a, 1);
    assert_int_equal(world_round(&w), 1);
    assert_point(a, R12, C62);
    assert_int_equal(a->n_shares, 2);
    for (int i = 0; i < 2; i++) {
        assert_float_equal(a->shares[i].gpu, 0.5, 1e-9);
        assert_float_equal(a->shares[i].cpu, 6, 1e-9);
    }
    assert_int_equal(sched_job_round_iters(w.s, a), 900);
    world_free(&w);

    world_init(&w, 2, 2, 6, 500, false, 10);
    a = world_add(&w, &model_a, 1);
    assert_int_equal(world_round(&w), 1);
    assert_point(a, R6, C62);
    assert_int_equal(a->n_shares, 1);
    assert_float_equal(a->cpus, 6, 1e-9);
    assert_int_equal(sched_job_round_iters(w.s, a), 600);
    world_free(&w);
}

/*
 * A round whose time limit is already spent runs TUNE instead: the jobs are
 * placed by Tune (no OPT point; A gets its ideal demand, 3 CPUs x 2 GPUs, and
 * Tune's speedup 1), and the fallback is counted. I's ideal is not its fair
 * share (6 CPUs per GPU, speedup 2), so this is Tune and not Fair: A takes
 * GPUs 0-1 (6 CPUs) and L GPU 2 (3 CPUs) of server 0, which has 3 CPUs left,
 * so I's ideal 6 CPUs only fit on server 1: GPU 4, and it runs twice as fast,
 * 300 / (1.0 / 2) = 600 iterations. (Fair would put I on GPU 3 with 3 CPUs
 * at 300 iterations.)
 */
static void test_opt_time_limit_falls_back_to_tune(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, 4, 12, 250, false, 1e-12);
    struct model_profile model_i;
    profile_init(&model_i, "I");
    model_i.cpus = 6;
    model_i.speedup = 2;
    for (int r = 0; r < TPUT_ROWS; r++)
        for (int c = 0; c < TPUT_COLS; c++)
            model_i.tput[r][c] = a_cpu[r];
    struct job *a = world_add(&w, &model_a, 2);
    struct job *l = world_add(&w, &model_l, 1);
    struct job *i = world_add(&w, &model_i, 1);
    assert_int_equal(world_round(&w), 3);
    assert_int_equal(sched__priv(a)->opt_row, -1);
    assert_float_equal(sched__priv(a)->opt_tput, 0, 0);
    assert_float_equal(a->cpus, 6, 1e-9);
    assert_int_equal(l->n_alloc, 1);
    assert_int_equal(l->alloc_gpus[0], 2);
    assert_int_equal(sched_job_round_iters(w.s, a), 300);
    assert_int_equal(sched__priv(i)->opt_row, -1);
    assert_int_equal(i->n_alloc, 1);
    assert_int_equal(i->alloc_gpus[0], 4);
    assert_float_equal(i->cpus, 6, 1e-9);
    assert_false(i->run_fair);
    assert_int_equal(sched_job_round_iters(w.s, i), 600);
    struct sched_opt_stats st;
    sched_opt_stats(w.s, &st);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.capped, 1); /* the wall clock, not a work budget: counted apart */
    world_free(&w);
}

/*
 * First fit decreasing fails where an exact packing exists, and the packing
 * MILP finds it within its node budget. 2 servers x (4 GPUs, 10 CPUs,
 * 500 GB); the fair share is (2 CPUs, 125 GB) per GPU. Jobs (1 GPU each):
 * two X, fastest from 4 CPUs (1.5; 1.0 at 3, 0.8 at 2), and four Q (1.0 from
 * 3 CPUs, 0.95 at 2), both flat in memory.
 * Stage 1 has 20 CPUs: X at 4 and Q at 3 is 2 x 1.5 + 4 x 1.0 = 7.0 and uses
 * exactly 20; every other choice is slower. So CPU demands 4, 4, 3, 3, 3, 3.
 * FFD (largest first, best fit) puts both X on server 0 (2 CPUs left), then
 * three Q on server 1 (1 left): the fourth Q fits nowhere. The only packing
 * is {X, Q, Q} on each server, 10 CPUs each, and no job is lowered.
 */
static void test_opt_packing_milp_finds_what_ffd_misses(void **state)
{
    (void)state;
    static const double x_cpu[TPUT_ROWS] = {0.5, 0.8, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5};
    static const double q2_cpu[TPUT_ROWS] = {0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
    struct model_profile model_x, model_q2;
    profile_init(&model_x, "X");
    profile_init(&model_q2, "Q2");
    for (int r = 0; r < TPUT_ROWS; r++)
        for (int c = 0; c < TPUT_COLS; c++) {
            model_x.tput[r][c] = x_cpu[r];
            model_q2.tput[r][c] = q2_cpu[r];
        }
    struct world w;
    world_init(&w, 2, 4, 10, 500, false, 10);
    struct job *x1 = world_add(&w, &model_x, 1), *x2 = world_add(&w, &model_x, 1);
    for (int i = 0; i < 4; i++)
        world_add(&w, &model_q2, 1);
    assert_int_equal(world_round(&w), 6);
    assert_point(x1, R4, C20);
    assert_point(x2, R4, C20);
    for (int i = 2; i < 6; i++)
        assert_point(w.jobs[i], R3, C20);
    assert_int_not_equal(only_server(x1), only_server(x2));
    for (int i = 0; i < 2; i++) {
        assert_float_equal(w.s->servers[i].used[RES_CPU], 10, 1e-9);
        assert_float_equal(w.s->servers[i].used[RES_GPU], 3, 1e-9);
    }
    struct sched_opt_stats st;
    sched_opt_stats(w.s, &st);
    assert_int_equal(st.packed, 1);
    assert_int_equal(st.lowered, 0);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(st.capped, 0);
    world_free(&w);
}

/*
 * The GPU-count walk decides who runs; OPT only shapes them. 2 servers x
 * (2 GPUs, 6 CPUs, 500 GB), jobs in FIFO order: A (2 GPUs), A (2 GPUs),
 * L (1 GPU). Only the first two fit by GPU count. Stage 1 has 12 CPUs for
 * 4 GPUs: both A at 3 CPUs per GPU (fair, 1.0) is the only choice with both
 * at or above their fair share. Each fills one server (2 GPUs, 6 CPUs); L
 * waits: no GPU is left.
 */
static void test_opt_runs_only_walked_jobs(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, 2, 6, 500, false, 10);
    struct job *a1 = world_add(&w, &model_a, 2), *a2 = world_add(&w, &model_a, 2);
    struct job *l = world_add(&w, &model_l, 1);
    assert_int_equal(world_round(&w), 2);
    assert_point(a1, R3, C62);
    assert_point(a2, R3, C62);
    assert_int_equal(l->n_alloc, 0);
    assert_int_not_equal(only_server(a1), only_server(a2));
    world_free(&w);
}

/*
 * The two stages are not jointly optimal (docs/opt.md, "Known limits"); the
 * rounding still places everyone within every server.
 * 2 servers x (4 GPUs, 12 CPUs, 500 GB); B (1 GPU), A (1 GPU), six L (1 GPU).
 * B is like A but faster at 12 CPUs: 1.3/1.6/2.0/2.2/3.5 at 4/5/6/9/12.
 * Stage 1: the L take 1 CPU each (6); B and A share 18: (12, 6) = 3.5+2.0 =
 * 5.5 beats (6, 12) = 5.0 and (9, 9) = 4.7, so B 12, A 6.
 * No server packing exists for that: B's server has no CPU left for its
 * other 3 GPUs, and the other server takes A and only 3 L. So the rounding
 * must lower someone (lowered >= 1).
 * The best any per-server allocation can do for B + A: on separate servers
 * each shares 12 CPUs with 3 L, so at most 9 each: 2.2 + 2.5 = 4.7; together
 * on one server, c_B + c_A <= 10: at most 2.0+1.5 or 1.6+1.8 = 3.5. So B + A
 * <= 4.7 < 5.5, and all 8 jobs still run (the last resort lowers to the fair
 * point, where everything fits), every L at (1, 20.83).
 */
static void test_opt_rounding_lowers_when_points_do_not_pack(void **state)
{
    (void)state;
    static const double b_cpu[TPUT_ROWS] = {0.5, 0.8, 1.0, 1.3, 1.6, 2.0, 2.2, 3.5, 3.5};
    struct world w;
    world_init(&w, 2, 4, 12, 500, false, 10);
    struct model_profile model_b = model_a;
    snprintf(model_b.name, sizeof model_b.name, "B");
    for (int r = 0; r < TPUT_ROWS; r++)
        for (int c = C62; c < TPUT_COLS; c++)
            model_b.tput[r][c] = b_cpu[r];
    struct job *b = world_add(&w, &model_b, 1), *a = world_add(&w, &model_a, 1);
    for (int i = 0; i < 6; i++)
        world_add(&w, &model_l, 1);
    assert_int_equal(world_round(&w), 8);
    for (int i = 2; i < 8; i++)
        assert_point(w.jobs[i], R1, C20);
    assert_true(sched__priv(b)->opt_tput + sched__priv(a)->opt_tput <= 4.7 + 1e-9);
    struct sched_opt_stats st;
    sched_opt_stats(w.s, &st);
    assert_true(st.lowered >= 1);
    assert_int_equal(st.unplaced, 0);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opt_points_and_packing),
        cmocka_unit_test(test_opt_fair_share_floor),
        cmocka_unit_test(test_opt_compat_is_cluster_wide),
        cmocka_unit_test(test_opt_time_limit_falls_back_to_tune),
        cmocka_unit_test(test_opt_packing_milp_finds_what_ffd_misses),
        cmocka_unit_test(test_opt_runs_only_walked_jobs),
        cmocka_unit_test(test_opt_rounding_lowers_when_points_do_not_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
