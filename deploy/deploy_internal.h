/*
 * Internals of the deploy driver shared by its files: the job and worker
 * tables, and the RPC handlers (deploy_rpc.c) that feed reports to the round
 * loop (deploy.c) under one mutex + condition variable.
 */
#ifndef SYNERGY_DEPLOY_INTERNAL_H
#define SYNERGY_DEPLOY_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "deploy.h"
#include "deploy_state.h"
#include "rpc.h"

#define DJ_MAX_RANKS 64   /* servers of one job (struct drank: one RunJob each) */
#define DJ_MAX_PROCS 256  /* iterator processes of one job (one per GPU: spec §6 items 3-4) */

enum djob_state { DJ_PENDING = 0, DJ_QUEUED, DJ_RUNNING, DJ_DONE, DJ_FAILED };

struct drank {
    int server;
    int n_gpus;
    int gpus[64];  /* local indexes on the worker */
    int cpus;
    double mem;
    bool exited;
    bool restored; /* from the state file: to be adopted */
    bool adopted;  /* reported by its worker after a scheduler restart */
};

/* A job submitted online (deploy_admin.c). Owned by d->subs; the round loop
 * moves it into jobs[] at the next boundary (deploy__admin_merge). */
/* Who calls the admin service (deploy_admin.c admin_allowed). */
struct deploy_caller {
    const char *user; /* certificate identity, or "local" (plaintext on loopback) */
    int tuser;        /* its [user] in the tenants file, -1 none */
    bool admin;       /* may cancel any job (--admins, or admin = true) */
};

struct dsub {
    struct job_spec spec;
    char name[64];
    int ident;    /* who submitted it: d->adm.idents[] (deploy_admit.c) */
    int priority;
    bool cancel;  /* cancelled before it was merged */
};

/* The tables of a job's current lease: kept only while it runs (a queued
 * job costs no rank or parking slots: issue 21, ~20 KB of them). */
struct dlease {
    struct drank ranks[DJ_MAX_RANKS];
    rpc_call_t *parked[DJ_MAX_PROCS];
    bool lease_ended_rank[DJ_MAX_PROCS];
};

struct djob {
    const struct job_spec *spec;
    const struct dsub *sub;   /* submitted online; NULL for a trace job */
    bool cancel_req;          /* `synergy cancel` asked; done at the next boundary */
    bool cancelled;
    struct job *j;
    enum djob_state state;
    int launch;           /* RunJob attempt number of the current lease */
    int crashes;
    /* the current lease: n_ranks of ranks[], which (with parked[] and
     * lease_ended_rank[]) points into lease_tab, NULL while the job holds no
     * lease (deploy__lease_tables); a running job always has them */
    int n_ranks;
    struct dlease *lease_tab;
    struct drank *ranks;
    long budget;          /* steps this round (the plan's credit) */
    long base;            /* executed before this round */
    /* iterator processes of the current lease: n_ranks, plus the extra
     * processes workers reported launching (RunJobResponse.processes), or
     * more when the job shows more (deploy__job_registered): a process whose
     * rank is past the count, or more RegisterJobs of rank-less processes
     * (the stock iterator) than the count */
    int n_procs;
    int n_registered;     /* RegisterJobs of rank-less processes of this attempt */
    bool procs_restored;  /* n_procs read back from the state file (restart) */
    /* the round's budget as first answered (UpdateIters of this attempt and
     * iterator round memo_round, when memo_set): every later ask of that
     * round gets the same number, as in the reference */
    bool memo_set;
    long memo_round, memo_budget;
    /* parked RoundEnds by process rank (a process that sends no rank, like
     * the stock iterator, takes a free slot); every slot is answered alike */
    rpc_call_t **parked;  /* DJ_MAX_PROCS slots */
    int n_parked;
    bool *lease_ended_rank; /* DJ_MAX_PROCS: ranks that sent LeaseEnded this round */
    long round_end_steps; /* min over this round's RoundEnd reports, -1 none */
    int n_lease_ended;    /* LeaseEnded before we ended the lease (job done) */
    long lease_end_steps;
    long progress_steps;  /* max UpdateIters num_steps this round */
    int n_exited;
    bool terminated;      /* we answered terminate_lease */
    bool crashed, lost, lease_killed;
    bool stop_ignored;    /* told to stop, killed at its lease's end (charged) */
    bool let_lapse;       /* silent near its lease's end: not extended on purpose */
    /* the placement of the current lease, to tell extension from move */
    int sig_n_shares;
    size_t sig_cap;
    struct job_share *sig_shares;
    double lease_b;           /* round time the current lease started */
    bool restored;            /* running when the scheduler restarted; not heard since */
    bool lease_ours;          /* this scheduler process launched or extended the lease */
    bool startup_saved;
    double finish;
    long long ended_ns;       /* when the round's last report came in, 0 until then */
    long long launched_ns;    /* when the current lease's RunJobs were sent */
    long long first_report_ns; /* the attempt's first message, 0 until then */
    double startup_s;         /* launch until the first message; -1 until then */
    long long last_msg_ns;    /* the attempt's latest message */
    long long stop_ns;        /* when it was told to stop */
    long long lease_until_ns; /* the workers kill the job at this wall time */
    /* job tokens (issue 10): the secret of attempt token_launch, and of the
     * attempt before it, prev_launch (so a stopping old attempt is told to
     * stop, not refused); 32 hex digits, "" none. Saved in the state file
     * with each launch (deploy_state_token) */
    int token_launch, prev_launch;
    char token[33], prev_token[33];
    uint64_t saved_hash;      /* of the saved row last written (deploy__persist), 0 none */
};

