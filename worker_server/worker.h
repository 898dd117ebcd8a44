/*
 * worker_server: the per-machine side of a deployment, and the only module
 * that includes hwloc or libnuma headers. It probes the machine's topology
 * (live, or from a hwloc XML file for tests), maps a job's GPUs to CPU cores
 * of their NUMA node, launches jobs with fork+execve from argv templates of a
 * worker-side catalog (never strings from the network), supervises them
 * (exit status; a stop is SIGTERM, then SIGKILL, to the job's process group
 * and cgroup; what a dead worker left is killed by the next one on its run
 * directory, contain.c) and serves the synergy.v1.SchedulerToWorker RPCs.
 */
#ifndef SYNERGY_WORKER_H
#define SYNERGY_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common.h"

/* -------------------------------------------------------------- topology */

#define TOPO_MAX_NUMA 64
#define TOPO_MAX_GPUS 64
#define TOPO_MAX_CPUS 1024  /* PUs (hardware threads) */
#define TOPO_MAX_CORES 1024
#define TOPO_MAX_SMT 8      /* PUs kept per core */

/* What one "CPU" of a job is: a whole physical core with its SMT siblings
 * (the default), or one hardware thread (`worker --cpu-unit thread`). */
enum topo_unit { TOPO_UNIT_CORE = 0, TOPO_UNIT_THREAD };

struct topo_core {
    int os_index;         /* as the OS numbers it (restarts on every socket) */
    int package;          /* package logical index, -1 unknown */
    int numa;             /* index into topo.numa[], -1 unknown */
    int domain;           /* cache domain, index into 0..topo.n_domains-1 */
    bool reserved;        /* held back for infrastructure (--reserve-cpus) */
    int n_pus;
    int pus[TOPO_MAX_SMT]; /* PU OS indexes, ascending */
};

struct topo_numa {
    int os_index;
    int n_cpus;
    int cpus[TOPO_MAX_CPUS]; /* PU OS indexes, ascending (reserved ones included) */
    int n_cores;             /* cores whose PUs are on this node */
    int n_reserved_cores;
    int n_reserved_pus;
    unsigned long long mem_bytes;
};

struct topo_gpu {
    int index;          /* CUDA index: PCI bus order */
    int numa;           /* index into topo.numa[], -1 unknown */
    char pci_bus_id[16];
};

struct topo {
    int n_numa;
    struct topo_numa numa[TOPO_MAX_NUMA];
    int n_gpus;
    struct topo_gpu gpus[TOPO_MAX_GPUS];
    bool simulated_gpus;
    int n_cpus_total;
    /* cores in hwloc logical order: core id i (what --reserve-cpus takes,
     * `lstopo --logical` shows and `hwloc-calc core:i` names) is cores[i] */
    int n_cores;
    struct topo_core cores[TOPO_MAX_CORES];
    int n_packages;
    int n_domains;
    char domain_kind[8];  /* "L3", "L2", ... or "NUMA" when no cache is shared */
    enum topo_unit unit;  /* TOPO_UNIT_CORE unless set after the probe */
};

/* Probe the topology with hwloc: from `xml_path`, or the live machine when
 * NULL. NVIDIA GPUs are PCI devices with vendor 0x10de and class 0x03xx.
 * sim_gpus >= 0 replaces the GPUs found by that many simulated ones, spread
 * over the NUMA nodes in contiguous blocks. Cores are hwloc Core objects (a
 * PU without one is its own core); a core's cache domain is its lowest data
 * cache shared with another core (the L3 on most x86 servers, the L2 where
 * cores share L2 in clusters), or its NUMA node when no cache is shared.
 * Returns 0 or -1 with err. */
int topo_probe(struct topo *t, const char *xml_path, int sim_gpus, struct err *err);

/* Reserve cores for infrastructure: `spec` is a list of core ids
 * ("0,1,8-9"; one id alone is written "5-5" or "5,"), or a bare count N =
 * the first N cores of every socket (Slurm's CoreSpecCount). Jobs never get
 * reserved cores. Returns 0, or -1 with err "--reserve-cpus: ..." for a bad
 * spec, an id that does not exist, or a reservation that leaves no core. */
int topo_reserve(struct topo *t, const char *spec, struct err *err);

