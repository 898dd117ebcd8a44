/*
 * deploy: the deployment driver. The same scheduling core as the simulator
 * (sched_round, sched_job_round_iters, ...) driven by the wall clock: round k
 * starts at wall time t0 + b_k / time_scale, where b_k are exactly the
 * simulator's round times. At each boundary it ends the round's leases from
 * the jobs' own reports, plans the next round, extends the leases of jobs
 * whose placement is unchanged, preempts the rest and launches new
 * placements on the workers (synergy.v1 RPCs). It serves the reference's
 * JobToScheduler service to the jobs (RoundEnd is a parked long-poll) and
 * WorkerToScheduler to the workers. State goes to SQLite as it changes.
 */
#ifndef SYNERGY_DEPLOY_H
#define SYNERGY_DEPLOY_H

#include <stdio.h>

#include "scheduler.h"

/* One row of the workers file: the reference's ip,port,start_gpu,start_cpu,numa.
 * A worker is the row whose ip and port it claims to listen on. Port 0 (only
 * in rows made by deploy --local) matches the port the worker reports. */
struct deploy_worker_addr {
    char ip[64];
    int port;
    int start_gpu;
    int start_cpu;
    int numa;
    /* the CN its certificate must carry under mutual TLS: an optional sixth
     * column, default "worker-<row>" (scripts/make-certs.sh's names) */
    char identity[64];
};

/* Read a workers file (rows as above, plus an optional identity column;
 * '#' comments and blank lines allowed).
 * Row i is server i. 0, or -1 with err "file:line: ...". Caller frees *out. */
int deploy_workers_read(const char *path, struct deploy_worker_addr **out, size_t *n,
                        struct err *err);

struct rpc_tls;
struct deploy_state;

struct deploy_config {
    struct sched_params sched;
    const model_zoo_t *zoo;
    const struct job_spec *jobs; /* the trace */
    size_t n_jobs;
    const struct deploy_worker_addr *workers;
    size_t n_workers;
    double time_scale;       /* every duration is divided by this (>= 1 in tests) */
    bool is_static;          /* first round at t=1, like simulate --static */
    long measure_lo, measure_hi; /* --measure: ids [lo, hi) are measured (the run still
                                    goes to the end); hi <= lo: every job, the trace's
                                    and those submitted online */
    const char *listen_ip;   /* the scheduler binds this (default 127.0.0.1) */
    const char *advertise;   /* the address jobs and workers are told (default listen_ip) */
    int port;                /* 0 = pick one */
    const char *state_path;  /* SQLite file; NULL = in memory. An unfinished run in it
                                of the same arguments is continued (deploy_restore.c) */
    struct deploy_state *state; /* state_path opened by deploy_state_file_open (locked,
                                   checked) before anything started; NULL: opened by
                                   deploy_run. Borrowed */
    bool fresh;              /* discard an unfinished run in state_path */
    int max_retries;         /* relaunches after crashes before a job is failed (3) */
    double kill_wait_s;      /* a job stopped by signal: SIGTERM, then SIGKILL this long after
                                (unscaled; --kill-wait, default 30; divided by time_scale) */
    int heartbeat_ms;        /* workers' heartbeat period (wall; default 200) */
    int worker_timeout_ms;   /* a silent worker is lost after this (default 1500) */
    int register_timeout_ms; /* wait_workers must register within this (default 30000) */
    int wait_workers;        /* planning starts once this many registered (0: all) */
    FILE *plan_log;          /* "time: id id ..." per round, like simulate --plan-log */
    const char *record_path; /* --record: every arriving job appended to this replay trace
                                (deploy_record.c); NULL none */
    struct metrics *metrics; /* publish a snapshot per round here (metrics.h); NULL none */
    /* security (issue 10): mutual TLS with these credentials (NULL: plaintext);
     * jobs without a token are heard (on the address check) only with
     * allow_legacy_jobs */
    const struct rpc_tls *tls;
    bool allow_legacy_jobs;
    /* the admin service (issue 10: submit, queue, cancel, nodes). Under
     * mutual TLS only these certificate identities may call it; in plaintext
     * only when admin_plaintext (deploy allows it on a loopback listener) */
    char *const *admins;
    size_t n_admins;
    bool admin_plaintext;
    /* per-identity limits of the admin service (issue 21; deploy_admit.c):
     * jobs not finished (0: 10,000), submissions a second (0: 100; < 0: no
     * limit) in bursts of up to submit_burst (0: 1,000) */
    long max_queued_jobs;
    double submit_rate;
    long submit_burst;
    /* a service: keep running with no jobs left (no --trace), until *stop */
    bool service;
    volatile const int *stop; /* set (by a signal handler) to end the run at the next wake */
    /* called once the server listens (e.g. to start local workers) */
    void (*on_listening)(void *ctx, int port);
    /* called once the run is over (done or failed) while the server still
     * answers, so that workers stopped here (local ones) see no refused
     * calls on their way out */
    void (*on_finished)(void *ctx);
    /* called when the run has completed, for every round it planned, in
     * order, those before a scheduler restart included (they are kept in
     * the state file): deploy --db. NULL none */
    void (*on_sample)(void *ctx, const struct sched_round_sample *s);
    /* called live after each round's plan (under the round loop's lock: be
     * quick), with the round's number since the run began: progress. NULL none */
    void (*on_round)(void *ctx, size_t round, const struct sched_round_sample *s);
    void *ctx;
};

