/*
 * report: JCT tables, breakdowns and baseline comparisons over recorded runs,
 * as text, CSV or JSON, and the TSV telemetry export (see report.h). The
 * JCT table is recomputed from each run's job rows with the simulator's own
 * quantile rule, so it agrees with the run's summary; the JSON object of a
 * run also repeats the summary exactly as `simulate --json` prints it.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "results.h"
#include "sim.h"

#define H 3600.0

struct jct_stats {
    size_t num;
    double med, mean, p99, p995, p999; /* hours */
};

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Stats of the JCTs (seconds) in v[0..n); sorts v. */
static struct jct_stats stats_of(double *v, size_t n)
{
    struct jct_stats s = {.num = n};
    if (n == 0) {
        s.med = s.mean = s.p99 = s.p995 = s.p999 = NAN;
        return s;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    qsort(v, n, sizeof *v, dbl_cmp);
    s.mean = sum / (double)n / H;
    s.med = sched_quantile(v, n, 0.5) / H;
    s.p99 = sched_quantile(v, n, 0.99) / H;
    s.p995 = sched_quantile(v, n, 0.995) / H;
    s.p999 = sched_quantile(v, n, 0.999) / H;
    return s;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void report_run_label(const struct store_run *runs, size_t n, size_t i, char *buf, size_t len)
{
    const struct store_run *r = &runs[i];
    bool load = false, split = false, cluster = false, workload = false, seed = false,
         hetero = false;
    for (size_t k = 0; k < n; k++) {
        load |= runs[k].jobs_per_hour != r->jobs_per_hour;
        split |= memcmp(runs[k].split, r->split, sizeof r->split) != 0;
        cluster |= strcmp(runs[k].cluster, r->cluster) != 0;
        workload |= strcmp(runs[k].workload, r->workload) != 0;
        seed |= runs[k].seed != r->seed;
        hetero |= strcmp(runs[k].hetero, r->hetero) != 0;
    }
    size_t at = (size_t)snprintf(buf, len, "%s/%s", r->policy, r->mode);
    if (load && at < len)
        at += (size_t)snprintf(buf + at, len - at, " %g/h", r->jobs_per_hour);
    if (split && at < len)
        at += (size_t)snprintf(buf + at, len - at, " %d/%d/%d", r->split[0], r->split[1],
                               r->split[2]);
    if (cluster && at < len) {
        char c[256];
        snprintf(c, sizeof c, "%s", base_name(r->cluster));
        char *dot = strrchr(c, '.');
        if (dot)
            *dot = '\0';
        at += (size_t)snprintf(buf + at, len - at, " %s", c);
    }
    if (workload && at < len)
        at += (size_t)snprintf(buf + at, len - at, " %s", base_name(r->workload));
    if (seed && at < len)
        at += (size_t)snprintf(buf + at, len - at, " seed %lu", (unsigned long)r->seed);
    if (hetero && at < len)
        at += (size_t)snprintf(buf + at, len - at, " %s", r->hetero[0] ? r->hetero : "untyped");
    if (strcmp(r->kind, "deploy") == 0 && at < len) /* beside its simulation */
        snprintf(buf + at, len - at, " deployed");
}

/* Same experiment (workload, load, cluster, ...) apart from policy and mode. */
static bool same_setting(const struct store_run *a, const struct store_run *b)
{
    return strcmp(a->workload, b->workload) == 0 && a->jobs_per_hour == b->jobs_per_hour &&
           memcmp(a->split, b->split, sizeof a->split) == 0 && a->seed == b->seed &&
           strcmp(a->cluster, b->cluster) == 0 && a->measure_lo == b->measure_lo &&
           a->measure_hi == b->measure_hi && a->round_duration == b->round_duration &&
           strcmp(a->placement, b->placement) == 0 && strcmp(a->profiles, b->profiles) == 0 &&
           strcmp(a->hetero, b->hetero) == 0;
}

long report_baseline_of(const struct store_run *runs, size_t n, size_t i, int64_t baseline)
{
    for (size_t k = 0; k < n; k++) {
        if (baseline > 0) {
            if (runs[k].id == baseline)
                return runs[i].id == baseline ? -1 : (long)k;
        } else if (k != i && strcmp(runs[i].mode, "fair") != 0 &&
                   strcmp(runs[k].mode, "fair") == 0 &&
                   strcmp(runs[k].policy, runs[i].policy) == 0 && same_setting(&runs[k], &runs[i])) {
            return (long)k;
        }
    }
    return -1;
}

/* "2.10x better" / "1.30x worse" for baseline value b against value v. */
static void ratio_words(double b, double v, char *buf, size_t len)
{
    if (!(b > 0) || !(v > 0))
        snprintf(buf, len, "n/a");
    else if (fabs(b / v - 1) < 0.005)
        snprintf(buf, len, "the same");
    else if (b >= v)
        snprintf(buf, len, "%.2fx better", b / v);
    else
        snprintf(buf, len, "%.2fx worse", v / b);
}

static const char *baseline_name(const struct store_run *b, bool by_mode)
{
    return by_mode ? "GPU-proportional" : "baseline";
}

/* Group jobs of one run by model (by == 0), GPU count (by == 1) or GPU type
 * (by == 2: the type each ran the most rounds on; none on an untyped run). */
struct group {
    char key[32];
    double *jct;
    size_t n, cap;
};

static int group_cmp(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    long gx = strtol(x->key, NULL, 10), gy = strtol(y->key, NULL, 10);
    if (gx != gy)
        return (gx > gy) - (gx < gy);
    return strcmp(x->key, y->key);
}

static size_t group_jobs(const struct store_job *jobs, size_t n, int by, struct group **out)
{
    struct group *g = NULL;
    size_t ng = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        char key[32];
        if (by == 0)
            snprintf(key, sizeof key, "%s", jobs[i].model);
        else if (by == 2 && !jobs[i].gpu_type[0])
            continue;
        else if (by == 2)
            snprintf(key, sizeof key, "%s", jobs[i].gpu_type);
        else
            snprintf(key, sizeof key, "%d", jobs[i].gpus);
        size_t k = 0;
        while (k < ng && strcmp(g[k].key, key) != 0)
            k++;
        if (k == ng) {
            xgrow((void **)&g, &cap, ng + 1, sizeof *g);
            memset(&g[ng], 0, sizeof *g);
            snprintf(g[ng].key, sizeof g[ng].key, "%s", key);
            ng++;
        }
        xgrow((void **)&g[k].jct, &g[k].cap, g[k].n + 1, sizeof *g[k].jct);
        g[k].jct[g[k].n++] = jobs[i].jct;
    }
    if (ng > 1) /* (g is NULL when there are none: qsort must not see it) */
        qsort(g, ng, sizeof *g, group_cmp);
    *out = g;
    return ng;
}

static void groups_free(struct group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].jct);
    free(g);
}

