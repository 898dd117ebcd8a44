/*
 * scheduler: the one scheduling core that both drivers (the simulator and the
 * deployment server) run. It owns the cluster's resource accounting, the job
 * table and the round planner. A round is: order the runnable jobs with a
 * policy, then turn that order into placements with an allocation mechanism
 * ("mode": GPU-proportional, Synergy-GREEDY, Synergy-TUNE, Synergy-OPT in
 * opt.c). The planner knows
 * nothing of time sources or progress: the driver decides when a round starts
 * and credits progress for the plan it got (sched_job_round_iters()).
 *
 * Semantics follow the Synergy reference simulator exactly (see
 * docs/reference-compat.md); departures are deliberate and documented there.
 */
#ifndef SYNERGY_SCHEDULER_H
#define SYNERGY_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

/* ---------------------------------------------------------------- models */

/* TASK_NONE: a model outside the reference zoo (never drawn by the synthetic
 * workload or the trace importers). */
enum model_task {
    TASK_NONE = -1,
    TASK_IMAGE = 0,
    TASK_LANGUAGE = 1,
    TASK_SPEECH = 2,
    TASK_COUNT = 3
};

#define GPU_TYPE_NAME 16 /* bytes of a GPU type name, with its NUL */

#define TPUT_ROWS 9
#define TPUT_COLS 5
extern const double tput_cpu_per_gpu[TPUT_ROWS]; /* {1,2,3,4,5,6,9,12,24} */
extern const double tput_mem_per_gpu[TPUT_COLS]; /* {20.83,62.5,125,187.5,250} GB */

/* One measured per-model profile (the reference's <model>_1 profile). */
struct model_profile {
    char name[32];
    enum model_task task;     /* TASK_NONE outside the reference zoo */
    double cpus;              /* ideal CPU cores per GPU */
    double mem;               /* ideal DRAM GB per GPU */
    double speed;             /* storage MB/s per GPU (unused by the reference) */
    int batch;
    double placement_penalty; /* iteration-time divisor when spread over servers */
    double speedup;           /* iteration-time divisor at the ideal (cpu, mem) */
    double iter_time;         /* seconds per iteration at the fair share */
    bool has_tput;
    double tput[TPUT_ROWS][TPUT_COLS];
    double startup_s;         /* measured seconds from launch to the first step (0: unknown) */
    double checkpoint_s;      /* measured seconds to save a checkpoint (0: unknown) */
    /* GPU types ([<m>:1:TYPE] sections, docs/heterogeneous.md): a typed
     * profile names its type; the model's profile (the one model_zoo_find
     * returns) chains its typed profiles. typed_only: the model has typed
     * profiles and no [<m>:1] section, so its own figures are not a profile. */
    char gpu_type[GPU_TYPE_NAME];
    bool typed_only;
    const struct model_profile *typed_next;
};

/* m's profile measured on GPU type `type` ([<m>:1:type]), or NULL. */
const struct model_profile *model_profile_typed(const struct model_profile *m, const char *type);

typedef struct model_zoo model_zoo_t;

/* Load profiles from an INI file in the format of configs/models.ini.
 * `variant` selects a profile set: NULL or "default" for [<m>:1] sections,
 * "models-4" etc. for [<m>:1@models-4]. The file must profile the reference
 * zoo's ten models (in the variant, when one is given); its other [<m>:1]
 * sections are models too. Returns NULL and fills err on a bad file. Caller
 * frees with model_zoo_destroy(). */
model_zoo_t *model_zoo_load(const char *path, const char *variant, struct err *err);
/* Add the profiles of a models.ini-format file, or of every *.ini file of a
 * directory (a profile store) in name order. A section replaces a loaded
 * profile of the same name; a model's [<m>:1@variant] section is used over
 * its [<m>:1] when the zoo was loaded with that variant. 0, or -1 with err
 * "file:line: ..." (the zoo may then hold the files read before). */
int model_zoo_add(model_zoo_t *zoo, const char *path, struct err *err);
/* destroy(NULL) is a no-op. */
void model_zoo_destroy(model_zoo_t *zoo);
/* Borrowed; NULL if no profile has that name. Case-sensitive like the reference. */
const struct model_profile *model_zoo_find(const model_zoo_t *zoo, const char *name);
/* Every profile: the reference zoo's ten first, then the others in load order. */
size_t model_zoo_count(const model_zoo_t *zoo);
const struct model_profile *model_zoo_at(const model_zoo_t *zoo, size_t i);
/* The models of a task in the reference zoo's round-robin order. Borrowed. */
size_t model_zoo_task_models(const model_zoo_t *zoo, enum model_task t,
                             const struct model_profile *const **out);
const char *model_task_name(enum model_task t);

/* --------------------------------------------------------------- cluster */

enum { RES_GPU = 0, RES_CPU, RES_MEM, RES_SSPEED, RES_NET, RES_COUNT };

#define CLUSTER_MAX_GROUPS 64
#define CLUSTER_MAX_TYPES 16

/* A [servers NAME] section: `count` identical servers (docs/heterogeneous.md). */
struct server_group {
    char name[32];
    char gpu_type[GPU_TYPE_NAME]; /* "" : untyped */
    int count, gpus, cpus, dram_gb, sspeed, net;
    int rack;                     /* -1: not given */
    int line;                     /* where the section starts (0: built) */
};

/* A [gpu_types] entry: the speed of a GPU type relative to the GPU that the
 * models' default profiles were measured on (the reference's: V100). */
struct gpu_type_def {
    char name[GPU_TYPE_NAME];
    double speed;
    int line;
};

/* A cluster: the reference's [CLUSTER] keys (one group of identical,
 * untyped servers), or server groups. */
