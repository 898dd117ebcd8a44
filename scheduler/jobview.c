/*
 * What a policy sees of a job (scheduler.h, "What a policy reads"): its
 * remaining time, ideal time, GPUs and attained service as functions of the
 * scheduler's view. The expressions keep the reference's operation order, so
 * that on an untyped cluster every key is bit for bit the reference's.
 */
#include "scheduler.h"

int sched_job_gpus(const struct job *j)
{
    return j->gpus;
}

double sched_job_remaining_s(const struct sched_view *v, const struct job *j)
{
    long rem = j->total_iters - j->executed;
    if (v->fair)
        return j->iter_time * (double)rem;
    return j->iter_time * (double)rem / j->speedup;
}

double sched_job_ideal_s(const struct sched_view *v, const struct job *j)
{
    (void)v;
    return j->iter_time * (double)j->total_iters;
}

double sched_job_service(const struct sched_view *v, const struct job *j)
{
    (void)v;
    return j->service * j->gpus;
}