struct dworker {
    struct deploy_worker_addr a; /* a.port: the port it reported (rows with port 0: --local) */
    bool registered, lost, marked_down;
    long long last_hb_ns;
    int n_gpus;
    char peer_ip[128];    /* where its calls come from (may differ from a.ip) */
    rpc_client_t *cl;
};

/* A job process group a worker reports in a registration or heartbeat. */
struct deploy_running {
    uint64_t job_id;
    unsigned attempt;
    int pid;
    unsigned processes;   /* iterator processes of that launch */
    unsigned lease_left_ms;
    const char *token;    /* its job token as the worker holds it ("" none) */
};

/* A job the scheduler wants a worker to kill; attempt 0 = any attempt. */
struct deploy_kill {
    uint64_t job_id;
    unsigned attempt;
};

enum deploy_report {
    DEPLOY_REPORT_REGISTER = 0, /* (re-)registration: first, after a worker restart, after being
                                 * lost, or after a scheduler restart */
    DEPLOY_REPORT_HEARTBEAT,
};

/* A Submit answered once its row is committed (deploy__admin_committed). */
struct dsub_wait {
    rpc_call_t *call;
    uint64_t id, iterations;
    double arrival;
};

/* An identity that submits, and its limits' state (deploy_admit.c). */
struct dident {
    char name[128];
    long active;          /* its jobs not finished, failed or cancelled */
    double tokens;        /* submissions its bucket allows now */
    long long refill_ns;  /* when tokens was last topped up */
    long refused;         /* refusals not logged yet */
    long long refusal_log_ns;
};

/* A Cancel answered once its rows are committed (ids: the call's memory). */
struct dcancel_wait {
    rpc_call_t *call;
    uint64_t *ids;
    size_t n;
};

/* The admin service's part (deploy_admin.c): every online submission, by
 * id; subs[n_merged..] are not in jobs[] yet. */
struct deploy_admin {
    struct dsub **subs;
    size_t n_subs, cap_subs, n_merged;
    int next_id;          /* the next submission's id */
    bool accepting;       /* the round loop runs: submissions get an arrival time */
    struct dsub_wait *sub_wait; /* Submits answered at the next commit */
    size_t n_sub_wait, cap_sub_wait;
    struct dident *idents;
    size_t n_idents, cap_idents;
    struct dcancel_wait *cancel_wait; /* Cancels marked and answered at the next commit */
    size_t n_cancel_wait, cap_cancel_wait;
};