struct cluster_config {
    int racks;
    int servers_per_rack;
    int gpus_per_server;
    int cpus_per_server;
    int dram_per_server;   /* GB */
    int sspeed_per_server; /* MB/s */
    int net_per_server;
    int n_groups;          /* 0: the [CLUSTER] keys above are the one group */
    struct server_group groups[CLUSTER_MAX_GROUPS];
    int n_speeds;          /* [gpu_types] entries */
    struct gpu_type_def speeds[CLUSTER_MAX_TYPES];
};

/* The reference's built-in defaults (4 servers of 8 GPU, 24 CPU, 500 GB, 300 MB/s, 40). */
void cluster_config_defaults(struct cluster_config *c);
/* The cluster's server groups: its [servers] groups, or the one group its
 * [CLUSTER] keys describe (named "cluster", untyped). Returns the count. */
int cluster_config_groups(const struct cluster_config *c, struct server_group *out);
/* The same in the server table's order: each GPU type's groups together,
 * the types in the order they first appear (server ids count up through
 * these groups). Returns the count. */
int cluster_config_groups_ordered(const struct cluster_config *c, struct server_group *out);
/* Servers and GPUs of the whole cluster. */
int cluster_config_servers(const struct cluster_config *c);
int cluster_config_gpus(const struct cluster_config *c);
/* Whether its groups name GPU types. */
bool cluster_config_typed(const struct cluster_config *c);
/* The [gpu_types] speed factor of `type`, or 0 if it has none. */
double cluster_config_speed(const struct cluster_config *c, const char *type);

/* One server of the cluster: its row of the scheduler's server table. Its
 * GPUs have the global ids [first_gpu, first_gpu + gpus). Nothing outside
 * cluster.c computes a server from a GPU id: ask sched_gpu_server(). */
struct server_spec {
    int group;        /* index of its server group (0 for a [CLUSTER]-only cluster) */
    int gpu_type;     /* index of its GPU type (0 on an untyped cluster) */
    int gpus;
    double cap[RES_COUNT]; /* GPUs, CPUs, DRAM GB, storage MB/s, network */
    int rack;         /* -1: not given */
    int block;        /* -1: not given (kept for topology-aware placement) */
    int first_gpu;
};

/* --------------------------------------------------------------------- jobs */

/* A job as the trace gives it. */
struct job_spec {
    int id;
    char model[32];
    double arrival;  /* seconds */
    long iterations; /* total iterations to run */
    int gpus;
    char gpu_types[64]; /* the GPU types it may run on, '|'-separated; "": any */
    /* a recorded service run's cancel (docs/traces.md): the job leaves the run
     * at cancel_at, after that instant's lease ends and arrivals, before its
     * round is planned. Only replay traces carry it. */
    bool cancelled;
    double cancel_at;
    char tenant[32];    /* its tenant ("": none; docs/tenants.md) */
};

/* A job's share of one server in the current allocation. */
struct job_share {
    int server;
    double gpu, cpu, mem, sspeed;
};

/* The fields a round reads or writes for every job it places come first
 * (four cache lines from a 64-byte boundary, in a run's job arena), then what
 * only arrivals, finishes and some policies read. The allocation arrays
 * normally sit right after the struct, in the same block (job_block_size). */
struct job {
    /* identity, from the spec */
    int id;
    int gpus;
    int order; /* position in the trace: the final tie-break */
    int priority;          /* 1 after starving for 1000 h */

    /* allocation this round */
    int n_alloc;           /* GPUs held */
    int n_shares;

    /* statistics */
    int rounds_run;
    int rounds_demoted;

    const struct model_profile *model;
    double arrival;

    /* profile applied to this cluster (reference add_synergy_profile) */
    double iter_time;
    double speedup_orig;
    double speedup;        /* current: 1 once Tune demotes it to the fair share */

    /* progress and service */
    long total_iters;
    long executed;         /* including the current round's up-front credit */
    double attained;       /* seconds of rounds run */
    double service;        /* attained, weighted by throughput (sched_job_service) */
    double last_exec;      /* end of the last lease; -1 before the first */
    double first_start;    /* -1 until first scheduled */

    int *alloc_gpus;       /* global GPU ids, capacity `gpus` */
    struct job_share *shares; /* capacity `gpus` */
    double cpus, mem, sspeed; /* sums over shares */
    bool run_fair;         /* credit progress at plain iter_time this round */
    bool demoted;          /* ran below its ideal (cpu, mem) this round */
    bool own_block;        /* job_create's own allocation (job_destroy frees it) */

    /* planner bookkeeping, owned by the scheduler (queue.c): where the job
     * sits in the incremental order and in the starvation heap */
    struct job_queue_state {
        double key[3];   /* policy key as of key_time */
        double key_time;
        long long tie;   /* order among equal keys: the stable sort's memory */
        double bump_ref; /* starvation heap key (may lag last_exec) */
        int heap_pos;    /* in the cold heap, or -1 */
        int hot_pos;     /* in the hot list, or -1 */
        int bump_pos;    /* in the starvation heap, or -1 */
        int run_pos;     /* in the runnable array */
        bool fresh;      /* arrived since the last round: no key yet */
        bool keep_hot;   /* its key changes next round although it did not run */
        int cls;         /* its demand class (queue.c) */
        double key_speedup; /* the speedup its key was computed with */
        bool ran;        /* placed by the last round */
    } q;

    /* read when it arrives or leaves, and by some policies */
    double cpu_demand, mem_demand, sspeed_demand;
    double finish;         /* -1 until finished */
    int preemptions;       /* rounds after a run in which it did not run */
};

/* ----------------------------------------------------------------- planner */

typedef struct sched sched_t;

/* What a policy may read: the round's time and the cluster's totals. */
struct sched_view {
    double now;
    bool fair;          /* the mode is GPU-proportional (no speedups) */
    double total_gpus, total_cpus, total_mem;
};

