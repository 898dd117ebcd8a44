/*
 * The runnable queue, kept in policy order incrementally, so that a round
 * costs what it decides rather than what is waiting.
 *
 * The reference re-sorts every runnable job every round (a stable sort: equal
 * keys keep the previous round's order), walks the whole list, and bumps the
 * priority of every job that has starved for 1000 h. Here the same order is
 * produced lazily:
 *
 *  - A waiting job's key only changes when something happens to it: it runs
 *    (progress, attained service, last_exec), a mode touches it (Tune drops
 *    its speedup; the next round resets it), or it is bumped. Such jobs are
 *    "hot": re-keyed at the start of the next round. Everyone else is "cold",
 *    in a heap ordered by (key, tie), one per demand class (the jobs asking
 *    for the same GPUs, CPUs, memory and storage). FTF's key also grows with
 *    `now`; a cold FTF key is a lower bound (the key never decreases while
 *    the job waits) and is refreshed only when it reaches the top of its heap.
 *  - The walk merges the sorted hot list with the tops of the classes still
 *    in the walk (a heap of class tops). A class leaves the walk for the rest
 *    of the round when it asks for more GPUs than are free, or when an
 *    allocation of its demand failed in a monotone mode (GREEDY, fair: they
 *    only take resources, so every later job of that demand fails too): its
 *    jobs would be walked without effect. The walk stops as soon as no job
 *    left can fit the free GPUs (a count of the jobs not yet walked by GPU
 *    demand), no class is left, or no GPU is left. So a GREEDY round whose
 *    CPUs run out before its GPUs tries each demand once, not every job.
 *  - `tie` reproduces the stable sort: it orders jobs with equal keys. A job
 *    whose key did not change keeps it; a job whose key grew was, in the last
 *    round's order, before every unchanged job now equal to it, so it gets a
 *    tie smaller than any in use; one whose key shrank gets one larger than
 *    any (in the last order's sequence, so several movers keep their order);
 *    new arrivals come after all of them, as appended jobs do. FTF: a waiting
 *    job's key grows with `now` alone, as every waiting job's does, so it
 *    keeps its tie whether or not the walk reached it.
 *  - Starvation candidates come from a heap on last-run time (lazily updated:
 *    a stale entry only ever lags, so it surfaces early and is re-filed).
 *
 * Known limit (FTF only): two waiting FTF jobs of the same arrival time whose
 * keys are equal in one round but not in the previous one are ordered as if
 * they had been equal before too. Jobs with identical parameters, and every
 * other policy, are exact. The reference runs and the Pollux fixture check
 * the results.
 */
#include "scheduler_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ comparisons */

static int key_cmp(const double *a, long long ta, const double *b, long long tb)
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return ta < tb ? -1 : ta > tb;
}

/* ------------------------------------------------------------ cold heap */

/* A 4-ary heap: half the levels of a binary one, and each level moved costs
 * a write into the moved job (its heap position), a cache miss in a long
 * queue; the four children lie side by side.
 *
 * One heap per demand class: the jobs asking for the same GPUs, CPUs, memory
 * and storage bandwidth (struct qclass). The walk takes the smallest top
 * among the classes still in it (a second heap of class tops), and parks a
 * class for the rest of the round when its GPU demand exceeds the free GPUs,
 * or when an allocation of that demand failed in a mode where resources are
 * only ever taken (sched_mode_ops.monotone): every later job of the class
 * would be walked without effect. Such a walk changes nothing, as its key is
 * the same next round (FTF's grows; its cold keys are lower bounds,
 * refreshed when they reach the top of their class). */
#define COLD_D 4

static bool cold_less(const struct qent *x, const struct qent *y)
{
    return key_cmp(x->k, x->tie, y->k, y->tie) < 0;
}

static void cold_set(struct cold_heap *h, size_t i, struct qent e)
{
    h->e[i] = e;
    e.j->q.heap_pos = (int)i;
}

