/*
 * The option table and the parser every command uses (see options.h for how
 * to add a flag). Help, man page and completion are printed from these rows.
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policies.h"
#include "trace.h"
#include "workload.h"

#define W "workload"
#define S "cluster and scheduling"
#define O "measurement and output"
#define D "deployment"
#define G "options"
#define PLOT_HELP "draw JCT CDFs and allocation-vs-demand plots (PNG, SVG) into DIR"
#define TR (CLI_SIMULATE | CLI_SWEEP | CLI_DEPLOY | CLI_TRACE_TOOLS) /* trace readers */
/* clang-format off */
const struct cli_option cli_options[] = {
    /* workload */
    {OPT_TRACE, "trace", 0, "FILE", ARG_STR, 0, 0, CLI_RUNS, W,
     "a trace in any supported format ({formats}); detected from its content", "trace"},
    {OPT_SYNTHETIC, "synthetic", 0, NULL, ARG_NONE, 0, 0, CLI_SIMULATE | CLI_SWEEP, W,
     "the reference's synthetic workload (the default without --trace)", NULL},
    {OPT_TRACE_FORMAT, "trace-format", 0, "F", ARG_STR, 0, 0, TR, W,
     "{formats} (default: detected)", "trace_format"},
    {OPT_ARRIVAL, "arrival", 0, "SPEC", ARG_STR, 0, 0, TR | CLI_GENERATE, W,
     "re-time the jobs: poisson:R | fixed-rate:R | schedule:R,FACTOR,PERIOD_S | deltas:FILE "
     "(<delay_ms>,<tag> lines) | trace; R in jobs/h", "arrival"},
    {OPT_PHILLY_ARRIVAL, "philly-arrival", 0, NULL, ARG_NONE, 0, 0, TR, W,
     "philly: keep the trace's submit times (default: Poisson at --jobs-per-hour, reusing "
     "the jobs cyclically)", "philly_arrival"},
    {OPT_PER_ATTEMPT, "per-attempt", 0, NULL, ARG_NONE, 0, 0, TR, W,
     "philly: one job per attempt (default: sum the attempts)", "per_attempt"},
    {OPT_MULTIGPU, "multigpu", 0, NULL, ARG_NONE, 0, 0, TR, W,
     "philly: keep GPU counts (default: every job gets 1 GPU)", "multigpu"},
    {OPT_STRICT, "strict", 0, NULL, ARG_NONE, 0, 0, TR, W,
     "philly: the first malformed record is an error", "strict"},
    {OPT_NO_DURATION_FILTER, "no-duration-filter", 0, NULL, ARG_NONE, 0, 0, TR, W,
     "philly: keep every duration (default: 10^1.5..10^4 min)", "no_duration_filter"},
    {OPT_VC, "vc", 0, "ID", ARG_STR, 0, 0, TR, W,
     "pollux: only this virtual cluster (e.g. ee9e8c)", "vc"},
    {OPT_TENANT_FROM, "tenant-from", 0, "SOURCE", ARG_STR, 0, 0, TR, W,
     "vc: each job's tenant is its virtual cluster (pollux's cluster column, philly's vc, a "
     "gavel per-VC trace's file name; docs/tenants.md)", NULL},
    {OPT_TENANT_MIX, "tenant-mix", 0, "T:P,...", ARG_STR, 0, 0, CLI_SIMULATE | CLI_GENERATE, W,
     "synthetic jobs go to tenants in these percentages, e.g. vision:60,nlp:40 (each job to "
     "the tenant furthest below its share)", NULL},
    {OPT_JOBS_PER_HOUR, "jobs-per-hour", 0, "R", ARG_STR, 0, 0, TR | CLI_GENERATE, W,
     "synthetic and Philly Poisson rate in jobs/h (default 9{!generate:, or the cluster "
     "file's [WORKLOAD]}){sweep:; a comma-separated list of loads, which re-time a trace}",
     "loads"},
    {OPT_SPLIT, "split", 0, "I,L,S", ARG_STR, 0, 0, TR | CLI_GENERATE, W,
     "image,language,speech % for synthetic jobs and traces without model names (default "
     "20,70,10){sweep:; several, separated by ';'}", "splits"},
    {OPT_SEED, "seed", 0, "N", ARG_INT, 0, LONG_MAX, (TR & ~CLI_SWEEP) | CLI_GENERATE | CLI_GENPHILLY,
     W, "seed of the synthetic workload and the arrival processes (default 42{!generate:, or "
     "the cluster file's})", "seed"},
    {OPT_SEEDS, "seed", 0, "N[,N...]", ARG_STR, 0, 0, CLI_SWEEP, W,
     "seeds of the synthetic workload and the arrival processes (default 42, or the cluster "
     "file's); with several, every point runs once per seed and the report and plots add "
     "means with 95% confidence intervals", "seeds"},
    {OPT_MAX_JOBS, "max-jobs", 0, "N", ARG_INT, 1, 1000000, TR, W,
     "{simulate:generate at most N synthetic jobs (default: unlimited); }{sweep:generate at "
     "most N synthetic jobs (default: unlimited); }for a trace, exactly N jobs, reusing it "
     "cyclically", "max_jobs"},
    {OPT_JOBS, "jobs", 0, "N", ARG_INT, 1, 100000000, CLI_GENERATE | CLI_GENPHILLY, W,
     "number of jobs to write{generate: (default 1000)}", NULL},
    /* cluster and scheduling */
    {OPT_CLUSTER, "cluster", 0, "FILE", ARG_STR, 0, 0, TR, S,
     "cluster INI (default: configs/default_cluster.ini from the config directory)"
     "{sweep:; a comma-separated list}", "clusters"},
    {OPT_MODELS, "models", 0, "FILE|DIR", ARG_STR, 0, 0, TR | CLI_GENERATE, S,
     "more model profiles (models.ini format; a directory: its *.ini) over "
     "configs/models.ini, which is always read; repeatable, later files win", "models"},
    {OPT_PROFILES_DIR, "profiles-dir", 0, "DIR", ARG_STR, 0, 0, TR | CLI_PROFILE, S,
     "{profile:profile store: write DIR/NAME.ini (read by simulate, sweep and deploy "
     "--profiles-dir)}{simulate:a profile store (as written by `synergy profile`), read "
     "last}{sweep:a profile store (as written by `synergy profile`), read last}{deploy:a "
     "profile store (as written by `synergy profile`), read last}{trace convert:a profile "
     "store, read last}{trace stats:a profile store, read last}{trace validate:a profile "
     "store, read last}", "profiles_dir"},
    {OPT_UNKNOWN_MODEL, "unknown-model", 0, "M", ARG_STR, 0, 0, TR, S,
     "error (default): a trace job naming a model without a profile is a file:line error | "
     "reference: it runs as alexnet, like the reference", "unknown_model"},
    {OPT_PROFILES, "profiles", 0, "SET", ARG_STR, 0, 0, TR | CLI_GENERATE, S,
     "default | models-4 | models-5 | models-6", "profiles"},
    {OPT_POLICY, "policy", 0, "P[,P...]", ARG_STR, 0, 0, CLI_RUNS, S,
     "{policies} (case-insensitive; default FIFO{deploy:; one})", "policies"},
    {OPT_MODE, "mode", 0, "M[,M...]", ARG_STR, 0, 0, CLI_RUNS, S,
     "{modes} (fair = GPU-proportional; default fair{deploy:; one})", "modes"},
    {OPT_OPT_COMPAT, "opt-compat", 0, NULL, ARG_NONE, 0, 0, CLI_RUNS, S,
     "opt: the reference's cluster-wide formulation, placement ignored by progress "
     "(docs/opt.md)", "opt_compat"},
    {OPT_OPT_TIME_LIMIT, "opt-time-limit", 0, "S", ARG_POS, 0, 0, CLI_RUNS, S,
     "opt: wall-clock safety cap on the solver per round, seconds; a round that hits it "
     "goes to TUNE and the run is marked not reproducible (10)", "opt_time_limit"},
    {OPT_RESTART_OVERHEAD, "restart-overhead", 0, "S", ARG_STR, 0, 0, CLI_SIMULATE, S,
     "seconds of no progress at every (re)launch of a job, in the round that starts it; "
     "'profile': each model's startup_s (default 0)", NULL},
    {OPT_PLACEMENT, "placement", 0, "KIND", ARG_STR, 0, 0, CLI_RUNS, S,
     "first-fit (default) | consolidate (the reference's +place)", "placement"},
    {OPT_HETERO, "hetero", 0, "KIND", ARG_STR, 0, 0, CLI_RUNS, S,
     "on a cluster with GPU types: aware (default: each job on the type where it runs "
     "best) | agnostic (type-blind, docs/heterogeneous.md){sweep:; aware,agnostic runs "
     "both}", "hetero"},
    {OPT_ROUND_DURATION, "round-duration", 0, "S", ARG_POS, 0, 0, CLI_RUNS, S,
     "seconds per round (default 300, or the cluster file's)", "round_duration"},
    {OPT_TENANTS, "tenants", 0, "FILE", ARG_STR, 0, 0, CLI_SIMULATE | CLI_DEPLOY, S,
     "a tenants file (quotas, borrowing, fair share over time{deploy:, users}), or "
     "'proportional': quotas proportional to each tenant's GPU-time in the trace "
     "(docs/tenants.md)", NULL},
    {OPT_STATIC, "static", 0, NULL, ARG_NONE, 0, 0, CLI_RUNS, S,
     "all jobs present at start: first round at t=1, stop when idle (traces only)", "static"},
    {OPT_STOP_ON_GAP, "stop-on-gap", 0, NULL, ARG_NONE, 0, 0, CLI_SIMULATE | CLI_SWEEP, S,
     "reference behaviour: a replay stops at the first round with nothing runnable, even "
     "if jobs are still to arrive", "stop_on_gap"},
    /* measurement and output */
    {OPT_MEASURE, "measure", 0, "LO:HI", ARG_STR, 0, 0, CLI_RUNS, O,
     "job ids [LO,HI) are measured; the run ends when they have all finished (default: "
     "every trace id; 4000:5000 for synthetic)", "measure"},
    {OPT_JSON, "json", 0, NULL, ARG_NONE, 0, 0, CLI_RUNS, O,
     "one JSON summary object per run (per line)", NULL},
    {OPT_RECORD, "record", 0, "FILE", ARG_STR, 0, 0, CLI_SIMULATE | CLI_DEPLOY, O,
     "{simulate:write the jobs as simulated, in the replay format}"
     "{deploy:append every job that arrives (trace or submitted online) with its arrival on "
     "the run's clock, in the replay format, for simulate --trace; a run continued from "
     "--state keeps appending}", NULL},
    {OPT_DB, "db", 0, "FILE", ARG_STR, 0, 0, CLI_SIMULATE | CLI_SWEEP | CLI_REPORT | CLI_DEPLOY,
     O, "results database (SQLite{sweep:; default results.db}{report:; default results.db}"
     "{deploy:; the deployment is stored as one run, its jobs and rounds, once it completes})",
     "db"},
    {OPT_PLOT, "plot", 0, "DIR", ARG_STR, 0, 0, CLI_SIMULATE | CLI_SWEEP | CLI_REPORT | CLI_PROFILE, O,
     "{profile:where NAME-profile.dat, .gp and .png go (default: beside the profile)}"
     "{simulate:" PLOT_HELP "; records the runs into --db, default results.db}"
     "{sweep:" PLOT_HELP "}{report:" PLOT_HELP "}", "plot"},
    {OPT_JOBS_CSV, "jobs-csv", 0, "FILE", ARG_STR, 0, 0, CLI_RUNS, O,
     "per-job results of every run: policy,mode,id,model,gpus,arrival_s,first_start_s,"
     "finish_s,jct_s (measured jobs)", NULL},
    {OPT_JOBS_CSV_REASONS, "jobs-csv-reasons", 0, NULL, ARG_NONE, 0, 0, CLI_SIMULATE, O,
     "add to --jobs-csv the rounds each job waited, per reason (docs/forecast.md)", NULL},
    {OPT_PLAN_LOG, "plan-log", 0, "FILE", ARG_STR, 0, 0, CLI_SIMULATE | CLI_DEPLOY, O,
     "write each round's placed job ids, \"time: id id ...\", and \"finish ID JCT_S\" as "
     "jobs finish (deploy: flushed every round; a run continued from --state continues it)"
     "{simulate:; with --tenants, each tenant's state after each round, \"tenant TIME NAME "
     "quota=Q held=H ...\"}", NULL},
    {OPT_CHECK, "check", 0, NULL, ARG_NONE, 0, 0, CLI_SIMULATE | CLI_SWEEP, O,
     "verify no server is oversubscribed after every round", "check"},
    {OPT_OUTPUT, "output", 'o', "FILE", ARG_STR, 0, 0, CLI_CONVERT | CLI_GENERATE | CLI_PROFILE, O,
     "{profile:write the profile to FILE instead}{trace convert:write here (atomically) "
     "instead of stdout}{generate:write here (atomically) instead of stdout}", NULL},
    {OPT_SHARD, "shard", 0, "K/N", ARG_STR, 0, 0, CLI_SWEEP, O,
     "run only the K-th of N deterministic slices of the grid (points i with i mod N = K-1) "
     "into --db; merge the shards with `synergy report --merge A.db B.db ... --db ALL.db` "
     "(contrib/slurm/sweep.sbatch runs them as a Slurm job array)", "shard"},
    {OPT_SWEEP_WORKERS, "workers", 'j', "N", ARG_INT, 1, 1024, CLI_SWEEP, O,
     "parallel worker processes (default: one per core)", "workers"},
    /* deployment */
    {OPT_DEPLOY_WORKERS, "workers", 0, "FILE", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "rows ip,port,start_gpu,start_cpu,numa; row i = server i; a worker is the row of the "
     "ip and port it listens on (port 0: the port it reports when it registers)", NULL},
    {OPT_LOCAL, "local", 0, "N", ARG_INT, 1, 1024, CLI_DEPLOY, D,
     "start N workers on 127.0.0.1 (simulated GPUs, each on a free port it reports)", NULL},
    {OPT_CATALOG, "catalog", 0, "FILE", ARG_STR, 0, 0, CLI_DEPLOY | CLI_WORKER | CLI_PROFILE, D,
     "model -> argv catalog{deploy: for --local workers} (default "
     "configs/deploy_catalog.ini)", NULL},
    {OPT_TOPOLOGY, "topology", 0, "FILE.xml", ARG_STR, 0, 0, CLI_DEPLOY | CLI_WORKER, D,
     "hwloc XML topology{deploy: for the --local workers} (default: probe this machine)",
     NULL},
    {OPT_RUN_DIR, "run-dir", 0, "DIR", ARG_STR, 0, 0, CLI_DEPLOY | CLI_WORKER | CLI_PROFILE, D,
     "cwd, logs and checkpoints of the jobs{worker: (default ./synergy-run)}{deploy: of --local "
     "workers}{profile: (the worker's; default: a new one in /tmp)}", NULL},
    {OPT_TIME_SCALE, "time-scale", 0, "K", ARG_POS, 0, 0, CLI_DEPLOY, D,
     "divide every duration by K (a 300 s round takes 300/K s)", NULL},
    {OPT_PORT, "port", 0, "N", ARG_INT, 0, 65535, CLI_DEPLOY | CLI_WORKER, D,
     "port to serve on (default: any free one{worker:, reported to the scheduler})", NULL},
    {OPT_STATE, "state", 0, "FILE", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "SQLite state (default in memory); an unfinished run in it with the same arguments is "
     "continued (a scheduler restart). One scheduler per file (FILE.lock); an empty or "
     "corrupt file is refused, never replaced", NULL},
    {OPT_FRESH, "fresh", 0, NULL, ARG_NONE, 0, 0, CLI_DEPLOY, D,
     "discard an unfinished run in --state and start over", NULL},
    {OPT_MAX_RETRIES, "max-retries", 0, "N", ARG_INT, 0, INT_MAX, CLI_DEPLOY, D,
     "relaunches after crashes before a job fails (default 3)", NULL},
    {OPT_KILL_WAIT, "kill-wait", 0, "S", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "a job told to stop by signal gets SIGTERM, then SIGKILL S seconds later (default 30, "
     "divided by --time-scale; like Slurm's KillWait; docs/real-jobs.md)", NULL},
    {OPT_HEARTBEAT_MS, "heartbeat-ms", 0, "N", ARG_INT, 10, INT_MAX, CLI_DEPLOY, D,
     "worker heartbeat period (default 200)", NULL},
    {OPT_WORKER_TIMEOUT_MS, "worker-timeout-ms", 0, "N", ARG_INT, 50, INT_MAX, CLI_DEPLOY, D,
     "a worker silent this long is lost (default 1500)", NULL},
    {OPT_METRICS_LISTEN, "metrics-listen", 0, "IP:PORT", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "serve Prometheus metrics at http://IP:PORT/metrics (port 0: any free one)", NULL},
    {OPT_WRITE_CLIENT_CONFIG, "write-client-config", 0, NULL, ARG_NONE, 0, 0, CLI_DEPLOY, D,
     "write the admin service's address (and TLS CA) into the user's client.ini "
     "(~/.config/synergy/client.ini), so that submit, queue, cancel and nodes find this "
     "scheduler without flags (docs/client.md)", NULL},
    {OPT_WAIT_WORKERS, "wait-workers", 0, "N", ARG_INT, 1, 1024, CLI_DEPLOY, D,
     "start planning once N workers registered (default: all); the others join planning "
     "when they register", NULL},
    /* worker */
    {OPT_SCHEDULER, "scheduler", 0, "HOST:PORT", ARG_STR, 0, 0, CLI_WORKER, G,
     "the scheduler (the only address allowed to call us)", NULL},
    {OPT_LISTEN, "listen", 0, "IP", ARG_STR, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "address to serve on (default 127.0.0.1){deploy:; 0.0.0.0 or :: for every interface, "
     "with --advertise}", NULL},
    {OPT_ADVERTISE, "advertise", 0, "HOST", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "address jobs and workers are told to call (default: the --listen address)", NULL},
    {OPT_SERVER_ID, "server-id", 0, "N", ARG_INT, 0, 65535, CLI_WORKER, G,
     "claim row N of the scheduler's workers file (rows with port 0, as deploy --local "
     "makes; default: by address)", NULL},
    {OPT_NO_CGROUP, "no-cgroup", 0, NULL, ARG_NONE, 0, 0, CLI_WORKER, G,
     "never put jobs in a cgroup (memory limits not enforced; supervision still kills "
     "everything a job starts)", NULL},
    {OPT_GPUS, "gpus", 0, "N", ARG_INT, 0, 1024, CLI_WORKER, G,
     "simulate N GPUs (a machine without GPUs)", NULL},
    {OPT_GPU_TYPE, "gpu-type", 0, "NAME", ARG_STR, 0, 0, CLI_WORKER | CLI_PROFILE, G,
     "the GPUs' type, as the cluster INI names it (default: the driver's model from "
     "/proc/driver/nvidia/gpus, shortened: Tesla V100-SXM2-16GB is V100){profile:; the "
     "profile is then also written as [MODEL:1:NAME]}", NULL},
    {OPT_CPU_UNIT, "cpu-unit", 0, "core|thread", ARG_STR, 0, 0, CLI_WORKER, G,
     "a job's CPU is a whole physical core with its SMT siblings (core, the default) or one "
     "hardware thread", NULL},
    {OPT_RESERVE_CPUS, "reserve-cpus", 0, "LIST", ARG_STR, 0, 0, CLI_WORKER, G,
     "keep cores from jobs and run the worker on them: core ids (0,1,8-9; one id as 5-5) or "
     "N = the first N cores of every socket (default: none reserved)", NULL},
    /* security (issue 10) */
    {OPT_TLS_CA, "tls-ca", 0, "FILE", ARG_STR, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "mutual TLS: the CA (PEM) that signed every peer's certificate "
     "(scripts/make-certs.sh makes one)", NULL},
    {OPT_TLS_CERT, "tls-cert", 0, "FILE", ARG_STR, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "mutual TLS: this node's certificate (PEM); its CN is the node's identity", NULL},
    {OPT_TLS_KEY, "tls-key", 0, "FILE", ARG_STR, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "mutual TLS: this node's private key (PEM)", NULL},
    {OPT_INSECURE, "insecure", 0, NULL, ARG_NONE, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "plaintext gRPC without authentication (instead of --tls-*){deploy:; --local uses "
     "it by default on loopback}", NULL},
    {OPT_SCHEDULER_IDENTITY, "scheduler-identity", 0, "ID", ARG_STR, 0, 0, CLI_WORKER | CLI_ADMIN,
     G, "with TLS, the only certificate identity (CN, else first SAN) taken for the scheduler "
     "(default scheduler)", NULL},
    {OPT_JOB_USER, "job-user", 0, "NAME", ARG_STR, 0, 0, CLI_WORKER | CLI_DEPLOY, D,
     "run jobs as this user; a worker started as root needs it (--job-user root to run "
     "jobs as root){deploy:; passed to --local workers}", NULL},
    {OPT_JOB_USERS, "job-users", 0, "A,B", ARG_STR, 0, 0, CLI_WORKER, D,
     "the accounts a job may run as: a job submitted by a user of the scheduler's tenants "
     "file runs as that user's unix account if listed here, and is refused otherwise (root "
     "only if listed; docs/tenants.md)", NULL},
    {OPT_ALLOW_LEGACY_JOBS, "allow-legacy-jobs", 0, NULL, ARG_NONE, 0, 0, CLI_DEPLOY, D,
     "accept JobToScheduler calls without a job token (the stock reference iterator) on "
     "the address check alone: see docs/security.md", NULL},
    {OPT_ADMINS, "admins", 0, "FILE", ARG_STR, 0, 0, CLI_DEPLOY, D,
     "certificate identities (one per line, '#' comments) that may use the admin service "
     "(submit, queue, cancel, nodes) under mutual TLS; without TLS, only a loopback "
     "listener takes admin calls", NULL},
    {OPT_MAX_QUEUED_JOBS, "max-queued-jobs", 0, "N", ARG_INT, 1, 100000000, CLI_DEPLOY, D,
     "an admin identity's jobs not finished (pending, queued, running) at most; a submission "
     "past it is refused RESOURCE_EXHAUSTED (default 10000)", NULL},
    {OPT_SUBMIT_RATE, "submit-rate", 0, "N", ARG_INT, 0, 100000000, CLI_DEPLOY, D,
     "submissions a second an admin identity may make (a token bucket; 0: no limit); one past "
     "it is refused RESOURCE_EXHAUSTED (default 100)", NULL},
    {OPT_SUBMIT_BURST, "submit-burst", 0, "N", ARG_INT, 1, 100000000, CLI_DEPLOY, D,
     "submissions an identity may make at once, above --submit-rate (default 1000)", NULL},
    /* admin clients */
    {OPT_ADMIN_SCHEDULER, "scheduler", 0, "HOST:PORT", ARG_STR, 0, 0, CLI_ADMIN, G,
     "the scheduler (synergy deploy) to ask", NULL},
    {OPT_TLS_CA, "tls-ca", 0, "FILE", ARG_STR, 0, 0, CLI_ADMIN, G,
     "mutual TLS: the CA (PEM) that signed the scheduler's certificate", NULL},
    {OPT_TLS_CERT, "tls-cert", 0, "FILE", ARG_STR, 0, 0, CLI_ADMIN, G,
     "mutual TLS: our certificate (PEM); its CN must be in the scheduler's --admins file",
     NULL},
    {OPT_TLS_KEY, "tls-key", 0, "FILE", ARG_STR, 0, 0, CLI_ADMIN, G,
     "mutual TLS: our private key (PEM)", NULL},
    {OPT_INSECURE, "insecure", 0, NULL, ARG_NONE, 0, 0, CLI_ADMIN, G,
     "plaintext gRPC (instead of --tls-*); the scheduler takes it on loopback only", NULL},
    {OPT_SUBMIT_MODEL, "model", 0, "NAME", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "the job's model (a profiled model of the scheduler's zoo)", NULL},
    {OPT_SUBMIT_GPUS, "gpus", 0, "N", ARG_INT, 1, 1000000, CLI_SUBMIT, G,
     "GPUs the job asks for", NULL},
    {OPT_ITERATIONS, "iterations", 0, "N", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "iterations to run (or --hours)", NULL},
    {OPT_HOURS, "hours", 0, "H", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "hours at the model's profiled time per iteration (fair share), turned into iterations",
     NULL},
    {OPT_NAME, "name", 0, "S", ARG_STR, 0, 0, CLI_SUBMIT, G, "a name: up to 63 of [A-Za-z0-9._-], unique among the jobs not finished", NULL},
    {OPT_TEST_ONLY, "test-only", 0, NULL, ARG_NONE, 0, 0, CLI_SUBMIT, G, "forecast the job's start and end; store nothing, use no id (docs/forecast.md)", NULL},
    {OPT_SUBMIT_GPU_TYPES, "gpu-type", 0, "T[,T...]", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "the GPU types the job may run on (default: any)", NULL},
    {OPT_PRIORITY, "priority", 0, "P", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "0 to 100 (default 0): a label shown by queue; the policy orders the jobs", NULL},
    {OPT_SUBMIT_TENANT, "tenant", 0, "T", ARG_STR, 0, 0, CLI_SUBMIT, G,
     "the tenant the job is charged to: one of yours in the scheduler's tenants file "
     "(default: your first; docs/tenants.md)", NULL},
    {OPT_ADMIN_JSON, "json", 0, NULL, ARG_NONE, 0, 0, CLI_QUEUE | CLI_NODES | CLI_SHARE, G,
     "one JSON object instead of the table", NULL},
    {OPT_ADMIN_ALL, "all", 0, NULL, ARG_NONE, 0, 0, CLI_QUEUE, G, "also the finished, failed and cancelled jobs", NULL},
    {OPT_QUEUE_START, "start", 0, NULL, ARG_NONE, 0, 0, CLI_QUEUE, G, "forecast each job's start and end (docs/forecast.md)", NULL},
    /* job */
    {OPT_JOB_ID, "job-id", 0, "N", ARG_INT, 0, LONG_MAX, CLI_JOB, G, "the job's id", NULL},
    {OPT_SCHED, "sched", 0, "HOST:PORT", ARG_STR, 0, 0, CLI_JOB, G,
     "the scheduler's JobToScheduler service", NULL},
    {OPT_CHK_DIR, "chk-dir", 0, "DIR", ARG_STR, 0, 0, CLI_JOB, G,
     "checkpoint directory (progress survives relaunches)", NULL},
    {OPT_CRASH_ONCE, "crash-once", 0, "DIR", ARG_STR, 0, 0, CLI_JOB, G,
     "fault drill: crash once half-way, remembering it in DIR", NULL},
    {OPT_CRASH_ALWAYS, "crash-always", 0, NULL, ARG_NONE, 0, 0, CLI_JOB, G,
     "fault drill: crash half-way every time", NULL},
    {OPT_CRASH_LATE_MS, "crash-late-ms", 0, "MS", ARG_INT, 0, 10000, CLI_JOB, G,
     "fault drill: the process that crashes starts MS ms after its job's other ranks", NULL},
    {OPT_IGNORE_STOP, "ignore-stop", 0, NULL, ARG_NONE, 0, 0, CLI_JOB, G,
     "fault drill: ignore the stop at the lease's end (RoundEnd's answer); SIGTERM still "
     "stops it", NULL},
    {OPT_IGNORE_SIGTERM, "ignore-sigterm", 0, NULL, ARG_NONE, 0, 0, CLI_JOB, G,
     "fault drill: ignore SIGTERM (by default it saves its checkpoint, ends its lease and "
     "exits 0), so only SIGKILL after the kill-wait ends it", NULL},
    {OPT_RANKS, "ranks", 0, NULL, ARG_NONE, 0, 0, CLI_JOB, G,
     "one process per GPU of this server (LOCAL_RANK, RANK, WORLD_SIZE set), as "
     "torch.distributed.launch does; give the model `ranks = per-gpu` in the worker catalog", NULL},
    {OPT_LEGACY, "legacy", 0, NULL, ARG_NONE, 0, 0, CLI_JOB, G,
     "speak as the stock reference iterator: no job token, attempt or rank, one UpdateIters "
     "per round at 75 % of it (needs deploy --allow-legacy-jobs)", NULL},
    {OPT_SPAWN_DAEMON, "spawn-daemon", 0, "FILE", ARG_STR, 0, 0, CLI_JOB, G,
     "fault drill: leave two daemonised grandchildren, their pids appended to FILE", NULL},
    {OPT_STARTUP_S, "startup-s", 0, "S", ARG_STR, 0, 0, CLI_JOB, G,
     "sleep S wall seconds before the first step (start-up cost)", NULL},
    {OPT_CPU_WORK, "cpu-work", 0, "M", ARG_STR, 0, 0, CLI_JOB, G,
     "each step does M million floating-point steps of real CPU work, spread over the CPUs "
     "the job may use (sched_getaffinity)", NULL},
    {OPT_ITER_COST, "iter-cost", 0, "A,B", ARG_STR, 0, 0, CLI_JOB, G,
     "each step sleeps A + B / (CPUs allowed) wall seconds (default: SYNERGY_ITER_TIME_S / "
     "SYNERGY_TIME_SCALE)", NULL},
    /* profile */
    {OPT_MODEL, "model", 0, "NAME", ARG_STR, 0, 0, CLI_PROFILE, G,
     "the catalog model to run (also the profile's name)", NULL},
    {OPT_PROFILE_GPUS, "gpus", 0, "N", ARG_INT, 1, 64, CLI_PROFILE, G,
     "GPUs the job gets (default 1)", NULL},
    {OPT_DATA, "data", 0, "DIR", ARG_STR, 0, 0, CLI_PROFILE, G,
     "the job's data directory: dataset size, disk bandwidth", NULL},
    {OPT_EPOCH_ITERS, "epoch-iters", 0, "N", ARG_INT, 1, 1000000000, CLI_PROFILE, G,
     "iterations per epoch (default: files in --data / (GPUs x batch), or 1)", NULL},
    {OPT_PROFILE_BATCH, "batch", 0, "N", ARG_INT, 1, 1 << 20, CLI_PROFILE, G,
     "batch size recorded in the profile (default 32)", NULL},
    {OPT_MAX_CPUS, "max-cpus", 0, "N", ARG_INT, 1, 4096, CLI_PROFILE, G,
     "first CPU count (default: every CPU we may use)", NULL},
    {OPT_MEM_GB, "mem-gb", 0, "G", ARG_POS, 0, 0, CLI_PROFILE, G,
     "the job's memory limit (default: none)", NULL},
    {OPT_STEPS, "steps", 0, "N", ARG_INT, 1, 1000000, CLI_PROFILE, G,
     "steps per progress report (default 10)", NULL},
    {OPT_WARMUP, "warmup", 0, "N", ARG_INT, 0, 1000, CLI_PROFILE, G,
     "reports discarded per point as warm-up (default 1)", NULL},
    {OPT_REPORTS, "reports", 0, "N", ARG_INT, 1, 1000, CLI_PROFILE, G,
     "reports averaged per point (default 3)", NULL},
    {OPT_TIMEOUT, "timeout", 0, "S", ARG_POS, 0, 0, CLI_PROFILE, G,
     "give up on a point after S seconds (default 600)", NULL},
    {OPT_REAL_GPUS, "real-gpus", 0, NULL, ARG_NONE, 0, 0, CLI_PROFILE, G,
     "use this machine's GPUs (default: simulate N GPUs)", NULL},
    /* report */
    {OPT_RUN, "run", 0, "ID[,ID...]", ARG_STR, 0, 0, CLI_REPORT, G,
     "these runs (default: the newest batch's complete runs)", NULL},
    {OPT_BATCH, "batch", 0, "ID", ARG_INT, 1, LONG_MAX, CLI_REPORT, G,
     "the runs of this batch (a simulate or sweep invocation)", NULL},
    {OPT_ALL, "all", 0, NULL, ARG_NONE, 0, 0, CLI_REPORT, G,
     "every complete run in the database", NULL},
    {OPT_BASELINE, "baseline", 0, "ID", ARG_INT, 1, LONG_MAX, CLI_REPORT, G,
     "compare every run with run ID instead", NULL},
    {OPT_FORMAT, "format", 0, "F", ARG_STR, 0, 0, CLI_REPORT, G,
     "text (default) | csv | json (one object per run and line)", NULL},
    {OPT_BRIEF, "brief", 0, NULL, ARG_NONE, 0, 0, CLI_REPORT, G,
     "leave out the per-model and per-GPU-count breakdowns", NULL},
    {OPT_TELEMETRY, "telemetry", 0, "DIR", ARG_STR, 0, 0, CLI_REPORT, G,
     "write run<ID>_jobs.tsv and run<ID>_rounds.tsv into DIR", NULL},
    {OPT_LIST, "list", 0, NULL, ARG_NONE, 0, 0, CLI_REPORT, G,
     "list the runs of the selection with their status and exit", NULL},
    {OPT_MERGE, "merge", 0, "A.db", ARG_STR, 0, 0, CLI_REPORT, G,
     "merge the databases of a sharded sweep (sweep --shard K/N; more shard files follow as "
     "operands) into --db: every complete run once with its jobs and rounds; merging again "
     "adds nothing; shards of different grids are refused", NULL},
    /* trace gen-philly */
    {OPT_BYTES, "bytes", 0, "SIZE", ARG_STR, 0, 0, CLI_GENPHILLY, G,
     "write about SIZE bytes (K, M, G suffixes)", NULL},
    {OPT_BAD_EVERY, "bad-every", 0, "N", ARG_INT, 0, LONG_MAX, CLI_GENPHILLY, G,
     "every Nth record is malformed", NULL},
    /* every command */
    {OPT_LOG_FORMAT, "log-format", 0, "F", ARG_STR, 0, 0, CLI_DEPLOY | CLI_WORKER, "general",
     "log lines start with an RFC 3339 UTC time (rfc3339), a syslog priority (journal: journald "
     "stamps them) or neither (plain); default journal when stderr is the journal", NULL},
    {OPT_VERBOSE, "verbose", 'v', NULL, ARG_NONE, 0, 0,
     CLI_RUNS | CLI_WORKER | CLI_PROFILE, "general", "log more{sweep:: a line per finished run "
     "also on a terminal}", NULL},
    {OPT_HELP, "help", 'h', NULL, ARG_NONE, 0, 0, CLI_ALL, "general",
     "print this help and exit", NULL},
    {OPT_VERSION, "version", 0, NULL, ARG_NONE, 0, 0, CLI_ALL, "general",
     "print the version and exit", NULL},
};
/* clang-format on */
const size_t cli_n_options = sizeof cli_options / sizeof cli_options[0];

