/* libFuzzer harness: the scheduler's admin service (deploy/deploy_admin.c,
 * synergy.admin.v1.Admin: Submit, Queue, Cancel, Nodes), called directly on
 * an in-process server (rpc_server_create_local): the request bytes are
 * decoded by protobuf-c exactly as for a network call, the real handler runs
 * against a real deployment's state (deploy__new: ledger, job and worker
 * tables, an in-memory state file), its response is packed; and between
 * calls the round loop's own steps on that state: merging submissions into
 * the job table, arrivals, cancellations, the commit that answers parked
 * Submits. No network, no round loop thread.
 *
 * Input: one setup byte (bit 0: mutual TLS, bit 1: plaintext admin calls
 * allowed (a loopback listener), bit 2: the round loop has a state
 * transaction open, so Submits park until its commit), then calls, each
 * [method][caller][len lo][len hi][len bytes of request]:
 *   method % 5: Submit Queue Cancel Nodes, 4 = a round boundary (merge the
 *               submissions, arrive them, cancel, commit; no request)
 *   caller bits 0-1: certificate identity: admin, worker-0, "", ops (an admin)
 * Before the calls, trace jobs 0 and 1 have arrived (0 runs on server 0),
 * job 2 is still to arrive, worker 0 is registered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_internal.h"
#include "fuzz_certs.h"
#include "policies.h"
#include "rpc.h"

static model_zoo_t *zoo;
static rpc_tls_t *tls;
static const struct job_spec specs[] = {
    {0, "alexnet", 0, 3000, 4},
    {1, "res18", 0, 6000, 2},
    {2, "alexnet", 1e6, 2000, 8},
};
static const struct deploy_worker_addr rows[] = {
    {"127.0.0.1", 5001, 0, 0, 1, "worker-0"},
    {"127.0.0.2", 5002, 0, 0, 1, "worker-1"},
};
static char *admins[] = {"admin", "ops"};
static const char *const methods[] = {
    "/synergy.admin.v1.Admin/Submit",
    "/synergy.admin.v1.Admin/Queue",
    "/synergy.admin.v1.Admin/Cancel",
    "/synergy.admin.v1.Admin/Nodes",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_max_level = LOG_ERROR;
    rpc_global_init();
    struct err err = {{0}};
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (!zoo) {
        fprintf(stderr, "fuzz_admin_rpc: %s\n", err.msg);
        exit(1);
    }
    tls = fuzz_tls_make("scheduler");
    return 0;
}

/* What the round loop does at a boundary, minus planning: submissions join
 * jobs[], arrivals up to the logical now enter the ledger, cancellations,
 * and the commit that answers parked Submits and Cancels. Under d->mu. */
static void boundary(struct deploy *d, bool txn)
{
    struct err err = {{0}};
    deploy__admin_merge(d);
    while (d->next_arrival < d->n_jobs && d->jobs[d->next_arrival].spec->arrival <= 1e5) {
        struct djob *dj = &d->jobs[d->next_arrival++];
        if (deploy__admin_cancelled_before_arrival(d, dj))
            continue;
        dj->j = sched_run_arrive(d->ledger, dj->spec, &err);
        if (!dj->j)
            abort(); /* a submission the service accepted must be a valid job */
        dj->state = DJ_QUEUED;
    }
    deploy__admin_cancel(d);
    if (txn) {
        deploy__commit(d, NULL);
        deploy_state_begin(d->db, NULL);
    }
}

static struct deploy *setup(struct deploy_config *cfg, uint8_t flags)
{
    static struct synergy_config conf;
    synergy_config_defaults(&conf);
    conf.cluster.racks = 1;
    conf.cluster.servers_per_rack = 2;
    struct sched_overrides ov = {.policy = "LAS", .mode = "tune"};
    struct err err = {{0}};
    if (sched_params_build(&conf, &ov, sched_policies, &cfg->sched, &err) < 0)
        abort();
    cfg->zoo = zoo;
    cfg->jobs = specs;
    cfg->n_jobs = sizeof specs / sizeof *specs;
    cfg->workers = rows;
    cfg->n_workers = 2;
    cfg->time_scale = 100;
    cfg->heartbeat_ms = 200;
    cfg->worker_timeout_ms = 1500;
    cfg->max_retries = 3;
    cfg->tls = flags & 1 ? tls : NULL;
    cfg->admin_plaintext = flags & 2;
    cfg->admins = admins;
    cfg->n_admins = 2;
    struct deploy_stats *st = xcalloc(1, sizeof *st);
    struct deploy *d = deploy__new(cfg, st, &err);
    if (!d)
        abort();
    for (size_t i = 0; i < 2; i++) {
        d->jobs[i].j = sched_run_arrive(d->ledger, d->jobs[i].spec, &err);
        d->jobs[i].state = DJ_QUEUED;
    }
    d->next_arrival = 2;
    struct djob *dj = &d->jobs[0];
    deploy__lease_tables(dj);
    dj->state = DJ_RUNNING;
    dj->launch = 1;
    dj->n_ranks = 1;
    dj->ranks[0].server = 0;
    dj->ranks[0].n_gpus = 4;
    for (int g = 0; g < 4; g++)
        dj->ranks[0].gpus[g] = g;
    dj->ranks[0].cpus = 12;
    dj->ranks[0].mem = 100;
    d->reg.workers[0].registered = true;
    d->reg.workers[0].last_hb_ns = mono_ns();
    d->adm.accepting = true;
    deploy__admin_init(d);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct deploy_config cfg = {0};
    bool txn = data[0] & 4;
    struct deploy *d = setup(&cfg, data[0]);
    struct deploy_stats *st = d->st;
    d->srv = rpc_server_create_local(cfg.tls != NULL);
    deploy__add_services(d, d->srv);
    if (txn)
        deploy_state_begin(d->db, NULL);
    static const char *const ids[] = {"admin", "worker-0", "", "ops"};
    size_t at = 1;
    for (int calls = 0; calls < 64 && at + 4 <= size; calls++) {
        uint8_t m = data[at] % 5, who = data[at + 1];
        size_t len = (size_t)data[at + 2] | (size_t)data[at + 3] << 8;
        at += 4;
        if (len > size - at)
            len = size - at;
        if (m == 4) {
            pthread_mutex_lock(&d->mu);
            boundary(d, txn);
            pthread_mutex_unlock(&d->mu);
            continue;
        }
        struct rpc_local_call lc = {.peer = "ipv4:127.0.0.1:40000", .identity = ids[who & 3]};
        rpc_server_call_local(d->srv, methods[m], data + at, len, &lc);
        at += len;
    }
    /* the end of a run: the last commit answers the Submits still parked */
    pthread_mutex_lock(&d->mu);
    deploy__commit(d, NULL); /* answers what is parked (nothing without txn) */
    d->adm.accepting = false;
    pthread_mutex_unlock(&d->mu);
    deploy__free(d);
    free(st);
    return 0;
}
