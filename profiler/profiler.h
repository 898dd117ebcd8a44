/*
 * profiler: Synergy's optimistic profiler (spec reference-deployment §4). The
 * CPU axis is measured: the job runs on this machine through the worker's own
 * launch path (a `synergy worker` the profiler starts and drives like a
 * scheduler: RunJob with GPUs, a CPU count, a memory limit and the SYNERGY_*
 * environment), for the CPU counts of the reference's search, and reports its
 * seconds per iteration itself over JobToScheduler (the profiler serves it).
 * The memory axis is modelled: a cache fraction f of the dataset D is read at
 * memory bandwidth, the rest from disk, and an epoch takes
 *     max(compute time at c CPUs, f D / mem_bw + (1 - f) D / disk_bw).
 * The result is a models.ini profile section (docs/profiles.md) and a gnuplot
 * plot. model.c holds the pure arithmetic (unit tested); bench.c the bandwidth
 * benchmarks; run.c the measurement; write.c the outputs.
 */
#ifndef SYNERGY_PROFILER_H
#define SYNERGY_PROFILER_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "scheduler.h"

#define PROF_MAX_POINTS 64

/* Measured seconds per iteration at a CPU count (for the job's GPU count). */
struct prof_point {
    int cpus;
    double s_per_iter;
};

/* The measured CPU curve, any order. */
struct prof_curve {
    struct prof_point p[PROF_MAX_POINTS];
    int n;
};

/* The reference's search: the next CPU count to measure after `c`, whose
 * point took t_cur seconds per iteration, the one before t_prev (the first
 * point passes t_prev = t_cur, as the reference repeats it as warm-up). Within
 * 10 % of the previous point: halve; otherwise step down by the GPU count.
 * Returns < 1 when the search is over. */
int prof_search_next(int c, int gpus, double t_prev, double t_cur);

/* Seconds per iteration at c CPUs (c > 0, fractional allowed) from the curve:
 * linear between measured points; above the largest count, its time (no gain
 * assumed beyond what was seen); below the smallest, perfect scaling from it
 * (t_min * c_min / c). 0 for an empty curve. */
double prof_curve_eval(const struct prof_curve *cv, double c);

/* The memory model: an epoch's time when the compute alone takes compute_s,
 * a fraction m (clamped to 0..1) of a D GB dataset is cached (read at mem_bw
 * GB/s) and the rest is read from disk (disk_bw GB/s):
 * max(compute_s, m D / mem_bw + (1 - m) D / disk_bw). A zero bandwidth with
 * bytes to read through it, or D <= 0, leaves the compute time. */
double prof_epoch_time(double compute_s, double m, double dataset_gb, double mem_bw, double disk_bw);

/* Cache fraction of a job with mem_gb of memory and a D GB dataset (1 when D <= 0). */
double prof_cache_fraction(double mem_gb, double dataset_gb);

/* The measured facts a profile is built from. */
struct prof_facts {
    int gpus;
    struct prof_curve curve;
    double dataset_gb;      /* 0: no data directory */
    double mem_bw_gbs, disk_bw_gbs;
    long epoch_iters;       /* iterations per epoch (> 0) */
    double startup_s, checkpoint_s;
};

/* Build the per-GPU profile: iter_time at the fair share (3 CPUs, 62.5 GB per
 * GPU), the tput matrix over the reference's CPU rows x memory columns, and the
 * ideal (cpus, mem) = the smallest CPU row, then memory column, within 3 % of
 * the best throughput, with speedup = its throughput (1 and the fair share
 * when it is not above the fair share). name, batch as given. */
void prof_build_profile(const struct prof_facts *f, const char *name, int batch,
                        struct model_profile *out);

/* Epoch seconds at c CPUs (for the job) and mem_gb_per_gpu GB per GPU. */
double prof_epoch_at(const struct prof_facts *f, double c, double mem_gb_per_gpu);

/* ---------------------------------------------------------- benchmarks */

/* Memory bandwidth in GB/s: `threads` threads each copy their own buffer of
 * mb_per_thread MB `passes` times (bytes copied per second, all threads).
 * 0 on an allocation failure. */
double prof_mem_bandwidth(int threads, int mb_per_thread, int passes);
/* Disk read bandwidth in GB/s: read the largest regular file under dir
 * (after asking the kernel to drop its cached pages). 0 and err when the
 * directory has no readable file. *file gets its path (may be NULL). */
double prof_disk_bandwidth(const char *dir, char *file, size_t n, struct err *err);
/* Total GB and count of the regular files under dir. -1 with err. */
int prof_dataset_size(const char *dir, double *gb, long *files, struct err *err);

/* ---------------------------------------------------------- measurement */

struct prof_options {
    const char *synergy_path; /* the synergy binary (runs `synergy worker`) */
    const char *catalog;      /* the worker's catalog */
    const char *model;        /* catalog model to profile */
    int gpus;
    int max_cpus;             /* first point (default: the CPUs we may use) */
    double mem_gb;            /* memory limit of the job (<= 0: none) */
    bool real_gpus;           /* do not simulate GPUs in the worker */
    const char *run_dir;      /* the worker's run directory */
    int batch;
    int steps;                /* steps per report (per "round") */
    int warmup;               /* reports discarded per point */
    int reports;              /* reports measured per point */
    double timeout_s;         /* per point */
    bool verbose;
};

/* Run the CPU search. Fills f->curve, f->startup_s, f->checkpoint_s and
 * f->gpus. 0, or -1 with err (the worker or the job failed, a timeout). */
int prof_measure(const struct prof_options *o, struct prof_facts *f, struct err *err);

/* ---------------------------------------------------------- outputs */

/* Write the profile as a models.ini section [<name>:1] (with the facts as
 * informational keys) into `path`, atomically, replacing the file. 0 or -1
 * with err. */
int prof_write_profile(const char *path, const struct model_profile *m,
                       const struct prof_facts *f, struct err *err);
/* Write <dir>/<name>-profile.dat, .gp and, when gnuplot runs, .png: seconds
 * per iteration vs CPUs (measured and modelled) and epoch time vs memory per
 * GPU at each measured CPU count. 0 or -1 with err (gnuplot missing is not an
 * error: *drawn says whether the PNG exists). */
int prof_write_plot(const char *dir, const char *name, const struct prof_facts *f, bool *drawn,
                    struct err *err);

#endif
