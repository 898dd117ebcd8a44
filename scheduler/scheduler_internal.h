/*
 * Internals shared by the scheduler's files: the cluster accounting, the
 * planner state and the allocation mechanisms. Not for other libraries.
 */
#ifndef SYNERGY_SCHEDULER_INTERNAL_H
#define SYNERGY_SCHEDULER_INTERNAL_H

#include "scheduler.h"

#include <stdint.h>

struct server {
    unsigned type_bit;       /* 1 << its GPU type */
    double cap[RES_COUNT];
    double used[RES_COUNT];  /* net is never charged, like the reference */
    double hold[RES_COUNT];  /* scratch during one placement */
    int n_free;              /* its free GPUs (freemap.c) */
    bool down;               /* out of planning (sched_server_set_down) */
    size_t n_jobs, cap_jobs; /* jobs placed on it in round jobs_round, in order */
    unsigned long jobs_round;
    struct job **jobs;
};

/* A first-fit search's memory of one per-GPU vector (freemap.c). */
struct fit_cursor {
    double v[RES_COUNT];
    int view;           /* the GPU type whose servers it searched, or -1: all */
    int pos;            /* no server of that range before it fits v */
    unsigned epoch;     /* the slot is live when it equals the map's */
};

/* The free GPUs and the servers by free-GPU count (freemap.c). */
struct free_map {
    uint64_t *gpu_free; /* bit g: GPU g is free */
    uint64_t *srv_free; /* bit i: server i has a free GPU */
    size_t srv_words;
    bool *excluded;     /* left out of the fewest-free question (Tune's targets) */
    int lo, hi;         /* the servers placement may use: a GPU type's, or all */
    int view_type;      /* that type, or -1 */
    int total_free;     /* free GPUs in all (s->n_free: those of the view) */
    struct fit_cursor *cur; /* this round's cursors, open addressing */
    size_t n_cur;
    unsigned epoch;
    int *live, n_live;  /* slots of the live cursors */
    size_t cap_live;
};

/* The scheduler's own per-job state, kept out of the public struct job: it
 * lies in the job's block right after the struct (job_block_size). */
struct job_priv {
    /* OPT only: the tput-matrix point chosen this round (row: CPUs per GPU,
     * column: GB per GPU) and its normalised throughput. opt_tput is 0 for
     * every other mode, which then keeps its own progress rule. */
    double opt_tput;
    int opt_row, opt_col;
    bool opt_no_penalty; /* --opt-compat: progress ignores the placement */
    /* GPU types (hetero.c): the job's model on each type of the cluster, the
     * types it may use, the type it is placed on (or last ran on; -1 before
     * its first placement), its demand there (CPU, memory, storage) and its
     * best iteration rate on any type it may use */
    const struct job_tprof *tp;
    unsigned type_mask;
    int type;
    double dem[3];
    double best_rate;
    int rounds_on[CLUSTER_MAX_TYPES]; /* rounds run on each type (results by type) */
    /* tenants (tenant_round.c): the job's tenant (-1: none), what the last
     * round's tenant walk did with it, and its slot in the list of the jobs
     * the previous round placed (-1: not there) */
    int tenant;
    unsigned char tstate;
    long tround; /* the round tstate is of (older: not walked, so waiting) */
    int prev_pos;
    /* reasons (reasons.c): the placement failure the round `why_round`
     * recorded, and the last two rounds that placed the job */
    unsigned char why;
    int why_round;
    int placed_last, placed_prev;
    int round_added;           /* rounds planned before it became runnable */
    int n_why[REASON_COUNT];   /* rounds counted per reason (sched_job_waits) */
    int n_quota_held;          /* Quota rounds right after a round it ran */
};

static inline size_t sched__round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static inline struct job_priv *sched__priv(const struct job *j)
{
    return (struct job_priv *)((char *)j + sched__round8(sizeof(struct job)));
}

/* What a round resets in a job before a mode sets it again. */
void sched__job_round_reset(struct job *j);

