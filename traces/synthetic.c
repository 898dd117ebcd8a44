/*
 * The reference's synthetic workload (workload.py + helpers/utils.py, spec
 * §3.3), bit-exact: Poisson inter-arrivals rounded up to whole seconds, a
 * "Gavel-like" duration (80% short, 20% long), 1/2/4/8 GPUs with 70/10/15/5%,
 * a discarded randint draw, and models assigned by class split: the task
 * furthest below its target share gets the next model of its round-robin.
 *
 * The reference generates job k while it handles job k-1's arrival, after
 * counting job k-1 as arrived, so the model counts seen by job k are those of
 * jobs 0..k-1: the stream does not depend on the scheduling.
 */
#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct synth {
    struct synth_params p;
    long tenant_jobs[TENANT_MIX_MAX];
    const model_zoo_t *zoo;
    struct pyrandom rng;
    long generated;
    struct model_assigner assign;
};

void synth_params_defaults(struct synth_params *p)
{
    *p = (struct synth_params){0}; /* no tenant mix, and whatever is added later unset */
    p->jobs_per_hour = 9;
    p->split[TASK_IMAGE] = 20;
    p->split[TASK_LANGUAGE] = 70;
    p->split[TASK_SPEECH] = 10;
    p->seed = 42;
}

synth_t *synth_create(const model_zoo_t *zoo, const struct synth_params *p, struct err *err)
{
    if (!(p->jobs_per_hour > 0) || !isfinite(p->jobs_per_hour)) {
        errprintf(err, "jobs per hour must be a positive number");
        return NULL;
    }
    int sum = 0;
    for (int t = 0; t < TASK_COUNT; t++) {
        if (p->split[t] < 0) {
            errprintf(err, "class split percentages must not be negative");
            return NULL;
        }
        sum += p->split[t];
    }
    if (sum != 100) {
        errprintf(err, "class split must add up to 100, not %d", sum);
        return NULL;
    }
    if (p->max_jobs < 0) {
        errprintf(err, "max jobs must not be negative");
        return NULL;
    }
    synth_t *g = xcalloc(1, sizeof *g);
    g->p = *p;
    g->zoo = zoo;
    pyrandom_seed(&g->rng, p->seed);
    model_assigner_init(&g->assign, zoo, p->split);
    return g;
}

void synth_destroy(synth_t *g)
{
    free(g);
}

int synth_next(synth_t *g, double now, struct job_spec *out)
{
    if (g->p.max_jobs > 0 && g->generated >= g->p.max_jobs)
        return -1;
    struct pyrandom *r = &g->rng;

    double u = pyrandom_random(r);
    double h = -log(1.0 - u) / g->p.jobs_per_hour;
    double ia = ceil((h * 60) * 60);
    double arrival = now + ia;
    if (g->p.arrivals && arrival_next(g->p.arrivals, now, &arrival) < 0)
        return -1;

    double dur;
    if (pyrandom_random(r) >= 0.8)
        dur = 60 * pow(10.0, pyrandom_uniform(r, 3, 4));
    else
        dur = 60 * pow(10.0, pyrandom_uniform(r, 1.5, 3));

    double v = pyrandom_uniform(r, 0, 1);
    int gpus = v >= 0.95 ? 8 : v >= 0.8 ? 4 : v >= 0.7 ? 2 : 1;

    (void)pyrandom_randbelow(r, 10); /* model_zoo.py draws a class id and ignores it */

    const struct model_profile *m = model_assigner_next(&g->assign);

    memset(out, 0, sizeof *out);
    out->id = (int)g->generated;
    snprintf(out->model, sizeof out->model, "%s", m->name);
    out->arrival = arrival;
    out->iterations = (long)(dur / m->iter_time);
    out->gpus = gpus;
    const struct tenant_mix *mx = &g->p.tenants;
    if (mx->n > 0) {
        int best = 0;
        double best_d = 0;
        for (int i = 0; i < mx->n; i++) {
            double d = mx->pct[i] * (double)(g->generated + 1) / 100 - (double)g->tenant_jobs[i];
            if (i == 0 || d > best_d) {
                best = i;
                best_d = d;
            }
        }
        g->tenant_jobs[best]++;
        snprintf(out->tenant, sizeof out->tenant, "%s", mx->names[best]);
    }
    g->generated++;
    return 0;
}

int tenant_mix_parse(const char *s, struct tenant_mix *out, struct err *err)
{
    char buf[1024];
    if (strlen(s) >= sizeof buf)
        return errprintf(err, "--tenant-mix: too long");
    snprintf(buf, sizeof buf, "%s", s);
    memset(out, 0, sizeof *out);
    int sum = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        long pct;
        if (!colon)
            return errprintf(err, "--tenant-mix: '%s' must be TENANT:PERCENT", str_trim(tok));
        *colon = '\0';
        char *name = str_trim(tok);
        if (!trace_tenant_name_ok(name))
            return errprintf(err, "--tenant-mix: '%s' must be 1 to 31 letters, digits, '-', '_', "
                                  "'.' or '@'", name);
        if (parse_long(colon + 1, &pct) < 0 || pct < 0 || pct > 100)
            return errprintf(err, "--tenant-mix: %s: '%s' must be a percentage 0..100", name,
                             str_trim(colon + 1));
        for (int i = 0; i < out->n; i++)
            if (strcmp(out->names[i], name) == 0)
                return errprintf(err, "--tenant-mix: tenant %s is given twice", name);
        if (out->n == TENANT_MIX_MAX)
            return errprintf(err, "--tenant-mix: at most %d tenants", TENANT_MIX_MAX);
        snprintf(out->names[out->n], sizeof out->names[0], "%s", name);
        out->pct[out->n++] = (int)pct;
        sum += (int)pct;
    }
    if (out->n == 0 || sum != 100)
        return errprintf(err, "--tenant-mix: the percentages add up to %d, not 100", sum);
    return 0;
}
