/*
 * The scheduler's restart paths and its per-process crediting (issue 20,
 * item 8), on a real deployment's state (deploy__new over a state file in a
 * temporary directory: ledger, job table, SQLite) and its real handlers
 * (rpc_server_create_local). A "restart" is deploy__free of one deployment
 * and deploy__new of another over the same file, as a scheduler killed and
 * started again with the same command would do. Numbers by hand.
 *  - stale_attempt_killed: a restored job runs attempt 3 on server 0; its
 *    worker re-registers listing attempt 2 (a relaunch's stale process): it
 *    is killed, not adopted; listing both, only attempt 3 is adopted and
 *    attempt 2 killed, so no GPU runs two processes of one job.
 *  - lost_launch_not_credited: the plan credited a job a round up front and
 *    the scheduler died before launching it: the restarted one credits it
 *    nothing for that round (executed back to its base).
 *  - saved_row_round_trip: every field of a saved job row (the ledger's and
 *    the driver's: crashes, attempt, lease time, process count) comes back
 *    through a restart as it was written.
 *  - slowest_process_credited: a job of two processes whose RoundEnds report
 *    100 and 150 steps is credited 100; completion reports of 80 and 60: 60.
 * Each weakening is a row of tests/mutation/mutants.tsv (R1-R4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy_internal.h"
#include "job_to_scheduler.pb-c.h"
#include "policies.h"
#include "rpc.h"

static model_zoo_t *zoo;
static const struct job_spec specs[] = {
    {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 3000, .gpus = 4, .gpu_types = ""},
    {.id = 1, .model = "res18", .arrival = 0, .iterations = 6000, .gpus = 4, .gpu_types = ""},
};
static const struct deploy_worker_addr rows[] = {
    {"127.0.0.1", 5001, 0, 0, 1, "worker-0"},
    {"127.0.0.2", 5002, 0, 0, 1, "worker-1"},
};

struct fixture {
    struct synergy_config conf;
    struct deploy_config cfg;
    struct deploy_stats st;
    struct deploy *d;
    char dir[64], path[96];
};

/* A deployment over fx->path (restored when it holds a run). */
static void open_deploy(struct fixture *fx)
{
    struct err err = {{0}};
    memset(&fx->st, 0, sizeof fx->st);
    fx->d = deploy__new(&fx->cfg, &fx->st, &err);
    if (!fx->d)
        fail_msg("deploy__new: %s", err.msg);
    fx->d->srv = rpc_server_create_local(false);
    deploy__add_services(fx->d, fx->d->srv);
}

static struct fixture *setup(void)
{
    struct fixture *fx = xcalloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/synergy-restart-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/state.db", fx->dir);
    synergy_config_defaults(&fx->conf);
    fx->conf.cluster.racks = 1;
    fx->conf.cluster.servers_per_rack = 2;
    struct sched_overrides ov = {.policy = "FIFO", .mode = "tune"};
    struct err err = {{0}};
    assert_int_equal(sched_params_build(&fx->conf, &ov, sched_policies, &fx->cfg.sched, &err), 0);
    struct deploy_config *cfg = &fx->cfg;
    cfg->zoo = zoo;
    cfg->jobs = specs;
    cfg->n_jobs = 2;
    cfg->workers = rows;
    cfg->n_workers = 2;
    cfg->time_scale = 100;
    cfg->heartbeat_ms = 200;
    cfg->worker_timeout_ms = 1500;
    cfg->max_retries = 3;
    cfg->allow_legacy_jobs = true;
    cfg->state_path = fx->path;
    open_deploy(fx);
    return fx;
}

static void close_deploy(struct fixture *fx)
{
    pthread_mutex_lock(&fx->d->mu);
    for (size_t i = 0; i < fx->d->n_jobs; i++)
        deploy__answer_parked(&fx->d->jobs[i], true);
    pthread_mutex_unlock(&fx->d->mu);
    deploy__free(fx->d);
    fx->d = NULL;
}

