/*
 * `synergy sweep`: run a grid of policies x modes x loads x class splits x
 * clusters in parallel worker processes, record every run in one results
 * database and print the comparison table at the end.
 *
 * The points run in sweep/'s pool of forked workers (sweep_pool_run), at most
 * `workers` at a time (default: one per core). Each opens the database
 * itself (WAL + busy timeout serialize the writers) and records its run with
 * sweep_run_one, as `simulate --db` does; this file draws the progress.
 * Ctrl-C (SIGINT) or SIGTERM stops launching, kills the runs in flight and
 * keeps the finished ones.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plot.h"
#include "policies.h"
#include "report.h"
#include "results.h"
#include "sim.h"
#include "store.h"
#include "sweep.h"
#include "workload_cli.h"

struct sweep {
    struct sweep_grid g;
    struct sweep_cluster env[SWEEP_MAX]; /* loaded once before forking */
    struct sweep_point *points;
    size_t n_points;
    int64_t batch;
    char grid_id[17]; /* sweep_grid_fingerprint */
};

static volatile sig_atomic_t stop_signal;
/* progress and the closing lines: stdout, or stderr with --json */
static FILE *info;

static void on_stop(int sig)
{
    stop_signal = sig;
}

struct progress {
    bool tty;
    size_t done, failed, total;
    double t0;
    double best;
    char best_label[96];
};

/* What the pool's callbacks share. */
struct run_ctx {
    struct sweep *sw;
    struct progress pr;
};

/* In a pool worker: simulate point i into the database. */
static void point_run(void *ctx, size_t i, struct sweep_point_msg *msg)
{
    const struct sweep *sw = ((const struct run_ctx *)ctx)->sw;
    const struct sweep_point *p = &sw->points[i];
    struct err err = {{0}};
    struct wl_opts mo;
    char files[sizeof sw->g.models], models_desc[4096];
    sweep_model_opts(&sw->g, &mo, files);
    wl_models_describe(&mo, models_desc, sizeof models_desc);
    msg->ok = sweep_point_run(&sw->g, &sw->env[p->cluster], p, sw->batch, sw->grid_id,
                              models_desc, msg, &err) == 0;
    if (!msg->ok)
        snprintf(msg->err, sizeof msg->err, "%s", err.msg);
}

static void point_label(const struct sweep *sw, const struct sweep_point *p, char *buf, size_t n)
{
    const struct sweep_grid *g = &sw->g;
    size_t at = (size_t)snprintf(buf, n, "%s/%s", g->policies[p->policy], g->modes[p->mode]);
    if (g->n_loads > 1 && at < n)
        at += (size_t)snprintf(buf + at, n - at, " %g/h", g->loads[p->load]);
    if (g->n_splits > 1 && at < n)
        at += (size_t)snprintf(buf + at, n - at, " %d/%d/%d", g->splits[p->split][0],
                               g->splits[p->split][1], g->splits[p->split][2]);
    if (g->n_clusters > 1 && at < n) {
        const char *c = strrchr(g->clusters[p->cluster], '/');
        at += (size_t)snprintf(buf + at, n - at, " %s", c ? c + 1 : g->clusters[p->cluster]);
    }
    if (g->n_seeds > 1 && at < n)
        at += (size_t)snprintf(buf + at, n - at, " seed %ld", g->seeds[p->seed]);
    if (g->n_heteros > 1 && at < n)
        snprintf(buf + at, n - at, " %s", g->heteros[p->hetero]);
}

