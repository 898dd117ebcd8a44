/*
 * The tenant layer (docs/tenants.md): between the policy's order and the
 * mode. A round with tenants walks the runnable jobs, in policy order, in
 * three passes, placing each job the pass admits with the mode as it goes:
 *
 *   1. nominal: a job whose tenant stays within its nominal quota (GPUs, and
 *      CPUs, memory and GPUs per type where the file gives them).
 *   2. fair share: what pass 1 left idle is lent, by pool: the GPUs no
 *      tenant's quota covers (lent to every tenant) and, per cohort, its
 *      members' unused quota within their lending limits. A pool is divided
 *      among the tenants with jobs waiting by KAI's over-quota weight
 *      P = max(0, w' + k (w' - U)) (w': weight normalised among them, U:
 *      decayed usage), water-filled up to each one's waiting GPUs and
 *      borrowing limit, rounded down with the leftovers to the largest
 *      remainders. A job is admitted while its tenant's borrowed GPUs stay
 *      within its share.
 *   3. work-conserving: what is still lendable goes to the jobs the previous
 *      round placed first (a borrower keeps its GPUs until an owner's claim
 *      takes them: the reclaim), then in policy order, within borrowing
 *      limits.
 *
 * A job whose placement fails is not tried again in the round. Usage: each
 * round's GPUs per tenant, decayed by 2^(-age / half-life) over the window,
 * divided by the capacity summed the same way. A round's sample joins the
 * sums when the next round has been planned, so the shares of round t come
 * from rounds up to t - 2: a claim is seen one round before it takes the
 * GPUs (the borrower's notice; KAI's scenario, tests/unit/sched_tenants.c).
 * Without a tenants file none of this runs.
 */
#include "scheduler_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What the walk did with a job this round. TS_OVER: over its tenant's
 * quota in pass 1 (it may borrow); TS_OVER_TYPE: over its tenant's quota on
 * every GPU type with room (all of it borrowed if placed later). */
enum tstate { TS_WAIT = 0, TS_PLACED, TS_FAILED, TS_OVER, TS_OVER_TYPE };

struct trt {
    /* from the file */
    int quota, borrow_limit, lend_limit, cohort;
    long max_run; /* max_running_gpus (< 0: none) */
    double cpus_q, mem_q, weight;
    int type_q[CLUSTER_MAX_TYPES]; /* < 0: no per-type quota */
    /* runnable jobs, kept as they come and go */
    int demand, n_runnable;
    /* this round */
    int used, borrowed, share, share_root, failed_gpus, min_waiting, running;
    int lendable, request; /* after pass 1: unused quota it lends, GPUs it asks to borrow */
    int left;              /* pass 1: its runnable jobs the walk has not reached */
    double cpus, mem, lent;
    int type_used[CLUSTER_MAX_TYPES];
    /* usage over time: decayed sum of the window's samples, oldest first in ring */
    double num;
    double *ring;
    int pending; /* the last planned round's GPUs, not yet in num */
    /* totals for the results */
    double gpu_s, entitled_s, held_sum;
};

struct sched_tenants {
    const struct tenants_config *cfg;
    int n, n_cohorts;
    struct trt *t;
    double cap_num, *cap_ring; /* the capacity, summed like the usage */
    int cap_pending;
    int window;                /* samples in the window; 0: no window */
    int ring_i, ring_n;        /* next slot, samples held */
    long pushes;               /* since the last exact recount */
    double d, d_w;             /* per-round decay; d^window */
    bool planned;              /* a round was planned (pending is set) */
    double last_now;
    long rounds;               /* planned so far: the current round's number */
    long waiting_round;        /* the round min_waiting was counted for (-1: none) */
    struct job **prev;         /* the jobs the previous round placed, in order */
    size_t n_prev, cap_prev;
    struct job **touched;      /* the jobs the mode placed or tried: reset next round */
    size_t n_touched, cap_touched;
    /* each tenant's runnable jobs in policy order: ranks (positions in
     * s->runnable) in rank_buf[off[i] .. off[i] + len[i]), and a pass's
     * position in it; the tenants still in a pass, a heap by their next rank */
    int *rank_buf, *off, *len, *cur, *heap;
    size_t cap_rank;
    int n_heap;
    /* scratch for the shares */
    double *x, *p;
    int *idx;
};

