/*
 * GPU types (docs/heterogeneous.md). On a cluster whose server groups name
 * GPU types, a job's model has a profile per type: its own [<m>:1:TYPE]
 * section, or its default profile with the iteration time divided by the
 * type's [gpu_types] speed factor. Each (model, GPU count) gets one table of
 * what it asks for and how fast it runs on every type (struct job_tprof),
 * shared by its jobs.
 *
 * Placement, --hetero aware: the mode places the job on one type at a time,
 * in the order of the iteration rate it would get there, given what is free:
 * at its ideal CPUs and memory (that type's profile) if they fit, else at
 * what the mode's fallback gives (TUNE: the fair share). Each type's servers
 * have contiguous ids, so a placement looks at that type's servers only
 * (freemap.c). --hetero agnostic: the mode places as on an untyped cluster, with
 * the model's default demand; the job then runs at the pace of the slowest
 * GPU type it got, with the speedup the CPUs it got give on that type.
 *
 * On an untyped cluster none of this runs: every job keeps the reference's
 * figures and the reference numbers stay exact.
 */
#include "scheduler_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- per-model type tables */

struct tprof_ent {
    const struct model_profile *m;
    int gpus;
    struct job_tprof *tp; /* n_types entries */
};

struct tprof_cache {
    struct tprof_ent *e;
    size_t n, n_slots;
};

static size_t tpc_hash(const struct model_profile *m, int gpus)
{
    size_t h = (size_t)(uintptr_t)m * 0x9e3779b97f4a7c15ULL;
    return (h ^ (h >> 29)) + (size_t)gpus * 0xff51afd7ed558ccdULL;
}

static void tpc_grow(struct tprof_cache *c)
{
    size_t n = c->n_slots ? 2 * c->n_slots : 64;
    struct tprof_ent *e = xcalloc(n, sizeof *e);
    for (size_t i = 0; i < c->n_slots; i++) {
        if (!c->e[i].m)
            continue;
        size_t k = tpc_hash(c->e[i].m, c->e[i].gpus) & (n - 1);
        while (e[k].m)
            k = (k + 1) & (n - 1);
        e[k] = c->e[i];
    }
    free(c->e);
    c->e = e;
    c->n_slots = n;
}

void sched__hetero_free(sched_t *s)
{
    struct tprof_cache *c = s->tpc;
    if (!c)
        return;
    for (size_t i = 0; i < c->n_slots; i++)
        free(c->e[i].tp);
    free(c->e);
    free(c);
}

/* The profile of m on type t: its typed section, or its default profile
 * with the type's speed factor (*factor); NULL if neither exists. */
static const struct model_profile *type_profile(const sched_t *s, const struct model_profile *m,
                                                int t, double *factor)
{
    const struct model_profile *p = model_profile_typed(m, s->types[t].name);
    *factor = 1;
    if (p)
        return p;
    if (m->typed_only || !(s->types[t].speed > 0))
        return NULL;
    *factor = s->types[t].speed;
    return m;
}

static void tprof_fill(const sched_t *s, const struct model_profile *m, int g,
                       struct job_tprof *tp)
{
    for (int t = 0; t < s->n_types; t++) {
        const struct sched_type *ty = &s->types[t];
        double f;
        const struct model_profile *p = type_profile(s, m, t, &f);
        tp[t] = (struct job_tprof){.prof = p};
        if (!p)
            continue;
        double sp;
        sched__profile_apply(ty->size, g, p, tp[t].dem, &sp);
        tp[t].iter_time = p->iter_time / f;
        tp[t].speedup = sp;
        tp[t].ideal_cpu = tp[t].dem[0] / g;
        tp[t].fair_cpu = ty->fair[RES_CPU];
        tp[t].rate_fair = 1 / tp[t].iter_time;
        tp[t].rate_ideal = sp / tp[t].iter_time;
    }
}

/* The table of (m, g), built on first use (a run has a few dozen). */
static const struct job_tprof *tprof_get(sched_t *s, const struct model_profile *m, int g)
{
    if (!s->tpc)
        s->tpc = xcalloc(1, sizeof *s->tpc);
    struct tprof_cache *c = s->tpc;
    if (2 * (c->n + 1) > c->n_slots)
        tpc_grow(c);
    size_t k = tpc_hash(m, g) & (c->n_slots - 1);
    for (; c->e[k].m; k = (k + 1) & (c->n_slots - 1))
        if (c->e[k].m == m && c->e[k].gpus == g)
            return c->e[k].tp;
    c->e[k] = (struct tprof_ent){m, g, xcalloc((size_t)s->n_types, sizeof *c->e[k].tp)};
    c->n++;
    tprof_fill(s, m, g, c->e[k].tp);
    return c->e[k].tp;
}

