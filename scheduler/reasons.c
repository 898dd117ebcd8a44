/*
 * Why a runnable job is not running: the reasons table and the one function
 * that picks a job's reason (precedence in scheduler.h, docs/forecast.md).
 *
 * Cheap by construction: a round writes nothing for the jobs it never
 * reaches (the incremental queue leaves most of an overloaded queue alone).
 * It stamps the jobs it places (one pass over the placed list) and, for a
 * job whose placement it tried and could not make, one byte with the round
 * number. The failure's kind (Cpu, Memory, Fragmentation) is worked out
 * once per failed placement that the fail memo did not already answer, and
 * the memo keeps it for the placements it answers. Everything else (Quota,
 * Held, Resources, Priority) is derived when someone asks.
 *
 * Known limits: the OPT mode plans outside the walk, so a job OPT leaves
 * out shows Priority; a memo hit shows the reason of the failed placement
 * that dominated it.
 */
#include "scheduler_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct reason_row {
    const char *name;
    const char *summary;
};

/* Indexed by enum sched_reason: in the order of precedence. */
static const struct reason_row reasons[REASON_COUNT] = {
    [REASON_NONE] = {"None", "running, or arrived since the last round"},
    [REASON_STARTING] = {"Starting", "placed by this round and launching"},
    [REASON_QUOTA] = {"Quota", "its tenant is at its quota and cannot borrow"},
    [REASON_HELD] = {"Held", "ran last round, preempted by this one"},
    [REASON_GPUTYPE] = {"GpuType", "GPUs free, but not enough of any type it accepts"},
    [REASON_CPU] = {"Cpu", "GPUs free, but not the CPUs beside them its mode needs"},
    [REASON_MEMORY] = {"Memory", "GPUs and CPUs free, but not the memory its mode needs"},
    [REASON_FRAGMENTATION] = {"Fragmentation",
                              "GPUs, CPUs and memory free in all, not together on servers"},
    [REASON_RESOURCES] = {"Resources", "fewer GPUs up and free than it asks for"},
    [REASON_PRIORITY] = {"Priority", "jobs ahead of it in the policy's order took the GPUs"},
};

const char *sched_reason_name(enum sched_reason r)
{
    return (unsigned)r < REASON_COUNT ? reasons[r].name : "?";
}

const char *sched_reason_summary(enum sched_reason r)
{
    return (unsigned)r < REASON_COUNT ? reasons[r].summary : "?";
}

int sched_reason_find(const char *name)
{
    for (int i = 0; i < REASON_COUNT; i++)
        if (strcasecmp(reasons[i].name, name) == 0)
            return i;
    return -1;
}

void sched__reasons_job_init(struct job *j)
{
    struct job_priv *pv = sched__priv(j);
    pv->why = REASON_PRIORITY;
    pv->why_round = pv->placed_last = pv->placed_prev = -2;
}

/* How many GPUs of a server with `free` GPUs and `avail` of a resource a
 * per-GPU need of `per` can take (the placement's hold check, in closed form). */
static double fit_count(double free, double avail, double per)
{
    if (per <= 0)
        return free;
    double k = floor(avail / per + 1e-9);
    return k < free ? (k < 0 ? 0 : k) : free;
}

/* Over the servers with a free GPU that this placement may use (the free
 * map's view: all servers, or a GPU type's). */
void sched__reasons_place_failed(sched_t *s, const double v[RES_COUNT], int n)
{
    const struct free_map *m = &s->fmap;
    double g_cpu = 0, g_mem = 0;
    for (int i = sched__bit_next(m->srv_free, m->lo, m->hi); i >= 0;
         i = sched__bit_next(m->srv_free, i + 1, m->hi)) {
        const struct server *sv = &s->servers[i];
        if (!(sv->type_bit & s->place_mask))
            continue;
        g_cpu += fit_count(sv->n_free, sv->cap[RES_CPU] - sv->used[RES_CPU], v[RES_CPU]);
        g_mem += fit_count(sv->n_free, sv->cap[RES_MEM] - sv->used[RES_MEM], v[RES_MEM]);
    }
    if (g_cpu < n)
        s->why_last = REASON_CPU;
    else if (g_mem < n)
        s->why_last = REASON_MEMORY;
    else
        s->why_last = REASON_FRAGMENTATION;
}

