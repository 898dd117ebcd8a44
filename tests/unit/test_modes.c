/* Unit tests: the allocation mechanisms and the round skeleton on hand-built
 * clusters. Every expected placement is worked out by hand in the comments,
 * from the profiles in configs/models.ini (cpus/mem per GPU, speedup). */
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
static sched_t *s;
static struct job *jobs[8];
static int n_jobs;

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

static void make(int servers, int gpus, int cpus, int mem, int sspeed, const char *policy,
                 const char *mode)
{
    struct sched_params p = {0};
    cluster_config_defaults(&p.cluster);
    p.cluster.servers_per_rack = servers;
    p.cluster.gpus_per_server = gpus;
    p.cluster.cpus_per_server = cpus;
    p.cluster.dram_per_server = mem;
    p.cluster.sspeed_per_server = sspeed;
    p.policy = policy_find(policy);
    p.mode = sched_mode_find(mode);
    p.round_duration = 300;
    p.starvation_s = 1000 * 3600.0;
    struct err err;
    s = sched_create(&p, &err);
    assert_non_null(s);
    n_jobs = 0;
}

static struct job *add(const char *model, int gpus, double arrival)
{
    struct job_spec spec = {.id = n_jobs, .arrival = arrival, .iterations = 1000000, .gpus = gpus};
    snprintf(spec.model, sizeof spec.model, "%s", model);
    struct err err;
    struct job *j = job_create(s, &spec, model_zoo_find(zoo, model), n_jobs, &err);
    assert_non_null(j);
    sched_job_add(s, j);
    jobs[n_jobs++] = j;
    return j;
}

static void done(void)
{
    for (int i = 0; i < n_jobs; i++)
        job_destroy(jobs[i]);
    sched_destroy(s);
}

static size_t round_at(double now, struct job ***placed)
{
    size_t n;
    sched_round(s, now, placed, &n);
    struct err err;
    assert_int_equal(sched_check_invariants(s, &err), 0);
    return n;
}

/* Fair: 2 servers x 4 GPUs (12 CPU, 250 GB: 3 CPU, 62.5 GB per GPU). J0 takes
 * GPUs 0-1, J1 (4 GPUs) takes 2,3 on server 0 and 4,5 on server 1, J2 takes
 * 6-7, and J3 finds no GPU. */
static void test_fair_first_fit_spans_servers(void **state)
{
    make(2, 4, 12, 250, 250, "FIFO", "fair");
    add("res50", 2, 0);
    add("alexnet", 4, 1);
    add("gnmt", 2, 2);
    add("lstm", 1, 3);
    struct job **placed;
    assert_int_equal(round_at(0, &placed), 3);
    assert_int_equal(jobs[0]->alloc_gpus[0], 0);
    assert_int_equal(jobs[0]->alloc_gpus[1], 1);
    int want1[] = {2, 3, 4, 5};
    for (int k = 0; k < 4; k++)
        assert_int_equal(jobs[1]->alloc_gpus[k], want1[k]);
    assert_int_equal(jobs[1]->n_shares, 2);
    assert_true(jobs[1]->shares[0].server == 0 && jobs[1]->shares[0].gpu == 2 &&
                jobs[1]->shares[0].cpu == 6 && jobs[1]->shares[0].mem == 125);
    assert_true(jobs[1]->shares[1].server == 1 && jobs[1]->shares[1].cpu == 6);
    assert_int_equal(jobs[2]->alloc_gpus[0], 6);
    assert_int_equal(jobs[3]->n_alloc, 0);
    /* fair mode: plain iteration time, alexnet 300/0.6 = 500 iterations a round */
    assert_true(jobs[1]->run_fair);
    assert_int_equal(sched_job_round_iters(s, jobs[1]), 500);
    done();
}

/* Greedy: 1 server, 4 GPUs, 12 CPUs, 250 GB. res18 takes its ideal 9 CPUs;
 * alexnet needs 12 and is skipped although a GPU is free; gnmt needs 1 CPU and
 * fits. res18 runs 2.4x faster: 300 / (0.64 / 2.4) = 1125 iterations. */