/* ---------------------------------------------------------- a job's types */

/* Index of the cluster's type named name, or -1. */
int sched__type_find(const sched_t *s, const char *name)
{
    for (int t = 0; t < s->n_types; t++)
        if (strcmp(s->types[t].name, name) == 0)
            return t;
    return -1;
}

static void type_list(const sched_t *s, char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = '\0';
    for (int t = 0; t < s->n_types && l < n; t++)
        l += (size_t)snprintf(buf + l, n - l, "%s%s", t ? ", " : "", s->types[t].name);
}

/* The types spec->gpu_types lets the job use ("": all). 0, or -1 with err. */
static int spec_mask(const sched_t *s, const struct job_spec *spec, unsigned *mask,
                     struct err *err)
{
    char list[CLUSTER_MAX_TYPES * (GPU_TYPE_NAME + 2)];
    if (spec->gpu_types[0] == '\0') {
        *mask = (1u << s->n_types) - 1;
        return 0;
    }
    type_list(s, list, sizeof list);
    if (!s->typed)
        return errprintf(err, "job %d: asks for GPU types %s but the cluster has none",
                         spec->id, spec->gpu_types);
    char buf[sizeof spec->gpu_types];
    snprintf(buf, sizeof buf, "%s", spec->gpu_types);
    *mask = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|,", &save); tok; tok = strtok_r(NULL, "|,", &save)) {
        int t = sched__type_find(s, str_trim(tok));
        if (t < 0)
            return errprintf(err, "job %d: GPU type '%s' is not in the cluster (its types: %s)",
                             spec->id, tok, list);
        *mask |= 1u << t;
    }
    if (*mask == 0)
        return errprintf(err, "job %d: gpu_types '%s' names no GPU type", spec->id,
                         spec->gpu_types);
    return 0;
}

int sched__job_types(const sched_t *cs, struct job *j, const struct job_spec *spec,
                     struct err *err)
{
    sched_t *s = (sched_t *)cs; /* the table cache is a memo: the cluster does not change */
    struct job_priv *pv = sched__priv(j);
    unsigned mask;
    if (spec_mask(s, spec, &mask, err) < 0)
        return -1;
    pv->type_mask = mask;
    pv->type = -1;
    if (!s->typed)
        return 0;
    const struct job_tprof *tp = tprof_get(s, j->model, j->gpus);
    pv->tp = tp;
    int most = 0, sum = 0;
    pv->best_rate = 0;
    for (int t = 0; t < s->n_types; t++) {
        if (!(mask & (1u << t)))
            continue;
        if (!tp[t].prof)
            return errprintf(err, "job %d: model %s has no profile for GPU type %s ([%s:1:%s]) "
                                  "and [gpu_types] gives %s no speed factor",
                             j->id, j->model->name, s->types[t].name, j->model->name,
                             s->types[t].name, s->types[t].name);
        int n = s->types[t].gpu_hi - s->types[t].gpu_lo;
        most = n > most ? n : most;
        sum += n;
        double r = s->p.mode->fair ? tp[t].rate_fair : tp[t].rate_ideal;
        if (r > pv->best_rate)
            pv->best_rate = r;
    }
    int room = s->aware ? most : sum;
    if (j->gpus > room)
        return errprintf(err, "job %d: needs %d GPUs but %s has at most %d", j->id, j->gpus,
                         s->aware ? "one GPU type it may use" : "the GPU types it may use",
                         room);
    return 0;
}

/* The model's own profile on a typed cluster: its default profile, or for
 * a model with typed profiles only, that of the first type that has one. */
const struct model_profile *sched__nominal_profile(const sched_t *s,
                                                   const struct model_profile *m)
{
    if (!m->typed_only)
        return m;
    for (int t = 0; t < s->n_types; t++) {
        const struct model_profile *p = model_profile_typed(m, s->types[t].name);
        if (p)
            return p;
    }
    return NULL;
}

/* ------------------------------------------------------------- placement */

/* The speedup of a job on type tp with c CPUs per GPU: all of it at its
 * ideal CPUs or more; between the fair share (1) and the ideal, the
 * reference's interpolation on the CPU axis (add_synergy_profile); below
 * both, in proportion to the CPUs (the data loaders set the pace). Memory
 * is not modelled here. */