/* A job's state in the current round: set when the walk reaches it; a job
 * not reached is waiting (no O(jobs) reset each round). */
static enum tstate state_of(const struct sched_tenants *T, const struct job *j)
{
    const struct job_priv *pv = sched__priv(j);
    return pv->tround == T->rounds ? (enum tstate)pv->tstate : TS_WAIT;
}

static void state_set(const struct sched_tenants *T, struct job *j, enum tstate st)
{
    struct job_priv *pv = sched__priv(j);
    pv->tstate = (unsigned char)st;
    pv->tround = T->rounds;
}

/* ------------------------------------------------------------ set-up */

static int cohort_index(const struct tenants_config *c, int i)
{
    for (int k = 0; k < i; k++)
        if (strcmp(c->t[k].cohort, c->t[i].cohort) == 0)
            return -(k + 1); /* same as tenant k's */
    return 0;
}

int sched__tenants_create(sched_t *s, struct err *err)
{
    const struct tenants_config *c = s->p.tenants;
    struct sched_tenants *T = xcalloc(1, sizeof *T);
    s->ten = T;
    T->cfg = c;
    T->n = c->n;
    T->t = xcalloc((size_t)c->n, sizeof *T->t);
    for (int i = 0; i < c->n; i++) {
        const struct tenant_def *d = &c->t[i];
        struct trt *t = &T->t[i];
        t->quota = d->gpus;
        t->borrow_limit = d->borrowing_limit;
        t->max_run = d->max_running_gpus;
        t->lend_limit = d->lending_limit;
        t->cpus_q = d->cpus;
        t->mem_q = d->mem_gb;
        t->weight = d->weight;
        int same = cohort_index(c, i);
        t->cohort = same < 0 ? T->t[-same - 1].cohort : T->n_cohorts++;
        for (int k = 0; k < CLUSTER_MAX_TYPES; k++)
            t->type_q[k] = -1;
        for (int k = 0; k < d->n_typed; k++) {
            int ty = s->typed ? sched__type_find(s, d->typed[k].type) : -1;
            if (ty < 0)
                return errprintf(err, "%s:%d: gpus.%s: the cluster has no GPU type %s", c->path,
                                 d->typed[k].line, d->typed[k].type, d->typed[k].type);
            t->type_q[ty] = d->typed[k].gpus;
        }
    }
    double round = s->p.round_duration;
    T->window = c->window_s > 0 ? (int)fmax(1, floor(c->window_s / round + 0.5)) : 0;
    T->d = c->half_life_s > 0 ? pow(0.5, round / c->half_life_s) : 1;
    T->d_w = T->window > 0 ? pow(T->d, T->window) : 0;
    if (T->window > 0) {
        for (int i = 0; i < T->n; i++)
            T->t[i].ring = xcalloc((size_t)T->window, sizeof *T->t[i].ring);
        T->cap_ring = xcalloc((size_t)T->window, sizeof *T->cap_ring);
    }
    T->off = xcalloc((size_t)T->n + 1, sizeof *T->off);
    T->len = xcalloc((size_t)T->n + 1, sizeof *T->len);
    T->cur = xcalloc((size_t)T->n + 1, sizeof *T->cur);
    T->heap = xcalloc((size_t)T->n + 1, sizeof *T->heap);
    T->x = xcalloc((size_t)T->n, sizeof *T->x);
    T->p = xcalloc((size_t)T->n, sizeof *T->p);
    T->idx = xcalloc((size_t)T->n, sizeof *T->idx);
    return 0;
}

void sched__tenants_free(sched_t *s)
{
    struct sched_tenants *T = s->ten;
    if (!T)
        return;
    for (int i = 0; i < T->n; i++)
        free(T->t[i].ring);
    free(T->t);
    free(T->cap_ring);
    free(T->prev);
    free(T->touched);
    free(T->rank_buf);
    free(T->off);
    free(T->len);
    free(T->cur);
    free(T->heap);
    free(T->x);
    free(T->p);
    free(T->idx);
    free(T);
    s->ten = NULL;
}

