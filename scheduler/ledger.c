/*
 * The round ledger (scheduler.h): the bookkeeping of a run that both drivers
 * share, so that `simulate` and `deploy` cannot drift apart. It owns the jobs
 * of the run (in arrival order: a job's `order`, its final tie-break, is its
 * index here), each job's credit for the current round, the previous round's
 * placed list (the one preemption mechanism), the measured window and the
 * result rows. It knows no clock: every call takes the driver's `now`.
 */
#include "scheduler_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rjob_state { RJ_RUNNABLE = 0, RJ_FINISHED, RJ_FAILED };

struct rjob {
    struct job *j;
    long base;   /* executed before the current round */
    long budget; /* iterations the current round's plan credited */
    enum rjob_state st;
    /* the placement of the last plan that placed it (restart overhead) */
    bool placed_prev;
    struct job_share *sig_shares;
    int sig_n_shares;
};

/* The run's jobs, each in one block (the struct and its allocation arrays),
 * 64-byte aligned, in chunks that double up to 16 MiB and ask for huge pages.
 * A round touches every running job; in a million-job run those lie across
 * hundreds of MiB, and with 4 KiB pages almost every one cost a TLB miss.
 * Jobs live as long as the run: the chunks are freed with it. */
struct job_arena {
    char **chunks;
    size_t n_chunks, cap_chunks;
    char *cur;
    size_t left, next_size;
};

static void *arena_alloc(struct job_arena *a, size_t n)
{
    n = (n + 63) & ~(size_t)63;
    if (a->left < n) {
        size_t size = a->next_size ? a->next_size : (size_t)64 << 10;
        if (size < ((size_t)16 << 20))
            a->next_size = 2 * size;
        if (size < n)
            size = n;
        xgrow((void **)&a->chunks, &a->cap_chunks, a->n_chunks + 1, sizeof *a->chunks);
        a->cur = a->chunks[a->n_chunks++] = xmalloc_huge(size);
        a->left = size;
    }
    void *p = a->cur;
    a->cur += n;
    a->left -= n;
    memset(p, 0, n);
    return p;
}

static void arena_free(struct job_arena *a)
{
    for (size_t i = 0; i < a->n_chunks; i++)
        free(a->chunks[i]);
    free(a->chunks);
}

struct sched_run {
    struct sched_run_params p;
    struct job_arena arena;
    sched_t *sched;
    struct rjob *jobs; /* in arrival order; jobs[j->order].j == j */
    size_t n_jobs, cap_jobs;
    struct job **prev; /* jobs placed by the previous plan */
    size_t n_prev, cap_prev;
    long lo, hi;
    size_t window_size, window_done;
    struct sched_job_result *res;
    size_t n_res, cap_res;
    size_t rounds;
    double util_sum[3];
    double type_sum[CLUSTER_MAX_TYPES][3]; /* typed clusters: allocation per type */
    bool warned_unknown;
};

static struct rjob *rj_of(const sched_run_t *r, const struct job *j)
{
    return &r->jobs[j->order];
}

sched_run_t *sched_run_create(const struct sched_run_params *p, struct err *err)
{
    sched_run_t *r = xcalloc(1, sizeof *r);
    r->p = *p;
    if (!r->p.log_tag)
        r->p.log_tag = "sched";
    r->sched = sched_create(&p->sched, err);
    if (!r->sched) {
        free(r);
        return NULL;
    }
    if (p->measure_hi > p->measure_lo) {
        r->lo = p->measure_lo;
        r->hi = p->measure_hi;
    } else if (p->trace && p->n_trace > 0) {
        r->lo = p->trace[0].id;
        r->hi = p->trace[0].id + 1L;
        for (size_t i = 0; i < p->n_trace; i++) {
            if (p->trace[i].id < r->lo)
                r->lo = p->trace[i].id;
            if (p->trace[i].id + 1L > r->hi)
                r->hi = p->trace[i].id + 1L;
        }
    } else {
        r->lo = 4000;
        r->hi = 5000;
    }
    if (p->trace) {
        for (size_t i = 0; i < p->n_trace; i++)
            r->window_size += sched_run_measured(r, p->trace[i].id);
    } else {
        r->window_size = (size_t)(r->hi - r->lo);
    }
    return r;
}

void sched_run_destroy(sched_run_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_jobs; i++) {
        job_destroy(r->jobs[i].j);
        free(r->jobs[i].sig_shares);
    }
    free(r->jobs);
    arena_free(&r->arena);
    free(r->prev);
    free(r->res);
    sched_destroy(r->sched);
    free(r);
}

