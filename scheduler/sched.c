/*
 * The round planner and the job table. Every round starts from an empty
 * cluster (leases last exactly one round), orders the runnable jobs with the
 * policy, picks the jobs whose GPU demand fits (the starvation bump happens in
 * the same walk), and places them with the mode. See spec §6.
 */
#include "scheduler_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sched_t *sched_create(const struct sched_params *p, struct err *err)
{
    const struct cluster_config *c = &p->cluster;
    if (!p->policy || !p->mode) {
        errprintf(err, "scheduler needs a policy and a mode");
        return NULL;
    }
    if (c->racks != 1) {
        errprintf(err, "racks = %d: only one rack is supported (the reference numbers the "
                       "servers of every rack from 0 again)", c->racks);
        return NULL;
    }
    if (c->servers_per_rack < 1 || c->gpus_per_server < 1 || c->cpus_per_server < 1 ||
        c->dram_per_server < 1 || c->sspeed_per_server < 1 || c->net_per_server < 1) {
        errprintf(err, "cluster sizes must be at least 1");
        return NULL;
    }
    if (!(p->round_duration > 0)) {
        errprintf(err, "round_duration must be greater than 0");
        return NULL;
    }
    if (cluster_config_typed(c) && p->mode->plan) {
        errprintf(err, "mode %s: clusters with GPU types are not supported (use fair, greedy "
                       "or tune)", p->mode->name);
        return NULL;
    }
    if (p->tenants && p->mode->plan) {
        errprintf(err, "mode %s: tenants are not supported (use fair, greedy or tune)",
                  p->mode->name);
        return NULL;
    }
    sched_t *s = xcalloc(1, sizeof *s);
    s->p = *p;
    sched__servers_build(s);
    s->aware = s->typed && p->hetero != HETERO_AGNOSTIC;
    int ng = s->n_gpus;
    s->gpu_owner = xmalloc(sizeof *s->gpu_owner * (size_t)ng);
    for (int g = 0; g < ng; g++)
        s->gpu_owner[g] = -1;
    sched__free_init(s);
    s->scratch_gpus = xmalloc(sizeof *s->scratch_gpus * (size_t)ng);
    s->scratch_shares = xmalloc(sizeof *s->scratch_shares * (size_t)ng);
    s->scratch_tsrv = xmalloc(sizeof *s->scratch_tsrv * (size_t)s->n_servers);
    s->scratch_tcnt = xmalloc(sizeof *s->scratch_tcnt * (size_t)s->n_servers);
    /* OPT's solver takes the whole ordered queue: it keeps the plain re-sort;
     * so does the tenant layer's walk */
    s->legacy = p->mode->plan != NULL || p->legacy_order || p->tenants;
    sched__queue_init(s);
    if (p->tenants && sched__tenants_create(s, err) < 0) {
        sched_destroy(s);
        return NULL;
    }
    return s;
}

void sched_destroy(sched_t *s)
{
    if (!s)
        return;
    sched__tenants_free(s);
    sched__reasons_free(s);
    sched__hetero_free(s);
    sched__servers_free(s);
    free(s->gpu_owner);
    sched__free_destroy(s);
    free(s->runnable);
    free(s->placed);
    free(s->round_jobs);
    free(s->sort_items);
    free(s->scratch_gpus);
    free(s->scratch_shares);
    free(s->scratch_tsrv);
    free(s->scratch_tcnt);
    free(s->peers);
    free(s->peer_keys);
    free(s->peer_shares);
    sched__queue_free(s);
    free(s);
}

void sched_server_size(const sched_t *s, double out[RES_COUNT])
{
    memcpy(out, s->size, sizeof s->size);
}

int sched_num_servers(const sched_t *s)
{
    return s->n_servers;
}

int sched_total_gpus(const sched_t *s)
{
    return s->n_gpus;
}

/* A job's block: the struct, the scheduler's private part, its GPU ids, its
 * shares (each part 8-aligned). */
static size_t gpus_offset(void)
{
    return sched__round8(sizeof(struct job)) + sched__round8(sizeof(struct job_priv));
}