static void progress_show(struct progress *pr, const char *label,
                          const struct sweep_point_msg *m)
{
    double el = mono_s() - pr->t0;
    if (m->ok && !isnan(m->avg_jct_s) && (pr->best_label[0] == '\0' || m->avg_jct_s < pr->best)) {
        pr->best = m->avg_jct_s;
        snprintf(pr->best_label, sizeof pr->best_label, "%s", label);
    }
    /* -v: each finished run's line on a terminal too, above the bar */
    bool each = !pr->tty || log_max_level >= LOG_DEBUG;
    if (pr->tty && each && m->ok)
        fprintf(stderr, "\r\033[K[%zu/%zu] run %lld %s: avg JCT %.3f h (%.2f s)\n", pr->done,
                pr->total, (long long)m->run_id, label, m->avg_jct_s / 3600, m->wall_s);
    if (!pr->tty) {
        if (m->ok)
            fprintf(info, "[%zu/%zu] run %lld %s: avg JCT %.3f h (%.2f s)\n", pr->done, pr->total,
                   (long long)m->run_id, label, m->avg_jct_s / 3600, m->wall_s);
        else
            fprintf(info, "[%zu/%zu] %s: failed: %s\n", pr->done, pr->total, label, m->err);
        fflush(info);
        return;
    }
    if (!m->ok)
        fprintf(stderr, "\r\033[K%s: failed: %s\n", label, m->err);
    int width = 24, fill = (int)(width * pr->done / (pr->total ? pr->total : 1));
    double eta = pr->done ? el / (double)pr->done * (double)(pr->total - pr->done) : 0;
    fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu runs  %.1fs  ETA %.1fs  best: %s %.2f h", fill,
            "########################", width - fill, "", pr->done, pr->total, el, eta,
            pr->best_label[0] ? pr->best_label : "-", pr->best_label[0] ? pr->best / 3600 : 0.0);
    fflush(stderr);
}

/* In the parent, as point i ends. */
static void point_done(void *ctx, size_t i, const struct sweep_point_msg *m)
{
    struct run_ctx *rc = ctx;
    char label[96];
    point_label(rc->sw, &rc->sw->points[i], label, sizeof label);
    rc->pr.done++;
    rc->pr.failed += !m->ok;
    progress_show(&rc->pr, label, m);
}

/* Run every point; returns the number that failed, or -1 when stopped. */
static long run_points(struct sweep *sw, int workers)
{
    struct run_ctx rc = {.sw = sw,
                         .pr = {.tty = isatty(STDERR_FILENO), .total = sw->n_points,
                                .t0 = mono_s()}};
    struct sweep_pool pool = {.n = sw->n_points, .workers = workers, .run = point_run,
                              .done = point_done, .ctx = &rc, .stop = &stop_signal};
    struct err err = {{0}};
    long failed = sweep_pool_run(&pool, &err);
    if (rc.pr.tty)
        fputc('\n', stderr);
    if (failed < 0 && strcmp(err.msg, "interrupted") != 0)
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
    if (failed < 0)
        fprintf(stderr, "synergy sweep: interrupted: %zu of %zu runs finished and kept\n",
                rc.pr.done - rc.pr.failed, sw->n_points);
    return failed;
}

static int build_points(struct sweep *sw)
{
    size_t n;
    struct sweep_point *all = sweep_grid_points(&sw->g, &n);
    sw->points = xcalloc(n + 1, sizeof *sw->points);
    sw->n_points = 0;
    for (size_t i = 0; i < n; i++)
        if (sweep_grid_in_shard(&sw->g, i))
            sw->points[sw->n_points++] = all[i];
    free(all);
    sweep_grid_fingerprint(&sw->g, sw->grid_id);
    return 0;
}

static int index_of(const char (*names)[16], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return n;
}

/* The table's order: cluster, split, load, then policy and mode as given. */
static const struct sweep_grid *sort_grid;
static int run_cmp(const void *a, const void *b)
{
    const struct store_run *x = a, *y = b;
    const struct sweep_grid *g = sort_grid;
    int c = strcmp(x->cluster, y->cluster);
    if (c)
        return c;
    c = memcmp(x->split, y->split, sizeof x->split);
    if (c)
        return c;
    if (x->jobs_per_hour != y->jobs_per_hour)
        return x->jobs_per_hour < y->jobs_per_hour ? -1 : 1;
    if (x->seed != y->seed)
        return x->seed < y->seed ? -1 : 1;
    c = index_of(g->policies, g->n_policies, x->policy) -
        index_of(g->policies, g->n_policies, y->policy);
    if (c)
        return c;
    c = index_of(g->modes, g->n_modes, x->mode) - index_of(g->modes, g->n_modes, y->mode);
    if (c)
        return c;
    return strcmp(x->hetero, y->hetero);
}

/* Load clusters, zoos and the trace; check everything a worker would trip on.
 * The trace is loaded here once per cluster and load (with the first split)
 * to report bad input before any run starts; each worker loads it again for
 * its own point, which costs milliseconds against the simulation. */
