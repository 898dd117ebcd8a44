/*
 * plot: write the data of recorded runs as gnuplot data files, one gnuplot
 * script that renders every figure twice (pngcairo, svg), and run gnuplot on
 * it (see plot.h). Which figures appear depends on what varies among the
 * runs; a figure with too many curves to read is left out rather than drawn.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define H 3600.0
#define MAX_CDF_CURVES 10 /* one JCT CDF plot of every run up to this many runs */
#define MAX_ALLOC_PLOTS 4 /* allocation plots drawn for a large selection */
#define MAX_ALLOC_POINTS 1000 /* rounds beyond this are averaged in bins: a 2,500 h run
                                 has 30,000 rounds, an unreadable mass and a 4 MB SVG */
#define MAX_CDF_POINTS 2000 /* a CDF of more jobs is drawn from every k-th (and the last):
                               41,226 jobs per curve made a 1.7 MB SVG of the same picture */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Open DIR/data/run<ID>_<what>.dat for writing, its name in path. NULL with
 * err naming it. */
static FILE *run_data_open(const char *dir, const struct store_run *r, const char *what,
                           char *path, size_t size, struct err *err)
{
    snprintf(path, size, "%s/data/run%lld_%s.dat", dir, (long long)r->id, what);
    FILE *f = fopen(path, "w");
    if (!f)
        errprintf(err, "%s: %s", path, strerror(errno));
    return f;
}

/* DIR/data/run<ID>_jct.dat: JCT (h) and cumulative fraction. */
static int write_cdf(store_t *st, const struct store_run *r, const char *dir, struct err *err)
{
    struct store_job *jobs;
    size_t n;
    if (store_jobs_load(st, r->id, &jobs, &n, err) < 0)
        return -1;
    double *v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = jobs[i].jct / H;
    free(jobs);
    qsort(v, n, sizeof *v, dbl_cmp);
    char path[4200];
    FILE *f = run_data_open(dir, r, "jct", path, sizeof path, err);
    if (!f) {
        free(v);
        return -1;
    }
    size_t every = n > MAX_CDF_POINTS ? (n + MAX_CDF_POINTS - 1) / MAX_CDF_POINTS : 1;
    fprintf(f, "# run %lld: JCT (hours), fraction of jobs finished within it", (long long)r->id);
    if (every > 1)
        fprintf(f, "; every %zu-th of the %zu jobs, and the last", every, n);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++)
        if (i % every == 0 || i + 1 == n)
            fprintf(f, "%.6f %.6f\n", v[i], (double)(i + 1) / (double)n);
    free(v);
    if (fclose(f) != 0)
        return errprintf(err, "%s: write failed", path);
    return 0;
}

/* DIR/data/run<ID>_rounds.dat: time (h), then alloc, util, demand (%) for
 * GPU, CPU, memory, then on a cluster with GPU types each type's allocation
 * of its own GPUs, CPUs and memory (%); at most MAX_ALLOC_POINTS lines, each
 * the mean of *bin consecutive rounds (its time the first one's). Returns the
 * largest demand (%) of a line in *max_demand. r's types must be loaded. */
static int write_rounds(store_t *st, const struct store_run *r, const char *dir,
                        double *max_demand, size_t *bin, struct err *err)
{
    struct store_round *rounds;
    size_t n;
    if (store_rounds_load(st, r->id, &rounds, &n, err) < 0)
        return -1;
    if (store_round_types_load(st, r, rounds, n, err) < 0) {
        free(rounds);
        return -1;
    }
    char path[4200];
    FILE *f = run_data_open(dir, r, "rounds", path, sizeof path, err);
    if (!f) {
        free(rounds);
        return -1;
    }
    *bin = n > MAX_ALLOC_POINTS ? (n + MAX_ALLOC_POINTS - 1) / MAX_ALLOC_POINTS : 1;
    fprintf(f, "# t_h gpu_alloc cpu_alloc mem_alloc gpu_util cpu_util mem_util gpu_demand "
               "cpu_demand mem_demand (%% of cluster)");
    for (int t = 0; t < r->n_types; t++)
        fprintf(f, " %s_gpu %s_cpu %s_mem", r->types[t].name, r->types[t].name,
                r->types[t].name);
    fprintf(f, "%s%s\n", r->n_types ? " (% of the type's own)" : "",
            *bin > 1 ? ", each line the mean of consecutive rounds" : "");
    *max_demand = 0;
    for (size_t i = 0; i < n; i += *bin) {
        size_t m = n - i < *bin ? n - i : *bin;
        double v[9] = {0};
        for (size_t j = i; j < i + m; j++)
            for (int k = 0; k < 3; k++) {
                v[k] += rounds[j].alloc[k] * 100 / (double)m;
                v[3 + k] += rounds[j].util[k] * 100 / (double)m;
                v[6 + k] += rounds[j].demand[k] * 100 / (double)m;
            }
        fprintf(f, "%.4f", rounds[i].t / H);
        for (int k = 0; k < 9; k++)
            fprintf(f, " %.3f", v[k]);
        for (int t = 0; t < r->n_types; t++)
            for (int k = 0; k < 3; k++) {
                double a = 0;
                for (size_t j = i; j < i + m; j++)
                    a += rounds[j].type_alloc[t][k] * 100 / (double)m;
                fprintf(f, " %.3f", a);
            }
        fputc('\n', f);
        for (int k = 6; k < 9; k++)
            if (v[k] > *max_demand)
                *max_demand = v[k];
    }
    free(rounds);
    if (fclose(f) != 0)
        return errprintf(err, "%s: write failed", path);
    return 0;
}