sched_t *sched_run_sched(sched_run_t *r)
{
    return r->sched;
}

size_t sched_run_window_size(const sched_run_t *r)
{
    return r->window_size;
}

bool sched_run_measured(const sched_run_t *r, int id)
{
    return id >= r->lo && id < r->hi;
}

/* Build the job and append it to the run (not yet runnable). */
static struct job *job_new(sched_run_t *r, const struct job_spec *spec, struct err *err)
{
    const struct model_profile *m = model_zoo_find(r->p.zoo, spec->model);
    if (!m) {
        /* reference rule (model_zoo.py): unknown names become alexnet */
        if (!r->warned_unknown)
            LOG(LOG_WARN, r->p.log_tag,
                "job %d: unknown model '%s' runs as alexnet (reference rule)", spec->id,
                spec->model);
        r->warned_unknown = true;
        m = model_zoo_find(r->p.zoo, "alexnet");
    }
    if (spec->gpus < 1 || spec->gpus > sched_total_gpus(r->sched))
        return job_create(r->sched, spec, m, (int)r->n_jobs, err); /* NULL: says why */
    void *block = arena_alloc(&r->arena, job_block_size(spec->gpus));
    struct job *j = job_create_in(block, r->sched, spec, m, (int)r->n_jobs, err);
    if (!j)
        return NULL;
    xgrow((void **)&r->jobs, &r->cap_jobs, r->n_jobs + 1, sizeof *r->jobs);
    r->jobs[r->n_jobs++] = (struct rjob){.j = j, .base = 0, .budget = 0, .st = RJ_RUNNABLE};
    return j;
}

struct job *sched_run_arrive(sched_run_t *r, const struct job_spec *spec, struct err *err)
{
    struct job *j = job_new(r, spec, err);
    if (j) {
        sched_job_add(r->sched, j);
        if (r->p.on_arrive)
            r->p.on_arrive(r->p.arrive_ctx, spec);
    }
    return j;
}

static void add_result(sched_run_t *r, const struct job *j, double finish)
{
    xgrow((void **)&r->res, &r->cap_res, r->n_res + 1, sizeof *r->res);
    struct sched_job_result *o = &r->res[r->n_res++];
    o->id = j->id;
    snprintf(o->model, sizeof o->model, "%s", j->model->name);
    o->gpus = j->gpus;
    o->arrival = j->arrival;
    o->first_start = j->first_start;
    o->finish = finish;
    o->jct = finish - j->arrival;
    o->attained = j->attained;
    o->rounds_run = j->rounds_run;
    o->rounds_demoted = j->rounds_demoted;
    o->preemptions = j->preemptions;
    sched_job_waits(r->sched, j, o->waits);
    int t = sched__job_main_type(j);
    snprintf(o->gpu_type, sizeof o->gpu_type, "%s", t >= 0 ? sched_gpu_type_name(r->sched, t) : "");
    int ten = sched_job_tenant(r->sched, j);
    snprintf(o->tenant, sizeof o->tenant, "%s", ten >= 0 ? r->p.sched.tenants->t[ten].name : "");
    r->window_done++;
}

struct job *sched_run_restore(sched_run_t *r, const struct job_spec *spec,
                              const struct sched_job_saved *s, struct err *err)
{
    struct job *j = job_new(r, spec, err);
    if (!j)
        return NULL;
    struct rjob *rj = rj_of(r, j);
    j->executed = s->executed;
    j->attained = s->attained;
    j->service = s->service < 0 ? s->attained : s->service;
    j->priority = s->priority;
    j->last_exec = s->last_exec;
    j->first_start = s->first_start;
    j->finish = s->finish;
    j->rounds_run = s->rounds_run;
    j->rounds_demoted = s->rounds_demoted;
    j->preemptions = s->preemptions;
    rj->base = s->round_base;
    rj->budget = s->executed - s->round_base;
    if (s->finish >= 0) {
        rj->st = RJ_FINISHED;
        if (sched_run_measured(r, j->id))
            add_result(r, j, s->finish);
    } else if (s->failed) {
        rj->st = RJ_FAILED;
    } else {
        sched_job_add(r->sched, j);
        if (s->placed_last_round) {
            xgrow((void **)&r->prev, &r->cap_prev, r->n_prev + 1, sizeof *r->prev);
            r->prev[r->n_prev++] = j;
        }
    }
    return j;
}

