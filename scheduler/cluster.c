/*
 * Cluster accounting and the two placement strategies of the reference:
 * first-fit per-GPU packing over the free GPUs in id order (the default), and
 * the consolidating variant that prefers one server for a multi-GPU job and
 * otherwise the servers with the fewest free GPUs. Floating-point operations
 * are done in the reference's order so that results match it bit for bit.
 */
#include "scheduler_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cluster_config_defaults(struct cluster_config *c)
{
    c->racks = 1;
    c->servers_per_rack = 4;
    c->gpus_per_server = 8;
    c->cpus_per_server = 24;
    c->dram_per_server = 500;
    c->sspeed_per_server = 300;
    c->net_per_server = 40;
}

/* The server table from the cluster's groups (cluster_config_groups: one
 * for a [CLUSTER] INI). Each GPU type's groups are kept together, types in
 * the order they first appear, so a type's GPUs and servers have contiguous
 * ids. The per-server size is int(total / servers) as the reference
 * computes it where every server is the same (the totals divide exactly);
 * where servers differ it is the smallest server's, per resource, so that
 * a demand capped at it fits on every server. */
static void types_build(sched_t *s, const struct server_group *grp, int ng)
{
    s->types = xcalloc(CLUSTER_MAX_TYPES, sizeof *s->types);
    for (int i = 0; i < ng; i++) {
        int t = 0;
        while (t < s->n_types && strcmp(s->types[t].name, grp[i].gpu_type) != 0)
            t++;
        if (t == s->n_types) {
            snprintf(s->types[t].name, sizeof s->types[t].name, "%s", grp[i].gpu_type);
            s->types[t].speed = cluster_config_speed(&s->p.cluster, grp[i].gpu_type);
            s->n_types++;
        }
    }
}

static void type_sizes(sched_t *s, struct sched_type *ty, int lo, int hi, bool uniform)
{
    double tot[RES_COUNT] = {0};
    for (int i = lo; i < hi; i++) {
        const struct server_spec *sp = &s->spec[i];
        for (int r = 0; r < RES_COUNT; r++) {
            tot[r] += sp->cap[r];
            double f = sp->cap[r] / sp->cap[RES_GPU];
            if (i == lo || sp->cap[r] < ty->size[r])
                ty->size[r] = sp->cap[r];
            if (i == lo || f < ty->fair[r])
                ty->fair[r] = f;
        }
    }
    if (!uniform)
        return;
    for (int r = 0; r < RES_COUNT; r++)
        ty->size[r] = (double)(long)(tot[r] / (hi - lo));
    for (int r = 0; r < RES_COUNT; r++)
        ty->fair[r] = ty->size[r] / ty->size[RES_GPU];
}

void sched__servers_build(sched_t *s)
{
    struct server_group grp[CLUSTER_MAX_GROUPS];
    int ng = cluster_config_groups(&s->p.cluster, grp);
    types_build(s, grp, ng);
    s->typed = cluster_config_typed(&s->p.cluster);
    s->n_servers = cluster_config_servers(&s->p.cluster);
    s->spec = xcalloc((size_t)s->n_servers, sizeof *s->spec);
    s->servers = xcalloc((size_t)s->n_servers, sizeof *s->servers);
    int g = 0, sv = 0;
    for (int t = 0; t < s->n_types; t++) {
        struct sched_type *ty = &s->types[t];
        ty->gpu_lo = g;
        ty->srv_lo = sv;
        for (int k = 0; k < ng; k++) {
            if (strcmp(grp[k].gpu_type, ty->name) != 0)
                continue;
            for (int c = 0; c < grp[k].count; c++, sv++) {
                struct server_spec *sp = &s->spec[sv];
                *sp = (struct server_spec){.group = k, .gpu_type = t, .gpus = grp[k].gpus,
                                           .rack = grp[k].rack, .block = -1, .first_gpu = g};
                sp->cap[RES_GPU] = grp[k].gpus;
                sp->cap[RES_CPU] = grp[k].cpus;
                sp->cap[RES_MEM] = grp[k].dram_gb;
                sp->cap[RES_SSPEED] = grp[k].sspeed;
                sp->cap[RES_NET] = grp[k].net;
                memcpy(s->servers[sv].cap, sp->cap, sizeof sp->cap);
                s->servers[sv].type_bit = 1u << t;
                g += sp->gpus;
            }
        }
        ty->gpu_hi = g;
        ty->srv_hi = sv;
    }
    s->n_gpus = g;
    s->place_mask = s->memo_mask = ~0u;
    s->fail_memo = s->memo0;
    s->n_fail_memo = &s->n_memo0;
    s->gpu_server = xmalloc(sizeof *s->gpu_server * (size_t)(g ? g : 1));
    for (int i = 0; i < s->n_servers; i++)
        for (int k = 0; k < s->spec[i].gpus; k++)
            s->gpu_server[s->spec[i].first_gpu + k] = i;
    double tot[RES_COUNT] = {0};
    for (int i = 0; i < s->n_servers; i++)
        for (int r = 0; r < RES_COUNT; r++)
            tot[r] += s->spec[i].cap[r];
    for (int t = 0; t < s->n_types; t++)
        type_sizes(s, &s->types[t], s->types[t].srv_lo, s->types[t].srv_hi, ng == 1);
    struct sched_type all = {0};
    type_sizes(s, &all, 0, s->n_servers, ng == 1);
    memcpy(s->nom_size, all.size, sizeof all.size);
    memcpy(s->nom_fair, all.fair, sizeof all.fair);
    memcpy(s->size, all.size, sizeof all.size);
    memcpy(s->fair, all.fair, sizeof all.fair);
    for (int k = 0; k < 3; k++)
        s->totals[k] = tot[k];
}