static size_t shares_offset(int gpus)
{
    return gpus_offset() + sched__round8(sizeof(int) * (size_t)gpus);
}

size_t job_block_size(int gpus)
{
    if (gpus < 1)
        gpus = 1;
    return shares_offset(gpus) + sizeof(struct job_share) * (size_t)gpus;
}

static struct job_share *inline_shares(struct job *j)
{
    return (struct job_share *)((char *)j + shares_offset(j->gpus));
}

/* A job that can never run here: 0 GPUs, or more than the cluster has. */
static int job_check(const sched_t *s, const struct job_spec *spec, struct err *err)
{
    if (spec->gpus < 1)
        return errprintf(err, "job %d: gpus must be at least 1", spec->id);
    if (spec->gpus > sched_total_gpus(s))
        return errprintf(err, "job %d: needs %d GPUs but the cluster has %d", spec->id,
                         spec->gpus, sched_total_gpus(s));
    return 0;
}

struct job *job_create(const sched_t *s, const struct job_spec *spec,
                       const struct model_profile *m, int order, struct err *err)
{
    if (job_check(s, spec, err) < 0)
        return NULL;
    void *block = xcalloc(1, job_block_size(spec->gpus));
    struct job *j = job_create_in(block, s, spec, m, order, err);
    if (!j) {
        free(block);
        return NULL;
    }
    j->own_block = true;
    return j;
}

/* Reference add_synergy_profile (workload.py): cap each demand at one server
 * of size S, and interpolate the speedup on the CPU axis when the CPU demand
 * was capped. dem: CPU, memory, storage for g GPUs of profile m. */
void sched__profile_apply(const double S[RES_COUNT], int g, const struct model_profile *m,
                          double dem[3], double *speedup_out)
{
    double cpu = g * m->cpus, mem = g * m->mem, ss = g * 62.5, speedup = m->speedup;
    bool upd = false;
    if (cpu > S[RES_CPU]) {
        cpu = S[RES_CPU];
        upd = true;
        if (g > S[RES_GPU]) {
            cpu = g * S[RES_CPU] / S[RES_GPU];
            speedup = 1;
            upd = false;
        }
    }
    if (mem > S[RES_MEM]) {
        mem = S[RES_MEM];
        upd = true;
        if (g > S[RES_GPU]) {
            mem = g * S[RES_MEM] / S[RES_GPU];
            speedup = 1;
            upd = false;
        }
    }
    if (ss > S[RES_SSPEED]) {
        ss = S[RES_SSPEED];
        upd = true;
        if (g > S[RES_GPU]) {
            ss = g * S[RES_SSPEED] / S[RES_GPU];
            speedup = 1;
            upd = false;
        }
    }
    if (upd) {
        double ideal = g * m->cpus, fairc = g * S[RES_CPU] / S[RES_GPU];
        if (ideal != fairc)
            speedup = 1 + (speedup - 1) / (ideal - fairc) * (cpu - fairc);
        /* (the reference raises ValueError when ideal == fairc; keep the speedup) */
    }
    dem[0] = cpu;
    dem[1] = mem;
    dem[2] = ss;
    *speedup_out = speedup;
}

/* The job as the type-blind scheduler sees it (the reference's job on an
 * untyped cluster): its model's profile with demands capped at the
 * cluster's per-server size. Then its GPU types (hetero.c). */
