/*
 * `synergy trace`: tools for workloads. `convert` turns any supported trace
 * (replay, Philly cluster_job_log, Pollux CSV, Gavel TSV) into the replay
 * format with the same arrival and GPU options as `simulate`; `stats`
 * summarises a trace (GPU-demand histogram, duration percentiles, offered load
 * against a cluster); `validate` checks a file and reports `file:line`
 * problems (exit 2); `generate` writes the synthetic workload (the old
 * `synergy generate`, still accepted as an alias).
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "trace.h"
#include "workload_cli.h"

struct tool_opts {
    struct wl_opts wl;
    const char *profiles;
    const char *cluster;
    const char *output;
    char cluster_buf[4096];
};

/* Parse the options every subcommand shares; returns 1 on --help or
 * --version, 0 ok, -1 bad. */
static int parse_opts(struct tool_opts *t, int argc, char **argv, unsigned cmd)
{
    wl_opts_init(&t->wl);
    t->cluster = cli_data_path(t->cluster_buf, sizeof t->cluster_buf,
                               "configs/default_cluster.ini");
    struct cli_parser p;
    int c;
    cli_parser_init(&p, cmd, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_OUTPUT: t->output = p.arg; break;
        case OPT_PROFILES: t->profiles = p.arg; break;
        case OPT_CLUSTER: t->cluster = p.arg; break;
        default:
            if (wl_opt_handle(&t->wl, &p) < 0)
                return -1;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code == 0 ? 1 : -1;
    if (p.optind != argc - 1) {
        cli_bad(&p, "give exactly one trace file");
        return -1;
    }
    t->wl.trace_path = argv[p.optind];
    return 0;
}


static int load(struct tool_opts *t, const char *cmd, model_zoo_t **zoo, struct job_spec **jobs,
                size_t *n)
{
    struct err err = {{0}};
    *zoo = wl_zoo_load(&t->wl, t->profiles, &err);
    if (!*zoo) {
        fprintf(stderr, "synergy trace %s: %s\n", cmd, err.msg);
        return -1;
    }
    if (wl_load(&t->wl, *zoo, jobs, n, &err) < 0) {
        fprintf(stderr, "synergy trace %s: %s\n", cmd, err.msg);
        model_zoo_destroy(*zoo);
        *zoo = NULL;
        return -1;
    }
    return 0;
}

int cmd_trace_convert(int argc, char **argv)
{
    struct tool_opts t = {0};
    int p = parse_opts(&t, argc, argv, CLI_CONVERT);
    if (p != 0)
        return p > 0 ? 0 : EXIT_BAD_INPUT;
    struct err oerr = {{0}};
    if (cli_output_check("--output", t.output, false, &oerr) < 0) {
        fprintf(stderr, "synergy trace convert: %s\n", oerr.msg);
        return EXIT_BAD_INPUT;
    }
    model_zoo_t *zoo;
    struct job_spec *jobs;
    size_t n;
    if (load(&t, "convert", &zoo, &jobs, &n) < 0)
        return EXIT_BAD_INPUT;
    int rc = 1;
    FILE *f = stdout;
    struct out_file of = {0};
    if (t.output) {
        if (out_file_open(&of, t.output) < 0) {
            fprintf(stderr, "synergy trace convert: %s: %s\n", t.output, strerror(errno));
            goto out;
        }
        f = of.f;
    }
    for (size_t i = 0; i < n; i++)
        trace_write_replay_line(f, &jobs[i]);
    for (size_t i = 0; i < n; i++) /* a recorded service run's cancels, kept */
        if (jobs[i].cancelled)
            trace_write_replay_cancel(f, jobs[i].id, jobs[i].cancel_at);
    if (t.output) {
        if (out_file_commit(&of) < 0) {
            fprintf(stderr, "synergy trace convert: %s: %s\n", t.output, strerror(errno));
            goto out;
        }
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "synergy trace convert: writing: %s\n", strerror(errno ? errno : EIO));
        goto out;
    }
    rc = 0;
out:
    free(jobs);
    model_zoo_destroy(zoo);
    return rc;
}


/* The cluster's GPU count from --cluster, or -1 (message printed). */
static int load_cluster_gpus(const struct tool_opts *t, const char *cmd)
{
    struct err err = {{0}};
    struct synergy_config conf;
    synergy_config_defaults(&conf);
    if ((t->cluster == t->cluster_buf && cli_data_check(t->cluster, "--cluster", &err) < 0) ||
        synergy_config_load(t->cluster, &conf, &err) < 0) {
        fprintf(stderr, "synergy trace %s: %s\n", cmd, err.msg);
        return -1;
    }
    return cluster_config_gpus(&conf.cluster);
}