static double speed_at(const struct job_tprof *tp, double c)
{
    if (c >= tp->ideal_cpu)
        return tp->speedup;
    if (tp->ideal_cpu <= tp->fair_cpu)
        return tp->speedup * c / tp->ideal_cpu;
    if (c >= tp->fair_cpu)
        return 1 + (tp->speedup - 1) / (tp->ideal_cpu - tp->fair_cpu) * (c - tp->fair_cpu);
    return c / tp->fair_cpu;
}

/* Agnostic: the job runs at the pace of its slowest GPU, each at the
 * speed the CPUs per GPU it got give on that GPU's type (whatever the mode
 * meant: a type-blind fair share can starve a fast GPU). *type: that GPU's
 * type. Iterations per second. */
static double agnostic_rate(const sched_t *s, const struct job *j, int *type)
{
    const struct job_priv *pv = sched__priv(j);
    double rate = -1, c = j->n_alloc > 0 ? j->cpus / j->n_alloc : 0;
    for (int i = 0; i < j->n_shares; i++) {
        int t = s->spec[j->shares[i].server].gpu_type;
        double r = speed_at(&pv->tp[t], c) / pv->tp[t].iter_time;
        if (rate < 0 || r < rate) {
            rate = r;
            *type = t;
        }
    }
    return rate;
}

double sched__agnostic_iter_time(const sched_t *s, const struct job *j)
{
    int t = -1;
    double it = 1 / agnostic_rate(s, j, &t);
    if (j->n_shares > 1)
        it = it / j->model->placement_penalty;
    return it;
}

/* What the policies see of a job placed type-blind: the slowest type's
 * iteration time, and the speedup its CPUs give there. */
static void settle_agnostic(sched_t *s, struct job *j)
{
    struct job_priv *pv = sched__priv(j);
    int type = -1;
    double rate = agnostic_rate(s, j, &type);
    pv->type = type;
    j->iter_time = pv->tp[type].iter_time;
    j->speedup = j->speedup_orig = j->iter_time * rate;
}

/* Make the job's figures those of type t (what the mode and the policies read). */
static void set_type(struct job *j, int t)
{
    struct job_priv *pv = sched__priv(j);
    const struct job_tprof *tp = &pv->tp[t];
    pv->type = t;
    memcpy(pv->dem, tp->dem, sizeof pv->dem);
    j->iter_time = tp->iter_time;
    j->speedup = j->speedup_orig = tp->speedup;
}

/* Restrict placement to type t: its servers (freemap.c), its fail memo. */
static void view_enter(sched_t *s, int t)
{
    struct sched_type *ty = &s->types[t];
    sched__free_view(s, t);
    s->fail_memo = ty->memo;
    s->n_fail_memo = &ty->n_memo;
    s->place_mask = s->memo_mask = 1u << t;
    memcpy(s->size, ty->size, sizeof s->size);
    memcpy(s->fair, ty->fair, sizeof s->fair);
}

static void view_leave(sched_t *s)
{
    sched__free_view(s, -1);
    s->fail_memo = s->memo0;
    s->n_fail_memo = &s->n_memo0;
    s->place_mask = s->memo_mask = ~0u;
}

struct option {
    int type;
    bool ideal;
    double rate;
};

/* The (type, level) options of j, best iteration rate first (ties: type order). */
static int options(const sched_t *s, const struct job *j, int deficit, struct option *o)
{
    const struct job_priv *pv = sched__priv(j);
    int n = 0;
    for (int t = 0; t < s->n_types; t++) {
        if (!(pv->type_mask & (1u << t)) || s->types[t].n_free < deficit)
            continue;
        if (!s->p.mode->fair)
            o[n++] = (struct option){t, true, pv->tp[t].rate_ideal};
        o[n++] = (struct option){t, false, pv->tp[t].rate_fair};
    }
    for (int i = 1; i < n; i++) {
        struct option x = o[i];
        int k = i;
        while (k > 0 && (o[k - 1].rate < x.rate ||
                         (o[k - 1].rate == x.rate && o[k - 1].type > x.type))) {
            o[k] = o[k - 1];
            k--;
        }
        o[k] = x;
    }
    return n;
}

