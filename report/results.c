/*
 * results: turn a simulation's configuration, result and round samples into
 * store rows (see results.h).
 */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void results_rounds_add(void *ctx, const struct sched_round_sample *s)
{
    struct results_rounds *rr = ctx;
    xgrow((void **)&rr->r, &rr->cap, rr->n + 1, sizeof *rr->r);
    struct store_round *o = &rr->r[rr->n++];
    o->t = s->now;
    o->runnable = (long)s->runnable;
    o->placed = (long)s->placed;
    o->started = (long)s->started;
    o->preempted = (long)s->preempted;
    o->demoted = (long)s->demoted;
    for (int k = 0; k < 3; k++) {
        o->alloc[k] = s->alloc[k];
        o->util[k] = s->util[k];
        o->demand[k] = s->demand[k];
    }
    o->n_types = s->n_types < STORE_MAX_TYPES ? s->n_types : STORE_MAX_TYPES;
    for (int t = 0; t < o->n_types; t++)
        for (int k = 0; k < 3; k++)
            o->type_alloc[t][k] = s->type_alloc[t][k];
    o->n_tenants = s->n_tenants < STORE_MAX_ROUND_TENANTS ? s->n_tenants : STORE_MAX_ROUND_TENANTS;
    for (int t = 0; t < o->n_tenants; t++)
        o->tenant_held[t] = s->tenant_held[t];
}