/* Everything the report shows about one run. */
#define N_BY 3 /* model, GPU count, GPU type */

struct run_view {
    char label[128];
    struct jct_stats all;
    struct group *by[N_BY];
    size_t n_by[N_BY];
    long base; /* index of the baseline, or -1 */
    char hetero[16];  /* a typed run's placement, and its types */
    int n_types;
    struct store_type types[STORE_MAX_TYPES];
    struct sched_tenant_result *tenants; /* a run with tenants (docs/tenants.md) */
    size_t n_tenants;
    double jain; /* Jain's index of received / entitled across the tenants entitled to any */
};

/* A run's tenants, as simulate --json has them, and Jain's index (the
 * ledger's formula: sched_result_by_tenant). 0 or -1 with err. */
static int load_tenants(store_t *st, int64_t id, struct run_view *v, struct err *err)
{
    struct store_tenant *t;
    size_t n;
    if (store_run_tenants_load(st, id, &t, &n, err) < 0)
        return -1;
    v->tenants = xcalloc(n + 1, sizeof *v->tenants);
    v->n_tenants = n;
    for (size_t i = 0; i < n; i++) {
        struct sched_tenant_result *r = &v->tenants[i];
        snprintf(r->name, sizeof r->name, "%s", t[i].name);
        r->quota = t[i].quota;
        r->jobs = (size_t)t[i].jobs;
        r->avg_jct_s = t[i].avg_jct_s;
        r->p50_jct_s = t[i].p50_jct_s;
        r->p99_jct_s = t[i].p99_jct_s;
        r->gpu_hours = t[i].gpu_hours;
        r->mean_gpus = t[i].mean_gpus;
        r->entitled_hours = t[i].entitled_hours;
    }
    v->jain = sched_jain_tenants(v->tenants, n);
    free(t);
    return 0;
}