static void cold_up(struct cold_heap *h, size_t i)
{
    struct qent e = h->e[i];
    while (i > 0) {
        size_t p = (i - 1) / COLD_D;
        if (!cold_less(&e, &h->e[p]))
            break;
        cold_set(h, i, h->e[p]);
        i = p;
    }
    cold_set(h, i, e);
}

static void cold_down(struct cold_heap *h, size_t i)
{
    struct qent e = h->e[i];
    size_t n = h->n;
    for (;;) {
        size_t first = COLD_D * i + 1, c = first;
        if (first >= n)
            break;
        for (size_t k = first + 1; k < first + COLD_D && k < n; k++)
            if (cold_less(&h->e[k], &h->e[c]))
                c = k;
        if (!cold_less(&h->e[c], &e))
            break;
        cold_set(h, i, h->e[c]);
        i = c;
    }
    cold_set(h, i, e);
}

/* ------------------------------------------------------ class tops heap */

/* A binary heap of the classes in this round's walk (not empty, not
 * parked), ordered by their heaps' tops. */
static bool tops_less(const sched_t *s, int a, int b)
{
    return cold_less(&s->cls[a].h.e[0], &s->cls[b].h.e[0]);
}

static void tops_set(sched_t *s, int i, int c)
{
    s->tops[i] = c;
    s->cls[c].top_pos = i;
}

static void tops_up(sched_t *s, int i)
{
    int c = s->tops[i];
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!tops_less(s, c, s->tops[p]))
            break;
        tops_set(s, i, s->tops[p]);
        i = p;
    }
    tops_set(s, i, c);
}

static void tops_down(sched_t *s, int i)
{
    int c = s->tops[i], n = s->n_tops;
    for (;;) {
        int k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && tops_less(s, s->tops[k + 1], s->tops[k]))
            k++;
        if (!tops_less(s, s->tops[k], c))
            break;
        tops_set(s, i, s->tops[k]);
        i = k;
    }
    tops_set(s, i, c);
}

static void tops_insert(sched_t *s, int c)
{
    xgrow((void **)&s->tops, &s->cap_tops, (size_t)s->n_tops + 1, sizeof *s->tops);
    tops_set(s, s->n_tops++, c);
    tops_up(s, s->n_tops - 1);
}

static void tops_remove(sched_t *s, int c)
{
    int i = s->cls[c].top_pos;
    s->cls[c].top_pos = -1;
    if (i == --s->n_tops)
        return;
    tops_set(s, i, s->tops[s->n_tops]);
    if (i > 0 && tops_less(s, s->tops[i], s->tops[(i - 1) / 2]))
        tops_up(s, i);
    else
        tops_down(s, i);
}

/* ------------------------------------------------------- demand classes */