/* Emit body twice into the script: as name.png and as name.svg. */
static void emit(FILE *gp, const char *name, const char *body, int height)
{
    fprintf(gp, "set terminal pngcairo size 1000,%d font 'DejaVu Sans,11' noenhanced\n"
                "set output '%s.png'\n%s\nunset output\n",
            height, name, body);
    fprintf(gp, "set terminal svg size 1000,%d dynamic font 'DejaVu Sans,11' noenhanced\n"
                "set output '%s.svg'\n%s\nunset output\nreset\n",
            height, name, body);
}

/* A growing string for plot bodies. */
struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    xgrow((void **)&b->s, &b->cap, b->n + (size_t)need + 1, 1);
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

/* Twelve colours told apart on screen and paper (Tableau 10, black, light blue). */
#define N_COLORS 12
static const char *const colors[N_COLORS] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                             "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
                                             "#7f7f7f", "#bcbd22", "#000000", "#aec7e8"};

/* The dash type of a mode: tune solid, fair dashed, greedy dotted, opt
 * dash-dot, anything else dash-dot-dot. */
static int mode_dash(const char *mode)
{
    static const char *const modes[] = {"tune", "fair", "greedy", "opt"};
    for (int i = 0; i < 4; i++)
        if (strcmp(mode, modes[i]) == 0)
            return i + 1;
    return 5;
}

/* The k-th of a set of curves that share nothing: a colour and a dash type
 * each (the dash cycles through 5, the colour through 12: 60 distinct). */
static void nth_style(size_t k, char *buf, size_t len)
{
    snprintf(buf, len, "lw 2 lc rgb '%s' dt %zu", colors[k % N_COLORS], 1 + k % 5);
}

/* Line style for a run: color by policy, dash by mode (mode_dash), so
 * policy x mode curves stay apart. */
static void style_of(const struct store_run *runs, size_t n, size_t i, char *buf, size_t len)
{
    /* the policy's rank among the distinct policies, in order of appearance */
    size_t pi = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(runs[k].policy, runs[i].policy) == 0)
            break;
        bool seen = false;
        for (size_t q = 0; q < k; q++)
            seen |= strcmp(runs[q].policy, runs[k].policy) == 0;
        pi += !seen;
    }
    snprintf(buf, len, "lw 2 lc rgb '%s' dt %d", colors[pi % N_COLORS], mode_dash(runs[i].mode));
}

/* Log-scale tics at 1, 2 and 5 of every decade, labelled (not only 1, 10,
 * 100): gnuplot shows those inside the range. */
static void log_tics(struct sbuf *b, char axis)
{
    sb_printf(b, "set %ctics (", axis);
    double d = 1e-3;
    for (int k = 0; k < 9; k++, d *= 10)
        sb_printf(b, "%s\"%g\" %g, \"%g\" %g, \"%g\" %g", k ? ", " : "", d, d, 2 * d, 2 * d,
                  5 * d, 5 * d);
    sb_printf(b, ")\nset m%ctics 10\n", axis);
}

/* A run whose results equal an earlier curve's (FIFO and LAS on a workload
 * where they decide alike): it would hide under it, so the legend says so. */
static const struct store_run *same_curve(const struct store_run *runs, const size_t *idx,
                                          size_t k)
{
    const struct store_run *r = &runs[idx[k]];
    for (size_t j = 0; j < k; j++) {
        const struct store_run *q = &runs[idx[j]];
        if (q->avg_jct_s == r->avg_jct_s && q->p99_jct_s == r->p99_jct_s &&
            q->makespan_s == r->makespan_s && q->jobs_measured == r->jobs_measured)
            return q;
    }
    return NULL;
}

