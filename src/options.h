/*
 * The command line's one option table: every option of every command is a
 * row in options.c (name, argument, help, the commands that take it), and
 * every command parses its arguments through cli_next(). `--help`, the man
 * page (synergy.1) and the bash completion are all printed from the same
 * rows, so a flag means the same thing everywhere and is documented
 * everywhere at once.
 *
 * HOW TO ADD A FLAG (see also /work/wt/OPTIONS-HOWTO.md):
 *  1. add an OPT_<NAME> id to enum cli_opt_id below (any position);
 *  2. add one row to cli_options[] in options.c: name, short letter or 0,
 *     metavar (NULL for a switch), value check (ARG_STR, ARG_POS, ARG_INT +
 *     min/max), the CLI_* bits of the commands that take it, help group, help
 *     text ({policies}, {modes}, {formats} expand to the registries);
 *     an option another command already has: add your CLI_* bit to its row;
 *  3. handle `case OPT_<NAME>:` in the command's cli_next() loop. A value the
 *     row checks is already parsed into p.num (ARG_POS) or p.lnum (ARG_INT).
 *  The man page, the completion and tests/integration/cli_options.sh follow.
 */
#ifndef SYNERGY_OPTIONS_H
#define SYNERGY_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Commands (and trace subcommands), as bits of a row's `cmds`. */
enum cli_cmd {
    CLI_SIMULATE = 1u << 0,
    CLI_SWEEP = 1u << 1,
    CLI_DEPLOY = 1u << 2,
    CLI_CONVERT = 1u << 3,  /* trace convert */
    CLI_STATS = 1u << 4,    /* trace stats */
    CLI_VALIDATE = 1u << 5, /* trace validate */
    CLI_GENERATE = 1u << 6, /* generate = trace generate */
    CLI_REPORT = 1u << 7,
    CLI_WORKER = 1u << 8,
    CLI_JOB = 1u << 9,
    CLI_GENPHILLY = 1u << 10, /* trace gen-philly (hidden) */
    CLI_PROFILE = 1u << 11,   /* profile (issue 11) */
    CLI_SUBMIT = 1u << 12,    /* the admin clients (issue 10) */
    CLI_QUEUE = 1u << 13,
    CLI_CANCEL = 1u << 14,
    CLI_NODES = 1u << 15,
    CLI_SHARE = 1u << 16, /* issue 25: each tenant's share, like sshare */
};
#define CLI_ADMIN (CLI_SUBMIT | CLI_QUEUE | CLI_CANCEL | CLI_NODES | CLI_SHARE)
#define CLI_TRACE_TOOLS (CLI_CONVERT | CLI_STATS | CLI_VALIDATE)
#define CLI_RUNS (CLI_SIMULATE | CLI_SWEEP | CLI_DEPLOY) /* commands that schedule */
#define CLI_ALL 0xffffffu

