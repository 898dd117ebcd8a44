/*
 * worker_server: the bounds a worker keeps on the scheduler's calls (issue
 * 21, item 11), through the real handlers on an in-process server
 * (rpc_server_create_local: the request bytes are decoded as for a network
 * call). The launcher is a stand-in that records what would start, so no
 * process runs. Each check here is one a single-line weakening would break
 * (tests/mutation/mutants.tsv, W1-W5):
 *  - a plaintext worker whose scheduler is on another host obeys calls from
 *    that host only, never from 127.0.0.1 (KillJob, ExtendLease, RunJob);
 *  - under mutual TLS only the scheduler's identity is obeyed, exactly (a
 *    name that merely starts with it is refused);
 *  - a lease of 49 days is refused, in RunJob and in ExtendLease;
 *  - a GPU another live job holds is never given again, whichever of its
 *    GPUs it is and wherever it stands in the request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "synergy_worker.pb-c.h"
#include "worker.h"

static struct topo topo;
static catalog_t *cat;
static int launches;

/* above any pid_max: kill(-pid) reaches nothing */
#define NO_SUCH_PGID 0x7ffffff0

static int stand_in_launch(const struct launch_spec *sp, struct launch_result *res,
                           struct err *err)
{
    (void)sp;
    (void)err;
    memset(res, 0, sizeof *res);
    res->pid = NO_SUCH_PGID;
    launches++;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    log_max_level = LOG_ERROR;
    struct err err = {{0}};
    if (topo_probe(&topo, SYNERGY_SOURCE_DIR "/tests/topologies/2socket-smt-8gpu.xml", 8,
                   &err) < 0)
        return -1;
    cat = catalog_load(SYNERGY_SOURCE_DIR "/tests/deploy/catalog.ini", &err);
    return cat ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    catalog_destroy(cat);
    return 0;
}

struct fixture {
    struct worker_options o;
    struct worker *w;
    rpc_server_t *srv;
};

/* A stand-in for credentials: a TLS worker only tests them for NULL, and
 * in-process calls carry the identity their certificate would. */
static const char not_credentials;

static void start(struct fixture *f, const char *sched_addr, bool tls)
{
    memset(f, 0, sizeof *f);
    f->o = (struct worker_options){.sched_addr = sched_addr, .sched_port = 5000,
                                   .catalog_path = "catalog.ini",
                                   .run_dir = "/dev/null/worker-rpc-test", .server_id = -1,
                                   .no_cgroup = true, .sched_identity = "scheduler",
                                   .tls = tls ? (const void *)&not_credentials : NULL};
    f->w = worker_test_new(&f->o, &topo, cat, stand_in_launch);
    f->srv = rpc_server_create_local(tls);
    worker_add_service(f->w, f->srv);
}

static void stop(struct fixture *f)
{
    rpc_server_destroy(f->srv);
    worker_test_free(f->w);
}

static int call(struct fixture *f, const char *method, const ProtobufCMessage *req,
                const char *peer, const char *identity)
{
    uint8_t buf[1024];
    size_t n = protobuf_c_message_pack(req, buf);
    char path[128];
    snprintf(path, sizeof path, "/synergy.v1.SchedulerToWorker/%s", method);
    struct rpc_local_call lc = {.peer = peer, .identity = identity};
    return rpc_server_call_local(f->srv, path, buf, n, &lc);
}

static int run_job(struct fixture *f, uint64_t id, const uint32_t *gpus, size_t n_gpus,
                   uint32_t lease_ms, const char *peer, const char *identity)
{
    Synergy__V1__RunJobRequest r = SYNERGY__V1__RUN_JOB_REQUEST__INIT;
    r.version = 1;
    r.job_id = id;
    r.attempt = 1;
    r.model = "alexnet";
    r.gpus = (uint32_t *)gpus;
    r.n_gpus = n_gpus;
    r.cpus = 1;
    r.lease_ms = lease_ms;
    r.sched_addr = "127.0.0.1";
    r.sched_port = 5000;
    r.time_scale = 1;
    return call(f, "RunJob", &r.base, peer, identity);
}

static int kill_job(struct fixture *f, uint64_t id, const char *peer, const char *identity)
{
    Synergy__V1__KillJobRequest r = SYNERGY__V1__KILL_JOB_REQUEST__INIT;
    r.job_id = id;
    return call(f, "KillJob", &r.base, peer, identity);
}