static uint64_t mix64(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

static uint64_t dbl_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static uint64_t class_hash(const struct qclass *q)
{
    uint64_t h = mix64(0, (uint64_t)q->gpus);
    h = mix64(h, dbl_bits(q->cpu));
    h = mix64(h, dbl_bits(q->mem));
    h = mix64(h, dbl_bits(q->sspeed));
    h = mix64(h, (uint64_t)(uintptr_t)q->tp);
    return mix64(h, q->type_mask);
}

/* j's demand as a class key. On a cluster with GPU types a job's demand
 * on each type comes from its (model, GPUs) table, and it may use only some
 * types: both are part of the key. */
static struct qclass class_key(const struct job *j)
{
    const struct job_priv *pv = sched__priv(j);
    return (struct qclass){.gpus = j->gpus, .cpu = j->cpu_demand, .mem = j->mem_demand,
                           .sspeed = j->sspeed_demand, .tp = pv->tp, .type_mask = pv->type_mask,
                           .top_pos = -1};
}

static bool class_eq(const struct qclass *a, const struct qclass *b)
{
    return a->gpus == b->gpus && a->cpu == b->cpu && a->mem == b->mem && a->sspeed == b->sspeed &&
           a->tp == b->tp && a->type_mask == b->type_mask;
}

/* The slot table: class index + 1, or 0 for an empty slot (open addressing). */
static void class_rehash(sched_t *s)
{
    size_t n = s->n_slots ? 2 * s->n_slots : 64;
    int *t = xcalloc(n, sizeof *t);
    for (int c = 0; c < s->n_cls; c++) {
        size_t i = class_hash(&s->cls[c]) & (n - 1);
        while (t[i])
            i = (i + 1) & (n - 1);
        t[i] = c + 1;
    }
    free(s->cls_slot);
    s->cls_slot = t;
    s->n_slots = n;
}

/* The class of j's demand, created on first use (classes live as long as
 * the scheduler: a run has as many as distinct (model, GPUs) demands). */
static int class_of(sched_t *s, const struct job *j)
{
    if (2 * ((size_t)s->n_cls + 1) > s->n_slots)
        class_rehash(s);
    struct qclass key = class_key(j);
    size_t mask = s->n_slots - 1;
    size_t i = class_hash(&key) & mask;
    for (; s->cls_slot[i]; i = (i + 1) & mask)
        if (class_eq(&s->cls[s->cls_slot[i] - 1], &key))
            return s->cls_slot[i] - 1;
    xgrow((void **)&s->cls, &s->cap_cls, (size_t)s->n_cls + 1, sizeof *s->cls);
    s->cls[s->n_cls] = key;
    s->cls_slot[i] = s->n_cls + 1;
    return s->n_cls++;
}

/* Take a class out of this round's walk. */
static void class_park(sched_t *s, int c)
{
    struct qclass *q = &s->cls[c];
    if (q->parked)
        return;
    if (q->top_pos >= 0)
        tops_remove(s, c);
    q->parked = true;
    xgrow((void **)&s->parked, &s->cap_parked, (size_t)s->n_parked + 1, sizeof *s->parked);
    s->parked[s->n_parked++] = c;
}

/* Round end: every parked class back in the walk. */
static void class_unpark_all(sched_t *s)
{
    for (int i = 0; i < s->n_parked; i++) {
        int c = s->parked[i];
        s->cls[c].parked = false;
        if (s->cls[c].h.n > 0)
            tops_insert(s, c);
    }
    s->n_parked = 0;
}

void sched__queue_class_failed(sched_t *s, const struct job *j)
{
    class_park(s, j->q.cls);
}

bool sched__queue_class_parked(const sched_t *s, const struct job *j)
{
    return s->cls[j->q.cls].parked;
}

static void cold_push(sched_t *s, struct job *j)
{
    int c = j->q.cls;
    struct qclass *q = &s->cls[c];
    struct cold_heap *h = &q->h;
    xgrow((void **)&h->e, &h->cap, h->n + 1, sizeof *h->e);
    struct qent e = {{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
    h->e[h->n++] = e;
    j->q.heap_pos = (int)(h->n - 1);
    cold_up(h, h->n - 1);
    if (q->parked)
        return;
    if (q->top_pos < 0)
        tops_insert(s, c);
    else if (j->q.heap_pos == 0)
        tops_up(s, q->top_pos);
}

static void cold_remove(sched_t *s, struct job *j)
{
    int c = j->q.cls;
    struct qclass *q = &s->cls[c];
    struct cold_heap *h = &q->h;
    size_t i = (size_t)j->q.heap_pos;
    j->q.heap_pos = -1;
    h->n--;
    if (h->n == 0) {
        if (q->top_pos >= 0)
            tops_remove(s, c);
        return;
    }
    if (i == h->n)
        return;
    cold_set(h, i, h->e[h->n]);
    if (i > 0 && cold_less(&h->e[i], &h->e[(i - 1) / COLD_D]))
        cold_up(h, i);
    else
        cold_down(h, i);
    if (i == 0 && q->top_pos >= 0) /* the new top comes after the old one */
        tops_down(s, q->top_pos);
}

/* ------------------------------------------------------- starvation heap */

static void bump_set(sched_t *s, size_t i, struct job *j)
{
    s->bump[i] = j;
    j->q.bump_pos = (int)i;
}

static void bump_up(sched_t *s, size_t i)
{
    struct job *j = s->bump[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!(j->q.bump_ref < s->bump[p]->q.bump_ref))
            break;
        bump_set(s, i, s->bump[p]);
        i = p;
    }
    bump_set(s, i, j);
}

static void bump_down(sched_t *s, size_t i)
{
    struct job *j = s->bump[i];
    size_t n = s->n_bump;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s->bump[c + 1]->q.bump_ref < s->bump[c]->q.bump_ref)
            c++;
        if (!(s->bump[c]->q.bump_ref < j->q.bump_ref))
            break;
        bump_set(s, i, s->bump[c]);
        i = c;
    }
    bump_set(s, i, j);
}