int cmd_trace_stats(int argc, char **argv)
{
    struct tool_opts t = {0};
    int p = parse_opts(&t, argc, argv, CLI_STATS);
    if (p != 0)
        return p > 0 ? 0 : EXIT_BAD_INPUT;
    int cluster_gpus = load_cluster_gpus(&t, "stats");
    if (cluster_gpus < 0)
        return EXIT_BAD_INPUT;
    model_zoo_t *zoo;
    struct job_spec *jobs;
    size_t n;
    t.wl.quiet = false;
    t.wl.unknown_reference = true; /* counted, and reported below */
    if (load(&t, "stats", &zoo, &jobs, &n) < 0)
        return EXIT_BAD_INPUT;
    struct trace_stats st;
    double *dur = trace_stats_compute(jobs, n, zoo, cluster_gpus, &st);
    const int *gv = st.gpus;
    const long *gc = st.count;
    int ng = st.n_gpus;
    double gpu_h = st.gpu_h, first = st.first, last = st.last;
    long unknown = st.unknown, too_big = st.too_big;
    double span_h = (last - first) / 3600;
    printf("trace      %s (%s)\n", t.wl.trace_path, t.wl.fmt->name);
    printf("jobs       %zu\n", n);
    printf("gpus       ");
    for (int k = 0; k < ng; k++)
        printf("%s%d: %ld (%.1f%%)", k ? ", " : "", gv[k], gc[k], 100.0 * gc[k] / n);
    printf("\n");
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += dur[i];
    printf("duration   h at the fair share: p50 %.3f, p90 %.3f, p99 %.3f, max %.3f, mean %.3f\n",
           sched_quantile(dur, n, 0.5) / 3600, sched_quantile(dur, n, 0.9) / 3600,
           sched_quantile(dur, n, 0.99) / 3600, dur[n - 1] / 3600, sum / n / 3600);
    /* A static trace (every job within one 300 s round of the first, like the
     * reference's static_* traces staggered by 1 ms) has no arrival rate: a
     * rate over its tiny span read as millions of jobs per hour. */
    bool at_once = span_h * 3600 < 300;
    if (at_once)
        printf("arrivals   all within %.3f s of %.3f h: a static trace (simulate --static), no "
               "arrival rate\n", last - first, first / 3600);
    else
        printf("arrivals   %.3f h .. %.3f h (span %.3f h, %.3f jobs/h)\n", first / 3600,
               last / 3600, span_h, (n - 1) / span_h);
    printf("work       %.1f GPU-h\n", gpu_h);
    if (!at_once)
        printf("load       %.3f of %s (%d GPUs): %.1f GPUs asked for on average\n",
               gpu_h / span_h / cluster_gpus, t.cluster, cluster_gpus, gpu_h / span_h);
    else
        printf("load       all jobs arrive at once: %.1f GPU-h on %d GPUs = %.2f h at best\n",
               gpu_h, cluster_gpus, gpu_h / cluster_gpus);
    if (unknown)
        printf("warning    %ld jobs name a model that is not profiled (counted as alexnet)\n",
               unknown);
    if (too_big)
        printf("warning    %ld jobs ask for more than the cluster's %d GPUs\n", too_big,
               cluster_gpus);
    free(dur);
    free(jobs);
    model_zoo_destroy(zoo);
    return 0;
}


int cmd_trace_validate(int argc, char **argv)
{
    struct tool_opts t = {0};
    int p = parse_opts(&t, argc, argv, CLI_VALIDATE);
    if (p != 0)
        return p > 0 ? 0 : EXIT_BAD_INPUT;
    struct err err = {{0}};
    int cluster_gpus = load_cluster_gpus(&t, "validate");
    if (cluster_gpus < 0)
        return EXIT_BAD_INPUT;
    model_zoo_t *zoo = wl_zoo_load(&t.wl, t.profiles, &err);
    if (!zoo) {
        fprintf(stderr, "synergy trace validate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    int r = wl_validate(&t.wl, zoo, cluster_gpus, stdout, stderr, &err);
    if (r < 0)
        fprintf(stderr, "%s\n", err.msg);
    model_zoo_destroy(zoo);
    return r == 0 ? 0 : EXIT_BAD_INPUT;
}

static int parse_size(const char *s, long long *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return -1;
    double m = 1;
    if (*end == 'K' || *end == 'k')
        m = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        m = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        m = 1024.0 * 1024 * 1024, end++;
    if (*end)
        return -1;
    *out = (long long)(v * m);
    return 0;
}

/* hidden `synergy trace gen-philly`: a synthetic Philly log for benchmarks */
int cmd_trace_gen_philly(int argc, char **argv)
{
    struct philly_gen_opts g = {.seed = 1};
    int c;
    struct cli_parser p;
    cli_parser_init(&p, CLI_GENPHILLY, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_BYTES:
            if (parse_size(p.arg, &g.bytes) < 0)
                return cli_bad(&p, "--bytes: '%s' must be a size (e.g. 1G)", p.arg);
            break;
        case OPT_JOBS: g.jobs = p.lnum; break;
        case OPT_SEED: g.seed = p.lnum; break;
        case OPT_BAD_EVERY: g.bad_every = p.lnum; break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (!g.bytes && !g.jobs) {
        fprintf(stderr, "synergy trace gen-philly: give --bytes or --jobs\n");
        return EXIT_BAD_INPUT;
    }
    if (trace_philly_generate(stdout, &g) < 0) {
        fprintf(stderr, "synergy trace gen-philly: writing: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
