/*
 * Model assignment by class split (the reference's ModelZoo.get_job_class with
 * ModelAssignment.OVERALL, model_zoo.py:90-151). The task whose share of the
 * jobs so far is furthest below its target percentage gets the job; within a
 * task, models go round-robin in the zoo's order. The synthetic generator and
 * the Philly/Pollux importers share it, so a trace with no model names gets
 * the same mix the reference's synthetic workload has.
 */
#include "trace.h"

#include <string.h>

void model_assigner_init(struct model_assigner *a, const model_zoo_t *zoo,
                         const int split[TASK_COUNT])
{
    memset(a, 0, sizeof *a);
    a->zoo = zoo;
    memcpy(a->split, split, sizeof a->split);
}

const struct model_profile *model_assigner_next(struct model_assigner *a)
{
    /* stable descending sort by priority = first maximum */
    int best = 0;
    for (int t = 1; t < TASK_COUNT; t++)
        if (a->priority[t] > a->priority[best])
            best = t;
    const struct model_profile *const *models;
    size_t n = model_zoo_task_models(a->zoo, (enum model_task)best, &models);
    const struct model_profile *m = models[a->next_model[best] % n];
    a->next_model[best]++;
    /* the reference counts the job when it arrives (add_runnable_job ->
     * update_priorities); the next assignment sees it */
    a->task_jobs[m->task]++;
    a->assigned++;
    for (int k = 0; k < TASK_COUNT; k++)
        a->priority[k] = a->split[k] / 100.0 - (double)a->task_jobs[k] / (double)a->assigned;
    return m;
}