void sched__reasons_failed(sched_t *s, struct job *j)
{
    struct job_priv *pv = sched__priv(j);
    if (pv->why_round != s->rounds) {
        xgrow((void **)&s->why_jobs, &s->cap_why_jobs, s->n_why_jobs + 1, sizeof *s->why_jobs);
        s->why_jobs[s->n_why_jobs++] = j;
    }
    pv->why = s->why_last;
    pv->why_round = s->rounds;
}

void sched__reasons_job_add(const sched_t *s, struct job *j)
{
    sched__priv(j)->round_added = s->rounds;
}

void sched__reasons_free(sched_t *s)
{
    free(s->why_jobs);
}

void sched__reasons_round_begin(sched_t *s, double now)
{
    s->n_why_jobs = 0;
    s->rounds++;
    s->round_now = now;
    s->round_free0 = s->n_free;
}

/* Stamp the placed jobs, and count the round's reasons that are not
 * derived from counts kept elsewhere: the launches, the failed placements
 * (their jobs are listed), and with tenants (whose round walks every
 * runnable job anyway) Quota. */
void sched__reasons_round_end(sched_t *s)
{
    for (size_t i = 0; i < s->n_placed; i++) {
        struct job_priv *pv = sched__priv(s->placed[i]);
        if (pv->placed_last == s->rounds)
            continue;
        pv->placed_prev = pv->placed_last;
        pv->placed_last = s->rounds;
        if (pv->placed_prev != s->rounds - 1)
            pv->n_why[REASON_STARTING]++;
    }
    for (size_t i = 0; i < s->n_why_jobs; i++) {
        enum sched_reason r = sched_job_reason(s, s->why_jobs[i]);
        if (r >= REASON_GPUTYPE && r <= REASON_FRAGMENTATION)
            sched__priv(s->why_jobs[i])->n_why[r]++;
    }
    for (size_t i = 0; s->ten && i < s->n_runnable; i++) {
        struct job *j = s->runnable[i];
        struct job_priv *pv = sched__priv(j);
        if (pv->placed_last != s->rounds && sched_job_tenant_held(s, j)) {
            pv->n_why[REASON_QUOTA]++;
            pv->n_quota_held += pv->placed_last == s->rounds - 1;
        }
    }
}

void sched_job_waits(const sched_t *s, const struct job *j, int out[REASON_COUNT])
{
    const struct job_priv *pv = sched__priv(j);
    memcpy(out, pv->n_why, sizeof pv->n_why);
    out[REASON_NONE] = 0;
    out[REASON_HELD] = j->preemptions - pv->n_quota_held;
    if (out[REASON_HELD] < 0)
        out[REASON_HELD] = 0;
    int waited = s->rounds - pv->round_added - j->rounds_run;
    for (int r = REASON_QUOTA; r < REASON_PRIORITY; r++)
        waited -= out[r];
    out[REASON_PRIORITY] = waited > 0 ? waited : 0;
}

enum sched_reason sched_job_reason(const sched_t *s, const struct job *j)
{
    const struct job_priv *pv = sched__priv(j);
    if (s->rounds == 0 || j->arrival > s->round_now)
        return REASON_NONE;
    if (pv->placed_last == s->rounds)
        return pv->placed_prev == s->rounds - 1 ? REASON_NONE : REASON_STARTING;
    if (sched_job_tenant_held(s, j))
        return REASON_QUOTA;
    if (pv->placed_last == s->rounds - 1)
        return REASON_HELD;
    if (pv->why_round == s->rounds)
        return (enum sched_reason)pv->why;
    if (j->gpus > s->round_free0)
        return REASON_RESOURCES;
    return REASON_PRIORITY;
}
