/*
 * `synergy deploy`: the scheduler server of a deployment. Same cluster INI,
 * policy and mode as `simulate`, plus the workers (a workers file, or
 * --local N to start N workers on 127.0.0.1 next to it) and a time scale.
 * With --json it prints the same summary object as `simulate --json`, with a
 * "deploy" object of its own added at the end.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "client_config.h"
#include "deploy.h"
#include "deploy_local.h"
#include "metrics.h"
#include "notify.h"
#include "policies.h"
#include "rpc.h"
#include "results.h"
#include "trace.h"
#include "worker.h"
#include "workload_cli.h"

struct deploy_opts {
    char def_cluster[4096], def_catalog[4096];
    const char *cluster, *catalog, *trace, *workers_path, *topology, *run_dir, *profiles;
    const char *state, *plan_log, *listen_ip, *advertise, *metrics_listen, *jobs_csv;
    const char *record, *db;
    const char *tls_ca, *tls_cert, *tls_key, *job_user, *admins, *tenants;
    bool insecure, allow_legacy, is_static, json, verbose, fresh, any_tls, write_client;
    long local, port, retries, hb, wto, wait_workers; /* hb, wto: 0 unless given */
    long max_queued, submit_rate, submit_burst; /* 0 unless given; submit_rate -1: none */
    long measure_lo, measure_hi; /* --measure (hi <= lo: every job) */
    double scale;
    double kill_wait_s; /* --kill-wait (unscaled) */
    struct sched_overrides ov; /* --policy, --mode, --placement, --round-duration, OPT */
    struct wl_opts wl;
    int argc;                  /* the command line, for the --db batch */
    char **argv;
};

/* What one deployment holds while it runs; released by deploy_env_free. */
struct deploy_env {
    struct synergy_config conf;
    struct deploy_config cfg;
    model_zoo_t *zoo;
    struct job_spec *specs;
    size_t n_specs;
    struct deploy_worker_addr *addrs;
    size_t n_addrs;
    struct deploy_local lw;
    const char *listen_ip;
    FILE *plan;
    const struct deploy_stats *stats; /* deploy_run's, while it runs (on_listening) */
    metrics_t *metrics;
    rpc_tls_t *tls;
    char tmp_dir[32];
    char adv_buf[300], self_user[64];
    store_t *st;                  /* --db */
    struct deploy_state *state;   /* --state, locked for the run */
    struct results_rounds rounds; /* --db: the planned rounds (deploy_config.on_sample) */
    bool progress;                /* a line every 10 s (the first at 2 s) on a terminal, not -v */
    double last_progress;
    char **admins;
    size_t n_admins;
    struct tenants_config *tenants; /* --tenants */
    const struct deploy_opts *o;
};

/* A service (no --trace) stops at SIGTERM or SIGINT. */
static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static bool loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

/* The admin service: who may call it. 0, or an exit code. */
static int deploy_admin_setup(const struct deploy_opts *o, struct deploy_env *e,
                              struct err *err)
{
    if (o->admins && deploy_admins_read(o->admins, &e->admins, &e->n_admins, err) < 0)
        return EXIT_BAD_INPUT;
    e->cfg.admins = e->admins;
    e->cfg.n_admins = e->n_admins;
    e->cfg.admin_plaintext = !e->tls && loopback(o->listen_ip);
    e->cfg.service = !o->trace;
    e->cfg.stop = &stop_flag;
    if (e->tls)
        fprintf(stderr, "synergy deploy: admin service (submit, queue, cancel, nodes): %zu "
                        "admin identit%s from %s\n", e->n_admins, e->n_admins == 1 ? "y" : "ies",
                o->admins ? o->admins : "(no --admins: nobody)");
    else if (e->cfg.admin_plaintext)
        fprintf(stderr, "synergy deploy: admin service in PLAINTEXT on loopback: any local "
                        "user may submit, list and cancel jobs\n");
    else
        fprintf(stderr, "synergy deploy: admin service refuses every call: plaintext on a "
                        "non-loopback address (use --tls-* and --admins)\n");
    if (o->admins && !e->tls)
        fprintf(stderr, "synergy deploy: --admins is unused without mutual TLS\n");
    return 0;
}

/* The admin clients' line to export (and, asked for, their client.ini):
 * the address this service takes submit, queue, cancel and nodes on. */