/* An allocation mechanism: turns one job of the ordered queue into a placement. */
struct sched_mode_ops {
    const char *name;
    const char *summary;
    bool fair; /* progress at plain iter_time, policies see fair durations */
    /* Allocation only ever takes resources during a round, so once a demand
     * fails, every later job of the same demand fails too this round (the
     * walk then passes over them: queue.c, demand classes). */
    bool monotone;
    /* With a policy's tune_largest_first (LAS), re-order the jobs chosen by
     * the GPU-count walk by GPU demand, largest first. */
    bool largest_first;
    /* Place `j` (deficit GPUs wanted). 0 on success, -1 to skip it this round. */
    int (*allocate)(sched_t *s, struct job *j, int deficit);
    /* Optional: plan the whole round at once from the jobs chosen by the
     * GPU-count walk (OPT). Adds what it places with sched__placed_add().
     * 0 on success; 1 to have this round planned by sched__mode_fallback
     * (TUNE) instead; -1 with s->round_err filled on a hard error. */
    int (*plan)(sched_t *s, struct job **jobs, size_t n, double now);
};

extern const struct sched_mode_ops sched__mode_opt;
extern const struct sched_mode_ops *const sched__mode_fallback;

/* Append a job to this round's placed list. */
void sched__placed_add(sched_t *s, struct job *j);

/* A cold queue entry: the job's key and tie, copied for cache-friendly sifting. */
struct qent {
    double k[3];
    long long tie;
    struct job *j;
};
struct cold_heap {
    struct qent *e;
    size_t n, cap;
};
/* The waiting jobs of one demand (GPUs, CPUs, memory, storage), queue.c. */
struct qclass {
    int gpus;
    double cpu, mem, sspeed;
    const struct job_tprof *tp; /* GPU types: its (model, GPUs) table, and */
    unsigned type_mask;         /* the types it may use (hetero.c) */
    struct cold_heap h;
    int top_pos; /* in the tops heap, or -1 (empty, or parked) */
    bool parked; /* out of this round's walk */
};
/* A job with a sort key: (k, tie) orders it (tie: unique, the stable sort's
 * memory; in the legacy walk, the position in last round's order). */
struct qitem {
    double k[3];
    long long tie;
    struct job *j;
};

/* Sort a nearly sorted list ascending (desc: descending) by (k, tie); tmp has
 * room for n items. Ties are unique, so any correct sort gives this order. */
void sched__sort_nearly(struct qitem *a, size_t n, struct qitem *tmp, bool desc);

/* The starvation bump (sched.c): the time the job's idle clock starts from,
 * and whether a job idle since `ref` has starved by `now`. */
double sched__starve_ref(const struct job *j);
bool sched__starved(const sched_t *s, double ref, double now);

#define FAIL_MEMO_MAX 32

struct fail_memo {
    double v[RES_COUNT];
    int n;
    unsigned char why; /* the reason its placement failed (reasons.c) */
};

struct peer_key;

/* A GPU type of the cluster (one unnamed type on an untyped cluster). Its
 * GPUs and its servers have contiguous ids: the server table keeps each
 * type's groups together, in the order the types first appear. */
struct sched_type {
    char name[GPU_TYPE_NAME];
    double speed;            /* [gpu_types] factor; 0: none given */
    int gpu_lo, gpu_hi, srv_lo, srv_hi;
    double size[RES_COUNT];  /* its smallest server, per resource */
    double fair[RES_COUNT];  /* per-GPU share: the smallest cap / GPUs of its servers */
    /* its free GPUs (freemap.c), and during a round its failed placements */
    int n_free;
    struct fail_memo memo[FAIL_MEMO_MAX];
    int n_memo;
};

/* A model with a GPU count on one GPU type (hetero.c); the jobs of the same
 * model and GPU count share it. */
struct job_tprof {
    const struct model_profile *prof; /* NULL: no profile for this type */
    double iter_time, speedup;        /* at the fair share; at the ideal */
    double dem[3];                    /* CPU, memory, storage for its GPUs, capped
                                         at the type's smallest server */
    double ideal_cpu, fair_cpu;       /* CPUs per GPU at the ideal and the fair share */
    double rate_ideal, rate_fair;     /* iterations per second at each */
};

struct sched {
    struct sched_params p;
    int n_servers;
    int n_gpus;
    struct server_spec *spec; /* the server table, by server id (cluster.c) */
    int *gpu_server;         /* server of each global GPU id */
    double size[RES_COUNT];  /* per-server size (reference per_server_size); with GPU
                                types, that of the type being placed on */
    double fair[RES_COUNT];  /* per-GPU fair share (size / size[GPU]), likewise */
    double nom_size[RES_COUNT], nom_fair[RES_COUNT]; /* the whole cluster's (type-blind) */
    int n_types;
    struct sched_type *types;
    bool typed;              /* the cluster's groups name GPU types */
    bool aware;              /* typed and --hetero aware: place by type */
    unsigned place_mask;     /* GPU types a placement may use (bits) */
    unsigned memo_mask;      /* the types fail_memo speaks for */
    struct tprof_cache *tpc; /* hetero.c */
    double totals[3];        /* cluster gpus, cpus, mem */
    struct server *servers;
    int *gpu_owner;          /* job id, -1 (free) or -2 (server down), by GPU id */
    int n_free;              /* free GPUs placement may use (all, or a GPU type's) */
    int n_held;              /* GPUs held by jobs */
    int n_down;              /* servers down */
    struct free_map fmap;
    unsigned long round_no;  /* rounds planned */