struct job *job_create_in(void *block, const sched_t *s, const struct job_spec *spec,
                          const struct model_profile *model, int order, struct err *err)
{
    if (job_check(s, spec, err) < 0)
        return NULL;
    const struct model_profile *m = s->typed ? sched__nominal_profile(s, model) : model;
    if (!m || m->typed_only) {
        errprintf(err, "job %d: model %s has profiles for GPU types only ([%s:1:TYPE]) and "
                       "the cluster has %s", spec->id, model->name, model->name,
                       s->typed ? "none of them" : "no GPU types");
        return NULL;
    }
    int g = spec->gpus;
    double dem[3], speedup;
    sched__profile_apply(s->nom_size, g, m, dem, &speedup);
    struct job *j = block;
    j->id = spec->id;
    j->model = model;
    j->arrival = spec->arrival;
    j->total_iters = spec->iterations;
    j->gpus = g;
    j->order = order;
    j->iter_time = m->iter_time;
    j->cpu_demand = dem[0];
    j->mem_demand = dem[1];
    j->sspeed_demand = dem[2];
    j->speedup_orig = j->speedup = speedup;
    memcpy(sched__priv(j)->dem, dem, sizeof dem);
    j->last_exec = -1;
    j->first_start = -1;
    j->finish = -1;
    j->alloc_gpus = (int *)((char *)j + gpus_offset());
    j->shares = inline_shares(j);
    j->q.run_pos = -1; /* not runnable yet */
    sched__reasons_job_init(j);
    if (sched__job_types(s, j, spec, err) < 0 || sched__tenants_job_init(s, j, spec, err) < 0)
        return NULL;
    return j;
}

void job_reserve_shares(struct job *j, int n)
{
    if (n <= j->gpus)
        return;
    if (j->shares != inline_shares(j))
        free(j->shares);
    j->shares = xmalloc(sizeof *j->shares * (size_t)n);
}

void job_destroy(struct job *j)
{
    if (!j)
        return;
    if (j->shares != inline_shares(j))
        free(j->shares);
    if (j->own_block)
        free(j);
}

void sched_job_add(sched_t *s, struct job *j)
{
    xgrow((void **)&s->runnable, &s->cap_runnable, s->n_runnable + 1, sizeof *s->runnable);
    j->q.run_pos = (int)s->n_runnable;
    s->runnable[s->n_runnable++] = j;
    s->demand_sum[0] += j->gpus;
    s->demand_sum[1] += j->cpu_demand;
    s->demand_sum[2] += j->mem_demand;
    sched__tenants_job_add(s, j);
    sched__reasons_job_add(s, j);
    if (!s->legacy)
        sched__queue_add(s, j);
}

static void demand_drop(sched_t *s, struct job *j)
{
    sched__tenants_job_remove(s, j);
    s->demand_sum[0] -= j->gpus;
    s->demand_sum[1] -= j->cpu_demand;
    s->demand_sum[2] -= j->mem_demand;
    if (s->n_runnable == 0) /* nothing waits: no rounding left over */
        s->demand_sum[0] = s->demand_sum[1] = s->demand_sum[2] = 0;
}

void sched_runnable_demand(const sched_t *s, double out[3])
{
    memcpy(out, s->demand_sum, sizeof s->demand_sum);
}

void sched_job_remove(sched_t *s, struct job *j)
{
    if (!s->legacy) {
        size_t i = (size_t)j->q.run_pos;
        if (i >= s->n_runnable || s->runnable[i] != j)
            return;
        sched__queue_remove(s, j);
        s->runnable[i] = s->runnable[--s->n_runnable];
        s->runnable[i]->q.run_pos = (int)i;
        j->q.run_pos = -1;
        demand_drop(s, j);
        return;
    }
    for (size_t i = 0; i < s->n_runnable; i++) {
        if (s->runnable[i] == j) {
            memmove(&s->runnable[i], &s->runnable[i + 1],
                    (s->n_runnable - i - 1) * sizeof *s->runnable);
            s->n_runnable--;
            j->q.run_pos = -1;
            demand_drop(s, j);
            return;
        }
    }
}

size_t sched_runnable_count(const sched_t *s)
{
    return s->n_runnable;
}

struct job *const *sched_runnable_jobs(const sched_t *s, size_t *n)
{
    *n = s->n_runnable;
    return s->runnable;
}