static void deploy_client_hint(const struct deploy_env *e, int port)
{
    const struct deploy_opts *o = e->o;
    if (!e->tls && !e->cfg.admin_plaintext)
        return; /* it refuses every admin call */
    char hp[320], ca[4096] = "";
    snprintf(hp, sizeof hp, "%s:%d", e->cfg.advertise, port);
    if (e->tls && !realpath(o->tls_ca, ca))
        snprintf(ca, sizeof ca, "%s", o->tls_ca);
    fprintf(stderr, "synergy deploy: for submit, queue, cancel and nodes: export "
                    "SYNERGY_SCHEDULER=%s%s%s\n", hp, ca[0] ? " SYNERGY_TLS_CA=" : "", ca);
    if (!o->write_client)
        return;
    char path[4096];
    struct err err = {{0}};
    if (!client_config_user_path(path, sizeof path)[0])
        fprintf(stderr, "synergy deploy: --write-client-config: neither HOME nor "
                        "XDG_CONFIG_HOME is set\n");
    else if (client_config_write(path, hp, ca[0] ? ca : NULL, &err) < 0)
        fprintf(stderr, "synergy deploy: --write-client-config: %s\n", err.msg);
    else
        fprintf(stderr, "synergy deploy: wrote %s (scheduler = %s)\n", path, hp);
}

/* Once the server listens: say where (READY=1 to a service manager), then
 * start the --local workers. */
static void on_listening(void *ctx, int port)
{
    struct deploy_env *e = ctx;
    fprintf(stderr, "synergy deploy: listening on %s port %d; workers and jobs call %s:%d\n",
            e->listen_ip, port, e->cfg.advertise, port);
    notify_ready("listening on %s:%d; waiting for %zu worker(s)", e->listen_ip, port,
                 e->n_addrs);
    deploy_client_hint(e, port);
    if (e->stats && e->stats->resumed)
        fprintf(stderr, "synergy deploy: continuing the run from %s (round %zu, %zu job%s, %zu "
                        "running)\n", e->o->state, e->stats->resumed_rounds,
                e->stats->resumed_jobs, e->stats->resumed_jobs == 1 ? "" : "s",
                e->stats->resumed_running);
    if (deploy_local_start(&e->lw, port) < 0)
        fprintf(stderr, "synergy deploy: cannot start the local workers: /proc/self/exe "
                        "unreadable\n");
}

/* The run is over, the server still answers: stop the --local workers now,
 * so that none of them sees its scheduler go away. */
static void on_finished(void *ctx)
{
    struct deploy_env *e = ctx;
    deploy_local_stop(&e->lw);
}

/* Ctrl-C (or SIGTERM) of a deploy --local with a trace: stop its workers
 * (and so their jobs) before dying of the signal, so nothing outlives it. */
static const struct deploy_local *interrupt_lw;