static int allocate_aware(sched_t *s, const struct sched_mode_ops *mode, struct job *j,
                          int deficit)
{
    struct job_priv *pv = sched__priv(j);
    struct option o[2 * CLUSTER_MAX_TYPES];
    int n = options(s, j, deficit, o);
    s->why_last = REASON_GPUTYPE; /* no type it accepts has `deficit` GPUs free */
    /* what the job shows if it is placed nowhere: its last placement's */
    int old_type = pv->type;
    double old_dem[3], old_it = j->iter_time, old_sp = j->speedup, old_spo = j->speedup_orig;
    memcpy(old_dem, pv->dem, sizeof old_dem);
    for (int i = 0; i < n; i++) {
        set_type(j, o[i].type);
        view_enter(s, o[i].type);
        int rc;
        if (o[i].ideal) {
            double d[RES_COUNT];
            sched__demand_vector(j, d);
            rc = sched__place(s, j, d, false);
        } else {
            rc = mode->allocate(s, j, deficit);
        }
        view_leave(s);
        if (rc == 0)
            return 0;
        j->speedup = j->speedup_orig; /* a failed TUNE fallback may have demoted it */
        j->demoted = false;
    }
    pv->type = old_type;
    memcpy(pv->dem, old_dem, sizeof old_dem);
    j->iter_time = old_it;
    j->speedup = old_sp;
    j->speedup_orig = old_spo;
    return -1;
}

static int allocate_typed(sched_t *s, const struct sched_mode_ops *mode, struct job *j,
                          int deficit)
{
    if (s->aware)
        return allocate_aware(s, mode, j, deficit);
    unsigned mask = sched__priv(j)->type_mask;
    /* a job kept off some types: enough free GPUs left on its own? */
    if (mask != (1u << s->n_types) - 1 && sched__free_of_types(s, mask) < deficit) {
        s->why_last = REASON_GPUTYPE;
        return -1;
    }
    s->place_mask = mask;
    int rc = mode->allocate(s, j, deficit);
    s->place_mask = ~0u;
    if (rc == 0)
        settle_agnostic(s, j);
    return rc;
}

/* A failed placement with enough GPUs free in all records its reason. */
int sched__allocate(sched_t *s, const struct sched_mode_ops *mode, struct job *j, int deficit)
{
    int free0 = s->n_free;
    int rc = s->typed ? allocate_typed(s, mode, j, deficit) : mode->allocate(s, j, deficit);
    if (rc != 0 && deficit <= free0)
        sched__reasons_failed(s, j);
    return rc;
}

/* Round start: every type's failed placements are forgotten (each type's
 * free GPUs are counted as they come and go: freemap.c). */
void sched__hetero_round_begin(sched_t *s)
{
    for (int t = 0; t < s->n_types; t++)
        s->types[t].n_memo = 0;
}

void sched__hetero_release(sched_t *s)
{
    for (int t = 0; t < s->n_types; t++)
        s->types[t].n_memo = 0;
}

double sched__service_weight(const sched_t *s, const struct job *j)
{
    if (!s->aware) /* a type-blind scheduler counts time */
        return 1;
    const struct job_priv *pv = sched__priv(j);
    return 1 / (sched_job_iter_time(s, j) * pv->best_rate);
}

/* ---------------------------------------------------------------- queries */

int sched_num_gpu_types(const sched_t *s)
{
    return s->typed ? s->n_types : 0;
}

const char *sched_gpu_type_name(const sched_t *s, int t)
{
    return t >= 0 && t < s->n_types ? s->types[t].name : "";
}

int sched_job_gpu_type(const struct job *j)
{
    return sched__priv(j)->type;
}

void sched_type_alloc_fraction(const sched_t *s, int t, double out[3])
{
    const struct sched_type *ty = &s->types[t];
    double used[3] = {0, 0, 0}, cap[3] = {0, 0, 0};
    for (int i = ty->srv_lo; i < ty->srv_hi; i++) {
        const struct server *sv = &s->servers[i];
        used[0] += sv->used[RES_GPU];
        used[1] += sv->used[RES_CPU];
        used[2] += sv->used[RES_MEM];
        cap[0] += sv->cap[RES_GPU];
        cap[1] += sv->cap[RES_CPU];
        cap[2] += sv->cap[RES_MEM];
    }
    for (int k = 0; k < 3; k++)
        out[k] = cap[k] > 0 ? used[k] / cap[k] : 0;
}

int sched_type_gpus(const sched_t *s, int t)
{
    return s->types[t].gpu_hi - s->types[t].gpu_lo;
}

void sched__job_ran_on_type(struct job *j)
{
    struct job_priv *pv = sched__priv(j);
    if (pv->type >= 0)
        pv->rounds_on[pv->type]++;
}

int sched__job_main_type(const struct job *j)
{
    const struct job_priv *pv = sched__priv(j);
    int best = -1;
    for (int t = 0; t < CLUSTER_MAX_TYPES; t++)
        if (pv->rounds_on[t] > 0 && (best < 0 || pv->rounds_on[t] > pv->rounds_on[best]))
            best = t;
    return best;
}
