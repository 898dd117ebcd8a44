/*
 * A deployment's state for unit tests of the scheduler's handlers: a real
 * deploy__new (ledger, job table, an in-memory state file) over a 2-server,
 * 8-GPU cluster with the jobs `specs` arrived, and an in-process RPC server
 * (rpc_server_create_local) with every service registered. Included by one
 * test file each (static functions).
 */
#ifndef SYNERGY_TEST_DEPLOY_FIXTURE_H
#define SYNERGY_TEST_DEPLOY_FIXTURE_H

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
#include "policies.h"
#include "rpc.h"

static model_zoo_t *zoo;
static const struct job_spec specs[] = {
    {.id = 0, .model = "alexnet", .arrival = 0, .iterations = 3000, .gpus = 4},
    {.id = 1, .model = "res18", .arrival = 0, .iterations = 6000, .gpus = 4},
};
static const struct deploy_worker_addr rows[] = {
    {"127.0.0.1", 5001, 0, 0, 1, "worker-0"},
    {"127.0.0.2", 5002, 0, 0, 1, "worker-1"},
};
static char *admins[] = {"admin"};

struct fixture {
    struct synergy_config conf;
    struct deploy_config cfg;
    struct deploy_stats st;
    struct deploy *d;
    rpc_tls_t *tls;
};

/* A CA, certificate and key that rpc_tls_load accepts: the in-process
 * server never handshakes, it only needs to be a TLS server. */
static rpc_tls_t *fake_tls(void)
{
    char dir[] = "/tmp/synergy-auth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ca[64], key[64];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(key, sizeof key, "%s/k.pem", dir);
    FILE *f = fopen(ca, "w");
    fputs("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    f = fopen(key, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    struct err err = {{0}};
    rpc_tls_t *t = rpc_tls_load(ca, ca, key, &err);
    unlink(ca);
    unlink(key);
    rmdir(dir);
    assert_non_null(t);
    return t;
}

/* cfg_fn (may be NULL) adjusts the config before deploy__new. */
static struct fixture *setup_with(bool tls, void (*cfg_fn)(struct deploy_config *cfg))
{
    struct fixture *fx = xcalloc(1, sizeof *fx);
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
    if (tls)
        fx->tls = fake_tls();
    cfg->tls = fx->tls;
    cfg->admins = admins;
    cfg->n_admins = 1;
    cfg->admin_plaintext = true;
    if (cfg_fn)
        cfg_fn(cfg);
    fx->d = deploy__new(cfg, &fx->st, &err);
    assert_non_null(fx->d);
    struct deploy *d = fx->d;
    for (size_t i = 0; i < d->n_jobs; i++) {
        d->jobs[i].j = sched_run_arrive(d->ledger, d->jobs[i].spec, &err);
        d->jobs[i].state = DJ_QUEUED;
    }
    d->next_arrival = d->n_jobs;
    d->srv = rpc_server_create_local(tls);
    deploy__add_services(d, d->srv);
    return fx;
}

static struct fixture *setup(bool tls)
{
    return setup_with(tls, NULL);
}

static void teardown(struct fixture *fx)
{
    pthread_mutex_lock(&fx->d->mu);
    for (size_t i = 0; i < fx->d->n_jobs; i++)
        deploy__answer_parked(&fx->d->jobs[i], true);
    pthread_mutex_unlock(&fx->d->mu);
    deploy__free(fx->d);
    rpc_tls_free(fx->tls);
    free(fx);
}

#endif
