/*
 * Unit tests: whole simulations through sim_run on scenarios small enough to
 * follow round by round by hand. They assert what sim_run reports (per-job
 * results, per-round samples), not how the simulator keeps its books, so they
 * hold whichever module counts preemptions and progress.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policies.h"
#include "sim.h"

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

/* per-round samples, as a results store would see them */
struct samples {
    size_t n;
    double now[16];
    size_t placed[16], preempted[16], started[16];
};

static void on_sample(void *ctx, const struct sched_round_sample *smp)
{
    struct samples *s = ctx;
    if (s->n < 16) {
        s->now[s->n] = smp->now;
        s->placed[s->n] = smp->placed;
        s->preempted[s->n] = smp->preempted;
        s->started[s->n] = smp->started;
    }
    s->n++;
}

static void config_one_gpu(struct sim_config *cfg, const char *policy, const char *mode,
                           struct samples *smp)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sched.cluster = (struct cluster_config){.racks = 1, .servers_per_rack = 1, .gpus_per_server = 1, .cpus_per_server = 3, .dram_per_server = 62, .sspeed_per_server = 62, .net_per_server = 40};
    cfg->sched.policy = policy_find(policy);
    cfg->sched.mode = sched_mode_find(mode);
    cfg->sched.round_duration = 300;
    cfg->sched.starvation_s = 1000 * 3600.0;
    cfg->zoo = zoo;
    cfg->check_invariants = true;
    cfg->obs.ctx = smp;
    cfg->obs.on_sample = on_sample;
}

static const struct sched_job_result *result_of(const struct sched_result *r, int id)
{
    for (size_t i = 0; i < r->jobs_measured; i++)
        if (r->jobs[i].id == id)
            return &r->jobs[i];
    fail_msg("job %d has no result", id);
    return NULL;
}

/*
 * LAS takes turns on one GPU. Static run (first round at t = 1), fair mode:
 * alexnet runs 300 / 0.6 = 500 iterations a round, so each job needs 3 rounds.
 * J0 arrives at 0, J1 at 0.1 (equal service: J0 first by arrival).
 *   t=1    J0 (0 vs 0)              J0 runs
 *   t=301  J1 (J0 has 300)          J1 runs, J0 preempted (1)
 *   t=601  J0 (300 = 300, arrival)  J0 runs, J1 preempted (1)
 *   t=901  J1 (J0 has 600)          J1 runs, J0 preempted (2)
 *   t=1201 J0 (600 = 600)           J0 runs, J1 preempted (2)
 *   t=1501 J0 finished at 1501      J1 runs: J0 is not counted as preempted
 *   J1 finishes at 1801.
 * So 2 preemptions each, 4 in all, one in each of rounds 2-5.
 */
static void test_las_turns_count_preemptions(void **state)
{
    struct samples smp = {0};
    struct sim_config cfg;
    config_one_gpu(&cfg, "LAS", "fair", &smp);
    cfg.is_static = true;
    struct job_spec jobs[2] = {
        {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 1500, .gpus = 1},
        {.id = 1, .model = "alexnet", .arrival = 0.1, .iterations = 1500, .gpus = 1}};
    struct sim_workload w = {.jobs = jobs, .n_jobs = 2};
    struct sched_result r;
    struct err err = {{0}};
    assert_int_equal(sim_run(&cfg, &w, &r, &err), 0);
    assert_int_equal(r.jobs_measured, 2);
    const struct sched_job_result *j0 = result_of(&r, 0), *j1 = result_of(&r, 1);
    assert_int_equal(j0->preemptions, 2);
    assert_int_equal(j1->preemptions, 2);
    assert_float_equal(j0->finish, 1501, 1e-9);
    assert_float_equal(j1->finish, 1801, 1e-9);
    assert_float_equal(j0->first_start, 1, 1e-9);
    assert_float_equal(j1->first_start, 301, 1e-9);
    assert_int_equal(j0->rounds_run, 3);
    assert_int_equal(j1->rounds_run, 3);
    assert_float_equal(j0->attained, 900, 1e-9);
    /* rounds at 1, 301, ..., 1501 (the run stops at J1's finish) */
    assert_int_equal(smp.n, 6);
    size_t want_preempted[6] = {0, 1, 1, 1, 1, 0};
    size_t want_started[6] = {1, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < 6; i++) {
        assert_float_equal(smp.now[i], 1 + 300.0 * (double)i, 1e-9);
        assert_int_equal(smp.placed[i], 1);
        assert_int_equal(smp.preempted[i], want_preempted[i]);
        assert_int_equal(smp.started[i], want_started[i]);
    }
    sched_result_free(&r);
}

/*
 * A job that runs every round until it finishes is never preempted, and FIFO
 * on one GPU never preempts: J0 (2 rounds) then J1 (1 round), each started
 * once. Finishes at 601 and 901.
 */
static void test_fifo_never_preempts(void **state)
{
    struct samples smp = {0};
    struct sim_config cfg;
    config_one_gpu(&cfg, "FIFO", "fair", &smp);
    cfg.is_static = true;
    struct job_spec jobs[2] = {
        {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 1000, .gpus = 1},
        {.id = 1, .model = "alexnet", .arrival = 0.1, .iterations = 500, .gpus = 1}};
    struct sim_workload w = {.jobs = jobs, .n_jobs = 2};
    struct sched_result r;
    struct err err = {{0}};
    assert_int_equal(sim_run(&cfg, &w, &r, &err), 0);
    assert_int_equal(result_of(&r, 0)->preemptions, 0);
    assert_int_equal(result_of(&r, 1)->preemptions, 0);
    assert_float_equal(result_of(&r, 0)->finish, 601, 1e-9);
    assert_float_equal(result_of(&r, 1)->finish, 901, 1e-9);
    for (size_t i = 0; i < smp.n && i < 16; i++)
        assert_int_equal(smp.preempted[i], 0);
    sched_result_free(&r);
}