int sched__tenants_job_init(const sched_t *s, struct job *j, const struct job_spec *spec,
                            struct err *err)
{
    struct job_priv *pv = sched__priv(j);
    pv->tenant = -1;
    pv->prev_pos = -1;
    pv->tround = -1;
    if (!s->ten)
        return 0;
    if (spec->tenant[0] == '\0')
        return errprintf(err, "job %d: no tenant (the tenants file %s needs one for every job)",
                         spec->id, s->ten->cfg->path);
    pv->tenant = tenants_find(s->ten->cfg, spec->tenant);
    if (pv->tenant < 0)
        return errprintf(err, "job %d: tenant '%s' is not in the tenants file %s", spec->id,
                         spec->tenant, s->ten->cfg->path);
    return 0;
}

void sched__tenants_job_add(sched_t *s, struct job *j)
{
    struct sched_tenants *T = s->ten;
    int i = sched__priv(j)->tenant;
    if (!T || i < 0)
        return;
    T->t[i].demand += j->gpus;
    T->t[i].n_runnable++;
    T->waiting_round = -1;
}

void sched__tenants_job_remove(sched_t *s, struct job *j)
{
    struct sched_tenants *T = s->ten;
    struct job_priv *pv = sched__priv(j);
    if (!T || pv->tenant < 0)
        return;
    T->t[pv->tenant].demand -= j->gpus;
    T->t[pv->tenant].n_runnable--;
    T->waiting_round = -1;
    if (pv->prev_pos >= 0 && (size_t)pv->prev_pos < T->n_prev && T->prev[pv->prev_pos] == j)
        T->prev[pv->prev_pos] = NULL;
    pv->prev_pos = -1;
}

/* ------------------------------------------------------------ the shares */

/* Water-fill `pool` GPUs among the tenants idx[0..m) in proportion to P,
 * each up to cap[k] (a tenant that would pass its cap gets it, and the rest
 * is divided again among the others), then round down and give the
 * leftovers to the largest remainders (ties to the earlier tenant). Adds the
 * shares to out[]. */
static void divide(struct sched_tenants *T, const int *idx, int m, const double *cap, int pool,
                   int *out)
{
    double *x = T->x, *p = T->p;
    bool *full = xcalloc((size_t)m + 1, sizeof *full);
    int *fl = xcalloc((size_t)m + 1, sizeof *fl);
    for (int k = 0; k < m; k++)
        x[idx[k]] = 0;
    double left = pool;
    for (int iter = 0; iter <= m && left > 1e-9; iter++) {
        double sum = 0;
        for (int k = 0; k < m; k++)
            sum += full[k] ? 0 : p[idx[k]];
        if (!(sum > 0))
            break;
        double ratio = left / sum;
        bool any = false;
        for (int k = 0; k < m; k++) {
            int i = idx[k];
            if (!full[k] && x[i] + ratio * p[i] >= cap[k]) {
                left -= cap[k] - x[i];
                x[i] = cap[k];
                full[k] = any = true;
            }
        }
        if (any)
            continue;
        for (int k = 0; k < m; k++)
            if (!full[k])
                x[idx[k]] += ratio * p[idx[k]];
        left = 0;
    }
    double sum_x = 0;
    int floors = 0;
    for (int k = 0; k < m; k++) {
        sum_x += x[idx[k]];
        fl[k] = (int)floor(x[idx[k]] + 1e-9);
        floors += fl[k];
    }
    int total = (int)floor(sum_x + 1e-9);
    bool *got = full; /* reused: a tenant gets at most one leftover */
    memset(got, 0, sizeof *got * (size_t)m);
    for (; floors < total; floors++) {
        int best = -1;
        for (int k = 0; k < m; k++) {
            double r = x[idx[k]] - fl[k];
            if (!got[k] && fl[k] + 1 <= cap[k] + 1e-9 &&
                (best < 0 || r > x[idx[best]] - fl[best] + 1e-12))
                best = k;
        }
        if (best < 0)
            break;
        fl[best]++;
        got[best] = true;
    }
    for (int k = 0; k < m; k++)
        out[idx[k]] += fl[k];
    free(full);
    free(fl);
}

