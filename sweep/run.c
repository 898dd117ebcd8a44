/*
 * sweep: one point of a grid, run: the loader's options for its trace, its
 * scheduler parameters, a simulation of its workload, and the run recorded
 * in the grid's results database (inserted as 'running' first, so a run
 * that dies stays visible as incomplete). `synergy sweep` calls it in one
 * forked worker per point.
 */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policies.h"
#include "results.h"
#include "sim.h"
#include "store.h"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The model files of the grid as the loader's options (they borrow buf,
 * which must be as large as g->models). */
void sweep_model_opts(const struct sweep_grid *g, struct wl_opts *o, char *buf)
{
    wl_opts_init(o);
    strcpy(buf, g->models);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && o->n_model_files < WL_MAX_MODEL_FILES;
         t = strtok_r(NULL, ",", &save))
        o->model_files[o->n_model_files++] = str_trim(t);
    o->profiles_dir = g->profiles_dir[0] ? g->profiles_dir : NULL;
    o->unknown_reference = g->unknown_reference;
}

/* The loader's options for point p's trace: the grid's trace options, the
 * point's seed and split, and at a load L a Poisson re-timing at L jobs/h.
 * arrival_buf holds the spec (the options borrow it). */
void sweep_point_wl_opts(const struct sweep_grid *g, const struct sweep_cluster *env,
                         const struct sweep_point *p, struct wl_opts *o, char *arrival_buf,
                         size_t n)
{
    wl_opts_init(o);
    o->trace_path = g->trace;
    o->fmt = g->trace_format[0] ? trace_format_find(g->trace_format) : NULL;
    if (g->n_loads) {
        snprintf(arrival_buf, n, "poisson:%.17g", g->loads[p->load]);
        o->arrival = arrival_buf;
    } else if (g->arrival[0]) {
        o->arrival = g->arrival;
    }
    o->vc = g->vc[0] ? g->vc : NULL;
    o->fmt_given = g->trace_format[0] != '\0';
    o->philly_flag = g->multigpu             ? "multigpu"
                     : g->philly_arrival     ? "philly_arrival"
                     : g->per_attempt        ? "per_attempt"
                     : g->strict             ? "strict"
                     : g->no_duration_filter ? "no_duration_filter"
                                             : NULL;
    o->philly.multigpu = g->multigpu;
    o->philly.philly_arrival = g->philly_arrival;
    o->philly.per_attempt = g->per_attempt;
    o->philly.strict = g->strict;
    if (g->no_duration_filter)
        o->philly.max_duration = 0;
    o->synth.jobs_per_hour = env->conf.jobs_per_hour;
    memcpy(o->synth.split, g->n_splits ? g->splits[p->split] : env->conf.split,
           sizeof o->synth.split);
    o->synth.seed = (uint64_t)(g->n_seeds ? g->seeds[p->seed] : env->conf.seed);
    o->synth.max_jobs = g->max_jobs;
    o->quiet = true;
    o->unknown_reference = g->unknown_reference;
}

int sweep_point_run(const struct sweep_grid *g, const struct sweep_cluster *env,
                    const struct sweep_point *p, int64_t batch, const char *grid_id,
                    const char *models_desc, struct sweep_point_result *out, struct err *err)
{
    int ok = 0;
    store_t *st = NULL;
    struct synth_params synth;
    synth_params_defaults(&synth);
    synth.jobs_per_hour = g->n_loads ? g->loads[p->load] : env->conf.jobs_per_hour;
    memcpy(synth.split, g->n_splits ? g->splits[p->split] : env->conf.split, sizeof synth.split);
    synth.seed = (uint64_t)(g->n_seeds ? g->seeds[p->seed] : env->conf.seed);
    synth.max_jobs = g->max_jobs;
    const char *placement = g->placement[0] ? g->placement : env->conf.placement;
    const char *profiles = g->profiles[0] ? g->profiles : env->conf.profiles;
    struct job_spec *specs = NULL;
    size_t n_specs = 0;
    struct wl_opts wl;
    char arrival[64];
    sweep_point_wl_opts(g, env, p, &wl, arrival, sizeof arrival);

    struct sim_config cfg = {0};
    struct sched_overrides ov = {.policy = g->policies[p->policy],
                                 .mode = g->modes[p->mode],
                                 .placement = placement,
                                 .hetero = g->hetero[0] ? g->hetero : NULL,
                                 .round_duration = g->round_duration,
                                 .opt_compat = g->opt_compat,
                                 .opt_time_limit_s = g->opt_time_limit};
    if (sched_params_build(&env->conf, &ov, sched_policies, &cfg.sched, err) < 0)
        return -1;
    cfg.zoo = env->zoo;
    cfg.is_static = g->is_static;
    cfg.stop_on_gap = g->stop_on_gap;
    cfg.measure_lo = g->measure_lo;
    cfg.measure_hi = g->measure_hi;
    cfg.check_invariants = g->check;
    struct results_rounds rounds = {0};
    cfg.obs.ctx = &rounds;
    cfg.obs.on_sample = results_rounds_add;

    struct store_run run = {.batch_id = batch, .point = p->index};
    snprintf(run.grid, sizeof run.grid, "%s", grid_id);
    results_run_describe(&run, &cfg, g->trace[0] ? g->trace : NULL, &synth, g->clusters[p->cluster],
                         models_desc, profiles, placement);
    if (g->trace[0] && wl.arrival) {
        snprintf(run.arrival, sizeof run.arrival, "%s", wl.arrival);
        if (g->n_loads)
            run.jobs_per_hour = g->loads[p->load]; /* the load axis, re-timing the trace */
    }
    st = store_open(g->db, err);
    if (!st || store_run_insert(st, &run, err) < 0)
        goto done;
    out->run_id = run.id;
    if (g->trace[0] && wl_load(&wl, env->zoo, &specs, &n_specs, err) < 0) {
        store_run_abandon(st, run.id, NULL);
        goto done;
    }
    struct sim_workload w = {specs, n_specs, NULL};
    if (!g->trace[0] && !(w.synth = synth_create(env->zoo, &synth, err)))
        goto done;
    struct sched_result res;
    double t0 = mono_now();
    int rc = sim_run(&cfg, &w, &res, err);
    double wall = mono_now() - t0;
    synth_destroy(w.synth);
    if (rc < 0) {
        store_run_abandon(st, run.id, NULL);
        goto done;
    }
    rc = results_run_complete(st, &run, &res, &rounds, wall, err);
    out->avg_jct_s = res.avg_jct_s;
    out->wall_s = wall;
    sched_result_free(&res);
    ok = rc == 0;
done:
    store_close(st);
    results_rounds_free(&rounds);
    free(run.cluster_ini);
    free(specs);
    return ok ? 0 : -1;
}