static void cdf_plot(struct sbuf *b, const struct store_run *runs, size_t n, const size_t *idx,
                     size_t m, const char *title, bool short_labels)
{
    sb_printf(b, "set title '%s'\nset xlabel 'job completion time (hours, log scale)'\n"
                 "set ylabel 'fraction of jobs finished'\nset logscale x\nset yrange [0:1]\n"
                 "set grid\nset key right bottom\n",
              title);
    log_tics(b, 'x');
    sb_printf(b, "plot ");
    /* policy colour and mode dash while every run has its own policy and mode */
    bool by_policy_mode = true;
    for (size_t k = 0; k < m; k++)
        for (size_t j = 0; j < k; j++)
            by_policy_mode &= strcmp(runs[idx[j]].policy, runs[idx[k]].policy) != 0 ||
                              strcmp(runs[idx[j]].mode, runs[idx[k]].mode) != 0;
    for (size_t k = 0; k < m; k++) {
        char label[200], style[96];
        if (short_labels)
            snprintf(label, sizeof label, "%s/%s", runs[idx[k]].policy, runs[idx[k]].mode);
        else
            report_run_label(runs, n, idx[k], label, sizeof label);
        const struct store_run *twin = same_curve(runs, idx, k);
        if (twin) {
            size_t l = strlen(label);
            snprintf(label + l, sizeof label - l, " (the JCTs of run %lld: under it)",
                     (long long)twin->id);
        }
        style_of(runs, n, idx[k], style, sizeof style);
        if (!by_policy_mode) /* one style per run: runs may share policy and mode */
            nth_style(k, style, sizeof style);
        sb_printf(b, "%s'data/run%lld_jct.dat' using 1:2 with steps %s title '%s'",
                  k ? ", \\\n     " : "", (long long)runs[idx[k]].id, style, label);
    }
    sb_printf(b, "\n");
}

static void alloc_plot(struct sbuf *b, const struct store_run *runs, size_t n, size_t i,
                       const struct store_run *typed, double max_demand, size_t bin)
{
    char label[128];
    report_run_label(runs, n, i, label, sizeof label);
    static const char *res[3] = {"GPU", "CPU", "memory"};
    double top = max_demand * 1.05 > 105 ? max_demand * 1.05 : 105;
    bool clipped = top > 300;
    if (clipped)
        top = 300;
    char per[64] = "per round";
    if (bin > 1)
        snprintf(per, sizeof per, "(means of %zu rounds)", bin);
    sb_printf(b, "set multiplot layout 3,1 title 'run %lld, %s: allocation vs demand %s "
                 "(cluster: %d GPUs, %d CPUs, %d GB memory)'\n"
                 "set grid\nset key outside right top\nset yrange [0:%g]\n"
                 "set lmargin 10\nset rmargin 22\n",
              (long long)runs[i].id, label, per, runs[i].gpus,
              runs[i].servers * runs[i].cpus_per_server,
              runs[i].servers * runs[i].mem_per_server, top);
    for (int k = 0; k < 3; k++) {
        sb_printf(b,
                  "set title '%s'\nset ylabel '%% of cluster%s'\n%s"
                  "plot 'data/run%lld_rounds.dat' using 1:%d with lines lw 4 lc rgb '#9ecae1' "
                  "title 'allocated', \\\n"
                  "     '' using 1:%d with lines lw 1 lc rgb '#2ca02c' title 'utilized', \\\n"
                  "     '' using 1:%d with lines lw 1.5 dt 2 lc rgb '#d62728' title 'demand'%s\n",
                  res[k], clipped ? " (cut at 300)" : "", k == 2 ? "set xlabel 'simulated time (hours)'\n" : "",
                  (long long)runs[i].id, 2 + k, 5 + k, 8 + k, typed->n_types ? ", \\" : "");
        /* each GPU type: its allocation of its own servers' resources */
        for (int t = 0; t < typed->n_types; t++)
            sb_printf(b, "     '' using 1:%d with lines lw 2 dt 4 lc rgb '%s' title '%s (%% of its own)'%s\n",
                      11 + 3 * t + k, colors[(t + 3) % N_COLORS], typed->types[t].name,
                      t + 1 < typed->n_types ? ", \\" : "");
    }
    sb_printf(b, "unset multiplot\n");
}

/* The trace a run replayed, for titles: its file name (quotes dropped), or
 * NULL for the synthetic workload. */