/* Each run's tenants: quota, jobs, JCTs, GPU-hours, mean GPUs held, share of
 * the quota and received / entitled; Jain's index. */
static void print_tenants_text(FILE *out, const struct store_run *runs, size_t n,
                               const struct run_view *v, int w)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= v[i].n_tenants > 0;
    if (!any)
        return;
    fprintf(out, "\nby tenant (GPU_H: GPU-hours received; HELD: mean GPUs per round; "
                 "RECV/ENT: received / entitled):\n%4s  %-*s %-12s %5s %6s %9s %9s %9s %10s "
                 "%7s %6s %8s\n",
            "RUN", w, "LABEL", "TENANT", "QUOTA", "NUM", "MED", "MEAN", "P99", "GPU_H", "HELD",
            "SHARE", "RECV/ENT");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < v[i].n_tenants; k++) {
            const struct sched_tenant_result *t = &v[i].tenants[k];
            fprintf(out, "%4lld  %-*s %-12.12s %5d %6zu %9.3f %9.3f %9.3f %10.1f %7.2f ",
                    (long long)runs[i].id, w, v[i].label, t->name, t->quota, t->jobs,
                    t->p50_jct_s / H, t->avg_jct_s / H, t->p99_jct_s / H, t->gpu_hours,
                    t->mean_gpus);
            if (t->quota > 0)
                fprintf(out, "%6.2f ", t->mean_gpus / t->quota);
            else
                fprintf(out, "%6s ", "-");
            if (t->entitled_hours > 0)
                fprintf(out, "%8.2f\n", t->gpu_hours / t->entitled_hours);
            else
                fprintf(out, "%8s\n", "-");
        }
        if (v[i].n_tenants > 0 && !isnan(v[i].jain))
            fprintf(out, "%4lld  %-*s Jain's index across tenants: %.3f\n", (long long)runs[i].id,
                    w, v[i].label, v[i].jain);
    }
}

static void json_num(FILE *out, const char *key, double v, const char *fmt)
{
    fprintf(out, "\"%s\":", key);
    if (isnan(v))
        fputs("null", out);
    else
        fprintf(out, fmt, v);
}

