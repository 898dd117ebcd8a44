/*
 * Why a job waits (scheduler/reasons.c): for each reason, a hand-built
 * round in which one pending job waits for exactly that reason, and every
 * other job's reason is checked too. The CPU, memory and GPU figures of each
 * situation are worked out in its comment.
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

#define MAX_JOBS 16
static struct job *jobs[MAX_JOBS];
static int n_jobs;
static struct model_profile profiles[MAX_JOBS];
static enum sched_hetero hetero_next; /* of the next make() */
static bool legacy_next;

static struct server_group group(const char *name, const char *type, int gpus, int cpus,
                                 int mem)
{
    struct server_group g = {.count = 1, .gpus = gpus, .cpus = cpus, .dram_gb = mem,
                             .sspeed = (int)(62.5 * gpus + 0.5), .net = 40, .rack = -1};
    snprintf(g.name, sizeof g.name, "%s", name);
    snprintf(g.gpu_type, sizeof g.gpu_type, "%s", type);
    return g;
}

static sched_t *make(const struct server_group *g, int ng, const char *policy, const char *mode,
                     const struct tenants_config *tc)
{
    struct sched_params p = {0};
    cluster_config_defaults(&p.cluster);
    p.cluster.n_groups = ng;
    memcpy(p.cluster.groups, g, sizeof *g * (size_t)ng);
    p.policy = policy_find(policy);
    p.mode = sched_mode_find(mode);
    p.round_duration = 300;
    p.starvation_s = 1000 * 3600.0;
    p.tenants = tc;
    p.hetero = hetero_next;
    p.legacy_order = legacy_next;
    for (int i = 0; i < ng; i++) /* typed: each type at the profiles' speed */
        if (g[i].gpu_type[0] && p.cluster.n_speeds < CLUSTER_MAX_TYPES) {
            struct gpu_type_def *d = &p.cluster.speeds[p.cluster.n_speeds++];
            *d = (struct gpu_type_def){.speed = 1};
            snprintf(d->name, sizeof d->name, "%s", g[i].gpu_type);
        }
    struct err err = {{0}};
    sched_t *s = sched_create(&p, &err);
    if (!s)
        fail_msg("%s", err.msg);
    n_jobs = 0;
    return s;
}

/* A job of `gpus` GPUs whose ideal is `cpus` CPUs and `mem` GB per GPU. */
static struct job *add(sched_t *s, int id, double arrival, int gpus, double cpus, double mem,
                       const char *types, const char *tenant)
{
    struct model_profile *m = &profiles[n_jobs];
    *m = (struct model_profile){.cpus = cpus, .mem = mem, .speed = 62.5, .batch = 512,
                                .placement_penalty = 1, .speedup = 1, .iter_time = 1,
                                .task = TASK_NONE};
    snprintf(m->name, sizeof m->name, "m%d", id);
    struct job_spec spec = {.id = id, .arrival = arrival, .iterations = 100000, .gpus = gpus};
    snprintf(spec.model, sizeof spec.model, "%s", m->name);
    snprintf(spec.gpu_types, sizeof spec.gpu_types, "%s", types ? types : "");
    snprintf(spec.tenant, sizeof spec.tenant, "%s", tenant ? tenant : "");
    struct err err = {{0}};
    struct job *j = job_create(s, &spec, m, id, &err);
    if (!j)
        fail_msg("%s", err.msg);
    sched_job_add(s, j);
    jobs[n_jobs++] = j;
    return j;
}

/* Plan a round at `now`; the leases end a round later. */
static size_t round_at(sched_t *s, double now)
{
    struct job **placed;
    size_t n;
    sched_round(s, now, &placed, &n);
    struct err err = {{0}};
    assert_int_equal(sched_check_invariants(s, &err), 0);
    return n;
}

static void leases_end(sched_t *s)
{
    for (int i = 0; i < n_jobs; i++)
        sched_job_release(s, jobs[i]);
}

static void done(sched_t *s)
{
    sched_destroy(s);
    for (int i = 0; i < n_jobs; i++)
        job_destroy(jobs[i]);
}

static void expect(const sched_t *s, const struct job *j, enum sched_reason want)
{
    enum sched_reason got = sched_job_reason(s, j);
    if (got != want)
        fail_msg("job %d: %s, expected %s", j->id, sched_reason_name(got),
                 sched_reason_name(want));
}

/* The table: every reason has a distinct name that finds it again. */
static void test_table(void **state)
{
    for (int r = 0; r < REASON_COUNT; r++) {
        assert_int_equal(sched_reason_find(sched_reason_name(r)), r);
        assert_true(strlen(sched_reason_summary(r)) > 0);
    }
    assert_int_equal(sched_reason_find("priority"), REASON_PRIORITY);
    assert_int_equal(sched_reason_find("nope"), -1);
    assert_string_equal(sched_reason_name(REASON_COUNT), "?");
}

/* One server of 4 GPUs, FIFO: job 1 (4 GPUs) arrived first and takes them
 * all; job 2 (2 GPUs) waits behind it: Priority. Job 1 is Starting in its
 * first round, None (running) in the next; job 3, which arrives after the
 * second round, has not been planned: None. */
