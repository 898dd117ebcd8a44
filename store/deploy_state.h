/*
 * store/deploy_state: the deployment scheduler's durable state in SQLite
 * (WAL): workers, jobs (state, attempt, progress) and leases (who holds
 * which GPUs until when), written as they change. One writer: the deploy
 * driver. Lets an operator see what ran where after a crash, and holds what
 * a restarted scheduler needs to continue the run (the run row, saved_jobs,
 * saved_ranks), plus each attempt's measured start-up time (attempts).
 */
#ifndef SYNERGY_DEPLOY_STATE_H
#define SYNERGY_DEPLOY_STATE_H

#include <stdbool.h>

#include "common.h"

typedef struct deploy_state deploy_state_t;

/* Open the state file at path (":memory:" works, and "" is a private
 * temporary file that SQLite deletes, whose page cache stays small where
 * ":memory:" holds every row in RAM), for the caller's lifetime
 * as its only writer: an exclusive lock on path.lock (a second opener is
 * refused, told the holder's PID), an existing file checked (empty, or
 * PRAGMA quick_check not ok: refused, never replaced), its schema brought to
 * this synergy's version (a newer one: refused). synchronous=FULL: what a
 * commit returned is on disk. NULL + err (one line naming the file). */
deploy_state_t *deploy_state_open(const char *path, struct err *err);
void deploy_state_close(deploy_state_t *st);

/* Group the writes of one round into one transaction. 0 or -1 + err. A
 * write that fails inside it makes the later ones fail too (skipped) and
 * the commit roll everything back and return -1 + that write's error; a
 * failed COMMIT rolls back too. Either way the file holds the previous
 * commit, whole. commit without begin: 0, nothing done. */
int deploy_state_begin(deploy_state_t *st, struct err *err);
int deploy_state_commit(deploy_state_t *st, struct err *err);

int deploy_state_worker(deploy_state_t *st, int server, const char *ip, int port,
                        const char *state, int n_gpus, struct err *err);
/* Upsert a job's row. state: queued|running|finished|failed. */
int deploy_state_job(deploy_state_t *st, int id, const char *model, const char *state,
                     int attempt, long executed, long total, double arrival, double finish,
                     struct err *err);
/* Record a lease: job `id` launch `attempt` holds `gpus` (text) on `server`
 * from round time t until t_end; state: active|extended|ended|crashed|lost. */
int deploy_state_lease(deploy_state_t *st, int id, int attempt, int server, const char *gpus,
                       double cpus, double mem, double t, double t_end, const char *state,
                       struct err *err);
/* Forget everything (a fresh run over an old file). */
int deploy_state_reset(deploy_state_t *st, struct err *err);

/* The run: what the restarted scheduler checks (args) and continues from. */
#define DEPLOY_STATE_STATS 8
struct deploy_state_run {
    char args[1024];    /* the run's identity: trace, cluster, policy, mode, scale */
    int finished;       /* the run completed */
    double t0_real;     /* CLOCK_REALTIME seconds of logical time 0 */
    double b;           /* the last round processed (logical seconds) */
    long next_arrival;  /* arrivals so far */
    long rounds;        /* rounds planned, and their allocation sums */
    double util_sum[3];
    long stats[DEPLOY_STATE_STATS]; /* the driver's counters */
    long plan_log_bytes; /* --plan-log's length at this commit; -1: none */
};
int deploy_state_run_put(deploy_state_t *st, const struct deploy_state_run *r, struct err *err);
/* 1 and *r filled, 0 when the file holds no run, -1 + err. */
int deploy_state_run_get(deploy_state_t *st, struct deploy_state_run *r, struct err *err);

/* A job as a restarted scheduler needs it (the ledger's saved fields plus the
 * driver's: state, attempt, crashes). */
struct deploy_state_job {
    int id;
    int state;          /* the driver's job state (deploy_internal.h enum) */
    int attempt, crashes;
    bool terminated;    /* told to stop in the saved round */
    long executed, round_base;
    double attained;
    int priority;
    double last_exec, first_start, finish;
    bool failed;
    int rounds_run, rounds_demoted, preemptions;
    bool placed_last;
    long runnable_rank; /* -1: not runnable */
    double lease_t;     /* round time of the current lease */
    int procs;          /* iterator processes of the running lease (0: not known) */
};
int deploy_state_saved_put(deploy_state_t *st, const struct deploy_state_job *j, struct err *err);
/* Call fn for every saved job, by id; stops at fn's first non-zero return,
 * which it returns. -1 + err on a database error. */
int deploy_state_saved_each(deploy_state_t *st,
                            int (*fn)(void *ctx, const struct deploy_state_job *j), void *ctx,
                            struct err *err);