/* KAI's over-quota weights of the tenants idx[0..m) (into T->p). */
static void weights(struct sched_tenants *T, const int *idx, int m)
{
    double wsum = 0, psum = 0;
    for (int k = 0; k < m; k++)
        wsum += T->t[idx[k]].weight;
    for (int k = 0; k < m; k++) {
        int i = idx[k];
        double w = T->t[i].weight / wsum;
        double u = T->cap_num > 0 ? T->t[i].num / T->cap_num : 0;
        T->p[i] = fmax(0, w + T->cfg->k * (w - u));
        psum += T->p[i];
    }
    if (!(psum > 0)) /* all penalised to 0: their weights alone */
        for (int k = 0; k < m; k++)
            T->p[idx[k]] = T->t[idx[k]].weight / wsum;
}

struct pools {
    int root;          /* GPUs no quota covers, free */
    int *coh;          /* per cohort: its members' lendable unused quota */
    int root_left, *coh_left;
};

/* The pools after pass 1, and each tenant's share of them. */
static void shares(sched_t *s, struct pools *pl, int free_gpus)
{
    struct sched_tenants *T = s->ten;
    long quotas = 0;
    for (int i = 0; i < T->n; i++)
        quotas += T->t[i].quota;
    int up = s->n_free;
    for (int i = 0; i < T->n; i++)
        up += T->t[i].used;
    pl->root = (int)fmin(free_gpus, fmax(0, (double)up - (double)quotas));
    int rest = free_gpus - pl->root;
    for (int c = 0; c < T->n_cohorts; c++)
        pl->coh[c] = 0;
    for (int i = 0; i < T->n; i++) {
        struct trt *t = &T->t[i];
        int wait = t->demand - t->used - t->failed_gpus;
        int unused = t->quota - t->used > 0 ? t->quota - t->used : 0;
        int reserve = wait > 0 ? (wait < unused ? wait : unused) : 0; /* its own jobs' */
        int lend = unused - reserve;
        if (t->lend_limit >= 0 && lend > t->lend_limit)
            lend = t->lend_limit;
        t->lendable = lend;
        t->request = wait - reserve;
        pl->coh[t->cohort] += lend;
        t->share = t->share_root = 0;
    }
    for (int c = 0; c < T->n_cohorts; c++) {
        if (pl->coh[c] > rest)
            pl->coh[c] = rest;
        rest -= pl->coh[c];
    }
    double *cap = xmalloc(sizeof *cap * (size_t)T->n + 1);
    for (int c = -1; c < T->n_cohorts; c++) {
        int m = 0;
        for (int i = 0; i < T->n; i++) {
            struct trt *t = &T->t[i];
            int want = t->request - t->share;
            int room = t->borrow_limit >= 0 ? t->borrow_limit - t->share : want;
            if (want <= 0 || room <= 0 || (c >= 0 && t->cohort != c))
                continue;
            cap[m] = fmin(want, room);
            T->idx[m++] = i;
        }
        if (m == 0)
            continue;
        weights(T, T->idx, m);
        int *out = xcalloc((size_t)T->n, sizeof *out);
        divide(T, T->idx, m, cap, c < 0 ? pl->root : pl->coh[c], out);
        for (int i = 0; i < T->n; i++) {
            T->t[i].share += out[i];
            if (c < 0)
                T->t[i].share_root = out[i];
        }
        free(out);
    }
    free(cap);
    pl->root_left = pl->root;
    for (int c = 0; c < T->n_cohorts; c++)
        pl->coh_left[c] = pl->coh[c];
}

/* ------------------------------------------------------------ admission */

/* GPUs of j that its tenant holds above its quota if j is placed. */
static int over_quota(const struct trt *t, int g)
{
    int in = t->quota - t->used;
    if (in < 0)
        in = 0;
    return g > in ? g - in : 0;
}

/* What the mode would give j of CPU and memory, for the tenant's quotas. */
static void job_charge(const sched_t *s, const struct job *j, int g, double out[2])
{
    if (s->p.mode->fair) {
        out[0] = s->fair[RES_CPU] * g;
        out[1] = s->fair[RES_MEM] * g;
    } else {
        out[0] = sched__priv(j)->dem[0];
        out[1] = sched__priv(j)->dem[1];
    }
}

static bool cpu_mem_ok(const sched_t *s, const struct trt *t, const struct job *j, int g)
{
    if (t->cpus_q < 0 && t->mem_q < 0)
        return true;
    double c[2];
    job_charge(s, j, g, c);
    return (t->cpus_q < 0 || t->cpus + c[0] <= t->cpus_q + 1e-9) &&
           (t->mem_q < 0 || t->mem + c[1] <= t->mem_q + 1e-9);
}

