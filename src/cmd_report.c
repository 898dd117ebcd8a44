/*
 * `synergy report`: tables, comparisons, telemetry and plots over runs in a
 * results database (by default the newest batch - the last simulate or
 * sweep - of results.db).
 */
#include "cli.h"
#include "options.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "report.h"
#include "store.h"


/* "3,1,3" into ids {3, 1}: each run once, in the order first given. */
static int parse_ids(const char *s, int64_t **ids, size_t *n)
{
    char *buf = xstrdup(s);
    size_t max = strlen(s) / 2 + 1, cap = 0;
    char **items = xcalloc(max, sizeof *items);
    int k = str_split(buf, ',', items, (int)max);
    for (int i = 0; i < k; i++) {
        long v;
        if (parse_long(items[i], &v) < 0 || v < 1) {
            k = -1;
            break;
        }
        bool dup = false;
        for (size_t q = 0; q < *n && !dup; q++)
            dup = (*ids)[q] == v;
        if (dup)
            continue;
        xgrow((void **)ids, &cap, *n + 1, sizeof **ids);
        (*ids)[(*n)++] = v;
    }
    free(items);
    free(buf);
    return k > 0 && *n > 0 ? 0 : -1;
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

/* --batch N selected nothing: say whether the batch does not exist (exit 2)
 * or has no complete run. */
static int report_missing_batch(store_t *st, const char *db, const struct store_filter *f)
{
    struct store_filter any = *f;
    any.all_statuses = true;
    struct store_run *runs = NULL;
    size_t n = 0;
    struct err err = {{0}};
    if (store_runs_select(st, &any, &runs, &n, &err) == 0 && n > 0) {
        fprintf(stderr, "synergy report: %s: batch %lld has %zu runs but none complete "
                        "(--list shows them)\n", db, (long long)f->batch_id, n);
        store_runs_free(runs, n);
        return 1;
    }
    store_runs_free(runs, n);
    struct store_filter all = {.batch_id = 0, .all_statuses = true};
    int64_t last = 0;
    if (store_runs_select(st, &all, &runs, &n, &err) == 0)
        for (size_t i = 0; i < n; i++)
            if (runs[i].batch_id > last)
                last = runs[i].batch_id;
    store_runs_free(runs, n);
    if (last > 0)
        fprintf(stderr, "synergy report: %s: there is no batch %lld (batches 1..%lld)\n", db,
                (long long)f->batch_id, (long long)last);
    else
        fprintf(stderr, "synergy report: %s: there is no batch %lld (no runs recorded)\n", db,
                (long long)f->batch_id);
    return EXIT_BAD_INPUT;
}

struct report_cli {
    const char *db, *telemetry, *plot_dir;
    struct report_opts o;
    struct store_filter f;
    int64_t *ids;
    size_t n_ids;
    bool list;
    unsigned selections; /* --all 1, --batch 2, --run 4 */
    const char *merge_first; /* --merge A.db; the other shards are the operands */
    int optind;
};

/* -1 to go on, else the exit code. */
static int report_parse(struct report_cli *r, int argc, char **argv)
{
    int c;
    struct cli_parser p;
    cli_parser_init(&p, CLI_REPORT, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_DB: r->db = p.arg; break;
        case OPT_ALL: r->f.batch_id = 0; r->selections |= 1; break;
        case OPT_BRIEF: r->o.breakdowns = false; break;
        case OPT_TELEMETRY: r->telemetry = p.arg; break;
        case OPT_PLOT: r->plot_dir = p.arg; break;
        case OPT_LIST: r->list = true; break;
        case OPT_MERGE: r->merge_first = p.arg; break;
        case OPT_BATCH: r->f.batch_id = p.lnum; r->selections |= 2; break;
        case OPT_BASELINE: r->o.baseline = p.lnum; break;
        case OPT_RUN:
            if (parse_ids(p.arg, &r->ids, &r->n_ids) < 0)
                return cli_bad(&p, "--run: '%s' must be run ids (1,2,...)", p.arg);
            r->selections |= 4;
            break;
        case OPT_FORMAT:
            if (strcmp(p.arg, "text") == 0)
                r->o.format = REPORT_TEXT;
            else if (strcmp(p.arg, "csv") == 0)
                r->o.format = REPORT_CSV;
            else if (strcmp(p.arg, "json") == 0)
                r->o.format = REPORT_JSON;
            else
                return cli_bad(&p, "--format: '%s': expected text, csv or json", p.arg);
            break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (r->selections & (r->selections - 1)) /* two of them: which runs were meant? */
        return cli_bad(&p, "give one of --run, --batch and --all");
    r->optind = p.optind;
    if (p.optind < argc && !r->merge_first)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    return -1;
}

/* report --merge A.db B.db ... --db ALL.db: the exit code. */
static int report_merge_cmd(const struct report_cli *r, int argc, char **argv)
{
    size_t ns = 0;
    const char **srcs = xcalloc((size_t)(argc - r->optind) + 2, sizeof *srcs);
    srcs[ns++] = r->merge_first;
    for (int i = r->optind; i < argc; i++)
        srcs[ns++] = argv[i];
    struct err merr = {{0}};
    int mrc = report_merge(r->db, srcs, ns, stdout, &merr);
    free(srcs);
    if (mrc < 0)
        fprintf(stderr, "synergy report: --merge: %s\n", merr.msg);
    return mrc == 0 ? 0 : mrc == -2 ? EXIT_BAD_INPUT : 1;
}

int cmd_report(int argc, char **argv)
{
    struct report_cli r = {.db = "results.db",
                           .o = {.format = REPORT_TEXT, .breakdowns = true},
                           .f = {.batch_id = STORE_LAST_BATCH}};
    int rc = report_parse(&r, argc, argv);
    if (rc < 0 && r.merge_first)
        rc = report_merge_cmd(&r, argc, argv);
    if (rc >= 0) {
        free(r.ids);
        return rc;
    }
    rc = EXIT_BAD_INPUT;
    const char *db = r.db, *telemetry = r.telemetry, *plot_dir = r.plot_dir;
    struct report_opts o = r.o;
    struct store_filter f = r.f;
    int64_t *ids = r.ids;
    size_t n_ids = r.n_ids;
    bool list = r.list;
    struct err oerr = {{0}};
    if (cli_output_check("--telemetry", telemetry, true, &oerr) < 0 ||
        cli_output_check("--plot", plot_dir, true, &oerr) < 0) {
        fprintf(stderr, "synergy report: %s\n", oerr.msg);
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
        if (f.batch_id > 0)
            rc = report_missing_batch(st, db, &f);
        else
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
        report_list(stdout, runs, n, o.format);
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