/* What a policy reads of a job: quantities derived from the scheduler's view,
 * never the job's raw speed fields (iteration time, GPUs, speedup), so that
 * the same policy orders jobs on a cluster whose servers differ. On a
 * cluster of one untyped server group each equals the reference's
 * expression, operation for operation (the reference numbers stay exact). */

/* GPUs the job asks for. */
int sched_job_gpus(const struct job *j);
/* Seconds of work left at its speed on its current (or last) placement:
 * iteration time x iterations left, divided by its speedup unless the mode
 * is GPU-proportional (reference job.remaining_duration). */
double sched_job_remaining_s(const struct sched_view *v, const struct job *j);
/* Its whole run at its plain iteration time (FTF's ideal, without sharing). */
double sched_job_ideal_s(const struct sched_view *v, const struct job *j);
/* Attained service in GPU-seconds, each round weighted by the job's
 * throughput on the GPU type it ran on relative to its best type (Gavel's
 * effective throughput; the weight is 1 on an untyped cluster). */
double sched_job_service(const struct sched_view *v, const struct job *j);

/* A scheduling policy: orders the runnable jobs. Pure: it may read the view and
 * the job, nothing else. key[] is compared lexicographically, smaller first;
 * equal keys keep the previous round's order (a stable sort). */
struct sched_policy_ops {
    const char *name;
    const char *summary;
    void (*key)(const struct sched_view *v, const struct job *j, double key[3]);
    /* Place only the jobs chosen by the GPU-count walk (no CPU-aware backfill). */
    bool place_round_jobs_only;
    /* With Tune, re-order the chosen jobs by GPU demand, largest first. */
    bool tune_largest_first;
    /* The key of a job that does not run still changes with `now` (FTF). It
     * must never decrease as `now` grows: the planner keeps stale keys of
     * waiting jobs as lower bounds and refreshes only those it reaches. */
    bool key_grows_with_now;
};

struct sched_mode_ops;

enum placement { PLACEMENT_FIRST_FIT = 0, PLACEMENT_CONSOLIDATE = 1 };

struct sched_params {
    struct cluster_config cluster;
    const struct sched_policy_ops *policy;
    const struct sched_mode_ops *mode;
    enum placement placement;
    double round_duration; /* seconds, default 300 */
    double starvation_s;   /* priority bump after this long unscheduled (1000 h) */
    /* OPT only (docs/opt.md) */
    bool opt_compat;          /* the reference's formulation: cluster-wide, placement ignored */
    double opt_time_limit_s;  /* solver wall-clock safety cap per round; <= 0: 10 s */
    /* Re-sort and walk every runnable job every round, as the reference
     * does (OPT always does). The same plans, slower: kept so that tests can
     * compare the incremental queue against it. */
    bool legacy_order;
    /* On a cluster with GPU types: place each job on the type where it runs
     * best (aware, the default) or as a type-blind scheduler does (agnostic;
     * docs/heterogeneous.md). No effect on an untyped cluster. */
    enum sched_hetero { HETERO_DEFAULT = 0, HETERO_AWARE, HETERO_AGNOSTIC } hetero;
    /* Start-up and restore cost, charged by the round ledger at every
     * (re)launch: a job placed this round that was not placed by the previous
     * plan on the same GPUs, CPUs and memory makes no progress for this many
     * seconds of the round (its credit is floor((round - overhead) / iter
     * time)). restart_overhead_profile: each model's measured startup_s
     * instead. 0 (the default) keeps every reference number. Simulation only:
     * a deployment measures the real cost. */
    double restart_overhead_s;
    bool restart_overhead_profile;
    /* Tenants (tenants.c, docs/tenants.md): quotas, borrowing and fair share
     * over time between the policy and the mode. NULL: one tenant, and the
     * planner is exactly the reference's. Borrowed: it must outlive the
     * scheduler. */
    const struct tenants_config *tenants;
};

/* What the OPT mode did so far (all zero for other modes). */
struct sched_opt_stats {
    long rounds;         /* rounds OPT planned (solver ran) */
    long fallbacks;      /* rounds TUNE planned: a solver ran out of its work budget or time */
    long capped;         /* rounds the wall-clock safety cap (opt_time_limit_s) cut short:
                          * their plans depend on the machine's speed, so the run is not
                          * reproducible */
    long packed;         /* rounds the rounding could not place but the stage-2 MILP did */
    long lowered;        /* job-rounds the placement rounding moved to a lower point */
    long unplaced;       /* job-rounds the rounding could not place at any point */
    double solve_s_sum;  /* wall-clock seconds in the solver, summed over rounds */
    double solve_s_max;  /* the slowest round */
};
void sched_opt_stats(const sched_t *s, struct sched_opt_stats *out);

/* 0, or -1 with err filled if the last sched_round() failed (OPT: the solver
 * reported the problem infeasible or failed). Clears the error. */
int sched_round_error(sched_t *s, struct err *err);

/* Allocation mechanisms, looked up by name (case-insensitive): fair, greedy, tune, opt. */
const struct sched_mode_ops *sched_mode_find(const char *name);
const char *sched_mode_name(const struct sched_mode_ops *m);
const char *sched_mode_summary(const struct sched_mode_ops *m);
/* NULL-terminated registry, for --help listings. */
extern const struct sched_mode_ops *const sched_modes[];

/* Create a scheduler over an empty cluster. NULL + err on a bad configuration. */
sched_t *sched_create(const struct sched_params *p, struct err *err);
void sched_destroy(sched_t *s);