static const char *trace_name(const struct store_run *r, char *buf, size_t len)
{
    if (!r->workload[0] || strcmp(r->workload, "synthetic") == 0)
        return NULL;
    const char *base = strrchr(r->workload, '/');
    base = base && base[1] ? base + 1 : r->workload;
    size_t k = 0;
    for (; *base && k + 1 < len; base++)
        if (*base != '\'' && *base != '\\')
            buf[k++] = *base;
    buf[k] = '\0';
    return buf;
}

/* Runs that differ from runs[i] only in policy and mode (and load if
 * ignore_load): same cluster, split, workload, seed. */
static bool same_group(const struct store_run *a, const struct store_run *b, bool ignore_load)
{
    return strcmp(a->cluster, b->cluster) == 0 && memcmp(a->split, b->split, sizeof a->split) == 0 &&
           strcmp(a->workload, b->workload) == 0 && a->seed == b->seed &&
           (ignore_load || a->jobs_per_hour == b->jobs_per_hour);
}

/* A file name's part from s: its base name without .ini, [A-Za-z0-9._-] kept. */
static void name_part(char *buf, size_t len, const char *s)
{
    const char *base = strrchr(s, '/');
    base = base && base[1] ? base + 1 : s;
    size_t k = 0, bl = strlen(base);
    if (bl > 4 && strcmp(base + bl - 4, ".ini") == 0)
        bl -= 4;
    for (size_t i = 0; i < bl && k + 1 < len; i++) {
        char ch = base[i];
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
        buf[k++] = keep ? ch : '-';
    }
    buf[k] = '\0';
}

/* The figure name's suffix for runs[i]'s group: _load<L> when asked, then
 * what tells the groups of the selection apart (_seed<S>, _split<I-L-S>,
 * the cluster file's and the trace's names), so that a sweep over seeds
 * writes jct_vs_load_seed1.png, not a run id. */
static void group_suffix(const struct store_run *runs, size_t n, size_t i, bool with_load,
                         char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    if (with_load)
        at += (size_t)snprintf(buf, len, "_load%g", runs[i].jobs_per_hour);
    bool seed = false, split = false, cluster = false, workload = false;
    for (size_t k = 0; k < n; k++) {
        seed |= runs[k].seed != runs[i].seed;
        split |= memcmp(runs[k].split, runs[i].split, sizeof runs[i].split) != 0;
        cluster |= strcmp(runs[k].cluster, runs[i].cluster) != 0;
        workload |= strcmp(runs[k].workload, runs[i].workload) != 0;
    }
    char part[128];
    if (workload && at < len) {
        name_part(part, sizeof part, runs[i].workload);
        at += (size_t)snprintf(buf + at, len - at, "_%s", part);
    }
    if (cluster && at < len) {
        name_part(part, sizeof part, runs[i].cluster);
        at += (size_t)snprintf(buf + at, len - at, "_%s", part);
    }
    if (split && at < len)
        at += (size_t)snprintf(buf + at, len - at, "_split%d-%d-%d", runs[i].split[0],
                               runs[i].split[1], runs[i].split[2]);
    if (seed && at < len)
        snprintf(buf + at, len - at, "_seed%lu", (unsigned long)runs[i].seed);
}

/* An earlier policy x mode of the group of runs[first] whose average JCT
 * equals runs[i]'s at every load (its line would hide under the other). */
static const struct store_run *same_series(const struct store_run *runs, size_t n, size_t first,
                                           size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (!same_group(&runs[j], &runs[first], true) ||
            (strcmp(runs[j].policy, runs[i].policy) == 0 && strcmp(runs[j].mode, runs[i].mode) == 0))
            continue;
        bool equal = true;
        for (size_t a = 0; a < n && equal; a++) {
            if (!same_group(&runs[a], &runs[first], true) || strcmp(runs[a].policy, runs[i].policy) ||
                strcmp(runs[a].mode, runs[i].mode))
                continue;
            bool matched = false;
            for (size_t q = 0; q < n && !matched; q++)
                matched = same_group(&runs[q], &runs[first], true) &&
                          !strcmp(runs[q].policy, runs[j].policy) &&
                          !strcmp(runs[q].mode, runs[j].mode) &&
                          runs[q].jobs_per_hour == runs[a].jobs_per_hour &&
                          runs[q].avg_jct_s == runs[a].avg_jct_s;
            equal = matched;
        }
        if (equal)
            return &runs[j];
    }
    return NULL;
}