    /* legacy (OPT, whose solver wants the whole ordered queue): the runnable
     * list in the order of the last sort. Otherwise: in no order, and the
     * order lives in the queue below (queue.c). */
    bool legacy;
    double demand_sum[3];    /* GPUs, CPUs, memory asked for by the runnable jobs */
    struct job **runnable;
    size_t n_runnable, cap_runnable;
    struct qclass *cls;      /* waiting jobs by (key, tie), one heap per demand */
    int n_cls;
    size_t cap_cls;
    int *cls_slot;           /* hash of demands to class index + 1 */
    size_t n_slots;
    int *tops;               /* heap of the classes in this round's walk */
    int n_tops;
    size_t cap_tops;
    int *parked;             /* classes out of this round's walk */
    int n_parked;
    size_t cap_parked;
    struct job **hot;        /* this round's re-keyed jobs, sorted */
    size_t n_hot, cap_hot, hot_i;
    struct job **hot_next;   /* walked or arrived: re-keyed next round */
    size_t n_hot_next, cap_hot_next;
    size_t n_walked;
    struct job **passed;     /* hot jobs the walk passed over (queue.c) */
    size_t n_passed, cap_passed;
    struct job **bump;       /* heap of priority-0 jobs by last-run time */
    size_t n_bump, cap_bump;
    long *unwalked;          /* jobs not walked yet, by GPUs (queue.c) */
    uint64_t *unwalked_bits; /* bit g: unwalked[g] > 0 */
    int unwalked_n, unwalked_lo;
    struct qitem *qitems;
    size_t cap_qitems;
    long long tie_lo, tie_hi;
    struct job **placed;
    size_t n_placed, cap_placed;
    struct job **round_jobs; /* scratch: jobs chosen by the GPU-count walk */
    size_t cap_round;
    struct qitem *sort_items;
    int *scratch_gpus; /* placement scratch, one slot per GPU of the cluster */
    struct job_share *scratch_shares;
    int *scratch_tsrv, *scratch_tcnt; /* Tune's target servers, one slot per server */
    struct job **peers;               /* Tune's peers to shrink */
    size_t cap_peers;
    struct peer_key *peer_keys;       /* Tune's sort of a server's jobs */
    size_t cap_peer_keys;
    struct job_share *peer_shares;    /* a shrunk peer's shares */
    size_t cap_peer_shares;
    struct fail_memo memo0[FAIL_MEMO_MAX]; /* the whole cluster's */
    int n_memo0;
    struct fail_memo *fail_memo; /* the memo of the servers being placed on (memo0,
                                    or a GPU type's during an aware placement) */
    int *n_fail_memo;
    size_t cap_sort;
    struct sched_opt_stats opt;
    bool round_failed;
    struct err round_err;
    struct sched_tenants *ten; /* tenant_round.c; NULL without a tenants file */
    /* reasons (reasons.c): rounds planned, the last round's time and GPUs
     * free at its start, the reason of the last failed placement */
    int rounds;
    double round_now;
    int round_free0;
    unsigned char why_last;
    struct job **why_jobs;   /* jobs that recorded a failed placement this round */
    size_t n_why_jobs, cap_why_jobs;
};

/* The cluster INI's [servers NAME] and [gpu_types] sections (groups.c): 1 if
 * the key was one of theirs (and is stored), 0 if the section is another's,
 * -1 with err "file:line: ..." for a bad key or value. */
int sched__cluster_ini_key(struct cluster_config *c, const char *section, const char *key,
                           const char *value, int line, const char *path, struct err *err);
/* Check the groups once the file is read (cluster_line: the line of a
 * [CLUSTER] key, 0 if none) and fill their defaults. 0 or -1 with err. */
int sched__cluster_ini_finish(struct cluster_config *c, int cluster_line, const char *path,
                              struct err *err);
/* Whether s is a valid GPU type name. */
bool sched__type_name_ok(const char *s);

/* Build the server table, the GPU-to-server map, the servers' capacities,
 * the per-server size and fair share and the totals from s->p.cluster. */
