/*
 * Importers for the public Philly-derived traces, and the one step that turns
 * any imported job list into simulated jobs (trace_import_finish): order by
 * submit time, optionally re-time with an arrival process and reuse the list
 * cyclically, assign models by class split (unless the trace names one), and
 * derive iterations deterministically from the job's duration. docs/traces.md
 * documents every mapping.
 *
 * Pollux philly.csv: timestamp,duration,num_gpus,gpu_time,cluster (header).
 * Gavel (2019) .trace: 7 tab-separated fields, job type to a profiled model.
 */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* days since 1970-01-01 (Howard Hinnant's days_from_civil) */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int trace_parse_datetime(const char *s, size_t len, double *out)
{
    int y, mo, d, h, mi, se;
    if (len != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return -1;
    *out = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + se;
    return 0;
}

/* Split `line` at `sep` into at most max fields; returns the count. */
static int split_fields(char *line, char sep, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return max + 1;
        f[n++] = p;
        char *c = strchr(p, sep);
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

int trace_read_pollux(FILE *f, const char *path, const char *vc, struct raw_job **out,
                      size_t *n, struct err *err)
{
    struct line_reader l = {.f = f, .path = path};
    struct raw_job *jobs = NULL;
    size_t nj = 0, cap = 0;
    char *line;
    int r, rc = -1;
    bool header = false;
    while ((r = line_next(&l, &line, err)) > 0) {
        char *t = str_trim(line);
        if (*t == '\0')
            continue;
        if (!header) {
            if (strncmp(t, "timestamp,duration,num_gpus", 27) != 0) {
                errprintf(err, "%s:%d: expected the header timestamp,duration,num_gpus,"
                               "gpu_time,cluster", path, l.lineno);
                goto out;
            }
            header = true;
            continue;
        }
        char *fl[5];
        int nf = split_fields(t, ',', fl, 5);
        if (nf != 5) {
            errprintf(err, "%s:%d: expected 5 comma-separated fields, got %s", path, l.lineno,
                      nf > 5 ? "more" : nf == 4 ? "4" : nf == 3 ? "3" : nf == 2 ? "2" : "1");
            goto out;
        }
        struct raw_job j = {.steps = -1, .model = -1};
        double g;
        const char *ts = str_trim(fl[0]);
        if (trace_parse_datetime(ts, strlen(ts), &j.submit) < 0) {
            errprintf(err, "%s:%d: timestamp: '%.40s' is not YYYY-MM-DD HH:MM:SS", path, l.lineno,
                      ts);
            goto out;
        }
        if (parse_double(fl[1], &j.duration) < 0 || !(j.duration >= 0) || !isfinite(j.duration) ||
            j.duration > 1e12) {
            errprintf(err, "%s:%d: duration: '%.40s' is not a non-negative number of seconds",
                      path, l.lineno, fl[1]);
            goto out;
        }
        if (parse_double(fl[2], &g) < 0 || g != floor(g) || g < 1 || g > 1000000) {
            errprintf(err, "%s:%d: num_gpus: '%.40s' is not a positive integer", path, l.lineno,
                      fl[2]);
            goto out;
        }
        j.gpus = (int)g;
        const char *cluster = str_trim(fl[4]);
        if (vc && strcmp(cluster, vc) != 0)
            continue;
        if (!trace_tenant_name_ok(cluster)) {
            errprintf(err, "%s:%d: cluster: '%.40s' must be 1 to 31 letters, digits, '-', '_', "
                           "'.' or '@'", path, l.lineno, cluster);
            goto out;
        }
        snprintf(j.vc, sizeof j.vc, "%s", cluster);
        xgrow((void **)&jobs, &cap, nj + 1, sizeof *jobs);
        jobs[nj++] = j;
    }
    if (r < 0)
        goto out;
    if (!header) {
        errprintf(err, "%s:%d: empty file (expected the header timestamp,duration,num_gpus,"
                       "gpu_time,cluster)", path, l.lineno);
        goto out;
    }
    if (nj == 0) {
        errprintf(err, "%s:%d: trace has no jobs%s%s", path, l.lineno, vc ? " in cluster " : "",
                  vc ? vc : "");
        goto out;
    }
    *out = jobs;
    *n = nj;
    jobs = NULL;
    rc = 0;
out:
    line_reader_free(&l);
    free(jobs);
    return rc;
}

/* Gavel's job types to the closest profiled model (docs/traces.md). */
static const struct {
    const char *prefix;
    const char *model;
} gavel_map[] = {
    {"ResNet-18", "res18"},      {"ResNet-50", "res50"}, {"Transformer", "transformer"},
    {"LM", "lstm"},              {"Recommendation", "gnmt"}, {"CycleGAN", "mobilenet"},
    {"A3C", "m5"},
};

const char *trace_gavel_model(const char *job_type)
{
    for (size_t i = 0; i < sizeof gavel_map / sizeof gavel_map[0]; i++) {
        size_t n = strlen(gavel_map[i].prefix);
        if (strncmp(job_type, gavel_map[i].prefix, n) == 0 &&
            (job_type[n] == '\0' || job_type[n] == ' '))
            return gavel_map[i].model;
    }
    return NULL;
}

/* A Gavel per-VC trace's VC: its file name without the directory and ".trace". */
static void gavel_vc(const char *path, char out[32])
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 6 && strcmp(base + n - 6, ".trace") == 0)
        n -= 6;
    snprintf(out, 32, "%.*s", (int)(n < 31 ? n : 31), base);
    if (!trace_tenant_name_ok(out))
        out[0] = '\0';
}

int trace_read_gavel(FILE *f, const char *path, const model_zoo_t *zoo, struct raw_job **out,
                     size_t *n, struct err *err)
{
    struct line_reader l = {.f = f, .path = path};
    char vc[32];
    gavel_vc(path, vc);
    struct raw_job *jobs = NULL;
    size_t nj = 0, cap = 0;
    char *line;
    int r, rc = -1;
    while ((r = line_next(&l, &line, err)) > 0) {
        if (*str_trim(line) == '\0')
            continue;
        char *fl[7];
        int nf = split_fields(line, '\t', fl, 7);
        if (nf != 7) {
            errprintf(err, "%s:%d: expected 7 tab-separated fields (job_type, command, "
                           "num_steps_arg, needs_data_dir, total_steps, arrival_time, "
                           "scale_factor), got %s",
                      path, l.lineno, nf > 7 ? "more" : "fewer");
            goto out;
        }
        struct raw_job j = {.duration = -1, .model = 0};
        memcpy(j.vc, vc, sizeof j.vc);
        const char *type = str_trim(fl[0]);
        const char *m = trace_gavel_model(type);
        if (!m || (zoo && !model_zoo_find(zoo, m))) {
            errprintf(err, "%s:%d: job_type: unknown type '%.40s' (known: ResNet-18, ResNet-50, "
                           "Transformer, LM, Recommendation, CycleGAN, A3C)",
                      path, l.lineno, type);
            goto out;
        }
        snprintf(j.model_name, sizeof j.model_name, "%s", m);
        double steps, g;
        if (parse_double(fl[4], &steps) < 0 || steps != floor(steps) || steps < 1 || steps > 1e15) {
            errprintf(err, "%s:%d: total_steps: '%.40s' is not a positive integer", path, l.lineno,
                      fl[4]);
            goto out;
        }
        j.steps = (long)steps;
        if (parse_double(fl[5], &j.submit) < 0 || !(j.submit >= 0) || j.submit > 1e12) {
            errprintf(err, "%s:%d: arrival_time: '%.40s' is not a non-negative number", path,
                      l.lineno, fl[5]);
            goto out;
        }
        if (parse_double(fl[6], &g) < 0 || g != floor(g) || g < 1 || g > 1000000) {
            errprintf(err, "%s:%d: scale_factor: '%.40s' is not a positive integer", path,
                      l.lineno, fl[6]);
            goto out;
        }
        j.gpus = (int)g;
        xgrow((void **)&jobs, &cap, nj + 1, sizeof *jobs);
        jobs[nj++] = j;
    }
    if (r < 0)
        goto out;
    if (nj == 0) {
        errprintf(err, "%s:%d: trace has no jobs", path, l.lineno);
        goto out;
    }
    *out = jobs;
    *n = nj;
    jobs = NULL;
    rc = 0;
out:
    line_reader_free(&l);
    free(jobs);
    return rc;
}

struct order {
    double submit;
    size_t index;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->submit != y->submit)
        return x->submit < y->submit ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index); /* stable: file order */
}