/* avg JCT vs load, one line per policy x mode, for the group of runs[first]. */
static void load_plot(struct sbuf *b, const struct store_run *runs, size_t n, size_t first,
                      const char *dir, struct err *err, int *rc)
{
    char tn[256];
    if (trace_name(&runs[first], tn, sizeof tn)) /* a sweep re-timing a trace */
        sb_printf(b, "set title 'average JCT vs load: %s (%d GPUs, seed %lu)'\n", tn,
                  runs[first].gpus, (unsigned long)runs[first].seed);
    else
        sb_printf(b, "set title 'average JCT vs load (%d GPUs, split %d/%d/%d, seed %lu)'\n",
                  runs[first].gpus, runs[first].split[0], runs[first].split[1],
                  runs[first].split[2], (unsigned long)runs[first].seed);
    sb_printf(b, "set xlabel 'load (jobs per hour)'\nset ylabel 'average JCT (hours, log scale)'\n"
                 "set logscale y\nset grid\nset key outside right top\n");
    log_tics(b, 'y');
    sb_printf(b, "plot ");
    size_t curves = 0;
    for (size_t i = 0; i < n; i++) {
        if (!same_group(&runs[i], &runs[first], true))
            continue;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= same_group(&runs[k], &runs[first], true) &&
                    strcmp(runs[k].policy, runs[i].policy) == 0 &&
                    strcmp(runs[k].mode, runs[i].mode) == 0;
        if (seen)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/data/load_%lld_%s_%s.dat", dir, (long long)runs[first].id,
                 runs[i].policy, runs[i].mode);
        FILE *f = fopen(path, "w");
        if (!f) {
            *rc = errprintf(err, "%s: %s", path, strerror(errno));
            return;
        }
        fprintf(f, "# jobs_per_hour avg_jct_h (%s/%s)\n", runs[i].policy, runs[i].mode);
        /* loads in increasing order */
        double last = -1;
        for (;;) {
            size_t best = n;
            for (size_t k = 0; k < n; k++)
                if (same_group(&runs[k], &runs[first], true) &&
                    strcmp(runs[k].policy, runs[i].policy) == 0 &&
                    strcmp(runs[k].mode, runs[i].mode) == 0 && runs[k].jobs_per_hour > last &&
                    (best == n || runs[k].jobs_per_hour < runs[best].jobs_per_hour))
                    best = k;
            if (best == n)
                break;
            last = runs[best].jobs_per_hour;
            fprintf(f, "%g %.6f\n", last, runs[best].avg_jct_s / H);
        }
        fclose(f);
        char style[96], twin[96] = "";
        style_of(runs, n, i, style, sizeof style);
        const struct store_run *t = same_series(runs, n, first, i);
        if (t)
            snprintf(twin, sizeof twin, " (the JCTs of %s/%s: under it)", t->policy, t->mode);
        sb_printf(b, "%s'data/load_%lld_%s_%s.dat' using 1:2 with linespoints pt 7 %s title '%s/%s%s'",
                  curves++ ? ", \\\n     " : "", (long long)runs[first].id, runs[i].policy,
                  runs[i].mode, style, runs[i].policy, runs[i].mode, twin);
    }
    sb_printf(b, "\n");
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Remove what an earlier plot_write into dir left (its figures and data
 * files, by their names), so that no old plot stays beside the new ones.
 * Other files are left alone. */
static void remove_old_plots(const char *dir)
{
    static const char *const figs[] = {"jct_cdf", "alloc_run", "jct_vs_load", "jct_over_seeds"};
    for (int pass = 0; pass < 2; pass++) {
        char path[4200];
        snprintf(path, sizeof path, pass ? "%s/data" : "%s", dir);
        DIR *d = opendir(path);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *s = e->d_name;
            bool old = false;
            if (pass == 0) {
                for (int i = 0; i < 4 && !old; i++)
                    old = strncmp(s, figs[i], strlen(figs[i])) == 0 &&
                          (has_suffix(s, ".png") || has_suffix(s, ".svg"));
            } else {
                old = (strncmp(s, "run", 3) == 0 &&
                       (has_suffix(s, "_jct.dat") || has_suffix(s, "_rounds.dat"))) ||
                      (strncmp(s, "load_", 5) == 0 && has_suffix(s, ".dat")) ||
                      strcmp(s, "seeds.dat") == 0;
            }
            if (old) {
                char f[4500];
                snprintf(f, sizeof f, "%s/%s", path, s);
                unlink(f);
            }
        }
        closedir(d);
    }
}

static bool dir_ok(const char *dir, struct err *err)
{
    if (strchr(dir, '\'') || strchr(dir, '\n')) {
        errprintf(err, "--plot: '%s': directory names with quotes are not supported", dir);
        return false;
    }
    return true;
}

/* What the figures of one plot_write share: the runs, the output directory,
 * plots.gp being written, and a buffer for one figure's body. */
struct plot_ctx {
    store_t *st;
    const struct store_run *runs;
    size_t n;
    const char *dir;
    FILE *gp;
    struct sbuf b;
    size_t *idx; /* n slots for a figure's selection of runs */
    struct err *err;
};

