/*
 * The free GPUs of each server, kept up to date as jobs take and release
 * GPUs, and the three questions placement asks of them, answered in a cost
 * that grows with what a round changes rather than with the cluster.
 *
 * A round's free GPUs are, in GPU id order, exactly those the reference's
 * planner offers: every GPU not held by a job and not on a server that is
 * down. They are one bit per GPU, and one bit per server that has any, so
 * taking or returning a GPU is a bit operation and a round starts without a
 * scan of the cluster.
 *
 * First fit (cluster.c) asks for the first server, from a position on, that
 * has a free GPU and room for a per-GPU vector. The walk over the servers
 * with a free GPU skips 64 full servers a word, and remembers, per vector,
 * where its last search from the start ended (a cursor): no server before it
 * can fit that vector. During a round servers only fill up, except when Tune
 * shrinks a peer or a job is released; such a server pulls every cursor back
 * to it. Cursors last one round: releases between rounds never meet one. So
 * in a round each vector passes each server at most once, plus once more per
 * shrink behind it, instead of every placement walking the servers before
 * its fit.
 *
 * Tune asks for the first server with a given number of GPUs unallocated and
 * for the server with the fewest free GPUs: walks over the servers with a
 * free GPU, as they are rare questions.
 */
#include "scheduler_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORD 64

static size_t words(int n)
{
    return ((size_t)n + WORD - 1) / WORD;
}

static void bit_set(uint64_t *b, int i)
{
    b[(unsigned)i / WORD] |= (uint64_t)1 << ((unsigned)i % WORD);
}

static void bit_clear(uint64_t *b, int i)
{
    b[(unsigned)i / WORD] &= ~((uint64_t)1 << ((unsigned)i % WORD));
}

static int bit_next(const uint64_t *b, int from, int end)
{
    return sched__bit_next(b, from, end);
}

/* The last set bit in [begin, before), or -1. */
static int bit_prev(const uint64_t *b, int begin, int before)
{
    if (before <= begin)
        return -1;
    int last = before - 1;
    size_t w = (size_t)last / WORD;
    int sh = WORD - 1 - last % WORD;
    uint64_t x = b[w] << sh >> sh;
    for (;;) {
        if (x) {
            int i = (int)(w * WORD) + WORD - 1 - __builtin_clzll(x);
            return i >= begin ? i : -1;
        }
        if (w == 0 || (int)((w - 1) * WORD + WORD - 1) < begin)
            return -1;
        x = b[--w];
    }
}

/* ----------------------------------------------------- free-GPU counts */

static inline void set_n_free(sched_t *s, int i, int n)
{
    struct free_map *m = &s->fmap;
    int d = n - s->servers[i].n_free;
    m->total_free += d;
    s->types[s->spec[i].gpu_type].n_free += d;
    s->n_free = m->view_type < 0 ? m->total_free : s->types[m->view_type].n_free;
    s->servers[i].n_free = n;
    if (n > 0)
        bit_set(s->fmap.srv_free, i);
    else
        bit_clear(s->fmap.srv_free, i);
}

/* Tune asks this only when a job gets neither its ideal nor its fair share
 * (about 1 % of placements): a walk over the servers with a free GPU costs
 * less than keeping them sorted by count through every placement. */
int sched__fewest_free_server(sched_t *s)
{
    const struct free_map *m = &s->fmap;
    int best = -1;
    for (int i = bit_next(m->srv_free, m->lo, m->hi); i >= 0; i = bit_next(m->srv_free, i + 1, m->hi)) {
        if (m->excluded[i] || !(s->servers[i].type_bit & s->place_mask))
            continue;
        if (best < 0 || s->servers[i].n_free < s->servers[best].n_free)
            best = i;
        if (s->servers[best].n_free == 1)
            break; /* none fewer, and later ones have higher ids */
    }
    return best;
}

void sched__server_exclude(sched_t *s, int i, bool excluded)
{
    s->fmap.excluded[i] = excluded;
}

bool sched__server_excluded(const sched_t *s, int i)
{
    return s->fmap.excluded[i];
}

/* ------------------------------------------------------------ free GPUs */