void sched__servers_build(sched_t *s);
void sched__servers_free(sched_t *s);

/* The server of a global GPU id (no range check: ids come from the scheduler). */
static inline int sched__gpu_server(const sched_t *s, int g)
{
    return s->gpu_server[g];
}

/* GPU types (hetero.c). */
void sched__profile_apply(const double S[RES_COUNT], int g, const struct model_profile *m,
                          double dem[3], double *speedup);
const struct model_profile *sched__nominal_profile(const sched_t *s,
                                                   const struct model_profile *m);
/* Resolve j's GPU types from spec->gpu_types and its model's profile on each
 * type of a typed cluster. 0, or -1 with err (a type the cluster lacks, a
 * type with no profile, more GPUs than its types have). */
int sched__job_types(const sched_t *s, struct job *j, const struct job_spec *spec,
                     struct err *err);
int sched__type_find(const sched_t *s, const char *name);
/* What the round's walk calls to place j: mode->allocate on an untyped
 * cluster; on a typed one by type (aware) or type-blind (agnostic). */
int sched__allocate(sched_t *s, const struct sched_mode_ops *mode, struct job *j, int deficit);
void sched__hetero_round_begin(sched_t *s);
void sched__hetero_release(sched_t *s);
void sched__hetero_free(sched_t *s);
/* Seconds per iteration of a job placed type-blind on a typed cluster. */
double sched__agnostic_iter_time(const sched_t *s, const struct job *j);
/* How much a round of j counts as service (1 on an untyped cluster). */
double sched__service_weight(const sched_t *s, const struct job *j);
/* Count a round on the job's type; the type it ran the most rounds on (-1: none). */
void sched__job_ran_on_type(struct job *j);
int sched__job_main_type(const struct job *j);

/* The first GPU id of server i. */
static inline int sched__server_gpu0(const sched_t *s, int i)
{
    return s->spec[i].first_gpu;
}

/* A server's list of this round's jobs (empty until the round adds one). */
static inline void sched__server_jobs_touch(const sched_t *s, struct server *sv)
{
    if (sv->jobs_round != s->round_no) {
        sv->n_jobs = 0;
        sv->jobs_round = s->round_no;
    }
}

/* GPUs on server i: its ids are [sched__server_gpu0, + this). */
static inline int sched__server_gpus(const sched_t *s, int i)
{
    return s->spec[i].gpus;
}

/* The free GPUs and where placement looks for them (freemap.c). Every GPU
 * starts free. */
void sched__free_init(sched_t *s);
void sched__free_destroy(sched_t *s);
/* The first set bit of b in [from, end), or -1. */
static inline int sched__bit_next(const uint64_t *b, int from, int end)
{
    if (from >= end)
        return -1;
    size_t w = (size_t)from / 64, last = ((size_t)end - 1) / 64;
    uint64_t x = b[w] & (~(uint64_t)0 << (from % 64));
    while (!x) {
        if (++w > last)
            return -1;
        x = b[w];
    }
    int i = (int)(w * 64) + __builtin_ctzll(x);
    return i < end ? i : -1;
}

/* Server i's first free GPU with id >= g, or its last one with id < g; -1. */
static inline int sched__free_from(const sched_t *s, int i, int g)
{
    int g0 = sched__server_gpu0(s, i);
    return sched__bit_next(s->fmap.gpu_free, g < g0 ? g0 : g, g0 + sched__server_gpus(s, i));
}
int sched__free_before(const sched_t *s, int i, int g);
/* Take these GPUs off the free lists (ids not on them are ignored). */
void sched__free_take(sched_t *s, const int *gpus, int n);
/* GPU g is free again / no longer free (its server went down). */
void sched__free_put(sched_t *s, int g);
void sched__free_put_all(sched_t *s, const int *gpus, int n);
void sched__free_drop(sched_t *s, int g);
/* The first server at or after `from` with a free GPU and room for one
 * per-GPU vector v (cap - used >= v in every resource); -1 if none. */
int sched__first_fit_server(sched_t *s, int from, const double v[RES_COUNT]);
/* Server i's free resources grew (a release, a shrink): searches look at it
 * again. */
void sched__server_grew(sched_t *s, int i);
/* Restrict placement to the servers of GPU type t (t < 0: all servers):
 * s->n_free becomes that type's free GPUs. */
