/*
 * Cluster accounting and the two placement strategies of the reference:
 * first-fit per-GPU packing over the free GPUs in id order (the default), and
 * the consolidating variant that prefers one server for a multi-GPU job and
 * otherwise the servers with the fewest free GPUs. Floating-point operations
 * are done in the reference's order so that results match it bit for bit.
 */
#include "scheduler_internal.h"

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

/* One group of identical servers from the reference's [CLUSTER] keys. The
 * per-server size is int(total / servers) as the reference computes it; the
 * totals divide exactly here, so it is each server's capacity. */
void sched__servers_build(sched_t *s)
{
    const struct cluster_config *c = &s->p.cluster;
    s->n_servers = c->racks * c->servers_per_rack;
    s->spec = xcalloc((size_t)s->n_servers, sizeof *s->spec);
    int g = 0;
    for (int i = 0; i < s->n_servers; i++) {
        struct server_spec *sp = &s->spec[i];
        *sp = (struct server_spec){.group = 0, .gpu_type = 0, .gpus = c->gpus_per_server,
                                   .rack = -1, .block = -1, .first_gpu = g};
        sp->cap[RES_GPU] = c->gpus_per_server;
        sp->cap[RES_CPU] = c->cpus_per_server;
        sp->cap[RES_MEM] = c->dram_per_server;
        sp->cap[RES_SSPEED] = c->sspeed_per_server;
        sp->cap[RES_NET] = c->net_per_server;
        g += sp->gpus;
    }
    s->n_gpus = g;
    s->gpu_server = xmalloc(sizeof *s->gpu_server * (size_t)(g ? g : 1));
    for (int i = 0; i < s->n_servers; i++)
        for (int k = 0; k < s->spec[i].gpus; k++)
            s->gpu_server[s->spec[i].first_gpu + k] = i;
    s->servers = xcalloc((size_t)s->n_servers, sizeof *s->servers);
    double tot[RES_COUNT] = {0};
    for (int i = 0; i < s->n_servers; i++) {
        memcpy(s->servers[i].cap, s->spec[i].cap, sizeof s->spec[i].cap);
        for (int r = 0; r < RES_COUNT; r++)
            tot[r] += s->spec[i].cap[r];
    }
    for (int r = 0; r < RES_COUNT; r++)
        s->size[r] = (double)(long)(tot[r] / s->n_servers);
    for (int r = 0; r < RES_COUNT; r++)
        s->fair[r] = s->size[r] / s->size[RES_GPU];
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
    d[RES_GPU] = j->gpus - j->n_alloc;
    d[RES_CPU] = j->cpu_demand - j->cpus;
    d[RES_MEM] = j->mem_demand - j->mem;
    d[RES_SSPEED] = j->sspeed_demand - j->sspeed;
    d[RES_NET] = 0;
}

