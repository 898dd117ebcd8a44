/*
 * A workload's summary for `synergy trace stats`: the GPU-demand histogram,
 * job durations at the fair share (iterations x the model's seconds per
 * iteration), the arrival span and the GPU-hours it asks for. A job whose
 * model is not profiled counts as alexnet, the reference's fallback.
 */
#include "trace.h"

#include <math.h>
#include <stdlib.h>

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double *trace_stats_compute(const struct job_spec *jobs, size_t n, const model_zoo_t *zoo,
                            int cluster_gpus, struct trace_stats *st)
{
    double *dur = xmalloc(n * sizeof *dur);
    double gpu_h = 0, first = INFINITY, last = -INFINITY;
    int *gv = st->gpus;
    long *gc = st->count;
    int ng = 0;
    long unknown = 0, too_big = 0;
    for (size_t i = 0; i < n; i++) {
        const struct model_profile *m = model_zoo_find(zoo, jobs[i].model);
        if (!m) {
            unknown++;
            m = model_zoo_find(zoo, "alexnet"); /* the reference's fallback */
        }
        dur[i] = (double)jobs[i].iterations * m->iter_time;
        gpu_h += dur[i] * jobs[i].gpus / 3600;
        if (jobs[i].arrival < first)
            first = jobs[i].arrival;
        if (jobs[i].arrival > last)
            last = jobs[i].arrival;
        if (jobs[i].gpus > cluster_gpus)
            too_big++;
        int k = 0;
        while (k < ng && gv[k] != jobs[i].gpus)
            k++;
        if (k == ng && ng < 64) {
            gv[ng] = jobs[i].gpus;
            gc[ng++] = 0;
        }
        if (k < 64)
            gc[k]++;
    }
    qsort(dur, n, sizeof *dur, dbl_cmp);
    /* sort the histogram by GPU count */
    for (int a = 1; a < ng; a++)
        for (int b = a; b > 0 && gv[b] < gv[b - 1]; b--) {
            int tv = gv[b];
            gv[b] = gv[b - 1];
            gv[b - 1] = tv;
            long tc = gc[b];
            gc[b] = gc[b - 1];
            gc[b - 1] = tc;
        }
    st->n_gpus = ng;
    st->gpu_h = gpu_h;
    st->first = first;
    st->last = last;
    st->unknown = unknown;
    st->too_big = too_big;
    return dur;
}
