/*
 * `synergy deploy`: the scheduler server of a deployment. Same cluster INI,
 * policy and mode as `simulate`, plus the workers (a workers file, or
 * --local N to start N workers on 127.0.0.1 next to it) and a time scale.
 * With --json it prints the same summary object as `simulate --json`, with a
 * "deploy" object of its own added at the end.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
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

static void deploy_usage(FILE *f)
{
    fprintf(f,
            "usage: synergy deploy --trace FILE (--workers FILE | --local N) [options]\n"
            "\n"
            "Run a trace for real: a scheduler server plans rounds with the same core as\n"
            "`simulate` and launches the jobs on worker servers (synergy worker).\n"
            "\n"
            "  --trace FILE          any trace `simulate` reads: synergy replay\n"
            "                        (id,model,arrival_s,iterations,gpus), philly, pollux, gavel\n"
            "  --workers FILE        rows ip,port,start_gpu,start_cpu,numa; row i = server i;\n"
            "                        a worker is the row of the ip and port it listens on\n"
            "                        (port 0: the port it reports when it registers)\n"
            "  --local N             start N workers on 127.0.0.1 (simulated GPUs; each binds\n"
            "                        a free port and reports it)\n"
            "  --catalog FILE        catalog for --local workers (default configs/deploy_catalog.ini)\n"
            "  --topology FILE.xml   hwloc topology for --local workers (default: this machine)\n"
            "  --run-dir DIR         where --local workers keep logs and checkpoints\n"
            "  --time-scale K        divide every duration by K (a 300 s round takes 300/K s)\n"
            "  --cluster FILE        cluster INI (default configs/default_cluster.ini)\n"
            "  --profiles SET        default | models-4 | models-5 | models-6\n"
            "  --policy P            FIFO SRTF LAS FTF DRF TETRIS SRSF (default FIFO)\n"
            "  --mode M              fair | greedy | tune (default fair)\n"
            "  --placement KIND      first-fit | consolidate\n"
            "  --round-duration S    seconds per round (default 300)\n"
            "  --static              all jobs present at start (first round at t=1)\n"
            "  --listen IP           address the scheduler binds (default 127.0.0.1;\n"
            "                        0.0.0.0 or :: for every interface, with --advertise)\n"
            "  --advertise HOST      address jobs and workers are told to call (default: the\n"
            "                        --listen address)\n"
            "  --port N              scheduler port (default: any free one)\n"
            "  --state FILE          SQLite file for jobs, leases and workers (default in memory)\n"
            "  --max-retries N       relaunches after crashes before a job fails (default 3)\n"
            "  --heartbeat-ms N      worker heartbeat period (default 200)\n"
            "  --worker-timeout-ms N a worker silent this long is lost (default 1500)\n"
            "  --wait-workers N      start planning once N workers registered (default: all);\n"
            "                        the others join planning when they register\n"
            "  --plan-log FILE       write each round's placed job ids (as simulate --plan-log)\n"
            "  --metrics-listen IP:PORT  serve Prometheus metrics at http://IP:PORT/metrics\n"
            "                        (port 0: any free one, printed on stderr)\n"
            "  --json                print the summary as JSON\n"
            "  --seed N              seed of the arrival process and model assignment (the\n"
            "                        cluster file's, 42)\n"
            "  --max-jobs N          exactly N jobs, reusing the trace cyclically\n"
            "  --jobs-per-hour R     philly: Poisson rate of the default arrivals\n"
            "workload options (as for simulate):\n" WL_USAGE
            "  -v, --verbose         log more\n");
}

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

static void print_json(const char *trace, const char *cluster, const char *policy,
                       const char *mode, const char *placement, unsigned long seed, int gpus,
                       const struct sched_result *r, const struct deploy_stats *st, double wall,
                       double scale)
{
    double h = 3600;
    printf("{\"policy\":\"%s\",\"mode\":\"%s\",\"placement\":\"%s\",\"seed\":%lu,"
           "\"workload\":\"%s\",\"cluster\":\"%s\",\"gpus\":%d,"
           "\"jobs_arrived\":%zu,\"jobs_finished\":%zu,\"jobs_measured\":%zu,"
           "\"window_complete\":%s,",
           policy, mode, placement, seed, trace, cluster, gpus, r->jobs_arrived, r->jobs_finished,
           r->jobs_measured, r->window_complete ? "true" : "false");
    if (r->jobs_measured > 0)
        printf("\"avg_jct_h\":%.9f,\"p50_jct_h\":%.9f,\"p99_jct_h\":%.9f,\"p999_jct_h\":%.9f,"
               "\"max_jct_h\":%.9f,\"makespan_h\":%.9f,",
               r->avg_jct_s / h, r->p50_jct_s / h, r->p99_jct_s / h, r->p999_jct_s / h,
               r->max_jct_s / h, r->makespan_s / h);
    else
        printf("\"avg_jct_h\":null,\"p50_jct_h\":null,\"p99_jct_h\":null,\"p999_jct_h\":null,"
               "\"max_jct_h\":null,\"makespan_h\":null,");
    printf("\"end_time_h\":%.9f,\"rounds\":%zu,\"gpu_alloc_pct\":%.4f,\"cpu_alloc_pct\":%.4f,"
           "\"mem_alloc_pct\":%.4f,\"wall_s\":%.3f,\"version\":\"%s\",",
           r->end_time_s / h, r->rounds, r->mean_gpu_alloc * 100, r->mean_cpu_alloc * 100,
           r->mean_mem_alloc * 100, wall, SYNERGY_VERSION);
    printf("\"deploy\":{\"time_scale\":%g,\"jobs_failed\":%zu,\"crashes\":%zu,\"relaunches\":%zu,"
           "\"lease_kills\":%zu,\"stops_ignored\":%zu,\"delays\":%zu,\"workers_lost\":%zu,"
           "\"preemptions\":%zu,"
           "\"max_lateness_ms\":%.3f,\"plan_ms_max\":%.3f,\"plan_ms_mean\":%.3f,"
           "\"dispatch_ms_max\":%.3f,\"dispatch_ms_mean\":%.3f}}\n",
           scale, st->jobs_failed, st->crashes, st->relaunches, st->lease_kills,
           st->stops_ignored, st->delays, st->workers_lost,
           st->preemptions, st->max_lateness_ms, st->plan_ms_max,
           st->dispatch_rounds ? st->plan_ms_sum / (double)st->dispatch_rounds : 0,
           st->dispatch_ms_max,
           st->dispatch_rounds ? st->dispatch_ms_sum / (double)st->dispatch_rounds : 0);
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
    static const struct option longopts[] = {
        {"trace", required_argument, 0, 't'},    {"workers", required_argument, 0, 'W'},
        {"local", required_argument, 0, 'n'},    {"catalog", required_argument, 0, 'C'},
        {"topology", required_argument, 0, 'T'}, {"run-dir", required_argument, 0, 'D'},
        {"time-scale", required_argument, 0, 'k'}, {"cluster", required_argument, 0, 'c'},
        {"profiles", required_argument, 0, 'P'},
        {"policy", required_argument, 0, 'p'},   {"mode", required_argument, 0, 'm'},
        {"placement", required_argument, 0, 'L'}, {"round-duration", required_argument, 0, 'R'},
        {"static", no_argument, 0, 's'},         {"port", required_argument, 0, 'o'},
        {"state", required_argument, 0, 'S'},    {"max-retries", required_argument, 0, 'x'},
        {"heartbeat-ms", required_argument, 0, 'b'}, {"worker-timeout-ms", required_argument, 0, 'w'},
        {"wait-workers", required_argument, 0, 'Q'},
        {"plan-log", required_argument, 0, 'l'}, {"json", no_argument, 0, 'j'},
        {"verbose", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
        {"seed", required_argument, 0, 'e'},     {"max-jobs", required_argument, 0, 'N'},
        {"jobs-per-hour", required_argument, 0, 'r'}, {"listen", required_argument, 0, 'I'},
        {"advertise", required_argument, 0, 'A'}, {"metrics-listen", required_argument, 0, 'X'},
        WL_LONGOPTS,
        {0, 0, 0, 0}};
    char def_cluster[4096], def_catalog[4096];
    const char *cluster = cli_data_path(def_cluster, sizeof def_cluster, "configs/default_cluster.ini");
    const char *catalog = cli_data_path(def_catalog, sizeof def_catalog, "configs/deploy_catalog.ini");
    const char *trace = NULL, *workers_path = NULL, *topology = NULL, *run_dir = NULL;
    const char *profiles = NULL, *policy = NULL, *mode = NULL, *placement_s = NULL;
    const char *state = NULL, *plan_log = NULL, *listen_ip = "127.0.0.1", *advertise = NULL;
    const char *metrics_listen = NULL;
    long local = 0, port = 0, retries = 3, hb = 200, wto = 1500, wait_workers = 0;
    double scale = 1, round = -1;
    bool is_static = false, json = false, verbose = false;
    struct wl_opts wl;
    wl_opts_init(&wl);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 't': trace = optarg; break;
        case 'W': workers_path = optarg; break;
        case 'n':
            if (parse_long(optarg, &local) < 0 || local < 1 || local > 1024)
                return bad("--local", optarg, "must be 1..1024");
            break;
        case 'C': catalog = optarg; break;
        case 'T': topology = optarg; break;
        case 'D': run_dir = optarg; break;
        case 'k':
            if (parse_double(optarg, &scale) < 0 || !(scale > 0))
                return bad("--time-scale", optarg, "must be a positive number");
            break;
        case 'c': cluster = optarg; break;
        case 'P': profiles = optarg; break;
        case 'p': policy = optarg; break;
        case 'm': mode = optarg; break;
        case 'L': placement_s = optarg; break;
        case 'R':
            if (parse_double(optarg, &round) < 0 || !(round > 0))
                return bad("--round-duration", optarg, "must be a positive number");
            break;
        case 's': is_static = true; break;
        case 'o':
            if (parse_long(optarg, &port) < 0 || port < 0 || port > 65535)
                return bad("--port", optarg, "must be 0..65535");
            break;
        case 'S': state = optarg; break;
        case 'I': {
            unsigned char buf[sizeof(struct in6_addr)];
            if (inet_pton(AF_INET, optarg, buf) != 1 && inet_pton(AF_INET6, optarg, buf) != 1)
                return bad("--listen", optarg, "must be a numeric IPv4 or IPv6 address");
            listen_ip = optarg;
            break;
        }
        case 'A':
            if (!*optarg || strlen(optarg) > 255 || strpbrk(optarg, " ,/"))
                return bad("--advertise", optarg, "must be a host name or address");
            advertise = optarg;
            break;
        case 'x':
            if (parse_long(optarg, &retries) < 0 || retries < 0)
                return bad("--max-retries", optarg, "must be a non-negative integer");
            break;
        case 'b':
            if (parse_long(optarg, &hb) < 0 || hb < 10)
                return bad("--heartbeat-ms", optarg, "must be at least 10");
            break;
        case 'w':
            if (parse_long(optarg, &wto) < 0 || wto < 50)
                return bad("--worker-timeout-ms", optarg, "must be at least 50");
            break;
        case 'Q':
            if (parse_long(optarg, &wait_workers) < 0 || wait_workers < 1)
                return bad("--wait-workers", optarg, "must be a positive integer");
            break;
        case 'l': plan_log = optarg; break;
        case 'X': metrics_listen = optarg; break;
        case 'j': json = true; break;
        case 'v': verbose = true; log_max_level = LOG_DEBUG; break;
        case 'h': deploy_usage(stdout); return 0;
        case 'e': {
            long v;
            if (parse_long(optarg, &v) < 0 || v < 0)
                return bad("--seed", optarg, "must be a non-negative integer");
            wl.synth.seed = (uint64_t)v;
            wl.have_seed = true;
            break;
        }
        case 'N': {
            long v;
            if (parse_long(optarg, &v) < 0 || v < 1)
                return bad("--max-jobs", optarg, "must be a positive integer");
            wl.synth.max_jobs = v;
            break;
        }
        case 'r': {
            double d;
            if (parse_double(optarg, &d) < 0 || !(d > 0))
                return bad("--jobs-per-hour", optarg, "must be a positive number");
            wl.synth.jobs_per_hour = d;
            wl.have_jph = true;
            break;
        }
        default: {
            int h = wl_opt_handle(&wl, c, optarg, "deploy");
            if (h < 0)
                return EXIT_BAD_INPUT;
            if (h == 0) {
                deploy_usage(stderr);
                return EXIT_BAD_INPUT;
            }
        }
        }
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
    if (!cfg.sched.policy)
        return bad("--policy", policy, "is not a known policy");
    if (!cfg.sched.mode)
        return bad("--mode", mode, "must be fair, greedy or tune");
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
    cfg.heartbeat_ms = (int)hb;
    cfg.worker_timeout_ms = (int)wto;
    cfg.register_timeout_ms = 30000;
    cfg.wait_workers = (int)wait_workers;
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
        print_json(trace, cluster, cfg.sched.policy->name, mode, placement_s,
                   (unsigned long)wl.synth.seed, gpus, &res, &st,
                   wall, scale);
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