/* A completion report (LeaseEnded at the job's total) stored in the round's
 * transaction: applied and answered at its commit (deploy_durable.c). */
struct dack {
    rpc_call_t *call;
    int job, attempt, rank;
    long steps;
};

/* Durable or refused (deploy_durable.c): the reports waiting for a commit,
 * and whether the state file could not be written. */
struct deploy_durable {
    char failed[400];     /* the last commit failed, with this reason ("" none) */
    double failed_b;      /* the round whose commit failed first */
    bool rewrite;         /* write every job's row again at the next commit */
    struct dack *wait;
    size_t n_wait, cap_wait;
    /* for the drills (deploy__drill_*): acknowledged completions and cancels */
    long completions_acked, cancels_seen, cancels_acked;
};

/* --record's part (deploy_record.c): the file, and the ids written to it. */
struct deploy_rec {
    int fd;               /* -1: not recording */
    int write_errno;      /* a write failed: recording stopped (the run fails at its end) */
    bool dirty;           /* written since the last fdatasync */
    int *ids;
    bool *used;
    size_t n, cap;
};

/* The leases' part (deploy_lease.c): wall-clock lengths, fixed at start. */
struct deploy_leases {
    long long round_ns;   /* a round, on the wall clock */
    long long grace_ns;   /* after a boundary, a late round end is a delay */
    long long slack_ns;   /* a lease lasts this long past its round's end */
    long long exit_margin_ns; /* how long an exit report may take after a lease's end */
    long long silence_ns; /* a running job silent this long is hung: its lease may end */
    long long kill_wait_ns; /* a stopped job's grace between SIGTERM and SIGKILL (wall) */
    long long until_ns;   /* this round's lease end for extended jobs */
    double stop_ms_max;   /* the slowest phase D so far */
};

/* The worker registry's part (deploy_workers.c, deploy_rpc.c). */
struct deploy_registry {
    struct dworker *workers;
    size_t n_workers;
    rpc_client_t **dead_cl; /* replaced worker channels, freed at the end (a call may use one) */
    size_t n_dead_cl, cap_dead_cl;
};

/* The driver: the round loop's own state (deploy.c), and the parts above. */
struct deploy {
    const struct deploy_config *cfg;
    struct deploy_admin adm;
    struct deploy_rec rec;
    struct deploy_leases lease;
    struct deploy_registry reg;
    struct deploy_durable durable;
    size_t cap_jobs;
    sched_run_t *ledger;  /* the run's bookkeeping (owns the jobs) */
    sched_t *sched;       /* the ledger's scheduler, borrowed */
    struct djob *jobs;
    size_t n_jobs;
    uint32_t *idx;        /* jobs[] by id: open addressing, index + 1, 0 empty */
    size_t idx_cap;       /* a power of two, at least twice n_jobs */
    rpc_server_t *srv;
    int port;
    const char *advertise; /* the scheduler's address as jobs and workers reach it */
    deploy_state_t *db;
    bool own_db;          /* opened here (not cfg->state): closed by deploy__free */
    long plan_log_bytes;  /* restart: --plan-log's length at the last commit, -1 none */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long t0_ns;      /* wall (monotonic) time of logical 0 */
    double t0_real;       /* the same instant on CLOCK_REALTIME (survives a restart) */
    bool restarted;       /* continuing a run from the state file */
    double next_b;        /* the next round boundary to process (saved) */
    double round_s;       /* logical round length */
    double cur_b;         /* logical time of the current round */
    double late_ms;       /* how late the current round's boundary was processed */
    struct deploy_stats *st;
    /* the round loop (deploy.c) */
    size_t next_arrival;  /* jobs[] index of the next arrival */
    bool *relaunch;       /* by jobs[] index: launch in phase E */
    double plan_ms, dispatch_ms;
    size_t n_placed;
    double end_b;         /* the last round processed */
};

