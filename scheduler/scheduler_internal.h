/*
 * Internals shared by the scheduler's files: the cluster accounting, the
 * planner state and the allocation mechanisms. Not for other libraries.
 */
#ifndef SYNERGY_SCHEDULER_INTERNAL_H
#define SYNERGY_SCHEDULER_INTERNAL_H

#include "scheduler.h"

struct server {
    unsigned type_bit;       /* 1 << its GPU type */
    double cap[RES_COUNT];
    double used[RES_COUNT];  /* net is never charged, like the reference */
    double hold[RES_COUNT];  /* scratch during one placement */
    size_t n_jobs, cap_jobs; /* jobs placed on it this round, in order */
    struct job **jobs;
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

/* A GPU type of the cluster (one unnamed type on an untyped cluster). Its
 * GPUs and its servers have contiguous ids: the server table keeps each
 * type's groups together, in the order the types first appear. */
struct sched_type {
    char name[GPU_TYPE_NAME];
    double speed;            /* [gpu_types] factor; 0: none given */
    int gpu_lo, gpu_hi, srv_lo, srv_hi;
    double size[RES_COUNT];  /* its smallest server, per resource */
    double fair[RES_COUNT];  /* per-GPU share: the smallest cap / GPUs of its servers */
    /* aware placement, during a round: its part of the free list (ids in
     * [gpu_lo, gpu_hi)) and its failed placements */
    int *free_start;
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
    int *gpu_owner;          /* job id or -1, by global GPU id */
    int *free_gpus;          /* free GPU ids in id order, during a round (points
                                into free_base: taking the first ones moves it) */
    int *free_base;
    int n_free;

    /* legacy (OPT, whose solver wants the whole ordered queue): the runnable
     * list in the order of the last sort. Otherwise: in no order, and the
     * order lives in the queue below (queue.c). */
    bool legacy;
    double demand_sum[3];    /* GPUs, CPUs, memory asked for by the runnable jobs */
    struct job **runnable;
    size_t n_runnable, cap_runnable;
    struct cold_heap *cold;  /* waiting jobs by (key, tie), one heap per GPU
                                demand (FTF: one heap), queue.c */
    int n_cold_cls;
    int *cold_act;           /* the demands whose heap is not empty, ascending */
    int n_cold_act;
    struct job **hot;        /* this round's re-keyed jobs, sorted */
    size_t n_hot, cap_hot, hot_i;
    struct job **hot_next;   /* walked or arrived: re-keyed next round */
    size_t n_hot_next, cap_hot_next;
    size_t n_walked;
    struct job **bump;       /* heap of priority-0 jobs by last-run time */
    size_t n_bump, cap_bump;
    long *unwalked;          /* jobs not walked yet, by GPUs (queue.c) */
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

/* Try to place `j` with demand vector d (d[RES_GPU] = GPUs). run_fair is the
 * reference's fair flag for progress. 0 on success, -1 if it does not fit.
 * Uses the placement strategy of the scheduler (first fit or consolidate). */
int sched__place(sched_t *s, struct job *j, const double d[RES_COUNT], bool run_fair);

/* The job's unmet demand vector (reference get_job_demand_vector). */
void sched__demand_vector(const struct job *j, double d[RES_COUNT]);

/* Give j exactly these GPUs and per-server shares, charging the servers. */
void sched__commit(sched_t *s, struct job *j, const int *gpus, int n_gpus,
                   const struct job_share *shares, int n_shares, bool run_fair,
                   bool add_to_servers);

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
/* Round end: unwalked jobs go cold, starved jobs are bumped. */
void sched__queue_end(sched_t *s, const struct sched_view *v);

#endif