/* Write the figure in c->b as NAME into plots.gp, and empty the buffer. */
static void plot_emit(struct plot_ctx *c, const char *name, int height)
{
    emit(c->gp, name, c->b.s, height);
    c->b.n = 0;
}

/* 1. JCT CDF of every run, when they fit on one plot */
static void plot_cdf_all(struct plot_ctx *c)
{
    const struct store_run *runs = c->runs;
    size_t n = c->n;
    if (n > MAX_CDF_CURVES)
        return;
    for (size_t i = 0; i < n; i++)
        c->idx[i] = i;
    char title[512] = "JCT CDF per run", tn[256];
    bool one_load = true, one_trace = true;
    for (size_t i = 0; i < n; i++) {
        one_load &= runs[i].jobs_per_hour == runs[0].jobs_per_hour && runs[i].gpus == runs[0].gpus;
        one_trace &= strcmp(runs[i].workload, runs[0].workload) == 0 &&
                     runs[i].gpus == runs[0].gpus;
    }
    if (one_trace && trace_name(&runs[0], tn, sizeof tn))
        snprintf(title, sizeof title, "JCT CDF per run: %s (%d GPUs)", tn, runs[0].gpus);
    else if (one_load && runs[0].jobs_per_hour > 0)
        snprintf(title, sizeof title, "JCT CDF per run (%g jobs/h, %d GPUs)",
                 runs[0].jobs_per_hour, runs[0].gpus);
    cdf_plot(&c->b, runs, n, c->idx, n, title, false);
    plot_emit(c, "jct_cdf", 600);
}

/* DIR/data/run<ID>_tenants.dat: time (h), then the GPUs each tenant held
 * (tenants file order), binned as write_rounds does. 0, or -1 with err. */
static int write_tenants(store_t *st, const struct store_run *r, const char *dir, size_t nt,
                         struct err *err)
{
    struct store_round *rounds;
    size_t n;
    if (store_rounds_load(st, r->id, &rounds, &n, err) < 0)
        return -1;
    if (store_round_tenants_load(st, r->id, rounds, n, err) < 0) {
        free(rounds);
        return -1;
    }
    char path[4200];
    FILE *f = run_data_open(dir, r, "tenants", path, sizeof path, err);
    if (!f) {
        free(rounds);
        return -1;
    }
    size_t bin = n > MAX_ALLOC_POINTS ? (n + MAX_ALLOC_POINTS - 1) / MAX_ALLOC_POINTS : 1;
    fprintf(f, "# t_h, then the GPUs each tenant held%s\n",
            bin > 1 ? " (each line the mean of consecutive rounds)" : "");
    for (size_t i = 0; i < n; i += bin) {
        size_t m = n - i < bin ? n - i : bin;
        fprintf(f, "%.4f", rounds[i].t / H);
        for (size_t t = 0; t < nt; t++) {
            double a = 0;
            for (size_t j = i; j < i + m; j++)
                a += t < (size_t)rounds[j].n_tenants ? rounds[j].tenant_held[t] : 0;
            fprintf(f, " %.3f", a / (double)m);
        }
        fputc('\n', f);
    }
    free(rounds);
    if (fclose(f) != 0)
        return errprintf(err, "%s: write failed", path);
    return 0;
}

/* A run with tenants: each tenant's GPUs over time against its quota (a
 * dashed line of the same colour). 0 (nothing for a run without tenants),
 * or -1 with err. */
static int plot_tenants(struct plot_ctx *c, size_t i)
{
    const struct store_run *r = &c->runs[i];
    struct store_tenant *t;
    size_t nt;
    if (store_run_tenants_load(c->st, r->id, &t, &nt, c->err) < 0)
        return -1;
    if (nt > STORE_MAX_ROUND_TENANTS)
        nt = STORE_MAX_ROUND_TENANTS;
    if (nt == 0 || write_tenants(c->st, r, c->dir, nt, c->err) < 0) {
        free(t);
        return nt == 0 ? 0 : -1;
    }
    char label[128];
    report_run_label(c->runs, c->n, i, label, sizeof label);
    sb_printf(&c->b, "set title 'run %lld, %s: GPUs each tenant held (dashed: its quota)'\n"
                     "set grid\nset key outside right top\nset xlabel 'simulated time (hours)'\n"
                     "set ylabel 'GPUs'\nset yrange [0:*]\nset rmargin 22\nplot ",
              (long long)r->id, label);
    for (size_t k = 0; k < nt; k++)
        sb_printf(&c->b, "%s'data/run%lld_tenants.dat' using 1:%zu with lines lw 1.5 lc rgb '%s' "
                         "title '%s', \\\n     %d with lines lw 1 dt 2 lc rgb '%s' notitle",
                  k ? ", \\\n     " : "", (long long)r->id, 2 + k, colors[k % N_COLORS],
                  t[k].name, t[k].quota, colors[k % N_COLORS]);
    sb_printf(&c->b, "\n");
    free(t);
    char name[64];
    snprintf(name, sizeof name, "tenants_run%lld", (long long)r->id);
    plot_emit(c, name, 600);
    return 0;
}

