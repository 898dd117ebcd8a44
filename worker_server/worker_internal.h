/*
 * Internals of the worker server shared by its files: the job table, the
 * worker's state, and the helpers its threads share. worker.c starts and
 * stops it; worker_jobs.c serves the scheduler's calls (RunJob, ExtendLease,
 * KillJob); worker_children.c reaps and enforces leases; worker_link.c
 * registers, heartbeats and reports exits.
 */
#ifndef SYNERGY_WORKER_INTERNAL_H
#define SYNERGY_WORKER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

#include "rpc.h"
#include "synergy_worker.pb-c.h"
#include "worker.h"

#define MAX_JOBS 256
/* A failed job's exit report carries at most this much of its log's end. */
#define EXIT_TAIL_LINES 5
#define EXIT_TAIL_BYTES 1024

struct wjob {
    bool used;
    long job_id;
    unsigned attempt;
    pid_t pid;
    int n_cpus;
    int cpus[TOPO_MAX_CPUS];
    long long deadline_ns; /* CLOCK_MONOTONIC */
    long long kill_wait_ns;/* from SIGTERM to SIGKILL (RunJob's kill_wait_ms) */
    long long term_ns;     /* when it was sent SIGTERM, 0 not yet */
    bool killed_lease;     /* stopped because its lease ran out */
    bool sigkilled;        /* SIGKILL sent to its group: gone once reaped */
    bool worker_stop;      /* stopped because the worker is stopping */
    unsigned processes;    /* iterator processes of this launch */
    int n_gpus;
    int gpus[TOPO_MAX_GPUS];
    char token[33];        /* the attempt's job token (RunJob), "" none */
    char log[PATH_MAX + 128]; /* this attempt's log (stdout + stderr) */
    struct launch_result lr;
};

/* An exit the scheduler has not acknowledged yet: kept and re-sent, also
 * across a scheduler restart. */
struct pending_exit {
    long job_id;
    unsigned attempt;
    int status;
    bool lease;
    bool worker_stop;      /* it ended because the worker is stopping */
    char *log_tail;        /* a failed job's last log lines (owned), or NULL */
};

/* RegisterWorker's topology part, built once. */
struct reg_msg {
    Synergy__V1__RegisterWorkerRequest req;
    Synergy__V1__NumaNode nodes[TOPO_MAX_NUMA], *np[TOPO_MAX_NUMA];
    uint32_t *cpu_lists[TOPO_MAX_NUMA];
    Synergy__V1__Gpu gpus[TOPO_MAX_GPUS], *gp[TOPO_MAX_GPUS];
};

struct worker {
    const struct worker_options *o;
    char gpu_type[WORKER_GPU_TYPE]; /* reported to the scheduler ("" none) */
    struct topo topo;
    catalog_t *cat;
    rpc_server_t *srv;
    rpc_client_t *sched;
    int port;
    unsigned server_id;
    unsigned heartbeat_ms;
    char synergy_path[PATH_MAX];
    char run_dir[PATH_MAX];  /* --run-dir, absolute (jobs run elsewhere) */
    char cg_base[PATH_MAX + 128]; /* the jobs' cgroups go under it; "" none */
    char sched_ips[8][256];
    int n_sched_ips;
    bool sched_is_local;
    pthread_mutex_t mu;
    pthread_cond_t child_cv; /* a child was launched / stop */
    pthread_cond_t lease_cv; /* leases changed / stop */
    pthread_cond_t stop_cv;  /* stop / an exit to report (the scheduler link thread) */
    long long kill_wait_ms;  /* how long a launch waits for a killed job in its way */
    struct wjob jobs[MAX_JOBS];
    int n_live;
    unsigned long child_gen;  /* bumped at every launch (wakes the reaper) */
    bool stop;
    bool stopping;            /* SIGTERM/SIGINT: jobs get their kill-wait, no new ones */
    bool warned_mem_limit;
    bool registered;          /* false: the scheduler does not know us (register again) */
    struct pending_exit *exits;
    size_t n_exits, cap_exits;
    struct reg_msg reg;
    long long max_lease_ms;   /* the longest lease obeyed: a few rounds */
    bool set_user;            /* jobs run as uid/gid (--job-user) */
    uid_t job_uid;
    gid_t job_gid;
    worker_launch_fn launch;  /* launch_job (tests: a stand-in for fork + exec) */
};

/* A lease longer than this many rounds is refused (unscaled round length:
 * at a time scale K > 1 the real rounds are shorter, so this is looser). */
#define MAX_LEASE_ROUNDS 4
#define DEFAULT_MAX_LEASE_MS (3600LL * 1000)

struct timespec worker__ns_to_ts(long long ns);
/* The live job with this id, or NULL. Call with w->mu held. */
struct wjob *worker__find_job(struct worker *w, long id);
/* mkdir -p (mode 0755); errors are left to the first use of the path. */
void worker__mkdirs(const char *path);
/* Free the exit reports not sent. */
void worker__exits_free(struct worker *w);
/* The last lines (at most `lines`, from the last `bytes` bytes) of the file
 * at path, non-printable bytes as '?', or NULL when it has none. Caller frees. */
char *worker__file_tail(const char *path, int lines, size_t bytes);

/* worker_jobs.c */
/* Resolve --scheduler's host into w->sched_ips (the callers allowed on a
 * plaintext worker), and note whether one of them is on this machine. */
void worker__resolve_scheduler(struct worker *w);
/* The scheduler's certificate identity (--scheduler-identity, default
 * "scheduler"): the only caller obeyed, and the only server called. */
const char *worker__sched_identity(const struct worker *w);

/* worker_children.c: stopping jobs, and the threads. */
/* The grace a job gets between SIGTERM and SIGKILL when RunJob names none:
 * 30 s (Slurm's KillWait default), divided by the job's time scale. */
#define DEFAULT_KILL_WAIT_MS 30000
/* Stop a job: SIGTERM to its process group now, SIGKILL (worker__kill_job)
 * once its kill-wait has passed, by the lease thread. Does nothing to a job
 * already told. `why` is logged. Call with w->mu held. */
void worker__term_job(struct worker *w, struct wjob *j, const char *why);
/* SIGKILL the job's process group now. Call with w->mu held. */
void worker__kill_job(struct worker *w, struct wjob *j);
/* Reap every child: job leaders (exits queued for the scheduler) and orphans. */
void *worker__reaper(void *arg);
/* Stop (SIGTERM) each job whose lease has passed, SIGKILL each whose
 * kill-wait after SIGTERM has; sleeps until the next such moment. */
void *worker__lease_thread(void *arg);

/* Note the processes we adopted as subreaper (daemonised job descendants)
 * in the run directory, for a worker after us should we die (contain.c). */
void worker__note_orphans(struct worker *w);

/* worker_link.c: the link to the scheduler. */
/* Build RegisterWorker's topology part once; reg_free frees it. */
void worker__reg_init(struct worker *w);
void worker__reg_free(struct worker *w);
/* The first registration, retried with backoff: 0, -1 + err, or -2 on a
 * stop signal from `stop`. */
int worker__register_first(struct worker *w, const sigset_t *stop, struct err *err);
/* The thread: heartbeats, exit reports, registering again. */
void *worker__sched_link(void *arg);

#endif