static const struct cli_command_info *command_info(unsigned cmd)
{
    for (size_t i = 0; i < cli_n_commands; i++)
        if (cli_commands[i].bit == cmd && cli_commands[i].synopsis)
            return &cli_commands[i];
    return NULL;
}

const struct cli_option *cli_option_for(unsigned cmd, enum cli_opt_id id)
{
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_options[i].id == id && (cli_options[i].cmds & cmd))
            return &cli_options[i];
    return NULL;
}

bool cli_takes(unsigned cmd, enum cli_opt_id id)
{
    return cli_option_for(cmd, id) != NULL;
}

void cli_parser_init(struct cli_parser *p, unsigned cmd, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->info = command_info(cmd);
    p->argc = argc;
    p->argv = argv;
    size_t n = 0, s = 0;
    p->shortopts[s++] = ':'; /* a missing value returns ':' */
    for (size_t i = 0; i < cli_n_options && n < CLI_MAX_ROWS; i++) {
        const struct cli_option *o = &cli_options[i];
        if (!(o->cmds & cmd))
            continue;
        p->rows[n] = o;
        p->longopts[n] = (struct option){o->name, o->metavar ? required_argument : no_argument,
                                         NULL, 256 + (int)n};
        if (o->short_name && s + 3 < sizeof p->shortopts) {
            p->shortopts[s++] = o->short_name;
            if (o->metavar)
                p->shortopts[s++] = ':';
        }
        n++;
    }
    p->longopts[n] = (struct option){0, 0, 0, 0};
    p->shortopts[s] = '\0';
    optind = 0; /* GNU getopt: start over, forget the last argv's permutation */
    opterr = 0;
}