/* Give the job (zeroed) lease tables if it has none: before it runs. */
void deploy__lease_tables(struct djob *dj);
/* Free them once the job holds no ranks and has nothing parked. */
void deploy__lease_tables_free(struct djob *dj);
/* Rebuild the id index of jobs[] (after jobs[] was sorted or grew). */
void deploy__index_jobs(struct deploy *d);
/* The job with this id, arrived or not; NULL if none. O(1). */
struct djob *deploy__job_by_id(struct deploy *d, uint64_t id);
/* The job token of the job's current attempt (made on first use from
 * getrandom: 128 bits as hex). Borrowed; call with d->mu held or from the
 * round loop. */
const char *deploy__job_token(struct djob *dj);
double deploy__logical_now(const struct deploy *d);
/* queue --start: each listed job's forecast start and end (deploy_forecast.c).
 * Under d->mu. jobs are Synergy__Admin__V1__JobInfo pointers. */
void deploy__queue_forecast(struct deploy *d, void *jobs, size_t n);
/* submit --test-only: the request's forecast start and end into resp (a
 * SubmitResponse; job_id 0). Called with d->mu held; unlocks it. 0. */
int deploy__submit_test_only(struct deploy *d, const void *req, const char *model, long iters,
                             const char *tenant, void *resp);
struct djob *deploy__find_job(struct deploy *d, uint64_t id);
/* Start the scheduler's RPC server with both services. 0 or -1 + err. */
int deploy__serve(struct deploy *d, struct err *err);
/* Register the scheduler's services (every handler, d as their context) on
 * srv: deploy__serve's server, or an in-process one (rpc_server_create_local)
 * that tests and the fuzz harness call directly. */
void deploy__add_services(struct deploy *d, rpc_server_t *srv);
/* The driver's state for cfg, before any RPC server or round: the ledger,
 * the job and worker tables, the state file (restored when it holds this
 * run), logical time 0. NULL + err. deploy__free() ends it (and d->srv,
 * the worker channels). */
struct deploy *deploy__new(const struct deploy_config *cfg, struct deploy_stats *st,
                           struct err *err);
void deploy__free(struct deploy *d);
/* A message of the job's current attempt came in (any JobToScheduler call);
 * call under d->mu. Keeps a slow job's lease alive and times its start-up. */
void deploy__job_heard(struct deploy *d, struct djob *dj);
/* A process of the job's current attempt registered (RegisterJob), with its
 * rank or -1 (not sent): the job has at least that many processes. Under
 * d->mu. */
void deploy__job_registered(struct djob *dj, int rank);
/* The round's budget for an UpdateIters of the current attempt in iterator
 * round `round`: the first ask of the round fixes it. Under d->mu. */
long deploy__round_budget(struct djob *dj, uint64_t round);
void deploy__note_round_end(struct djob *dj);
/* A worker reports what it runs (deploy_rpc.c parses, the round loop decides).
 * Called with d->mu held on the rpc thread: no RPCs, no blocking. `server` is
 * the worker's row; for DEPLOY_REPORT_REGISTER the handler has already set
 * registered, peer_ip, n_gpus, last_hb_ns and the channel. Write up to `cap`
 * jobs the worker must kill into kill[] and their count into *n_kill.
 * Returns 0, or -1 to answer a heartbeat "unknown: register again". */
int deploy__worker_report(struct deploy *d, int server, enum deploy_report kind,
                          const struct deploy_running *run, size_t n, struct deploy_kill *kill,
                          size_t cap, size_t *n_kill);
/* deploy_restore.c: write what a restarted scheduler needs, in the current
 * transaction (finished: the run is complete). 0 or -1. */
int deploy__persist(struct deploy *d, bool finished);
/* Continue the run the state file holds: 1 restored, 0 nothing to continue
 * (a new run; the file is reset), -1 + err (refused or unreadable). Before
 * the RPC server starts. */