void sched__free_init(sched_t *s)
{
    struct free_map *m = &s->fmap;
    int S = s->n_servers, ng = sched_total_gpus(s);
    m->srv_words = words(S);
    m->gpu_free = xcalloc(words(ng), sizeof *m->gpu_free);
    m->srv_free = xcalloc(m->srv_words, sizeof *m->srv_free);
    m->excluded = xcalloc((size_t)S, sizeof *m->excluded);
    for (int g = 0; g < ng; g++)
        bit_set(m->gpu_free, g);
    m->lo = 0;
    m->hi = S;
    m->view_type = -1;
    m->total_free = s->n_free = 0;
    for (int t = 0; t < s->n_types; t++)
        s->types[t].n_free = 0;
    for (int i = 0; i < S; i++)
        set_n_free(s, i, sched__server_gpus(s, i));
}

void sched__free_view(sched_t *s, int t)
{
    struct free_map *m = &s->fmap;
    m->view_type = t;
    m->lo = t < 0 ? 0 : s->types[t].srv_lo;
    m->hi = t < 0 ? s->n_servers : s->types[t].srv_hi;
    s->n_free = t < 0 ? m->total_free : s->types[t].n_free;
}

int sched__free_of_types(const sched_t *s, unsigned mask)
{
    int n = 0;
    for (int t = 0; t < s->n_types; t++)
        if (mask & (1u << t))
            n += s->types[t].n_free;
    return n;
}

void sched__free_destroy(sched_t *s)
{
    struct free_map *m = &s->fmap;
    free(m->gpu_free);
    free(m->srv_free);
    free(m->excluded);
    free(m->cur);
    free(m->live);
}

int sched__free_before(const sched_t *s, int i, int g)
{
    return bit_prev(s->fmap.gpu_free, sched__server_gpu0(s, i), g);
}

/* Clear (take) or set (put) GPU bits, counting per server: a run of GPUs
 * on one server (most jobs' GPUs) changes its count once. A GPU already so
 * (a shrunk peer's, a down server's) is left alone. */
void sched__free_take(sched_t *s, const int *gpus, int n)
{
    uint64_t *b = s->fmap.gpu_free;
    int srv = -1, cnt = 0;
    for (int k = 0; k < n; k++) {
        unsigned g = (unsigned)gpus[k];
        uint64_t bit = (uint64_t)1 << (g % WORD);
        if (!(b[g / WORD] & bit))
            continue;
        b[g / WORD] &= ~bit;
        int i = sched__gpu_server(s, (int)g);
        if (i != srv) {
            if (cnt)
                set_n_free(s, srv, s->servers[srv].n_free - cnt);
            srv = i;
            cnt = 0;
        }
        cnt++;
    }
    if (cnt)
        set_n_free(s, srv, s->servers[srv].n_free - cnt);
}

void sched__free_put_all(sched_t *s, const int *gpus, int n)
{
    uint64_t *b = s->fmap.gpu_free;
    int srv = -1, cnt = 0;
    for (int k = 0; k < n; k++) {
        unsigned g = (unsigned)gpus[k];
        uint64_t bit = (uint64_t)1 << (g % WORD);
        if (b[g / WORD] & bit)
            continue;
        b[g / WORD] |= bit;
        int i = sched__gpu_server(s, (int)g);
        if (i != srv) {
            if (cnt)
                set_n_free(s, srv, s->servers[srv].n_free + cnt);
            srv = i;
            cnt = 0;
        }
        cnt++;
        if (s->fmap.n_live > 0) /* only a release within a round meets cursors */
            sched__server_grew(s, i);
    }
    if (cnt)
        set_n_free(s, srv, s->servers[srv].n_free + cnt);
}

void sched__free_put(sched_t *s, int g)
{
    sched__free_put_all(s, &g, 1);
}

void sched__free_drop(sched_t *s, int g)
{
    sched__free_take(s, &g, 1);
}

/* ------------------------------------------------------------- first fit */

/* Reference fit test of one more per-GPU vector on a server (cluster.c's
 * fits_with_hold: the same expression, so the same answer bit for bit). */
static bool fits(const sched_t *s, const struct server *sv, const double v[RES_COUNT])
{
    if (!(sv->type_bit & s->place_mask))
        return false;
    for (int r = 0; r < RES_COUNT; r++)
        if ((sv->cap[r] - sv->used[r]) - sv->hold[r] < v[r])
            return false;
    return true;
}