void sched_run_save(const sched_run_t *r, const struct job *j, struct sched_job_saved *out)
{
    const struct rjob *rj = rj_of(r, j);
    memset(out, 0, sizeof *out);
    out->executed = j->executed;
    out->round_base = rj->base;
    out->attained = j->attained;
    out->service = j->service;
    out->priority = j->priority;
    out->last_exec = j->last_exec;
    out->first_start = j->first_start;
    out->finish = rj->st == RJ_FINISHED ? j->finish : -1;
    out->failed = rj->st == RJ_FAILED;
    out->rounds_run = j->rounds_run;
    out->rounds_demoted = j->rounds_demoted;
    out->preemptions = j->preemptions;
    for (size_t i = 0; i < r->n_prev; i++)
        if (r->prev[i] == j)
            out->placed_last_round = true;
}

void sched_run_set_runnable_order(sched_run_t *r, struct job *const *jobs, size_t n)
{
    size_t n_run;
    struct job *const *run = sched_runnable_jobs(r->sched, &n_run);
    struct job **rest = xmalloc(sizeof *rest * (n_run + 1));
    size_t n_rest = 0;
    for (size_t i = 0; i < n_run; i++) {
        bool listed = false;
        for (size_t k = 0; k < n && !listed; k++)
            listed = jobs[k] == run[i];
        if (!listed)
            rest[n_rest++] = run[i];
    }
    for (size_t i = 0; i < n; i++)
        sched_job_remove(r->sched, jobs[i]);
    for (size_t i = 0; i < n_rest; i++)
        sched_job_remove(r->sched, rest[i]);
    for (size_t i = 0; i < n; i++)
        sched_job_add(r->sched, jobs[i]);
    for (size_t i = 0; i < n_rest; i++)
        sched_job_add(r->sched, rest[i]);
    free(rest);
}

long sched_run_runnable_rank(const sched_run_t *r, const struct job *j)
{
    size_t n;
    struct job *const *run = sched_runnable_jobs(r->sched, &n);
    /* the slot the job keeps in the runnable array (sched_job_add; -1 once
     * removed): O(1) when it is still right, as it always is outside the
     * legacy walk, whose sort moves jobs without updating it */
    if (j->q.run_pos < 0)
        return -1;
    if ((size_t)j->q.run_pos < n && run[j->q.run_pos] == j)
        return j->q.run_pos;
    for (size_t i = 0; i < n; i++)
        if (run[i] == j)
            return (long)i;
    return -1;
}

bool sched_same_placement(const struct job_share *was, int n_was, const struct job_share *now,
                          int n_now)
{
    if (n_now != n_was)
        return false;
    for (int i = 0; i < n_now; i++) {
        const struct job_share *a = &now[i];
        bool found = false;
        for (int k = 0; k < n_was && !found; k++) {
            const struct job_share *b = &was[k];
            found = a->server == b->server && a->gpu == b->gpu && a->cpu == b->cpu &&
                    a->mem == b->mem;
        }
        if (!found)
            return false;
    }
    return true;
}

static void remember_placement(struct rjob *rj)
{
    const struct job *j = rj->j;
    rj->placed_prev = true;
    rj->sig_shares = xrealloc(rj->sig_shares, sizeof *rj->sig_shares * (size_t)(j->n_shares + 1));
    memcpy(rj->sig_shares, j->shares, sizeof *rj->sig_shares * (size_t)j->n_shares);
    rj->sig_n_shares = j->n_shares;
}

/* Iterations a placed job is credited this round: the whole round, less the
 * restart overhead when this round (re)launches it. */
static long round_iters(const sched_run_t *r, const struct rjob *rj)
{
    const struct sched_params *p = &r->p.sched;
    double ov = p->restart_overhead_profile ? rj->j->model->startup_s : p->restart_overhead_s;
    /* placed by the previous plan and the same placement now: it keeps running */
    if (!(ov > 0) || (rj->placed_prev && sched_same_placement(rj->sig_shares, rj->sig_n_shares,
                                                              rj->j->shares, rj->j->n_shares)))
        return sched_job_round_iters(r->sched, rj->j); /* exactly the reference's rule */
    double left = p->round_duration - ov;
    return left > 0 ? (long)floor(left / sched_job_iter_time(r->sched, rj->j)) : 0;
}

