/*
 * `synergy report`: tables, comparisons, telemetry and plots over runs in a
 * results database (by default the newest batch - the last simulate or
 * sweep - of results.db).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "report.h"
#include "store.h"

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: synergy report [options]\n"
            "\n"
            "Report recorded runs: a JCT table (NUM MED MEAN P99 P99.5 P99.9, hours) with\n"
            "makespan and utilization, per-model and per-GPU-count breakdowns, and each run\n"
            "against a baseline as ratios (by default the same policy in fair mode, i.e.\n"
            "GPU-proportional).\n"
            "\n"
            "  --db FILE          results database (default results.db)\n"
            "  --run ID[,ID...]   these runs (default: the newest batch's complete runs)\n"
            "  --batch ID         the runs of this batch (a simulate or sweep invocation)\n"
            "  --all              every complete run in the database\n"
            "  --baseline ID      compare every run with run ID instead\n"
            "  --format F         text (default) | csv | json (one object per run and line)\n"
            "  --brief            leave out the per-model and per-GPU-count breakdowns\n"
            "  --telemetry DIR    write run<ID>_jobs.tsv and run<ID>_rounds.tsv into DIR\n"
            "  --plot DIR         draw the runs (PNG and SVG) into DIR\n"
            "  --list             list the runs of the selection with their status and exit\n"
            "  --merge A.db [B.db ...]\n"
            "                     merge the databases of a sharded sweep (sweep --shard K/N)\n"
            "                     into --db: complete runs with their jobs and rounds, each\n"
            "                     once (repeating a merge adds nothing); shards of different\n"
            "                     grids are refused\n"
            "\n"
            "Runs repeated over seeds (sweep --seed 1,2,3) also get a table of means with\n"
            "95%% confidence intervals (Student t), and --plot draws them with error bars.\n");
}

static int parse_ids(const char *s, int64_t **ids, size_t *n)
{
    char *buf = xstrdup(s), *save = NULL;
    size_t cap = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (parse_long(t, &v) < 0 || v < 1) {
            free(buf);
            return -1;
        }
        xgrow((void **)ids, &cap, *n + 1, sizeof **ids);
        (*ids)[(*n)++] = v;
    }
    free(buf);
    return *n > 0 ? 0 : -1;
}

static int run_order(const void *a, const void *b)
{
    const struct store_run *x = a, *y = b;
    int c = (x->batch_id > y->batch_id) - (x->batch_id < y->batch_id);
    if (!c)
        c = strcmp(x->cluster, y->cluster);
    if (!c)
        c = memcmp(x->split, y->split, sizeof x->split);
    if (!c)
        c = strcmp(x->workload, y->workload);
    if (!c && x->jobs_per_hour != y->jobs_per_hour)
        c = x->jobs_per_hour < y->jobs_per_hour ? -1 : 1;
    if (!c)
        c = (x->id > y->id) - (x->id < y->id);
    return c;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, 0, 'd'},       {"run", required_argument, 0, 'r'},
        {"batch", required_argument, 0, 'b'},    {"all", no_argument, 0, 'a'},
        {"baseline", required_argument, 0, 'B'}, {"format", required_argument, 0, 'f'},
        {"brief", no_argument, 0, 'q'},          {"telemetry", required_argument, 0, 't'},
        {"plot", required_argument, 0, 'p'},     {"list", no_argument, 0, 'l'},
        {"merge", required_argument, 0, 'M'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *db = "results.db", *telemetry = NULL, *plot_dir = NULL;
    struct report_opts o = {.format = REPORT_TEXT, .breakdowns = true};
    struct store_filter f = {.batch_id = STORE_LAST_BATCH};
    int64_t *ids = NULL;
    size_t n_ids = 0;
    bool list = false;
    const char *merge_first = NULL;
    long v;
    int c, rc = EXIT_BAD_INPUT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'a': f.batch_id = 0; break;
        case 'q': o.breakdowns = false; break;
        case 't': telemetry = optarg; break;
        case 'p': plot_dir = optarg; break;
        case 'l': list = true; break;
        case 'M': merge_first = optarg; break;
        case 'h': report_usage(stdout); return 0;
        case 'r':
            if (parse_ids(optarg, &ids, &n_ids) < 0) {
                fprintf(stderr, "synergy report: --run: '%s' must be run ids (1,2,...)\n", optarg);
                goto out;
            }
            break;
        case 'b':
        case 'B':
            if (parse_long(optarg, &v) < 0 || v < 1) {
                fprintf(stderr, "synergy report: --%s: '%s' must be a positive id\n",
                        c == 'b' ? "batch" : "baseline", optarg);
                goto out;
            }
            if (c == 'b')
                f.batch_id = v;
            else
                o.baseline = v;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                o.format = REPORT_TEXT;
            else if (strcmp(optarg, "csv") == 0)
                o.format = REPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                o.format = REPORT_JSON;
            else {
                fprintf(stderr, "synergy report: --format: '%s': expected text, csv or json\n",
                        optarg);
                goto out;
            }
            break;
        default:
            report_usage(stderr);
            goto out;
        }
    }
    if (merge_first) { /* --merge A.db B.db ...: the shards are the operands */
        size_t ns = 0;
        const char **srcs = xcalloc((size_t)(argc - optind) + 2, sizeof *srcs);
        srcs[ns++] = merge_first;
        for (int i = optind; i < argc; i++)
            srcs[ns++] = argv[i];
        struct err merr = {{0}};
        int mrc = report_merge(db, srcs, ns, stdout, &merr);
        free(srcs);
        if (mrc < 0)
            fprintf(stderr, "synergy report: --merge: %s\n", merr.msg);
        rc = mrc == 0 ? 0 : mrc == -2 ? EXIT_BAD_INPUT : 1;
        goto out;
    }
    if (optind < argc) {
        fprintf(stderr, "synergy report: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "synergy report: %s: no such results database\n", db);
        goto out;
    }
    f.all_statuses = list;
    struct err err = {{0}};
    store_t *st = store_open(db, &err);
    struct store_run *runs = NULL;
    size_t n = 0;
    rc = 1;
    if (!st)
        goto fail;
    if (o.baseline > 0 && n_ids > 0) {
        bool have = false;
        for (size_t i = 0; i < n_ids; i++)
            have |= ids[i] == o.baseline;
        if (!have) {
            size_t cap = n_ids;
            xgrow((void **)&ids, &cap, n_ids + 1, sizeof *ids);
            ids[n_ids++] = o.baseline;
        }
    }
    f.ids = ids;
    f.n_ids = n_ids;
    if (store_runs_select(st, &f, &runs, &n, &err) < 0) {
        if (n_ids > 0) /* an unknown or unfinished run id: the user's mistake */
            rc = EXIT_BAD_INPUT;
        goto fail;
    }
    if (n == 0) {
        fprintf(stderr, "synergy report: %s: no complete runs selected\n", db);
        goto done;
    }
    if (n_ids == 0) /* each batch by setting and load, not by start order */
        qsort(runs, n, sizeof *runs, run_order);
    if (o.baseline > 0 && n_ids == 0) {
        bool have = false;
        for (size_t i = 0; i < n; i++)
            have |= runs[i].id == o.baseline;
        if (!have) {
            fprintf(stderr, "synergy report: --baseline %lld is not among the selected runs "
                            "(add it with --run)\n", (long long)o.baseline);
            rc = EXIT_BAD_INPUT;
            goto done;
        }
    }
    if (list) {
        printf("%4s %6s %-10s %-7s %-7s %7s %-10s %-20s %s\n", "RUN", "BATCH", "STATUS", "POLICY",
               "MODE", "LOAD", "SPLIT", "STARTED", "CLUSTER");
        for (size_t i = 0; i < n; i++) {
            char split[16];
            snprintf(split, sizeof split, "%d/%d/%d", runs[i].split[0], runs[i].split[1],
                     runs[i].split[2]);
            printf("%4lld %6lld %-10s %-7s %-7s %7g %-10s %-20s %s\n", (long long)runs[i].id,
                   (long long)runs[i].batch_id, runs[i].status, runs[i].policy, runs[i].mode,
                   runs[i].jobs_per_hour, split, runs[i].started_at, runs[i].cluster);
        }
        rc = 0;
        goto done;
    }
    if (report_print(stdout, st, runs, n, &o, &err) < 0)
        goto fail;
    if (telemetry && report_telemetry(st, runs, n, telemetry, &err) < 0)
        goto fail;
    if (plot_dir) {
        struct store_filter pf = {.ids = NULL};
        int64_t *pids = xcalloc(n, sizeof *pids);
        for (size_t i = 0; i < n; i++)
            pids[i] = runs[i].id;
        pf.ids = pids;
        pf.n_ids = n;
        int prc = plot_write(st, &pf, plot_dir, &err);
        free(pids);
        if (prc < 0)
            goto fail;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "synergy report: %s\n", err.msg);
done:
    store_runs_free(runs, n);
    store_close(st);
out:
    free(ids);
    return rc;
}