static void bump_remove(sched_t *s, struct job *j)
{
    size_t i = (size_t)j->q.bump_pos;
    j->q.bump_pos = -1;
    s->n_bump--;
    if (i == s->n_bump)
        return;
    bump_set(s, i, s->bump[s->n_bump]);
    if (i > 0 && s->bump[i]->q.bump_ref < s->bump[(i - 1) / 2]->q.bump_ref)
        bump_up(s, i);
    else
        bump_down(s, i);
}

/* ------------------------------------------- jobs not yet walked, by GPUs */

/* Jobs not walked yet, counted by GPU demand (a bit per demand with a
 * count), and a lower bound on the smallest demand counted: adding lowers
 * it, removing leaves it, and the question "does any fit?" raises it to the
 * next demand counted, 64 demands a word. */
static void unwalked_add(sched_t *s, const struct job *j, int d)
{
    int g = j->gpus <= s->unwalked_n ? j->gpus : s->unwalked_n;
    s->unwalked[g] += d;
    if (s->unwalked[g] == 0)
        s->unwalked_bits[g / 64] &= ~((uint64_t)1 << (g % 64));
    else
        s->unwalked_bits[g / 64] |= (uint64_t)1 << (g % 64);
    if (d > 0 && g < s->unwalked_lo)
        s->unwalked_lo = g;
}

bool sched__queue_any_fits(sched_t *s, int free_gpus)
{
    if (free_gpus > s->unwalked_n)
        free_gpus = s->unwalked_n;
    if (s->unwalked_lo <= free_gpus && s->unwalked[s->unwalked_lo] == 0) {
        int lo = sched__bit_next(s->unwalked_bits, s->unwalked_lo, free_gpus + 1);
        s->unwalked_lo = lo < 0 ? free_gpus + 1 : lo;
    }
    return s->unwalked_lo <= free_gpus;
}

/* ---------------------------------------------------------- nearly sorted */

static int qitem_cmp(const struct qitem *x, const struct qitem *y)
{
    return key_cmp(x->k, x->tie, y->k, y->tie);
}

/* Sort ascending (desc = false) or descending by (key, tie). The lists here
 * are close to sorted (last round's order): binary insertion sort, one
 * comparison per item in place and a binary search and a memmove for each
 * one out of place (LAS: the jobs that ran overtake each other by GPU
 * count), with a budget of items moved; past it, a natural merge sort,
 * O(n log runs). */
