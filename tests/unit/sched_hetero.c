/*
 * Clusters whose servers differ (docs/heterogeneous.md), on hand-built
 * rounds: the server table of groups with 2, 4 and 8 GPUs per server, the
 * GPU types a job may not use, and TUNE asking for more CPUs on the GPU type
 * whose profile needs them. Every expected number is worked out by hand in
 * the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policies.h"
#include "scheduler_internal.h"

static struct server_group group(const char *name, const char *type, int count, int gpus,
                                 int cpus, int mem)
{
    struct server_group g = {.count = count, .gpus = gpus, .cpus = cpus, .dram_gb = mem,
                             .sspeed = (int)(62.5 * gpus + 0.5), .net = 40, .rack = -1};
    snprintf(g.name, sizeof g.name, "%s", name);
    snprintf(g.gpu_type, sizeof g.gpu_type, "%s", type);
    return g;
}

/* [gpu_types] of the next make() */
static struct gpu_type_def speeds[4];
static int n_speeds;

static void set_speeds(const char *a, double sa, const char *b, double sb, const char *c,
                       double sc)
{
    memset(speeds, 0, sizeof speeds);
    snprintf(speeds[0].name, sizeof speeds[0].name, "%s", a);
    snprintf(speeds[1].name, sizeof speeds[1].name, "%s", b);
    snprintf(speeds[2].name, sizeof speeds[2].name, "%s", c);
    speeds[0].speed = sa;
    speeds[1].speed = sb;
    speeds[2].speed = sc;
    n_speeds = 3;
}