static void teardown(struct fixture *fx)
{
    if (fx->d)
        close_deploy(fx);
    char p[160];
    static const char *const ext[] = {"", "-wal", "-shm", ".lock"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", fx->path, ext[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
}

/* Both jobs arrive (logical time 0); the round's plan places them. */
static void arrive_and_plan(struct deploy *d)
{
    struct err err = {{0}};
    for (size_t i = 0; i < d->n_jobs; i++) {
        d->jobs[i].j = sched_run_arrive(d->ledger, d->jobs[i].spec, &err);
        assert_non_null(d->jobs[i].j);
        d->jobs[i].state = DJ_QUEUED;
    }
    d->next_arrival = d->n_jobs;
    struct job **placed;
    size_t n;
    assert_int_equal(sched_run_plan(d->ledger, 0, &placed, &n, NULL, &err), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        struct djob *dj = deploy__find_job(d, (uint64_t)placed[i]->id);
        sched_run_round_credit(d->ledger, placed[i], &dj->base, &dj->budget);
    }
}

/* Job `id` runs attempt `attempt` on server 0 with `procs` processes, as
 * phase E leaves it. */
static struct djob *running(struct deploy *d, int id, int attempt, int procs)
{
    struct djob *dj = deploy__find_job(d, (uint64_t)id);
    deploy__lease_tables(dj);
    dj->launch = attempt;
    deploy__job_token(dj);
    dj->state = DJ_RUNNING;
    dj->terminated = false;
    dj->n_ranks = 1;
    dj->n_procs = procs;
    dj->n_exited = 0;
    memset(&dj->ranks[0], 0, sizeof dj->ranks[0]);
    dj->ranks[0].server = 0;
    dj->ranks[0].n_gpus = dj->spec->gpus;
    for (int g = 0; g < dj->spec->gpus; g++)
        dj->ranks[0].gpus[g] = g;
    dj->ranks[0].cpus = 6;
    dj->ranks[0].mem = 100;
    dj->lease_ours = true;
    dj->launched_ns = mono_ns();
    dj->lease_until_ns = mono_ns() + 60000000000LL;
    deploy__reset_round(dj);
    return dj;
}

/* What the round loop writes at a commit point, and the commit. */
static void commit(struct deploy *d)
{
    pthread_mutex_lock(&d->mu);
    assert_int_equal(deploy_state_begin(d->db, NULL), 0);
    assert_int_equal(deploy__persist(d, false), 0);
    assert_int_equal(deploy__commit(d, NULL), 0);
    pthread_mutex_unlock(&d->mu);
}

static void restart(struct fixture *fx)
{
    close_deploy(fx);
    open_deploy(fx);
    assert_true(fx->d->restarted);
}

static void test_stale_attempt_killed(void **state)
{
    (void)state;
    struct fixture *fx = setup();
    arrive_and_plan(fx->d);
    running(fx->d, 1, 3, 1);
    commit(fx->d);
    restart(fx);
    struct deploy *d = fx->d;
    struct djob *dj = deploy__find_job(d, 1);
    assert_int_equal(dj->state, DJ_RUNNING);
    assert_int_equal(dj->launch, 3);
    d->reg.workers[0].registered = true;
    /* its worker runs only the relaunch's stale attempt 2 */
    struct deploy_running run[2] = {{.job_id = 1, .attempt = 2, .pid = 100, .processes = 1,
                                     .lease_left_ms = 5000, .token = ""},
                                    {.job_id = 1, .attempt = 3, .pid = 101, .processes = 1,
                                     .lease_left_ms = 5000, .token = ""}};
    struct deploy_kill kill[8];
    size_t n_kill = 0;
    pthread_mutex_lock(&d->mu);
    deploy__worker_report(d, 0, DEPLOY_REPORT_HEARTBEAT, run, 1, kill, 8, &n_kill);
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(n_kill, 1);
    assert_int_equal(kill[0].job_id, 1);
    assert_int_equal(kill[0].attempt, 2);
    assert_false(dj->ranks[0].adopted);
    /* both: attempt 3 adopted, attempt 2 killed: one process of job 1 stays */
    n_kill = 0;
    pthread_mutex_lock(&d->mu);
    deploy__worker_report(d, 0, DEPLOY_REPORT_HEARTBEAT, run, 2, kill, 8, &n_kill);
    pthread_mutex_unlock(&d->mu);
    assert_true(dj->ranks[0].adopted);
    assert_int_equal(n_kill, 1);
    assert_int_equal(kill[0].attempt, 2);
    teardown(fx);
}

static void test_lost_launch_not_credited(void **state)
{
    (void)state;
    struct fixture *fx = setup();
    struct deploy *d = fx->d;
    arrive_and_plan(d);
    /* the plan credited job 0 its first round up front; the scheduler dies
     * after the plan's commit, before the launch (phase E) */
    struct djob *dj = deploy__find_job(d, 0);
    assert_int_equal(dj->base, 0);
    assert_true(dj->budget > 0);
    assert_int_equal(dj->j->executed, dj->budget);
    commit(d);
    restart(fx);
    dj = deploy__find_job(fx->d, 0);
    assert_int_equal(dj->state, DJ_QUEUED);
    assert_int_equal(dj->j->executed, 0); /* not credited a round it never ran */
    teardown(fx);
}

static void test_saved_row_round_trip(void **state)
{
    (void)state;
    struct fixture *fx = setup();
    struct deploy *d = fx->d;
    arrive_and_plan(d);
    /* a second round, so that the round's base is not 0 either */
    struct err err = {{0}};
    for (size_t i = 0; i < d->n_jobs; i++) {
        sched_run_credit(d->ledger, d->jobs[i].j, d->jobs[i].budget);
        sched_run_lease_end(d->ledger, d->jobs[i].j, 300);
    }
    struct job **placed;
    size_t n;
    assert_int_equal(sched_run_plan(d->ledger, 300, &placed, &n, NULL, &err), 0);
    assert_int_equal(n, 2);
    /* job 1: running, every field its own value */
    struct djob *dj = running(d, 1, 4, 3);
    dj->crashes = 2;
    dj->lease_b = 1500;
    struct job *j = dj->j;
    j->attained = 2400.5;
    j->priority = 7;
    j->last_exec = 1200.25;
    j->first_start = 30;
    j->rounds_run = 9;
    j->rounds_demoted = 5;
    j->preemptions = 3;
    struct sched_job_saved want;
    sched_run_save(d->ledger, j, &want);
    assert_true(want.round_base > 0 && want.executed > want.round_base);
    commit(d);
    restart(fx);
    struct djob *got = deploy__find_job(fx->d, 1);
    assert_int_equal(got->state, DJ_RUNNING);
    assert_int_equal(got->launch, 4);
    assert_int_equal(got->crashes, 2);
    assert_true(got->lease_b == 1500);
    assert_int_equal(got->n_procs, 3);
    struct sched_job_saved sv;
    sched_run_save(fx->d->ledger, got->j, &sv);
    assert_int_equal(sv.executed, want.executed);
    assert_int_equal(sv.round_base, want.round_base);
    assert_true(sv.attained == want.attained);
    assert_int_equal(sv.priority, want.priority);
    assert_true(sv.last_exec == want.last_exec);
    assert_true(sv.first_start == want.first_start);
    assert_int_equal(sv.rounds_run, want.rounds_run);
    assert_int_equal(sv.rounds_demoted, want.rounds_demoted);
    assert_int_equal(sv.preemptions, want.preemptions);
    assert_int_equal(sv.placed_last_round, want.placed_last_round);
    teardown(fx);
}

/* One JobToScheduler call with the job's token; the status (-1: parked). */
static int call(struct deploy *d, const char *method, const ProtobufCMessage *req,
                const char *token)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = xmalloc(n + 1);
    protobuf_c_message_pack(req, buf);
    const char *md[] = {"synergy-job-token", token};
    struct rpc_local_call lc = {.peer = "ipv4:127.0.0.1:40000", .metadata = md,
                                .n_metadata = 1};
    char path[128];
    snprintf(path, sizeof path, "/JobToScheduler/%s", method);
    int st = rpc_server_call_local(d->srv, path, buf, n, &lc);
    free(buf);
    return st;
}

