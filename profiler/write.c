/*
 * The profiler's outputs (profiler.h): a models.ini section that `simulate
 * --models` / `--profiles-dir` read back, and a gnuplot figure.
 */
#include "profiler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int commit(FILE *f, const char *tmp, const char *path, struct err *err)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return errprintf(err, "%s: write failed", path);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return errprintf(err, "%s: %s", path, strerror(e));
    }
    return 0;
}

/* One section's keys (the profile as measured, informational keys last). */
static void write_keys(FILE *o, const struct model_profile *m, const struct prof_facts *f,
                       const char *when)
{
    fprintf(o, "name = %s\n", m->name);
    fprintf(o, "gpus = %d\n", f->gpus);
    fprintf(o, "cpus = %.17g\n", m->cpus);
    fprintf(o, "mem = %.17g\n", m->mem);
    fprintf(o, "speed = %.17g\n", m->speed);
    fprintf(o, "batch = %d\n", m->batch);
    fprintf(o, "placement_penalty = %.17g\n", m->placement_penalty);
    fprintf(o, "speedup = %.17g\n", m->speedup);
    fprintf(o, "iter_time = %.9g\n", m->iter_time);
    fprintf(o, "startup_s = %.6f\n", m->startup_s);
    fprintf(o, "checkpoint_s = %.6f\n", m->checkpoint_s);
    fprintf(o, "tput_rows = %d\ntput_cols = %d\n", TPUT_ROWS, TPUT_COLS);
    for (int r = 0; r < TPUT_ROWS; r++) {
        fprintf(o, "tput_cpu%g =", tput_cpu_per_gpu[r]);
        for (int c = 0; c < TPUT_COLS; c++)
            fprintf(o, "%s %.4f", c ? "," : "", m->tput[r][c]);
        fprintf(o, "\n");
    }
    fprintf(o, "measured =");
    for (int i = 0; i < f->curve.n; i++)
        fprintf(o, "%s %d:%.9g", i ? "," : "", f->curve.p[i].cpus, f->curve.p[i].s_per_iter);
    fprintf(o, "\n");
    fprintf(o, "dataset_gb = %.6f\n", f->dataset_gb);
    fprintf(o, "mem_bw_gbs = %.3f\n", f->mem_bw_gbs);
    fprintf(o, "disk_bw_gbs = %.3f\n", f->disk_bw_gbs);
    fprintf(o, "epoch_iters = %ld\n", f->epoch_iters);
    fprintf(o, "source = synergy profile %s\n", when);
}

int prof_write_profile(const char *path, const struct model_profile *m,
                       const struct prof_facts *f, struct err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *o = fopen(tmp, "w");
    if (!o)
        return errprintf(err, "%s: %s", tmp, strerror(errno));
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(o, "; Written by `synergy profile` (docs/real-jobs.md); format: docs/profiles.md.\n"
               "; cpus, mem: per GPU; iter_time: seconds per iteration at 3 CPUs and 62.5 GB\n"
               "; per GPU; tput_cpuC: throughput at C CPUs per GPU and 20.83, 62.5, 125, 187.5,\n"
               "; 250 GB per GPU. measured = CPUs:seconds per iteration, for %d GPU(s).\n",
            f->gpus);
    fprintf(o, "[%s:1]\n", m->name);
    if (m->gpu_type[0])
        fprintf(o, "gpu_type = %s\n", m->gpu_type);
    write_keys(o, m, f, when);
    /* measured on a known GPU type: the same figures as that type's profile
     * (docs/heterogeneous.md), which a cluster with GPU types uses there */
    if (m->gpu_type[0]) {
        fprintf(o, "\n[%s:1:%s]\n", m->name, m->gpu_type);
        write_keys(o, m, f, when);
    }
    return commit(o, tmp, path, err);
}

int prof_write_plot(const char *dir, const char *name, const struct prof_facts *f, bool *drawn,
                    struct err *err)
{
    *drawn = false;
    char dat[4200], gp[4200], tmp[4300];
    snprintf(dat, sizeof dat, "%s/%s-profile.dat", dir, name);
    snprintf(gp, sizeof gp, "%s/%s-profile.gp", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dat, (long)getpid());
    FILE *o = fopen(tmp, "w");
    if (!o)
        return errprintf(err, "%s: %s", tmp, strerror(errno));
    int maxc = 1;
    for (int i = 0; i < f->curve.n; i++)
        if (f->curve.p[i].cpus > maxc)
            maxc = f->curve.p[i].cpus;
    fprintf(o, "# measured: cpus s_per_iter\n");
    for (int i = 0; i < f->curve.n; i++)
        fprintf(o, "%d %.9g\n", f->curve.p[i].cpus, f->curve.p[i].s_per_iter);
    fprintf(o, "\n\n# modelled: cpus s_per_iter\n");
    for (int k = 0; k <= 40; k++) {
        double c = 0.5 + (maxc * 1.5 - 0.5) * k / 40.0;
        fprintf(o, "%.4f %.9g\n", c, prof_curve_eval(&f->curve, c));
    }
    /* epoch time vs memory per GPU, one block per measured CPU count */
    for (int i = 0; i < f->curve.n; i++) {
        fprintf(o, "\n\n# %d CPUs: mem_gb_per_gpu epoch_s\n", f->curve.p[i].cpus);
        for (int k = 0; k <= 50; k++) {
            double m = 250.0 * k / 50.0;
            fprintf(o, "%.3f %.9g\n", m, prof_epoch_at(f, f->curve.p[i].cpus, m));
        }
    }
    if (commit(o, tmp, dat, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", gp, (long)getpid());
    o = fopen(tmp, "w");
    if (!o)
        return errprintf(err, "%s: %s", tmp, strerror(errno));
    fprintf(o, "# Written by synergy profile; `gnuplot %s-profile.gp` in this directory redraws.\n"
               "set terminal pngcairo size 1200,500\nset output '%s-profile.png'\n"
               "set multiplot layout 1,2 title '%s, %d GPU(s): optimistic profile'\n"
               "set xlabel 'CPU cores'\nset ylabel 'seconds per iteration'\nset key top right\n"
               "plot '%s-profile.dat' index 1 with lines title 'model (interpolated)', "
               "'' index 0 with points pt 7 ps 1.5 title 'measured'\n"
               "set xlabel 'memory per GPU (GB)'\nset ylabel 'epoch time (s)'\n"
               "plot",
            name, name, name, f->gpus, name);
    for (int i = 0; i < f->curve.n; i++)
        fprintf(o, "%s '%s-profile.dat' index %d with lines title '%d CPUs'", i ? "," : "", name,
                i + 2, f->curve.p[i].cpus);
    fprintf(o, "\nunset multiplot\n");
    if (commit(o, tmp, gp, err) < 0)
        return -1;
    char cmd[8800];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s-profile.gp' >/dev/null 2>&1", dir, name);
    *drawn = system(cmd) == 0;
    return 0;
}