int sched_run_plan(sched_run_t *r, double now, struct job ***placed_out, size_t *n_out,
                   struct sched_round_sample *smp, struct err *err)
{
    double round = r->p.sched.round_duration;
    struct job **placed;
    size_t n_placed;
    struct sched_round_sample local;
    if (!smp)
        smp = &local;
    memset(smp, 0, sizeof *smp);
    smp->now = now;
    sched_round(r->sched, now, &placed, &n_placed);
    *placed_out = placed;
    *n_out = n_placed;
    if (sched_round_error(r->sched, err) < 0)
        return -1;
    for (size_t i = 0; i < n_placed; i++) {
        struct job *j = placed[i];
        struct rjob *rj = rj_of(r, j);
        smp->started += j->first_start < 0;
        smp->demoted += j->demoted;
        long it = round_iters(r, rj);
        j->attained += round;
        j->service += round * sched__service_weight(r->sched, j);
        sched__job_ran_on_type(j);
        rj->base = j->executed;
        j->executed += it;
        if (j->executed > j->total_iters)
            j->executed = j->total_iters;
        rj->budget = j->executed - rj->base;
        j->rounds_run++;
        if (j->demoted)
            j->rounds_demoted++;
        if (j->first_start < 0)
            j->first_start = now;
    }
    if (r->p.check_invariants && sched_check_invariants(r->sched, err) < 0)
        return -1;

    /* a job placed by the previous plan, still runnable, not placed now */
    for (size_t i = 0; i < r->n_prev; i++) {
        struct job *j = r->prev[i];
        if (rj_of(r, j)->st == RJ_RUNNABLE && j->n_alloc == 0) {
            j->preemptions++;
            smp->preempted++;
        }
    }
    if (r->p.sched.restart_overhead_s > 0 || r->p.sched.restart_overhead_profile) {
        for (size_t i = 0; i < r->n_prev; i++)
            rj_of(r, r->prev[i])->placed_prev = false;
        for (size_t i = 0; i < n_placed; i++)
            remember_placement(rj_of(r, placed[i]));
    }
    xgrow((void **)&r->prev, &r->cap_prev, n_placed + 1, sizeof *r->prev);
    if (n_placed > 0) /* placed may be NULL on an empty round */
        memcpy(r->prev, placed, n_placed * sizeof *placed);
    r->n_prev = n_placed;

    sched_alloc_fraction(r->sched, smp->alloc);
    for (int k = 0; k < 3; k++)
        r->util_sum[k] += smp->alloc[k];
    smp->n_types = sched_num_gpu_types(r->sched);
    for (int t = 0; t < smp->n_types; t++) {
        double *a = smp->type_alloc[t];
        sched_type_alloc_fraction(r->sched, t, a);
        for (int k = 0; k < 3; k++)
            r->type_sum[t][k] += a[k];
    }
    r->rounds++;
    if (smp == &local)
        return 0;

    /* the sample: demand over the whole queue, and true utilisation */
    /* (kept by the scheduler as jobs come and go: no walk over the queue) */
    size_t n_run = sched_runnable_count(r->sched);
    double total[3];
    sched_runnable_demand(r->sched, smp->demand);
    for (size_t i = 0; i < n_placed; i++) {
        const struct job *j = placed[i];
        smp->util[0] += j->n_alloc;
        const double *dem = sched__priv(j)->dem; /* on the type it runs on */
        smp->util[1] += j->cpus < dem[0] ? j->cpus : dem[0];
        smp->util[2] += j->mem < dem[1] ? j->mem : dem[1];
    }
    sched_cluster_totals(r->sched, total);
    smp->runnable = n_run;
    smp->placed = n_placed;
    for (int k = 0; k < 3; k++) {
        smp->demand[k] /= total[k];
        smp->util[k] /= total[k];
    }
    int nt = sched_tenants_count(r->sched);
    smp->n_tenants = nt < SCHED_SAMPLE_TENANTS ? nt : SCHED_SAMPLE_TENANTS;
    for (int t = 0; t < smp->n_tenants; t++)
        smp->tenant_held[t] = sched_tenant_held(r->sched, t);
    return 0;
}

void sched_run_round_credit(const sched_run_t *r, const struct job *j, long *base, long *budget)
{
    const struct rjob *rj = rj_of(r, j);
    *base = rj->base;
    *budget = rj->budget;
}

