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
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deploy.h"
#include "metrics.h"
#include "notify.h"
#include "policies.h"
#include "results.h"
#include "trace.h"
#include "workload.h"

struct local_workers {
    int n;
    int n_servers;
    pid_t *pids;
    struct deploy_worker_addr *addrs;
    const char *catalog, *topology, *run_dir, *sched_host, *listen_ip;
    int gpus;
    bool verbose;
};

/* The environment for helper processes: ours without the service manager's
 * notify variables, so a local worker never speaks for the scheduler's
 * service. Borrowed strings; caller frees the array. */
static char **helper_environ(void)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = false;
        for (const char *const *v = notify_env_vars; *v && !drop; v++) {
            size_t l = strlen(*v);
            drop = strncmp(environ[i], *v, l) == 0 && environ[i][l] == '=';
        }
        if (!drop)
            env[k++] = environ[i];
    }
    return env;
}

static void start_local_workers(void *ctx, int port)
{
    struct local_workers *lw = ctx;
    fprintf(stderr, "synergy deploy: listening on %s port %d; workers and jobs call %s:%d\n",
            lw->listen_ip, port, lw->sched_host, port);
    notify_ready("listening on %s:%d; waiting for %d worker(s)", lw->listen_ip, port,
                 lw->n_servers);
    if (lw->n == 0)
        return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    char sched[300], gpus[16];
    snprintf(sched, sizeof sched, "%s:%d", lw->sched_host, port);
    snprintf(gpus, sizeof gpus, "%d", lw->gpus);
    for (int i = 0; i < lw->n; i++) {
        char sid[16], dir[4096];
        snprintf(sid, sizeof sid, "%d", i);
        snprintf(dir, sizeof dir, "%s/worker-%d", lw->run_dir, i);
        char *argv[20];
        int k = 0;
        argv[k++] = self;
        argv[k++] = "worker";
        argv[k++] = "--scheduler";
        argv[k++] = sched;
        /* port 0: each worker binds a free port and reports it; it claims
         * its row by number (every row is 127.0.0.1 with port 0) */
        argv[k++] = "--port";
        argv[k++] = "0";
        argv[k++] = "--server-id";
        argv[k++] = sid;
        argv[k++] = "--gpus";
        argv[k++] = gpus;
        argv[k++] = "--catalog";
        argv[k++] = (char *)lw->catalog;
        argv[k++] = "--run-dir";
        argv[k++] = dir;
        if (lw->topology) {
            argv[k++] = "--topology";
            argv[k++] = (char *)lw->topology;
        }
        if (lw->verbose)
            argv[k++] = "-v";
        argv[k] = NULL;
        char **env = helper_environ();
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            /* local workers die with their deploy (and their jobs with them) */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(127);
            execve(self, argv, env);
            _exit(127);
        }
        free(env);
        lw->pids[i] = pid;
    }
}

static void stop_local_workers(struct local_workers *lw)
{
    for (int i = 0; i < lw->n; i++)
        if (lw->pids[i] > 0)
            kill(lw->pids[i], SIGTERM);
    for (int i = 0; i < lw->n; i++)
        if (lw->pids[i] > 0)
            waitpid(lw->pids[i], NULL, 0);
}