static const char *cmd_name(const struct cli_parser *p)
{
    return p->info ? p->info->name : "?";
}

int cli_bad(const struct cli_parser *p, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synergy %s: ", cmd_name(p));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_BAD_INPUT;
}

/* The commands (other than p's) that take option `name`, for the error. */
static void others_taking(const char *name, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < cli_n_commands; c++) {
        if (cli_commands[c].hidden || !cli_commands[c].synopsis)
            continue;
        for (size_t i = 0; i < cli_n_options; i++)
            if (strcmp(cli_options[i].name, name) == 0 && (cli_options[i].cmds & cli_commands[c].bit)) {
                len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", len ? ", " : "",
                                        cli_commands[c].name);
                break;
            }
        if (len >= n)
            break;
    }
}

static int bad_option(struct cli_parser *p, const char *arg)
{
    char name[128];
    snprintf(name, sizeof name, "%s", arg);
    char *eq = strchr(name, '=');
    if (eq)
        *eq = '\0';
    char others[512];
    others_taking(name[0] == '-' && name[1] == '-' ? name + 2 : "", others, sizeof others);
    if (others[0])
        cli_bad(p, "option '%s' does not apply here (it is an option of: %s)", name, others);
    else
        cli_bad(p, "unknown option '%s' (see 'synergy %s --help')", name, cmd_name(p));
    p->exit_code = EXIT_BAD_INPUT;
    return CLI_EXIT;
}