int trace_import_finish(const model_zoo_t *zoo, struct raw_job *raw, size_t n,
                        const struct import_params *p, struct job_spec **out, size_t *n_out,
                        struct err *err)
{
    if (n == 0)
        return errprintf(err, "the trace has no jobs");
    struct order *ord = xmalloc(n * sizeof *ord);
    for (size_t i = 0; i < n; i++)
        ord[i] = (struct order){raw[i].submit, i};
    qsort(ord, n, sizeof *ord, order_cmp);
    struct raw_job *sorted = xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = raw[ord[i].index];
    free(ord);
    double zero = p->time_zero;
    if (isnan(zero))
        zero = sorted[0].submit;
    size_t total = p->max_jobs > 0 ? (size_t)p->max_jobs : n;
    if (total > 100000000) {
        free(sorted);
        return errprintf(err, "too many jobs (%zu)", total);
    }
    struct job_spec *jobs = xcalloc(total, sizeof *jobs);
    struct model_assigner as;
    model_assigner_init(&as, zoo, p->split);
    double t = 0;
    for (size_t k = 0; k < total; k++) {
        const struct raw_job *r = &sorted[k % n];
        struct job_spec *j = &jobs[k];
        j->id = (int)k;
        if (p->arrivals) {
            if (arrival_next(p->arrivals, t, &t) < 0) {
                total = k;
                break;
            }
            j->arrival = t;
        } else {
            /* cyclic reuse without a process: each cycle starts after the last */
            double span = sorted[n - 1].submit - zero;
            j->arrival = r->submit - zero + (double)(k / n) * (span + 1);
            if (j->arrival < 0)
                j->arrival = 0;
        }
        const struct model_profile *m;
        if (r->model >= 0) {
            m = model_zoo_find(zoo, r->model_name);
            if (!m) {
                /* the message names r, which lives in sorted: free after it */
                errprintf(err, "model '%s' is not in the model zoo", r->model_name);
                free(jobs);
                free(sorted);
                return -1;
            }
        } else {
            m = model_assigner_next(&as);
        }
        snprintf(j->model, sizeof j->model, "%s", m->name);
        if (r->steps >= 0) {
            j->iterations = r->steps;
        } else {
            double it = floor(r->duration / m->iter_time);
            j->iterations = it < 1 ? 1 : it > 1e15 ? (long)1e15 : (long)it;
        }
        j->gpus = r->gpus;
        if (p->tenant_from_vc)
            snprintf(j->tenant, sizeof j->tenant, "%s", r->vc);
    }
    free(sorted);
    if (p->assigned)
        *p->assigned = as.assigned;
    if (total == 0) {
        free(jobs);
        return errprintf(err, "the arrival process produced no jobs");
    }
    *out = jobs;
    *n_out = total;
    return 0;
}