/* Per-server size of the cluster (reference per_server_size: int(total / servers)). */
void sched_server_size(const sched_t *s, double out[RES_COUNT]);
int sched_num_servers(const sched_t *s);
int sched_total_gpus(const sched_t *s);
/* The server table: server i's row (borrowed; i in [0, sched_num_servers)). */
const struct server_spec *sched_server(const sched_t *s, int i);
/* The server that GPU `gpu` (a global id) belongs to, -1 outside the cluster. */
int sched_gpu_server(const sched_t *s, int gpu);
/* Server i's capacity of resource res (RES_GPU ... RES_NET). */
double sched_server_cap(const sched_t *s, int i, int res);
/* The cluster's total GPUs, CPUs and memory (GB). */
void sched_cluster_totals(const sched_t *s, double out[3]);

/* Build a job from its spec and profile, applying the reference's demand caps
 * and speedup interpolation for this cluster. Returns NULL + err if the job can
 * never run (0 GPUs, more GPUs than the cluster has). Caller frees with
 * job_destroy(). */
struct job *job_create(const sched_t *s, const struct job_spec *spec,
                       const struct model_profile *profile, int order, struct err *err);
/* The same in a caller's zeroed block of job_block_size(spec->gpus) bytes (a
 * run's job arena): the job and its allocation arrays in one place. Release
 * with job_destroy() too; it then frees only what grew outside the block. */
size_t job_block_size(int gpus);
struct job *job_create_in(void *block, const sched_t *s, const struct job_spec *spec,
                          const struct model_profile *profile, int order, struct err *err);
void job_destroy(struct job *j);
/* Give j room for n shares (OPT can use a share per server it spans). */
void job_reserve_shares(struct job *j, int n);

/* The job arrived: it joins the runnable list (borrowed until removed). */
void sched_job_add(sched_t *s, struct job *j);
/* Remove a finished job from the runnable list. */
void sched_job_remove(sched_t *s, struct job *j);
size_t sched_runnable_count(const sched_t *s);
/* What the runnable jobs ask for in total: GPUs, CPUs, memory (GB). Kept as
 * jobs come and go, so a per-round sample does not walk the queue. */
void sched_runnable_demand(const sched_t *s, double out[3]);
/* The runnable jobs (arrived, not finished), in no particular order. Borrowed. */
struct job *const *sched_runnable_jobs(const sched_t *s, size_t *n);

/* Plan one round at time `now` from an empty cluster: orders the runnable
 * jobs and allocates. On return *placed lists the jobs that run this round, in
 * placement order (borrowed; valid until the next call). Every job that runs
 * holds its GPUs and per-server shares, and has run_fair/speedup set. */
void sched_round(sched_t *s, double now, struct job ***placed, size_t *n_placed);

/* Iterations a placed job completes in one round (reference job.allocate). */
long sched_job_round_iters(const sched_t *s, const struct job *j);

/* Seconds per iteration a placed job runs at this round: the quantity
 * sched_job_round_iters() divides the round by (deployment hands it to jobs). */
double sched_job_iter_time(const sched_t *s, const struct job *j);

/* GPU types: how many the cluster has (0 when untyped), a type's name, and
 * the type a job is placed on this round or last ran on (-1: never placed,
 * or an untyped cluster). */
int sched_num_gpu_types(const sched_t *s);
const char *sched_gpu_type_name(const sched_t *s, int t);
int sched_job_gpu_type(const struct job *j);

/* Take a server out of (down = true) or back into planning: its GPUs are not
 * offered to later rounds. For the deployment's lost workers. */
void sched_server_set_down(sched_t *s, int server, bool down);

/* Release every resource a job holds. */
void sched_job_release(sched_t *s, struct job *j);

/* Cluster-wide allocated fraction (0..1) of gpu, cpu, mem right now. */
void sched_alloc_fraction(const sched_t *s, double out[3]);
/* The same over the servers of GPU type t; its GPU count. */
void sched_type_alloc_fraction(const sched_t *s, int t, double out[3]);
int sched_type_gpus(const sched_t *s, int t);

/* Check that no server is oversubscribed; returns 0 or -1 with err filled. */
int sched_check_invariants(const sched_t *s, struct err *err);

/* ------------------------------------------------------------- reasons */

/*
 * Why a runnable job is not running (reasons.c, docs/forecast.md): one
 * reason per job after every round, like squeue's REASON. The planner
 * records a byte for a job whose placement it tried and could not make; the
 * rest is derived when asked. Precedence, first that applies:
 *   None           placed by this round and the previous one (running), or
 *                  arrived since the last round (not planned yet)
 *   Starting       placed by this round, not by the previous one (launching)
 *   Quota          its tenant is at its limit (sched_job_tenant_held)
 *   Held           placed by the previous round, not by this one (preempted)
 *   GpuType        enough GPUs free in all, none of its types had enough
 *   Cpu            its GPUs free, but not the CPUs beside them its mode needs
 *   Memory         its GPUs and CPUs free, but not the memory
 *   Fragmentation  GPUs, CPUs and memory each free in all, not together on
 *                  the same servers (or storage bandwidth)
 *   Resources      fewer GPUs up and free at the round's start than it asks
 *   Priority       jobs ahead of it in the policy's order took what was free
 * New reasons go in the table in reasons.c; the enum is its index.
 */
enum sched_reason {
    REASON_NONE = 0,
    REASON_STARTING,
    REASON_QUOTA,
    REASON_HELD,
    REASON_GPUTYPE,
    REASON_CPU,
    REASON_MEMORY,
    REASON_FRAGMENTATION,
    REASON_RESOURCES,
    REASON_PRIORITY,
    REASON_COUNT
};