static int check_value(struct cli_parser *p, const struct cli_option *o)
{
    if (o->type == ARG_POS) {
        if (parse_double(p->arg, &p->num) < 0 || !(p->num > 0))
            goto bad;
    } else if (o->type == ARG_INT) {
        if (parse_long(p->arg, &p->lnum) < 0 || p->lnum < o->min || p->lnum > o->max)
            goto bad;
    }
    return 0;
bad:
    if (o->type == ARG_POS)
        cli_bad(p, "--%s: '%s' must be a positive number", o->name, p->arg);
    else if (o->max == LONG_MAX || o->max == INT_MAX)
        cli_bad(p, "--%s: '%s' must be %s", o->name, p->arg,
                o->min == 0 ? "a non-negative integer"
                : o->min == 1 ? "a positive integer" : "a larger integer");
    else
        cli_bad(p, "--%s: '%s' must be an integer in %ld..%ld", o->name, p->arg, o->min, o->max);
    p->exit_code = EXIT_BAD_INPUT;
    return CLI_EXIT;
}

/* Only --models may be given several times (each adds files). A single-valued option given twice with different values: which one did
 * the user mean? Say so rather than let the last win silently. The same value
 * twice is harmless. 0, or -1 (message printed). */
static int repeated(struct cli_parser *p, const struct cli_option *o)
{
    size_t r = 0;
    while (r < CLI_MAX_ROWS && p->rows[r] != o)
        r++;
    if (r == CLI_MAX_ROWS)
        return 0;
    if (p->seen[r] && strcmp(p->seen[r], p->arg) != 0) {
        cli_bad(p, "--%s given twice ('%s', then '%s'): give it once", o->name, p->seen[r],
                p->arg);
        p->exit_code = EXIT_BAD_INPUT;
        return -1;
    }
    p->seen[r] = p->arg;
    return 0;
}

