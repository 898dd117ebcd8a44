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
 *    in a binary heap ordered by (key, tie). FTF's key also grows with `now`;
 *    a cold FTF key is a lower bound (the key never decreases while the job
 *    waits) and is refreshed only when it reaches the top of the heap.
 *  - The walk merges the sorted hot list with the cold heap and stops as soon
 *    as no job left can fit the free GPUs (a count of the jobs not
 *    yet walked by GPU demand), or no GPU is left.
 *  - `tie` reproduces the stable sort: it orders jobs with equal keys. A job
 *    whose key did not change keeps it; a job whose key grew was, in the last
 *    round's order, before every unchanged job now equal to it, so it gets a
 *    tie smaller than any in use; one whose key shrank gets one larger than
 *    any (in the last order's sequence, so several movers keep their order);
 *    new arrivals come after all of them, as appended jobs do.
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
 * queue; the four children lie side by side. */
#define COLD_D 4

static bool cold_less(const struct qent *x, const struct qent *y)
{
    return key_cmp(x->k, x->tie, y->k, y->tie) < 0;
}

static void cold_set(sched_t *s, size_t i, struct qent e)
{
    s->cold[i] = e;
    e.j->q.heap_pos = (int)i;
}

static void cold_up(sched_t *s, size_t i)
{
    struct qent e = s->cold[i];
    while (i > 0) {
        size_t p = (i - 1) / COLD_D;
        if (!cold_less(&e, &s->cold[p]))
            break;
        cold_set(s, i, s->cold[p]);
        i = p;
    }
    cold_set(s, i, e);
}

static void cold_down(sched_t *s, size_t i)
{
    struct qent e = s->cold[i];
    size_t n = s->n_cold;
    for (;;) {
        size_t first = COLD_D * i + 1, c = first;
        if (first >= n)
            break;
        for (size_t k = first + 1; k < first + COLD_D && k < n; k++)
            if (cold_less(&s->cold[k], &s->cold[c]))
                c = k;
        if (!cold_less(&s->cold[c], &e))
            break;
        cold_set(s, i, s->cold[c]);
        i = c;
    }
    cold_set(s, i, e);
}

static void cold_push(sched_t *s, struct job *j)
{
    xgrow((void **)&s->cold, &s->cap_cold, s->n_cold + 1, sizeof *s->cold);
    struct qent e = {{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
    s->cold[s->n_cold++] = e;
    j->q.heap_pos = (int)(s->n_cold - 1);
    cold_up(s, s->n_cold - 1);
}

static void cold_remove(sched_t *s, struct job *j)
{
    size_t i = (size_t)j->q.heap_pos;
    j->q.heap_pos = -1;
    s->n_cold--;
    if (i == s->n_cold)
        return;
    cold_set(s, i, s->cold[s->n_cold]);
    if (i > 0 && cold_less(&s->cold[i], &s->cold[(i - 1) / COLD_D]))
        cold_up(s, i);
    else
        cold_down(s, i);
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

/* Jobs not walked yet, counted by GPU demand, and a lower bound on the
 * smallest demand counted: adding lowers it, removing leaves it, and the
 * question "does any fit?" raises it past empty counts. Within a walk jobs
 * only leave, so a round scans each demand value at most once. */
static void unwalked_add(sched_t *s, const struct job *j, int d)
{
    int g = j->gpus <= s->unwalked_n ? j->gpus : s->unwalked_n;
    s->unwalked[g] += d;
    if (d > 0 && g < s->unwalked_lo)
        s->unwalked_lo = g;
}

bool sched__queue_any_fits(sched_t *s, int free_gpus)
{
    if (free_gpus > s->unwalked_n)
        free_gpus = s->unwalked_n;
    while (s->unwalked_lo <= free_gpus && s->unwalked[s->unwalked_lo] == 0)
        s->unwalked_lo++;
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
    s->unwalked_lo = s->unwalked_n + 1;
}

void sched__queue_free(sched_t *s)
{
    free(s->cold);
    free(s->bump);
    free(s->hot);
    free(s->hot_next);
    free(s->qitems);
    free(s->unwalked);
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
    j->speedup = j->speedup_orig;
    j->demoted = false;
    j->run_fair = false;
    j->opt_row = j->opt_col = -1;
    j->opt_tput = 0;
    j->opt_no_penalty = false;
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
        if (c < 0)
            below[nb++] = (struct qitem){{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
        else if (c > 0)
            above[na++] = (struct qitem){{j->q.key[0], j->q.key[1], j->q.key[2]}, j->q.tie, j};
        memcpy(j->q.key, k, sizeof k);
        j->q.key_time = v->now;
    }
    /* grew: before every job now equal to it, in last round's order */
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

/* Bring the cold heap's top up to date (FTF: its key may be stale). */
static void cold_refresh_top(sched_t *s, const struct sched_view *v)
{
    if (!s->p.policy->key_grows_with_now)
        return;
    while (s->n_cold > 0) {
        struct job *j = s->cold[0].j;
        if (j->q.key_time == v->now)
            return;
        s->p.policy->key(v, j, j->q.key);
        j->q.key_time = v->now;
        memcpy(s->cold[0].k, j->q.key, sizeof j->q.key);
        cold_down(s, 0);
    }
}

struct job *sched__queue_next(sched_t *s, const struct sched_view *v)
{
    cold_refresh_top(s, v);
    struct job *h = s->hot_i < s->n_hot ? s->hot[s->hot_i] : NULL;
    struct job *j;
    if (s->n_cold > 0 &&
        (!h || key_cmp(s->cold[0].k, s->cold[0].tie, h->q.key, h->q.tie) < 0)) {
        j = s->cold[0].j;
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
    for (size_t i = 0; i < s->n_hot_next; i++) {
        struct job *j = s->hot_next[i];
        unwalked_add(s, j, 1);
    }
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
                hot_append(s, j);
            }
            j->priority = 1;
        } else {
            j->q.bump_ref = ref; /* it ran since it was filed */
            bump_down(s, 0);
        }
    }
}
