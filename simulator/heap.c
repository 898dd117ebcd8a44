/*
 * The simulator's event queue: a binary min-heap ordered by (time, type,
 * insertion sequence). The sequence makes equal events pop in push order, so
 * runs are deterministic; the reference's CPython heapq order differs only for
 * jobs with equal arrival times, which we break by trace order (documented).
 */
#include "sim.h"

#include <stdlib.h>

static bool before(const struct sim_event *a, const struct sim_event *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    if (a->type != b->type)
        return a->type < b->type;
    return a->seq < b->seq;
}

void sim_heap_push(struct sim_heap *h, double time, int type, void *data)
{
    xgrow((void **)&h->ev, &h->cap, h->n + 1, sizeof *h->ev);
    size_t i = h->n++;
    struct sim_event e = {time, type, h->next_seq++, data};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &h->ev[parent]))
            break;
        h->ev[i] = h->ev[parent];
        i = parent;
    }
    h->ev[i] = e;
}

bool sim_heap_pop(struct sim_heap *h, struct sim_event *out)
{
    if (h->n == 0)
        return false;
    *out = h->ev[0];
    struct sim_event last = h->ev[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_event *best = &last;
        if (l < h->n && before(&h->ev[l], best)) {
            m = l;
            best = &h->ev[l];
        }
        if (r < h->n && before(&h->ev[r], best))
            m = r;
        if (m == i)
            break;
        h->ev[i] = h->ev[m];
        i = m;
    }
    if (h->n > 0)
        h->ev[i] = last;
    return true;
}

void sim_heap_free(struct sim_heap *h)
{
    free(h->ev);
    h->ev = NULL;
    h->n = h->cap = 0;
}