int cli_next(struct cli_parser *p)
{
    int idx = -1;
    int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, &idx);
    p->optind = optind;
    p->arg = optarg;
    if (c == -1)
        return CLI_END;
    if (c == '?') {
        char sh[3] = {'-', (char)optopt, 0};
        return bad_option(p, optopt > 0 && optopt < 128 ? sh : p->argv[optind - 1]);
    }
    if (c == ':') {
        if (optopt >= 256 && optopt - 256 < CLI_MAX_ROWS && p->rows[optopt - 256])
            cli_bad(p, "--%s needs a value", p->rows[optopt - 256]->name);
        else
            cli_bad(p, "-%c needs a value", optopt);
        p->exit_code = EXIT_BAD_INPUT;
        return CLI_EXIT;
    }
    const struct cli_option *o = NULL;
    if (c >= 256)
        o = p->rows[c - 256];
    else
        for (size_t i = 0; i < CLI_MAX_ROWS && p->rows[i]; i++)
            if (p->rows[i]->short_name == c)
                o = p->rows[i];
    if (!o)
        return bad_option(p, p->argv[optind - 1]);
    p->opt = o;
    if (o->id == OPT_HELP) {
        cli_usage(stdout, p->cmd);
        p->exit_code = 0;
        return CLI_EXIT;
    }
    if (o->id == OPT_VERSION) {
        cli_print_version();
        p->exit_code = 0;
        return CLI_EXIT;
    }
    if (o->metavar && check_value(p, o) < 0)
        return CLI_EXIT;
    if (o->metavar && o->id != OPT_MODELS && repeated(p, o) < 0)
        return CLI_EXIT;
    return (int)o->id;
}