static void test_greedy_ideal_or_skip(void **state)
{
    make(1, 4, 12, 250, 250, "FIFO", "greedy");
    add("res18", 1, 0);
    add("alexnet", 1, 1);
    add("gnmt", 1, 2);
    struct job **placed;
    assert_int_equal(round_at(0, &placed), 2);
    assert_ptr_equal(placed[0], jobs[0]);
    assert_ptr_equal(placed[1], jobs[2]);
    assert_true(jobs[0]->cpus == 9 && jobs[0]->mem == 62.5);
    assert_int_equal(jobs[1]->n_alloc, 0);
    assert_int_equal(sched_job_round_iters(s, jobs[0]), 1125);
    done();
}

/* Tune, same cluster and jobs. res18 gets 9 CPUs. alexnet does not fit at 12,
 * drops to the fair share (3 CPU, 62.5 GB, speedup 1) and fits. gnmt needs 1
 * CPU, none is left even at its ideal (below fair), so peers are adjusted on
 * server 0: need = (0,1,0,0,0); peers sorted by -cpu/gpu: res18 (-9) first;
 * its excess over fair is 6 CPUs >= 1, so res18 alone is shrunk to 3 CPUs and
 * runs at fair speed (468 iterations = floor(300/0.64)); then gnmt fits. */
static void test_tune_shrinks_peer(void **state)
{
    make(1, 4, 12, 250, 250, "FIFO", "tune");
    add("res18", 1, 0);
    add("alexnet", 1, 1);
    add("gnmt", 1, 2);
    struct job **placed;
    assert_int_equal(round_at(0, &placed), 3);
    assert_true(jobs[0]->cpus == 3 && jobs[0]->run_fair);
    assert_int_equal(sched_job_round_iters(s, jobs[0]), 468);
    assert_true(jobs[1]->cpus == 3 && jobs[1]->mem == 62.5 && jobs[1]->speedup == 1);
    assert_false(jobs[1]->run_fair);
    assert_int_equal(sched_job_round_iters(s, jobs[1]), 500);
    assert_true(jobs[2]->cpus == 1 && jobs[2]->mem == 20);
    assert_int_equal(sched_job_round_iters(s, jobs[2]), 2500);
    /* next round: the speedups are reset before placement */
    for (int i = 0; i < 3; i++)
        sched_job_release(s, jobs[i]);
    round_at(300, &placed);
    assert_true(jobs[0]->cpus == 3); /* res18 placed first again, then shrunk again */
    done();
}

/* LAS places only the jobs chosen by the GPU-count walk; FIFO backfills.
 * 1 server, 4 GPUs, 24 CPUs, 250 GB, greedy. Walk: m5 (1), alexnet x2 (2),
 * gnmt (1) fill the 4 GPUs; the second gnmt is not chosen. m5 takes 187.5 GB,
 * so alexnet (250 GB) is skipped. LAS then places m5 and gnmt only; FIFO also
 * gives the idle GPU to the second gnmt. */
static void test_las_no_backfill_fifo_backfills(void **state)
{
    const char *pol[] = {"LAS", "FIFO"};
    size_t want[] = {2, 3};
    for (int p = 0; p < 2; p++) {
        make(1, 4, 24, 250, 250, pol[p], "greedy");
        add("m5", 1, 0);
        add("alexnet", 2, 1);
        add("gnmt", 1, 2);
        add("gnmt", 1, 3);
        struct job **placed;
        assert_int_equal(round_at(0, &placed), want[p]);
        assert_int_equal(jobs[1]->n_alloc, 0);
        assert_int_equal(jobs[3]->n_alloc, p == 1 ? 1 : 0);
        done();
    }
}

/* Capped demands (spec §3.6 on 8 GPU / 24 CPU / 500 GB servers): alexnet x4
 * wants 48 CPUs and 500 GB: CPU capped to 24, speedup 1 + 1.94/36 x 12;
 * 16-GPU jobs get the per-GPU fair share and speedup 1; m5 x4 is capped on
 * memory only and keeps its speedup. */