int deploy__restore(struct deploy *d, struct err *err);
/* --plan-log continues the run's (after deploy__restore): a new run starts it
 * empty, a continued one keeps what its last commit covered (lines of a
 * round done again after the restart are cut). 0 or -1 + err. */
int deploy__plan_log_open(struct deploy *d, struct err *err);
/* deploy --record (deploy_record.c). Open cfg->record_path once the state
 * is restored (d->restarted known): a new run starts it empty, a continued
 * one keeps it, cuts a torn last line and adds the restored jobs it lacks.
 * 0 or -1 + err. */
int deploy__record_open(struct deploy *d, struct err *err);
/* The ledger's arrival hook (sched_run_params.on_arrive, ctx = d): append the
 * job's line unless its id is in the file already. Every driver path that
 * makes a job arrive (trace, online submission) goes through the ledger, so
 * through this. Under d->mu or from the round loop. */
void deploy__record_arrival(void *ctx, const struct job_spec *spec);
/* A job that had arrived was cancelled at boundary `at`: append its
 * "#cancel,ID,TIME_S" line (docs/traces.md) unless the file has one. */
void deploy__record_cancel(struct deploy *d, const struct job_spec *spec, double at);
/* fdatasync what was appended: before the round's state is committed.
 * 0, or -1 when recording has failed. */
int deploy__record_sync(struct deploy *d);
/* Sync, close and forget; 0, or -1 + err if any write failed during the run
 * (err may be NULL). */
int deploy__record_close(struct deploy *d, struct err *err);
/* Logical time 0 is now. */
void deploy__set_t0(struct deploy *d);
/* Answer every parked RoundEnd of the job alike (terminate or extend) and
 * clear its slots; terminate also sets dj->terminated. Under d->mu. */
void deploy__answer_parked(struct djob *dj, bool terminate);
/* Forget this round's per-process reports (parked slots must be answered). */
void deploy__reset_reports(struct djob *dj);
/* Note a job exit (worker report) under d->mu. */
/* At a round boundary b (-1 before the first), with d->mu held and the
 * round's state committed: publish the metrics snapshot (cfg->metrics),
 * send the service manager a STATUS line and a watchdog ping
 * (deploy_metrics.c). */
void deploy__publish(struct deploy *d, double b, double late_ms, long rounds);
/* A rank's exit on `server` (its worker's JobExited): lease_kill, killed at
 * its lease's end; worker_stop, stopped with its worker (not charged);
 * log_tail, the end of a failed job's log ("" none), logged with a crash. */
void deploy__job_exited(struct deploy *d, struct djob *dj, int server, int code, int sig,
                        bool lease_kill, bool worker_stop, const char *log_tail);

/* deploy_credit.c: what each job's reports say it did. */
/* Whether the job's round is over: every process parked in RoundEnd or
 * ended its lease, every rank exited, or it crashed or was lost. */
bool deploy__round_ended(const struct djob *dj);
/* deploy__answer_parked, noting when a job was first told to stop. */
void deploy__answer_round_end(struct djob *dj, bool terminate);
/* Forget the round's reports before the job's next round (new or kept lease). */
void deploy__reset_round(struct djob *dj);
/* Write the job's row (state: "queued", "running", ...) in the current transaction. */
void deploy__job_persist(struct deploy *d, struct djob *dj, const char *state);
void deploy__finish_job(struct deploy *d, struct djob *dj, double b);
void deploy__fail_job(struct deploy *d, struct djob *dj);
/* Phase B: replace the plan's credit with what each job did, end the leases,
 * finish or charge jobs. Returns true when the run is over. */
bool deploy__credit_round(struct deploy *d, double b);

/* deploy_lease.c: launching, extending, keeping and killing leases. */
/* How far past its round a lease reaches (the slack plus twice the slowest
 * stop-and-launch fan-out seen so far). */
