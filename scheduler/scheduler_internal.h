/*
 * Internals shared by the scheduler's files: the cluster accounting, the
 * planner state and the allocation mechanisms. Not for other libraries.
 */
#ifndef SYNERGY_SCHEDULER_INTERNAL_H
#define SYNERGY_SCHEDULER_INTERNAL_H

#include "scheduler.h"

struct server {
    double cap[RES_COUNT];
    double used[RES_COUNT];  /* net is never charged, like the reference */
    double hold[RES_COUNT];  /* scratch during one placement */
    size_t n_jobs, cap_jobs; /* jobs placed on it this round, in order */
    struct job **jobs;
};

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

#define FAIL_MEMO_MAX 32

struct fail_memo {
    double v[RES_COUNT];
    int n;
};

struct sched {
    struct sched_params p;
    int n_servers;
    int gpus_per_server;
    double size[RES_COUNT];  /* per-server size (reference per_server_size) */
    double fair[RES_COUNT];  /* per-GPU fair share (size / size[GPU]) */
    double totals[3];        /* cluster gpus, cpus, mem */
    struct server *servers;
    int *gpu_owner;          /* job id or -1, by global GPU id */
    int *free_gpus;          /* free GPU ids in id order, during a round */
    int n_free;

    struct job **runnable;   /* in the order of the last sort */
    size_t n_runnable, cap_runnable;
    struct job **placed;
    size_t n_placed, cap_placed;
    struct job **round_jobs; /* scratch: jobs chosen by the GPU-count walk */
    size_t cap_round;
    struct sort_item *sort_items;
    int *scratch_gpus; /* placement scratch, one slot per GPU of the cluster */
    struct job_share *scratch_shares;
    struct fail_memo fail_memo[FAIL_MEMO_MAX];
    int n_fail_memo;
    size_t cap_sort;
    struct sched_opt_stats opt;
    bool round_failed;
    struct err round_err;
};

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

#endif