void sched__unshare(sched_t *s, struct job *j)
{
    for (int i = 0; i < j->n_shares; i++) {
        struct server *sv = &s->servers[j->shares[i].server];
        sv->used[RES_CPU] -= j->shares[i].cpu;
        sv->used[RES_MEM] -= j->shares[i].mem;
        sv->used[RES_GPU] -= j->shares[i].gpu;
        sv->used[RES_SSPEED] -= j->shares[i].sspeed;
        if (s->fmap.n_live > 0)
            sched__server_grew(s, j->shares[i].server);
    }
    *s->n_fail_memo = 0;
    sched__hetero_release(s);
    j->n_shares = 0;
    j->cpus = j->mem = j->sspeed = 0;
}

/* The job's GPUs go back on their servers' free lists: a lease ends between
 * rounds, so they are free for the next one (a server that went down while
 * the job held them included, as the reference's rebuilt list had them). */
void sched_job_release(sched_t *s, struct job *j)
{
    sched__unshare(s, j);
    for (int k = 0; k < j->n_alloc; k++)
        s->gpu_owner[j->alloc_gpus[k]] = -1;
    sched__free_put_all(s, j->alloc_gpus, j->n_alloc);
    s->n_held -= j->n_alloc;
    j->n_alloc = 0;
}

double sched_job_iter_time(const sched_t *s, const struct job *j)
{
    double it;
    const struct job_priv *pv = sched__priv(j);
    if (pv->opt_tput > 0) {
        /* OPT: the chosen tput point sets the speed (reference allocate_round),
         * and unlike the reference the real placement counts too. */
        it = j->iter_time / pv->opt_tput;
        if (j->n_shares > 1 && !pv->opt_no_penalty)
            it = it / j->model->placement_penalty;
        return it;
    }
    if (s->typed && !s->aware)
        return sched__agnostic_iter_time(s, j);
    it = j->iter_time;
    if (j->n_shares > 1)
        it = it / j->model->placement_penalty;
    if (!j->run_fair)
        it = it / j->speedup;
    return it;
}

void sched_server_set_down(sched_t *s, int server, bool down)
{
    if (server < 0 || server >= s->n_servers)
        return;
    if (s->servers[server].down != down)
        s->n_down += down ? 1 : -1;
    s->servers[server].down = down;
    int g0 = sched__server_gpu0(s, server);
    for (int g = g0; g < g0 + sched__server_gpus(s, server); g++) {
        if (down && s->gpu_owner[g] == -1) {
            s->gpu_owner[g] = -2; /* not free, owned by no job */
            sched__free_drop(s, g);
        } else if (!down && s->gpu_owner[g] == -2) {
            s->gpu_owner[g] = -1;
            sched__free_put(s, g);
        }
    }
}

long sched_job_round_iters(const sched_t *s, const struct job *j)
{
    return (long)floor(s->p.round_duration / sched_job_iter_time(s, j));
}

/* ------------------------------------------------------------ ordering */

/* Stable sort of the runnable list by the policy key (ties keep the previous
 * round's order, as the reference's in-place Python sort does). */
static void order_runnable(sched_t *s, const struct sched_view *v)
{
    size_t n = s->n_runnable;
    xgrow((void **)&s->sort_items, &s->cap_sort, 2 * n + 2, sizeof *s->sort_items);
    struct qitem *it = s->sort_items;
    for (size_t i = 0; i < n; i++) {
        it[i].tie = (long long)i;
        it[i].j = s->runnable[i];
        s->p.policy->key(v, it[i].j, it[i].k);
    }
    /* keys drift a little each round (FTF, LAS, SRTF): few pairs cross */
    sched__sort_nearly(it, n, it + n, false);
    for (size_t i = 0; i < n; i++)
        s->runnable[i] = it[i].j;
}

/* The reference's starvation clock runs from the job's last lease end, or
 * from its arrival if it never ran. Both walks (the legacy one below and the
 * incremental queue's heap) bump by these two functions. */
double sched__starve_ref(const struct job *j)
{
    return j->last_exec != -1 ? j->last_exec : j->arrival;
}

bool sched__starved(const sched_t *s, double ref, double now)
{
    double since = now - ref;
    return since > s->p.starvation_s;
}

