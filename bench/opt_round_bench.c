/*
 * opt_round_bench: CPU time of one scheduling round with 200 queued jobs on
 * the 128-GPU default cluster, for OPT (GLPK) and, for scale, TUNE. CPU time,
 * not wall time: the bench runs on a shared machine, and OPT's solver limits
 * count work (nodes, iterations), so its CPU time per round is what a round
 * costs on an idle machine.
 * Each trial draws a fresh queue the way the synthetic workload does (task
 * split 20/70/10, 1/2/4/8 GPUs at 70/10/15/5 %, a fixed LCG seed per trial),
 * plans one round from an empty cluster with FIFO, and times sched_round().
 * Prints one line per mode: trials, mean, p50, p95, max (ms), and OPT's
 * counters (fallbacks to TUNE, jobs lowered by the rounding, MILP packings,
 * rounds the wall-clock safety cap cut short).
 *   usage: opt_round_bench [CLUSTER_INI [MODELS_INI [TRIALS [QUEUE]]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policies.h"
#include "scheduler.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned long long lcg;

static double rnd(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_mode(const char *mode, const struct synergy_config *conf, const model_zoo_t *zoo,
                    int trials, int queue)
{
    double *ms = malloc(sizeof *ms * (size_t)trials);
    struct job **jobs = malloc(sizeof *jobs * (size_t)queue);
    struct sched_opt_stats st = {0};
    size_t placed_sum = 0;
    for (int t = 0; t < trials; t++) {
        struct sched_params p = {0};
        p.cluster = conf->cluster;
        p.policy = policy_find("FIFO");
        p.mode = sched_mode_find(mode);
        p.round_duration = 300;
        p.starvation_s = 1000 * 3600.0;
        struct err err = {{0}};
        sched_t *s = sched_create(&p, &err);
        if (!s) {
            fprintf(stderr, "opt_round_bench: %s\n", err.msg);
            return -1;
        }
        lcg = 1000003ULL * (unsigned long long)(t + 1);
        for (int i = 0; i < queue; i++) {
            double u = rnd() * 100;
            enum model_task task = u < 20 ? TASK_IMAGE : u < 90 ? TASK_LANGUAGE : TASK_SPEECH;
            const struct model_profile *const *ms_task;
            size_t nm = model_zoo_task_models(zoo, task, &ms_task);
            const struct model_profile *m = ms_task[(size_t)(rnd() * (double)nm) % nm];
            double v = rnd() * 100;
            int g = v < 70 ? 1 : v < 80 ? 2 : v < 95 ? 4 : 8;
            struct job_spec spec = {.id = i, .arrival = i, .iterations = 1000000, .gpus = g};
            snprintf(spec.model, sizeof spec.model, "%s", m->name);
            jobs[i] = job_create(s, &spec, m, i, &err);
            sched_job_add(s, jobs[i]);
        }
        struct job **placed;
        size_t n;
        double t0 = cpu_s();
        sched_round(s, 0, &placed, &n);
        ms[t] = (cpu_s() - t0) * 1000;
        placed_sum += n;
        if (sched_round_error(s, &err) < 0 || sched_check_invariants(s, &err) < 0) {
            fprintf(stderr, "opt_round_bench: %s\n", err.msg);
            return -1;
        }
        struct sched_opt_stats one;
        sched_opt_stats(s, &one);
        st.fallbacks += one.fallbacks;
        st.lowered += one.lowered;
        st.packed += one.packed;
        st.capped += one.capped;
        for (int i = 0; i < queue; i++)
            job_destroy(jobs[i]);
        sched_destroy(s);
    }
    double sum = 0;
    for (int t = 0; t < trials; t++)
        sum += ms[t];
    qsort(ms, (size_t)trials, sizeof *ms, dbl_cmp);
    printf("%-5s %6d %8d %9.1f %10.2f %9.2f %9.2f %9.2f %9ld %8ld %7ld %7ld\n", mode, trials,
           queue, (double)placed_sum / trials, sum / trials, ms[trials / 2],
           ms[(trials * 95) / 100], ms[trials - 1], st.fallbacks, st.lowered, st.packed,
           st.capped);
    free(ms);
    free(jobs);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cluster = argc > 1 ? argv[1] : "configs/default_cluster.ini";
    const char *models = argc > 2 ? argv[2] : "configs/models.ini";
    int trials = argc > 3 ? atoi(argv[3]) : 20;
    int queue = argc > 4 ? atoi(argv[4]) : 200;
    if (trials < 1 || queue < 1) {
        fprintf(stderr, "usage: opt_round_bench [CLUSTER_INI [MODELS_INI [TRIALS [QUEUE]]]]\n");
        return 2;
    }
    struct err err = {{0}};
    struct synergy_config conf;
    synergy_config_defaults(&conf);
    if (synergy_config_load(cluster, &conf, &err) < 0) {
        fprintf(stderr, "opt_round_bench: %s\n", err.msg);
        return 2;
    }
    model_zoo_t *zoo = model_zoo_load(models, NULL, &err);
    if (!zoo) {
        fprintf(stderr, "opt_round_bench: %s\n", err.msg);
        return 2;
    }
    printf("%-5s %6s %8s %9s %10s %9s %9s %9s %9s %8s %7s %7s\n", "mode", "trials", "queued",
           "placed", "cpu ms", "p50 ms", "p95 ms", "max ms", "fallback", "lowered", "packed",
           "capped");
    int rc = run_mode("tune", &conf, zoo, trials, queue) || run_mode("opt", &conf, zoo, trials, queue);
    model_zoo_destroy(zoo);
    return rc ? 1 : 0;
}