/* Option ids: what cli_next() returns. Order does not matter. */
enum cli_opt_id {
    OPT_HELP, OPT_VERSION,
    /* workload */
    OPT_TRACE, OPT_SYNTHETIC, OPT_TRACE_FORMAT, OPT_ARRIVAL, OPT_PHILLY_ARRIVAL,
    OPT_PER_ATTEMPT, OPT_MULTIGPU, OPT_STRICT, OPT_NO_DURATION_FILTER, OPT_VC, OPT_TENANT_FROM,
    OPT_TENANT_MIX,
    OPT_JOBS_PER_HOUR, OPT_SPLIT, OPT_SEED, OPT_SEEDS, OPT_MAX_JOBS, OPT_JOBS,
    /* cluster and scheduling */
    OPT_CLUSTER, OPT_MODELS, OPT_PROFILES_DIR, OPT_UNKNOWN_MODEL, OPT_PROFILES, OPT_POLICY, OPT_MODE, OPT_OPT_COMPAT,
    OPT_OPT_TIME_LIMIT, OPT_RESTART_OVERHEAD, OPT_PLACEMENT, OPT_HETERO, OPT_GPU_TYPE, OPT_SUBMIT_GPU_TYPES, OPT_ROUND_DURATION, OPT_STATIC, OPT_STOP_ON_GAP,
    OPT_TENANTS,
    /* measurement and output */
    OPT_MEASURE, OPT_JSON, OPT_RECORD, OPT_DB, OPT_PLOT, OPT_JOBS_CSV, OPT_JOBS_CSV_REASONS, OPT_PLAN_LOG,
    OPT_CHECK, OPT_OUTPUT, OPT_VERBOSE, OPT_SWEEP_WORKERS, OPT_SHARD,
    /* deployment */
    OPT_DEPLOY_WORKERS, OPT_LOCAL, OPT_CATALOG, OPT_TOPOLOGY, OPT_RUN_DIR, OPT_TIME_SCALE,
    OPT_PORT, OPT_STATE, OPT_MAX_RETRIES, OPT_KILL_WAIT, OPT_HEARTBEAT_MS, OPT_WORKER_TIMEOUT_MS, OPT_WAIT_WORKERS, OPT_FRESH, OPT_METRICS_LISTEN,
    OPT_WRITE_CLIENT_CONFIG,
    /* worker */
    OPT_SCHEDULER, OPT_LISTEN, OPT_ADVERTISE, OPT_GPUS, OPT_CPU_UNIT, OPT_RESERVE_CPUS,
    OPT_SERVER_ID, OPT_NO_CGROUP,
    /* security (issue 10) */
    OPT_TLS_CA, OPT_TLS_CERT, OPT_TLS_KEY, OPT_INSECURE, OPT_SCHEDULER_IDENTITY, OPT_JOB_USER,
    OPT_ALLOW_LEGACY_JOBS, OPT_ADMINS, OPT_MAX_QUEUED_JOBS, OPT_SUBMIT_RATE, OPT_SUBMIT_BURST,
    OPT_LOG_FORMAT,
    /* admin clients: submit, queue, cancel, nodes */
    OPT_ADMIN_SCHEDULER, OPT_SUBMIT_MODEL, OPT_SUBMIT_GPUS, OPT_ITERATIONS, OPT_HOURS, OPT_NAME,
    OPT_PRIORITY, OPT_ADMIN_JSON, OPT_ADMIN_ALL, OPT_QUEUE_START, OPT_TEST_ONLY, OPT_SUBMIT_TENANT, OPT_JOB_USERS,
    /* job */
    OPT_JOB_ID, OPT_SCHED, OPT_CHK_DIR, OPT_CRASH_ONCE, OPT_CRASH_ALWAYS, OPT_CRASH_LATE_MS,
    OPT_IGNORE_STOP, OPT_IGNORE_SIGTERM,
    OPT_STARTUP_S, OPT_CPU_WORK, OPT_ITER_COST, OPT_RANKS, OPT_LEGACY, OPT_SPAWN_DAEMON,
    /* profile */
    OPT_MODEL, OPT_PROFILE_GPUS, OPT_DATA, OPT_EPOCH_ITERS, OPT_PROFILE_BATCH, OPT_MAX_CPUS,
    OPT_MEM_GB, OPT_STEPS, OPT_WARMUP, OPT_REPORTS, OPT_TIMEOUT, OPT_REAL_GPUS,
    /* report */
    OPT_RUN, OPT_BATCH, OPT_ALL, OPT_BASELINE, OPT_FORMAT, OPT_BRIEF, OPT_TELEMETRY, OPT_LIST,
    OPT_MERGE,
    /* trace gen-philly */
    OPT_BYTES, OPT_BAD_EVERY,
    OPT__COUNT
};

enum cli_arg_type {
    ARG_NONE, /* a switch */
    ARG_STR,  /* any string; the command checks it */
    ARG_POS,  /* a number > 0, parsed into p.num */
    ARG_INT,  /* an integer in [min, max], parsed into p.lnum */
};

struct cli_option {
    enum cli_opt_id id;
    const char *name;    /* long name, without "--" */
    char short_name;     /* 0: none */
    const char *metavar; /* NULL for a switch */
    enum cli_arg_type type;
    long min, max;       /* ARG_INT only */
    unsigned cmds;       /* CLI_* bits of the commands that take it */
    const char *group;   /* help section */
    const char *help;    /* {policies} {modes} {formats} expand to the registries */
    const char *key;     /* sweep: the experiment file's [sweep] key it overrides */
};