/* One rank (server share) of a running job's lease. */
struct deploy_state_rank {
    int server;
    char gpus[256];     /* physical GPUs, "0,1" */
    int cpus;
    double mem;
    double share_gpu, share_cpu, share_mem, share_sspeed; /* the plan's share */
};
/* Replace the job's saved ranks (n = 0: none). */
int deploy_state_ranks_put(deploy_state_t *st, int job, const struct deploy_state_rank *r,
                           int n, struct err *err);
int deploy_state_ranks_each(deploy_state_t *st,
                            int (*fn)(void *ctx, int job, int rank,
                                      const struct deploy_state_rank *r),
                            void *ctx, struct err *err);

/* An attempt: launched at round time `launched`; startup_s (launch until its
 * first message, wall seconds) once known, < 0 before. */
int deploy_state_attempt(deploy_state_t *st, int job, int attempt, double launched,
                         double startup_s, struct err *err);

/* A job's tokens (issue 21): the secrets its current and previous attempts
 * prove themselves with, so that a restarted scheduler checks a running
 * job's calls at once, before its worker re-registers. "" none. */
struct deploy_state_token {
    int job;
    int attempt;
    char token[33];
    int prev_attempt;
    char prev_token[33];
};
/* Replace the job's row. 0 or -1 + err. */
int deploy_state_token(deploy_state_t *st, const struct deploy_state_token *t, struct err *err);
/* fn for every row, by job; stops at fn's first non-zero return (returned). */
int deploy_state_tokens_each(deploy_state_t *st,
                             int (*fn)(void *ctx, const struct deploy_state_token *t), void *ctx,
                             struct err *err);

/* Record, in the transaction being committed, which round boundary (number
 * n, logical time t) the jobs and leases rows describe: done = false for a
 * commit in the middle of the round (the plan), true once the round's
 * launches are in. The metrics snapshot is published at the done commits,
 * so a scrape compares with the DB when the latest row is done and has its
 * round time. 0 or -1 + err. */
int deploy_state_round(deploy_state_t *st, long n, double t, bool done, struct err *err);
/* One planned round as deploy --db stores it (the results store's rounds
 * row; fractions of the cluster's GPUs, CPUs and memory). */
struct deploy_state_sample {
    double t;
    long runnable, placed, started, preempted, demoted;
    double alloc[3], util[3], demand[3];
};
/* Record (replace) the sample of the round at r->t, in the current
 * transaction. 0 or -1 + err. */
int deploy_state_sample(deploy_state_t *st, const struct deploy_state_sample *r,
                        struct err *err);
/* Call fn for every sample, by round time (also those of the run before a
 * restart); stops at fn's first non-zero return, which it returns. -1 + err. */
int deploy_state_samples_each(deploy_state_t *st,
                              int (*fn)(void *ctx, const struct deploy_state_sample *r),
                              void *ctx, struct err *err);
/* Inside a deploy_state_begin() transaction (a write now is durable only
 * at its commit)? */
bool deploy_state_in_txn(deploy_state_t *st);

/* A job's completion report (LeaseEnded at its total) of attempt `attempt`
 * by process `rank` (-1: not sent), stored before it is acknowledged, until
 * the round's credit has consumed it (deploy_state_reports_clear, in the
 * round's transaction). 0 or -1 + err. */
int deploy_state_report(deploy_state_t *st, int job, int attempt, int rank, long steps,
                        struct err *err);
int deploy_state_reports_clear(deploy_state_t *st, int job, struct err *err);
/* fn for every stored report, oldest first; stops at fn's first non-zero
 * return (returned); -1 + err. */
int deploy_state_reports_each(deploy_state_t *st,
                              int (*fn)(void *ctx, int job, int attempt, int rank, long steps),
                              void *ctx, struct err *err);

/* A job the admin service touched (deploy_admin.c): an online submission
 * (submitted: its whole spec), or a trace job that was cancelled. */
struct deploy_state_admin {
    int id;
    char name[64];
    char user[128];
    char model[32];
    int gpus;
    long iterations;
    double arrival;     /* logical seconds */
    int priority;
    bool submitted;
    bool cancelled;     /* a cancel was asked for */
    char gpu_types[64]; /* the GPU types it may use, '|'-separated; "" any */
    char tenant[32];    /* its tenant ("" without tenants; docs/tenants.md) */
};
int deploy_state_admin_put(deploy_state_t *st, const struct deploy_state_admin *a,
                           struct err *err);
/* fn for every row, by id; stops at fn's first non-zero return (returned). */
int deploy_state_admin_each(deploy_state_t *st,
                            int (*fn)(void *ctx, const struct deploy_state_admin *a), void *ctx,
                            struct err *err);

/* Count rows of a table (for tests): jobs in `state`, or all when NULL. */
long deploy_state_count_jobs(deploy_state_t *st, const char *state);

#endif