/* The GPU types j may use within its tenant's per-type quotas (pass 1). */
static unsigned type_room(const sched_t *s, const struct trt *t, int g)
{
    unsigned m = 0;
    for (int k = 0; k < s->n_types; k++)
        if (t->type_q[k] < 0 || t->type_used[k] + g <= t->type_q[k])
            m |= 1u << k;
    return m;
}

static void account(sched_t *s, struct trt *t, struct job *j, int g, int borrowed)
{
    double c[2];
    job_charge(s, j, g, c);
    t->used += g;
    t->borrowed += borrowed;
    t->cpus += c[0];
    t->mem += c[1];
    t->running++;
    if (s->typed)
        for (int k = 0; k < j->n_alloc; k++)
            t->type_used[s->spec[s->gpu_server[j->alloc_gpus[k]]].gpu_type]++;
    state_set(s->ten, j, TS_PLACED);
}

/* Place j (mask: the GPU types it may use, ~0: any). 0 or -1 (marked failed). */
static int try_place(sched_t *s, struct job *j, int g, unsigned mask)
{
    struct job_priv *pv = sched__priv(j);
    unsigned keep = pv->type_mask;
    if (s->typed && (keep & mask) != keep) {
        if ((keep & mask) == 0) {
            state_set(s->ten, j, TS_FAILED);
            return -1;
        }
        pv->type_mask = keep & mask;
    }
    struct sched_tenants *T = s->ten;
    xgrow((void **)&T->touched, &T->cap_touched, T->n_touched + 1, sizeof *T->touched);
    T->touched[T->n_touched++] = j; /* the mode may change its speedup: reset next round */
    int rc = sched__allocate(s, s->p.mode, j, g);
    pv->type_mask = keep;
    if (rc == 0) {
        sched__placed_add(s, j);
        return 0;
    }
    state_set(s->ten, j, TS_FAILED);
    return -1;
}

/* Borrow b GPUs for tenant t from the pools (root first, then its cohort's). */
static bool pools_take(struct pools *pl, const struct trt *t, int b)
{
    if (b > pl->root_left + pl->coh_left[t->cohort])
        return false;
    int r = b < pl->root_left ? b : pl->root_left;
    pl->root_left -= r;
    pl->coh_left[t->cohort] -= b - r;
    return true;
}

/* ------------------------------------------------------------ the walk */

/* The round's order: every runnable job keyed by the policy (the reference's
 * stable re-sort, ties in last round's order), starved jobs bumped after
 * their key is taken (as the legacy walk does), the jobs the mode touched
 * last round reset, and each tenant's jobs listed in that order. */
static void order_jobs(sched_t *s, const struct sched_view *v)
{
    struct sched_tenants *T = s->ten;
    size_t n = s->n_runnable;
    xgrow((void **)&s->sort_items, &s->cap_sort, 2 * n + 2, sizeof *s->sort_items);
    struct qitem *it = s->sort_items;
    for (size_t i = 0; i < n; i++) {
        struct job *j = s->runnable[i];
        it[i].tie = (long long)i;
        it[i].j = j;
        s->p.policy->key(v, j, it[i].k);
        if (sched__starved(s, sched__starve_ref(j), v->now))
            j->priority = 1;
    }
    sched__sort_nearly(it, n, it + n, false);
    for (size_t k = 0; k < T->n_touched; k++)
        sched__job_round_reset(T->touched[k]);
    T->n_touched = 0;
    int o = 0;
    for (int i = 0; i < T->n; i++) {
        T->off[i] = o;
        o += T->t[i].n_runnable;
        T->len[i] = 0;
    }
    xgrow((void **)&T->rank_buf, &T->cap_rank, n + 1, sizeof *T->rank_buf);
    for (size_t r = 0; r < n; r++) {
        struct job *j = it[r].j;
        s->runnable[r] = j;
        int i = sched__priv(j)->tenant;
        T->rank_buf[T->off[i] + T->len[i]++] = (int)r;
    }
}

enum pass { PASS_NOMINAL, PASS_SHARE, PASS_REST };