void sched__sort_nearly(struct qitem *a, size_t n, struct qitem *tmp, bool desc)
{
    int sgn = desc ? -1 : 1;
    size_t budget = 32 * n + 1024;
    size_t i = 1;
    for (; i < n; i++) {
        if (sgn * qitem_cmp(&a[i - 1], &a[i]) <= 0)
            continue;
        /* a[0..i) is sorted and a[i-1] goes after a[i]: find the first
         * item there that goes after it */
        struct qitem x = a[i];
        size_t lo = 0, hi = i - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sgn * qitem_cmp(&a[mid], &x) > 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (i - lo > budget)
            break;
        budget -= i - lo;
        memmove(&a[lo + 1], &a[lo], (i - lo) * sizeof *a);
        a[lo] = x;
    }
    if (i >= n)
        return;
    while (n > 1) {
        size_t out = 0, i = 0, runs = 0;
        while (i < n) {
            size_t mid = i + 1;
            while (mid < n && sgn * qitem_cmp(&a[mid - 1], &a[mid]) <= 0)
                mid++;
            size_t end = mid;
            if (mid < n) {
                end = mid + 1;
                while (end < n && sgn * qitem_cmp(&a[end - 1], &a[end]) <= 0)
                    end++;
            }
            size_t x = i, y = mid;
            while (x < mid && y < end)
                tmp[out++] = sgn * qitem_cmp(&a[y], &a[x]) < 0 ? a[y++] : a[x++];
            while (x < mid)
                tmp[out++] = a[x++];
            while (y < end)
                tmp[out++] = a[y++];
            i = end;
            runs++;
        }
        memcpy(a, tmp, n * sizeof *a);
        if (runs == 1)
            break;
    }
}

/* ------------------------------------------------------------ membership */

void sched__queue_init(sched_t *s)
{
    s->unwalked_n = sched_total_gpus(s);
    s->unwalked = xcalloc((size_t)s->unwalked_n + 2, sizeof *s->unwalked);
    s->unwalked_bits = xcalloc((size_t)s->unwalked_n / 64 + 2, sizeof *s->unwalked_bits);
    s->unwalked_lo = s->unwalked_n + 1;
}

void sched__queue_free(sched_t *s)
{
    for (int c = 0; c < s->n_cls; c++)
        free(s->cls[c].h.e);
    free(s->cls);
    free(s->cls_slot);
    free(s->tops);
    free(s->parked);
    free(s->passed);
    free(s->bump);
    free(s->hot);
    free(s->hot_next);
    free(s->qitems);
    free(s->unwalked);
    free(s->unwalked_bits);
}

static void hot_append(sched_t *s, struct job *j)
{
    xgrow((void **)&s->hot_next, &s->cap_hot_next, s->n_hot_next + 1, sizeof *s->hot_next);
    j->q.hot_pos = (int)s->n_hot_next;
    s->hot_next[s->n_hot_next++] = j;
}

void sched__queue_add(sched_t *s, struct job *j)
{
    j->q.heap_pos = j->q.hot_pos = j->q.bump_pos = -1;
    j->q.cls = class_of(s, j);
    j->q.fresh = true;
    j->q.keep_hot = false;
    /* new arrivals wait in hot_next (the list the next round starts from) */
    hot_append(s, j);
    if (j->priority == 0) {
        xgrow((void **)&s->bump, &s->cap_bump, s->n_bump + 1, sizeof *s->bump);
        j->q.bump_ref = sched__starve_ref(j);
        s->bump[s->n_bump++] = j;
        j->q.bump_pos = (int)(s->n_bump - 1);
        bump_up(s, s->n_bump - 1);
    }
    unwalked_add(s, j, 1);
}

void sched__queue_remove(sched_t *s, struct job *j)
{
    if (j->q.heap_pos >= 0)
        cold_remove(s, j);
    if (j->q.hot_pos >= 0) {
        s->hot_next[j->q.hot_pos] = NULL; /* between rounds only hot_next is live */
        j->q.hot_pos = -1;
    }
    if (j->q.bump_pos >= 0)
        bump_remove(s, j);
    unwalked_add(s, j, -1);
}

/* ----------------------------------------------------------------- round */

static void reset_for_round(struct job *j)
{
    if (j->speedup != j->speedup_orig)
        j->q.keep_hot = true; /* the key it gets now is not next round's */
    sched__job_round_reset(j);
}

/* FTF: a waiting job's key grows with `now` alone. Every waiting job's does,
 * so relative to the others it did not move: it keeps its tie whether the
 * last round walked it or not (the walk passes over whole demand classes). */
static bool drifted(const sched_t *s, const struct job *j, const double k[3])
{
    return s->p.policy->key_grows_with_now && !j->q.ran && j->q.key[0] == k[0] &&
           j->q.key[2] == k[2] && j->q.key_speedup == j->speedup;
}