/* The reason's name ("Priority", ...), or "?" out of range. */
const char *sched_reason_name(enum sched_reason r);
/* A one-line explanation of the reason, for help and docs. */
const char *sched_reason_summary(enum sched_reason r);
/* The reason named `name` (case-insensitive), or -1. */
int sched_reason_find(const char *name);
/* Why runnable job j is where it is after the last sched_round(). */
enum sched_reason sched_job_reason(const sched_t *s, const struct job *j);
/* Rounds job j spent for each reason since it arrived: Starting counts its
 * launches; Quota, GpuType, Cpu, Memory and Fragmentation the rounds it
 * showed them; Held its preemptions (j->preemptions, the ledger's count)
 * less those its tenant's quota explains; Priority every other round it
 * was runnable and not placed (Resources is folded into Priority here);
 * None 0. */
void sched_job_waits(const sched_t *s, const struct job *j, int out[REASON_COUNT]);

/* ------------------------------------------------------------ round ledger */

/*
 * The round ledger (ledger.c): what a round does to a job, once, for both
 * drivers. A driver owns its clock and where progress comes from; the ledger
 * owns arrivals (with the unknown-model rule), the up-front progress credit of
 * a planned round, attained service, first start, rounds run and demoted,
 * preemption counting (a job placed by the previous round and not by this
 * one, still runnable), lease ends, finishing, failing, and the run's result
 * rows and statistics. The simulator keeps the up-front credit; the deploy
 * driver replaces it with what the job measured (sched_run_credit()).
 */
typedef struct sched_run sched_run_t;

struct sched_run_params {
    struct sched_params sched;
    const model_zoo_t *zoo;
    /* the trace, to size the measured window (NULL for a synthetic workload) */
    const struct job_spec *trace;
    size_t n_trace;
    long measure_lo, measure_hi; /* measured ids [lo, hi); hi <= lo: the whole
                                    trace, or ids [4000, 5000) without one */
    bool check_invariants;       /* verify capacities after every plan */
    const char *log_tag;         /* subsystem tag for log lines ("sim", "deploy") */
    /* called by sched_run_arrive() for each job that arrives, after it joined
     * the run (never by sched_run_restore()); NULL none. deploy --record */
    void (*on_arrive)(void *ctx, const struct job_spec *spec);
    void *arrive_ctx;
};

/* One scheduling round as the results store records it: what the round did
 * and the cluster's allocation, true utilization and demand, each as a
 * fraction of the cluster's GPUs, CPUs and memory ([0] [1] [2]). Utilization
 * is the allocation minus the part above each running job's demand
 * (reference metrics/cluster_util.py); demand sums every runnable job's
 * ideal (GPUs, CPUs, memory) and can exceed 1. */
#define SCHED_SAMPLE_TENANTS 32
struct sched_round_sample {
    double now;
    size_t runnable, placed;
    size_t started;   /* placed for the first time this round */
    size_t preempted; /* ran last round, not this one */
    size_t demoted;   /* placed below their ideal CPU/memory */
    double alloc[3], util[3], demand[3];
    /* a cluster with GPU types: each type's allocation of its own GPUs, CPUs
     * and memory (0..1), types in the scheduler's order */
    int n_types;
    double type_alloc[CLUSTER_MAX_TYPES][3];
    /* with tenants: the GPUs each of the first SCHED_SAMPLE_TENANTS tenants
     * holds (tenants file order; the allocation plot's tenant lines) */
    int n_tenants;
    int tenant_held[SCHED_SAMPLE_TENANTS];
};

/* A finished job's result row. */
struct sched_job_result {
    int id;
    char model[32];
    int gpus;
    double arrival, first_start, finish, jct;
    double attained;
    int rounds_run, rounds_demoted, preemptions;
    char gpu_type[GPU_TYPE_NAME]; /* the type it ran the most rounds on ("" untyped) */
    char tenant[32];              /* "" without tenants */
    int waits[REASON_COUNT];      /* rounds per reason (sched_job_waits) */
};

/* One GPU type's part of a run (typed clusters): its measured jobs (each
 * counted on the type it ran the most rounds on), their JCTs, and the mean
 * per-round allocation of the type's own GPUs, CPUs and memory. */
struct sched_type_result {
    char name[GPU_TYPE_NAME];
    int gpus;
    size_t jobs;
    double avg_jct_s, p50_jct_s, p99_jct_s;
    double gpu_alloc, cpu_alloc, mem_alloc; /* 0..1 */
};

/* One tenant's part of a run (with a tenants file; docs/tenants.md): its
 * measured finished jobs' JCTs, the GPU-hours its jobs were given, the mean
 * GPUs it held per round, and the GPU-hours it was entitled to: each
 * round's min(GPUs its runnable jobs asked for, its quota). */
struct sched_tenant_result {
    char name[32];
    int quota;
    size_t jobs;
    double avg_jct_s, p50_jct_s, p99_jct_s;
    double gpu_hours, mean_gpus, entitled_hours;
};

/* A run's results, the same for `simulate` and `deploy`. */
struct sched_result {
    size_t jobs_arrived;
    size_t jobs_finished;
    size_t jobs_measured;     /* measured jobs that finished */
    size_t window_size;       /* ids in the measured window */
    double avg_jct_s, p50_jct_s, p99_jct_s, p999_jct_s, max_jct_s;
    double makespan_s;        /* last finish among measured jobs, from t=0 */
    double end_time_s;        /* time the run stopped */
    size_t rounds;
    double mean_gpu_alloc, mean_cpu_alloc, mean_mem_alloc; /* per round, 0..1 */
    bool window_complete;
    struct sched_opt_stats opt;  /* OPT solver figures (zero for other modes) */
    int n_types;                 /* 0 on an untyped cluster */
    struct sched_type_result types[CLUSTER_MAX_TYPES];
    int n_tenants;               /* 0 without tenants */
    struct sched_tenant_result *tenants; /* freed by sched_result_free() */
    double jain_tenants;         /* Jain's index of gpu_hours / entitled_hours over the
                                    tenants entitled to any (1: all alike) */
    struct sched_job_result *jobs; /* measured finished jobs, by id */
};