/* Whether tenant t can still admit a job in this pass. */
static bool tenant_open(const struct sched_tenants *T, const struct trt *t, const struct pools *pl,
                        enum pass p)
{
    switch (p) {
    case PASS_NOMINAL:
        return t->used < t->quota;
    case PASS_SHARE:
        return t->share > t->borrowed;
    case PASS_REST:
        return (t->borrow_limit < 0 || t->borrowed < t->borrow_limit) &&
               pl->root_left + pl->coh_left[t->cohort] > 0;
    }
    (void)T;
    return false;
}

static int heap_key(const struct sched_tenants *T, int i)
{
    return T->rank_buf[T->off[i] + T->cur[i]];
}

static void heap_down(struct sched_tenants *T, int k)
{
    int n = T->n_heap, x = T->heap[k], kx = heap_key(T, x);
    for (;;) {
        int c = 2 * k + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_key(T, T->heap[c + 1]) < heap_key(T, T->heap[c]))
            c++;
        if (heap_key(T, T->heap[c]) >= kx)
            break;
        T->heap[k] = T->heap[c];
        k = c;
    }
    T->heap[k] = x;
}

/* Pass 1: a job within its tenant's nominal quota. */
static void admit_nominal(sched_t *s, struct trt *t, struct job *j)
{
    struct sched_tenants *T = s->ten;
    int g = j->gpus - j->n_alloc;
    if (g <= 0 || g > s->n_free)
        return;
    if (t->used + g > t->quota || !cpu_mem_ok(s, t, j, g) ||
        (t->max_run >= 0 && t->used + g > t->max_run)) {
        state_set(T, j, TS_OVER);
        return;
    }
    unsigned room = s->typed ? type_room(s, t, g) : ~0u;
    if (try_place(s, j, g, room) == 0)
        account(s, t, j, g, 0);
    else if (room != ~0u && (sched__priv(j)->type_mask & ~room))
        state_set(T, j, TS_OVER_TYPE); /* the types it could not use may lend */
    else
        t->failed_gpus += g;
}

/* Pass 2 (share) or 3 (within the borrowing limit) for one job. */
static void borrow(sched_t *s, struct pools *pl, struct job *j, bool by_share)
{
    const struct sched_tenants *T = s->ten;
    enum tstate st = state_of(T, j);
    if (st == TS_PLACED || st == TS_FAILED)
        return;
    struct trt *t = &T->t[sched__priv(j)->tenant];
    int g = j->gpus - j->n_alloc;
    if (g <= 0 || g > s->n_free)
        return;
    int b = st == TS_OVER_TYPE ? g : over_quota(t, g);
    int limit = by_share ? t->share : t->borrow_limit;
    if ((limit >= 0 && t->borrowed + b > limit) || b > pl->root_left + pl->coh_left[t->cohort] ||
        !cpu_mem_ok(s, t, j, g) || (t->max_run >= 0 && t->used + g > t->max_run))
        return;
    int root0 = pl->root_left, coh0 = pl->coh_left[t->cohort];
    pools_take(pl, t, b);
    if (try_place(s, j, g, ~0u) == 0) {
        account(s, t, j, g, b);
        return;
    }
    t->failed_gpus += g;
    pl->root_left = root0;
    pl->coh_left[t->cohort] = coh0;
}

/* One pass over the runnable jobs in policy order, restricted to the tenants
 * that can still admit a job in it (a merge of their lists by rank: a tenant
 * leaves it once it cannot admit more, so a tenant at its quota costs
 * nothing). Stops when no GPU is free. */
static void pass_run(sched_t *s, struct pools *pl, enum pass p)
{
    struct sched_tenants *T = s->ten;
    T->n_heap = 0;
    for (int i = 0; i < T->n; i++) {
        T->cur[i] = 0;
        if (T->len[i] > 0 && tenant_open(T, &T->t[i], pl, p))
            T->heap[T->n_heap++] = i;
    }
    for (int k = T->n_heap / 2 - 1; k >= 0; k--)
        heap_down(T, k);
    while (T->n_heap > 0 && s->n_free > 0) {
        int i = T->heap[0];
        struct trt *t = &T->t[i];
        struct job *j = s->runnable[T->rank_buf[T->off[i] + T->cur[i]++]];
        if (p == PASS_NOMINAL)
            admit_nominal(s, t, j);
        else
            borrow(s, pl, j, p == PASS_SHARE);
        if (T->cur[i] < T->len[i] && tenant_open(T, t, pl, p)) {
            heap_down(T, 0);
        } else {
            T->heap[0] = T->heap[--T->n_heap];
            if (T->n_heap > 0)
                heap_down(T, 0);
        }
    }
}