static void on_interrupt(int sig)
{
    static const char msg[] = "\nsynergy deploy: interrupted; stopping the local workers\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    if (interrupt_lw)
        deploy_local_interrupt(interrupt_lw);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --db: every planned round, handed over at the end of the run */
static void on_sample(void *ctx, const struct sched_round_sample *s)
{
    struct deploy_env *e = ctx;
    if (e->st)
        results_rounds_add(&e->rounds, s);
}

/* On a terminal, while the run goes: whole lines, as log lines interleave */
static void on_round(void *ctx, size_t round, const struct sched_round_sample *s)
{
    struct deploy_env *e = ctx;
    double t = mono_s();
    if (t - e->last_progress < 10)
        return;
    e->last_progress = t;
    fprintf(stderr, "synergy deploy: %.2f h on the run's clock, round %zu: %zu running, %zu "
                    "waiting\n", s->now / 3600, round, s->placed, s->runnable - s->placed);
}

/* --db: the deployment as one complete run of the results store (batch kind
 * "deploy"), described like a simulation of the same trace and settings so
 * that `report` puts the two side by side. 0, or 1 with err. */
static int deploy_store(const struct deploy_opts *o, struct deploy_env *e,
                        const struct sched_result *res, double wall, struct err *err)
{
    char cmdline[4096], models[4096];
    cli_command_line(cmdline, sizeof cmdline, o->argc, o->argv, "deploy");
    int64_t batch = store_batch_insert(e->st, "deploy", cmdline, err);
    if (batch < 0)
        return 1;
    struct sim_config sc = {.sched = e->cfg.sched, .is_static = o->is_static};
    struct store_run row = {.batch_id = batch};
    /* a service's workload is what it recorded (or was submitted online) */
    const char *workload = o->trace ? o->trace : o->record ? o->record : "online";
    results_run_describe(&row, &sc, workload, &o->wl.synth, o->cluster,
                         wl_models_describe(&o->wl, models, sizeof models),
                         o->profiles ? o->profiles : e->conf.profiles,
                         sc.sched.placement == PLACEMENT_CONSOLIDATE ? "consolidate"
                                                                     : "first-fit");
    if (o->wl.arrival)
        snprintf(row.arrival, sizeof row.arrival, "%s", o->wl.arrival);
    const struct cluster_config *c = &e->conf.cluster;
    if (o->local && o->cluster == o->def_cluster) { /* local_cluster(): not the file's */
        free(row.cluster_ini);
        row.cluster_ini = xmalloc(512);
        snprintf(row.cluster_ini, 512, "[CLUSTER]\nracks = %d\nservers_per_rack = %d\n"
                 "gpus_per_server = %d\ncpus_per_server = %d\ndram_per_server = %d\n"
                 "sspeed_per_server = %d\nnet_per_server = %d\n", c->racks,
                 c->servers_per_rack, c->gpus_per_server, c->cpus_per_server,
                 c->dram_per_server, c->sspeed_per_server, c->net_per_server);
        snprintf(row.cluster, sizeof row.cluster, "--local %ld", o->local);
    }
    int rc = store_run_insert(e->st, &row, err) < 0 ||
             results_run_complete(e->st, &row, res, &e->rounds, wall, err) < 0;
    if (!rc && !o->json)
        printf("recorded in %s (batch %lld, run %lld)\n", o->db, (long long)batch,
               (long long)row.id);
    free(row.cluster_ini);
    return rc;
}

/* The flags into o. -1 to go on, else the exit code. */
static int deploy_parse(struct deploy_opts *o, int argc, char **argv)
{
    struct cli_parser p;
    int c;
    cli_parser_init(&p, CLI_DEPLOY, argc, argv);
    log_format_set("auto");
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_TRACE: o->trace = p.arg; break;
        case OPT_DEPLOY_WORKERS: o->workers_path = p.arg; break;
        case OPT_LOCAL: o->local = p.lnum; break;
        case OPT_CATALOG: o->catalog = p.arg; break;
        case OPT_TOPOLOGY: o->topology = p.arg; break;
        case OPT_RUN_DIR: o->run_dir = p.arg; break;
        case OPT_TIME_SCALE: o->scale = p.num; break;
        case OPT_CLUSTER: o->cluster = p.arg; break;
        case OPT_PROFILES: o->profiles = p.arg; break;
        case OPT_POLICY: o->ov.policy = p.arg; break;
        case OPT_MODE: o->ov.mode = p.arg; break;
        case OPT_PLACEMENT: o->ov.placement = p.arg; break;
        case OPT_HETERO: o->ov.hetero = p.arg; break;
        case OPT_ROUND_DURATION: o->ov.round_duration = p.num; break;
        case OPT_STATIC: o->is_static = true; break;
        case OPT_PORT: o->port = p.lnum; break;
        case OPT_STATE: o->state = p.arg; break;
        case OPT_LISTEN: {
            unsigned char buf[sizeof(struct in6_addr)];
            if (inet_pton(AF_INET, p.arg, buf) != 1 && inet_pton(AF_INET6, p.arg, buf) != 1)
                return cli_bad(&p, "--listen: '%s' must be a numeric IPv4 or IPv6 address",
                               p.arg);
            o->listen_ip = p.arg;
            break;
        }
        case OPT_ADVERTISE:
            if (!*p.arg || strlen(p.arg) > 255 || strpbrk(p.arg, " ,/"))
                return cli_bad(&p, "--advertise: '%s' must be a host name or address", p.arg);
            o->advertise = p.arg;
            break;
        case OPT_MAX_RETRIES: o->retries = p.lnum; break;
        case OPT_KILL_WAIT:
            if (parse_double(p.arg, &o->kill_wait_s) < 0 || o->kill_wait_s < 0 ||
                o->kill_wait_s > 3600)
                return cli_bad(&p, "--kill-wait: '%s' must be 0..3600 seconds", p.arg);
            break;
        case OPT_HEARTBEAT_MS: o->hb = p.lnum; break;
        case OPT_WORKER_TIMEOUT_MS: o->wto = p.lnum; break;
        case OPT_WAIT_WORKERS: o->wait_workers = p.lnum; break;
        case OPT_FRESH: o->fresh = true; break;
        case OPT_WRITE_CLIENT_CONFIG: o->write_client = true; break;
        case OPT_METRICS_LISTEN: o->metrics_listen = p.arg; break;
        case OPT_TLS_CA: o->tls_ca = p.arg; break;
        case OPT_TLS_CERT: o->tls_cert = p.arg; break;
        case OPT_TLS_KEY: o->tls_key = p.arg; break;
        case OPT_INSECURE: o->insecure = true; break;
        case OPT_JOB_USER: o->job_user = p.arg; break;
        case OPT_ALLOW_LEGACY_JOBS: o->allow_legacy = true; break;
        case OPT_ADMINS: o->admins = p.arg; break;
        case OPT_TENANTS: o->tenants = p.arg; break;
        case OPT_MAX_QUEUED_JOBS: o->max_queued = p.lnum; break;
        case OPT_SUBMIT_RATE: o->submit_rate = p.lnum ? p.lnum : -1; break;
        case OPT_SUBMIT_BURST: o->submit_burst = p.lnum; break;
        case OPT_PLAN_LOG: o->plan_log = p.arg; break;
        case OPT_JSON: o->json = true; break;
        case OPT_JOBS_CSV: o->jobs_csv = p.arg; break;
        case OPT_MEASURE:
            if (cli_parse_measure(p.arg, &o->measure_lo, &o->measure_hi) < 0)
                return cli_bad(&p, "--measure: '%s' must be LO:HI with 0 <= LO < HI", p.arg);
            break;
        case OPT_RECORD: o->record = p.arg; break;
        case OPT_DB: o->db = p.arg; break;
        case OPT_OPT_COMPAT: o->ov.opt_compat = true; break;
        case OPT_OPT_TIME_LIMIT: o->ov.opt_time_limit_s = p.num; break;
        case OPT_VERBOSE: o->verbose = true; log_max_level = LOG_DEBUG; break;
        case OPT_LOG_FORMAT:
            if (log_format_set(p.arg) < 0)
                return cli_bad(&p, "--log-format: '%s' must be rfc3339, journal or plain", p.arg);
            break;
        default:
            if (wl_opt_handle(&o->wl, &p) < 0)
                return EXIT_BAD_INPUT;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    return -1;
}

/* The flags against each other. 0, or -1 with err. */
static int deploy_check(struct deploy_opts *o, struct err *err)
{
    if ((!o->workers_path && !o->local) || (o->workers_path && o->local))
        return errprintf(err, "give one of --workers or --local (and --trace, or none to run "
                              "as a service)");
    o->any_tls = o->tls_ca || o->tls_cert || o->tls_key;
    if (o->insecure && o->any_tls)
        return errprintf(err, "--insecure and --tls-* exclude each other");
    if (o->any_tls && !(o->tls_ca && o->tls_cert && o->tls_key))
        return errprintf(err, "mutual TLS needs all of --tls-ca, --tls-cert and --tls-key");
    if (o->local && o->any_tls)
        return errprintf(err, "--local runs plaintext on loopback; for TLS start the workers "
                              "yourself (--workers FILE)");
    if (o->workers_path && !o->any_tls && !o->insecure)
        return errprintf(err, "give --tls-ca, --tls-cert and --tls-key (mutual TLS), or "
                              "--insecure for plaintext");
    if (o->job_user && !o->local)
        return errprintf(err, "--job-user is for --local workers (give it to each worker)");
    if (!o->advertise) {
        if (strcmp(o->listen_ip, "0.0.0.0") == 0 || strcmp(o->listen_ip, "::") == 0)
            return errprintf(err, "--listen %s: give --advertise HOST, the address jobs and "
                                  "workers can reach", o->listen_ip);
        o->advertise = o->listen_ip;
    }
    return 0;
}

/* deploy --local N without --cluster: a cluster of N servers like the
 * default cluster's (as `kind create cluster` sizes itself), rather than an
 * error that the 16-server default does not match N workers. */
static void local_cluster(const struct deploy_opts *o, struct synergy_config *conf)
{
    struct cluster_config *c = &conf->cluster;
    if (!o->local || o->cluster != o->def_cluster || c->racks * c->servers_per_rack == o->local)
        return;
    c->racks = 1;
    c->servers_per_rack = (int)o->local;
    fprintf(stderr, "synergy deploy: --local %ld without --cluster: %ld servers of %d GPUs, %d "
                    "CPUs, %d GB (the default cluster's servers)\n", o->local, o->local,
            c->gpus_per_server, c->cpus_per_server, c->dram_per_server);
}

/* The config, sched_params (shared with simulate and sweep), the zoo and the
 * trace. 0, or an exit code with the message printed. */
static int deploy_load(struct deploy_opts *o, struct deploy_env *e, struct err *err)
{
    synergy_config_defaults(&e->conf);
    if (o->cluster == o->def_cluster && cli_data_check(o->cluster, "--cluster", err) < 0)
        return EXIT_BAD_INPUT;
    if (synergy_config_load(o->cluster, &e->conf, err) < 0)
        return EXIT_BAD_INPUT;
    local_cluster(o, &e->conf);
    if (sched_params_build(&e->conf, &o->ov, sched_policies, &e->cfg.sched, err) < 0)
        return EXIT_BAD_INPUT;
    if (sched_opt_options_check(o->ov.opt_compat, o->ov.opt_time_limit_s,
                                strcmp(sched_mode_name(e->cfg.sched.mode), "opt") == 0, false,
                                err) < 0)
        return EXIT_BAD_INPUT;
    e->zoo = wl_zoo_load(&o->wl, o->profiles ? o->profiles : e->conf.profiles, err);
    if (!e->zoo)
        return EXIT_BAD_INPUT;
    /* the same loader and defaults as simulate: any format, re-timed arrivals */
    o->wl.trace_path = o->trace;
    if (!o->wl.have_jph)
        o->wl.synth.jobs_per_hour = e->conf.jobs_per_hour;
    if (!o->wl.have_split)
        memcpy(o->wl.synth.split, e->conf.split, sizeof e->conf.split);
    if (!o->wl.have_seed)
        o->wl.synth.seed = (uint64_t)e->conf.seed;
    if (o->trace && wl_load(&o->wl, e->zoo, &e->specs, &e->n_specs, err) < 0)
        return EXIT_BAD_INPUT;
    /* every measured id must be in the trace, as for simulate */
    if (o->trace && wl_check_window(&o->wl, e->specs, e->n_specs, o->measure_lo, o->measure_hi,
                                    err) < 0)
        return EXIT_BAD_INPUT;
    return 0;
}

/* --tenants: a file (its users own submitted jobs), or quotas proportional
 * to the trace's GPU-time. 0, or an exit code. */
static int deploy_tenants(const struct deploy_opts *o, struct deploy_env *e, struct err *err)
{
    if (!o->tenants)
        return 0;
    if (strcmp(sched_mode_name(e->cfg.sched.mode), "opt") == 0)
        return errprintf(err, "--tenants: mode opt: tenants are not supported (use fair, greedy "
                              "or tune)"),
               EXIT_BAD_INPUT;
    if (strcmp(o->tenants, "proportional") != 0)
        e->tenants = tenants_config_load(o->tenants, err);
    else if (o->trace)
        e->tenants = tenants_config_proportional(e->specs, e->n_specs, e->zoo,
                                                 cluster_config_gpus(&e->conf.cluster), err);
    else
        return errprintf(err, "--tenants proportional needs a --trace"), EXIT_BAD_INPUT;
    if (!e->tenants ||
        (o->trace && wl_check_tenants(&o->wl, e->specs, e->n_specs, e->tenants, err) < 0))
        return EXIT_BAD_INPUT;
    e->cfg.sched.tenants = e->tenants;
    return 0;
}

/* The workers: a workers file, or --local rows (and their run directory).
 * 0, or an exit code. */
static int deploy_workers(struct deploy_opts *o, struct deploy_env *e, struct err *err)
{
    int servers = cluster_config_servers(&e->conf.cluster);
    if (o->workers_path)
        return deploy_workers_read(o->workers_path, &e->addrs, &e->n_addrs, err) < 0
                   ? EXIT_BAD_INPUT
                   : 0;
    if (o->local != servers)
        return errprintf(err, "--local %ld: %s has %d servers: give a cluster INI with %ld "
                              "([CLUSTER] racks = 1, servers_per_rack = %ld), or leave out "
                              "--cluster for %ld servers like the default cluster's",
                         o->local, o->cluster, servers, o->local, o->local, o->local),
               EXIT_BAD_INPUT;
    e->n_addrs = (size_t)o->local;
    e->addrs = xcalloc(e->n_addrs, sizeof *e->addrs);
    for (size_t i = 0; i < e->n_addrs; i++) {
        snprintf(e->addrs[i].ip, sizeof e->addrs[i].ip, "127.0.0.1");
        e->addrs[i].port = 0; /* the worker reports the port it bound */
        e->addrs[i].numa = 1;
    }
    const char *run_dir = o->run_dir;
    if (!run_dir) {
        snprintf(e->tmp_dir, sizeof e->tmp_dir, "/tmp/synergy-deploy-XXXXXX");
        if (!mkdtemp(e->tmp_dir))
            return errprintf(err, "mkdtemp: %s", strerror(errno)), 1;
        run_dir = e->tmp_dir;
    }
    /* deploy --local: its workers run jobs as the user who started it unless told */
    const char *job_user = o->job_user;
    if (!job_user) {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(e->self_user, sizeof e->self_user, "%s", pw ? pw->pw_name : "root");
        job_user = e->self_user;
    }
    /* the local workers would refuse a bad catalog one by one, while deploy
     * waited for them: read it here first, and fail as they would */
    if (o->catalog == o->def_catalog && cli_data_check(o->catalog, "--catalog", err) < 0)
        return EXIT_BAD_INPUT;
    catalog_t *cat = catalog_load(o->catalog, err);
    if (!cat)
        return EXIT_BAD_INPUT;
    catalog_destroy(cat);
    e->lw = (struct deploy_local){.n = (int)o->local, .catalog = o->catalog,
                                  .topology = o->topology, .run_dir = run_dir,
                                  .gpus = e->conf.cluster.gpus_per_server,
                                  .sched_host = e->cfg.advertise, .job_user = job_user,
                                  .verbose = o->verbose,
                                  .kill_wait_ms = (int)(o->kill_wait_s / o->scale * 1000)};
    /* servers that differ: each worker gets its server's GPUs and type */
    struct server_group g[CLUSTER_MAX_GROUPS];
    int ng = cluster_config_groups_ordered(&e->conf.cluster, g), i = 0;
    e->lw.gpus_of = xcalloc((size_t)servers, sizeof *e->lw.gpus_of);
    e->lw.type_of = xcalloc((size_t)servers, sizeof *e->lw.type_of);
    for (int k = 0; k < ng; k++)
        for (int c = 0; c < g[k].count && i < servers; c++, i++) {
            e->lw.gpus_of[i] = g[k].gpus;
            snprintf(e->lw.type_of[i], sizeof e->lw.type_of[i], "%s", g[k].gpu_type);
        }
    return 0;
}

/* Metrics endpoint, plan log, TLS and the rest of the deploy_config. 0, or
 * an exit code. */
static int deploy_configure(struct deploy_opts *o, struct deploy_env *e, struct err *err)
{
    struct deploy_config *cfg = &e->cfg;
    if (o->metrics_listen) {
        e->metrics = metrics_create(o->metrics_listen, err);
        if (!e->metrics)
            return errno == EINVAL ? EXIT_BAD_INPUT : 1;
        const char *colon = strrchr(o->metrics_listen, ':');
        fprintf(stderr, "synergy deploy: metrics at http://%.*s:%d/metrics\n",
                (int)(colon - o->metrics_listen), o->metrics_listen, metrics_port(e->metrics));
    }
    /* the state file before anything starts: one scheduler per file, and a
     * file that is not a good state file is refused here, never replaced */
    if (o->state && !(e->state = deploy_state_file_open(o->state, err)))
        return EXIT_BAD_INPUT;
    /* appended: a continued run continues it (deploy_run empties it for a
     * new one, and cuts what its last commit did not cover) */
    if (o->plan_log && !(e->plan = fopen(o->plan_log, "a")))
        return errprintf(err, "%s: %s", o->plan_log, strerror(errno)), 1;
    if (o->any_tls && !(e->tls = rpc_tls_load(o->tls_ca, o->tls_cert, o->tls_key, err)))
        return EXIT_BAD_INPUT;
    if (o->db && !(e->st = store_open(o->db, err))) /* before the run, not hours into it */
        return 1;
    cfg->zoo = e->zoo;
    cfg->jobs = e->specs;
    cfg->n_jobs = e->n_specs;
    cfg->workers = e->addrs;
    cfg->n_workers = e->n_addrs;
    cfg->time_scale = o->scale;
    cfg->is_static = o->is_static;
    cfg->measure_lo = o->measure_lo;
    cfg->measure_hi = o->measure_hi;
    cfg->listen_ip = o->listen_ip;
    cfg->port = (int)o->port;
    cfg->state_path = o->state;
    cfg->state = e->state;
    cfg->max_retries = (int)o->retries;
    cfg->kill_wait_s = o->kill_wait_s;
    deploy_local_timing(cfg, (int)o->local, (int)o->hb, (int)o->wto);
    cfg->wait_workers = (int)o->wait_workers;
    cfg->max_queued_jobs = o->max_queued;
    cfg->submit_rate = (double)o->submit_rate;
    cfg->submit_burst = o->submit_burst;
    cfg->fresh = o->fresh;
    cfg->plan_log = e->plan;
    cfg->record_path = o->record;
    cfg->metrics = e->metrics;
    cfg->allow_legacy_jobs = o->allow_legacy;
    cfg->on_listening = on_listening; /* says where it listens, starts --local workers */
    cfg->on_finished = on_finished;   /* stops them */
    e->progress = isatty(STDERR_FILENO) && !o->verbose && !o->json;
    e->last_progress = mono_s() - 8; /* the first line after 2 s, then every 10 s */
    cfg->on_sample = o->db ? on_sample : NULL;
    cfg->on_round = e->progress ? on_round : NULL;
    cfg->ctx = e;
    if (deploy_state_check_args(cfg, err) < 0) /* bad input: before any banner */
        return EXIT_BAD_INPUT;
    if (e->tls) {
        rpc_tls_set_client_cert_optional(e->tls, true); /* jobs show tokens, not certificates */
        cfg->tls = e->tls;
        fprintf(stderr, "synergy deploy: mutual TLS: workers are authenticated by certificate, "
                        "jobs by token%s\n", o->allow_legacy ? " (and legacy jobs by address)" : "");
    } else {
        fprintf(stderr, "synergy deploy: PLAINTEXT gRPC (%s): workers are checked by address "
                        "only, not authenticated; jobs by token%s\n",
                o->local ? "--local on loopback" : "--insecure",
                o->allow_legacy ? " (and legacy jobs by address)" : "");
    }
    return 0;
}

/* The summary (table line or JSON) and --jobs-csv. The exit code. */
static int deploy_report(const struct deploy_opts *o, const struct deploy_env *e,
                         const struct sched_result *res, const struct deploy_stats *st,
                         double wall)
{
    const struct sched_params *sp = &e->cfg.sched;
    const char *mode = sched_mode_name(sp->mode);
    if (o->json) {
        char extra[1024];
        deploy_stats_json(extra, sizeof extra, st, o->scale);
        struct results_json js = {
            .policy = sp->policy->name, .mode = mode,
            .placement = sp->placement == PLACEMENT_CONSOLIDATE ? "consolidate" : "first-fit",
            .seed = (unsigned long)o->wl.synth.seed, .workload = o->trace ? o->trace : "service",
            .cluster = o->cluster,
            .gpus = cluster_config_gpus(&e->conf.cluster),
            .hetero = sp->hetero == HETERO_AGNOSTIC ? "agnostic" : "aware",
            .opt_compat = o->ov.opt_compat, .wall_s = wall};
        results_json_write(stdout, &js, res, extra);
    } else {
        char more[320] = "", jct[64] = "-", span[64] = "-";
        int m = 0;
        if (st->jobs_cancelled)
            m += snprintf(more + m, sizeof more - (size_t)m, ", %zu cancelled",
                          st->jobs_cancelled);
        if (st->jobs_unfinished)
            snprintf(more + m, sizeof more - (size_t)m, ", %zu still running or waiting (%s%s)",
                     st->jobs_unfinished, o->state ? "kept in " : "lost: no --state",
                     o->state ? o->state : "");
        if (res->jobs_measured) { /* no finished job: no JCT, not nan */
            snprintf(jct, sizeof jct, "%.4f h", res->avg_jct_s / 3600);
            snprintf(span, sizeof span, "%.4f h", res->makespan_s / 3600);
        }
        printf("deployed %s on %zu workers (time scale %g): %zu of %zu jobs finished%s, "
               "%zu failed\n",
               o->trace ? o->trace : "a service", e->n_addrs, o->scale, res->jobs_finished,
               o->trace ? e->n_specs : st->jobs_known, more, st->jobs_failed);
        printf("avg JCT %s, makespan %s, %zu rounds, %zu preemptions, %zu crashes, "
               "%zu lease kills, %zu workers lost, wall %.1f s\n",
               jct, span, res->rounds, st->preemptions, st->crashes, st->lease_kills,
               st->workers_lost, wall);
    }
    int rc = res->window_complete || !o->trace ? 0 : 1; /* a service ends when stopped */
    if (!o->jobs_csv)
        return rc;
    struct out_file of;
    if (out_file_open(&of, o->jobs_csv) < 0) {
        fprintf(stderr, "synergy deploy: %s: %s\n", o->jobs_csv, strerror(errno));
        return 1;
    }
    fputs(RESULTS_JOBS_CSV_HEADER, of.f);
    results_jobs_csv_write(of.f, res, sp->policy->name, mode);
    if (out_file_commit(&of) < 0) {
        fprintf(stderr, "synergy deploy: %s: %s\n", o->jobs_csv, strerror(errno));
        return 1;
    }
    return rc;
}

static void deploy_env_free(struct deploy_env *e)
{
    deploy_local_free(&e->lw);
    store_close(e->st);
    results_rounds_free(&e->rounds);
    rpc_tls_free(e->tls);
    metrics_destroy(e->metrics);
    if (e->plan)
        fclose(e->plan);
    deploy_state_file_close(e->state);
    free(e->addrs);
    free(e->specs);
    deploy_admins_free(e->admins, e->n_admins);
    tenants_config_destroy(e->tenants);
    model_zoo_destroy(e->zoo);
}

/* Set up, run the trace on the workers, report. The exit code. */
static int deploy_main(struct deploy_opts *o, struct deploy_env *e)
{
    struct err err = {{0}};
    int rc = deploy_load(o, e, &err);
    if (!rc)
        rc = deploy_tenants(o, e, &err);
    if (!rc)
        rc = deploy_workers(o, e, &err);
    if (!rc && o->wait_workers > 0 && (size_t)o->wait_workers > e->n_addrs) {
        errprintf(&err, "--wait-workers %ld: the cluster has %zu worker%s", o->wait_workers,
                  e->n_addrs, e->n_addrs == 1 ? "" : "s");
        rc = EXIT_BAD_INPUT;
    }
    if (!rc && (cli_output_check("--jobs-csv", o->jobs_csv, false, &err) < 0 ||
                cli_output_check("--record", o->record, false, &err) < 0 ||
                cli_output_check("--plan-log", o->plan_log, false, &err) < 0))
        rc = EXIT_BAD_INPUT; /* before the run, not hours into it */
    if (!rc)
        rc = deploy_configure(o, e, &err);
    if (!rc)
        rc = deploy_admin_setup(o, e, &err);
    if (rc) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!o->trace) {
        struct sigaction sa = {.sa_handler = on_stop_signal};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        fprintf(stderr, "synergy deploy: no --trace: running as a service; SIGTERM or SIGINT "
                        "stops it\n");
    } else if (e->lw.n) {
        struct sigaction sa = {.sa_handler = on_interrupt};
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
        interrupt_lw = &e->lw;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }
    struct sched_result res;
    struct deploy_stats st;
    double t0 = mono_s();
    e->stats = &st;
    int r = deploy_run(&e->cfg, &res, &st, &err);
    double wall = mono_s() - t0;
    notify_stopping("%s", r < 0 ? err.msg : o->trace ? "the trace is done" : "stopped");
    deploy_local_stop(&e->lw);
    if (r < 0) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        return 1;
    }
    rc = deploy_report(o, e, &res, &st, wall);
    if (e->st && deploy_store(o, e, &res, wall, &err)) {
        fprintf(stderr, "synergy deploy: %s: %s\n", o->db, err.msg);
        rc = 1;
    }
    sched_result_free(&res);
    return rc;
}