static bool fits_with_hold(const struct server *sv, const double v[RES_COUNT])
{
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

static void release_holds(sched_t *s)
{
    for (int i = 0; i < s->n_servers; i++)
        memset(s->servers[i].hold, 0, sizeof s->servers[i].hold);
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

/* Reference _top_synergy_gpus: walk free GPUs in order, take one whenever its
 * server still fits the per-GPU vector (counting what this job already holds).
 * Once a server does not fit, none of its other free GPUs can (nothing it
 * holds changes), so the walk skips to the next server: same result, and a
 * job that fits nowhere costs one check per server instead of one per GPU. */
static int top_gpus_first_fit(sched_t *s, const double v[RES_COUNT], int n, int *gpus,
                              struct job_share *shares, int *n_shares)
{
    int taken = 0;
    *n_shares = 0;
    int k = 0;
    while (k < s->n_free && taken < n) {
        int g = s->free_gpus[k];
        int sv_id = sched__gpu_server(s, g);
        struct server *sv = &s->servers[sv_id];
        if (!fits_with_hold(sv, v)) {
            while (k < s->n_free && sched__gpu_server(s, s->free_gpus[k]) == sv_id)
                k++;
            continue;
        }
        gpus[taken++] = g;
        hold(sv, v);
        share_add(shares, n_shares, sv_id, v);
        k++;
    }
    for (int i = 0; i < *n_shares; i++)
        memset(s->servers[shares[i].server].hold, 0, sizeof s->servers[0].hold);
    return taken == n ? 0 : -1;
}

/* Free GPUs grouped by server, servers in first-seen order of the free list. */
struct server_free {
    int server;
    int n;
    int first; /* index into a per-call array of GPU ids */
};

static int group_free(sched_t *s, struct server_free *out, int *ids)
{
    int ng = 0, pos = 0;
    for (int k = 0; k < s->n_free; k++) {
        int sv = sched__gpu_server(s, s->free_gpus[k]);
        if (ng == 0 || out[ng - 1].server != sv) {
            out[ng] = (struct server_free){sv, 0, pos};
            ng++;
        }
        ids[pos++] = s->free_gpus[k];
        out[ng - 1].n++;
    }
    return ng;
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

/* Reference allocate_synergy_placement (the `+place` variant). */
static int top_gpus_consolidate(sched_t *s, struct job *j, const double d[RES_COUNT],
                                const double v[RES_COUNT], int n, int *gpus,
                                struct job_share *shares, int *n_shares)
{
    struct server_free *grp = xmalloc(sizeof *grp * (size_t)s->n_servers);
    int *ids = xmalloc(sizeof *ids * (size_t)(s->n_free + 1));
    bool *alive = xmalloc(sizeof *alive * (size_t)s->n_servers);
    int ng = group_free(s, grp, ids);
    int rc = -1, taken = 0;
    *n_shares = 0;

    if (j->gpus > 1) {
        int target = -1;
        for (int i = 0; i < ng; i++)
            if (fits_with_hold(&s->servers[grp[i].server], d) &&
                (target < 0 || grp[i].n < grp[target].n))
                target = i;
        if (target >= 0 && grp[target].n >= n) {
            for (int k = 0; k < n; k++)
                gpus[k] = ids[grp[target].first + k];
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
        if (!fits_with_hold(sv, v)) {
            alive[b] = false;
            continue;
        }
        hold(sv, v);
        gpus[taken++] = ids[grp[b].first + grp[b].n - 1]; /* the server's last free GPU */
        share_add(shares, n_shares, grp[b].server, v);
        if (--grp[b].n == 0)
            alive[b] = false;
    }
    release_holds(s);
    rc = taken == n ? 0 : -1;
out:
    free(grp);
    free(ids);
    free(alive);
    return rc;
}

void sched__commit(sched_t *s, struct job *j, const int *gpus, int n_gpus,
                   const struct job_share *shares, int n_shares, bool run_fair,
                   bool add_to_servers)
{
    for (int k = 0; k < n_gpus; k++) {
        j->alloc_gpus[j->n_alloc++] = gpus[k];
        s->gpu_owner[gpus[k]] = j->id;
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
        if (add_to_servers) {
            xgrow((void **)&sv->jobs, &sv->cap_jobs, sv->n_jobs + 1, sizeof *sv->jobs);
            sv->jobs[sv->n_jobs++] = j;
        }
    }
    j->run_fair = run_fair;
    s->n_fail_memo = 0;
    /* remove the GPUs from the round's free list, keeping its order; first
     * fit usually takes the first free GPUs, which only moves the start */
    int lead = 0;
    while (lead < s->n_free && lead < n_gpus && s->gpu_owner[s->free_gpus[lead]] >= 0)
        lead++;
    if (lead == n_gpus) {
        s->free_gpus += lead;
        s->n_free -= lead;
        return;
    }
    int w = 0;
    for (int k = 0; k < s->n_free; k++)
        if (s->gpu_owner[s->free_gpus[k]] < 0)
            s->free_gpus[w++] = s->free_gpus[k];
    s->n_free = w;
}

/*
 * Failed placements since the cluster last changed. If per-GPU vector v could
 * not get n GPUs, a vector at least as large in every component cannot get n
 * or more either (fewer GPUs fit on every server, and the holds only grow).
 * In an overloaded queue most jobs fail the same way round after round, so
 * this turns the reference's long failing walks into one comparison each.
 * Any allocation or release clears the memo (sched__commit, sched_job_release).
 */
static bool fail_memo_hit(const sched_t *s, const double v[RES_COUNT], int n)
{
    for (int m = 0; m < s->n_fail_memo; m++) {
        const struct fail_memo *f = &s->fail_memo[m];
        if (n < f->n)
            continue;
        bool ge = true;
        for (int i = 0; i < RES_COUNT && ge; i++)
            ge = v[i] >= f->v[i];
        if (ge)
            return true;
    }
    return false;
}

static void fail_memo_add(sched_t *s, const double v[RES_COUNT], int n)
{
    if (s->n_fail_memo == FAIL_MEMO_MAX)
        return;
    struct fail_memo *f = &s->fail_memo[s->n_fail_memo++];
    memcpy(f->v, v, sizeof f->v);
    f->n = n;
}

int sched__place(sched_t *s, struct job *j, const double d[RES_COUNT], bool run_fair)
{
    int n = (int)d[RES_GPU];
    double v[RES_COUNT];
    for (int i = 0; i < RES_COUNT; i++)
        v[i] = d[i] / d[RES_GPU];
    if (fail_memo_hit(s, v, n))
        return -1;
    int *gpus = s->scratch_gpus; /* sized for the whole cluster at creation */
    struct job_share *shares = s->scratch_shares;
    int n_shares = 0;
    int rc = s->p.placement == PLACEMENT_CONSOLIDATE
                 ? top_gpus_consolidate(s, j, d, v, n, gpus, shares, &n_shares)
                 : top_gpus_first_fit(s, v, n, gpus, shares, &n_shares);
    if (rc == 0)
        sched__commit(s, j, gpus, n, shares, n_shares, run_fair, true);
    else
        fail_memo_add(s, v, n);
    return rc;
}