/* 2. allocation vs demand: every run of a small selection; otherwise the
 *    first policy at the highest load of the first group, in each mode */
static int plot_alloc(struct plot_ctx *c)
{
    const struct store_run *runs = c->runs;
    size_t n = c->n, first = 0, plotted = 0;
    for (size_t i = 0; i < n; i++)
        if (same_group(&runs[i], &runs[0], true) && runs[i].jobs_per_hour > runs[first].jobs_per_hour)
            first = i;
    for (size_t i = 0; i < n && plotted < MAX_ALLOC_PLOTS; i++) {
        if (n > MAX_ALLOC_PLOTS && !(same_group(&runs[i], &runs[first], false) &&
                                     strcmp(runs[i].policy, runs[first].policy) == 0))
            continue;
        double max_demand = 0;
        size_t bin = 1;
        struct store_run typed = runs[i]; /* with its GPU types (none untyped) */
        if (store_run_types_load(c->st, &typed, c->err) < 0 ||
            write_rounds(c->st, &typed, c->dir, &max_demand, &bin, c->err) < 0)
            return -1;
        alloc_plot(&c->b, runs, n, i, &typed, max_demand, bin);
        char name[64];
        snprintf(name, sizeof name, "alloc_run%lld", (long long)runs[i].id);
        plot_emit(c, name, 900);
        if (plot_tenants(c, i) < 0)
            return -1;
        plotted++;
    }
    return 0;
}

/* Is runs[i] the first run of its group (same_group), and does the group
 * hold a run that differs from it in load (by_load) or in mode? */
static bool group_first_varied(const struct store_run *runs, size_t n, size_t i, bool by_load)
{
    bool varied = false;
    for (size_t k = 0; k < n; k++) {
        if (!same_group(&runs[k], &runs[i], by_load))
            continue;
        if (k < i)
            return false;
        varied |= by_load ? runs[k].jobs_per_hour != runs[i].jobs_per_hour
                          : strcmp(runs[k].mode, runs[i].mode) != 0;
    }
    return varied;
}

/* 3. avg JCT vs load, per group with at least two loads */
static int plot_vs_load(struct plot_ctx *c)
{
    const struct store_run *runs = c->runs;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) {
        if (!group_first_varied(runs, n, i, true))
            continue;
        int rc = 0;
        load_plot(&c->b, runs, n, i, c->dir, c->err, &rc);
        if (rc < 0)
            return -1;
        char name[256], suffix[200];
        group_suffix(runs, n, i, false, suffix, sizeof suffix);
        snprintf(name, sizeof name, "jct_vs_load%s", suffix);
        plot_emit(c, name, 600);
    }
    return 0;
}

/* 4. JCT CDF by mode, per group and load with at least two modes */
static void plot_by_mode(struct plot_ctx *c)
{
    const struct store_run *runs = c->runs;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) {
        if (!group_first_varied(runs, n, i, false))
            continue;
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (same_group(&runs[k], &runs[i], false))
                c->idx[m++] = k;
        if (m > 12)
            continue;
        if (m == n && n <= MAX_CDF_CURVES)
            continue; /* the same curves as jct_cdf, which is drawn */
        char title[512], name[256], suffix[200], tn[256];
        snprintf(title, sizeof title, "JCT CDF by mode (%g jobs/h, %d GPUs)",
                 runs[i].jobs_per_hour, runs[i].gpus);
        if (trace_name(&runs[i], tn, sizeof tn) && runs[i].jobs_per_hour > 0)
            snprintf(title, sizeof title, "JCT CDF by mode: %s at %g jobs/h (%d GPUs)", tn,
                     runs[i].jobs_per_hour, runs[i].gpus);
        else if (trace_name(&runs[i], tn, sizeof tn) && runs[i].arrival[0])
            snprintf(title, sizeof title, "JCT CDF by mode: %s, arrivals %s (%d GPUs)", tn,
                     runs[i].arrival, runs[i].gpus);
        else if (trace_name(&runs[i], tn, sizeof tn))
            snprintf(title, sizeof title, "JCT CDF by mode: %s (%d GPUs)", tn, runs[i].gpus);
        else if (runs[i].jobs_per_hour <= 0)
            snprintf(title, sizeof title, "JCT CDF by mode (%d GPUs)", runs[i].gpus);
        cdf_plot(&c->b, runs, n, c->idx, m, title, true);
        group_suffix(runs, n, i, runs[i].jobs_per_hour > 0, suffix, sizeof suffix);
        snprintf(name, sizeof name, "jct_cdf_by_mode%s", suffix);
        plot_emit(c, name, 600);
    }
}