/* What a restarted driver saved of a job (see sched_run_restore()). */
struct sched_job_saved {
    long executed;          /* including the current round's up-front credit */
    long round_base;        /* executed before the current round */
    double attained;
    double service;         /* sched_job_service's weighted seconds; < 0: unknown,
                               taken as `attained` (exact on an untyped cluster) */
    int priority;
    double last_exec;       /* -1 before the first lease ended */
    double first_start;     /* -1 before the first round */
    double finish;          /* -1 unless finished */
    bool failed;            /* given up (deploy: too many crashes) */
    int rounds_run, rounds_demoted, preemptions;
    bool placed_last_round; /* in the last planned round (preemption counting) */
};

/* Create a run over a new scheduler (sched_create(&p->sched)). NULL + err on
 * a bad configuration. Free with sched_run_destroy(), which frees every job. */
sched_run_t *sched_run_create(const struct sched_run_params *p, struct err *err);
void sched_run_destroy(sched_run_t *r);
/* The run's scheduler (borrowed), e.g. for sched_server_set_down(). */
sched_t *sched_run_sched(sched_run_t *r);
/* Ids in the measured window. */
size_t sched_run_window_size(const sched_run_t *r);
bool sched_run_measured(const sched_run_t *r, int id);

/* A job arrives: built from its spec (an unknown model runs as alexnet, the
 * reference's rule, with one warning per run) and made runnable. Returns the
 * job (owned by the run) or NULL + err if it can never run on this cluster. */
struct job *sched_run_arrive(sched_run_t *r, const struct job_spec *spec, struct err *err);

/* A restarted driver's job: arrives like sched_run_arrive() (call in the
 * original arrival order, finished jobs included, so tie-breaks and result
 * rows are those of the uninterrupted run), then takes the saved progress and
 * counters. A finished job gets its result row; a failed one stays out of
 * planning. Runnable jobs join the runnable list in the order of the calls;
 * sched_run_set_runnable_order() then restores their saved order. */
struct job *sched_run_restore(sched_run_t *r, const struct job_spec *spec,
                              const struct sched_job_saved *saved, struct err *err);
/* Put the runnable jobs in this order (a restored run's saved tie-break
 * order, by sched_run_runnable_rank()); jobs not listed keep their place
 * after the listed ones. */
void sched_run_set_runnable_order(sched_run_t *r, struct job *const *jobs, size_t n);
/* What to save of a job for sched_run_restore(). */
void sched_run_save(const sched_run_t *r, const struct job *j, struct sched_job_saved *out);
/* The job's position in the runnable list (its tie-break order), -1 if it is
 * not runnable. */
long sched_run_runnable_rank(const sched_run_t *r, const struct job *j);

/* The run's round count and per-round allocation sums, for a restart. */
struct sched_run_totals {
    size_t rounds;
    double util_sum[3];
};
void sched_run_totals_get(const sched_run_t *r, struct sched_run_totals *out);
void sched_run_totals_set(sched_run_t *r, const struct sched_run_totals *in);

/* Plan a round at `now` (sched_round) and credit every placed job the whole
 * round up front: iterations (capped at its total), attained service, rounds
 * run and demoted, first start; count as preempted each job placed by the
 * previous plan, still runnable and not placed now. *placed as sched_round
 * (borrowed). smp, if not NULL, gets the round's sample. 0, or -1 with err
 * (OPT failed, or a broken invariant with check_invariants). */
int sched_run_plan(sched_run_t *r, double now, struct job ***placed, size_t *n_placed,
                   struct sched_round_sample *smp, struct err *err);

/* The same-placement rule, owned here and asked by both drivers: a job placed
 * now as `now` (n_now shares, one per server) is the same placement as `was`
 * when it has the same servers and, on each, the same number of GPUs, the
 * same CPUs and the same memory. Then its lease is extended (deploy: it keeps
 * running, on the physical GPUs it holds) and it pays no --restart-overhead;
 * any other change (another server, a GPU more or less, other CPUs or
 * memory) ends the lease and counts as a relaunch. Which GPUs of a server
 * does not matter: a plan that only renumbers a job's GPUs on a server moves
 * nothing (the deployment maps plan GPU ids to physical ones). The order of
 * the shares does not matter either. */
bool sched_same_placement(const struct job_share *was, int n_was, const struct job_share *now,
                          int n_now);

/* This round's credit for a placed job: *base = executed before the round,
 * *budget = iterations the plan credited. */
void sched_run_round_credit(const sched_run_t *r, const struct job *j, long *base,
                            long *budget);
/* Replace the plan's up-front credit with what the job did this round:
 * executed = base + steps, steps clamped to [0, budget]. */
void sched_run_credit(sched_run_t *r, struct job *j, long steps);

/* The job's lease ends at `now`: its resources are released. Returns true if
 * it has run all its iterations (the driver then calls sched_run_finish). */
bool sched_run_lease_end(sched_run_t *r, struct job *j, double now);
/* The job finished at `finish`: it leaves planning and, if measured, gets its
 * result row. Returns true when that completed the measured window. */
bool sched_run_finish(sched_run_t *r, struct job *j, double finish);
/* Give up on a job (deploy: too many crashes): it leaves planning, no row. */
void sched_run_fail(sched_run_t *r, struct job *j);
/* The job was cancelled (a replayed record's "#cancel" line): it leaves the
 * run as sched_run_fail() does, and the measured window, which it can no
 * longer complete, as a service's window leaves out its cancelled jobs.
 * Returns false, and does nothing, for a job that already finished or failed.
 * *window_complete: the measured window is complete. */
bool sched_run_cancel(sched_run_t *r, struct job *j, bool *window_complete);

/* The run's parameters (borrowed), and its jobs in arrival order
 * (finished and failed ones included; borrowed, valid until the next
 * arrival), with whether each is still runnable. */