/* The "deploy" member of the JSON summary. */
static void deploy_json(char *buf, size_t n, const struct deploy_stats *st, double scale)
{
    snprintf(buf, n,
             "\"deploy\":{\"time_scale\":%g,\"jobs_failed\":%zu,\"crashes\":%zu,\"relaunches\":%zu,"
             "\"lease_kills\":%zu,\"stops_ignored\":%zu,\"delays\":%zu,\"workers_lost\":%zu,"
             "\"preemptions\":%zu,"
             "\"max_lateness_ms\":%.3f,\"plan_ms_max\":%.3f,\"plan_ms_mean\":%.3f,"
             "\"dispatch_ms_max\":%.3f,\"dispatch_ms_mean\":%.3f,\"registration_s\":%.3f}",
             scale, st->jobs_failed, st->crashes, st->relaunches, st->lease_kills,
             st->stops_ignored, st->delays, st->workers_lost,
             st->preemptions, st->max_lateness_ms, st->plan_ms_max,
             st->dispatch_rounds ? st->plan_ms_sum / (double)st->dispatch_rounds : 0,
             st->dispatch_ms_max,
             st->dispatch_rounds ? st->dispatch_ms_sum / (double)st->dispatch_rounds : 0,
             st->registration_s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bad(const char *opt, const char *val, const char *what)
{
    fprintf(stderr, "synergy deploy: %s: '%s' %s\n", opt, val, what);
    return EXIT_BAD_INPUT;
}

int cmd_deploy(int argc, char **argv)
{
    char def_cluster[4096], def_catalog[4096];
    const char *cluster = cli_data_path(def_cluster, sizeof def_cluster, "configs/default_cluster.ini");
    const char *catalog = cli_data_path(def_catalog, sizeof def_catalog, "configs/deploy_catalog.ini");
    const char *trace = NULL, *workers_path = NULL, *topology = NULL, *run_dir = NULL;
    const char *profiles = NULL, *policy = NULL, *mode = NULL, *placement_s = NULL;
    const char *state = NULL, *plan_log = NULL, *listen_ip = "127.0.0.1", *advertise = NULL;
    const char *metrics_listen = NULL;
    long local = 0, port = 0, retries = 3, hb = 200, wto = 1500, wait_workers = 0;
    bool hb_given = false, wto_given = false;
    double scale = 1, round = -1;
    bool is_static = false, json = false, verbose = false, fresh = false;
    struct wl_opts wl;
    wl_opts_init(&wl);
    bool opt_compat = false;
    double opt_time_limit = 0;
    const char *jobs_csv_path = NULL;
    struct cli_parser p;
    int c;
    cli_parser_init(&p, CLI_DEPLOY, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_TRACE: trace = p.arg; break;
        case OPT_DEPLOY_WORKERS: workers_path = p.arg; break;
        case OPT_LOCAL: local = p.lnum; break;
        case OPT_CATALOG: catalog = p.arg; break;
        case OPT_TOPOLOGY: topology = p.arg; break;
        case OPT_RUN_DIR: run_dir = p.arg; break;
        case OPT_TIME_SCALE: scale = p.num; break;
        case OPT_CLUSTER: cluster = p.arg; break;
        case OPT_PROFILES: profiles = p.arg; break;
        case OPT_POLICY: policy = p.arg; break;
        case OPT_MODE: mode = p.arg; break;
        case OPT_PLACEMENT: placement_s = p.arg; break;
        case OPT_ROUND_DURATION: round = p.num; break;
        case OPT_STATIC: is_static = true; break;
        case OPT_PORT: port = p.lnum; break;
        case OPT_STATE: state = p.arg; break;
        case OPT_LISTEN: {
            unsigned char buf[sizeof(struct in6_addr)];
            if (inet_pton(AF_INET, p.arg, buf) != 1 && inet_pton(AF_INET6, p.arg, buf) != 1)
                return cli_bad(&p, "--listen: '%s' must be a numeric IPv4 or IPv6 address",
                               p.arg);
            listen_ip = p.arg;
            break;
        }
        case OPT_ADVERTISE:
            if (!*p.arg || strlen(p.arg) > 255 || strpbrk(p.arg, " ,/"))
                return cli_bad(&p, "--advertise: '%s' must be a host name or address", p.arg);
            advertise = p.arg;
            break;
        case OPT_MAX_RETRIES: retries = p.lnum; break;
        case OPT_HEARTBEAT_MS: hb = p.lnum; hb_given = true; break;
        case OPT_WORKER_TIMEOUT_MS: wto = p.lnum; wto_given = true; break;
        case OPT_WAIT_WORKERS: wait_workers = p.lnum; break;
        case OPT_FRESH: fresh = true; break;
        case OPT_METRICS_LISTEN: metrics_listen = p.arg; break;
        case OPT_PLAN_LOG: plan_log = p.arg; break;
        case OPT_JSON: json = true; break;
        case OPT_JOBS_CSV: jobs_csv_path = p.arg; break;
        case OPT_OPT_COMPAT: opt_compat = true; break;
        case OPT_OPT_TIME_LIMIT: opt_time_limit = p.num; break;
        case OPT_VERBOSE: verbose = true; log_max_level = LOG_DEBUG; break;
        default:
            if (wl_opt_handle(&wl, &p) < 0)
                return EXIT_BAD_INPUT;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc) {
        fprintf(stderr, "synergy deploy: unexpected argument '%s'\n", argv[p.optind]);
        return EXIT_BAD_INPUT;
    }
    if (!trace || (!workers_path && !local) || (workers_path && local)) {
        fprintf(stderr, "synergy deploy: give --trace and one of --workers or --local\n");
        return EXIT_BAD_INPUT;
    }
    if (!advertise) {
        if (strcmp(listen_ip, "0.0.0.0") == 0 || strcmp(listen_ip, "::") == 0) {
            fprintf(stderr, "synergy deploy: --listen %s: give --advertise HOST, the address "
                            "jobs and workers can reach\n", listen_ip);
            return EXIT_BAD_INPUT;
        }
        advertise = listen_ip;
    }
    static char adv_buf[300];
    if (strchr(advertise, ':') && advertise[0] != '[') { /* IPv6 literal: [addr]:port */
        snprintf(adv_buf, sizeof adv_buf, "[%s]", advertise);
        advertise = adv_buf;
    }
    struct err err = {{0}};
    struct synergy_config conf;
    synergy_config_defaults(&conf);
    if (synergy_config_load(cluster, &conf, &err) < 0) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    if (!policy)
        policy = conf.policy;
    if (!mode)
        mode = conf.mode;
    if (!placement_s)
        placement_s = conf.placement;
    if (!profiles)
        profiles = conf.profiles;
    if (round < 0)
        round = conf.round_duration;
    struct deploy_config cfg = {0};
    cfg.sched.cluster = conf.cluster;
    cfg.sched.policy = policy_find(policy);
    cfg.sched.mode = sched_mode_find(mode);
    cfg.sched.round_duration = round;
    cfg.sched.starvation_s = 1000 * 3600.0;
    cfg.sched.opt_compat = opt_compat;
    cfg.sched.opt_time_limit_s = opt_time_limit;
    if (!cfg.sched.policy)
        return bad("--policy", policy, "is not a known policy");
    if (!cfg.sched.mode)
        return bad("--mode", mode, "must be fair, greedy, tune or opt");
    if (str_ieq(placement_s, "first-fit"))
        cfg.sched.placement = PLACEMENT_FIRST_FIT;
    else if (str_ieq(placement_s, "consolidate"))
        cfg.sched.placement = PLACEMENT_CONSOLIDATE;
    else
        return bad("--placement", placement_s, "must be first-fit or consolidate");

    model_zoo_t *zoo = wl_zoo_load(&wl, profiles, &err);
    if (!zoo) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    int rc = EXIT_BAD_INPUT;
    struct job_spec *specs = NULL;
    size_t n_specs = 0;
    struct deploy_worker_addr *addrs = NULL;
    size_t n_addrs = 0;
    struct local_workers lw = {0};
    FILE *plan = NULL;
    metrics_t *metrics = NULL;
    char tmp_dir[] = "/tmp/synergy-deploy-XXXXXX";
    /* the same loader and defaults as simulate: any format, re-timed arrivals */
    wl.trace_path = trace;
    if (!wl.have_jph)
        wl.synth.jobs_per_hour = conf.jobs_per_hour;
    memcpy(wl.synth.split, conf.split, sizeof conf.split);
    if (!wl.have_seed)
        wl.synth.seed = (uint64_t)conf.seed;
    if (wl_load(&wl, zoo, &specs, &n_specs, NULL, &err) < 0) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        goto out;
    }
    int servers = conf.cluster.racks * conf.cluster.servers_per_rack;
    if (workers_path) {
        if (deploy_workers_read(workers_path, &addrs, &n_addrs, &err) < 0) {
            fprintf(stderr, "synergy deploy: %s\n", err.msg);
            goto out;
        }
    } else {
        if (local != servers) {
            fprintf(stderr, "synergy deploy: --local %ld: %s has %d servers\n", local, cluster,
                    servers);
            goto out;
        }
        n_addrs = (size_t)local;
        addrs = xcalloc(n_addrs, sizeof *addrs);
        for (size_t i = 0; i < n_addrs; i++) {
            snprintf(addrs[i].ip, sizeof addrs[i].ip, "127.0.0.1");
            addrs[i].port = 0; /* the worker reports the port it bound */
            addrs[i].numa = 1;
        }
        if (!run_dir) {
            if (!mkdtemp(tmp_dir)) {
                fprintf(stderr, "synergy deploy: mkdtemp: %s\n", strerror(errno));
                rc = 1;
                goto out;
            }
            run_dir = tmp_dir;
        }
        lw = (struct local_workers){.n = (int)local, .pids = xcalloc((size_t)local, sizeof(pid_t)),
                                    .addrs = addrs, .catalog = catalog, .topology = topology,
                                    .run_dir = run_dir, .gpus = conf.cluster.gpus_per_server,
                                    .sched_host = advertise,
                                    .verbose = verbose};
    }
    lw.listen_ip = listen_ip;
    lw.sched_host = advertise;
    lw.n_servers = (int)n_addrs;
    cfg.on_listening = start_local_workers; /* says where it listens (READY=1), starts --local workers */
    cfg.ctx = &lw;
    if (metrics_listen) {
        metrics = metrics_create(metrics_listen, &err);
        if (!metrics) {
            fprintf(stderr, "synergy deploy: %s\n", err.msg);
            rc = errno == EINVAL ? EXIT_BAD_INPUT : 1;
            goto out;
        }
        const char *colon = strrchr(metrics_listen, ':');
        fprintf(stderr, "synergy deploy: metrics at http://%.*s:%d/metrics\n",
                (int)(colon - metrics_listen), metrics_listen, metrics_port(metrics));
    }
    if (plan_log && !(plan = fopen(plan_log, "w"))) {
        fprintf(stderr, "synergy deploy: %s: %s\n", plan_log, strerror(errno));
        rc = 1;
        goto out;
    }
    cfg.zoo = zoo;
    cfg.jobs = specs;
    cfg.n_jobs = n_specs;
    cfg.workers = addrs;
    cfg.n_workers = n_addrs;
    cfg.time_scale = scale;
    cfg.is_static = is_static;
    cfg.listen_ip = listen_ip;
    cfg.advertise = advertise;
    cfg.port = (int)port;
    cfg.state_path = state;
    cfg.max_retries = (int)retries;
    /* many --local workers share this machine's CPUs with the scheduler:
     * 128 workers heartbeating every 200 ms are 640 calls a second. Unless
     * told otherwise, slow the heartbeat with their number (8 ms a worker)
     * and keep the timeout at 6 heartbeats */
    if (local > 25 && !hb_given)
        hb = local * 8;
    if (!wto_given && wto < 6 * hb)
        wto = 6 * hb;
    cfg.heartbeat_ms = (int)hb;
    cfg.worker_timeout_ms = (int)wto;
    /* --local workers start on this machine, all at once: each probes the
     * topology and initialises gRPC, so on a small host 128 of them take
     * tens of seconds; give them 30 s plus 1 s each */
    cfg.register_timeout_ms = 30000 + (int)local * 1000;
    cfg.wait_workers = (int)wait_workers;
    cfg.fresh = fresh;
    cfg.plan_log = plan;
    cfg.metrics = metrics;
    signal(SIGPIPE, SIG_IGN);
    struct sched_result res;
    struct deploy_stats st;
    double t0 = now_s();
    int r = deploy_run(&cfg, &res, &st, &err);
    double wall = now_s() - t0;
    notify_stopping("%s", r < 0 ? err.msg : "the trace is done");
    if (lw.n)
        stop_local_workers(&lw);
    if (r < 0) {
        fprintf(stderr, "synergy deploy: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    int gpus = conf.cluster.gpus_per_server * conf.cluster.servers_per_rack;
    if (json) {
        char extra[1024];
        deploy_json(extra, sizeof extra, &st, scale);
        struct results_json js = {.policy = cfg.sched.policy->name, .mode = mode,
                                  .placement = placement_s, .seed = (unsigned long)wl.synth.seed,
                                  .workload = trace, .cluster = cluster, .gpus = gpus,
                                  .opt_compat = opt_compat, .wall_s = wall};
        results_json_write(stdout, &js, &res, extra);
    } else {
        printf("deployed %s on %zu workers (time scale %g): %zu of %zu jobs finished, "
               "%zu failed\n",
               trace, n_addrs, scale, res.jobs_finished, n_specs, st.jobs_failed);
        printf("avg JCT %.4f h, makespan %.4f h, %zu rounds, %zu preemptions, %zu crashes, "
               "%zu lease kills, %zu workers lost, wall %.1f s\n",
               res.avg_jct_s / 3600, res.makespan_s / 3600, res.rounds, st.preemptions,
               st.crashes, st.lease_kills, st.workers_lost, wall);
    }
    rc = res.window_complete ? 0 : 1;
    if (jobs_csv_path) {
        struct out_file of;
        if (out_file_open(&of, jobs_csv_path) < 0) {
            fprintf(stderr, "synergy deploy: %s: %s\n", of.atomic ? of.tmp : jobs_csv_path,
                    strerror(errno));
            rc = 1;
        } else {
            fputs(RESULTS_JOBS_CSV_HEADER, of.f);
            results_jobs_csv_write(of.f, &res, cfg.sched.policy->name, mode);
            if (out_file_commit(&of) < 0) {
                fprintf(stderr, "synergy deploy: %s: %s\n", jobs_csv_path, strerror(errno));
                rc = 1;
            }
        }
    }
    sched_result_free(&res);
out:
    metrics_destroy(metrics);
    if (plan)
        fclose(plan);
    free(lw.pids);
    free(addrs);
    free(specs);
    model_zoo_destroy(zoo);
    return rc;
}