void sched__servers_free(sched_t *s)
{
    for (int i = 0; i < s->n_servers; i++)
        free(s->servers[i].jobs);
    free(s->servers);
    free(s->spec);
    free(s->gpu_server);
    free(s->types);
}

const struct server_spec *sched_server(const sched_t *s, int i)
{
    return &s->spec[i];
}

int sched_gpu_server(const sched_t *s, int gpu)
{
    return gpu >= 0 && gpu < s->n_gpus ? s->gpu_server[gpu] : -1;
}

double sched_server_cap(const sched_t *s, int i, int res)
{
    return s->spec[i].cap[res];
}

void sched_cluster_totals(const sched_t *s, double out[3])
{
    memcpy(out, s->totals, sizeof s->totals);
}

void sched__demand_vector(const struct job *j, double d[RES_COUNT])
{
    const struct job_priv *pv = sched__priv(j);
    d[RES_GPU] = j->gpus - j->n_alloc;
    d[RES_CPU] = pv->dem[0] - j->cpus;
    d[RES_MEM] = pv->dem[1] - j->mem;
    d[RES_SSPEED] = pv->dem[2] - j->sspeed;
    d[RES_NET] = 0;
}

/* Whether server sv, of a GPU type this placement may use, still has room
 * for v after what it holds for the job being placed. */
static bool fits_with_hold(const sched_t *s, const struct server *sv, const double v[RES_COUNT])
{
    if (!(sv->type_bit & s->place_mask))
        return false;
    for (int i = 0; i < RES_COUNT; i++)
        if ((sv->cap[i] - sv->used[i]) - sv->hold[i] < v[i])
            return false;
    return true;
}

static void hold(struct server *sv, const double v[RES_COUNT])
{
    for (int i = 0; i < RES_COUNT; i++)
        sv->hold[i] += v[i];
}

/* Reference _top_synergy_gpus: walk free GPUs in order, take one whenever its
 * server still fits the per-GPU vector (counting what this job already holds).
 * Once a server does not fit, none of its other free GPUs can (nothing it
 * holds changes), so the walk goes on at the next server that has a free GPU
 * and room for one more vector, which freemap.c finds: the same GPUs as the
 * walk over the free list, without walking the free GPUs passed over. */
