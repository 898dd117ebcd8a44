/*
 * `synergy worker`: the worker server of a deployment (worker_server/).
 */
#include "cli.h"
#include "options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "trace.h"
#include "worker.h"


static bool gpu_type_ok(const char *s)
{
    char buf[64];
    return strlen(s) < WORKER_GPU_TYPE && trace_parse_gpu_types(s, buf) == 0 && !strchr(s, '|') &&
           !strchr(s, ',');
}

int cmd_worker(int argc, char **argv)
{
    struct worker_options o = {.listen_ip = "127.0.0.1", .sim_gpus = -1,
                               .run_dir = "synergy-run", .register_timeout_ms = 0,
                               .server_id = -1};
    static char host[256];
    long v;
    int c;
    const char *tls_ca = NULL, *tls_cert = NULL, *tls_key = NULL;
    bool insecure = false;
    struct cli_parser p;
    cli_parser_init(&p, CLI_WORKER, argc, argv);
    log_format_set("auto");
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_SCHEDULER: {
            const char *colon = strrchr(p.arg, ':');
            if (!colon || colon == p.arg || (size_t)(colon - p.arg) >= sizeof host ||
                parse_long(colon + 1, &v) < 0 || v < 1 || v > 65535)
                return cli_bad(&p, "--scheduler: '%s' must be HOST:PORT", p.arg);
            memcpy(host, p.arg, (size_t)(colon - p.arg));
            host[colon - p.arg] = '\0';
            o.sched_addr = host;
            o.sched_port = (int)v;
            break;
        }
        case OPT_CATALOG: o.catalog_path = p.arg; break;
        case OPT_LISTEN: o.listen_ip = p.arg; break;
        case OPT_PORT: o.port = (int)p.lnum; break;
        case OPT_TOPOLOGY: o.topology_xml = p.arg; break;
        case OPT_GPUS:
            if (p.lnum > TOPO_MAX_GPUS)
                return cli_bad(&p, "--gpus: '%s' must be 0..%d", p.arg, TOPO_MAX_GPUS);
            o.sim_gpus = (int)p.lnum;
            break;
        case OPT_RUN_DIR: o.run_dir = p.arg; break;
        case OPT_VERBOSE: log_max_level = LOG_DEBUG; break;
        case OPT_LOG_FORMAT:
            if (log_format_set(p.arg) < 0)
                return cli_bad(&p, "--log-format: '%s' must be rfc3339, journal or plain", p.arg);
            break;
        case OPT_CPU_UNIT:
            if (strcmp(p.arg, "core") == 0)
                o.cpu_unit = TOPO_UNIT_CORE;
            else if (strcmp(p.arg, "thread") == 0)
                o.cpu_unit = TOPO_UNIT_THREAD;
            else
                return cli_bad(&p, "--cpu-unit: '%s' must be core or thread", p.arg);
            break;
        case OPT_RESERVE_CPUS: o.reserve_cpus = p.arg; break;
        case OPT_GPU_TYPE:
            if (!gpu_type_ok(p.arg))
                return cli_bad(&p, "--gpu-type: '%s' must be 1 to %d letters, digits, '-', '_' "
                                   "or '.'", p.arg, WORKER_GPU_TYPE - 1);
            o.gpu_type = p.arg;
            break;
        case OPT_SERVER_ID: o.server_id = (int)p.lnum; break;
        case OPT_NO_CGROUP: o.no_cgroup = true; break;
        case OPT_TLS_CA: tls_ca = p.arg; break;
        case OPT_TLS_CERT: tls_cert = p.arg; break;
        case OPT_TLS_KEY: tls_key = p.arg; break;
        case OPT_INSECURE: insecure = true; break;
        case OPT_SCHEDULER_IDENTITY: o.sched_identity = p.arg; break;
        case OPT_JOB_USER: o.job_user = p.arg; break;
        case OPT_JOB_USERS: o.job_users = p.arg; break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    if (!o.sched_addr)
        return cli_bad(&p, "--scheduler HOST:PORT is required");
    static char catalog[4096];
    if (!o.catalog_path) /* as deploy --local and profile do */
        o.catalog_path = cli_data_path(catalog, sizeof catalog, "configs/deploy_catalog.ini");
    struct err derr = {{0}};
    if (o.catalog_path == catalog && cli_data_check(catalog, "--catalog", &derr) < 0)
        return cli_bad(&p, "%s", derr.msg);
    if (insecure && (tls_ca || tls_cert || tls_key)) {
        fprintf(stderr, "synergy worker: --insecure and --tls-* exclude each other\n");
        return EXIT_BAD_INPUT;
    }
    if (!insecure && !(tls_ca && tls_cert && tls_key)) {
        fprintf(stderr, "synergy worker: give --tls-ca, --tls-cert and --tls-key (mutual TLS), "
                        "or --insecure for plaintext\n");
        return EXIT_BAD_INPUT;
    }
    rpc_tls_t *tls = NULL;
    if (!insecure) {
        struct err err = {{0}};
        tls = rpc_tls_load(tls_ca, tls_cert, tls_key, &err);
        if (!tls) {
            fprintf(stderr, "%s\n", err.msg);
            return EXIT_BAD_INPUT;
        }
        o.tls = tls;
        static char ca_abs[4096];
        o.tls_ca_path = realpath(tls_ca, ca_abs) ? ca_abs : tls_ca; /* jobs run elsewhere */
    }
    int rc = worker_main(&o);
    rpc_tls_free(tls);
    return rc;
}