void sched__queue_begin(sched_t *s, const struct sched_view *v)
{
    const struct sched_policy_ops *pol = s->p.policy;
    /* swap: hot_next becomes this round's hot list */
    struct job **t = s->hot;
    size_t cap = s->cap_hot;
    s->hot = s->hot_next;
    s->cap_hot = s->cap_hot_next;
    s->hot_next = t;
    s->cap_hot_next = cap;
    size_t n = 0;
    for (size_t i = 0; i < s->n_hot_next; i++)
        if (s->hot[i])
            s->hot[n++] = s->hot[i];
    s->n_hot = n;
    s->n_hot_next = 0;
    s->hot_i = 0;
    s->n_walked = 0;

    xgrow((void **)&s->qitems, &s->cap_qitems, 3 * n + 3, sizeof *s->qitems);
    struct qitem *below = s->qitems, *above = below + n, *tmp = above + n;
    size_t nb = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
        struct job *j = s->hot[i];
        if (j->q.fresh)
            continue;
        double k[3];
        pol->key(v, j, k);
        int c = key_cmp(j->q.key, 0, k, 0);
        if (c != 0 && drifted(s, j, k))
            c = 0;
        j->q.ran = false;
        j->q.key_speedup = j->speedup;
        if (c < 0)
            below[nb++] = (struct qitem){{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
        else if (c > 0)
            above[na++] = (struct qitem){{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
        memcpy(j->q.key, k, sizeof k);
        j->q.key_time = v->now;
    }
    /* grew: before every job now equal to it, in last round's order. The
     * list is in walk order, nearly ascending: reversed, nearly descending */
    for (size_t i = 0; i < nb / 2; i++) {
        struct qitem x = below[i];
        below[i] = below[nb - 1 - i];
        below[nb - 1 - i] = x;
    }
    sched__sort_nearly(below, nb, tmp, true);
    for (size_t i = 0; i < nb; i++)
        below[i].j->q.tie = --s->tie_lo;
    /* shrank: after every job now equal to it, in last round's order */
    sched__sort_nearly(above, na, tmp, false);
    for (size_t i = 0; i < na; i++)
        above[i].j->q.tie = ++s->tie_hi;
    /* arrivals: after all of them, in arrival order */
    for (size_t i = 0; i < n; i++) {
        struct job *j = s->hot[i];
        if (!j->q.fresh)
            continue;
        pol->key(v, j, j->q.key);
        j->q.key_time = v->now;
        j->q.key_speedup = j->speedup;
        j->q.tie = ++s->tie_hi;
        j->q.fresh = false;
    }
    struct qitem *it = s->qitems;
    for (size_t i = 0; i < n; i++) {
        struct job *j = s->hot[i];
        it[i] = (struct qitem){{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
    }
    sched__sort_nearly(it, n, it + n, false);
    for (size_t i = 0; i < n; i++) {
        struct job *j = it[i].j;
        s->hot[i] = j;
        j->q.hot_pos = -1;
        j->q.keep_hot = false;
        reset_for_round(j);
    }
}

/* Bring a class's top up to date (FTF: its key may be stale; it only grows). */
static void class_refresh_top(sched_t *s, struct qclass *q, const struct sched_view *v)
{
    while (q->h.n > 0) {
        struct job *j = q->h.e[0].j;
        if (j->q.key_time == v->now)
            return;
        s->p.policy->key(v, j, j->q.key);
        j->q.key_time = v->now;
        j->q.key_speedup = j->speedup;
        memcpy(q->h.e[0].k, j->q.key, sizeof j->q.key);
        cold_down(&q->h, 0);
    }
}

/* The class whose top comes first among those in the walk, parking the ones
 * asking for more than `fit` GPUs; NULL if none is left. */
static struct qclass *tops_first(sched_t *s, const struct sched_view *v, int fit)
{
    bool grows = s->p.policy->key_grows_with_now;
    while (s->n_tops > 0) {
        int c = s->tops[0];
        struct qclass *q = &s->cls[c];
        if (q->gpus > fit) {
            class_park(s, c);
        } else if (grows && q->h.e[0].j->q.key_time != v->now) {
            class_refresh_top(s, q, v);
            tops_down(s, 0);
        } else {
            return q;
        }
    }
    return NULL;
}

/* A hot job whose walk could have no effect (its class is out of the walk,
 * or it asks for more than `fit` GPUs, which only shrink) is passed over as
 * if the walk had not reached it: filed cold, or kept hot if the reset changed
 * its key, and counted as walked until the round ends. Otherwise a job once
 * walked would be walked, re-keyed and walked again every round for nothing:
 * GREEDY kept thousands so once the CPUs ran out. */
static bool hot_pass(sched_t *s, struct job *j, int fit)
{
    struct qclass *q = &s->cls[j->q.cls];
    if (!q->parked && j->gpus <= fit)
        return false;
    class_park(s, j->q.cls); /* one that asks for more than fit: as tops_first does */
    unwalked_add(s, j, -1);
    if (j->q.keep_hot) {
        hot_append(s, j); /* sched__queue_end counts it back */
    } else {
        cold_push(s, j);
        xgrow((void **)&s->passed, &s->cap_passed, s->n_passed + 1, sizeof *s->passed);
        s->passed[s->n_passed++] = j;
    }
    return true;
}

struct job *sched__queue_next(sched_t *s, const struct sched_view *v, int fit)
{
    while (s->hot_i < s->n_hot && hot_pass(s, s->hot[s->hot_i], fit))
        s->hot_i++;
    struct job *h = s->hot_i < s->n_hot ? s->hot[s->hot_i] : NULL;
    struct job *j;
    const struct qclass *q = tops_first(s, v, fit);
    const struct qent *top = q ? &q->h.e[0] : NULL;
    if (top && (!h || key_cmp(top->k, top->tie, h->q.key, h->q.tie) < 0)) {
        j = top->j;
        cold_remove(s, j);
    } else if (h) {
        j = h;
        s->hot_i++;
    } else {
        return NULL;
    }
    hot_append(s, j); /* walked: re-keyed next round */
    s->n_walked++;
    unwalked_add(s, j, -1);
    return j;
}

void sched__queue_end(sched_t *s, const struct sched_view *v)
{
    class_unpark_all(s);
    for (size_t i = 0; i < s->n_hot_next; i++) {
        struct job *j = s->hot_next[i];
        unwalked_add(s, j, 1);
    }
    for (size_t i = 0; i < s->n_passed; i++)
        unwalked_add(s, s->passed[i], 1);
    s->n_passed = 0;
    /* not reached this round: cold again, unless the reset changed its key */
    for (size_t i = s->hot_i; i < s->n_hot; i++) {
        struct job *j = s->hot[i];
        if (j->q.keep_hot)
            hot_append(s, j);
        else
            cold_push(s, j);
    }
    s->n_hot = s->hot_i = 0;

    /* the starvation bump: every job idle for longer than starvation_s. A
     * filed reference only lags the job's own (last_exec only grows), so
     * once the smallest filed one is recent enough, no job can be starved:
     * stale entries are re-filed only when they look starved. */
    double now = v->now;
    while (s->n_bump > 0 && sched__starved(s, s->bump[0]->q.bump_ref, now)) {
        struct job *j = s->bump[0];
        double ref = sched__starve_ref(j);
        if (sched__starved(s, ref, now)) {
            bump_remove(s, j);
            if (j->priority != 0)
                continue;
            if (j->q.heap_pos >= 0) {
                /* its key now, before the bump: what it is compared by next round */
                cold_remove(s, j);
                s->p.policy->key(v, j, j->q.key);
                j->q.key_time = now;
                j->q.key_speedup = j->speedup;
                hot_append(s, j);
            }
            j->priority = 1;
        } else {
            j->q.bump_ref = ref; /* it ran since it was filed */
            bump_down(s, 0);
        }
    }
}