static int top_gpus_first_fit(sched_t *s, const double v[RES_COUNT], int n, int *gpus,
                              struct job_share *shares, int *n_shares)
{
    int taken = 0;
    *n_shares = 0;
    int from = 0;
    while (taken < n) {
        int i = sched__first_fit_server(s, from, v);
        if (i < 0)
            break;
        const struct server *sv = &s->servers[i];
        /* the search checked its first GPU (nothing held there yet); the
         * hold accumulates here as in hold(), compared as in fits_with_hold() */
        double h[RES_COUNT] = {0, 0, 0, 0, 0};
        int g = sched__free_from(s, i, 0);
        gpus[taken++] = g;
        for (int r = 0; r < RES_COUNT; r++)
            h[r] += v[r];
        struct job_share *sh = &shares[(*n_shares)++];
        *sh = (struct job_share){i, v[RES_GPU], v[RES_CPU], v[RES_MEM], v[RES_SSPEED]};
        while (taken < n && (g = sched__free_from(s, i, g + 1)) >= 0) {
            bool fit = true;
            for (int r = 0; r < RES_COUNT; r++)
                fit &= !((sv->cap[r] - sv->used[r]) - h[r] < v[r]);
            if (!fit)
                break;
            gpus[taken++] = g;
            for (int r = 0; r < RES_COUNT; r++)
                h[r] += v[r];
            sh->gpu += v[RES_GPU];
            sh->cpu += v[RES_CPU];
            sh->mem += v[RES_MEM];
            sh->sspeed += v[RES_SSPEED];
        }
        from = i + 1;
    }
    return taken == n ? 0 : -1;
}

/* Free GPUs grouped by server, in server order (the order of the free list),
 * over the servers placement may use (a GPU type's under --hetero aware). */
struct server_free {
    int server;
    int n;
    int last; /* the last GPU taken from it here (its end before any) */
};

static int group_free(const sched_t *s, struct server_free *out)
{
    int ng = 0;
    for (int i = s->fmap.lo; i < s->fmap.hi; i++)
        if (s->servers[i].n_free > 0)
            out[ng++] = (struct server_free){i, s->servers[i].n_free,
                                             sched__server_gpu0(s, i) + sched__server_gpus(s, i)};
    return ng;
}

/* Add per-GPU vector v to the share of server `sv` (creating it in order). */
static void share_add(struct job_share *shares, int *n, int sv, const double v[RES_COUNT])
{
    for (int i = 0; i < *n; i++) {
        if (shares[i].server == sv) {
            shares[i].gpu += v[RES_GPU];
            shares[i].cpu += v[RES_CPU];
            shares[i].mem += v[RES_MEM];
            shares[i].sspeed += v[RES_SSPEED];
            return;
        }
    }
    shares[*n] = (struct job_share){sv, v[RES_GPU], v[RES_CPU], v[RES_MEM], v[RES_SSPEED]};
    (*n)++;
}

/* Pop the (free count, server id) minimum among entries still alive. */
static int pop_fewest(struct server_free *grp, int ng, const bool *alive)
{
    int best = -1;
    for (int i = 0; i < ng; i++) {
        if (!alive[i])
            continue;
        if (best < 0 || grp[i].n < grp[best].n ||
            (grp[i].n == grp[best].n && grp[i].server < grp[best].server))
            best = i;
    }
    return best;
}

/* Reference allocate_synergy_placement (the `+place` variant). Its cost
 * grows with the servers; it is not the default placement. */
static int top_gpus_consolidate(sched_t *s, struct job *j, const double d[RES_COUNT],
                                const double v[RES_COUNT], int n, int *gpus,
                                struct job_share *shares, int *n_shares)
{
    struct server_free *grp = xmalloc(sizeof *grp * (size_t)s->n_servers);
    bool *alive = xmalloc(sizeof *alive * (size_t)s->n_servers);
    int ng = group_free(s, grp);
    int rc = -1, taken = 0;
    *n_shares = 0;

    if (j->gpus > 1) {
        int target = -1;
        for (int i = 0; i < ng; i++)
            if (fits_with_hold(s, &s->servers[grp[i].server], d) &&
                (target < 0 || grp[i].n < grp[target].n))
                target = i;
        if (target >= 0 && grp[target].n >= n) {
            int g = sched__free_from(s, grp[target].server, 0);
            for (int k = 0; k < n; k++, g = sched__free_from(s, grp[target].server, g + 1))
                gpus[k] = g;
            shares[0] = (struct job_share){grp[target].server, d[RES_GPU], d[RES_CPU], d[RES_MEM],
                                           d[RES_SSPEED]};
            *n_shares = 1;
            rc = 0;
            goto out;
        }
    }
    for (int i = 0; i < ng; i++)
        alive[i] = true;
    while (taken < n) {
        int b = pop_fewest(grp, ng, alive);
        if (b < 0)
            break;
        struct server *sv = &s->servers[grp[b].server];
        if (!fits_with_hold(s, sv, v)) {
            alive[b] = false;
            continue;
        }
        hold(sv, v);
        /* the server's last free GPU not taken yet */
        grp[b].last = sched__free_before(s, grp[b].server, grp[b].last);
        gpus[taken++] = grp[b].last;
        share_add(shares, n_shares, grp[b].server, v);
        if (--grp[b].n == 0)
            alive[b] = false;
    }
    for (int i = 0; i < ng; i++)
        memset(s->servers[grp[i].server].hold, 0, sizeof s->servers[0].hold);
    rc = taken == n ? 0 : -1;
out:
    free(grp);
    free(alive);
    return rc;
}

