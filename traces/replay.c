/*
 * The Synergy record/replay trace format: `id,model,arrival_s,iterations,gpus`
 * one job a line, no header (spec §3.5), with an optional sixth field, the GPU
 * types the job may run on, '|'-separated (`V100|P100`; synergy's own,
 * docs/heterogeneous.md), and an optional seventh, the job's tenant
 * (docs/tenants.md; the sixth may then be empty: `3,res18,0,900,2,,vision`). The reader validates every field and
 * reports "file:line: field: problem". Blank lines and lines starting with '#'
 * are skipped (an extension; the reference has neither), except
 * "#cancel,ID,TIME_S": a recorded service run's cancel (docs/traces.md), a
 * comment to readers that do not know it.
 */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 7

int trace_parse_replay_line(const char *line, struct job_spec *out, struct err *err,
                            const char *path, int lineno)
{
    static const char *names[MAX_FIELDS] = {"id",   "model",     "arrival", "iterations",
                                            "gpus", "gpu_types", "tenant"};
    char buf[512];
    if (strlen(line) >= sizeof buf)
        return errprintf(err, "%s:%d: line too long", path, lineno);
    strcpy(buf, line);
    char *field[MAX_FIELDS];
    int nf = 0;
    char *p = buf;
    for (;;) {
        char *c = strchr(p, ',');
        if (nf == MAX_FIELDS)
            return errprintf(err, "%s:%d: expected 5 comma-separated fields "
                                  "(id,model,arrival,iterations,gpus[,gpu_types[,tenant]]), got more",
                             path, lineno);
        field[nf++] = str_trim(p);
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    if (nf < 5)
        return errprintf(err, "%s:%d: expected 5 comma-separated fields "
                              "(id,model,arrival,iterations,gpus[,gpu_types[,tenant]]), got %d",
                         path, lineno, nf);
    long id, iters, gpus;
    double arrival;
    memset(out, 0, sizeof *out);
    if (parse_long(field[0], &id) < 0 || id < 0 || id > 2000000000)
        return errprintf(err, "%s:%d: %s: '%s' is not a non-negative integer", path, lineno,
                         names[0], field[0]);
    if (field[1][0] == '\0' || strlen(field[1]) >= sizeof out->model)
        return errprintf(err, "%s:%d: %s: must be a name of 1 to %zu characters", path, lineno,
                         names[1], sizeof out->model - 1);
    if (parse_double(field[2], &arrival) < 0)
        return errprintf(err, "%s:%d: %s: '%s' is not a number", path, lineno, names[2],
                         field[2]);
    if (arrival < 0)
        return errprintf(err, "%s:%d: %s: %s is negative", path, lineno, names[2], field[2]);
    if (parse_long(field[3], &iters) < 0)
        return errprintf(err, "%s:%d: %s: '%s' is not an integer", path, lineno, names[3],
                         field[3]);
    if (iters < 0)
        return errprintf(err, "%s:%d: %s: %ld is negative", path, lineno, names[3], iters);
    if (parse_long(field[4], &gpus) < 0)
        return errprintf(err, "%s:%d: %s: '%s' is not an integer", path, lineno, names[4],
                         field[4]);
    if (gpus < 1 || gpus > 1000000)
        return errprintf(err, "%s:%d: %s: %ld must be at least 1", path, lineno, names[4], gpus);
    if (nf >= 6 && !(nf == 7 && field[5][0] == '\0') &&
        trace_parse_gpu_types(field[5], out->gpu_types) < 0)
        return errprintf(err, "%s:%d: %s: '%.60s' must be GPU type names (letters, digits, "
                              "'-', '_', '.'; up to 15 each) separated by '|'",
                         path, lineno, names[5], field[5]);
    if (nf == 7 && !trace_tenant_name_ok(field[6]))
        return errprintf(err, "%s:%d: %s: '%.60s' must be 1 to 31 letters, digits, '-', '_', "
                              "'.' or '@'", path, lineno, names[6], field[6]);
    if (nf == 7)
        snprintf(out->tenant, sizeof out->tenant, "%s", field[6]);
    out->id = (int)id;
    snprintf(out->model, sizeof out->model, "%s", field[1]);
    out->arrival = arrival;
    out->iterations = iters;
    out->gpus = (int)gpus;
    return 0;
}

bool trace_tenant_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@'))
            return false;
    }
    return true;
}