int cmd_deploy(int argc, char **argv)
{
    struct deploy_opts o;
    memset(&o, 0, sizeof o);
    o.cluster = cli_data_path(o.def_cluster, sizeof o.def_cluster, "configs/default_cluster.ini");
    o.catalog = cli_data_path(o.def_catalog, sizeof o.def_catalog, "configs/deploy_catalog.ini");
    o.listen_ip = "127.0.0.1";
    o.retries = 3;
    o.scale = 1;
    o.kill_wait_s = 30;
    wl_opts_init(&o.wl);
    o.argc = argc;
    o.argv = argv;
    int rc = deploy_parse(&o, argc, argv);
    if (rc >= 0)
        return rc;
    struct err err = {{0}};
    if (deploy_check(&o, &err) < 0) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    struct deploy_env e;
    memset(&e, 0, sizeof e);
    e.listen_ip = o.listen_ip;
    e.o = &o;
    e.cfg.listen_ip = o.listen_ip;
    e.cfg.advertise = o.advertise;
    if (strchr(o.advertise, ':') && o.advertise[0] != '[') { /* IPv6 literal: [addr]:port */
        snprintf(e.adv_buf, sizeof e.adv_buf, "[%s]", o.advertise);
        e.cfg.advertise = e.adv_buf;
    }
    rc = deploy_main(&o, &e);
    deploy_env_free(&e);
    return rc;
}