/* 5. runs repeated over seeds: mean avg JCT with its 95% confidence interval */
static int plot_seeds(struct plot_ctx *c)
{
    struct report_seed_group *sg;
    size_t nsg = report_seed_groups(c->runs, c->n, &sg);
    if (nsg == 0)
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/data/seeds.dat", c->dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        errprintf(c->err, "%s: %s", path, strerror(errno));
        report_seed_groups_free(sg, nsg);
        return -1;
    }
    fprintf(f, "# group mean_avg_jct_h ci95_half_h label\n");
    for (size_t i = 0; i < nsg; i++)
        fprintf(f, "%zu %.6f %.6f \"%s (%zu seeds)\"\n", i + 1, sg[i].mean[0], sg[i].half[0],
                sg[i].label, sg[i].n);
    fclose(f);
    sb_printf(&c->b, "set title 'average JCT over seeds: mean and 95%% confidence interval'\n"
                     "set ylabel 'average JCT (hours)'\nset grid ytics\nset xtics rotate by -35\n"
                     "set xrange [0.5:%zu.5]\nset yrange [0:*]\nset bmargin 9\n"
                     "plot 'data/seeds.dat' using 1:2:3:xtic(4) with yerrorbars pt 7 ps 1.2 "
                     "lw 2 title 'mean +- 95%% CI'\n",
              nsg);
    plot_emit(c, "jct_over_seeds", 650);
    report_seed_groups_free(sg, nsg);
    return 0;
}

/* Every figure's data files and its part of plots.gp. */
static int plot_figures(struct plot_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (write_cdf(c->st, &c->runs[i], c->dir, c->err) < 0)
            return -1;
    plot_cdf_all(c);
    if (plot_alloc(c) < 0 || plot_vs_load(c) < 0)
        return -1;
    plot_by_mode(c);
    return plot_seeds(c);
}

/* Run gnuplot on DIR/plots.gp; its last words name the error. */
static int run_gnuplot(const char *dir, const char *script, struct err *err)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot plots.gp 2>&1", dir);
    FILE *p = popen(cmd, "r");
    char line[512], first_line[512] = "";
    while (p && fgets(line, sizeof line, p))
        if (line[strspn(line, " \t\n^")])
            snprintf(first_line, sizeof first_line, "%s", line);
    int status = p ? pclose(p) : -1;
    if (status == 0)
        return 0;
    first_line[strcspn(first_line, "\n")] = '\0';
    return errprintf(err, "gnuplot failed on %s%s%s (is gnuplot-nox installed?)", script,
                     first_line[0] ? ": " : "", first_line);
}

int plot_write(store_t *st, const struct store_filter *f, const char *dir, struct err *err)
{
    if (!dir_ok(dir, err))
        return -1;
    char data_dir[4200];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    if (report_mkdirs(data_dir, err) < 0)
        return -1;
    remove_old_plots(dir);
    struct store_run *runs;
    size_t n;
    if (store_runs_select(st, f, &runs, &n, err) < 0)
        return -1;
    if (n == 0) {
        store_runs_free(runs, n);
        return errprintf(err, "nothing to plot: no complete runs selected");
    }
    int rc = -1;
    char script[4200];
    snprintf(script, sizeof script, "%s/plots.gp", dir);
    FILE *gp = fopen(script, "w");
    if (!gp) {
        errprintf(err, "%s: %s", script, strerror(errno));
        store_runs_free(runs, n);
        return -1;
    }
    fprintf(gp, "# Written by synergy; run `gnuplot plots.gp` in this directory to redraw.\n");
    struct plot_ctx c = {.st = st, .runs = runs, .n = n, .dir = dir, .gp = gp,
                         .idx = xcalloc(n, sizeof(size_t)), .err = err};
    rc = plot_figures(&c);
    free(c.b.s);
    free(c.idx);
    if (fclose(gp) != 0 && rc == 0)
        rc = errprintf(err, "%s: write failed", script);
    if (rc == 0)
        rc = run_gnuplot(dir, script, err);
    store_runs_free(runs, n);
    return rc;
}