int trace_parse_gpu_types(const char *s, char out[64])
{
    size_t n = strlen(s), tok = 0;
    if (n == 0 || n >= 64)
        return -1;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c == '|' || c == ',' || c == '\0') {
            if (tok == 0 || tok >= GPU_TYPE_NAME)
                return -1;
            tok = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return -1;
        tok++;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = s[i] == ',' ? '|' : s[i];
    return 0;
}

#define CANCEL_PREFIX "#cancel,"

int trace_parse_replay_cancel(const char *line, int *id, double *at, struct err *err,
                              const char *path, int lineno)
{
    size_t np = strlen(CANCEL_PREFIX);
    if (strncmp(line, CANCEL_PREFIX, np) != 0)
        return 0;
    char buf[128];
    if (strlen(line + np) >= sizeof buf)
        return errprintf(err, "%s:%d: cancel: line too long", path, lineno);
    strcpy(buf, line + np);
    char *comma = strchr(buf, ',');
    if (!comma || strchr(comma + 1, ','))
        return errprintf(err, "%s:%d: cancel: expected #cancel,ID,TIME_S", path, lineno);
    *comma = '\0';
    char *f_id = str_trim(buf), *f_at = str_trim(comma + 1);
    long v;
    if (parse_long(f_id, &v) < 0 || v < 0 || v > 2000000000)
        return errprintf(err, "%s:%d: cancel: id '%s' is not a non-negative integer", path,
                         lineno, f_id);
    double t;
    if (parse_double(f_at, &t) < 0 || !isfinite(t) || t < 0)
        return errprintf(err, "%s:%d: cancel: time '%s' is not a non-negative number", path,
                         lineno, f_at);
    *id = (int)v;
    *at = t;
    return 1;
}

void trace_write_replay_cancel(FILE *f, int id, double at)
{
    char t[64];
    format_double_shortest(t, sizeof t, at);
    fprintf(f, CANCEL_PREFIX "%d,%s\n", id, t);
}

static int id_cmp(const void *a, const void *b)
{
    const struct job_spec *const *x = a, *const *y = b;
    return ((*x)->id > (*y)->id) - ((*x)->id < (*y)->id);
}

struct cancel_line {
    int id, lineno;
    double at;
};

/* Mark each cancelled job (byid: the jobs sorted by id). 0, or -1 with err
 * for a cancel of a job not in the trace, a second cancel of one job, or a
 * cancel before the job's arrival. */
static int resolve_cancels(const struct job_spec **byid, size_t nj, const struct cancel_line *c,
                           size_t nc, const char *path, struct err *err)
{
    int *first_line = xcalloc(nj + 1, sizeof *first_line);
    int rc = 0;
    for (size_t k = 0; k < nc && rc == 0; k++) {
        struct job_spec key = {.id = c[k].id}, *kp = &key;
        const struct job_spec **hit = bsearch(&kp, byid, nj, sizeof *byid, id_cmp);
        if (!hit) {
            rc = errprintf(err, "%s:%d: cancel: job %d is not in the trace", path, c[k].lineno,
                           c[k].id);
            break;
        }
        struct job_spec *j = (struct job_spec *)*hit;
        size_t at = (size_t)(hit - byid);
        if (first_line[at])
            rc = errprintf(err, "%s:%d: cancel: job %d is cancelled twice (first on line %d)",
                           path, c[k].lineno, c[k].id, first_line[at]);
        else if (c[k].at < j->arrival)
            rc = errprintf(err, "%s:%d: cancel: at %g s, before job %d arrives (%g s)", path,
                           c[k].lineno, c[k].at, c[k].id, j->arrival);
        first_line[at] = c[k].lineno;
        j->cancelled = true;
        j->cancel_at = c[k].at;
    }
    free(first_line);
    return rc;
}