static int round_end(struct deploy *d, struct djob *dj, int rank, uint64_t steps)
{
    RoundEndRequest r = ROUND_END_REQUEST__INIT;
    r.job_id = (uint64_t)dj->spec->id;
    r.attempt = (uint32_t)dj->launch;
    r.rank_opt_case = ROUND_END_REQUEST__RANK_OPT_RANK;
    r.rank = (uint32_t)rank;
    r.num_steps = steps;
    return call(d, "RoundEnd", &r.base, dj->token);
}

static int lease_ended(struct deploy *d, struct djob *dj, int rank, uint64_t steps)
{
    LeaseEndedRequest r = LEASE_ENDED_REQUEST__INIT;
    r.job_id = (uint64_t)dj->spec->id;
    r.attempt = (uint32_t)dj->launch;
    r.rank_opt_case = LEASE_ENDED_REQUEST__RANK_OPT_RANK;
    r.rank = (uint32_t)rank;
    r.num_steps = steps;
    return call(d, "LeaseEnded", &r.base, dj->token);
}

static void test_slowest_process_credited(void **state)
{
    (void)state;
    struct fixture *fx = setup();
    struct deploy *d = fx->d;
    arrive_and_plan(d);
    struct djob *a = running(d, 0, 1, 2), *b = running(d, 1, 1, 2);
    assert_true(a->budget >= 150 && b->budget >= 80);
    /* job 0: two RoundEnds, the fast process first */
    assert_int_equal(round_end(d, a, 1, 150), -1);
    assert_int_equal(round_end(d, a, 0, 100), -1);
    /* job 1: both processes complete mid-round (stored, then answered) */
    assert_int_equal(lease_ended(d, b, 0, 80), RPC_STATUS_OK);
    assert_int_equal(lease_ended(d, b, 1, 60), RPC_STATUS_OK);
    pthread_mutex_lock(&d->mu);
    assert_true(deploy__round_ended(a) && deploy__round_ended(b));
    deploy__credit_round(d, 300);
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(a->j->executed, 100);
    assert_int_equal(b->j->executed, 60);
    teardown(fx);
}

int main(void)
{
    log_max_level = LOG_ERROR;
    struct err err = {{0}};
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (!zoo) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_attempt_killed),
        cmocka_unit_test(test_lost_launch_not_credited),
        cmocka_unit_test(test_saved_row_round_trip),
        cmocka_unit_test(test_slowest_process_credited),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    model_zoo_destroy(zoo);
    return rc;
}