/*
 * The starvation clock, end to end (threshold lowered to 1000 s). One GPU,
 * SRTF, fair mode. J0: arrival 0, 3 rounds (1500 iterations). B_k (id k+1,
 * k = 0..9): arrival 300 k + 100, 1 round each. The first round is at 0.
 *   t=0     J0 runs (alone); its lease ends at 300.
 *   t=300.. B_k (300 s left) beats J0 (600 s left): B_k runs at 300 (k+1).
 *   t=1500  J0 has waited 1200 s > 1000 s since its last run: bumped
 *           (at 1200 it had waited 900 s; from its arrival it would be 1200).
 *   t=1800  J0 leads on priority: runs 1800 and 2100, finishes at 2400.
 * Counted from arrival, J0 would come back at 1500 and finish at 2100; with no
 * bump, after the ten B jobs, at 3900. J0 is preempted once (at 300).
 */
static void test_starved_job_returns_after_threshold_since_last_run(void **state)
{
    struct samples smp = {0};
    struct sim_config cfg;
    config_one_gpu(&cfg, "SRTF", "fair", &smp);
    cfg.sched.starvation_s = 1000;
    struct job_spec jobs[11] = {
        {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 1500, .gpus = 1}};
    for (int k = 0; k < 10; k++)
        jobs[k + 1] = (struct job_spec){.id = k + 1,
                                        .model = "alexnet",
                                        .arrival = 300.0 * k + 100,
                                        .iterations = 500,
                                        .gpus = 1};
    struct sim_workload w = {.jobs = jobs, .n_jobs = 11};
    struct sched_result r;
    struct err err = {{0}};
    assert_int_equal(sim_run(&cfg, &w, &r, &err), 0);
    assert_int_equal(r.jobs_measured, 11);
    const struct sched_job_result *j0 = result_of(&r, 0);
    assert_float_equal(j0->first_start, 0, 1e-9);
    assert_float_equal(j0->finish, 2400, 1e-9);
    assert_int_equal(j0->preemptions, 1);
    assert_int_equal(j0->rounds_run, 3);
    /* B_4 ran at 1500, B_5 waited for J0 until 2400 */
    assert_float_equal(result_of(&r, 5)->first_start, 1500, 1e-9);
    assert_float_equal(result_of(&r, 6)->first_start, 2400, 1e-9);
    sched_result_free(&r);
}

/* on_cancel: the cancels a replay applied */
struct cancels {
    int n, id;
    double now;
};

static void on_cancel(void *ctx, const struct job *j, double now)
{
    struct cancels *c = ctx;
    c->n++;
    c->id = j->id;
    c->now = now;
}

/*
 * A replayed record's cancel (docs/traces.md): the LAS turns above, with J1
 * cancelled at 601, after its lease ended there and before that round is
 * planned: J1 ran 301-601 and never again. J0 runs 1-301, waits, then runs
 * from 601 with nobody to share: 500 + 500 + 500 iterations, done at 1201
 * (1501 without the cancel), preempted once. J1 leaves the measured window:
 * 1 job measured, window complete, and the run stops at J0's finish (rounds
 * at 1, 301, 601 and 901). A cancel of J0 at 1801, after it finished, does
 * nothing.
 */
static void test_replayed_cancel_stops_a_job(void **state)
{
    struct sim_config cfg;
    config_one_gpu(&cfg, "LAS", "fair", NULL);
    struct cancels c = {0};
    cfg.obs.ctx = &c;
    cfg.obs.on_sample = NULL;
    cfg.obs.on_cancel = on_cancel;
    cfg.is_static = true;
    struct job_spec jobs[2] = {
        {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 1500, .gpus = 1,
         .cancelled = true, .cancel_at = 1801},
        {.id = 1, .model = "alexnet", .arrival = 0.1, .iterations = 1500, .gpus = 1,
         .cancelled = true, .cancel_at = 601}};
    struct sim_workload w = {.jobs = jobs, .n_jobs = 2};
    struct sched_result r;
    struct err err = {{0}};
    assert_int_equal(sim_run(&cfg, &w, &r, &err), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.id, 1);
    assert_float_equal(c.now, 601, 1e-9);
    assert_int_equal(r.jobs_arrived, 2);
    assert_int_equal(r.jobs_finished, 1);
    assert_int_equal(r.jobs_measured, 1);
    assert_int_equal(r.window_size, 1);
    assert_true(r.window_complete);
    const struct sched_job_result *j0 = result_of(&r, 0);
    assert_float_equal(j0->finish, 1201, 1e-9);
    assert_int_equal(j0->preemptions, 1);
    assert_int_equal(j0->rounds_run, 3);
    assert_int_equal(r.rounds, 4);
    sched_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_las_turns_count_preemptions),
        cmocka_unit_test(test_fifo_never_preempts),
        cmocka_unit_test(test_replayed_cancel_stops_a_job),
        cmocka_unit_test(test_starved_job_returns_after_threshold_since_last_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
