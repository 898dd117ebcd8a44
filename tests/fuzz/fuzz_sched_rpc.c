/* libFuzzer harness: the scheduler's RPC handlers (deploy/deploy_rpc.c),
 * JobToScheduler and WorkerToScheduler, called directly on an in-process
 * server (rpc_server_create_local): the request bytes are decoded by
 * protobuf-c exactly as for a network call, the real handler runs against a
 * real deployment's state (deploy__new: ledger, job and worker tables, an
 * in-memory state file), and its response is packed. No network, no round
 * loop.
 *
 * Input: one setup byte (bit 0: mutual TLS, bit 1: --allow-legacy-jobs),
 * then calls, each [method][caller][len lo][len hi][len bytes of request]:
 *   method % 7: RegisterJob UpdateIters RoundEnd LeaseEnded RegisterWorker
 *               Heartbeat JobExited
 *   caller bits 0-1: job token sent: none, job (bits 2-3)'s current one,
 *                    its previous one, a wrong one
 *          bits 4-5: peer address: worker 0's, worker 1's, a stranger's
 *          bits 6-7: certificate identity: worker-0, worker-1, admin, none
 * Before the calls, jobs 0, 1 and 3 run (3 in its second attempt, so it has
 * a previous token), job 2 is queued, worker 0 is registered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy_internal.h"
#include "fuzz_certs.h"
#include "policies.h"
#include "rpc.h"

static model_zoo_t *zoo;
static rpc_tls_t *tls;
static const struct job_spec specs[] = {
    {0, "alexnet", 0, 3000, 4},
    {1, "res18", 0, 6000, 4},
    {2, "alexnet", 300, 2000, 8},
    {3, "res18", 600, 4000, 2},
};
static const struct deploy_worker_addr rows[] = {
    {"127.0.0.1", 5001, 0, 0, 1, "worker-0"},
    {"127.0.0.2", 5002, 0, 0, 1, "worker-1"},
};
static const char *const methods[] = {
    "/JobToScheduler/RegisterJob",
    "/JobToScheduler/UpdateIters",
    "/JobToScheduler/RoundEnd",
    "/JobToScheduler/LeaseEnded",
    "/synergy.v1.WorkerToScheduler/RegisterWorker",
    "/synergy.v1.WorkerToScheduler/Heartbeat",
    "/synergy.v1.WorkerToScheduler/JobExited",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_max_level = LOG_ERROR;
    rpc_global_init(); /* kept for the whole run: channels made by RegisterWorker */
    struct err err = {{0}};
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (!zoo) {
        fprintf(stderr, "fuzz_sched_rpc: %s\n", err.msg);
        exit(1);
    }
    /* real certificates, so that a channel made under TLS is a real one */
    tls = fuzz_tls_make("scheduler");
    return 0;
}

/* Put job `id` in the running state on `server` with attempt `launch`. */
static void run_job(struct deploy *d, int id, int server, int launch)
{
    struct djob *dj = deploy__find_job(d, (uint64_t)id);
    deploy__lease_tables(dj);
    for (int a = 1; a <= launch; a++) {
        dj->launch = a;
        deploy__job_token(dj);
    }
    dj->state = DJ_RUNNING;
    dj->n_ranks = 1;
    dj->n_procs = 1;
    dj->ranks[0].server = server;
    dj->ranks[0].n_gpus = dj->spec->gpus;
    for (int g = 0; g < dj->spec->gpus; g++)
        dj->ranks[0].gpus[g] = g;
    dj->budget = 500;
    dj->lease_ours = true;
    dj->launched_ns = mono_ns();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct synergy_config conf;
    synergy_config_defaults(&conf);
    conf.cluster.racks = 1;
    conf.cluster.servers_per_rack = 2;
    struct deploy_config cfg = {0};
    struct sched_overrides ov = {.policy = "LAS", .mode = "tune"};
    struct err err = {{0}};
    if (sched_params_build(&conf, &ov, sched_policies, &cfg.sched, &err) < 0)
        abort();
    cfg.zoo = zoo;
    cfg.jobs = specs;
    cfg.n_jobs = sizeof specs / sizeof *specs;
    cfg.workers = rows;
    cfg.n_workers = 2;
    cfg.time_scale = 100;
    cfg.heartbeat_ms = 200;
    cfg.worker_timeout_ms = 1500;
    cfg.max_retries = 3;
    cfg.tls = data[0] & 1 ? tls : NULL;
    cfg.allow_legacy_jobs = data[0] & 2;
    struct deploy_stats st = {0};
    struct deploy *d = deploy__new(&cfg, &st, &err);
    if (!d)
        abort();
    for (size_t i = 0; i < d->n_jobs; i++)
        d->jobs[i].j = sched_run_arrive(d->ledger, d->jobs[i].spec, &err);
    run_job(d, 0, 0, 1);
    run_job(d, 1, 0, 1);
    run_job(d, 3, 1, 2);
    deploy__find_job(d, 2)->state = DJ_QUEUED;
    d->reg.workers[0].registered = true;
    snprintf(d->reg.workers[0].peer_ip, sizeof d->reg.workers[0].peer_ip, "127.0.0.1");
    d->reg.workers[0].last_hb_ns = mono_ns();
    d->reg.workers[0].n_gpus = 8;
    d->srv = rpc_server_create_local(cfg.tls != NULL);
    deploy__add_services(d, d->srv);

    static const char *const peers[] = {"ipv4:127.0.0.1:40000", "ipv4:127.0.0.2:40001",
                                        "ipv4:10.9.9.9:40002", "ipv4:127.0.0.1:40003"};
    static const char *const ids[] = {"worker-0", "worker-1", "admin", ""};
    size_t at = 1;
    for (int calls = 0; calls < 64 && at + 4 <= size; calls++) {
        uint8_t m = data[at], who = data[at + 1];
        size_t len = (size_t)data[at + 2] | (size_t)data[at + 3] << 8;
        at += 4;
        if (len > size - at)
            len = size - at;
        char token[40] = "";
        static const int job_of[] = {0, 1, 3, 2};
        pthread_mutex_lock(&d->mu);
        struct djob *dj = deploy__find_job(d, (uint64_t)job_of[(who >> 2) & 3]);
        switch (who & 3) {
        case 1: snprintf(token, sizeof token, "%s", dj->token); break;
        case 2: snprintf(token, sizeof token, "%s", dj->prev_token); break;
        case 3: snprintf(token, sizeof token, "00112233445566778899aabbccddeeff"); break;
        }
        pthread_mutex_unlock(&d->mu);
        const char *md[] = {"synergy-job-token", token};
        struct rpc_local_call lc = {.peer = peers[(who >> 4) & 3], .identity = ids[who >> 6],
                                    .metadata = md, .n_metadata = (who & 3) ? 1 : 0};
        rpc_server_call_local(d->srv, methods[m % 7], data + at, len, &lc);
        at += len;
    }
    /* what the round loop does at the end: nothing stays parked */
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_jobs; i++)
        deploy__answer_parked(&d->jobs[i], true);
    pthread_mutex_unlock(&d->mu);
    deploy__free(d);
    return 0;
}