void sched__commit(sched_t *s, struct job *j, const int *gpus, int n_gpus,
                   const struct job_share *shares, int n_shares, bool run_fair, bool fresh)
{
    for (int k = 0; k < n_gpus; k++)
        j->alloc_gpus[j->n_alloc++] = gpus[k];
    if (fresh) {
        for (int k = 0; k < n_gpus; k++)
            s->gpu_owner[gpus[k]] = j->id;
        sched__free_take(s, gpus, n_gpus);
        s->n_held += n_gpus;
    }
    j->n_shares = n_shares;
    j->cpus = j->mem = j->sspeed = 0;
    for (int i = 0; i < n_shares; i++) {
        const struct job_share *sh = &shares[i];
        j->shares[i] = *sh;
        j->cpus += sh->cpu;
        j->mem += sh->mem;
        j->sspeed += sh->sspeed;
        struct server *sv = &s->servers[sh->server];
        sv->used[RES_CPU] += sh->cpu;
        sv->used[RES_MEM] += sh->mem;
        sv->used[RES_GPU] += sh->gpu;
        sv->used[RES_SSPEED] += sh->sspeed;
        if (fresh) {
            sched__server_jobs_touch(s, sv);
            xgrow((void **)&sv->jobs, &sv->cap_jobs, sv->n_jobs + 1, sizeof *sv->jobs);
            sv->jobs[sv->n_jobs++] = j;
        }
    }
    j->run_fair = run_fair;
    *s->n_fail_memo = 0;
}

/*
 * Failed placements since the cluster last changed. If per-GPU vector v could
 * not get n GPUs, a vector at least as large in every component cannot get n
 * or more either (fewer GPUs fit on every server, and the holds only grow).
 * In an overloaded queue most jobs fail the same way round after round, so
 * this turns the reference's long failing walks into one comparison each.
 * Any allocation or release clears the memo (sched__commit, sched_job_release).
 */
static bool fail_memo_hit(sched_t *s, const double v[RES_COUNT], int n)
{
    for (int m = 0; m < *s->n_fail_memo; m++) {
        const struct fail_memo *f = &s->fail_memo[m];
        if (n < f->n)
            continue;
        bool ge = true;
        for (int i = 0; i < RES_COUNT && ge; i++)
            ge = v[i] >= f->v[i];
        if (ge) {
            s->why_last = f->why;
            return true;
        }
    }
    return false;
}

static void fail_memo_add(sched_t *s, const double v[RES_COUNT], int n)
{
    if (*s->n_fail_memo == FAIL_MEMO_MAX)
        return;
    struct fail_memo *f = &s->fail_memo[(*s->n_fail_memo)++];
    memcpy(f->v, v, sizeof f->v);
    f->n = n;
    f->why = s->why_last;
}

int sched__place(sched_t *s, struct job *j, const double d[RES_COUNT], bool run_fair)
{
    int n = (int)d[RES_GPU];
    double v[RES_COUNT];
    for (int i = 0; i < RES_COUNT; i++)
        v[i] = d[i] / d[RES_GPU];
    bool memo = s->place_mask == s->memo_mask; /* the memo is of this set of servers */
    if (memo && fail_memo_hit(s, v, n))
        return -1; /* fail_memo_hit set s->why_last */
    int *gpus = s->scratch_gpus; /* sized for the whole cluster at creation */
    struct job_share *shares = s->scratch_shares;
    int n_shares = 0;
    int rc = s->p.placement == PLACEMENT_CONSOLIDATE
                 ? top_gpus_consolidate(s, j, d, v, n, gpus, shares, &n_shares)
                 : top_gpus_first_fit(s, v, n, gpus, shares, &n_shares);
    if (rc == 0) {
        sched__commit(s, j, gpus, n, shares, n_shares, run_fair, true);
        return 0;
    }
    sched__reasons_place_failed(s, v, n);
    if (memo)
        fail_memo_add(s, v, n);
    return rc;
}