void results_rounds_free(struct results_rounds *rr)
{
    free(rr->r);
    memset(rr, 0, sizeof *rr);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        xgrow((void **)&buf, &cap, n + 4097, 1);
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

void results_run_describe(struct store_run *run, const struct sim_config *cfg,
                          const char *trace_path, const struct synth_params *synth,
                          const char *cluster_path, const char *models_path, const char *profiles,
                          const char *placement)
{
    const struct cluster_config *c = &cfg->sched.cluster;
    snprintf(run->policy, sizeof run->policy, "%s", cfg->sched.policy->name);
    snprintf(run->mode, sizeof run->mode, "%s", sched_mode_name(cfg->sched.mode));
    snprintf(run->placement, sizeof run->placement, "%s", placement);
    snprintf(run->workload, sizeof run->workload, "%s", trace_path ? trace_path : "synthetic");
    if (synth) {
        run->jobs_per_hour = trace_path ? 0 : synth->jobs_per_hour;
        memcpy(run->split, synth->split, sizeof run->split);
        run->seed = synth->seed;
        run->max_jobs = synth->max_jobs;
    }
    snprintf(run->cluster, sizeof run->cluster, "%s", cluster_path);
    free(run->cluster_ini);
    run->cluster_ini = slurp(cluster_path);
    run->servers = cluster_config_servers(c);
    run->gpus = cluster_config_gpus(c);
    /* servers that differ: the means (the columns are per server) */
    struct server_group grp[CLUSTER_MAX_GROUPS];
    int ng = cluster_config_groups(c, grp);
    long cpus = 0, mem = 0;
    for (int i = 0; i < ng; i++) {
        cpus += (long)grp[i].count * grp[i].cpus;
        mem += (long)grp[i].count * grp[i].dram_gb;
    }
    run->gpus_per_server = run->gpus / run->servers;
    run->cpus_per_server = (int)(cpus / run->servers);
    run->mem_per_server = (int)(mem / run->servers);
    snprintf(run->models, sizeof run->models, "%s", models_path);
    snprintf(run->profiles, sizeof run->profiles, "%s", profiles);
    run->round_duration = cfg->sched.round_duration;
    run->measure_lo = cfg->measure_lo;
    run->measure_hi = cfg->measure_hi;
    run->is_static = cfg->is_static;
    run->stop_on_gap = cfg->stop_on_gap;
    run->opt_compat = cfg->sched.opt_compat;
    run->opt_time_limit_s = cfg->sched.opt_time_limit_s;
    snprintf(run->hetero, sizeof run->hetero, "%s",
             !cluster_config_typed(c)                     ? ""
             : cfg->sched.hetero == HETERO_AGNOSTIC ? "agnostic"
                                                     : "aware");
}

int results_run_complete(store_t *st, struct store_run *run, const struct sched_result *res,
                         const struct results_rounds *rr, double wall_s, struct err *err)
{
    run->jobs_arrived = (long)res->jobs_arrived;
    run->jobs_finished = (long)res->jobs_finished;
    run->jobs_measured = (long)res->jobs_measured;
    run->window_size = (long)res->window_size;
    run->window_complete = res->window_complete;
    run->avg_jct_s = res->avg_jct_s;
    run->p50_jct_s = res->p50_jct_s;
    run->p99_jct_s = res->p99_jct_s;
    run->p999_jct_s = res->p999_jct_s;
    run->max_jct_s = res->max_jct_s;
    run->makespan_s = res->makespan_s;
    run->end_time_s = res->end_time_s;
    run->rounds = (long)res->rounds;
    run->gpu_alloc = res->mean_gpu_alloc;
    run->cpu_alloc = res->mean_cpu_alloc;
    run->mem_alloc = res->mean_mem_alloc;
    run->wall_s = wall_s;
    run->opt_rounds = res->opt.rounds;
    run->opt_fallbacks = res->opt.fallbacks;
    run->opt_lowered = res->opt.lowered;
    run->opt_unplaced = res->opt.unplaced;
    run->opt_packed = res->opt.packed;
    run->opt_capped = res->opt.capped;
    run->opt_solve_mean_s = res->opt.rounds > 0 ? res->opt.solve_s_sum / (double)res->opt.rounds : NAN;
    run->opt_solve_max_s = res->opt.rounds > 0 ? res->opt.solve_s_max : NAN;
    run->n_types = res->n_types < STORE_MAX_TYPES ? res->n_types : STORE_MAX_TYPES;
    for (int t = 0; t < run->n_types; t++) {
        const struct sched_type_result *tr = &res->types[t];
        struct store_type *ty = &run->types[t];
        snprintf(ty->name, sizeof ty->name, "%s", tr->name);
        ty->gpus = tr->gpus;
        ty->jobs = (long)tr->jobs;
        ty->avg_jct_s = tr->avg_jct_s;
        ty->p50_jct_s = tr->p50_jct_s;
        ty->p99_jct_s = tr->p99_jct_s;
        ty->gpu_alloc = tr->gpu_alloc;
        ty->cpu_alloc = tr->cpu_alloc;
        ty->mem_alloc = tr->mem_alloc;
    }
    struct store_job *jobs = xcalloc(res->jobs_measured + 1, sizeof *jobs);
    for (size_t i = 0; i < res->jobs_measured; i++) {
        const struct sched_job_result *j = &res->jobs[i];
        jobs[i].id = j->id;
        snprintf(jobs[i].model, sizeof jobs[i].model, "%s", j->model);
        jobs[i].gpus = j->gpus;
        jobs[i].arrival = j->arrival;
        jobs[i].first_start = j->first_start;
        jobs[i].finish = j->finish;
        jobs[i].jct = j->jct;
        jobs[i].attained = j->attained;
        jobs[i].rounds_run = j->rounds_run;
        jobs[i].rounds_demoted = j->rounds_demoted;
        jobs[i].preemptions = j->preemptions;
        snprintf(jobs[i].gpu_type, sizeof jobs[i].gpu_type, "%s", j->gpu_type);
    }
    struct store_tenant *tn = xcalloc((size_t)res->n_tenants + 1, sizeof *tn);
    for (int i = 0; i < res->n_tenants; i++) {
        const struct sched_tenant_result *tr = &res->tenants[i];
        snprintf(tn[i].name, sizeof tn[i].name, "%s", tr->name);
        tn[i].quota = tr->quota;
        tn[i].jobs = (long)tr->jobs;
        tn[i].avg_jct_s = tr->avg_jct_s;
        tn[i].p50_jct_s = tr->p50_jct_s;
        tn[i].p99_jct_s = tr->p99_jct_s;
        tn[i].gpu_hours = tr->gpu_hours;
        tn[i].mean_gpus = tr->mean_gpus;
        tn[i].entitled_hours = tr->entitled_hours;
    }
    run->tenants = tn;
    run->n_tenants = res->n_tenants;
    int rc = store_run_complete(st, run, jobs, res->jobs_measured, rr ? rr->r : NULL,
                                rr ? rr->n : 0, err);
    run->tenants = NULL; /* borrowed for the write */
    run->n_tenants = 0;
    free(tn);
    free(jobs);
    if (rc == 0)
        snprintf(run->status, sizeof run->status, "complete");
    return rc;
}

void results_jobs_csv_write(FILE *f, const struct sched_result *r, const char *policy,
                            const char *mode)
{
    results_jobs_csv_write_waits(f, r, policy, mode, false);
}

void results_jobs_csv_write_waits(FILE *f, const struct sched_result *r, const char *policy,
                                  const char *mode, bool waits)
{
    for (size_t i = 0; i < r->jobs_measured; i++) {
        const struct sched_job_result *j = &r->jobs[i];
        char a[64], s[64], e[64], c[64];
        format_double_shortest(a, sizeof a, j->arrival);
        format_double_shortest(s, sizeof s, j->first_start);
        format_double_shortest(e, sizeof e, j->finish);
        format_double_shortest(c, sizeof c, j->jct);
        fprintf(f, "%s,%s,%d,%s,%d,%s,%s,%s,%s", policy, mode, j->id, j->model, j->gpus, a, s, e,
                c);
        for (int k = REASON_STARTING; waits && k < REASON_COUNT; k++)
            fprintf(f, ",%d", j->waits[k]);
        fputc('\n', f);
    }
}

void results_json_head(FILE *f, const struct results_json *o, long arrived, long finished,
                       long measured, bool window_complete)
{
    fprintf(f, "\"policy\":\"%s\",\"mode\":\"%s\",\"placement\":\"%s\",\"seed\":%lu,"
               "\"workload\":",
            o->policy, o->mode, o->placement, o->seed);
    json_write_str(f, o->workload);
    fputs(",\"cluster\":", f);
    json_write_str(f, o->cluster);
    fprintf(f, ",\"gpus\":%d,\"jobs_arrived\":%ld,\"jobs_finished\":%ld,\"jobs_measured\":%ld,"
               "\"window_complete\":%s,",
            o->gpus, arrived, finished, measured, window_complete ? "true" : "false");
}

static void json_hours(FILE *f, const char *key, double s)
{
    if (isnan(s))
        fprintf(f, "\"%s\":null,", key);
    else
        fprintf(f, "\"%s\":%.9f,", key, s / 3600);
}

void results_json_types(FILE *f, const char *hetero, const struct store_type *types, int n)
{
    fprintf(f, "\"hetero\":\"%s\",\"by_gpu_type\":{", hetero && hetero[0] ? hetero : "aware");
    for (int t = 0; t < n; t++) {
        const struct store_type *tr = &types[t];
        fprintf(f, "%s\"%s\":{\"gpus\":%d,\"jobs\":%ld,", t ? "," : "", tr->name, tr->gpus,
                tr->jobs);
        json_hours(f, "avg_jct_h", tr->avg_jct_s);
        json_hours(f, "p50_jct_h", tr->p50_jct_s);
        json_hours(f, "p99_jct_h", tr->p99_jct_s);
        fprintf(f, "\"gpu_alloc_pct\":%.4f,\"cpu_alloc_pct\":%.4f,\"mem_alloc_pct\":%.4f}",
                tr->gpu_alloc * 100, tr->cpu_alloc * 100, tr->mem_alloc * 100);
    }
    fprintf(f, "}");
}

/* "hetero" and "by_gpu_type": each type's jobs, JCTs and allocation. */
static void json_by_type(FILE *f, const struct results_json *o, const struct sched_result *r)
{
    struct store_type ty[STORE_MAX_TYPES];
    int n = r->n_types < STORE_MAX_TYPES ? r->n_types : STORE_MAX_TYPES;
    for (int t = 0; t < n; t++) {
        const struct sched_type_result *tr = &r->types[t];
        ty[t] = (struct store_type){.gpus = tr->gpus, .jobs = (long)tr->jobs,
                                    .avg_jct_s = tr->avg_jct_s, .p50_jct_s = tr->p50_jct_s,
                                    .p99_jct_s = tr->p99_jct_s, .gpu_alloc = tr->gpu_alloc,
                                    .cpu_alloc = tr->cpu_alloc, .mem_alloc = tr->mem_alloc};
        snprintf(ty[t].name, sizeof ty[t].name, "%s", tr->name);
    }
    results_json_types(f, o->hetero, ty, n);
    fputc(',', f);
}

/* "tenants": each tenant's quota, jobs, JCTs, GPU-hours, mean GPUs held, share of its
 * quota and of its entitlement; "jain_tenants". */
void results_json_tenants(FILE *f, const struct sched_tenant_result *t, int n, double jain)
{
    fputs("\"tenants\":[", f);
    for (int i = 0; i < n; i++) {
        const struct sched_tenant_result *tr = &t[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        json_write_str(f, tr->name);
        fprintf(f, ",\"quota\":%d,\"jobs\":%zu,", tr->quota, tr->jobs);
        json_hours(f, "avg_jct_h", tr->avg_jct_s);
        json_hours(f, "p50_jct_h", tr->p50_jct_s);
        json_hours(f, "p99_jct_h", tr->p99_jct_s);
        fprintf(f, "\"gpu_hours\":%.6f,\"mean_gpus\":%.6f,", tr->gpu_hours, tr->mean_gpus);
        if (tr->quota > 0)
            fprintf(f, "\"share_of_quota\":%.6f,", tr->mean_gpus / tr->quota);
        else
            fputs("\"share_of_quota\":null,", f);
        if (tr->entitled_hours > 0)
            fprintf(f, "\"received_vs_entitled\":%.6f}", tr->gpu_hours / tr->entitled_hours);
        else
            fputs("\"received_vs_entitled\":null}", f);
    }
    if (isnan(jain))
        fputs("],\"jain_tenants\":null,", f);
    else
        fprintf(f, "],\"jain_tenants\":%.6f,", jain);
}

void results_json_write(FILE *f, const struct results_json *o, const struct sched_result *r,
                        const char *extra)
{
    double h = 3600;
    fputc('{', f);
    results_json_head(f, o, (long)r->jobs_arrived, (long)r->jobs_finished,
                      (long)r->jobs_measured, r->window_complete);
    if (r->jobs_measured > 0)
        fprintf(f, "\"avg_jct_h\":%.9f,\"p50_jct_h\":%.9f,\"p99_jct_h\":%.9f,"
                   "\"p999_jct_h\":%.9f,\"max_jct_h\":%.9f,\"makespan_h\":%.9f,",
                r->avg_jct_s / h, r->p50_jct_s / h, r->p99_jct_s / h, r->p999_jct_s / h,
                r->max_jct_s / h, r->makespan_s / h);
    else
        fprintf(f, "\"avg_jct_h\":null,\"p50_jct_h\":null,\"p99_jct_h\":null,"
                   "\"p999_jct_h\":null,\"max_jct_h\":null,\"makespan_h\":null,");
    if (r->opt.rounds > 0)
        fprintf(f, "\"opt_compat\":%s,\"opt_rounds\":%ld,\"opt_fallbacks\":%ld,"
                   "\"opt_lowered\":%ld,\"opt_unplaced\":%ld,\"opt_packed\":%ld,"
                   "\"opt_capped\":%ld,\"opt_solve_mean_s\":%.6f,\"opt_solve_max_s\":%.6f,",
                o->opt_compat ? "true" : "false", r->opt.rounds, r->opt.fallbacks,
                r->opt.lowered, r->opt.unplaced, r->opt.packed, r->opt.capped,
                r->opt.solve_s_sum / (double)r->opt.rounds, r->opt.solve_s_max);
    if (r->n_types > 0)
        json_by_type(f, o, r);
    if (r->n_tenants > 0)
        results_json_tenants(f, r->tenants, r->n_tenants, r->jain_tenants);
    fprintf(f, "\"end_time_h\":%.9f,\"rounds\":%zu,\"gpu_alloc_pct\":%.4f,"
               "\"cpu_alloc_pct\":%.4f,\"mem_alloc_pct\":%.4f,\"wall_s\":%.3f,"
               "\"version\":\"%s\"%s%s}\n",
            r->end_time_s / h, r->rounds, r->mean_gpu_alloc * 100, r->mean_cpu_alloc * 100,
            r->mean_mem_alloc * 100, o->wall_s, SYNERGY_VERSION, extra ? "," : "",
            extra ? extra : "");
}

int results_jobs_csv_from_store(store_t *st, const struct store_run *runs, size_t n,
                                const char *path, struct err *err)
{
    struct out_file of;
    if (out_file_open(&of, path) < 0)
        return errprintf(err, "%s: %s", of.atomic ? of.tmp : path, strerror(errno));
    fputs(RESULTS_JOBS_CSV_HEADER, of.f);
    for (size_t r = 0; r < n; r++) {
        struct store_job *jobs = NULL;
        size_t nj = 0;
        if (store_jobs_load(st, runs[r].id, &jobs, &nj, err) < 0) {
            out_file_abort(&of);
            return -1;
        }
        for (size_t i = 0; i < nj; i++) {
            char a[64], b[64], e[64], j[64];
            format_double_shortest(a, sizeof a, jobs[i].arrival);
            format_double_shortest(b, sizeof b, jobs[i].first_start);
            format_double_shortest(e, sizeof e, jobs[i].finish);
            format_double_shortest(j, sizeof j, jobs[i].jct);
            fprintf(of.f, "%s,%s,%d,%s,%d,%s,%s,%s,%s\n", runs[r].policy, runs[r].mode,
                    jobs[i].id, jobs[i].model, jobs[i].gpus, a, b, e, j);
        }
        free(jobs);
    }
    if (out_file_commit(&of) < 0)
        return errprintf(err, "%s: %s", path, strerror(errno));
    return 0;
}
