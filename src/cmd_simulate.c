/*
 * `synergy simulate`: run the simulator over a replay trace or the synthetic
 * workload, for one or more policies x modes, and print a table (or JSON, one
 * object per run and line).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plot.h"
#include "policies.h"
#include "results.h"
#include "sim.h"
#include "workload.h"

struct sim_opts {
    const char *cluster_path;
    const char *trace_path;
    const char *record_path;
    const char *jobs_csv_path;
    const char *plan_log_path;
    const char *profiles;
    const char *db_path;  /* --db: record every run */
    const char *plot_dir; /* --plot: draw the runs (records into --db, default results.db) */
    bool synthetic;
    bool json;
    bool is_static;
    bool stop_on_gap;
    bool check;
    long measure_lo, measure_hi;
    char policies[256];
    char modes[256];
    const char *placement;
    struct wl_opts wl;
    double round_duration;
    bool have_round;
    bool opt_compat;
    double opt_time_limit;
    double restart_overhead;      /* --restart-overhead S */
    bool restart_overhead_profile; /* --restart-overhead profile */
};

static void simulate_usage(FILE *f)
{
    fprintf(f,
            "usage: synergy simulate [options] (--trace FILE | --synthetic)\n"
            "\n"
            "Simulate round-based scheduling on a cluster and report job completion times.\n"
            "\n"
            "workload:\n"
            "  --trace FILE          a trace: replay format (id,model,arrival_s,iterations,gpus),\n"
            "                        Philly cluster_job_log, Pollux philly.csv or Gavel .trace\n"
            WL_USAGE
            "  --synthetic           the reference's synthetic workload (the default without --trace)\n"
            "  --jobs-per-hour R     synthetic and Philly Poisson rate (default 9, or [WORKLOAD])\n"
            "  --split I,L,S         image,language,speech %% for synthetic jobs and traces without\n"
            "                        model names (default 20,70,10)\n"
            "  --seed N              seed of the synthetic workload and arrival processes (42)\n"
            "  --max-jobs N          generate at most N synthetic jobs (default: unlimited);\n"
            "                        for a trace, exactly N jobs, reusing it cyclically\n"
            "cluster and scheduling:\n"
            "  --cluster FILE        cluster INI (default configs/default_cluster.ini)\n"
            "  --profiles SET        default | models-4 | models-5 | models-6\n"
            "  --policy P[,P...]     FIFO SRTF LAS FTF DRF TETRIS SRSF (case-insensitive; default FIFO)\n"
            "  --mode M[,M...]       fair (GPU-proportional) | greedy | tune | opt (default fair)\n"
            "  --opt-compat          opt: the reference's cluster-wide formulation, placement\n"
            "                        ignored by progress (docs/opt.md)\n"
            "  --opt-time-limit S    opt: solver seconds per round before TUNE plans it (10)\n"
            "  --placement KIND      first-fit (default) | consolidate (the reference's +place)\n"
            "  --round-duration S    seconds per round (default 300)\n"
            "  --static              all jobs present at start: first round at t=1, stop when idle\n"
            "  --restart-overhead S  seconds of no progress at every (re)launch of a job, in the\n"
            "                        round that starts it; 'profile': each model's startup_s (0)\n"
            "  --stop-on-gap         reference behaviour: a replay stops at the first round with\n"
            "                        nothing runnable, even if jobs are still to arrive\n"
            "measurement and output:\n"
            "  --measure LO:HI       job ids [LO,HI) are measured; the run ends when they have all\n"
            "                        finished (default: every trace id; 4000:5000 for synthetic)\n"
            "  --json                one JSON object per run (per line)\n"
            "  --record FILE         write the jobs as simulated, in the replay format\n"
            "  --db FILE             record every run (config, jobs, rounds) in this SQLite file\n"
            "  --plot DIR            draw JCT CDFs and allocation-vs-demand plots (PNG, SVG) into\n"
            "                        DIR; records the runs into --db (default results.db)\n"
            "  --jobs-csv FILE       per-job results of every run: policy,mode,id,model,gpus,\n"
            "                        arrival_s,first_start_s,finish_s,jct_s (measured jobs)\n"
            "  --plan-log FILE       write each round's placed job ids, \"time: id id ...\",\n"
            "                        and \"finish ID JCT_S\" as jobs finish\n"
            "  --check               verify no server is oversubscribed after every round\n"
            "  -v, --verbose         log more\n"
            "\n"
            "Several policies and modes run every combination, shown side by side.\n");
}