static int extend(struct fixture *f, uint64_t id, uint32_t lease_ms, const char *peer,
                  const char *identity)
{
    Synergy__V1__ExtendLeaseRequest r = SYNERGY__V1__EXTEND_LEASE_REQUEST__INIT;
    r.job_id = id;
    r.lease_ms = lease_ms;
    return call(f, "ExtendLease", &r.base, peer, identity);
}

#define LOOPBACK "ipv4:127.0.0.1:40000"
#define REMOTE "ipv4:192.0.2.1:40000" /* TEST-NET-1: never an address of this machine */
#define DAYS_49_MS 4233600000u

/* A plaintext worker whose scheduler is 192.0.2.1 (another host): a caller
 * on this machine is not the scheduler, whatever it asks. */
static void plaintext_remote_scheduler(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "192.0.2.1", false);
    static const uint32_t g0[] = {0};
    launches = 0;
    assert_int_equal(run_job(&f, 1, g0, 1, 1000, REMOTE, NULL), RPC_STATUS_OK);
    assert_int_equal(launches, 1);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, NULL), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(extend(&f, 1, 1000, LOOPBACK, NULL), RPC_STATUS_PERMISSION_DENIED);
    static const uint32_t g1[] = {1};
    assert_int_equal(run_job(&f, 2, g1, 1, 1000, LOOPBACK, NULL), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(launches, 1);
    /* the scheduler's own address is obeyed */
    assert_int_equal(extend(&f, 1, 1000, REMOTE, NULL), RPC_STATUS_OK);
    assert_int_equal(kill_job(&f, 1, REMOTE, NULL), RPC_STATUS_OK);
    stop(&f);
    /* a scheduler on this machine (127.0.0.2): the kernel picks the source
     * address, so any local address is its */
    start(&f, "127.0.0.2", false);
    assert_int_equal(extend(&f, 1, 1000, LOOPBACK, NULL), RPC_STATUS_OK);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, NULL), RPC_STATUS_OK);
    assert_int_equal(kill_job(&f, 1, REMOTE, NULL), RPC_STATUS_PERMISSION_DENIED);
    stop(&f);
}

/* Under mutual TLS: the scheduler's identity, exactly. */
static void tls_identity_exact(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "127.0.0.1", true);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, "scheduler"), RPC_STATUS_OK);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, "scheduler-evil"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, "schedule"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(kill_job(&f, 1, LOOPBACK, "worker-0"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(extend(&f, 1, 1000, LOOPBACK, ""), RPC_STATUS_PERMISSION_DENIED);
    stop(&f);
}

/* The longest lease obeyed is 4 rounds (1 hour before registration): 49
 * days is refused, in a launch and in an extension; 1 hour is not. */
static void lease_bound(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "127.0.0.1", false);
    static const uint32_t g0[] = {0}, g1[] = {1};
    launches = 0;
    assert_int_equal(run_job(&f, 1, g0, 1, DAYS_49_MS, LOOPBACK, NULL),
                     RPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(run_job(&f, 1, g0, 1, 3600001, LOOPBACK, NULL), RPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(launches, 0);
    assert_int_equal(run_job(&f, 2, g1, 1, 3600000, LOOPBACK, NULL), RPC_STATUS_OK);
    assert_int_equal(launches, 1);
    assert_int_equal(extend(&f, 2, DAYS_49_MS, LOOPBACK, NULL), RPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(extend(&f, 2, 3600000, LOOPBACK, NULL), RPC_STATUS_OK);
    stop(&f);
}

/* Job 1 holds GPUs 0, 1 and 2: none of them goes to job 2, be it the
 * holder's first or a later one, first or later in the request. */
static void held_gpus(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "127.0.0.1", false);
    static const uint32_t held[] = {0, 1, 2};
    launches = 0;
    assert_int_equal(run_job(&f, 1, held, 3, 1000, LOOPBACK, NULL), RPC_STATUS_OK);
    static const uint32_t second[] = {1}, third_later[] = {5, 2}, first_later[] = {4, 6, 0},
                          free_ones[] = {3, 4};
    assert_int_equal(run_job(&f, 2, second, 1, 1000, LOOPBACK, NULL),
                     RPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(run_job(&f, 2, third_later, 2, 1000, LOOPBACK, NULL),
                     RPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(run_job(&f, 2, first_later, 3, 1000, LOOPBACK, NULL),
                     RPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(launches, 1);
    assert_int_equal(run_job(&f, 2, free_ones, 2, 1000, LOOPBACK, NULL), RPC_STATUS_OK);
    assert_int_equal(launches, 2);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plaintext_remote_scheduler),
        cmocka_unit_test(tls_identity_exact),
        cmocka_unit_test(lease_bound),
        cmocka_unit_test(held_gpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