static void test_priority_starting_none(void **state)
{
    struct server_group g = group("a", "", 4, 24, 500);
    sched_t *s = make(&g, 1, "FIFO", "fair", NULL);
    struct job *a = add(s, 1, 0, 4, 3, 62.5, NULL, NULL);
    struct job *b = add(s, 2, 1, 2, 3, 62.5, NULL, NULL);
    assert_int_equal(round_at(s, 10), 1);
    expect(s, a, REASON_STARTING);
    expect(s, b, REASON_PRIORITY);
    leases_end(s);
    assert_int_equal(round_at(s, 310), 1);
    expect(s, a, REASON_NONE);
    expect(s, b, REASON_PRIORITY);
    struct job *c = add(s, 3, 400, 1, 3, 62.5, NULL, NULL);
    expect(s, c, REASON_NONE);
    done(s);
}

/* FIFO on 4 GPUs: job 5 (4 GPUs, arrived at 5) runs the first round alone;
 * then job 1, which arrived at 1 (earlier, so ahead in FIFO order), joins
 * and takes the GPUs: job 5 is Held, job 1 Starting. A round later job 5
 * has been waiting two rounds: Priority. */
static void test_held(void **state)
{
    struct server_group g = group("a", "", 4, 24, 500);
    sched_t *s = make(&g, 1, "FIFO", "fair", NULL);
    struct job *late = add(s, 5, 5, 4, 3, 62.5, NULL, NULL);
    assert_int_equal(round_at(s, 10), 1);
    expect(s, late, REASON_STARTING);
    leases_end(s);
    struct job *early = add(s, 1, 1, 4, 3, 62.5, NULL, NULL);
    assert_int_equal(round_at(s, 310), 1);
    expect(s, late, REASON_HELD);
    expect(s, early, REASON_STARTING);
    leases_end(s);
    round_at(s, 610);
    expect(s, late, REASON_PRIORITY);
    expect(s, early, REASON_NONE);
    done(s);
}

/* Two servers of 4 GPUs, the second down: 4 GPUs are up. Job 1 (2 GPUs)
 * runs; job 2 (4 GPUs) could have had the 4 up GPUs but job 1 took two:
 * Priority; job 3 (8 GPUs) asks more than the 4 up: Resources. */
static void test_resources(void **state)
{
    struct server_group g[2] = {group("a", "", 4, 24, 500), group("b", "", 4, 24, 500)};
    sched_t *s = make(g, 2, "FIFO", "fair", NULL);
    sched_server_set_down(s, 1, true);
    struct job *a = add(s, 1, 0, 2, 3, 62.5, NULL, NULL);
    struct job *b = add(s, 2, 1, 4, 3, 62.5, NULL, NULL);
    struct job *c = add(s, 3, 2, 8, 3, 62.5, NULL, NULL);
    assert_int_equal(round_at(s, 10), 1);
    expect(s, a, REASON_STARTING);
    expect(s, b, REASON_PRIORITY);
    expect(s, c, REASON_RESOURCES);
    done(s);
}

/* GREEDY, one server of 4 GPUs and 8 CPUs: job 1 (2 GPUs x 3 CPUs) takes 6
 * CPUs; job 2 (2 GPUs x 2 CPUs = 4) finds 2 GPUs free but 2 CPUs: Cpu. Job
 * 3, the same shape behind it: the incremental queue knows it cannot fit
 * and does not try it (Priority: a job ahead of it waits for the same); the
 * legacy walk tries it and the fail memo answers: Cpu. */
static void test_cpu(void **state)
{
    for (int legacy = 0; legacy < 2; legacy++) {
        struct server_group g = group("a", "", 4, 8, 500);
        legacy_next = legacy;
        sched_t *s = make(&g, 1, "FIFO", "greedy", NULL);
        legacy_next = false;
        struct job *a = add(s, 1, 0, 2, 3, 62.5, NULL, NULL);
        struct job *b = add(s, 2, 1, 2, 2, 62.5, NULL, NULL);
        struct job *c = add(s, 3, 2, 2, 2, 62.5, NULL, NULL);
        assert_int_equal(round_at(s, 10), 1);
        expect(s, a, REASON_STARTING);
        expect(s, b, REASON_CPU);
        expect(s, c, legacy ? REASON_CPU : REASON_PRIORITY);
        done(s);
    }
}

/* GREEDY, one server of 4 GPUs, 24 CPUs, 200 GB: job 1 (2 GPUs x 62.5 GB)
 * takes 125 GB; job 2 (2 GPUs x 3 CPUs x 62.5 GB) has its GPUs and 18 CPUs
 * free but 75 GB of the 125 it needs: Memory. */
static void test_memory(void **state)
{
    struct server_group g = group("a", "", 4, 24, 200);
    sched_t *s = make(&g, 1, "FIFO", "greedy", NULL);
    struct job *a = add(s, 1, 0, 2, 3, 62.5, NULL, NULL);
    struct job *b = add(s, 2, 1, 2, 3, 62.5, NULL, NULL);
    assert_int_equal(round_at(s, 10), 1);
    expect(s, a, REASON_STARTING);
    expect(s, b, REASON_MEMORY);
    done(s);
}