static int sweep_prepare(struct sweep *sw, struct err *err)
{
    struct sweep_grid *g = &sw->g;
    if (sweep_grid_check(g, err) < 0)
        return -1;
    for (int c = 0; c < g->n_clusters; c++) {
        struct sweep_cluster *e = &sw->env[c];
        synergy_config_defaults(&e->conf);
        if (synergy_config_load(g->clusters[c], &e->conf, err) < 0)
            return -1;
        struct wl_opts mo;
        char files[sizeof g->models];
        sweep_model_opts(g, &mo, files);
        e->zoo = wl_zoo_load(&mo, g->profiles[0] ? g->profiles : e->conf.profiles, err);
        if (!e->zoo)
            return -1;
        if (!g->trace[0])
            continue;
        int gpus = cluster_config_gpus(&e->conf.cluster);
        for (int l = 0; l < (g->n_loads ? g->n_loads : 1); l++) {
            struct sweep_point p = {.cluster = c, .load = l};
            struct wl_opts wl;
            char arrival[64];
            struct job_spec *specs = NULL;
            size_t n = 0;
            sweep_point_wl_opts(g, e, &p, &wl, arrival, sizeof arrival);
            wl.quiet = c > 0 || l > 0; /* the Philly reader's summary, once */
            wl.max_gpus = gpus;
            wl.cluster_path = g->clusters[c];
            if (wl_load(&wl, e->zoo, &specs, &n, err) < 0)
                return -1;
            if (wl_check_window(&wl, specs, n, g->measure_lo, g->measure_hi, err) < 0) {
                free(specs);
                return -1;
            }
            free(specs);
        }
    }
    return 0;
}

/* The options and the experiment file into sw->g (the file first: flags
 * override its keys). -1 to go on, else the exit code. */
static int sweep_parse(struct sweep *sw, int argc, char **argv, bool *json,
                       const char **jobs_csv_path)
{
    struct cli_parser cp;
    const struct cli_option *given[256];
    const char *values[256];
    size_t n_given = 0;
    bool synthetic = false;
    struct err err = {{0}};
    int c;
    cli_parser_init(&cp, CLI_SWEEP, argc, argv);
    while ((c = cli_next(&cp)) >= 0) {
        switch (c) {
        case OPT_JSON: *json = true; break;
        case OPT_SYNTHETIC: synthetic = true; break;
        case OPT_JOBS_CSV: *jobs_csv_path = cp.arg; break;
        case OPT_VERBOSE: log_max_level = LOG_DEBUG; break;
        default:
            if (!cp.opt->key)
                return cli_bad(&cp, "--%s has no experiment-file key (a bug in the option "
                                    "table)", cp.opt->name);
            if (n_given == sizeof given / sizeof given[0])
                return cli_bad(&cp, "too many options");
            given[n_given] = cp.opt;
            values[n_given++] = cp.arg ? cp.arg : "yes";
        }
    }
    if (c == CLI_EXIT)
        return cp.exit_code;
    if (cp.optind < argc - 1)
        return cli_bad(&cp, "give at most one experiment file");
    if (cp.optind == argc - 1 && sweep_grid_load(&sw->g, argv[cp.optind], &err) < 0)
        return cli_bad(&cp, "%s", err.msg);
    for (size_t i = 0; i < n_given; i++)
        if (sweep_grid_set(&sw->g, given[i]->key, values[i], &err) < 0) {
            /* the message names the file key; name the flag instead */
            const char *rest = strstr(err.msg, ": ");
            return cli_bad(&cp, "--%s%s", given[i]->name, rest ? rest : err.msg);
        }
    info = *json ? stderr : stdout;
    if (synthetic && sw->g.trace[0])
        return cli_bad(&cp, "give a trace or --synthetic, not both");
    return -1;
}