void sched_run_credit(sched_run_t *r, struct job *j, long steps)
{
    struct rjob *rj = rj_of(r, j);
    if (steps > rj->budget)
        steps = rj->budget;
    if (steps < 0)
        steps = 0;
    j->executed = rj->base + steps;
    if (j->executed > j->total_iters)
        j->executed = j->total_iters;
}

bool sched_run_lease_end(sched_run_t *r, struct job *j, double now)
{
    sched_job_release(r->sched, j);
    j->last_exec = now;
    return j->executed >= j->total_iters;
}

bool sched_run_finish(sched_run_t *r, struct job *j, double finish)
{
    struct rjob *rj = rj_of(r, j);
    j->finish = finish;
    rj->st = RJ_FINISHED;
    sched_job_remove(r->sched, j);
    if (!sched_run_measured(r, j->id))
        return false;
    add_result(r, j, finish);
    return r->window_done == r->window_size;
}

void sched_run_fail(sched_run_t *r, struct job *j)
{
    sched_job_release(r->sched, j);
    rj_of(r, j)->st = RJ_FAILED;
    sched_job_remove(r->sched, j);
}

bool sched_run_cancel(sched_run_t *r, struct job *j, bool *window_complete)
{
    bool in_run = rj_of(r, j)->st == RJ_RUNNABLE;
    if (in_run) {
        sched_run_fail(r, j);
        if (sched_run_measured(r, j->id) && r->window_size > 0)
            r->window_size--;
    }
    *window_complete = r->window_done == r->window_size;
    return in_run;
}

void sched_run_result(sched_run_t *r, double end_time, struct sched_result *res)
{
    memset(res, 0, sizeof *res);
    res->jobs_arrived = r->n_jobs;
    for (size_t i = 0; i < r->n_jobs; i++)
        res->jobs_finished += r->jobs[i].st == RJ_FINISHED;
    res->jobs_measured = r->n_res;
    res->window_size = r->window_size;
    res->window_complete = r->window_done == r->window_size;
    res->end_time_s = end_time;
    res->rounds = r->rounds;
    res->jobs = r->res;
    r->res = NULL;
    r->n_res = r->cap_res = 0;
    sched_result_summarize(res, r->util_sum);
    sched_opt_stats(r->sched, &res->opt);
    res->n_types = sched_num_gpu_types(r->sched);
    for (int t = 0; t < res->n_types; t++) {
        struct sched_type_result *tr = &res->types[t];
        snprintf(tr->name, sizeof tr->name, "%s", sched_gpu_type_name(r->sched, t));
        tr->gpus = sched_type_gpus(r->sched, t);
        if (r->rounds > 0) {
            tr->gpu_alloc = r->type_sum[t][0] / (double)r->rounds;
            tr->cpu_alloc = r->type_sum[t][1] / (double)r->rounds;
            tr->mem_alloc = r->type_sum[t][2] / (double)r->rounds;
        }
    }
    sched_result_by_type(res);
    res->n_tenants = sched_tenants_count(r->sched);
    if (res->n_tenants == 0)
        return;
    res->tenants = xcalloc((size_t)res->n_tenants, sizeof *res->tenants);
    for (int t = 0; t < res->n_tenants; t++) {
        struct sched_tenant_status st;
        sched_tenant_status(r->sched, t, &st);
        struct sched_tenant_result *tr = &res->tenants[t];
        snprintf(tr->name, sizeof tr->name, "%s", st.name);
        tr->quota = st.quota;
        tr->gpu_hours = st.gpu_s / 3600;
        tr->entitled_hours = st.entitled_s / 3600;
        tr->mean_gpus = r->rounds > 0 ? st.held_sum / (double)r->rounds : 0;
    }
    sched_result_by_tenant(res);
}

void sched_run_totals_get(const sched_run_t *r, struct sched_run_totals *out)
{
    out->rounds = r->rounds;
    memcpy(out->util_sum, r->util_sum, sizeof out->util_sum);
}

void sched_run_totals_set(sched_run_t *r, const struct sched_run_totals *in)
{
    r->rounds = in->rounds;
    memcpy(r->util_sum, in->util_sum, sizeof r->util_sum);
}

const struct sched_run_params *sched_run_params_get(const sched_run_t *r)
{
    return &r->p;
}

size_t sched_run_job_count(const sched_run_t *r)
{
    return r->n_jobs;
}

struct job *sched_run_job_at(const sched_run_t *r, size_t i, bool *runnable)
{
    *runnable = r->jobs[i].st == RJ_RUNNABLE;
    return r->jobs[i].j;
}
