/*
 * The profiler's arithmetic (profiler.h): the reference's CPU search, the
 * measured curve, the memory model and the profile built from them. Pure
 * functions, unit tested against hand-computed values (tests/unit/profiler_model.c).
 */
#include "profiler.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int prof_search_next(int c, int gpus, double t_prev, double t_cur)
{
    if (gpus < 1)
        gpus = 1;
    if (t_prev > 0 && fabs(t_cur - t_prev) <= 0.10 * t_prev)
        return c / 2;
    return c - gpus;
}

double prof_curve_eval(const struct prof_curve *cv, double c)
{
    if (cv->n == 0 || !(c > 0))
        return 0;
    const struct prof_point *lo = NULL, *hi = NULL, *mn = &cv->p[0], *mx = &cv->p[0];
    for (int i = 0; i < cv->n; i++) {
        const struct prof_point *p = &cv->p[i];
        if (p->cpus < mn->cpus)
            mn = p;
        if (p->cpus > mx->cpus)
            mx = p;
        if (p->cpus <= c && (!lo || p->cpus > lo->cpus))
            lo = p;
        if (p->cpus >= c && (!hi || p->cpus < hi->cpus))
            hi = p;
    }
    if (!lo)
        return mn->s_per_iter * mn->cpus / c;
    if (!hi)
        return mx->s_per_iter;
    if (hi->cpus == lo->cpus)
        return lo->s_per_iter;
    double w = (c - lo->cpus) / (double)(hi->cpus - lo->cpus);
    return lo->s_per_iter + w * (hi->s_per_iter - lo->s_per_iter);
}

double prof_cache_fraction(double mem_gb, double dataset_gb)
{
    if (!(dataset_gb > 0))
        return 1;
    double m = mem_gb / dataset_gb;
    return m < 0 ? 0 : m > 1 ? 1 : m;
}

double prof_epoch_time(double compute_s, double m, double dataset_gb, double mem_bw, double disk_bw)
{
    if (!(dataset_gb > 0))
        return compute_s;
    m = m < 0 ? 0 : m > 1 ? 1 : m;
    double fetch = 0;
    if (m > 0 && mem_bw > 0)
        fetch += m * dataset_gb / mem_bw;
    if (m < 1 && disk_bw > 0)
        fetch += (1 - m) * dataset_gb / disk_bw;
    return fetch > compute_s ? fetch : compute_s;
}

double prof_epoch_at(const struct prof_facts *f, double c, double mem_gb_per_gpu)
{
    double compute = prof_curve_eval(&f->curve, c) * (double)f->epoch_iters;
    double m = prof_cache_fraction(mem_gb_per_gpu * f->gpus, f->dataset_gb);
    return prof_epoch_time(compute, m, f->dataset_gb, f->mem_bw_gbs, f->disk_bw_gbs);
}

void prof_build_profile(const struct prof_facts *f, const char *name, int batch,
                        struct model_profile *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->task = TASK_NONE;
    out->batch = batch;
    out->speed = 62.5;
    out->placement_penalty = 1;
    double n = (double)(f->epoch_iters > 0 ? f->epoch_iters : 1);
    double fair = prof_epoch_at(f, 3.0 * f->gpus, 62.5) / n;
    out->iter_time = fair > 0 ? fair : 1;
    double best = 0;
    for (int r = 0; r < TPUT_ROWS; r++)
        for (int c = 0; c < TPUT_COLS; c++) {
            double e = prof_epoch_at(f, tput_cpu_per_gpu[r] * f->gpus, tput_mem_per_gpu[c]) / n;
            double v = e > 0 ? out->iter_time / e : 1;
            out->tput[r][c] = round(v * 1e4) / 1e4;
            if (out->tput[r][c] > best)
                best = out->tput[r][c];
        }
    out->has_tput = true;
    out->cpus = 3;
    out->mem = 62.5;
    out->speedup = 1;
    for (int r = 0; r < TPUT_ROWS; r++) {
        int col = -1;
        for (int c = 0; c < TPUT_COLS && col < 0; c++)
            if (out->tput[r][c] >= 0.97 * best)
                col = c;
        if (col < 0)
            continue;
        if (out->tput[r][col] > 1) {
            out->cpus = tput_cpu_per_gpu[r];
            out->mem = tput_mem_per_gpu[col];
            out->speedup = out->tput[r][col];
        }
        break;
    }
    out->startup_s = f->startup_s;
    out->checkpoint_s = f->checkpoint_s;
}