void cli_print_version(void)
{
    printf("synergy %s\n", SYNERGY_VERSION);
}

/* ---- help, man page, completion ---- */

/* Expand {policies}, {modes} and {formats} from the registries; "{CMD: text}"
 * is kept only in command CMD's help (cmd 0, the man page: "(CMD: text)"). */
static void expand(char *out, size_t n, const char *help, const char *sep, unsigned cmd)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *s = help; *s && len + 1 < n;) {
        const char *names[32];
        size_t k = 0;
        const char *colon = s[0] == '{' ? strchr(s, ':') : NULL;
        const char *close = colon ? strchr(colon, '}') : NULL;
        if (colon && close && colon - s < 24) {
            bool not = s[1] == '!'; /* {!CMD:text}: every command but CMD */
            const char *nm = s + 1 + not;
            const struct cli_command_info *ci = NULL;
            for (size_t c = 0; c < cli_n_commands; c++)
                if (strncmp(cli_commands[c].name, nm, (size_t)(colon - nm)) == 0 &&
                    cli_commands[c].name[colon - nm] == '\0')
                    ci = &cli_commands[c];
            int tl = (int)(close - colon - 1);
            if (ci && cmd != 0 && (cmd == ci->bit) != not)
                len += (size_t)snprintf(out + len, n - len, "%.*s", tl, colon + 1);
            else if (ci && cmd == 0)
                len += (size_t)snprintf(out + len, n - len, "(%s%s:%.*s)", not ? "not " : "",
                                        ci->name, tl, colon + 1);
            if (len >= n)
                len = n - 1;
            s = close + 1;
            continue;
        }
        if (strncmp(s, "{policies}", 10) == 0) {
            for (size_t i = 0; sched_policies[i] && k < 32; i++)
                names[k++] = sched_policies[i]->name;
            s += 10;
        } else if (strncmp(s, "{modes}", 7) == 0) {
            for (size_t i = 0; sched_modes[i] && k < 32; i++)
                names[k++] = sched_mode_name(sched_modes[i]);
            s += 7;
        } else if (strncmp(s, "{formats}", 9) == 0) {
            for (size_t i = 0; trace_formats[i] && k < 32; i++)
                names[k++] = trace_formats[i]->name;
            s += 9;
        } else {
            out[len++] = *s++;
            out[len] = '\0';
            continue;
        }
        for (size_t i = 0; i < k; i++)
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? sep : "",
                                    names[i]);
        if (len >= n)
            len = n - 1;
    }
}