struct deploy_stats {
    size_t jobs_failed;
    size_t crashes;          /* job exits that were not asked for */
    size_t relaunches;       /* launches after a crash or a lost worker */
    size_t lease_kills;      /* jobs killed by their worker at lease expiry */
    size_t stops_ignored;    /* jobs killed at lease expiry after a stop: charged a retry */
    size_t delays;           /* round ends after the boundary's grace: waited for, not charged */
    size_t workers_lost;
    size_t preemptions;      /* leases ended by the plan, summed over jobs */
    double max_lateness_ms;  /* how late a round boundary was processed, at most */
    double plan_ms_max, dispatch_ms_max; /* sched_round, and RunJob/ExtendLease fan-out */
    double plan_ms_sum, dispatch_ms_sum;
    size_t dispatch_rounds;
    double registration_s;   /* from listening until planning could start (workers registered) */
    size_t jobs_late;        /* jobs whose last round ended after its boundary */
    double late_s_max;       /* by how much, at most (logical seconds: part of their JCT) */
    /* at the end: the jobs known (trace and submitted), and of them those
     * cancelled and those neither finished, failed nor cancelled */
    size_t jobs_known, jobs_cancelled, jobs_unfinished;
    /* set before on_listening when the run continues one in state_path: its
     * rounds so far, the jobs it knows and those running (to adopt) */
    bool resumed;
    size_t resumed_rounds, resumed_jobs, resumed_running;
};

/* Read an admins file: one certificate identity (CN or SAN) per line, '#'
 * comments and blank lines allowed. 0, or -1 + err "file:line: ...". Free
 * with deploy_admins_free. */
int deploy_admins_read(const char *path, char ***out, size_t *n, struct err *err);
void deploy_admins_free(char **v, size_t n);

/* Open the state file for deploy_config.state before anything starts: an
 * exclusive lock held until deploy_state_file_close (a second scheduler on
 * the same file is refused, told the holder's PID), an existing file checked
 * (empty, corrupt: refused, never replaced), its schema version migrated
 * forward (a newer one refused). NULL + err, one line naming the file. */
struct deploy_state *deploy_state_file_open(const char *path, struct err *err);
void deploy_state_file_close(struct deploy_state *st);

/* Before anything starts (after the config is filled): refuse a state file
 * holding an unfinished run of other arguments unless cfg->fresh. 0, or -1 +
 * err naming the file and both argument lists. */
int deploy_state_check_args(const struct deploy_config *cfg, struct err *err);

/* Run the trace to completion on the workers. 0 with *res filled like
 * sim_run (free with sched_result_free), or -1 with err. */
int deploy_run(const struct deploy_config *cfg, struct sched_result *res, struct deploy_stats *st,
               struct err *err);

#endif