static void print_json(FILE *out, const struct store_run *runs, size_t i,
                       const struct run_view *v, const struct report_opts *o)
{
    const struct store_run *r = &runs[i];
    /* the summary, key for key and digit for digit as `simulate --json` */
    fprintf(out, "{\"run_id\":%lld,\"status\":\"%s\",\"label\":", (long long)r->id, r->status);
    json_write_str(out, v->label);
    fputc(',', out);
    struct results_json head = {.policy = r->policy, .mode = r->mode, .placement = r->placement,
                                .workload = r->workload, .cluster = r->cluster,
                                .seed = (unsigned long)r->seed, .gpus = r->gpus};
    results_json_head(out, &head, r->jobs_arrived, r->jobs_finished, r->jobs_measured,
                      r->window_complete);
    const char *f9 = "%.9f";
    json_num(out, "avg_jct_h", r->avg_jct_s / H, f9);
    fputc(',', out);
    json_num(out, "p50_jct_h", r->p50_jct_s / H, f9);
    fputc(',', out);
    json_num(out, "p99_jct_h", r->p99_jct_s / H, f9);
    fputc(',', out);
    json_num(out, "p999_jct_h", r->p999_jct_s / H, f9);
    fputc(',', out);
    json_num(out, "max_jct_h", r->max_jct_s / H, f9);
    fputc(',', out);
    json_num(out, "makespan_h", r->makespan_s / H, f9);
    if (r->opt_rounds > 0)
        fprintf(out, ",\"opt_compat\":%s,\"opt_rounds\":%ld,\"opt_fallbacks\":%ld,\"opt_lowered\":%ld,"
                     "\"opt_unplaced\":%ld,\"opt_packed\":%ld,\"opt_capped\":%ld,"
                     "\"opt_solve_mean_s\":%.6f,\"opt_solve_max_s\":%.6f",
                r->opt_compat ? "true" : "false", r->opt_rounds, r->opt_fallbacks, r->opt_lowered,
                r->opt_unplaced, r->opt_packed, r->opt_capped, r->opt_solve_mean_s,
                r->opt_solve_max_s);
    if (v->n_types > 0) {
        fputc(',', out);
        results_json_types(out, v->hetero, v->types, v->n_types);
    }
    if (v->n_tenants > 0) { /* (it ends with a comma) */
        fputc(',', out);
        results_json_tenants(out, v->tenants, (int)v->n_tenants, v->jain);
    }
    fprintf(out, "%s\"end_time_h\":%.9f,\"rounds\":%ld,\"gpu_alloc_pct\":%.4f,\"cpu_alloc_pct\":%.4f,"
                 "\"mem_alloc_pct\":%.4f,\"wall_s\":%.3f,\"version\":\"%s\",",
            v->n_tenants > 0 ? "" : ",", r->end_time_s / H, r->rounds, r->gpu_alloc * 100,
            r->cpu_alloc * 100, r->mem_alloc * 100, r->wall_s, r->version);
    fprintf(out, "\"jobs_per_hour\":%g,\"split\":[%d,%d,%d],", r->jobs_per_hour, r->split[0],
            r->split[1], r->split[2]);
    /* the JCT table, from the job rows */
    fprintf(out, "\"jct\":{\"num\":%zu,", v->all.num);
    json_num(out, "med_h", v->all.med, f9);
    fputc(',', out);
    json_num(out, "mean_h", v->all.mean, f9);
    fputc(',', out);
    json_num(out, "p99_h", v->all.p99, f9);
    fputc(',', out);
    json_num(out, "p995_h", v->all.p995, f9);
    fputc(',', out);
    json_num(out, "p999_h", v->all.p999, f9);
    fputs("}", out);
    if (v->base >= 0) {
        const struct store_run *b = &runs[v->base];
        fprintf(out, ",\"baseline\":{\"run_id\":%lld,", (long long)b->id);
        json_num(out, "avg_jct_ratio", b->avg_jct_s / r->avg_jct_s, "%.6f");
        fputc(',', out);
        json_num(out, "p99_jct_ratio", b->p99_jct_s / r->p99_jct_s, "%.6f");
        fputc(',', out);
        json_num(out, "makespan_ratio", b->makespan_s / r->makespan_s, "%.6f");
        fputs("}", out);
    }
    if (o->breakdowns) {
        static const char *names[2] = {"by_model", "by_gpus"};
        for (int k = 0; k < 2; k++) {
            fprintf(out, ",\"%s\":[", names[k]);
            for (size_t g = 0; g < v->n_by[k]; g++) {
                struct group *gr = &v->by[k][g];
                struct jct_stats s = stats_of(gr->jct, gr->n);
                fprintf(out, "%s{\"%s\":", g ? "," : "", k == 0 ? "model" : "gpus");
                if (k == 0)
                    json_write_str(out, gr->key);
                else
                    fputs(gr->key, out);
                fprintf(out, ",\"num\":%zu,", s.num);
                json_num(out, "med_h", s.med, f9);
                fputc(',', out);
                json_num(out, "mean_h", s.mean, f9);
                fputc(',', out);
                json_num(out, "p99_h", s.p99, f9);
                fputs("}", out);
            }
            fputs("]", out);
        }
    }
    fputs("}\n", out);
}

static void csv_row(FILE *out, const struct store_run *runs, size_t i, const struct run_view *v,
                    const char *group, const struct jct_stats *s, bool whole)
{
    const struct store_run *r = &runs[i];
    fprintf(out, "%lld,\"%s\",%s,%s,%g,%d/%d/%d,%s,%lu,%s,%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,",
            (long long)r->id, v->label, r->policy, r->mode, r->jobs_per_hour, r->split[0],
            r->split[1], r->split[2], r->cluster, (unsigned long)r->seed, r->status, group, s->num,
            s->med, s->mean, s->p99, s->p995, s->p999);
    if (whole) {
        fprintf(out, "%.6f,%.2f,%.2f,%.2f,", r->makespan_s / H, r->gpu_alloc * 100,
                r->cpu_alloc * 100, r->mem_alloc * 100);
        if (v->base >= 0) {
            const struct store_run *b = &runs[v->base];
            fprintf(out, "%lld,%.4f,%.4f,%.4f\n", (long long)b->id, b->avg_jct_s / r->avg_jct_s,
                    b->p99_jct_s / r->p99_jct_s, b->makespan_s / r->makespan_s);
        } else {
            fputs(",,,\n", out);
        }
    } else {
        fputs(",,,,,,,\n", out);
    }
}