/* Print `text` wrapped at 79 columns, continuation lines indented by `indent`;
 * the first line starts at column `col`. */
static void wrap(FILE *f, const char *text, int indent, int col)
{
    const char *s = text;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t w = strcspn(s, " ");
        if (col > indent && col + 1 + (int)w > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(s, 1, w, f);
        col += (int)w;
        s += w;
    }
    fputc('\n', f);
}

static void option_head(char *buf, size_t n, const struct cli_option *o)
{
    if (o->short_name)
        snprintf(buf, n, "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    else
        snprintf(buf, n, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
}

static void roff(FILE *f, const char *s);

/* What each policy and mode does, one line each from their registries (the
 * help of the commands that schedule, and the man page's POLICIES and MODES). */
static void registries(FILE *f, bool man)
{
    fprintf(f, man ? ".SH POLICIES\nA policy orders the jobs; ties keep the higher "
                     "\\fIpriority\\fR first, then the earlier arrival.\n"
                   : "\npolicies (--policy; ties: higher priority, then earlier arrival):\n");
    for (size_t i = 0; sched_policies[i]; i++) {
        if (man) {
            fprintf(f, ".TP\n.B %s\n", sched_policies[i]->name);
            roff(f, sched_policies[i]->summary);
            fputc('\n', f);
        } else {
            fprintf(f, "  %-7s ", sched_policies[i]->name);
            wrap(f, sched_policies[i]->summary, 10, 10);
        }
    }
    fprintf(f, man ? ".SH MODES\nA mode gives the ordered jobs their GPUs, CPUs and memory.\n"
                   : "\nmodes (--mode):\n");
    for (size_t i = 0; sched_modes[i]; i++) {
        if (man) {
            fprintf(f, ".TP\n.B %s\n", sched_mode_name(sched_modes[i]));
            roff(f, sched_mode_summary(sched_modes[i]));
            fputc('\n', f);
        } else {
            fprintf(f, "  %-7s ", sched_mode_name(sched_modes[i]));
            wrap(f, sched_mode_summary(sched_modes[i]), 10, 10);
        }
    }
}

void cli_print_registries_md(FILE *f)
{
    fprintf(f, "| policy | what it does |\n|---|---|\n");
    for (size_t i = 0; sched_policies[i]; i++)
        fprintf(f, "| %s | %s |\n", sched_policies[i]->name, sched_policies[i]->summary);
    fprintf(f, "\n| mode | what it does |\n|---|---|\n");
    for (size_t i = 0; sched_modes[i]; i++)
        fprintf(f, "| %s | %s |\n", sched_mode_name(sched_modes[i]),
                sched_mode_summary(sched_modes[i]));
}

void cli_usage(FILE *f, unsigned cmd)
{
    const struct cli_command_info *c = command_info(cmd);
    if (!c)
        return;
    fprintf(f, "usage: synergy %s %s\n\n", c->name, c->synopsis);
    wrap(f, c->about, 0, 0);
    const char *groups[16];
    size_t ng = 0;
    for (size_t i = 0; i < cli_n_options; i++) {
        if (!(cli_options[i].cmds & cmd))
            continue;
        size_t g = 0;
        while (g < ng && strcmp(groups[g], cli_options[i].group) != 0)
            g++;
        if (g == ng && ng < 16)
            groups[ng++] = cli_options[i].group;
    }
    for (size_t g = 0; g < ng; g++) {
        fprintf(f, "\n%s:\n", groups[g]);
        for (size_t i = 0; i < cli_n_options; i++) {
            const struct cli_option *o = &cli_options[i];
            if (!(o->cmds & cmd) || strcmp(o->group, groups[g]) != 0)
                continue;
            char head[96], help[1024];
            option_head(head, sizeof head, o);
            expand(help, sizeof help, o->help, " | ", cmd);
            if (cmd == CLI_SWEEP && o->key) {
                size_t l = strlen(help);
                snprintf(help + l, sizeof help - l, "  [%s]", o->key);
            }
            int col = fprintf(f, "  %-21s", head);
            if (col > 23) {
                fprintf(f, "\n%*s", 24, "");
                col = 24;
            } else {
                fputc(' ', f);
                col++;
            }
            wrap(f, help, 24, col);
        }
    }
    if (cli_takes(cmd, OPT_POLICY))
        registries(f, false);
    if (c->epilogue) {
        fputc('\n', f);
        wrap(f, c->epilogue, 0, 0);
    }
}

/* roff: escape backslashes and leading dots/quotes, '-' as \- */
static void roff(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

/* EXAMPLES (each runs as written on an installed synergy) and SEE ALSO. */
static void man_examples(FILE *f)
{
    static const char *const ex[][2] = {
        {"Compare two policies, GPU-proportional against Synergy-TUNE, on the synthetic "
         "workload:", "synergy simulate --synthetic --policy FIFO,LAS --mode fair,tune"},
        {"Replay a shipped trace and print one JSON summary per run:",
         "synergy simulate --trace %s/traces/synergy-deploy/test_trace --json"},
        {"A sweep over two loads into a results database, then its report:",
         "synergy sweep --jobs-per-hour 4,8 --mode fair,tune --db results.db"},
        {NULL, "synergy report --db results.db --brief"},
        {"Run a service on this machine with two simulated workers, 300 times faster than "
         "real time, and talk to it (deploy prints the line to export):",
         "synergy deploy --local 2 --time-scale 300 --write-client-config &"},
        {NULL, "synergy submit --model res18 --gpus 1 --hours 2"},
        {NULL, "synergy queue"},
    };
    fprintf(f, ".SH EXAMPLES\n");
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        if (ex[i][0]) {
            fprintf(f, ".PP\n");
            roff(f, ex[i][0]);
            fputc('\n', f);
        }
        char line[512];
        snprintf(line, sizeof line, ex[i][1], SYNERGY_INSTALL_DATADIR);
        fprintf(f, ".RS 4\n.nf\n");
        roff(f, line);
        fprintf(f, "\n.fi\n.RE\n");
    }
    fprintf(f, ".SH SEE ALSO\n"
               ".BR squeue (1),\n.BR sinfo (1),\n.BR sqlite3 (1),\n.BR systemd.service (5).\n"
               ".PP\nThe source tree's \\fIdocs/\\fR: \\fIclient.md\\fR (the client "
               "configuration), \\fIservice.md\\fR (running synergy as a service), "
               "\\fItraces.md\\fR, \\fIopt.md\\fR and \\fItesting.md\\fR.\n");
}

void cli_print_man(FILE *f)
{
    fprintf(f, ".TH SYNERGY 1 \"\" \"synergy %s\" \"User Commands\"\n", SYNERGY_VERSION);
    fprintf(f, ".SH NAME\nsynergy \\- resource\\-sensitive scheduling of DNN training jobs on "
               "GPU clusters\n");
    fprintf(f, ".SH SYNOPSIS\n.B synergy\n.I command\n[\\fIoptions\\fR]\n");
    fprintf(f, ".SH DESCRIPTION\nSynergy (OSDI'22) allocates CPU and memory to DNN training "
               "jobs in proportion to how much each job gains from them. "
               "This binary simulates it on traces, sweeps experiments, reports results "
               "and deploys it on real machines.\n"
               "Every command takes \\fB\\-\\-help\\fR and \\fB\\-\\-version\\fR.\n");
    fprintf(f, ".SH COMMANDS\n");
    for (size_t c = 0; c < cli_n_commands; c++) {
        const struct cli_command_info *ci = &cli_commands[c];
        if (ci->hidden || !ci->synopsis)
            continue;
        fprintf(f, ".SS \"synergy %s\"\n.B synergy %s\n", ci->name, ci->name);
        roff(f, ci->synopsis);
        fprintf(f, "\n.PP\n");
        roff(f, ci->about);
        fputc('\n', f);
        for (size_t i = 0; i < cli_n_options; i++) {
            const struct cli_option *o = &cli_options[i];
            if (!(o->cmds & ci->bit))
                continue;
            char head[96], help[1024];
            option_head(head, sizeof head, o);
            expand(help, sizeof help, o->help, " | ", ci->bit);
            fprintf(f, ".TP\n.B ");
            roff(f, head);
            fputc('\n', f);
            roff(f, help);
            fputc('\n', f);
        }
        if (ci->epilogue) {
            fprintf(f, ".PP\n");
            roff(f, ci->epilogue);
            fputc('\n', f);
        }
    }
    fprintf(f, ".SH FILES\n"
               "The default configs (cluster INI, model profiles, deployment catalog) are "
               "looked up in this order, the first directory that has \\fIconfigs/\\fR "
               "wins:\n"
               ".IP 1. 4\nan explicit flag (\\fB\\-\\-cluster\\fR, \\fB\\-\\-models\\fR, "
               "\\fB\\-\\-catalog\\fR);\n"
               ".IP 2. 4\n\\fB$SYNERGY_CONFIG_DIR\\fR;\n"
               ".IP 3. 4\n\\fI../share/synergy\\fR next to the binary;\n"
               ".IP 4. 4\nthe build tree, only when the binary runs from it;\n"
               ".IP 5. 4\nthe compiled\\-in install prefix, \\fI%s\\fR.\n",
            SYNERGY_INSTALL_DATADIR);
    registries(f, true);
    fprintf(f, ".SH ENVIRONMENT\n.TP\n.B SYNERGY_CONFIG_DIR\n"
               "directory holding \\fIconfigs/\\fR and \\fItraces/\\fR (see FILES).\n");
    fprintf(f, ".SH EXIT STATUS\n0 success, 1 runtime failure, 2 bad input (usage, config, "
               "trace), 128+N after signal N.\n");
    man_examples(f);
}

/* The listed children of `parent` in the command table, space-separated. */
static void command_words(char *buf, size_t n, const char *parent)
{
    size_t len = 0;
    const char *word;
    buf[0] = '\0';
    for (size_t c = 0; c < cli_n_commands && len < n; c++)
        if (cli_command_listed(&cli_commands[c], parent, &word))
            len += (size_t)snprintf(buf + len, n - len, "%s ", word);
}

void cli_print_completion(FILE *f)
{
    char top[512], trace[256];
    command_words(top, sizeof top, "");
    command_words(trace, sizeof trace, "trace");
    fprintf(f, "# bash completion for synergy (generated from the command and option tables)\n"
               "_synergy()\n{\n"
               "    local cur prev cmd opts\n"
               "    cur=${COMP_WORDS[COMP_CWORD]}\n"
               "    prev=${COMP_WORDS[COMP_CWORD-1]}\n"
               "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
               "        COMPREPLY=($(compgen -W \"%shelp --help --version\" -- \"$cur\"))\n"
               "        return\n    fi\n"
               "    cmd=${COMP_WORDS[1]}\n"
               "    if [ \"$cmd\" = help ] && [ \"$COMP_CWORD\" -eq 2 ]; then\n"
               "        COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
               "        return\n    fi\n"
               "    if [ \"$cmd\" = trace ]; then\n"
               "        if [ \"$COMP_CWORD\" -eq 2 ]; then\n"
               "            COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
               "            return\n        fi\n"
               "        cmd=\"trace ${COMP_WORDS[2]}\"\n    fi\n",
            top, top, trace);
    char pol[512], mod[512], fmt[512];
    expand(pol, sizeof pol, "{policies}", " ", 0);
    expand(mod, sizeof mod, "{modes}", " ", 0);
    expand(fmt, sizeof fmt, "{formats}", " ", 0);
    fprintf(f, "    case $prev in\n"
               "        --policy) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return;;\n"
               "        --mode) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return;;\n"
               "        --trace-format) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return;;\n"
               "        --placement) COMPREPLY=($(compgen -W \"first-fit consolidate\" -- "
               "\"$cur\")); return;;\n"
               "        --profiles) COMPREPLY=($(compgen -W \"default models-4 models-5 "
               "models-6\" -- \"$cur\")); return;;\n"
               "        --format) COMPREPLY=($(compgen -W \"text csv json\" -- \"$cur\")); "
               "return;;\n",
            pol, mod, fmt);
    /* options whose value is a file or directory */
    fprintf(f, "        ");
    bool first = true;
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (o->metavar && (strstr(o->metavar, "FILE") || strstr(o->metavar, "DIR"))) {
            fprintf(f, "%s--%s", first ? "" : "|", o->name);
            first = false;
        }
    }
    fprintf(f, ") COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n    esac\n");
    fprintf(f, "    case $cmd in\n");
    for (size_t c = 0; c < cli_n_commands; c++) {
        const struct cli_command_info *ci = &cli_commands[c];
        if (ci->hidden || !ci->synopsis)
            continue;
        fprintf(f, "        \"%s\"", ci->name);
        for (size_t a = 0; a < cli_n_commands; a++) /* its other names */
            if (a != c && cli_commands[a].bit == ci->bit && !cli_commands[a].synopsis)
                fprintf(f, "|\"%s\"", cli_commands[a].name);
        fprintf(f, ") opts=\"");
        bool sp = false;
        for (size_t i = 0; i < cli_n_options; i++) {
            const struct cli_option *o = &cli_options[i];
            if (!(o->cmds & ci->bit))
                continue;
            fprintf(f, "%s--%s", sp ? " " : "", o->name);
            sp = true;
            if (o->short_name)
                fprintf(f, " -%c", o->short_name);
        }
        fprintf(f, "\";;\n");
    }
    fprintf(f, "        *) opts=\"--help --version\";;\n    esac\n"
               "    if [[ $cur == -* ]]; then\n"
               "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
               "    else\n"
               "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
               "    fi\n}\n"
               "complete -F _synergy synergy\n");
}

int cli_parse_measure(const char *s, long *lo, long *hi)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    if (parse_long(buf, lo) < 0 || parse_long(colon + 1, hi) < 0 || *lo < 0 || *hi <= *lo)
        return -1;
    return 0;
}