/* GREEDY, two servers of 4 GPUs, 8 CPUs, 250 GB. Job 1 (2 GPUs x 3.5 CPUs x
 * 10 GB) lands on server 0: 2 GPUs, 1 CPU, 230 GB left. Job 2 (2 GPUs x 1.5
 * CPUs x 115 GB) does not fit a single GPU on server 0 (1 CPU): it lands on
 * server 1, which keeps 2 GPUs, 5 CPUs, 20 GB. Job 3 (2 GPUs x 2 CPUs x
 * 50 GB): 4 GPUs free; server 1's CPUs hold its 2 GPUs, server 0's memory
 * holds them, but no server has both: Fragmentation. */
static void test_fragmentation(void **state)
{
    struct server_group g[2] = {group("a", "", 4, 8, 250), group("b", "", 4, 8, 250)};
    sched_t *s = make(g, 2, "FIFO", "greedy", NULL);
    struct job *a = add(s, 1, 0, 2, 3.5, 10, NULL, NULL);
    struct job *b = add(s, 2, 1, 2, 1.5, 115, NULL, NULL);
    struct job *c = add(s, 3, 2, 2, 2, 50, NULL, NULL);
    assert_int_equal(round_at(s, 10), 2);
    assert_int_equal(sched_gpu_server(s, a->alloc_gpus[1]), 0);
    assert_int_equal(sched_gpu_server(s, b->alloc_gpus[0]), 1);
    assert_int_equal(sched_gpu_server(s, b->alloc_gpus[1]), 1);
    expect(s, a, REASON_STARTING);
    expect(s, b, REASON_STARTING);
    expect(s, c, REASON_FRAGMENTATION);
    done(s);
}

/* A typed cluster: one server of 4 A GPUs, one of 4 B GPUs. Job 1 (4 GPUs,
 * A only) takes the A server; job 2 (2 GPUs, A only) finds 4 GPUs free, all
 * B: GpuType. Job 3 (2 GPUs, any type) runs on B. Both placements, the
 * type-aware and the type-blind. */
static void test_gpu_type(void **state)
{
    for (int blind = 0; blind < 2; blind++) {
        struct server_group g[2] = {group("a", "A", 4, 24, 500), group("b", "B", 4, 24, 500)};
        hetero_next = blind ? HETERO_AGNOSTIC : HETERO_AWARE;
        sched_t *s = make(g, 2, "FIFO", "fair", NULL);
        hetero_next = HETERO_DEFAULT;
        struct job *a = add(s, 1, 0, 4, 3, 62.5, "A", NULL);
        struct job *b = add(s, 2, 1, 2, 3, 62.5, "A", NULL);
        struct job *c = add(s, 3, 2, 2, 3, 62.5, NULL, NULL);
        assert_int_equal(round_at(s, 10), 2);
        expect(s, a, REASON_STARTING);
        expect(s, b, REASON_GPUTYPE);
        expect(s, c, REASON_STARTING);
        done(s);
    }
}

/* Tenants t0 and t1 with quotas of 2 GPUs each on 4 GPUs; t0 may not
 * borrow. t0's job 1 (2 GPUs) runs; its job 2 (2 GPUs) would fit in the 2
 * idle GPUs but t0 is at its quota: Quota. t1's job 3 (4 GPUs) is above
 * t1's quota of 2 with nothing to borrow (t0 uses its own 2): Quota too,
 * which wins over the Priority it would show without tenants. */
static void test_quota(void **state)
{
    struct tenants_config tc = {.k = 1, .half_life_s = 86400, .window_s = 7 * 86400};
    struct tenant_def t[2];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 2; i++) {
        snprintf(t[i].name, sizeof t[i].name, "t%d", i);
        t[i].gpus = 2;
        t[i].cpus = t[i].mem_gb = -1;
        t[i].borrowing_limit = t[i].lending_limit = -1;
        t[i].weight = 1;
        t[i].max_running_gpus = t[i].max_queued_jobs = -1;
    }
    t[0].borrowing_limit = 0;
    tc.t = t;
    tc.n = 2;
    snprintf(tc.path, sizeof tc.path, "test");
    struct server_group g = group("a", "", 4, 24, 500);
    sched_t *s = make(&g, 1, "FIFO", "fair", &tc);
    struct job *a = add(s, 1, 0, 2, 3, 62.5, NULL, "t0");
    struct job *b = add(s, 2, 1, 2, 3, 62.5, NULL, "t0");
    struct job *c = add(s, 3, 2, 4, 3, 62.5, NULL, "t1");
    assert_int_equal(round_at(s, 10), 1);
    expect(s, a, REASON_STARTING);
    expect(s, b, REASON_QUOTA);
    expect(s, c, REASON_QUOTA);
    done(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_priority_starting_none),
        cmocka_unit_test(test_held),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_gpu_type),
        cmocka_unit_test(test_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