const struct sched_run_params *sched_run_params_get(const sched_run_t *r);
size_t sched_run_job_count(const sched_run_t *r);
struct job *sched_run_job_at(const sched_run_t *r, size_t i, bool *runnable);

/* A forecast (forecast.c, docs/forecast.md): the run's runnable jobs,
 * copied with their progress into a new run of the same parameters, run
 * forward round by round from `now` with no new arrivals and every job at
 * its profile's speed. For each runnable job, in arrival order: the next
 * time a round places it (start; -1 if no round places it within
 * max_rounds) and the lease end at which it finishes (end; -1 likewise;
 * a job whose current round completes it: start -1, end `now`).
 * extra (NULL: none) is a hypothetical job arriving at `now` (submit
 * --test-only); its forecast comes last, and the forecast stops at its end
 * (the others' then may still be -1). Returns the count written to
 * *out (caller frees), or -1 with err. */
struct sched_forecast {
    int id;
    double start, end;
};
long sched_run_forecast(const sched_run_t *r, double now, const struct job_spec *extra,
                        long max_rounds, struct sched_forecast **out, struct err *err);

/* Fill res at the run's end: counts, result rows (caller owns them: free with
 * sched_result_free()), JCT statistics, mean allocation, OPT figures. */
void sched_run_result(sched_run_t *r, double end_time, struct sched_result *res);
void sched_result_free(struct sched_result *res);

/* Fill the summary of res from its jobs[0..jobs_measured) (sorting them by
 * id) and the per-round allocation sums (divided by res->rounds). */
void sched_result_summarize(struct sched_result *res, const double util_sum[3]);
/* Each type's jobs and JCT figures in res->types[0..n_types) (names set),
 * from the measured jobs' gpu_type. */
void sched_result_by_type(struct sched_result *res);
/* Each tenant's jobs and JCT figures in res->tenants[0..n_tenants) (names
 * set), from the measured jobs' tenant; and Jain's index across tenants. */
void sched_result_by_tenant(struct sched_result *res);
/* Jain's index of gpu_hours / entitled_hours over the tenants entitled to
 * any (NaN when none is): 1 when each received in proportion. */
double sched_jain_tenants(const struct sched_tenant_result *t, size_t n);
/* Linear-interpolated quantile at (n-1)q of sorted values (pandas/numpy). */
double sched_quantile(const double *sorted, size_t n, double q);

/* ------------------------------------------------------------- tenants */

/*
 * Tenants (docs/tenants.md). A tenants file (INI) declares tenants, their
 * nominal quotas, borrowing and lending limits and fair-share weights, and
 * the service's users. Each round the tenant layer gives every tenant up to
 * its nominal quota, in its policy's order; then it lends what is idle
 * within a cohort by fair share over time (KAI's time-aware fairness: usage
 * decayed with a half-life over a window); then, work-conserving, what is
 * still idle, the jobs that ran last round first. A borrowed job is
 * reclaimed (not placed) at the next round whose plan gives its GPUs to
 * their owner.
 */
#define TENANT_NAME 32
#define TENANT_USER_TENANTS 16

/* A [tenant NAME] section. GPUs are whole GPUs; CPUs and memory < 0: no quota. */
struct tenant_def {
    char name[TENANT_NAME];
    char cohort[TENANT_NAME]; /* "": the default cohort */
    int gpus;                 /* nominal GPU quota */
    int n_typed;              /* gpus.TYPE keys: nominal GPUs on a GPU type */
    struct tenant_typed {
        char type[GPU_TYPE_NAME];
        int gpus;
        int line;
    } typed[CLUSTER_MAX_TYPES];
    double cpus, mem_gb;      /* nominal CPUs and memory (GB); < 0: none */
    int borrowing_limit;      /* GPUs it may hold above its quota; < 0: no limit */
    int lending_limit;        /* GPUs of its unused quota others may hold; < 0: all */
    double weight;            /* fair-share weight (1) */
    long max_running_gpus;    /* service limits (deploy); < 0: none */
    long max_queued_jobs;
    int line;
};

/* A [user NAME] section (the service's owners of jobs). */
struct tenant_user {
    char name[TENANT_NAME];
    char identity[128];       /* certificate identity (CN); default: the name */
    char unix_user[TENANT_NAME]; /* account its jobs run as; default: the name */
    int tenants[TENANT_USER_TENANTS]; /* indexes; the first is the default */
    int n_tenants;
    bool admin;               /* may cancel any job */
    int line;
};

struct tenants_config {
    char path[1024];
    struct tenant_def *t;
    int n;
    struct tenant_user *u;
    int n_users;
    /* [fair_share]: P = max(0, w' + k (w' - U)), U decayed over the window */
    double k;           /* (1) */
    double half_life_s; /* usage half-life, seconds; 0: no decay (86400) */
    double window_s;    /* seconds of usage counted; 0: all (604800) */
};

/* Read a tenants file. NULL with err "file:line: field: problem" on a bad
 * file. Free with tenants_config_destroy(). */
struct tenants_config *tenants_config_load(const char *path, struct err *err);
void tenants_config_destroy(struct tenants_config *c);
/* Tenants whose quotas are proportional to their GPU-time in jobs[0..n)
 * (GPUs x iterations x the model's iteration time at its fair share; an
 * unknown model as alexnet), rounded to cluster_gpus in all by largest
 * remainder; weights the unrounded quotas, one cohort, no limits. Every job
 * must name a tenant. NULL with err otherwise. Caller destroys. */
struct tenants_config *tenants_config_proportional(const struct job_spec *jobs, size_t n,
                                                   const model_zoo_t *zoo, int cluster_gpus,
                                                   struct err *err);
/* Tenants names[0..n) with quotas proportional to w[] (the same rounding),
 * weights the unrounded quotas, one cohort, no limits. Caller destroys. */
