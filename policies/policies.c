/*
 * The scheduling policies of the Synergy reference (schedulers/ directory), each a
 * sort key over (-priority, metric, arrival). Keys use the job's speedup as
 * the previous round left it, as the reference does (spec §12.5). A key reads
 * the job through the scheduler's derived quantities (sched_job_remaining_s,
 * sched_job_service, ...), never its raw iteration time, GPUs or speedup. Every
 * arithmetic expression keeps the reference's operation order so that ties and
 * near-ties break the same way.
 */
#include "policies.h"

#include <stddef.h>

static void fifo_key(const struct sched_view *v, const struct job *j, double k[3])
{
    k[0] = 0;
    k[1] = j->arrival;
    k[2] = 0;
}

static void srtf_key(const struct sched_view *v, const struct job *j, double k[3])
{
    k[0] = -j->priority;
    k[1] = sched_job_remaining_s(v, j);
    k[2] = j->arrival;
}

static void las_key(const struct sched_view *v, const struct job *j, double k[3])
{
    k[0] = -j->priority;
    k[1] = sched_job_service(v, j);
    k[2] = j->arrival;
}

static void ftf_key(const struct sched_view *v, const struct job *j, double k[3])
{
    k[0] = -j->priority;
    k[1] = (v->now - j->arrival + sched_job_remaining_s(v, j)) /
           sched_job_ideal_s(v, j);
    k[2] = j->arrival;
}

static void drf_key(const struct sched_view *v, const struct job *j, double k[3])
{
    double g = sched_job_gpus(j) / v->total_gpus, c = j->cpu_demand / v->total_cpus,
           m = j->mem_demand / v->total_mem;
    double dom = g;
    if (c > dom)
        dom = c;
    if (m > dom)
        dom = m;
    k[0] = -j->priority;
    k[1] = dom;
    k[2] = j->arrival;
}

/* Reference get_remaining_weighted_duration: the unmet demand vector (the full
 * demand at sort time), normalised by the cluster, weighted by remaining time. */
static void tetris_key(const struct sched_view *v, const struct job *j, double k[3])
{
    double dur = sched_job_remaining_s(v, j);
    double dg = sched_job_gpus(j) - j->n_alloc, dc = j->cpu_demand - j->cpus, dm = j->mem_demand - j->mem;
    double sum = 0;
    sum += dg / v->total_gpus * dur;
    sum += dc / v->total_cpus * dur;
    sum += dm / v->total_mem * dur;
    k[0] = -j->priority;
    k[1] = sum;
    k[2] = j->arrival;
}

/* SRSF: shortest remaining service (GPU-seconds) first. The reference class
 * cannot be constructed (spec §12.11); this is its documented key, with the
 * remaining time at the current speed as SRTF uses it. */
static void srsf_key(const struct sched_view *v, const struct job *j, double k[3])
{
    k[0] = -j->priority;
    k[1] = sched_job_remaining_s(v, j) * sched_job_gpus(j);
    k[2] = j->arrival;
}

static const struct sched_policy_ops fifo = {
    .name = "FIFO", .summary = "first in, first out: jobs run in the order they arrived", .key = fifo_key};
static const struct sched_policy_ops srtf = {
    .name = "SRTF", .summary = "shortest remaining time first: the job with the least time left at its "
                "current speed runs first", .key = srtf_key};
static const struct sched_policy_ops las = {
    .name = "LAS",
    .summary = "least attained service: the job that has had the fewest GPU-seconds "
               "runs first; no CPU-aware backfill",
    .key = las_key,
    .place_round_jobs_only = true,
    .tune_largest_first = true};
static const struct sched_policy_ops ftf = {
    .name = "FTF",
    .summary = "finish-time fairness (Themis): smallest (time since arrival + time "
               "left) / time it would take alone first",
    .key = ftf_key,
    .key_grows_with_now = true};
static const struct sched_policy_ops drf = {
    .name = "DRF", .summary = "dominant resource fairness: the job whose largest share of the "
                "cluster's GPUs, CPUs or memory is smallest runs first", .key = drf_key};
static const struct sched_policy_ops tetris = {
    .name = "TETRIS", .summary = "Tetris packing: smallest unmet GPU, CPU and memory "
                "demand (shares of the cluster), weighted by time left, first", .key = tetris_key};
static const struct sched_policy_ops srsf = {
    .name = "SRSF", .summary = "shortest remaining service: the least GPU-time left (time "
                "left x GPUs) first", .key = srsf_key};

const struct sched_policy_ops *const sched_policies[] = {&fifo, &srtf, &las,  &ftf,
                                                         &drf,  &tetris, &srsf, NULL};

const struct sched_policy_ops *policy_find(const char *name)
{
    for (size_t i = 0; sched_policies[i]; i++)
        if (str_ieq(sched_policies[i]->name, name))
            return sched_policies[i];
    return NULL;
}