long long deploy__lease_slack(const struct deploy *d);
/* Extend the leases of jobs that are slow but alive (called while waiting). */
void deploy__keep_leases(struct deploy *d);
void deploy__lease_persist(struct deploy *d, struct djob *dj, double b, const char *state);
/* The job keeps its placement for the next round: answer "go on", extend. */
void deploy__extend(struct deploy *d, struct djob *dj, double b, long long lease_until_ns);
/* KillJob on every live rank's worker (d->mu released during the calls). */
void deploy__kill_job(struct deploy *d, struct djob *dj);
/* Phase E: RunJob the new placements (d->relaunch), one call per (job, server). */
void deploy__launch_round(struct deploy *d, double b);

/* deploy_workers.c: the worker registry. */
/* Lose workers whose heartbeat is overdue; their ranks count as gone. */
void deploy__check_workers(struct deploy *d);
/* Declare a worker lost now (a call to it failed), with the reason logged. */
void deploy__lose_worker(struct deploy *d, int server, const char *why);
/* Call a worker with d->mu released. Returns the gRPC status. */
int deploy__worker_call(struct deploy *d, int server, const char *method,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, struct err *err);
/* Wait for the workers cfg->wait_workers asks for; the missing ones stay out
 * of planning until they register. 0, or -1 + err on the timeout. d->mu held. */
int deploy__wait_registration(struct deploy *d, struct err *err);
/* Phase B: servers that came back or went away enter or leave planning. */
void deploy__workers_sync_planning(struct deploy *d);

/* deploy_durable.c: acknowledged only once stored; a state file that cannot
 * be written. */
/* Commit the round's transaction and answer what waited for it. A failed
 * commit: logged, what waited refused, submissions refused until a commit
 * works again; 0. -1 + err when the previous commit failed too (the run
 * must stop). */
int deploy__commit(struct deploy *d, struct err *err);
/* The reason the state could not be written, or NULL. */
const char *deploy__state_failed(const struct deploy *d);
/* A completion report of the job's current lease (LeaseEnded at its total,
 * from process `rank`, -1 not sent): stored, then applied and answered
 * (RPC_REPLY), or parked until the commit (RPC_PARKED), or refused
 * (RPC_FAILED, status set) when it cannot be stored. Under d->mu. */
enum rpc_result deploy__completion(struct deploy *d, rpc_call_t *call, struct djob *dj, int rank,
                                   long steps);
/* Restart: a stored completion report of a restored running job. */
void deploy__restore_completion(struct deploy *d, struct djob *dj, int rank, long steps);
/* Answer what still waits (the run is over) and free. */
void deploy__durable_free(struct deploy *d);
/* SYNERGY_TEST_CRASH_AT drills 'l' and 'c' (deploy_durable.c). wait: the
 * round loop's bounded wait (d->mu released). */
void deploy__drill_completion(struct deploy *d);
void deploy__drill_cancel(struct deploy *d, long round, void (*wait)(struct deploy *, long long));

/* deploy_admin.c: the admin service (Submit, Queue, Cancel, Nodes). */
void deploy__admin_add_service(struct deploy *d, rpc_server_t *srv);
/* Restart: read the state file's submissions into d->subs and jobs[] (all of
 * them, in arrival order), and its cancellations. 0 or -1 + err. */
int deploy__admin_load(struct deploy *d, struct err *err);
/* Sets next_id past every id known (trace and submissions). */
void deploy__admin_init(struct deploy *d);
/* Round loop, phase B under d->mu: move new submissions into jobs[] (in
 * arrival order, after the jobs already arrived). */
void deploy__admin_merge(struct deploy *d);
/* A job cancelled before its arrival: it is marked cancelled (state
 * DJ_FAILED, no ledger job) and does not arrive. Under d->mu. */
bool deploy__admin_cancelled_before_arrival(struct deploy *d, struct djob *dj);
/* Round loop, after the arrivals: cancel the jobs asked for (a running one
 * is told to stop; phase D waits for its exit). */