static int parse_measure(const char *s, long *lo, long *hi)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    if (parse_long(buf, lo) < 0 || parse_long(colon + 1, hi) < 0 || *lo < 0 || *hi <= *lo)
        return -1;
    return 0;
}

struct recorder {
    FILE *f;
    struct results_rounds rounds;
    FILE *plan; /* --plan-log */
};

static void record_sample(void *ctx, const struct sched_round_sample *s)
{
    struct recorder *rec = ctx;
    results_rounds_add(&rec->rounds, s);
}

static void record_finish(void *ctx, const struct job *j, bool measured)
{
    struct recorder *rec = ctx;
    fprintf(rec->plan, "finish %d %.3f\n", j->id, j->finish - j->arrival);
}

static void record_plan(void *ctx, double now, struct job *const *placed, size_t n)
{
    struct recorder *rec = ctx;
    fprintf(rec->plan, "%.6f:", now);
    for (size_t i = 0; i < n; i++)
        fprintf(rec->plan, " %d", placed[i]->id);
    fprintf(rec->plan, "\n");
}

static void record_arrival(void *ctx, const struct job_spec *spec)
{
    struct recorder *rec = ctx;
    trace_write_replay_line(rec->f, spec);
}

static void print_json(const struct sim_opts *o, const struct sim_config *cfg,
                       const struct sched_result *r, const char *policy, const char *mode,
                       double wall)
{
    double h = 3600;
    printf("{\"policy\":\"%s\",\"mode\":\"%s\",\"placement\":\"%s\",\"seed\":%lu,"
           "\"workload\":\"%s\",\"cluster\":\"%s\",\"gpus\":%d,"
           "\"jobs_arrived\":%zu,\"jobs_finished\":%zu,\"jobs_measured\":%zu,"
           "\"window_complete\":%s,",
           policy, mode, o->placement, (unsigned long)o->wl.synth.seed,
           o->trace_path ? o->trace_path : "synthetic", o->cluster_path,
           cfg->sched.cluster.gpus_per_server * cfg->sched.cluster.servers_per_rack,
           r->jobs_arrived, r->jobs_finished, r->jobs_measured,
           r->window_complete ? "true" : "false");
    if (r->jobs_measured > 0)
        printf("\"avg_jct_h\":%.9f,\"p50_jct_h\":%.9f,\"p99_jct_h\":%.9f,\"p999_jct_h\":%.9f,"
               "\"max_jct_h\":%.9f,\"makespan_h\":%.9f,",
               r->avg_jct_s / h, r->p50_jct_s / h, r->p99_jct_s / h, r->p999_jct_s / h,
               r->max_jct_s / h, r->makespan_s / h);
    else
        printf("\"avg_jct_h\":null,\"p50_jct_h\":null,\"p99_jct_h\":null,\"p999_jct_h\":null,"
               "\"max_jct_h\":null,\"makespan_h\":null,");
    if (r->opt.rounds > 0)
        printf("\"opt_compat\":%s,\"opt_rounds\":%ld,\"opt_fallbacks\":%ld,\"opt_lowered\":%ld,"
               "\"opt_unplaced\":%ld,\"opt_packed\":%ld,\"opt_solve_mean_s\":%.6f,\"opt_solve_max_s\":%.6f,",
               o->opt_compat ? "true" : "false", r->opt.rounds, r->opt.fallbacks, r->opt.lowered,
               r->opt.unplaced, r->opt.packed, r->opt.solve_s_sum / (double)r->opt.rounds, r->opt.solve_s_max);
    printf("\"end_time_h\":%.9f,\"rounds\":%zu,\"gpu_alloc_pct\":%.4f,\"cpu_alloc_pct\":%.4f,"
           "\"mem_alloc_pct\":%.4f,\"wall_s\":%.3f,\"version\":\"%s\"}\n",
           r->end_time_s / h, r->rounds, r->mean_gpu_alloc * 100, r->mean_cpu_alloc * 100,
           r->mean_mem_alloc * 100, wall, SYNERGY_VERSION);
}