static int deficit_desc_cmp(const void *a, const void *b)
{
    const struct qitem *x = a, *y = b;
    int dx = x->j->gpus - x->j->n_alloc, dy = y->j->gpus - y->j->n_alloc;
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

/* LAS: the jobs chosen by the GPU-count walk, re-ordered largest first under Tune. */
static void tune_largest_first(sched_t *s, size_t n_round)
{
    xgrow((void **)&s->sort_items, &s->cap_sort, n_round + 1, sizeof *s->sort_items);
    for (size_t i = 0; i < n_round; i++)
        s->sort_items[i] = (struct qitem){{0, 0, 0}, (long long)i, s->round_jobs[i]};
    qsort(s->sort_items, n_round, sizeof *s->sort_items, deficit_desc_cmp);
    for (size_t i = 0; i < n_round; i++)
        s->round_jobs[i] = s->sort_items[i].j;
}

/* The round over the incremental queue (queue.c): the same decisions as the
 * legacy walk below, visiting only the jobs up to the last one that could
 * still get GPUs. stop_ok: no job held GPUs when the round began, so every
 * job's deficit is its GPU count and the unwalked counts know what can fit. */
static void round_queued(sched_t *s, const struct sched_view *v, bool stop_ok)
{
    const struct sched_mode_ops *mode = s->p.mode;
    sched__queue_begin(s, v);
    if (s->p.policy->place_round_jobs_only) {
        size_t n_round = 0;
        int free_count = s->n_free;
        while (free_count > 0) {
            if (stop_ok && !sched__queue_any_fits(s, free_count))
                break;
            struct job *j = sched__queue_next(s, v, stop_ok ? free_count : INT_MAX);
            if (!j)
                break;
            int deficit = j->gpus - j->n_alloc;
            if (deficit > 0 && free_count >= deficit) {
                xgrow((void **)&s->round_jobs, &s->cap_round, n_round + 1,
                      sizeof *s->round_jobs);
                s->round_jobs[n_round++] = j;
                free_count -= deficit;
            }
        }
        if (s->p.policy->tune_largest_first && mode->largest_first)
            tune_largest_first(s, n_round);
        for (size_t i = 0; i < n_round && s->n_free > 0; i++) {
            struct job *j = s->round_jobs[i];
            int deficit = j->gpus - j->n_alloc;
            if (deficit > 0 && s->n_free >= deficit && sched__allocate(s, mode, j, deficit) == 0)
                sched__placed_add(s, j);
        }
    } else {
        while (s->n_free > 0) {
            if (stop_ok && !sched__queue_any_fits(s, s->n_free))
                break;
            struct job *j = sched__queue_next(s, v, stop_ok ? s->n_free : INT_MAX);
            if (!j)
                break;
            int deficit = j->gpus - j->n_alloc;
            if (deficit <= 0 || s->n_free < deficit || sched__queue_class_parked(s, j))
                continue;
            if (sched__allocate(s, mode, j, deficit) == 0)
                sched__placed_add(s, j);
            else if (stop_ok && mode->monotone)
                sched__queue_class_failed(s, j);
        }
    }
    sched__queue_end(s, v);
}

static void round_plan(sched_t *s, double now, struct job ***placed, size_t *n_placed)
{
    struct sched_view v = {now, s->p.mode->fair, s->totals[0], s->totals[1], s->totals[2]};

    /* every lease has ended: the round starts from an empty cluster (the
     * free lists are kept as GPUs come and go: freemap.c) */
    bool held = s->n_held > 0;
    s->round_no++; /* every server's list of this round's jobs starts empty */
    s->n_placed = 0;
    *s->n_fail_memo = 0;
    sched__reasons_round_begin(s, now);
    sched__hetero_round_begin(s);
    s->round_failed = false;

    if (!s->legacy) {
        round_queued(s, &v, !held);
        *placed = s->placed;
        *n_placed = s->n_placed;
        return;
    }

    if (s->ten) { /* tenant_round.c: its own order and walk */
        sched__tenants_round(s, &v);
        *placed = s->placed;
        *n_placed = s->n_placed;
        return;
    }

    order_runnable(s, &v);

    size_t n = s->n_runnable;
    xgrow((void **)&s->round_jobs, &s->cap_round, n + 1, sizeof *s->round_jobs);
    xgrow((void **)&s->placed, &s->cap_placed, n + 1, sizeof *s->placed);
    size_t n_round = 0;
    int free_count = s->n_free;
    /* one pass: reset the speedups (before any placement reads them), pick the
     * jobs whose GPU demand fits, bump the starved */
    for (size_t i = 0; i < n; i++) {
        struct job *j = s->runnable[i];
        sched__job_round_reset(j);
        int deficit = j->gpus - j->n_alloc;
        if (deficit > 0 && free_count >= deficit) {
            s->round_jobs[n_round++] = j;
            free_count -= deficit;
        }
        if (sched__starved(s, sched__starve_ref(j), now))
            j->priority = 1;
    }

    const struct sched_mode_ops *mode = s->p.mode;
    if (mode->plan) {
        int rc = mode->plan(s, s->round_jobs, n_round, now);
        if (rc <= 0) {
            *placed = s->placed;
            *n_placed = s->n_placed;
            return;
        }
        mode = sched__mode_fallback; /* the solver ran out of time: TUNE this round */
    }

    struct job **walk = s->runnable;
    size_t n_walk = n;
    if (s->p.policy->place_round_jobs_only) {
        if (s->p.policy->tune_largest_first && mode->largest_first)
            tune_largest_first(s, n_round);
        walk = s->round_jobs;
        n_walk = n_round;
    }

    for (size_t i = 0; i < n_walk && s->n_free > 0; i++) {
        struct job *j = walk[i];
        int deficit = j->gpus - j->n_alloc;
        if (deficit > 0 && s->n_free >= deficit && sched__allocate(s, mode, j, deficit) == 0)
            s->placed[s->n_placed++] = j;
    }
    *placed = s->placed;
    *n_placed = s->n_placed;
}

void sched_round(sched_t *s, double now, struct job ***placed, size_t *n_placed)
{
    sched__fit_forget(s);
    round_plan(s, now, placed, n_placed);
    sched__reasons_round_end(s);
    sched__fit_forget(s); /* the releases before the next round meet no cursor */
}

void sched__job_round_reset(struct job *j)
{
    struct job_priv *pv = sched__priv(j);
    j->speedup = j->speedup_orig;
    j->demoted = false;
    j->run_fair = false;
    pv->opt_row = pv->opt_col = -1;
    pv->opt_tput = 0;
    pv->opt_no_penalty = false;
}

void sched__placed_add(sched_t *s, struct job *j)
{
    j->q.ran = true;
    xgrow((void **)&s->placed, &s->cap_placed, s->n_placed + 1, sizeof *s->placed);
    s->placed[s->n_placed++] = j;
}

void sched_opt_stats(const sched_t *s, struct sched_opt_stats *out)
{
    *out = s->opt;
}

int sched_round_error(sched_t *s, struct err *err)
{
    if (!s->round_failed)
        return 0;
    s->round_failed = false;
    return errprintf(err, "%s", s->round_err.msg);
}

void sched_alloc_fraction(const sched_t *s, double out[3])
{
    double used[3] = {0, 0, 0};
    for (int i = 0; i < s->n_servers; i++) {
        used[0] += s->servers[i].used[RES_GPU];
        used[1] += s->servers[i].used[RES_CPU];
        used[2] += s->servers[i].used[RES_MEM];
    }
    for (int k = 0; k < 3; k++)
        out[k] = used[k] / s->totals[k];
}

int sched_check_invariants(const sched_t *s, struct err *err)
{
    const double eps = 1e-9;
    for (int i = 0; i < s->n_servers; i++) {
        const struct server *sv = &s->servers[i];
        for (int r = 0; r < RES_NET; r++)
            if (sv->used[r] > sv->cap[r] + eps || sv->used[r] < -eps)
                return errprintf(err, "server %d: resource %d used %.6f of %.6f", i, r,
                                 sv->used[r], sv->cap[r]);
    }
    return 0;
}