/* The PU OS indexes of the reserved cores, ascending, into out (which must
 * hold TOPO_MAX_CPUS ints). Returns how many (0 when nothing is reserved). */
int topo_reserved_pus(const struct topo *t, int *out);

/* Units (cores or threads, as t->unit says) node k offers jobs: reserved
 * cores left out. */
int topo_node_capacity(const struct topo *t, int k);

/* Choose the CPUs of a job asking for n_cpus units (t->unit) on `gpus`
 * (local indexes), and write their PUs (OS indexes) to out: with the core
 * unit every chosen core brings all its PUs. Reserved cores are never chosen.
 * Nodes: the GPUs' NUMA nodes first, spilling to the nearest other nodes only
 * when those run out. Within a node, cache domains: the domain with the most
 * free units is filled first, then the next, so a job spans as few domains as
 * possible and consecutive jobs land on different, emptier domains. busy[]
 * (indexed by PU OS index, may be NULL) marks PUs held by other jobs; a core
 * with any busy PU is not free. When fewer free units exist than asked, the
 * grant is short; with none free it shares the home node's unreserved units.
 * Returns the number of PUs written (>= 1), or -1 (EINVAL) for a GPU index
 * out of range. out must hold TOPO_MAX_CPUS ints (n_cpus * PUs per core
 * suffice). */
int topo_cpus_for_gpus(const struct topo *t, const int *gpus, int n_gpus, int n_cpus,
                       const bool *busy, int *out);

/* NUMA nodes (topo.numa[] indexes) the chosen PUs sit on, as a bitmask. */
unsigned long long topo_nodes_of_cpus(const struct topo *t, const int *cpus, int n);

/* ------------------------------------------------------------- catalog */

typedef struct catalog catalog_t;

/* Load a catalog INI: one section per model name, key `argv` = a whitespace
 * separated argv template whose tokens may contain {synergy} {job_id}
 * {sched_addr} {sched_port} {chk_dir} {log_dir} {model} {batch_size}
 * {total_iters} {elapsed_iters} {time_scale} {gpu_type}. argv[0] must be an
 * absolute path or {synergy}. Optional: `argv.TYPE` = the template a worker of
 * GPU type TYPE runs instead (docs/heterogeneous.md); `ranks` = one | per-gpu
 * (see catalog_processes).
 * NULL + err "file:line: ..." on a bad file. */
catalog_t *catalog_load(const char *path, struct err *err);
void catalog_destroy(catalog_t *c);
bool catalog_has(const catalog_t *c, const char *model);
/* Whether some command of the catalog runs synergy itself ({synergy}). */
bool catalog_uses_synergy(const catalog_t *c);
/* Iterator processes a launch of `model` on n_gpus GPUs runs: n_gpus when its
 * section says `ranks = per-gpu` (the command starts one process per GPU,
 * like torch.distributed.launch), else 1. */
unsigned catalog_processes(const catalog_t *c, const char *model, unsigned n_gpus);

struct catalog_vars {
    const char *synergy, *sched_addr, *chk_dir, *log_dir, *model;
    const char *gpu_type;    /* the worker's GPU type: picks argv.TYPE when the model has it */
    long job_id, sched_port, batch_size, total_iters, elapsed_iters;
    double time_scale;
};

/* Expand the template of `model`. Returns a NULL-terminated argv (caller
 * frees with catalog_argv_free), or NULL + err if the model is not in the
 * catalog (errno ENOENT). */
char **catalog_argv(const catalog_t *c, const char *model, const struct catalog_vars *v,
                    struct err *err);
void catalog_argv_free(char **argv);

/* ------------------------------------------------------------ GPU type */

#define WORKER_GPU_TYPE 16 /* bytes of a GPU type name (the scheduler's GPU_TYPE_NAME) */

/* The short GPU type name of an NVIDIA model string into out: vendor words
 * (NVIDIA, Tesla, GeForce, Quadro) dropped, cut at the first '-', a family
 * word joined to its number: "Tesla V100-SXM2-16GB" -> "V100", "NVIDIA H200"
 * -> "H200", "NVIDIA GeForce RTX 3090" -> "RTX3090". "" if nothing is left. */