void sched__free_view(sched_t *s, int t);
/* Free GPUs on the servers of the types in mask. */
int sched__free_of_types(const sched_t *s, unsigned mask);
/* The round's plan is done: its first-fit memory goes. */
void sched__fit_forget(sched_t *s);
/* The first server with cap - used >= gpus GPUs (Tune's target); -1. */
int sched__first_server_with_gpus(sched_t *s, double gpus);
/* The server with the fewest free GPUs, the lowest id among equals, leaving
 * out excluded ones; -1 if none has a free GPU. */
int sched__fewest_free_server(sched_t *s);
void sched__server_exclude(sched_t *s, int i, bool excluded);
bool sched__server_excluded(const sched_t *s, int i);

/* Take the job's shares off its servers (used -= share), keeping its GPUs. */
void sched__unshare(sched_t *s, struct job *j);

/* Try to place `j` with demand vector d (d[RES_GPU] = GPUs). run_fair is the
 * reference's fair flag for progress. 0 on success, -1 if it does not fit.
 * Uses the placement strategy of the scheduler (first fit or consolidate). */
int sched__place(sched_t *s, struct job *j, const double d[RES_COUNT], bool run_fair);

/* The job's unmet demand vector (reference get_job_demand_vector). */
void sched__demand_vector(const struct job *j, double d[RES_COUNT]);

/* Give j exactly these GPUs and per-server shares, charging the servers.
 * fresh: the GPUs come off the free lists and the job joins its servers'
 * lists of this round's jobs; false: j already holds them (sched__unshare). */
void sched__commit(sched_t *s, struct job *j, const int *gpus, int n_gpus,
                   const struct job_share *shares, int n_shares, bool run_fair, bool fresh);

/* Tenants (tenant_round.c). create: 0, or -1 with err (a GPU type the
 * cluster lacks). job_init: the job's tenant from spec->tenant (-1 with err
 * if the file has no such tenant, or the job names none). add/remove: the
 * job joins or leaves the runnable jobs. round: plan the round over the
 * runnable list in policy order (the legacy walk's order_runnable), then
 * count the round's usage. */
int sched__tenants_create(sched_t *s, struct err *err);
void sched__tenants_free(sched_t *s);
int sched__tenants_job_init(const sched_t *s, struct job *j, const struct job_spec *spec,
                            struct err *err);
void sched__tenants_job_add(sched_t *s, struct job *j);
void sched__tenants_job_remove(sched_t *s, struct job *j);
void sched__tenants_round(sched_t *s, const struct sched_view *v);

/* Reasons (reasons.c). job_init: no round placed it yet. place_failed:
 * why per-GPU vector v could not get n GPUs on the servers being placed on
 * (sets s->why_last). round_begin / round_end: stamp the round, and each
 * placed job's placement rounds. */
void sched__reasons_job_init(struct job *j);
void sched__reasons_place_failed(sched_t *s, const double v[RES_COUNT], int n);
void sched__reasons_round_begin(sched_t *s, double now);
void sched__reasons_round_end(sched_t *s);
/* A failed placement of j this round (sched__allocate); j joined the run
 * (sched_job_add); the scheduler is destroyed. */
void sched__reasons_failed(sched_t *s, struct job *j);
void sched__reasons_job_add(const sched_t *s, struct job *j);
void sched__reasons_free(sched_t *s);

/* The incremental queue (queue.c). */
void sched__queue_init(sched_t *s);
void sched__queue_free(sched_t *s);
void sched__queue_add(sched_t *s, struct job *j);
void sched__queue_remove(sched_t *s, struct job *j);
/* Round start: re-key the hot jobs, sort them, reset what modes set. */
void sched__queue_begin(sched_t *s, const struct sched_view *v);
/* The next job in policy order this round, or NULL when all were walked.
 * fit: when no job held GPUs at the round's start, the free GPU count (a
 * waiting job asking for more would be walked without effect, and may be
 * passed over); otherwise INT_MAX. */
struct job *sched__queue_next(sched_t *s, const struct sched_view *v, int fit);
/* Whether a job not walked yet asks for at most free_gpus GPUs. */
bool sched__queue_any_fits(sched_t *s, int free_gpus);
/* An allocation of j's demand failed in a monotone mode: pass over the
 * other jobs of that demand for the rest of the round. */
void sched__queue_class_failed(sched_t *s, const struct job *j);
/* Whether j's demand is out of this round's walk. */
bool sched__queue_class_parked(const sched_t *s, const struct job *j);
/* Round end: unwalked jobs go cold, starved jobs are bumped. */
void sched__queue_end(sched_t *s, const struct sched_view *v);

#endif