static sched_t *make(const struct server_group *g, int ng, const char *mode,
                     enum sched_hetero hetero)
{
    struct sched_params p = {0};
    cluster_config_defaults(&p.cluster);
    p.cluster.n_groups = ng;
    memcpy(p.cluster.groups, g, sizeof *g * (size_t)ng);
    p.cluster.n_speeds = n_speeds;
    memcpy(p.cluster.speeds, speeds, sizeof speeds);
    p.policy = policy_find("FIFO");
    p.mode = sched_mode_find(mode);
    p.round_duration = 300;
    p.starvation_s = 1000 * 3600.0;
    p.hetero = hetero;
    struct err err = {{0}};
    sched_t *s = sched_create(&p, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static struct model_profile plain(const char *name, double cpus)
{
    struct model_profile m = {.cpus = cpus, .mem = 62.5, .speed = 62.5, .batch = 512,
                              .placement_penalty = 1, .speedup = 1, .iter_time = 1,
                              .task = TASK_NONE};
    snprintf(m.name, sizeof m.name, "%s", name);
    return m;
}

static struct job *add(sched_t *s, const struct model_profile *m, int id, int gpus,
                       const char *types)
{
    struct job_spec spec = {.id = id, .arrival = id, .iterations = 100000, .gpus = gpus};
    snprintf(spec.model, sizeof spec.model, "%s", m->name);
    snprintf(spec.gpu_types, sizeof spec.gpu_types, "%s", types);
    struct err err = {{0}};
    struct job *j = job_create(s, &spec, m, id, &err);
    if (!j)
        fail_msg("%s", err.msg);
    sched_job_add(s, j);
    return j;
}

static size_t round_at(sched_t *s, double now)
{
    struct job **placed;
    size_t n;
    sched_round(s, now, &placed, &n);
    struct err err = {{0}};
    assert_int_equal(sched_check_invariants(s, &err), 0);
    return n;
}

/* Each placed GPU lies in its share's server, and each share's GPU count is
 * the number of the job's GPUs on that server. */
static void assert_shares_match(const sched_t *s, const struct job *j)
{
    for (int i = 0; i < j->n_shares; i++) {
        const struct server_spec *sp = sched_server(s, j->shares[i].server);
        int n = 0;
        for (int k = 0; k < j->n_alloc; k++)
            if (j->alloc_gpus[k] >= sp->first_gpu && j->alloc_gpus[k] < sp->first_gpu + sp->gpus)
                n++;
        assert_int_equal(n, (int)j->shares[i].gpu);
    }
    for (int k = 0; k < j->n_alloc; k++) {
        int sv = sched_gpu_server(s, j->alloc_gpus[k]);
        bool listed = false;
        for (int i = 0; i < j->n_shares; i++)
            listed |= j->shares[i].server == sv;
        assert_true(listed);
    }
}

/*
 * Groups of 3 servers x 2 GPUs, 2 x 4 and 2 x 8 (30 GPUs, 7 servers), untyped:
 * GPUs 0-5 are servers 0-2 (two each), 6-13 servers 3-4, 14-29 servers 5-6.
 * The per-GPU fair share is the smallest server's: 2-GPU servers with 4 CPUs
 * give 2 CPUs a GPU; the others 24/4 = 6 and 48/8 = 6. So fair jobs ask 2 CPUs
 * per GPU and every GPU can be used.
 * FIFO/fair, jobs of 3, 5, 8, 1, 13 GPUs in that order, all placed (30 GPUs):
 * J0 gets 0-2 (servers 0, 0, 1), J1 3-7 (1, 2, 2, 3, 3), J2 8-15 (3, 3, 4, 4,
 * 4, 4, 5, 5), J3 16 (5), J4 17-29 (5 x 6, 6 x 8, ... ): 6 on server 5, 8 on 6
 * is 14 > 13: 17-21 on 5 (five), 22-29 on 6 (eight).
 */
static void test_server_of_every_gpu(void **state)
{
    (void)state;
    struct server_group g[] = {group("two", "", 3, 2, 4, 125), group("four", "", 2, 4, 24, 250),
                               group("eight", "", 2, 8, 48, 500)};
    sched_t *s = make(g, 3, "fair", HETERO_DEFAULT);
    assert_int_equal(sched_num_servers(s), 7);
    assert_int_equal(sched_total_gpus(s), 30);
    int expect[31] = {0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
                      6, 6, 6, 6, 6, 6, 6, 6, -1};
    for (int gpu = 0; gpu <= 30; gpu++)
        assert_int_equal(sched_gpu_server(s, gpu), expect[gpu]);
    assert_int_equal(sched_gpu_server(s, -1), -1);
    assert_true(sched_server_cap(s, 2, RES_CPU) == 4 && sched_server_cap(s, 3, RES_CPU) == 24);
    assert_true(sched_server_cap(s, 6, RES_GPU) == 8 && sched_server_cap(s, 6, RES_MEM) == 500);
    assert_int_equal(sched_server(s, 5)->first_gpu, 14);
    assert_int_equal(sched_server(s, 4)->group, 1);
    double tot[3];
    sched_cluster_totals(s, tot);
    assert_true(tot[0] == 30 && tot[1] == 3 * 4 + 2 * 24 + 2 * 48 && tot[2] == 1875);

    struct model_profile m = plain("X", 1);
    int gpus[] = {3, 5, 8, 1, 13};
    struct job *j[5];
    for (int i = 0; i < 5; i++)
        j[i] = add(s, &m, i, gpus[i], "");
    assert_int_equal(round_at(s, 0), 5);
    int first[] = {0, 3, 8, 16, 17};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(j[i]->n_alloc, gpus[i]);
        for (int k = 0; k < gpus[i]; k++)
            assert_int_equal(j[i]->alloc_gpus[k], first[i] + k);
        assert_shares_match(s, j[i]);
        /* 2 CPUs per GPU wherever it lands */
        assert_true(j[i]->cpus == 2.0 * gpus[i]);
    }
    assert_int_equal(j[4]->n_shares, 2);
    assert_true(j[4]->shares[0].server == 5 && j[4]->shares[0].gpu == 5);
    assert_true(j[4]->shares[1].server == 6 && j[4]->shares[1].gpu == 8);
    for (int i = 0; i < 5; i++)
        job_destroy(j[i]);
    sched_destroy(s);
}

/*
 * The same groups as GPU types (two: A, four: B, eight: C), TUNE, aware:
 * jobs may not span types, so a 13-GPU job fits only on C (16 GPUs), and the
 * placement still maps every GPU to its server. The types keep the groups'
 * order: A = GPUs 0-5, B = 6-13, C = 14-29.
 */
static void test_server_of_every_gpu_typed(void **state)
{
    (void)state;
    struct server_group g[] = {group("two", "A", 3, 2, 4, 125), group("four", "B", 2, 4, 24, 250),
                               group("eight", "C", 2, 8, 48, 500)};
    set_speeds("A", 1, "B", 1, "C", 1);
    for (int h = 0; h < 2; h++) {
        sched_t *s = make(g, 3, "tune", h ? HETERO_AGNOSTIC : HETERO_AWARE);
        assert_int_equal(sched_num_gpu_types(s), 3);
        assert_string_equal(sched_gpu_type_name(s, 2), "C");
        assert_int_equal(sched_type_gpus(s, 1), 8);
        struct model_profile m = plain("X", 1);
        int gpus[] = {13, 3, 8, 2};
        struct job *j[4];
        for (int i = 0; i < 4; i++)
            j[i] = add(s, &m, i, gpus[i], "");
        round_at(s, 0);
        for (int i = 0; i < 4; i++) {
            if (j[i]->n_alloc == 0)
                continue;
            assert_shares_match(s, j[i]);
            if (h == 0) /* aware: one type per job */
                for (int k = 1; k < j[i]->n_alloc; k++)
                    assert_int_equal(sched_server(s, sched_gpu_server(s, j[i]->alloc_gpus[k]))->gpu_type,
                                     sched_server(s, sched_gpu_server(s, j[i]->alloc_gpus[0]))->gpu_type);
        }
        if (h == 0) {
            /* every type runs X at the same rate: ties go in type order. J0
             * (13) fits only C: 14-26. J1 (3) on A: 0-2. J2 (8) on B: 6-13.
             * J3 (2): A has 3 free (3-5): 3, 4. */
            assert_int_equal(j[0]->alloc_gpus[0], 14);
            assert_int_equal(j[0]->alloc_gpus[12], 26);
            assert_int_equal(j[1]->alloc_gpus[0], 0);
            assert_int_equal(j[2]->alloc_gpus[0], 6);
            assert_int_equal(j[3]->alloc_gpus[0], 3);
            assert_int_equal(sched_job_gpu_type(j[0]), 2);
        } else {
            /* type-blind first fit: J0 takes 0-12, spanning A and B */
            assert_int_equal(j[0]->alloc_gpus[0], 0);
            assert_int_equal(j[0]->alloc_gpus[12], 12);
        }
        for (int i = 0; i < 4; i++)
            job_destroy(j[i]);
        sched_destroy(s);
    }
}

/*
 * V100 (1 server x 4 GPUs, GPUs 0-3) and K80 (1 x 4, GPUs 4-7), speed
 * factors 1 and 0.25. Three 1-GPU jobs that may use only K80, and one that
 * may use either. V100 is free and 4x faster, but the K80-only jobs land on
 * GPUs 4, 5, 6, in both modes, every round; the free job takes V100.
 */
static void test_no_job_on_an_excluded_type(void **state)
{
    (void)state;
    struct server_group g[] = {group("v", "V100", 1, 4, 12, 250), group("k", "K80", 1, 4, 12, 250)};
    for (int h = 0; h < 2; h++) {
        for (int md = 0; md < 3; md++) {
            const char *mode = md == 0 ? "fair" : md == 1 ? "greedy" : "tune";
            set_speeds("V100", 1, "K80", 0.25, "P100", 0.5);
            sched_t *s = make(g, 2, mode, h ? HETERO_AGNOSTIC : HETERO_AWARE);
            struct model_profile m = plain("X", 3);
            struct job *j[4];
            for (int i = 0; i < 3; i++)
                j[i] = add(s, &m, i, 1, "K80");
            j[3] = add(s, &m, 3, 1, "K80|V100");
            for (int r = 0; r < 3; r++) {
                round_at(s, 300.0 * r);
                for (int i = 0; i < 3; i++) {
                    assert_int_equal(j[i]->n_alloc, 1);
                    assert_int_equal(j[i]->alloc_gpus[0], 4 + i);
                    assert_string_equal(sched_gpu_type_name(s, sched_job_gpu_type(j[i])), "K80");
                }
                assert_int_equal(j[3]->alloc_gpus[0], 0);
                /* K80 runs at a quarter of V100's speed */
                assert_true(sched_job_iter_time(s, j[0]) == 4 * sched_job_iter_time(s, j[3]));
                for (int i = 0; i < 4; i++)
                    sched_job_release(s, j[i]);
            }
            /* a job that may use only K80 and needs 5 GPUs can never run */
            struct job_spec spec = {.id = 9, .iterations = 1, .gpus = 5};
            snprintf(spec.model, sizeof spec.model, "X");
            snprintf(spec.gpu_types, sizeof spec.gpu_types, "K80");
            struct err err = {{0}};
            assert_null(job_create(s, &spec, &m, 9, &err));
            assert_non_null(strstr(err.msg, "needs 5 GPUs"));
            snprintf(spec.gpu_types, sizeof spec.gpu_types, "A100");
            spec.gpus = 1;
            assert_null(job_create(s, &spec, &m, 9, &err));
            assert_non_null(strstr(err.msg, "GPU type 'A100' is not in the cluster"));
            for (int i = 0; i < 4; i++)
                job_destroy(j[i]);
            sched_destroy(s);
        }
    }
}

/*
 * "Faster GPUs need more CPUs." Model R has a profile per type: on "fast"
 * it saturates at 12 CPUs per GPU (speedup 3 over its fair-share time 0.1 s),
 * on "slow" at 3 (speedup 1.2 over 0.5 s). Servers: 8 GPUs, 48 CPUs (a fair
 * share of 6 CPUs a GPU), one of each type. TUNE, aware.
 * A 4-GPU job on fast asks for, and gets, 4 x 12 = 48 CPUs; on slow 4 x 3 =
 * 12. Rates: fast 3 / 0.1 = 30 it/s at the ideal, 10 at the fair share; slow
 * 1.2 / 0.5 = 2.4 and 2.
 */
static void test_faster_gpus_need_more_cpus(void **state)
{
    (void)state;
    n_speeds = 0;
    struct server_group g[] = {group("f", "fast", 1, 8, 48, 1000),
                               group("s", "slow", 1, 8, 48, 1000)};
    sched_t *s = make(g, 2, "tune", HETERO_AWARE);
    struct model_profile m = plain("R", 3), fast = plain("R", 12), slow = plain("R", 3);
    fast.speedup = 3;
    fast.iter_time = 0.1;
    snprintf(fast.gpu_type, sizeof fast.gpu_type, "fast");
    slow.speedup = 1.2;
    slow.iter_time = 0.5;
    snprintf(slow.gpu_type, sizeof slow.gpu_type, "slow");
    m.typed_next = &fast;
    fast.typed_next = &slow;
    struct job *a = add(s, &m, 0, 4, "fast");
    struct job *b = add(s, &m, 1, 4, "slow");
    round_at(s, 0);
    assert_true(a->cpus == 48 && b->cpus == 12);
    assert_true(sched_job_iter_time(s, a) == 0.1 / 3);
    assert_true(sched_job_iter_time(s, b) == 0.5 / 1.2);
    sched_job_release(s, a);
    sched_job_release(s, b);
    sched_job_remove(s, a);
    sched_job_remove(s, b);
    /* The same jobs free to choose. C: fast at its ideal (30 it/s), all 48
     * CPUs. D: fast's ideal does not fit (no CPU left), but fast at the fair
     * share (10 it/s) still beats slow at its ideal (2.4): TUNE takes C down
     * to the fair share, 4 x 6 = 24 CPUs each, both on fast. */
    struct job *c = add(s, &m, 2, 4, "");
    struct job *d = add(s, &m, 3, 4, "");
    round_at(s, 300);
    assert_string_equal(sched_gpu_type_name(s, sched_job_gpu_type(c)), "fast");
    assert_string_equal(sched_gpu_type_name(s, sched_job_gpu_type(d)), "fast");
    assert_true(c->cpus == 24 && d->cpus == 24);
    assert_true(sched_job_iter_time(s, d) == 0.1);
    /* Type-blind, a job asks for the default profile's 3 CPUs a GPU
     * everywhere, and a fast GPU runs starved: half its fair share of 6 CPUs,
     * so half its fair-share rate (10 it/s): 0.2 s an iteration. */
    sched_t *ag = make(g, 2, "tune", HETERO_AGNOSTIC);
    struct job *e = add(ag, &m, 0, 4, "fast");
    round_at(ag, 0);
    assert_true(e->cpus == 12);
    assert_true(sched_job_iter_time(ag, e) == 1 / (0.5 / 0.1));
    job_destroy(a);
    job_destroy(b);
    job_destroy(c);
    job_destroy(d);
    job_destroy(e);
    sched_destroy(s);
    sched_destroy(ag);
}

/*
 * LAS's attained service on typed clusters, through the round ledger: a
 * round counts the job's rate on the type it ran on over its best rate on
 * the types it may use (Gavel's effective throughput). V100 (4 GPUs) speed
 * 1, K80 0.25, fair mode. B takes the 4 V100s (V100 only), A (either type)
 * lands on K80: 300 x 0.25 = 75 s of service for a 300 s round; B 300 s.
 * Type-blind (agnostic), both get 300: a type-blind LAS counts time.
 */
static void test_service_is_weighted_by_throughput(void **state)
{
    (void)state;
    for (int h = 0; h < 2; h++) {
        model_zoo_t *zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, NULL);
        assert_non_null(zoo);
        struct sched_run_params rp = {0};
        cluster_config_defaults(&rp.sched.cluster);
        struct server_group g[] = {group("v", "V100", 1, 4, 12, 250),
                                   group("k", "K80", 1, 4, 12, 250)};
        rp.sched.cluster.n_groups = 2;
        memcpy(rp.sched.cluster.groups, g, sizeof g);
        set_speeds("V100", 1, "K80", 0.25, "P100", 0.5);
        rp.sched.cluster.n_speeds = n_speeds;
        memcpy(rp.sched.cluster.speeds, speeds, sizeof speeds);
        rp.sched.policy = policy_find("LAS");
        rp.sched.mode = sched_mode_find("fair");
        rp.sched.round_duration = 300;
        rp.sched.starvation_s = 1000 * 3600.0;
        rp.sched.hetero = h ? HETERO_AGNOSTIC : HETERO_AWARE;
        rp.zoo = zoo;
        struct err err = {{0}};
        sched_run_t *r = sched_run_create(&rp, &err);
        assert_non_null(r);
        struct job_spec b = {.id = 0, .model = "res18", .iterations = 1000000, .gpus = 4,
                             .gpu_types = "V100"};
        struct job_spec a = {.id = 1, .model = "res18", .iterations = 1000000, .gpus = 1,
                             .arrival = 1};
        struct job *jb = sched_run_arrive(r, &b, &err), *ja = sched_run_arrive(r, &a, &err);
        assert_non_null(ja);
        assert_non_null(jb);
        struct job **placed;
        size_t n;
        assert_int_equal(sched_run_plan(r, 0, &placed, &n, NULL, &err), 0);
        assert_int_equal(n, 2);
        struct sched_view v = {.now = 300};
        assert_true(ja->attained == 300 && jb->attained == 300);
        assert_string_equal(sched_gpu_type_name(sched_run_sched(r), sched_job_gpu_type(ja)),
                            "K80");
        assert_true(sched_job_service(&v, jb) == 300 * 4);
        assert_true(sched_job_service(&v, ja) == (h ? 300 : 75));
        sched_run_destroy(r);
        model_zoo_destroy(zoo);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_of_every_gpu),
        cmocka_unit_test(test_server_of_every_gpu_typed),
        cmocka_unit_test(test_no_job_on_an_excluded_type),
        cmocka_unit_test(test_faster_gpus_need_more_cpus),
        cmocka_unit_test(test_service_is_weighted_by_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
