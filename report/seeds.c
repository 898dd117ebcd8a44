/*
 * report: the same experiment over several seeds. Runs that differ only in
 * their seed (same policy, mode, workload, load, split, cluster, measurement)
 * form a group; the report shows each group's mean with a 95% confidence
 * interval, mean +- t(0.975, n-1) * s / sqrt(n) with s the sample standard
 * deviation (Student's t: a handful of seeds is a small sample).
 */
#include "report.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define H 3600.0

double report_t975(int dof)
{
    static const double t[31] = {NAN,      12.706205, 4.302653, 3.182446, 2.776445, 2.570582,
                                 2.446912, 2.364624,  2.306004, 2.262157, 2.228139, 2.200985,
                                 2.178813, 2.160369,  2.144787, 2.131450, 2.119905, 2.109816,
                                 2.100922, 2.093024,  2.085963, 2.079614, 2.073873, 2.068658,
                                 2.063899, 2.059539,  2.055529, 2.051831, 2.048407, 2.045230,
                                 2.042272};
    if (dof < 1)
        return NAN;
    if (dof <= 30)
        return t[dof];
    /* Cornish-Fisher expansion around the normal quantile: within 1e-4 here */
    double z = 1.959964, v = dof;
    return z + (z * z * z + z) / (4 * v) +
           (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
}

void report_ci95(const double *v, size_t n, double *mean, double *half)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    *mean = n ? sum / (double)n : NAN;
    if (n < 2) {
        *half = NAN;
        return;
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *half = report_t975((int)n - 1) * sqrt(ss / (double)(n - 1)) / sqrt((double)n);
}

static bool same_but_seed(const struct store_run *a, const struct store_run *b)
{
    return strcmp(a->policy, b->policy) == 0 && strcmp(a->mode, b->mode) == 0 &&
           strcmp(a->workload, b->workload) == 0 && a->jobs_per_hour == b->jobs_per_hour &&
           memcmp(a->split, b->split, sizeof a->split) == 0 &&
           strcmp(a->cluster, b->cluster) == 0 && a->measure_lo == b->measure_lo &&
           a->measure_hi == b->measure_hi && a->round_duration == b->round_duration &&
           strcmp(a->placement, b->placement) == 0 && strcmp(a->profiles, b->profiles) == 0 &&
           a->max_jobs == b->max_jobs && strcmp(a->arrival, b->arrival) == 0;
}

size_t report_seed_groups(const struct store_run *runs, size_t n, struct report_seed_group **out)
{
    struct report_seed_group *g = NULL;
    size_t ng = 0, cap = 0;
    bool *used = xcalloc(n + 1, sizeof *used);
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        size_t m = 0;
        for (size_t k = i; k < n; k++)
            m += !used[k] && same_but_seed(&runs[k], &runs[i]);
        bool seeds_differ = false;
        for (size_t k = i + 1; k < n; k++)
            seeds_differ |= !used[k] && same_but_seed(&runs[k], &runs[i]) &&
                            runs[k].seed != runs[i].seed;
        if (m < 2 || !seeds_differ)
            continue;
        xgrow((void **)&g, &cap, ng + 1, sizeof *g);
        struct report_seed_group *gr = &g[ng++];
        memset(gr, 0, sizeof *gr);
        gr->runs = xcalloc(m, sizeof *gr->runs);
        for (size_t k = i; k < n; k++)
            if (!used[k] && same_but_seed(&runs[k], &runs[i])) {
                used[k] = true;
                gr->runs[gr->n++] = k;
            }
        /* the run label without its seed: what the group stands for */
        report_run_label(runs, n, i, gr->label, sizeof gr->label);
        char *seed = strstr(gr->label, " seed ");
        if (seed)
            *seed = '\0';
        double *v = xcalloc(gr->n, sizeof *v);
        const size_t off[3] = {offsetof(struct store_run, avg_jct_s),
                               offsetof(struct store_run, p99_jct_s),
                               offsetof(struct store_run, makespan_s)};
        for (int q = 0; q < 3; q++) {
            for (size_t k = 0; k < gr->n; k++)
                v[k] = *(const double *)((const char *)&runs[gr->runs[k]] + off[q]) / H;
            report_ci95(v, gr->n, &gr->mean[q], &gr->half[q]);
        }
        free(v);
    }
    free(used);
    *out = g;
    return ng;
}

void report_seed_groups_free(struct report_seed_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].runs);
    free(g);
}

void report_seed_print(FILE *out, const struct store_run *runs, size_t n, enum report_format fmt)
{
    struct report_seed_group *g;
    size_t ng = report_seed_groups(runs, n, &g);
    if (ng == 0)
        return;
    if (fmt == REPORT_TEXT) {
        int w = 10;
        for (size_t i = 0; i < ng; i++)
            if ((int)strlen(g[i].label) > w)
                w = (int)strlen(g[i].label);
        fprintf(out, "\nover seeds: mean +- half-width of the 95%% confidence interval (Student t), "
                     "hours\n%-*s %5s %23s %23s %23s\n",
                w, "LABEL", "SEEDS", "AVG JCT", "P99 JCT", "MAKESPAN");
        for (size_t i = 0; i < ng; i++) {
            fprintf(out, "%-*s %5zu", w, g[i].label, g[i].n);
            for (int q = 0; q < 3; q++)
                fprintf(out, " %11.3f +- %8.3f", g[i].mean[q], g[i].half[q]);
            fputc('\n', out);
        }
    } else if (fmt == REPORT_JSON) {
        static const char *names[3] = {"avg_jct_h", "p99_jct_h", "makespan_h"};
        for (size_t i = 0; i < ng; i++) {
            fputs("{\"seed_group\":", out);
            json_write_str(out, g[i].label);
            fputs(",\"runs\":[", out);
            for (size_t k = 0; k < g[i].n; k++)
                fprintf(out, "%s%lld", k ? "," : "", (long long)runs[g[i].runs[k]].id);
            fputs("],\"seeds\":[", out);
            for (size_t k = 0; k < g[i].n; k++)
                fprintf(out, "%s%llu", k ? "," : "",
                        (unsigned long long)runs[g[i].runs[k]].seed);
            fputc(']', out);
            for (int q = 0; q < 3; q++)
                fprintf(out, ",\"%s\":{\"mean\":%.9f,\"ci95\":%.9f}", names[q], g[i].mean[q],
                        g[i].half[q]);
            fputs("}\n", out);
        }
    } else {
        fputs("\nseed_group,seeds,avg_jct_mean_h,avg_jct_ci95_h,p99_jct_mean_h,p99_jct_ci95_h,"
              "makespan_mean_h,makespan_ci95_h\n",
              out);
        for (size_t i = 0; i < ng; i++) {
            fprintf(out, "\"%s\",%zu", g[i].label, g[i].n);
            for (int q = 0; q < 3; q++)
                fprintf(out, ",%.6f,%.6f", g[i].mean[q], g[i].half[q]);
            fputc('\n', out);
        }
    }
    report_seed_groups_free(g, ng);
}
