/*
 * Run metrics shared by every driver (the simulator and the deployment),
 * computed from the round ledger's result rows: JCT mean and percentiles (pandas' linear
 * interpolation at (n-1)q), makespan (the last measured finish, from t=0) and
 * the mean per-round allocation.
 */
#include "scheduler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double sched_quantile(const double *a, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = (double)(n - 1) * q;
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return a[n - 1];
    double t = pos - (double)lo, d = a[lo + 1] - a[lo];
    /* numpy's lerp: exact at both ends */
    return t >= 0.5 ? a[lo + 1] - d * (1 - t) : a[lo] + d * t;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int res_cmp(const void *a, const void *b)
{
    const struct sched_job_result *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

void sched_result_free(struct sched_result *res)
{
    free(res->jobs);
    res->jobs = NULL;
    free(res->tenants);
    res->tenants = NULL;
    res->n_tenants = 0;
}

/* The JCT count, mean and quantiles of the measured jobs of tenant `name`
 * (by_tenant) or of GPU type `name`; jct: room for every measured job. */
static void group_jcts(const struct sched_result *res, bool by_tenant, const char *name,
                       double *jct, size_t *jobs, double *avg, double *p50, double *p99)
{
    size_t n = 0;
    double sum = 0;
    for (size_t i = 0; i < res->jobs_measured; i++)
        if (strcmp(by_tenant ? res->jobs[i].tenant : res->jobs[i].gpu_type, name) == 0) {
            jct[n++] = res->jobs[i].jct;
            sum += res->jobs[i].jct;
        }
    qsort(jct, n, sizeof *jct, dbl_cmp);
    *jobs = n;
    *avg = n ? sum / (double)n : NAN;
    *p50 = sched_quantile(jct, n, 0.5);
    *p99 = sched_quantile(jct, n, 0.99);
}

double sched_jain_tenants(const struct sched_tenant_result *t, size_t n)
{
    double sx = 0, sxx = 0;
    int nx = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].entitled_hours > 0) {
            double x = t[i].gpu_hours / t[i].entitled_hours;
            sx += x;
            sxx += x * x;
            nx++;
        }
    return nx > 0 && sxx > 0 ? sx * sx / (nx * sxx) : NAN;
}

void sched_result_by_tenant(struct sched_result *res)
{
    double *jct = xmalloc(sizeof *jct * (res->jobs_measured + 1));
    for (int t = 0; t < res->n_tenants; t++) {
        struct sched_tenant_result *tr = &res->tenants[t];
        group_jcts(res, true, tr->name, jct, &tr->jobs,
                   &tr->avg_jct_s, &tr->p50_jct_s, &tr->p99_jct_s);
    }
    res->jain_tenants = sched_jain_tenants(res->tenants, (size_t)res->n_tenants);
    free(jct);
}

void sched_result_by_type(struct sched_result *res)
{
    double *jct = xmalloc(sizeof *jct * (res->jobs_measured + 1));
    for (int t = 0; t < res->n_types; t++) {
        struct sched_type_result *tr = &res->types[t];
        group_jcts(res, false, tr->name, jct, &tr->jobs,
                   &tr->avg_jct_s, &tr->p50_jct_s, &tr->p99_jct_s);
    }
    free(jct);
}

void sched_result_summarize(struct sched_result *res, const double util_sum[3])
{
    size_t n = res->jobs_measured;
    if (n > 0) {
        double *jct = xmalloc(sizeof *jct * n);
        double sum = 0, mk = 0;
        for (size_t i = 0; i < n; i++) {
            jct[i] = res->jobs[i].jct;
            sum += jct[i];
            if (res->jobs[i].finish > mk)
                mk = res->jobs[i].finish;
        }
        qsort(jct, n, sizeof *jct, dbl_cmp);
        res->avg_jct_s = sum / (double)n;
        res->p50_jct_s = sched_quantile(jct, n, 0.5);
        res->p99_jct_s = sched_quantile(jct, n, 0.99);
        res->p999_jct_s = sched_quantile(jct, n, 0.999);
        res->max_jct_s = jct[n - 1];
        res->makespan_s = mk;
        free(jct);
        qsort(res->jobs, n, sizeof *res->jobs, res_cmp);
    } else {
        res->avg_jct_s = res->p50_jct_s = res->p99_jct_s = res->p999_jct_s = NAN;
        res->max_jct_s = res->makespan_s = NAN;
    }
    if (res->rounds > 0) {
        res->mean_gpu_alloc = util_sum[0] / (double)res->rounds;
        res->mean_cpu_alloc = util_sum[1] / (double)res->rounds;
        res->mean_mem_alloc = util_sum[2] / (double)res->rounds;
    }
}