void deploy__admin_cancel(struct deploy *d);
/* After each commit of the state: answer the Submits and Cancels whose rows
 * it made durable; refused != NULL: the commit failed, they are answered
 * UNAVAILABLE with that reason (a Submit's id is given again). */
void deploy__admin_committed(struct deploy *d, const char *refused);
/* Free the submissions (after the RPC server is gone). */
void deploy__admin_free(struct deploy *d);
/* Comparator of jobs[] (arrival, then trace jobs in trace order, then
 * submissions by id). */
int deploy__arrival_cmp(const void *a, const void *b);
/* Core of each handler, without the transport's caller check (fuzzed
 * directly): status (RPC_STATUS_*) and msg on an error. `user` is the
 * caller's identity. Call without d->mu. */
int deploy__admin_submit(struct deploy *d, const struct deploy_caller *who,
                         const ProtobufCMessage *req, ProtobufCMessage *resp, rpc_call_t *park,
                         char *msg, size_t n);
int deploy__admin_queue(struct deploy *d, const ProtobufCMessage *req, ProtobufCMessage *resp,
                        char *msg, size_t n);
/* Returns -1 (like submit) when the call was parked until the commit. */
int deploy__admin_cancel_ids(struct deploy *d, const struct deploy_caller *who,
                             const ProtobufCMessage *req, ProtobufCMessage *resp,
                             rpc_call_t *park, char *msg, size_t n);
int deploy__admin_nodes(struct deploy *d, ProtobufCMessage *resp);

/* deploy_tenants.c: tenants in the service (docs/tenants.md). Under d->mu. */
/* A submission's tenant: `want` ("" the caller's first), one of the
 * caller's unless it is an admin without a [user] section; within the
 * tenant's max_queued_jobs and max_running_gpus. 0 with tenant[] set (""
 * without a tenants file), or a status and msg. */
int deploy__tenant_submit(struct deploy *d, const struct deploy_caller *who, const char *want,
                          int gpus, char tenant[32], char *msg, size_t n);
/* May `who` cancel job `id`, submitted as s (NULL: a trace job)? 0, or
 * PERMISSION_DENIED with msg (logged). */
int deploy__tenant_may_cancel(struct deploy *d, const struct deploy_caller *who, uint64_t id,
                              const struct dsub *s, char *msg, size_t n);
/* "vision:4,speech:2": the GPUs each tenant's jobs hold on server i ("" none
 * or without tenants). Caller frees. */
char *deploy__node_tenants(const struct deploy *d, int server);
/* The Unix account a job runs as: its submitter's [user] unix ("" none). */
const char *deploy__job_unix_user(const struct deploy *d, const struct djob *dj);
/* Share: each tenant's quota, usage and borrowing. 0, or a status and msg. */
int deploy__admin_share(struct deploy *d, ProtobufCMessage *resp, char *msg, size_t n);
void deploy__share_free(ProtobufCMessage *resp);
struct metrics_snapshot;
/* The per-tenant gauges of a metrics snapshot. */
void deploy__tenants_metrics(const struct deploy *d, struct metrics_snapshot *s);
/* Free what deploy__admin_queue/nodes allocated into resp. */
void deploy__admin_resp_free(ProtobufCMessage *resp);

/* deploy_admit.c: per-identity admission limits of the admin service. */
/* The index of identity `name` in d->adm.idents (added when new). */
int deploy__ident(struct deploy *d, const char *name);
/* Its name ("" for none). Borrowed. */
const char *deploy__ident_name(const struct deploy *d, int ident);
/* May `ident` submit one more job now? 0, or RPC_STATUS_RESOURCE_EXHAUSTED
 * with msg naming the limit (its submission rate, its jobs not finished).
 * Takes a token from its bucket. Under d->mu. */
int deploy__admit(struct deploy *d, int ident, char *msg, size_t n);
/* Recount each identity's jobs not finished from the job table (the round
 * loop, after the round's finishes and cancellations; under d->mu). */
void deploy__admit_recount(struct deploy *d);
void deploy__admit_free(struct deploy *d);

#endif