static void test_demand_caps(void **state)
{
    make(4, 8, 24, 500, 500, "FIFO", "fair");
    struct job *a = add("alexnet", 4, 0);
    assert_true(a->cpu_demand == 24 && a->mem_demand == 500);
    assert_float_equal(a->speedup_orig, 1 + 1.94 / 36 * 12, 1e-12);
    struct job *b = add("res18", 16, 0);
    assert_true(b->cpu_demand == 48 && b->speedup_orig == 1);
    struct job *c = add("m5", 4, 0);
    assert_true(c->mem_demand == 500 && c->speedup_orig == 2.5);
    done();
}

/* A job that has not run for more than 1000 hours gets priority 1. */
static void test_starvation_bump(void **state)
{
    make(1, 1, 3, 62, 62, "SRTF", "fair");
    struct job *a = add("gnmt", 1, 0);
    struct job *b = add("gnmt", 1, 10);
    struct job **placed;
    round_at(1000 * 3600.0, &placed);
    assert_int_equal(a->priority, 0); /* exactly 1000 h: not more */
    assert_int_equal(b->priority, 0);
    sched_job_release(s, placed[0]);
    round_at(1000 * 3600.0 + 5, &placed);
    assert_int_equal(a->priority, 1);
    done();
}

/* The starvation clock runs from the end of the job's last lease, and from
 * its arrival only before it first ran. 1 GPU, threshold 1000 h. J0 arrived
 * at 0 and last ran until 500 h; J1 arrived at 10 s and never ran.
 * At 1000 h + 20 s: J1 waited 1000 h + 10 s (bumped); J0 has waited 500 h + 20 s
 * since its last run (not bumped, although it arrived 1000 h + 20 s ago).
 * At 1500 h + 5 s: J0 has waited 1000 h + 5 s since its last run (bumped).
 *
 * Who gets the one GPU: the first job in SRTF's order (-priority, remaining
 * time, arrival). Both have 1e6 iterations left (no progress is credited
 * here, and last_exec stays as set), so between equal priorities J0 leads on
 * arrival. A round sorts before it bumps (as the reference does), so a bump
 * decides the next round:
 *   1000 h + 20 s  J0 (no one bumped yet); then J1 is bumped
 *   1500 h         J1 (priority 1)
 *   1500 h + 5 s   J1; then J0 is bumped
 *   1500 h + 10 s  J0 (both priority 1, J0 arrived first)
 * With no bump J0 would run every round; with the clock counting from
 * arrival both would be bumped after the first round and J0 would run in
 * all four. Run in fair mode (the incremental queue's bump, queue.c) and in
 * opt mode (the legacy walk's bump, sched.c): both copies must agree. */
static void test_starvation_counts_from_last_run(void **state)
{
    const double h = 3600.0;
    const char *mode[] = {"fair", "opt"};
    const double t[] = {1000 * h + 20, 1500 * h, 1500 * h + 5, 1500 * h + 10};
    const int want_run[] = {0, 1, 1, 0};
    const int want_a_prio[] = {0, 0, 1, 1};
    for (int m = 0; m < 2; m++) {
        make(1, 1, 3, 62, 62, "SRTF", mode[m]);
        struct job *a = add("gnmt", 1, 0);
        add("gnmt", 1, 10);
        a->last_exec = 500 * h;
        for (int r = 0; r < 4; r++) {
            struct job **placed;
            size_t n = round_at(t[r], &placed);
            assert_int_equal(n, 1);
            assert_ptr_equal(placed[0], jobs[want_run[r]]);
            assert_int_equal(a->priority, want_a_prio[r]);
            assert_int_equal(jobs[1]->priority, 1);
            sched_job_release(s, placed[0]);
        }
        done();
    }
}

/* LAS under tune places the walked jobs largest deficit first (the reference's
 * re-sort, las_synergy_new.py:63-66). 2 servers x 4 GPUs; J0 gnmt x1 (arrival
 * 0) leads LAS's order, J1 gnmt x4 (arrival 1) follows. Re-sorted, J1 is
 * placed first and takes GPUs 0-3 of server 0, and J0 takes GPU 4. In LAS's
 * own order J0 would take GPU 0 and J1 GPUs 1-4 across both servers. Under
 * greedy there is no re-sort: that is exactly what happens. */