struct tenants_config *tenants_config_shares(const char (*names)[TENANT_NAME], const double *w,
                                             int n, int cluster_gpus);
/* Index of a tenant or user by name, -1 if none. */
int tenants_find(const struct tenants_config *c, const char *name);
int tenants_user_find(const struct tenants_config *c, const char *name);
/* The user whose certificate identity is `identity`, -1 if none. */
int tenants_user_by_identity(const struct tenants_config *c, const char *identity);
/* Whether user u may use tenant t. */
bool tenants_user_in(const struct tenants_config *c, int u, int t);

/* A tenant's state in the current round (sched_tenant_status()). */
struct sched_tenant_status {
    const char *name;   /* borrowed */
    int quota;          /* nominal GPUs */
    int held;           /* GPUs its jobs hold this round */
    int borrowed;       /* of those, above its quota */
    double lent;        /* GPUs of its unused quota other tenants hold */
    int share;          /* its over-quota share this round (GPUs) */
    int demand;         /* GPUs its runnable jobs ask for */
    int min_waiting;    /* GPUs of its smallest waiting job (0: none waits) */
    int running;        /* its jobs placed this round */
    int queued;         /* its runnable jobs not placed */
    double usage;       /* decayed usage U, a fraction of the capacity */
    double fair_weight; /* its normalised weight w' among all tenants */
    double gpu_s;       /* GPU-seconds its jobs were given so far */
    double entitled_s;  /* GPU-seconds of min(demand, quota) so far */
    double held_sum;    /* its GPUs summed over the rounds so far */
};

/* Tenants of the scheduler (0 without a tenants file), and tenant i's state. */
int sched_tenants_count(const sched_t *s);
/* The GPUs tenant i holds in the last planned round (cheap). */
int sched_tenant_held(const sched_t *s, int i);
void sched_tenant_status(const sched_t *s, int i, struct sched_tenant_status *out);
/* The job's tenant index, -1 without tenants. */
int sched_job_tenant(const sched_t *s, const struct job *j);
/* Why the tenant layer held a runnable job back in the last round: its
 * tenant was at its quota and could not borrow (over its share, its
 * borrowing limit, or nothing lendable) (true), or not (false: it ran, or
 * something else kept it waiting). For "why is my job waiting". */
bool sched_job_tenant_held(const sched_t *s, const struct job *j);

/* ------------------------------------------------------------- config */

/* Everything a cluster INI file can set. [CLUSTER] and [SCHEDULER] policy /
 * lease_time are the reference's keys; the rest are synergy's own (see
 * configs/README.md). */
struct synergy_config {
    struct cluster_config cluster;
    char policy[32];       /* [SCHEDULER] policy (default FIFO) */
    long lease_time;       /* [SCHEDULER] lease_time: parsed, unused like the reference */
    double round_duration; /* [SCHEDULER] round_duration, seconds (300) */
    char mode[16];         /* [SCHEDULER] mode (fair) */
    char placement[16];    /* [SCHEDULER] placement: first-fit | consolidate */
    char hetero[16];       /* [SCHEDULER] hetero: aware | agnostic ("": aware) */
    double jobs_per_hour;  /* [WORKLOAD] jobs_per_hour (9) */
    int split[TASK_COUNT]; /* [WORKLOAD] split = image,language,speech (20,70,10) */
    long seed;             /* [WORKLOAD] seed (42) */
    char profiles[32];     /* [WORKLOAD] profiles: default | models-4 | models-5 | models-6 */
    /* where the [SCHEDULER] names came from, for file:line errors (0: default) */
    char path[1024];
    int policy_line, mode_line, placement_line, hetero_line;
};

/* What the command line overrides in the config file (NULL or 0: the file's). */
struct sched_overrides {
    const char *policy;       /* one policy name */
    const char *mode;         /* one mode name */
    const char *placement;    /* first-fit | consolidate */
    const char *hetero;       /* aware | agnostic (typed clusters) */
    double round_duration;    /* seconds, > 0 */
    bool opt_compat;          /* opt only */
    double opt_time_limit_s;  /* opt only, > 0 */
    double restart_overhead_s;     /* seconds of no progress at every (re)launch */
    bool restart_overhead_profile; /* each model's startup_s instead */
};

/* The one place sched_params are assembled, for simulate, sweep and deploy:
 * the config's cluster and [SCHEDULER] values, overridden by `ov`; the
 * policy looked up (case-insensitive) in `policies` (NULL-terminated
 * registry), the mode in sched_modes. 0, or -1 with err naming the bad value
 * and where it came from ("file:line: policy: ..." or "--policy: ..."), or
 * the OPT flags without the opt mode. */
int sched_params_build(const struct synergy_config *conf, const struct sched_overrides *ov,
                       const struct sched_policy_ops *const *policies, struct sched_params *out,
                       struct err *err);

/* --opt-compat and --opt-time-limit apply to the opt mode only: 0 when
 * neither is given (opt_compat false, opt_time_limit_s <= 0) or any_opt (a run
 * of the command plans with opt), else -1 with err "--opt-compat applies to
 * the opt mode only (--mode opt)". With file_keys the options are named by
 * their experiment-file keys ("opt_compat ... (modes: opt)"), as sweep's are. */
int sched_opt_options_check(bool opt_compat, double opt_time_limit_s, bool any_opt,
                            bool file_keys, struct err *err);

void synergy_config_defaults(struct synergy_config *c);
/* Read an INI file over the defaults. 0, or -1 with err "file:line: ..." for a
 * missing file, syntax error, unknown section or key, or a bad value. */
int synergy_config_load(const char *path, struct synergy_config *c, struct err *err);
/* Parse "a,b,c" percentages. 0 or -1. */
int parse_split(const char *s, int split[TASK_COUNT]);

#endif