int trace_read_replay(const char *path, struct job_spec **out, size_t *n, struct err *err)
{
    return trace_read_replay_zoo(path, NULL, out, n, err);
}

int trace_read_replay_zoo(const char *path, const model_zoo_t *zoo, struct job_spec **out,
                          size_t *n, struct err *err)
{
    struct line_reader lr; /* comments are ours to read: "#cancel" lines */
    if (line_reader_open(&lr, path, "trace", false, err) < 0)
        return -1;
    struct job_spec *jobs = NULL;
    int *lines = NULL;
    struct cancel_line *cancels = NULL;
    size_t nj = 0, cap = 0, capl = 0, nc = 0, capc = 0;
    char *t;
    int got, rc = -1;
    while ((got = line_next(&lr, &t, err)) > 0) {
        int lineno = lr.lineno;
        t = str_trim(t);
        if (*t == '#') {
            struct cancel_line c = {.lineno = lineno};
            int is = trace_parse_replay_cancel(t, &c.id, &c.at, err, path, lineno);
            if (is < 0)
                goto out;
            if (is) {
                xgrow((void **)&cancels, &capc, nc + 1, sizeof *cancels);
                cancels[nc++] = c;
            }
            continue;
        }
        if (*t == '\0')
            continue;
        xgrow((void **)&jobs, &cap, nj + 1, sizeof *jobs);
        xgrow((void **)&lines, &capl, nj + 1, sizeof *lines);
        if (trace_parse_replay_line(t, &jobs[nj], err, path, lineno) < 0)
            goto out;
        lines[nj] = lineno;
        if (zoo && !model_zoo_find(zoo, jobs[nj].model)) {
            errprintf(err, "%s:%d: model: '%s' has no profile (add one with --models or "
                           "--profiles-dir, or run it as alexnet with --unknown-model reference)",
                      path, lineno, jobs[nj].model);
            goto out;
        }
        nj++;
    }
    if (got < 0)
        goto out;
    if (nj == 0) {
        errprintf(err, "%s:%d: trace has no jobs", path, lr.lineno);
        goto out;
    }
    /* duplicate ids: sort pointers by id and look at neighbours */
    const struct job_spec **byid = xmalloc(sizeof *byid * nj);
    for (size_t i = 0; i < nj; i++)
        byid[i] = &jobs[i];
    qsort(byid, nj, sizeof *byid, id_cmp);
    for (size_t i = 1; i < nj; i++) {
        if (byid[i]->id == byid[i - 1]->id) {
            const struct job_spec *later = byid[i] > byid[i - 1] ? byid[i] : byid[i - 1];
            const struct job_spec *first = byid[i] > byid[i - 1] ? byid[i - 1] : byid[i];
            errprintf(err, "%s:%d: id: duplicate job id %d (first on line %d)", path,
                      lines[later - jobs], later->id, lines[first - jobs]);
            free(byid);
            goto out;
        }
    }
    int cancelled = resolve_cancels(byid, nj, cancels, nc, path, err);
    free(byid);
    if (cancelled < 0)
        goto out;
    *out = jobs;
    *n = nj;
    jobs = NULL;
    rc = 0;
out:
    line_reader_close(&lr);
    free(lines);
    free(cancels);
    free(jobs);
    return rc;
}

void format_double_shortest(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void trace_write_replay_line(FILE *f, const struct job_spec *j)
{
    char arr[64];
    format_double_shortest(arr, sizeof arr, j->arrival);
    if (j->tenant[0])
        fprintf(f, "%d,%s,%s,%ld,%d,%s,%s\n", j->id, j->model, arr, j->iterations, j->gpus,
                j->gpu_types, j->tenant);
    else if (j->gpu_types[0])
        fprintf(f, "%d,%s,%s,%ld,%d,%s\n", j->id, j->model, arr, j->iterations, j->gpus,
                j->gpu_types);
    else
        fprintf(f, "%d,%s,%s,%ld,%d\n", j->id, j->model, arr, j->iterations, j->gpus);
}