static void print_text(FILE *out, const struct store_run *runs, size_t n, struct run_view *v,
                       const struct report_opts *o)
{
    int w = 10;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(v[i].label) > w)
            w = (int)strlen(v[i].label);
    fprintf(out, "JCT in hours; GPU/CPU/MEM = mean allocation per round, %% of the cluster\n\n");
    /* hours up to 99,999.999 keep two spaces between columns */
    fprintf(out, "%4s  %-*s %5s %10s %10s %10s %10s %10s %11s %6s %6s %6s\n", "RUN", w, "LABEL", "NUM",
            "MED", "MEAN", "P99", "P99.5", "P99.9", "MAKESPAN", "GPU%", "CPU%", "MEM%");
    for (size_t i = 0; i < n; i++) {
        const struct store_run *r = &runs[i];
        const struct jct_stats *s = &v[i].all;
        fprintf(out, "%4lld  %-*s %5zu %10.3f %10.3f %10.3f %10.3f %10.3f %11.3f %6.2f %6.2f %6.2f%s\n",
                (long long)r->id, w, v[i].label, s->num, s->med, s->mean, s->p99, s->p995,
                s->p999, r->makespan_s / H, r->gpu_alloc * 100, r->cpu_alloc * 100,
                r->mem_alloc * 100, r->window_complete ? "" : "  (window incomplete)");
    }
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].base < 0)
            continue;
        if (!any)
            fprintf(out, "\nagainst the baseline (baseline value / this run's; >1 is better):\n");
        any = true;
        const struct store_run *r = &runs[i], *b = &runs[v[i].base];
        char a[32], p[32], m[32];
        ratio_words(b->avg_jct_s, r->avg_jct_s, a, sizeof a);
        ratio_words(b->p99_jct_s, r->p99_jct_s, p, sizeof p);
        ratio_words(b->makespan_s, r->makespan_s, m, sizeof m);
        fprintf(out, "%4lld  %-*s avg JCT %s%s %s (%s, run %lld); p99 %s; makespan %s\n",
                (long long)r->id, w, v[i].label, a, strcmp(a, "the same") ? " than" : " as",
                baseline_name(b, o->baseline <= 0),
                v[v[i].base].label, (long long)b->id, p, m);
    }
    print_tenants_text(out, runs, n, v, w);
    if (!o->breakdowns)
        return;
    static const char *titles[N_BY] = {"by model", "by GPU count",
                                       "by GPU type (each job on the type it ran the most rounds "
                                       "on; GPU/CPU/MEM: of the type's own, per round)"};
    static const char *heads[N_BY] = {"MODEL", "GPUS", "GPU_TYPE"};
    for (int k = 0; k < N_BY; k++) {
        bool any = k < 2;
        for (size_t i = 0; i < n; i++)
            any |= v[i].n_types > 0;
        if (!any)
            continue;
        fprintf(out, "\n%s:\n%4s  %-*s %-12s %5s %9s %9s %9s%s\n", titles[k], "RUN", w, "LABEL",
                heads[k], "NUM", "MED", "MEAN", "P99", k == 2 ? "   GPU%   CPU%   MEM%" : "");
        for (size_t i = 0; i < n; i++)
            for (size_t g = 0; g < v[i].n_by[k]; g++) {
                struct group *gr = &v[i].by[k][g];
                struct jct_stats s = stats_of(gr->jct, gr->n);
                fprintf(out, "%4lld  %-*s %-12s %5zu %9.3f %9.3f %9.3f", (long long)runs[i].id,
                        w, v[i].label, gr->key, s.num, s.med, s.mean, s.p99);
                for (int t = 0; k == 2 && t < v[i].n_types; t++)
                    if (strcmp(v[i].types[t].name, gr->key) == 0)
                        fprintf(out, " %6.2f %6.2f %6.2f", v[i].types[t].gpu_alloc * 100,
                                v[i].types[t].cpu_alloc * 100, v[i].types[t].mem_alloc * 100);
                fputc('\n', out);
            }
    }
}