extern const struct cli_option cli_options[];
extern const size_t cli_n_options;

/* A row of the one command table (commands.c): a command or a subcommand
 * ("trace convert"), how it runs, and what the help, the man page and the
 * completion show for it. */
struct cli_command_info {
    unsigned bit;         /* CLI_* bit of its option rows; 0: a group of subcommands */
    const char *name;     /* "simulate", "trace convert" */
    int (*main)(int argc, char **argv); /* argv[0] is the command's own word */
    const char *summary;  /* one line in `synergy [GROUP] --help` */
    const char *synopsis; /* after "usage: synergy NAME "; NULL: no section of its own
                           * (a group, or a second name of another row) */
    const char *about;    /* paragraph(s) before the options */
    const char *epilogue; /* after the options, or NULL */
    bool hidden;          /* not in the lists, the man page or the completion */
};
extern const struct cli_command_info cli_commands[];
extern const size_t cli_n_commands;
/* Run the command argv[1] among the children of `parent` ("" = top level,
 * "trace"); help, unknown names and `help CMD` handled. Its exit code. */
int cli_dispatch(const char *parent, int argc, char **argv);
/* Is row c a listed (not hidden) child of `parent`? Its own word into *word. */
bool cli_command_listed(const struct cli_command_info *c, const char *parent, const char **word);

#define CLI_MAX_ROWS 128

/* One command's parse. */
struct cli_parser {
    unsigned cmd;
    const struct cli_command_info *info;
    int argc;
    char **argv;
    int optind;                 /* first positional argument once cli_next() returned CLI_END */
    int exit_code;              /* with CLI_EXIT: 0 after --help/--version, 2 on a bad option */
    const char *arg;            /* the option's value (NULL for a switch) */
    const struct cli_option *opt; /* the row just returned */
    double num;                 /* ARG_POS */
    long lnum;                  /* ARG_INT */
    struct option longopts[CLI_MAX_ROWS + 1];
    const struct cli_option *rows[CLI_MAX_ROWS];
    const char *seen[CLI_MAX_ROWS]; /* the value each row was given, for repeats */
    char shortopts[64];
};

#define CLI_END (-1)
#define CLI_EXIT (-2)

/* Start parsing argv (argv[0] is the command's name) as command `cmd`. */
void cli_parser_init(struct cli_parser *p, unsigned cmd, int argc, char **argv);
/* The next option's OPT_* id; CLI_END when the options are over (positional
 * arguments are argv[p->optind..]); CLI_EXIT when the command must return
 * p->exit_code now (--help or --version printed; or a bad option, message on
 * stderr naming it). Options may follow positional arguments. */
int cli_next(struct cli_parser *p);
/* "synergy CMD: " + message on stderr; returns 2 (EXIT_BAD_INPUT). */
int cli_bad(const struct cli_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --measure LO:HI (0 <= LO < HI). 0, or -1. */
int cli_parse_measure(const char *s, long *lo, long *hi);
/* Is option `id` valid for command `cmd`? */
bool cli_takes(unsigned cmd, enum cli_opt_id id);
/* The row of option `id` for command `cmd` (NULL: it does not take it). */
const struct cli_option *cli_option_for(unsigned cmd, enum cli_opt_id id);

/* `synergy CMD --help`: synopsis, about, the options by group, epilogue. */
void cli_usage(FILE *f, unsigned cmd);
void cli_print_version(void);
/* synergy.1 in roff, and the bash completion script (hidden commands
 * `synergy --man` and `synergy --bash-completion`, used by the build). */
void cli_print_man(FILE *f);
void cli_print_completion(FILE *f);
/* The policies' and modes' one-line summaries as two markdown tables, for
 * docs/simulate.md (hidden `synergy --registries-md`; a test keeps the page
 * equal to it). */
void cli_print_registries_md(FILE *f);

#endif
