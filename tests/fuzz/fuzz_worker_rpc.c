/* libFuzzer harness: the worker's RPC handlers (worker_server/worker.c),
 * SchedulerToWorker RunJob, ExtendLease and KillJob, called directly on an
 * in-process server (rpc_server_create_local): the request bytes are decoded
 * by protobuf-c as for a network call and the real handlers run, on the
 * checked-in 2-socket topology with 8 simulated GPUs and the test catalog.
 * The one stand-in is the process launcher: instead of fork + exec it checks
 * what the handler would launch (a catalog argv, a full environment, CPUs of
 * this machine, none twice) and hands back a process group id no process can
 * have, so KillJob's kill(2) reaches nothing.
 *
 * Input: one setup byte (bit 0: mutual TLS), then calls, each
 * [method][caller][len lo][len hi][len bytes of request]:
 *   method % 3: RunJob ExtendLease KillJob
 *   caller bits 0-1: peer address: 127.0.0.1 (the scheduler's), 127.0.0.5
 *                    (this machine), 10.9.9.9, [::1]
 *          bits 2-3: certificate identity: scheduler, worker-0, admin, none */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_certs.h"
#include "rpc.h"
#include "worker.h"

static struct topo topo;
static catalog_t *cat;
static rpc_tls_t *creds;
static const char *const methods[] = {
    "/synergy.v1.SchedulerToWorker/RunJob",
    "/synergy.v1.SchedulerToWorker/ExtendLease",
    "/synergy.v1.SchedulerToWorker/KillJob",
};

/* above any pid_max (2^22): kill(-pid) finds no such group */
#define NO_SUCH_PGID 0x7ffffff0

static int stand_in_launch(const struct launch_spec *sp, struct launch_result *res,
                           struct err *err)
{
    (void)err;
    if (!sp->argv || !sp->argv[0] || !sp->envp || sp->n_cpus < 1 || sp->n_cpus > TOPO_MAX_CPUS)
        abort();
    bool seen[TOPO_MAX_CPUS] = {false};
    for (int i = 0; i < sp->n_cpus; i++) {
        if (sp->cpus[i] < 0 || sp->cpus[i] >= TOPO_MAX_CPUS || seen[sp->cpus[i]])
            abort();
        seen[sp->cpus[i]] = true;
    }
    for (char *const *e = sp->envp; *e; e++)
        if (!strchr(*e, '='))
            abort();
    memset(res, 0, sizeof *res);
    res->pid = NO_SUCH_PGID;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_max_level = LOG_ERROR;
    struct err err = {{0}};
    if (topo_probe(&topo, SYNERGY_SOURCE_DIR "/tests/topologies/2socket-smt-8gpu.xml", 8,
                   &err) < 0 ||
        !(cat = catalog_load(SYNERGY_SOURCE_DIR "/tests/deploy/catalog.ini", &err))) {
        fprintf(stderr, "fuzz_worker_rpc: %s\n", err.msg);
        exit(1);
    }
    creds = fuzz_tls_make("worker-0");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool tls = data[0] & 1;
    /* a run directory that cannot be made: the handler's mkdirs fail quietly */
    struct worker_options o = {.sched_addr = "127.0.0.1", .sched_port = 5000,
                               .catalog_path = "catalog.ini", .run_dir = "/dev/null/fuzz-run",
                               .server_id = -1, .no_cgroup = true,
                               .tls = tls ? creds : NULL,
                               .sched_identity = "scheduler"};
    struct worker *w = worker_test_new(&o, &topo, cat, stand_in_launch);
    rpc_server_t *srv = rpc_server_create_local(tls);
    worker_add_service(w, srv);
    static const char *const peers[] = {"ipv4:127.0.0.1:40000", "ipv4:127.0.0.5:40001",
                                        "ipv4:10.9.9.9:40002", "ipv6:[::1]:40003"};
    static const char *const ids[] = {"scheduler", "worker-0", "admin", ""};
    size_t at = 1;
    for (int calls = 0; calls < 64 && at + 4 <= size; calls++) {
        uint8_t m = data[at], who = data[at + 1];
        size_t len = (size_t)data[at + 2] | (size_t)data[at + 3] << 8;
        at += 4;
        if (len > size - at)
            len = size - at;
        struct rpc_local_call lc = {.peer = peers[who & 3], .identity = ids[(who >> 2) & 3]};
        rpc_server_call_local(srv, methods[m % 3], data + at, len, &lc);
        at += len;
    }
    rpc_server_destroy(srv);
    worker_test_free(w);
    return 0;
}