/* What each tenant lent this round: its cohort's borrowed GPUs, in proportion
 * to what each member had to lend. */
static void round_close(sched_t *s, const struct pools *pl)
{
    struct sched_tenants *T = s->ten;
    for (int c = 0; c < T->n_cohorts; c++) {
        int lent = pl->coh[c] - pl->coh_left[c], lendable = 0;
        for (int i = 0; i < T->n; i++)
            lendable += T->t[i].cohort == c ? T->t[i].lendable : 0;
        for (int i = 0; lendable > 0 && i < T->n; i++)
            if (T->t[i].cohort == c)
                T->t[i].lent = (double)lent * T->t[i].lendable / lendable;
    }
}

/* ------------------------------------------------------------ usage */

/* One round's sample into the decayed sums (x: GPUs per tenant, NULL: all 0). */
static void push_sample(struct sched_tenants *T, const int *x, int cap)
{
    if (T->window > 0) {
        int slot = T->ring_i;
        bool full = T->ring_n == T->window;
        for (int i = 0; i < T->n; i++) {
            struct trt *t = &T->t[i];
            double v = x ? x[i] : 0;
            t->num = T->d * t->num + v - (full ? T->d_w * t->ring[slot] : 0);
            t->ring[slot] = v;
        }
        T->cap_num = T->d * T->cap_num + cap - (full ? T->d_w * T->cap_ring[slot] : 0);
        T->cap_ring[slot] = cap;
        T->ring_i = (slot + 1) % T->window;
        if (!full)
            T->ring_n++;
        if (++T->pushes >= T->window) { /* recount exactly: no drift from the subtractions */
            T->pushes = 0;
            for (int i = -1; i < T->n; i++) {
                const double *ring = i < 0 ? T->cap_ring : T->t[i].ring;
                double sum = 0;
                for (int a = 0; a < T->ring_n; a++) /* oldest first */
                    sum = T->d * sum + ring[(T->ring_i - T->ring_n + a + T->window) % T->window];
                *(i < 0 ? &T->cap_num : &T->t[i].num) = sum;
            }
        }
        return;
    }
    for (int i = 0; i < T->n; i++)
        T->t[i].num = T->d * T->t[i].num + (x ? x[i] : 0);
    T->cap_num = T->d * T->cap_num + cap;
}

/* After the plan of the round at `now`: the last round's sample (and zero
 * samples for rounds a gap skipped) join the sums; this round's waits. */
static void usage_round_end(sched_t *s, double now)
{
    struct sched_tenants *T = s->ten;
    double round = s->p.round_duration;
    int cap = s->n_free;
    int *x = xmalloc(sizeof *x * (size_t)T->n);
    for (int i = 0; i < T->n; i++) {
        struct trt *t = &T->t[i];
        cap += t->used;
        x[i] = t->pending;
        t->pending = t->used;
        t->gpu_s += t->used * round;
        t->held_sum += t->used;
        t->entitled_s += (t->demand < t->quota ? t->demand : t->quota) * round;
    }
    if (T->planned) {
        push_sample(T, x, T->cap_pending);
        long skipped = (long)floor((now - T->last_now) / round + 0.5) - 1;
        if (T->window > 0 && skipped > T->window)
            skipped = T->window;
        for (long k = 0; k < skipped; k++)
            push_sample(T, NULL, T->cap_pending);
    }
    T->cap_pending = cap;
    T->planned = true;
    T->last_now = now;
    T->rounds++;
    free(x);
}

/* The placed jobs become the next round's incumbents. */
static void remember_placed(sched_t *s)
{
    struct sched_tenants *T = s->ten;
    for (size_t k = 0; k < T->n_prev; k++)
        if (T->prev[k])
            sched__priv(T->prev[k])->prev_pos = -1;
    xgrow((void **)&T->prev, &T->cap_prev, s->n_placed + 1, sizeof *T->prev);
    for (size_t k = 0; k < s->n_placed; k++) {
        T->prev[k] = s->placed[k];
        sched__priv(s->placed[k])->prev_pos = (int)k;
    }
    T->n_prev = s->n_placed;
}