static void test_las_tune_places_largest_deficit_first(void **state)
{
    const char *mode[] = {"tune", "greedy"};
    for (int m = 0; m < 2; m++) {
        make(2, 4, 12, 250, 250, "LAS", mode[m]);
        struct job *small = add("gnmt", 1, 0);
        struct job *big = add("gnmt", 4, 1);
        struct job **placed;
        assert_int_equal(round_at(0, &placed), 2);
        if (m == 0) {
            assert_ptr_equal(placed[0], big);
            assert_ptr_equal(placed[1], small);
            for (int k = 0; k < 4; k++)
                assert_int_equal(big->alloc_gpus[k], k);
            assert_int_equal(big->n_shares, 1);
            assert_int_equal(small->alloc_gpus[0], 4);
        } else {
            assert_ptr_equal(placed[0], small);
            assert_int_equal(small->alloc_gpus[0], 0);
            for (int k = 0; k < 4; k++)
                assert_int_equal(big->alloc_gpus[k], k + 1);
            assert_int_equal(big->n_shares, 2);
        }
        done();
    }
}

/* TETRIS's memory term decides who gets the only GPU. 1 server: 1 GPU,
 * 24 CPUs, 500 GB; fair mode; both jobs have 1920 s left (m5 3200 x 0.6,
 * res18 3000 x 0.64). Weighted demand, 1920 x (g/1 + cpu/24 + mem/500):
 * m5 (6 CPUs, 187.5 GB) 1 + 0.25 + 0.375 = 1.625; res18 (9, 62.5) 1 + 0.375
 * + 0.125 = 1.5. res18 runs; without the memory term m5 (1.25 < 1.375) would. */
static void test_tetris_memory_picks_the_job(void **state)
{
    make(1, 1, 24, 500, 500, "TETRIS", "fair");
    struct job *m5 = add("m5", 1, 0);
    struct job *res18 = add("res18", 1, 1);
    m5->total_iters = 3200;
    res18->total_iters = 3000;
    struct job **placed;
    assert_int_equal(round_at(0, &placed), 1);
    assert_ptr_equal(placed[0], res18);
    assert_int_equal(m5->n_alloc, 0);
    done();
}

/* Tune's fair share is exactly the per-GPU slice: memory below it is raised,
 * not kept (reference _make_fair_share). 1 server: 4 GPUs, 12 CPUs, 500 GB,
 * so the slice is 3 CPUs and 125 GB. alexnet takes its ideal 12 CPUs and
 * 125 GB. res18 (ideal 9 CPUs, 62.5 GB) finds no CPU: it drops to the fair
 * share (3 CPUs, 125 GB: memory raised), still finds no CPU, so alexnet (9
 * CPUs above its share) is shrunk to 3 CPUs, 125 GB, and res18 is placed at
 * 3 CPUs and 125 GB. */
static void test_tune_fair_share_raises_memory(void **state)
{
    make(1, 4, 12, 500, 500, "FIFO", "tune");
    struct job *alex = add("alexnet", 1, 0);
    struct job *res18 = add("res18", 1, 1);
    struct job **placed;
    assert_int_equal(round_at(0, &placed), 2);
    assert_float_equal(alex->cpus, 3, 1e-9);
    assert_float_equal(alex->mem, 125, 1e-9);
    assert_true(alex->run_fair);
    assert_float_equal(res18->cpus, 3, 1e-9);
    assert_float_equal(res18->mem, 125, 1e-9);
    assert_float_equal(res18->speedup, 1, 0);
    done();
}

static void test_mode_registry(void **state)
{
    assert_non_null(sched_mode_find("TUNE"));
    assert_non_null(sched_mode_find("Fair"));
    assert_null(sched_mode_find("fast"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_first_fit_spans_servers),
        cmocka_unit_test(test_greedy_ideal_or_skip),
        cmocka_unit_test(test_tune_shrinks_peer),
        cmocka_unit_test(test_las_no_backfill_fifo_backfills),
        cmocka_unit_test(test_demand_caps),
        cmocka_unit_test(test_starvation_bump),
        cmocka_unit_test(test_starvation_counts_from_last_run),
        cmocka_unit_test(test_las_tune_places_largest_deficit_first),
        cmocka_unit_test(test_tetris_memory_picks_the_job),
        cmocka_unit_test(test_tune_fair_share_raises_memory),
        cmocka_unit_test(test_mode_registry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
