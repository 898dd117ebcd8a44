/*
 * The consolidating placement (`--placement consolidate`, the reference's
 * `+place`, spec §7.5) on hand-built rounds: which GPUs each job gets, when a
 * multi-GPU job is kept on one server, and when it is split or skipped.
 * Rules: a multi-GPU job goes whole onto the server with the fewest free GPUs
 * among those where its whole demand fits, taking that server's first free
 * GPUs. Otherwise GPUs come one at a time from the server with the fewest
 * free GPUs (ties: lower id) whose remaining room fits one GPU's share,
 * taking its last free GPU; a server that does not fit is dropped.
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

static struct model_profile model;

struct world {
    sched_t *s;
    struct job *jobs[16];
    int n;
};

/* 1 rack of `servers` x (4 GPUs, 12 CPUs, 250 GB); a model wanting `cpus`
 * CPUs and 62.5 GB per GPU with speedup 1 (so greedy asks for exactly that). */
static void world_init(struct world *w, int servers, const char *mode, double cpus)
{
    memset(&model, 0, sizeof model);
    snprintf(model.name, sizeof model.name, "X");
    model.cpus = cpus;
    model.mem = 62.5;
    model.speed = 62.5;
    model.batch = 512;
    model.placement_penalty = 1;
    model.speedup = 1;
    model.iter_time = 1;
    struct sched_params p = {0};
    p.cluster = (struct cluster_config){.racks = 1, .servers_per_rack = servers, .gpus_per_server = 4, .cpus_per_server = 12, .dram_per_server = 250, .sspeed_per_server = 250, .net_per_server = 40};
    p.policy = policy_find("FIFO");
    p.mode = sched_mode_find(mode);
    p.placement = PLACEMENT_CONSOLIDATE;
    p.round_duration = 300;
    p.starvation_s = 1000 * 3600.0;
    struct err err = {{0}};
    w->s = sched_create(&p, &err);
    assert_non_null(w->s);
    w->n = 0;
}

static struct job *world_add(struct world *w, int gpus)
{
    struct job_spec spec = {.id = w->n, .arrival = w->n, .iterations = 1000, .gpus = gpus};
    snprintf(spec.model, sizeof spec.model, "X");
    struct err err = {{0}};
    struct job *j = job_create(w->s, &spec, &model, w->n, &err);
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

static void world_round(struct world *w)
{
    struct job **placed;
    size_t n;
    sched_round(w->s, 0, &placed, &n);
    struct err err = {{0}};
    assert_int_equal(sched_check_invariants(w->s, &err), 0);
}

static void assert_gpus(const struct job *j, int n, const int *ids)
{
    assert_int_equal(j->n_alloc, n);
    for (int k = 0; k < n; k++)
        assert_int_equal(j->alloc_gpus[k], ids[k]);
}

/*
 * fair mode, 3 servers (GPUs 0-3, 4-7, 8-11), CPUs never bind.
 * J0 (1 GPU): heap, all servers have 4 free -> server 0, its last GPU: 3.
 * J1 (2 GPUs): fits whole on 0 (3 free), 1 (4), 2 (4): fewest free = 0,
 *              its first free GPUs: 0, 1.
 * J2 (2 GPUs): server 0 has 1 free GPU (its demand of 2 GPUs does not fit);
 *              1 and 2 tie at 4 -> the first seen, 1: GPUs 4, 5.
 * J3 (3 GPUs): only server 2 has 3 free: 8, 9, 10.
 * J4 (2 GPUs): server 1 (2 free): 6, 7.
 * J5 (2 GPUs): no server has 2 free (0: GPU 2, 2: GPU 11): heap pops the
 *              fewest free, ties by id: server 0 -> 2, then server 2 -> 11.
 *              It spans two servers.
 * First fit would have given J0 GPU 0 and J1 GPUs 1, 2.
 */
static void test_consolidate_prefers_one_fullest_server(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 3, "fair", 3);
    int g[] = {1, 2, 2, 3, 2, 2};
    for (int i = 0; i < 6; i++)
        world_add(&w, g[i]);
    world_round(&w);
    assert_gpus(w.jobs[0], 1, (int[]){3});
    assert_gpus(w.jobs[1], 2, (int[]){0, 1});
    assert_gpus(w.jobs[2], 2, (int[]){4, 5});
    assert_gpus(w.jobs[3], 3, (int[]){8, 9, 10});
    assert_gpus(w.jobs[4], 2, (int[]){6, 7});
    assert_gpus(w.jobs[5], 2, (int[]){2, 11});
    assert_int_equal(w.jobs[5]->n_shares, 2);
    assert_int_equal(w.jobs[1]->n_shares, 1);
    world_free(&w);
}

/*
 * greedy mode, 2 servers (GPUs 0-3 with 12 CPUs, 4-7 with 12 CPUs), every
 * GPU wants 5 CPUs.
 * J0 (1 GPU, 5 CPUs): server 0, its last GPU: 3. Server 0: 7 CPUs left.
 * J1 (2 GPUs, 10 CPUs): whole fits on server 1 only (7 < 10): GPUs 4, 5.
 *                       Server 1: 2 CPUs, 2 GPUs left.
 * J2 (2 GPUs, 10 CPUs): no server fits it whole. Heap: server 1 (2 free)
 *                       first, but 5 CPUs > 2: dropped. Server 0 (3 free):
 *                       one GPU (5 of 7 CPUs held), then 2 < 5: dropped.
 *                       1 of 2 GPUs: greedy skips J2 this round.
 * J3 (1 GPU, 5 CPUs):   server 1 cannot (2 CPUs); server 0 can: GPU 2.
 */
static void test_consolidate_cpu_bound_split_and_skip(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 2, "greedy", 5);
    int g[] = {1, 2, 2, 1};
    for (int i = 0; i < 4; i++)
        world_add(&w, g[i]);
    world_round(&w);
    assert_gpus(w.jobs[0], 1, (int[]){3});
    assert_gpus(w.jobs[1], 2, (int[]){4, 5});
    assert_int_equal(w.jobs[2]->n_alloc, 0);
    assert_gpus(w.jobs[3], 1, (int[]){2});
    assert_float_equal(w.s->servers[0].used[RES_CPU], 10, 1e-9);
    assert_float_equal(w.s->servers[1].used[RES_CPU], 10, 1e-9);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consolidate_prefers_one_fullest_server),
        cmocka_unit_test(test_consolidate_cpu_bound_split_and_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