void gpu_type_from_model(const char *model, char *out, size_t n);
/* The GPU type of the machine from the driver's <dir>/<bus id>/information
 * files (dir: /proc/driver/nvidia/gpus): 1 and the name in out, 0 when there
 * is none (no driver, no GPU), -1 + err when GPUs of two models are there. */
int gpu_type_detect(const char *dir, char *out, size_t n, struct err *err);

/* ------------------------------------------------------------ launcher */

struct launch_spec {
    char *const *argv;      /* argv[0] absolute path */
    char *const *envp;      /* the whole environment */
    const int *cpus;        /* PUs for sched_setaffinity */
    int n_cpus;
    unsigned long long membind_nodes; /* NUMA OS indexes to bind memory to; 0 = none */
    double mem_gb;          /* memory limit; <= 0 none */
    const char *cgroup_dir; /* cgroup v2 dir to create for the job (and memory.max in it
                               when mem_gb > 0); NULL = none */
    const char *cwd;
    const char *log_path;   /* stdout+stderr; NULL = /dev/null */
    bool set_user;          /* run as uid/gid (supplementary groups dropped) */
    uid_t uid;
    gid_t gid;
};

struct launch_result {
    pid_t pid;              /* also the process group id */
    bool mem_bound;         /* membind applied */
    bool mem_limit_enforced;/* cgroup memory.max applied */
    char cgroup[4200];      /* the job's cgroup dir, "" if none */
};

/* fork + execve in a new process group, with the CPU affinity, memory binding
 * and memory limit of `spec`. Returns 0 once the exec succeeded, or -1 with
 * err (and the child reaped) if any step in the child failed. */
int launch_job(const struct launch_spec *spec, struct launch_result *res, struct err *err);
/* Pin the calling thread, and so every thread and child it creates later,
 * to the PUs cpus[0..n-1] (the worker's reserved cores; jobs then set their
 * own affinity between fork and exec). Call it before any thread exists.
 * Returns 0, or -1 with err when none of those PUs is available here. */
int launch_pin_self(const int *cpus, int n, struct err *err);
/* Kill what is left in the job's cgroup and remove it (after it exited). */
void launch_cleanup(const struct launch_result *res);