static void write_jobs_csv(FILE *f, const struct sched_result *r, const char *policy,
                           const char *mode)
{
    for (size_t i = 0; i < r->jobs_measured; i++) {
        const struct sched_job_result *j = &r->jobs[i];
        char a[64], s[64], e[64], c[64];
        format_double_shortest(a, sizeof a, j->arrival);
        format_double_shortest(s, sizeof s, j->first_start);
        format_double_shortest(e, sizeof e, j->finish);
        format_double_shortest(c, sizeof c, j->jct);
        fprintf(f, "%s,%s,%d,%s,%d,%s,%s,%s,%s\n", policy, mode, j->id, j->model, j->gpus, a, s,
                e, c);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Split "a,b" into names; returns count (at most max). */
static int split_names(char *s, char **out, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = str_trim(tok);
    return n;
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cluster", required_argument, 0, 'c'},
        {"profiles", required_argument, 0, 'P'},  {"trace", required_argument, 0, 't'},
        {"synthetic", no_argument, 0, 'S'},       {"policy", required_argument, 0, 'p'},
        {"mode", required_argument, 0, 'm'},      {"placement", required_argument, 0, 'L'},
        {"static", no_argument, 0, 's'},          {"stop-on-gap", no_argument, 0, 'G'},
        {"measure", required_argument, 0, 'w'},   {"json", no_argument, 0, 'j'},
        {"jobs-per-hour", required_argument, 0, 'r'}, {"split", required_argument, 0, 'x'},
        {"seed", required_argument, 0, 'e'},      {"max-jobs", required_argument, 0, 'n'},
        {"round-duration", required_argument, 0, 'R'}, {"record", required_argument, 0, 'o'},
        {"check", no_argument, 0, 'C'},           {"verbose", no_argument, 0, 'v'},
        {"opt-compat", no_argument, 0, 'O'},      {"opt-time-limit", required_argument, 0, 'T'},
        {"restart-overhead", required_argument, 0, 'Y'},
        {"db", required_argument, 0, 'D'},        {"plot", required_argument, 0, 'X'},
        {"jobs-csv", required_argument, 0, 'J'},  WL_LONGOPTS,
        {"plan-log", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    char default_cluster[4096];
    struct sim_opts o = {0};
    o.cluster_path = cli_data_path(default_cluster, sizeof default_cluster,
                                   "configs/default_cluster.ini");
    wl_opts_init(&o.wl);
    long v;
    double d;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.cluster_path = optarg; break;
        case 'P': o.profiles = optarg; break;
        case 't': o.trace_path = optarg; break;
        case 'J': o.jobs_csv_path = optarg; break;
        case 'S': o.synthetic = true; break;
        case 'p': snprintf(o.policies, sizeof o.policies, "%s", optarg); break;
        case 'm': snprintf(o.modes, sizeof o.modes, "%s", optarg); break;
        case 'L': o.placement = optarg; break;
        case 's': o.is_static = true; break;
        case 'G': o.stop_on_gap = true; break;
        case 'j': o.json = true; break;
        case 'C': o.check = true; break;
        case 'O': o.opt_compat = true; break;
        case 'T':
            if (parse_double(optarg, &d) < 0 || !(d > 0)) {
                fprintf(stderr, "synergy simulate: --opt-time-limit: '%s' must be a positive number of seconds\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.opt_time_limit = d;
            break;
        case 'Y':
            if (strcmp(optarg, "profile") == 0) {
                o.restart_overhead_profile = true;
            } else if (parse_double(optarg, &d) < 0 || d < 0 || d > 1e9) {
                fprintf(stderr, "synergy simulate: --restart-overhead: '%s' must be seconds >= 0 "
                                "or 'profile'\n", optarg);
                return EXIT_BAD_INPUT;
            } else {
                o.restart_overhead = d;
                o.restart_overhead_profile = false;
            }
            break;
        case 'o': o.record_path = optarg; break;
        case 'D': o.db_path = optarg; break;
        case 'X': o.plot_dir = optarg; break;
        case 'l': o.plan_log_path = optarg; break;
        case 'v': log_max_level = LOG_DEBUG; break;
        case 'h': simulate_usage(stdout); return 0;
        case 'w':
            if (parse_measure(optarg, &o.measure_lo, &o.measure_hi) < 0) {
                fprintf(stderr, "synergy simulate: --measure: '%s' must be LO:HI with 0 <= LO < HI\n", optarg);
                return EXIT_BAD_INPUT;
            }
            break;
        case 'r':
            if (parse_double(optarg, &d) < 0 || !(d > 0)) {
                fprintf(stderr, "synergy simulate: --jobs-per-hour: '%s' must be a positive number\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.wl.synth.jobs_per_hour = d;
            o.wl.have_jph = true;
            break;
        case 'x':
            if (parse_split(optarg, o.wl.synth.split) < 0) {
                fprintf(stderr, "synergy simulate: --split: '%s' must be three percentages adding up to 100\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.wl.have_split = true;
            break;
        case 'e':
            if (parse_long(optarg, &v) < 0 || v < 0) {
                fprintf(stderr, "synergy simulate: --seed: '%s' must be a non-negative integer\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.wl.synth.seed = (uint64_t)v;
            o.wl.have_seed = true;
            break;
        case 'n':
            if (parse_long(optarg, &v) < 0 || v < 1) {
                fprintf(stderr, "synergy simulate: --max-jobs: '%s' must be a positive integer\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.wl.synth.max_jobs = v;
            break;
        case 'R':
            if (parse_double(optarg, &d) < 0 || !(d > 0)) {
                fprintf(stderr, "synergy simulate: --round-duration: '%s' must be a positive number\n", optarg);
                return EXIT_BAD_INPUT;
            }
            o.round_duration = d;
            o.have_round = true;
            break;
        default: {
            int h = wl_opt_handle(&o.wl, c, optarg, "simulate");
            if (h > 0)
                break;
            if (h == 0)
                simulate_usage(stderr);
            return EXIT_BAD_INPUT;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "synergy simulate: unexpected argument '%s'\n", argv[optind]);
        return EXIT_BAD_INPUT;
    }
    if (o.is_static && !o.trace_path) {
        fprintf(stderr, "synergy simulate: --static needs a trace (a static synthetic workload "
                        "is empty: the reference ignores arrival=0 for synthetic jobs)\n");
        return EXIT_BAD_INPUT;
    }
    if (o.trace_path && o.synthetic) {
        fprintf(stderr, "synergy simulate: give --trace or --synthetic, not both\n");
        return EXIT_BAD_INPUT;
    }

    struct err err = {{0}};
    struct synergy_config conf;
    synergy_config_defaults(&conf);
    if (synergy_config_load(o.cluster_path, &conf, &err) < 0) {
        fprintf(stderr, "synergy simulate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    if (!o.wl.have_jph)
        o.wl.synth.jobs_per_hour = conf.jobs_per_hour;
    if (!o.wl.have_split)
        memcpy(o.wl.synth.split, conf.split, sizeof conf.split);
    if (!o.wl.have_seed)
        o.wl.synth.seed = (uint64_t)conf.seed;
    if (!o.have_round)
        o.round_duration = conf.round_duration;
    if (!o.placement)
        o.placement = conf.placement;
    if (!o.profiles)
        o.profiles = conf.profiles;
    if (!o.policies[0])
        snprintf(o.policies, sizeof o.policies, "%s", conf.policy);
    if (!o.modes[0])
        snprintf(o.modes, sizeof o.modes, "%s", conf.mode);
    enum placement placement;
    if (str_ieq(o.placement, "first-fit"))
        placement = PLACEMENT_FIRST_FIT;
    else if (str_ieq(o.placement, "consolidate"))
        placement = PLACEMENT_CONSOLIDATE;
    else {
        fprintf(stderr, "synergy simulate: placement '%s': expected first-fit or consolidate\n",
                o.placement);
        return EXIT_BAD_INPUT;
    }

    char *pnames[16], *mnames[16];
    int np = split_names(o.policies, pnames, 16), nm = split_names(o.modes, mnames, 16);
    const struct sched_policy_ops *pols[16];
    const struct sched_mode_ops *mods[16];
    for (int i = 0; i < np; i++) {
        pols[i] = policy_find(pnames[i]);
        if (!pols[i]) {
            fprintf(stderr, "synergy simulate: unknown policy '%s' (expected one of:", pnames[i]);
            for (size_t k = 0; sched_policies[k]; k++)
                fprintf(stderr, " %s", sched_policies[k]->name);
            fprintf(stderr, ")\n");
            return EXIT_BAD_INPUT;
        }
    }
    for (int i = 0; i < nm; i++) {
        mods[i] = sched_mode_find(mnames[i]);
        if (!mods[i]) {
            fprintf(stderr, "synergy simulate: unknown mode '%s' (expected fair, greedy, tune or opt)\n",
                    mnames[i]);
            return EXIT_BAD_INPUT;
        }
    }
    if (np == 0 || nm == 0) {
        fprintf(stderr, "synergy simulate: give at least one policy and one mode\n");
        return EXIT_BAD_INPUT;
    }
    if ((o.record_path || o.plan_log_path) && np * nm != 1) {
        fprintf(stderr, "synergy simulate: --record and --plan-log need a single policy and mode\n");
        return EXIT_BAD_INPUT;
    }

    model_zoo_t *zoo = wl_zoo_load(&o.wl, o.profiles, &err);
    char models_desc[4096];
    wl_models_describe(&o.wl, models_desc, sizeof models_desc);
    if (!zoo) {
        fprintf(stderr, "synergy simulate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    struct job_spec *specs = NULL;
    size_t n_specs = 0;
    int rc = EXIT_BAD_INPUT;
    store_t *st = NULL;
    int64_t batch = 0;
    FILE *jobs_csv = NULL;
    arrival_t *synth_arrivals = NULL;
    if (o.plot_dir && !o.db_path)
        o.db_path = "results.db";
    if (o.db_path) {
        char cmdline[4096];
        cli_command_line(cmdline, sizeof cmdline, argc, argv, "simulate");
        st = store_open(o.db_path, &err);
        if (!st || (batch = store_batch_insert(st, "simulate", cmdline, &err)) < 0) {
            fprintf(stderr, "synergy simulate: %s\n", err.msg);
            rc = 1;
            goto out;
        }
    }
    o.wl.trace_path = o.trace_path;
    if (o.trace_path && wl_load(&o.wl, zoo, &specs, &n_specs, NULL, &err) < 0) {
        fprintf(stderr, "synergy simulate: %s\n", err.msg);
        goto out;
    }
    if (o.jobs_csv_path) {
        jobs_csv = fopen(o.jobs_csv_path, "w");
        if (!jobs_csv) {
            fprintf(stderr, "synergy simulate: %s: %s\n", o.jobs_csv_path, strerror(errno));
            rc = 1;
            goto out;
        }
        fprintf(jobs_csv, "policy,mode,id,model,gpus,arrival_s,first_start_s,finish_s,jct_s\n");
    }
    int total_gpus = conf.cluster.gpus_per_server * conf.cluster.servers_per_rack * conf.cluster.racks;
    for (size_t i = 0; i < n_specs; i++) {
        if (specs[i].gpus > total_gpus) {
            fprintf(stderr, "synergy simulate: %s: job %d needs %d GPUs but %s has %d\n",
                    o.trace_path, specs[i].id, specs[i].gpus, o.cluster_path, total_gpus);
            goto out;
        }
    }

    if (!o.json) {
        if (o.trace_path)
            printf("workload  %s (%s, %zu jobs)\n", o.trace_path, trace_format_name(o.wl.fmt),
                   n_specs);
        else
            printf("workload  synthetic\n");
        if (!o.trace_path)
            printf("          %.4g jobs/h, split %d/%d/%d, seed %lu%s\n", o.wl.synth.jobs_per_hour,
                   o.wl.synth.split[0], o.wl.synth.split[1], o.wl.synth.split[2],
                   (unsigned long)o.wl.synth.seed, o.wl.synth.max_jobs ? ", capped" : "");
        if (o.wl.arrival)
            printf("arrivals  %s (seed %lu)\n", o.wl.arrival, (unsigned long)o.wl.synth.seed);
        printf("cluster   %s: %d servers x %d GPUs, %d CPUs, %d GB = %d GPUs\n", o.cluster_path,
               conf.cluster.servers_per_rack, conf.cluster.gpus_per_server,
               conf.cluster.cpus_per_server, conf.cluster.dram_per_server, total_gpus);
        printf("rounds    %g s%s%s\n\n", o.round_duration, o.is_static ? ", static" : "",
               placement == PLACEMENT_CONSOLIDATE ? ", consolidating placement" : "");
        printf("%-7s %-7s %6s %6s %11s %10s %10s %10s %11s %7s %9s %7s\n", "policy", "mode",
               "jobs", "done", "avg JCT h", "p50 h", "p99 h", "p99.9 h", "makespan h",
               "GPU %", "vs first", "wall s");
    }
    double first_avg = NAN;
    for (int pi = 0; pi < np; pi++) {
        for (int mi = 0; mi < nm; mi++) {
            struct sim_config cfg = {0};
            cfg.sched.cluster = conf.cluster;
            cfg.sched.policy = pols[pi];
            cfg.sched.mode = mods[mi];
            cfg.sched.placement = placement;
            cfg.sched.round_duration = o.round_duration;
            cfg.sched.starvation_s = 1000 * 3600.0;
            cfg.sched.opt_compat = o.opt_compat;
            cfg.sched.opt_time_limit_s = o.opt_time_limit;
            cfg.sched.restart_overhead_s = o.restart_overhead;
            cfg.sched.restart_overhead_profile = o.restart_overhead_profile;
            cfg.zoo = zoo;
            cfg.is_static = o.is_static;
            cfg.stop_on_gap = o.stop_on_gap;
            cfg.measure_lo = o.measure_lo;
            cfg.measure_hi = o.measure_hi;
            cfg.check_invariants = o.check;
            struct sim_workload w = {specs, n_specs, NULL};
            if (!o.trace_path) {
                arrival_destroy(synth_arrivals);
                synth_arrivals = NULL;
                if (o.wl.arrival) {
                    synth_arrivals = arrival_create(o.wl.arrival, o.wl.synth.seed, &err);
                    if (!synth_arrivals) {
                        fprintf(stderr, "synergy simulate: --arrival: %s\n", err.msg);
                        goto out;
                    }
                }
                o.wl.synth.arrivals = synth_arrivals;
                w.synth = synth_create(zoo, &o.wl.synth, &err);
                if (!w.synth) {
                    fprintf(stderr, "synergy simulate: %s\n", err.msg);
                    goto out;
                }
            }
            struct recorder rec = {0};
            struct out_file rec_out = {0};
            cfg.obs.ctx = &rec;
            struct store_run srun_row = {.batch_id = batch};
            if (st) {
                cfg.obs.on_sample = record_sample;
                results_run_describe(&srun_row, &cfg, o.trace_path, &o.wl.synth, o.cluster_path,
                                     models_desc, o.profiles, o.placement);
                if (o.trace_path && o.wl.arrival)
                    snprintf(srun_row.arrival, sizeof srun_row.arrival, "%s", o.wl.arrival);
                if (store_run_insert(st, &srun_row, &err) < 0) {
                    fprintf(stderr, "synergy simulate: %s\n", err.msg);
                    free(srun_row.cluster_ini);
                    synth_destroy(w.synth);
                    rc = 1;
                    goto out;
                }
            }
            if (o.plan_log_path) {
                rec.plan = fopen(o.plan_log_path, "w");
                if (!rec.plan) {
                    fprintf(stderr, "synergy simulate: %s: %s\n", o.plan_log_path, strerror(errno));
                    synth_destroy(w.synth);
                    rc = 1;
                    goto out;
                }
                cfg.obs.on_plan = record_plan;
                cfg.obs.on_finish = record_finish;
            }
            if (o.record_path) {
                if (out_file_open(&rec_out, o.record_path) < 0) {
                    fprintf(stderr, "synergy simulate: %s: %s\n",
                            rec_out.atomic ? rec_out.tmp : o.record_path, strerror(errno));
                    synth_destroy(w.synth);
                    rc = 1;
                    goto out;
                }
                rec.f = rec_out.f;
                cfg.obs.on_arrival = record_arrival;
            }
            struct sched_result res;
            double t0 = now_s();
            int srun = sim_run(&cfg, &w, &res, &err);
            double wall = now_s() - t0;
            synth_destroy(w.synth);
            if (rec.plan)
                fclose(rec.plan);
            if (rec.f) {
                bool ok = srun == 0;
                if (!ok)
                    out_file_abort(&rec_out);
                else if (out_file_commit(&rec_out) < 0) {
                    fprintf(stderr, "synergy simulate: %s: %s\n", o.record_path, strerror(errno));
                    ok = false;
                }
                if (!ok) {
                    if (srun == 0) {
                        sched_result_free(&res);
                        rc = 1;
                        goto out;
                    }
                }
            }
            if (st) {
                struct err serr = {{0}};
                int stored = srun == 0 ? results_run_complete(st, &srun_row, &res, &rec.rounds,
                                                              wall, &serr)
                                       : store_run_abandon(st, srun_row.id, &serr);
                results_rounds_free(&rec.rounds);
                free(srun_row.cluster_ini);
                if (stored < 0) {
                    fprintf(stderr, "synergy simulate: %s\n", serr.msg);
                    if (srun == 0)
                        sched_result_free(&res);
                    rc = 1;
                    goto out;
                }
            }
            if (srun < 0) {
                fprintf(stderr, "synergy simulate: %s\n", err.msg);
                rc = 1;
                goto out;
            }
            if (!res.window_complete)
                fprintf(stderr, "synergy simulate: warning: %s/%s: only %zu of the %zu measured "
                                "jobs finished before the run ended\n",
                        pols[pi]->name, sched_mode_name(mods[mi]), res.jobs_measured, res.window_size);
            if (o.json) {
                print_json(&o, &cfg, &res, pols[pi]->name, sched_mode_name(mods[mi]), wall);
            } else {
                double h = 3600;
                if (isnan(first_avg))
                    first_avg = res.avg_jct_s;
                printf("%-7s %-7s %6zu %6zu %11.6f %10.6f %10.6f %10.6f %11.6f %7.2f %8.2fx %7.3f\n",
                       pols[pi]->name, sched_mode_name(mods[mi]), res.window_size, res.jobs_measured,
                       res.avg_jct_s / h, res.p50_jct_s / h, res.p99_jct_s / h,
                       res.p999_jct_s / h, res.makespan_s / h, res.mean_gpu_alloc * 100,
                       first_avg / res.avg_jct_s, wall);
            }
            if (jobs_csv)
                write_jobs_csv(jobs_csv, &res, pols[pi]->name, sched_mode_name(mods[mi]));
            fflush(stdout);
            sched_result_free(&res);
        }
    }
    if (!o.json && np * nm > 1)
        printf("\n'vs first' = the first row's average JCT divided by this row's (higher is "
               "better).\n");
    rc = 0;
    if (o.plot_dir) {
        struct store_filter f = {.batch_id = batch};
        if (plot_write(st, &f, o.plot_dir, &err) < 0) {
            fprintf(stderr, "synergy simulate: %s\n", err.msg);
            rc = 1;
        } else if (!o.json) {
            printf("plots in %s/\n", o.plot_dir);
        }
    }
    if (st && !o.json)
        printf("recorded in %s (batch %lld)\n", o.db_path, (long long)batch);
out:
    if (jobs_csv && fclose(jobs_csv) != 0 && rc == 0) {
        fprintf(stderr, "synergy simulate: %s: %s\n", o.jobs_csv_path, strerror(errno));
        rc = 1;
    }
    arrival_destroy(synth_arrivals);
    store_close(st);
    free(specs);
    model_zoo_destroy(zoo);
    return rc;
}