int cmd_sweep(int argc, char **argv)
{
    char default_cluster[4096], default_models[4096];
    struct sweep *sw = xcalloc(1, sizeof *sw);
    sweep_grid_defaults(&sw->g, cli_data_path(default_cluster, sizeof default_cluster,
                                              "configs/default_cluster.ini"),
                        cli_data_path(default_models, sizeof default_models, "configs/models.ini"));
    struct err err = {{0}};
    int rc = EXIT_BAD_INPUT;
    store_t *st = NULL;
    struct store_run *runs = NULL;
    size_t n = 0;
    bool json = false;
    const char *jobs_csv_path = NULL;
    rc = sweep_parse(sw, argc, argv, &json, &jobs_csv_path);
    if (rc >= 0)
        goto out;
    rc = EXIT_BAD_INPUT;
    if (cli_output_check("--jobs-csv", jobs_csv_path, false, &err) < 0 ||
        cli_output_check("--db", sw->g.db, false, &err) < 0 ||
        cli_output_check("--plot", sw->g.plot[0] ? sw->g.plot : NULL, true, &err) < 0) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    for (int k = 0; k < sw->g.n_clusters; k++)
        if (strcmp(sw->g.clusters[k], default_cluster) == 0 &&
            cli_data_check(default_cluster, "--cluster", &err) < 0) {
            fprintf(stderr, "synergy sweep: %s\n", err.msg);
            goto out;
        }
    if (sweep_prepare(sw, &err) < 0) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    build_points(sw);
    int workers = sw->g.workers;
    if (workers <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cores > 0 ? (int)cores : 1;
    }
    if ((size_t)workers > sw->n_points)
        workers = (int)sw->n_points;
    if (workers < 1)
        workers = 1; /* a shard with no point of its own still records its batch */

    rc = 1;
    char cmdline[4096];
    cli_command_line(cmdline, sizeof cmdline, argc, argv, "sweep");
    st = store_open(sw->g.db, &err);
    if (!st || (sw->batch = store_batch_insert(st, "sweep", cmdline, &err)) < 0) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    store_close(st); /* never carry a SQLite connection across fork() */
    st = NULL;
    if (sw->g.shard_n > 0)
        fprintf(info, "sweep: shard %d/%d of grid %s\n", sw->g.shard_k, sw->g.shard_n,
                sw->grid_id);
    fprintf(info, "sweep: %zu runs on %d worker%s into %s (batch %lld)\n", sw->n_points, workers,
           workers == 1 ? "" : "s", sw->g.db, (long long)sw->batch);

    struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: waitpid must see EINTR */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = mono_s();
    long failed = run_points(sw, workers);
    double wall = mono_s() - t0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    st = store_open(sw->g.db, &err); /* also marks the interrupted runs incomplete */
    if (!st) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    struct store_filter f = {.batch_id = sw->batch};
    if (store_runs_select(st, &f, &runs, &n, &err) < 0) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    sort_grid = &sw->g;
    if (n > 0)
        qsort(runs, n, sizeof *runs, run_cmp);
    if (n > 0) {
        if (!json)
            printf("\n");
        struct report_opts ro = {.format = json ? REPORT_JSON : REPORT_TEXT};
        if (report_print(stdout, st, runs, n, &ro, &err) < 0)
            fprintf(stderr, "synergy sweep: %s\n", err.msg);
    }
    fprintf(info, "\n%zu runs in %.2f s wall; 'synergy report --db %s --batch %lld' shows them again.\n",
           n, wall, sw->g.db, (long long)sw->batch);
    if (jobs_csv_path && results_jobs_csv_from_store(st, runs, n, jobs_csv_path, &err) < 0) {
        fprintf(stderr, "synergy sweep: %s\n", err.msg);
        goto out;
    }
    if (sw->g.plot[0] && n > 0) {
        /* plot in table order: the first run picks the allocation plots */
        struct store_filter pf = {.ids = xcalloc(n, sizeof(int64_t)), .n_ids = n};
        for (size_t i = 0; i < n; i++)
            ((int64_t *)pf.ids)[i] = runs[i].id;
        int prc = plot_write(st, &pf, sw->g.plot, &err);
        free((void *)pf.ids);
        if (prc < 0) {
            fprintf(stderr, "synergy sweep: %s\n", err.msg);
            goto out;
        }
        fprintf(info, "plots in %s/\n", sw->g.plot);
    }
    rc = failed < 0 ? 128 + (stop_signal ? (int)stop_signal : SIGINT) : failed > 0 ? 1 : 0;
out:
    store_runs_free(runs, n);
    store_close(st);
    for (int k = 0; k < SWEEP_MAX; k++)
        model_zoo_destroy(sw->env[k].zoo);
    free(sw->points);
    free(sw);
    return rc;
}