/* Build a NULL-terminated "KEY=VALUE" environment from scratch. */
struct env_builder {
    char **v;
    size_t n, cap;
};
void env_add(struct env_builder *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void env_free(struct env_builder *e);

/* ---------------------------------------------------------- supervision */

/* Make this process a child subreaper: orphans below it come to it, not to
 * init. 0 or -1 (errno). */
int supervise_become_subreaper(void);
/* This process's children (all threads'), at most cap. Returns the count or -1. */
int supervise_children(pid_t *out, int cap);
/* The job a process belongs to, from SYNERGY_JOB_ID and SYNERGY_ATTEMPT in
 * the environment it was exec'd with. false when it has neither. */
bool supervise_job_of(pid_t pid, long *job_id, unsigned *attempt);
/* pid's environment (/proc/PID/environ, up to 64 KiB): NUL-separated
 * NAME=VALUE strings, *len bytes, NUL-terminated; the caller frees it.
 * NULL when it cannot be read (gone, or not ours). */
char *supervise_environ(pid_t pid, size_t *len);
/* SIGKILL a process and its process group (never our own group). */
void supervise_kill(pid_t pid);

/* ---------------------------------------------------------- containment */

/* Take the run directory for this worker alone: an flock on
 * RUN_DIR/worker.lock, held (close-on-exec) until the process ends. 0, or -1
 * + err naming the pid of the worker that holds it. */
int contain_lock(const char *run_dir, struct err *err);
/* Say in the lock that this worker is stopping and gone within IN_S
 * seconds: a worker started on the run directory meanwhile (a restarted
 * deployment's) waits for it instead of refusing. */
void contain_lock_stopping(double in_s);
/* The cgroup v2 directory the jobs of this worker go under,
 * <cgroup2 mount>/synergy-<identity>-<8 hex digits of the run directory>,
 * created (memory controller enabled for its children where possible) into
 * out. false ("") when no writable cgroup v2 hierarchy is mounted. */
bool contain_cgroup_base(const char *identity, const char *run_dir, char *out, size_t n);
/* Note a launched job in RUN_DIR/procs (its group: leader pid and start
 * time; its cgroup), for a later worker on this run directory; forget it
 * once the job is reaped. */
void contain_note_job(const char *run_dir, long job, unsigned attempt, pid_t pid,
                      const char *cgroup);
void contain_forget_job(const char *run_dir, long job, unsigned attempt);
/* Note a process adopted as subreaper (a daemonised job descendant) with
 * its start time; true when it was new. Forget it once it is killed. */
bool contain_note_orphan(const char *run_dir, pid_t pid);
void contain_forget_orphan(const char *run_dir, pid_t pid);
/* SIGKILL everything an earlier worker on this run directory left: every
 * process in the job cgroups under base (may be NULL or ""), the noted
 * processes (and groups whose leader still runs), and any process whose
 * environment has SYNERGY_RUN_DIR=run_dir. The notes are removed. Returns
 * how many processes it killed. */
int contain_sweep(const char *run_dir, const char *base);
/* Signal every process of a cgroup (SIGKILL through cgroup.kill where the
 * kernel has it); kill them all and remove the cgroup (waits up to 200 ms
 * for it to empty). NULL or "": nothing. */
void contain_signal_cgroup(const char *cgroup, int sig);
void contain_remove_cgroup(const char *cgroup);

/* -------------------------------------------------------- worker server */

struct rpc_tls;

struct worker_options {
    const char *sched_addr;   /* scheduler host (its addresses are the allowed callers) */
    int sched_port;
    const char *listen_ip;    /* default 127.0.0.1 */
    int port;                 /* 0 = pick */
    const char *topology_xml; /* NULL = live machine */
    int sim_gpus;             /* -1 = real GPUs */
    const char *catalog_path;
    const char *run_dir;      /* job cwd, logs, checkpoints, notes; one worker each */
    const char *synergy_path; /* {synergy}; default /proc/self/exe */
    int register_timeout_ms;  /* give up the first registration after this long (0: never) */
    int server_id;            /* the workers-file row claimed; -1 = by address alone */
    bool no_cgroup;           /* never create job cgroups (tests the cgroup-less path) */
    enum topo_unit cpu_unit;  /* what a job's "CPU" is (default: a whole core) */
    const char *reserve_cpus; /* --reserve-cpus spec; NULL = nothing reserved */
    /* mutual TLS (issue 10): NULL = plaintext (--insecure) */
    const struct rpc_tls *tls;
    const char *tls_ca_path;     /* handed to jobs as SYNERGY_TLS_CA */
    const char *sched_identity;  /* the only identity RunJob/ExtendLease/KillJob come from */
    /* jobs run as this user (--job-user); NULL = the worker's own user, which
     * worker_main refuses when that is root */
    const char *job_user;
    /* --job-users a,b: the accounts a job may name (RunJob unix_user, its
     * submitter's; issue 25); NULL: every job runs as job_user */
    const char *job_users;
    /* --gpu-type: the GPU type reported to the scheduler; NULL = what the
     * driver says (gpu_type_detect), none with simulated GPUs */
    const char *gpu_type;
    const char *gpu_proc_dir; /* NULL = /proc/driver/nvidia/gpus (tests) */
};

/* The launcher a worker uses: launch_job, or a stand-in in tests. */
typedef int (*worker_launch_fn)(const struct launch_spec *spec, struct launch_result *res,
                                struct err *err);
struct worker;
struct rpc_server;
/* Register the worker's SchedulerToWorker handlers (RunJob, ExtendLease,
 * KillJob) on srv, w as their context. */
void worker_add_service(struct worker *w, struct rpc_server *srv);
/* For tests and the fuzz harness: a worker over topology t and catalog cat
 * (borrowed) whose handlers launch with `launch` instead of fork + exec, with
 * no threads, no scheduler link and no server of its own; call its handlers
 * through worker_add_service() on an in-process server
 * (rpc_server_create_local). The handler code is the real one. */
struct worker *worker_test_new(const struct worker_options *o, const struct topo *t,
                               catalog_t *cat, worker_launch_fn launch);
void worker_test_free(struct worker *w);

/* Run a worker until SIGTERM/SIGINT or until the scheduler goes away for good.
 * Returns 0 on a clean stop, 2 on bad input, 1 on runtime failure. */
int worker_main(const struct worker_options *o);

#endif
