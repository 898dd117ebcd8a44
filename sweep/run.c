/*
 * sweep: one run simulated into a results database (sweep_run_one: inserted
 * as 'running' first, so a run that dies stays visible as incomplete), for
 * `simulate --db` and every sweep point; and one point of a grid, run: the
 * loader's options for its trace, its scheduler parameters and its workload.
 * `synergy sweep` calls sweep_point_run in one forked worker per point.
 */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

#include "policies.h"
#include "results.h"
#include "sim.h"
#include "store.h"

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

/* The run's observers: the store's round samples, then the caller's. */
struct run_obs {
    struct results_rounds rounds;
    struct sim_observer inner;
};

static void obs_sample(void *ctx, const struct sched_round_sample *smp)
{
    struct run_obs *o = ctx;
    results_rounds_add(&o->rounds, smp);
    if (o->inner.on_sample)
        o->inner.on_sample(o->inner.ctx, smp);
}

static void obs_arrival(void *ctx, const struct job_spec *spec)
{
    struct run_obs *o = ctx;
    o->inner.on_arrival(o->inner.ctx, spec);
}

static void obs_finish(void *ctx, const struct job *j, bool measured)
{
    struct run_obs *o = ctx;
    o->inner.on_finish(o->inner.ctx, j, measured);
}

static void obs_plan(void *ctx, double now, struct job *const *placed, size_t n)
{
    struct run_obs *o = ctx;
    o->inner.on_plan(o->inner.ctx, now, placed, n);
}

int sweep_run_one(store_t *st, struct store_run *run, const struct sim_config *cfg,
                  const struct sim_workload *w, struct sched_result *res, double *wall_s,
                  struct err *err)
{
    struct sim_config c = *cfg;
    struct run_obs o = {.inner = cfg->obs};
    if (st) {
        c.obs = (struct sim_observer){
            .ctx = &o,
            .on_sample = obs_sample,
            .on_arrival = o.inner.on_arrival ? obs_arrival : NULL,
            .on_finish = o.inner.on_finish ? obs_finish : NULL,
            .on_plan = o.inner.on_plan ? obs_plan : NULL,
        };
        if (store_run_insert(st, run, err) < 0)
            return -1;
    }
    double t0 = mono_s();
    int rc = sim_run(&c, w, res, err);
    *wall_s = mono_s() - t0;
    if (st && rc < 0) {
        store_run_abandon(st, run->id, NULL);
    } else if (st && results_run_complete(st, run, res, &o.rounds, *wall_s, err) < 0) {
        sched_result_free(res);
        rc = -1;
    }
    results_rounds_free(&o.rounds);
    return rc;
}

int sweep_point_run(const struct sweep_grid *g, const struct sweep_cluster *env,
                    const struct sweep_point *p, int64_t batch, const char *grid_id,
                    const char *models_desc, struct sweep_point_msg *out, struct err *err)
{
    struct synth_params synth;
    synth_params_defaults(&synth);
    synth.jobs_per_hour = g->n_loads ? g->loads[p->load] : env->conf.jobs_per_hour;
    memcpy(synth.split, g->n_splits ? g->splits[p->split] : env->conf.split, sizeof synth.split);
    synth.seed = (uint64_t)(g->n_seeds ? g->seeds[p->seed] : env->conf.seed);
    synth.max_jobs = g->max_jobs;
    const char *placement = g->placement[0] ? g->placement : env->conf.placement;
    const char *profiles = g->profiles[0] ? g->profiles : env->conf.profiles;
    struct wl_opts wl;
    char arrival[64];
    sweep_point_wl_opts(g, env, p, &wl, arrival, sizeof arrival);

    struct sim_config cfg = {0};
    struct sched_overrides ov = {.policy = g->policies[p->policy],
                                 .mode = g->modes[p->mode],
                                 .placement = placement,
                                 .hetero = g->n_heteros ? g->heteros[p->hetero] : NULL,
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

    struct sim_workload w = {NULL, 0, NULL};
    struct job_spec *specs = NULL;
    size_t n_specs = 0;
    if (g->trace[0] && wl_load(&wl, env->zoo, &specs, &n_specs, err) < 0)
        return -1;
    w.jobs = specs;
    w.n_jobs = n_specs;
    if (!g->trace[0] && !(w.synth = synth_create(env->zoo, &synth, err)))
        return -1;

    struct store_run run = {.batch_id = batch, .point = p->index};
    snprintf(run.grid, sizeof run.grid, "%s", grid_id);
    results_run_describe(&run, &cfg, g->trace[0] ? g->trace : NULL, &synth, g->clusters[p->cluster],
                         models_desc, profiles, placement);
    if (g->trace[0] && wl.arrival) {
        snprintf(run.arrival, sizeof run.arrival, "%s", wl.arrival);
        if (g->n_loads)
            run.jobs_per_hour = g->loads[p->load]; /* the load axis, re-timing the trace */
    }
    int rc = -1;
    store_t *st = store_open(g->db, err);
    struct sched_result res;
    if (st && sweep_run_one(st, &run, &cfg, &w, &res, &out->wall_s, err) == 0) {
        out->avg_jct_s = res.avg_jct_s;
        sched_result_free(&res);
        rc = 0;
    }
    out->run_id = run.id;
    store_close(st);
    synth_destroy(w.synth);
    free(run.cluster_ini);
    free(specs);
    return rc;
}