void sched__tenants_round(sched_t *s, const struct sched_view *v)
{
    struct sched_tenants *T = s->ten;
    order_jobs(s, v);
    for (int i = 0; i < T->n; i++) {
        struct trt *t = &T->t[i];
        t->used = t->borrowed = t->failed_gpus = t->running = 0;
        t->cpus = t->mem = t->lent = 0;
        memset(t->type_used, 0, sizeof t->type_used);
    }
    struct pools pl = {0};
    pl.coh = xcalloc((size_t)T->n_cohorts + 1, sizeof *pl.coh);
    pl.coh_left = xcalloc((size_t)T->n_cohorts + 1, sizeof *pl.coh_left);

    pass_run(s, &pl, PASS_NOMINAL);
    shares(s, &pl, s->n_free);
    pass_run(s, &pl, PASS_SHARE);
    for (size_t k = 0; k < T->n_prev && s->n_free > 0; k++)
        if (T->prev[k]) /* the jobs the previous round placed first */
            borrow(s, &pl, T->prev[k], false);
    pass_run(s, &pl, PASS_REST);
    round_close(s, &pl);
    free(pl.coh);
    free(pl.coh_left);
    remember_placed(s);
    usage_round_end(s, v->now);
}

/* ------------------------------------------------------------ queries */

int sched_tenants_count(const sched_t *s)
{
    return s->ten ? s->ten->n : 0;
}

int sched_tenant_held(const sched_t *s, int i)
{
    return s->ten->t[i].used;
}

/* A job's state in the last planned round. */
static enum tstate last_state(const struct sched_tenants *T, const struct job *j)
{
    const struct job_priv *pv = sched__priv(j);
    return pv->tround == T->rounds - 1 ? (enum tstate)pv->tstate : TS_WAIT;
}

/* Each tenant's smallest job waiting after the last round (one walk over the
 * runnable jobs, the first time it is asked for in a round). */
static void count_waiting(const sched_t *s)
{
    struct sched_tenants *T = s->ten;
    if (T->waiting_round == T->rounds)
        return;
    T->waiting_round = T->rounds;
    for (int i = 0; i < T->n; i++)
        T->t[i].min_waiting = 0;
    for (size_t k = 0; k < s->n_runnable; k++) {
        const struct job *j = s->runnable[k];
        struct trt *t = &T->t[sched__priv(j)->tenant];
        if (last_state(T, j) != TS_PLACED && (t->min_waiting == 0 || j->gpus < t->min_waiting))
            t->min_waiting = j->gpus;
    }
}

void sched_tenant_status(const sched_t *s, int i, struct sched_tenant_status *out)
{
    const struct sched_tenants *T = s->ten;
    const struct trt *t = &T->t[i];
    count_waiting(s);
    double wsum = 0;
    for (int k = 0; k < T->n; k++)
        wsum += T->t[k].weight;
    *out = (struct sched_tenant_status){
        .name = T->cfg->t[i].name,
        .quota = t->quota,
        .held = t->used,
        .borrowed = t->borrowed,
        .lent = t->lent,
        .share = t->share,
        .demand = t->demand,
        .min_waiting = t->min_waiting,
        .running = t->running,
        .queued = t->n_runnable - t->running,
        .usage = T->cap_num > 0 ? t->num / T->cap_num : 0,
        .fair_weight = t->weight / wsum,
        .gpu_s = t->gpu_s,
        .entitled_s = t->entitled_s,
        .held_sum = t->held_sum,
    };
}

int sched_job_tenant(const sched_t *s, const struct job *j)
{
    return s->ten ? sched__priv(j)->tenant : -1;
}

bool sched_job_tenant_held(const sched_t *s, const struct job *j)
{
    if (!s->ten)
        return false;
    const struct sched_tenants *T = s->ten;
    enum tstate st = last_state(T, j);
    if (st == TS_OVER || st == TS_OVER_TYPE)
        return true;
    if (st != TS_WAIT)
        return false;
    /* not reached by the walk: over its quota? */
    const struct trt *t = &T->t[sched__priv(j)->tenant];
    return t->used + j->gpus > t->quota || !cpu_mem_ok(s, t, j, j->gpus);
}