static uint64_t dbl_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* CPU and memory tell most vectors apart; equal hashes compare in full. */
static size_t vec_hash(const double v[RES_COUNT])
{
    /* short doubles (3.0, 62.5) have all-zero low bits: fold the high ones
     * down before and after each multiply */
    uint64_t h = dbl_bits(v[RES_CPU]);
    h = (h ^ h >> 29) * 0x9e3779b97f4a7c15ULL;
    h ^= dbl_bits(v[RES_MEM]);
    h = (h ^ h >> 31) * 0xff51afd7ed558ccdULL;
    return (size_t)(h ^ h >> 33);
}

static bool vec_eq(const double *a, const double *b)
{
    return a[RES_CPU] == b[RES_CPU] && a[RES_MEM] == b[RES_MEM] && a[RES_GPU] == b[RES_GPU] &&
           a[RES_SSPEED] == b[RES_SSPEED] && a[RES_NET] == b[RES_NET];
}

/* The cursor of vector v in the current view this round (a new one starts
 * at the view's first server). */
static struct fit_cursor *cursor_get(sched_t *s, const double v[RES_COUNT])
{
    struct free_map *m = &s->fmap;
    if (2 * ((size_t)m->n_live + 1) > m->n_cur) {
        /* grow and drop: the table is only this round's */
        size_t n = m->n_cur ? 2 * m->n_cur : 64;
        free(m->cur);
        m->cur = xcalloc(n, sizeof *m->cur);
        m->n_cur = n;
        m->epoch = 1;
        m->n_live = 0;
        xgrow((void **)&m->live, &m->cap_live, n, sizeof *m->live);
    }
    size_t mask = m->n_cur - 1, k = (vec_hash(v) + (size_t)(m->view_type + 1)) & mask;
    for (; m->cur[k].epoch == m->epoch; k = (k + 1) & mask)
        if (m->cur[k].view == m->view_type && vec_eq(m->cur[k].v, v))
            return &m->cur[k];
    struct fit_cursor *c = &m->cur[k];
    memcpy(c->v, v, sizeof c->v);
    c->view = m->view_type;
    c->pos = m->lo;
    c->epoch = m->epoch;
    m->live[m->n_live++] = (int)k;
    return c;
}

/* The search covers the servers placement may use ([lo, hi): all, or a GPU
 * type's). A cursor belongs to a vector and a range, and speaks for the
 * servers of the range before it; it is used when the search starts at the
 * range's start and every server of the range may be used (not when
 * --hetero agnostic keeps a job off some types). */
int sched__first_fit_server(sched_t *s, int from, const double v[RES_COUNT])
{
    const struct free_map *m = &s->fmap;
    struct fit_cursor *c = NULL;
    if (from < m->lo)
        from = m->lo;
    if (from == m->lo && (s->place_mask == ~0u || m->view_type >= 0)) {
        c = cursor_get(s, v);
        if (c->pos > from)
            from = c->pos;
    }
    int i = bit_next(m->srv_free, from, m->hi);
    while (i >= 0 && !fits(s, &s->servers[i], v))
        i = bit_next(m->srv_free, i + 1, m->hi);
    if (c) /* no server of the range before i (or its end) fits v */
        c->pos = i >= 0 ? i : m->hi;
    return i;
}

void sched__server_grew(sched_t *s, int i)
{
    struct free_map *m = &s->fmap;
    for (int k = 0; k < m->n_live; k++)
        if (m->cur[m->live[k]].pos > i)
            m->cur[m->live[k]].pos = i;
}

void sched__fit_forget(sched_t *s)
{
    struct free_map *m = &s->fmap;
    m->epoch++;
    m->n_live = 0;
}

/* A server whose GPUs are all held has none unallocated (its used GPUs are
 * the sum of its jobs' shares of them), so only servers with a free GPU can
 * have `gpus` >= 1 left; unless a server is down, or OPT's compatible
 * formulation charged shares to servers other than their GPUs': then every
 * server is a candidate. */
int sched__first_server_with_gpus(sched_t *s, double gpus)
{
    const struct free_map *m = &s->fmap;
    bool all = s->n_down > 0 || s->p.opt_compat;
    for (int i = all ? m->lo : bit_next(m->srv_free, m->lo, m->hi); i >= 0 && i < m->hi;
         i = all ? i + 1 : bit_next(m->srv_free, i + 1, m->hi))
        if (s->servers[i].cap[RES_GPU] - s->servers[i].used[RES_GPU] >= gpus &&
            (s->servers[i].type_bit & s->place_mask))
            return i;
    return -1;
}