int report_print(FILE *out, store_t *st, const struct store_run *runs, size_t n,
                 const struct report_opts *o, struct err *err)
{
    struct run_view *v = xcalloc(n + 1, sizeof *v);
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        struct store_job *jobs;
        size_t nj;
        if (store_jobs_load(st, runs[i].id, &jobs, &nj, err) < 0)
            goto out;
        double *jct = xcalloc(nj + 1, sizeof *jct);
        for (size_t k = 0; k < nj; k++)
            jct[k] = jobs[k].jct;
        v[i].all = stats_of(jct, nj);
        free(jct);
        for (int k = 0; k < N_BY; k++)
            v[i].n_by[k] = group_jobs(jobs, nj, k, &v[i].by[k]);
        free(jobs);
        struct store_run typed = runs[i]; /* (its types are read into the view) */
        if (store_run_types_load(st, &typed, err) < 0)
            goto out;
        v[i].n_types = typed.n_types;
        memcpy(v[i].types, typed.types, sizeof typed.types);
        snprintf(v[i].hetero, sizeof v[i].hetero, "%s", runs[i].hetero);
        if (load_tenants(st, runs[i].id, &v[i], err) < 0)
            goto out;
        report_run_label(runs, n, i, v[i].label, sizeof v[i].label);
        v[i].base = report_baseline_of(runs, n, i, o->baseline);
    }
    if (o->format == REPORT_TEXT) {
        print_text(out, runs, n, v, o);
    } else if (o->format == REPORT_JSON) {
        for (size_t i = 0; i < n; i++)
            print_json(out, runs, i, &v[i], o);
    } else {
        fputs("run_id,label,policy,mode,jobs_per_hour,split,cluster,seed,status,group,num,med_h,"
              "mean_h,p99_h,p995_h,p999_h,makespan_h,gpu_alloc_pct,cpu_alloc_pct,mem_alloc_pct,"
              "baseline_run,avg_jct_ratio,p99_jct_ratio,makespan_ratio\n",
              out);
        for (size_t i = 0; i < n; i++) {
            csv_row(out, runs, i, &v[i], "all", &v[i].all, true);
            for (int k = 0; o->breakdowns && k < N_BY; k++)
                for (size_t g = 0; g < v[i].n_by[k]; g++) {
                    char name[48];
                    snprintf(name, sizeof name, "%s=%s",
                             k == 0   ? "model"
                             : k == 1 ? "gpus"
                                      : "gpu_type",
                             v[i].by[k][g].key);
                    struct jct_stats s = stats_of(v[i].by[k][g].jct, v[i].by[k][g].n);
                    csv_row(out, runs, i, &v[i], name, &s, false);
                }
        }
    }
    report_seed_print(out, runs, n, o->format);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < N_BY; k++)
            groups_free(v[i].by[k], v[i].n_by[k]);
        free(v[i].tenants);
    }
    free(v);
    return rc;
}

int report_mkdirs(const char *dir, struct err *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return errprintf(err, "%s: path too long", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return errprintf(err, "%s: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t n, struct err *err)
{
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        errprintf(err, "%s: %s", path, strerror(errno));
    return f;
}

static int close_checked(FILE *f, const char *path, struct err *err)
{
    if (ferror(f) | (fclose(f) != 0))
        return errprintf(err, "%s: write failed", path);
    return 0;
}

int report_telemetry(store_t *st, const struct store_run *runs, size_t n, const char *dir,
                     struct err *err)
{
    if (report_mkdirs(dir, err) < 0)
        return -1;
    char name[64], path[4200];
    for (size_t i = 0; i < n; i++) {
        struct store_job *jobs;
        size_t nj;
        if (store_jobs_load(st, runs[i].id, &jobs, &nj, err) < 0)
            return -1;
        snprintf(name, sizeof name, "run%lld_jobs.tsv", (long long)runs[i].id);
        FILE *f = open_in(dir, name, path, sizeof path, err);
        if (!f) {
            free(jobs);
            return -1;
        }
        fputs("job_id\tmodel\tgpus\tarrival_s\tfirst_start_s\tfinish_s\tjct_s\tattained_s\t"
              "rounds_run\trounds_demoted\tpreemptions\n",
              f);
        for (size_t k = 0; k < nj; k++) {
            const struct store_job *j = &jobs[k];
            fprintf(f, "%d\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\n", j->id, j->model,
                    j->gpus, j->arrival, j->first_start, j->finish, j->jct, j->attained,
                    j->rounds_run, j->rounds_demoted, j->preemptions);
        }
        free(jobs);
        if (close_checked(f, path, err) < 0)
            return -1;

        struct store_round *rounds;
        size_t nr;
        if (store_rounds_load(st, runs[i].id, &rounds, &nr, err) < 0)
            return -1;
        snprintf(name, sizeof name, "run%lld_rounds.tsv", (long long)runs[i].id);
        f = open_in(dir, name, path, sizeof path, err);
        if (!f) {
            free(rounds);
            return -1;
        }
        fputs("round\tt_s\trunnable\tplaced\tstarted\tpreempted\tdemoted\tgpu_alloc\tcpu_alloc\t"
              "mem_alloc\tgpu_util\tcpu_util\tmem_util\tgpu_demand\tcpu_demand\tmem_demand\n",
              f);
        for (size_t k = 0; k < nr; k++) {
            const struct store_round *r = &rounds[k];
            fprintf(f, "%zu\t%.3f\t%ld\t%ld\t%ld\t%ld\t%ld", k, r->t, r->runnable, r->placed,
                    r->started, r->preempted, r->demoted);
            for (int q = 0; q < 3; q++)
                fprintf(f, "\t%.6f", r->alloc[q]);
            for (int q = 0; q < 3; q++)
                fprintf(f, "\t%.6f", r->util[q]);
            for (int q = 0; q < 3; q++)
                fprintf(f, "\t%.6f", r->demand[q]);
            fputc('\n', f);
        }
        free(rounds);
        if (close_checked(f, path, err) < 0)
            return -1;
    }
    return 0;
}

void report_list(FILE *out, const struct store_run *runs, size_t n, enum report_format fmt)
{
    if (fmt == REPORT_TEXT)
        fprintf(out, "%4s %6s %-10s %-7s %-7s %7s %-10s %-20s %s\n", "RUN", "BATCH", "STATUS",
                "POLICY", "MODE", "LOAD", "SPLIT", "STARTED", "CLUSTER");
    else if (fmt == REPORT_CSV)
        fprintf(out, "run,batch,status,policy,mode,jobs_per_hour,split,started_at,cluster\n");
    for (size_t i = 0; i < n; i++) {
        const struct store_run *r = &runs[i];
        char split[16];
        snprintf(split, sizeof split, "%d/%d/%d", r->split[0], r->split[1], r->split[2]);
        if (fmt == REPORT_TEXT) {
            fprintf(out, "%4lld %6lld %-10s %-7s %-7s %7g %-10s %-20s %s\n", (long long)r->id,
                    (long long)r->batch_id, r->status, r->policy, r->mode, r->jobs_per_hour,
                    split, r->started_at, r->cluster);
        } else if (fmt == REPORT_CSV) {
            fprintf(out, "%lld,%lld,%s,%s,%s,%g,%s,%s,", (long long)r->id,
                    (long long)r->batch_id, r->status, r->policy, r->mode, r->jobs_per_hour,
                    split, r->started_at);
            json_write_str(out, r->cluster); /* quoted: a path may hold a comma */
            fputc('\n', out);
        } else {
            fprintf(out, "{\"run\":%lld,\"batch\":%lld,\"status\":", (long long)r->id,
                    (long long)r->batch_id);
            json_write_str(out, r->status);
            fprintf(out, ",\"policy\":");
            json_write_str(out, r->policy);
            fprintf(out, ",\"mode\":");
            json_write_str(out, r->mode);
            fprintf(out, ",\"jobs_per_hour\":%.17g,\"split\":[%d,%d,%d],\"started_at\":",
                    r->jobs_per_hour, r->split[0], r->split[1], r->split[2]);
            json_write_str(out, r->started_at);
            fprintf(out, ",\"cluster\":");
            json_write_str(out, r->cluster);
            fprintf(out, "}\n");
        }
    }
}
