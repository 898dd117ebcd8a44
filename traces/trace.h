/*
 * traces: where jobs come from. The Synergy record/replay format
 * (`id,model,arrival_s,iterations,gpus`, one job a line, no header), and the
 * reference's synthetic workload generator, bit-exact with CPython's random.
 */
#ifndef SYNERGY_TRACE_H
#define SYNERGY_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "scheduler.h"

/* ------------------------------------------------------ CPython's random */

/* MT19937 with CPython's seeding and float construction. */
struct pyrandom {
    uint32_t mt[624];
    int mti;
};

/* random.seed(n) for a non-negative integer n < 2^64. */
void pyrandom_seed(struct pyrandom *r, uint64_t n);
uint32_t pyrandom_u32(struct pyrandom *r);
/* random.random(): 53-bit float in [0, 1). */
double pyrandom_random(struct pyrandom *r);
/* random.uniform(a, b) = a + (b - a) * random(). */
double pyrandom_uniform(struct pyrandom *r, double a, double b);
/* random.getrandbits(k) for 1 <= k <= 32. */
uint32_t pyrandom_getrandbits(struct pyrandom *r, int k);
/* random.randrange(n) / randint(0, n - 1) for 1 <= n < 2^32 (rejection sampling). */
uint32_t pyrandom_randbelow(struct pyrandom *r, uint32_t n);

/* --------------------------------------------------------- replay format */

/* Read a replay trace. Returns 0 and a malloc'd array (caller frees), or -1
 * with err "file:line: message" for a missing file, bad field, non-positive
 * GPUs, negative arrival or iterations, duplicate id or empty trace. */
int trace_read_replay(const char *path, struct job_spec **out, size_t *n, struct err *err);
/* The same, and with a zoo (may be NULL) a model it has no profile of is an
 * error too, "file:line: model: ...". */
int trace_read_replay_zoo(const char *path, const model_zoo_t *zoo, struct job_spec **out,
                          size_t *n, struct err *err);

/* Parse one replay line (no newline). 0, or -1 with err naming the field. */
int trace_parse_replay_line(const char *line, struct job_spec *out, struct err *err,
                            const char *path, int lineno);

/* A list of GPU type names separated by '|' or ',' into out, '|'-separated
 * (job_spec.gpu_types). 0, or -1 if it is empty, too long or malformed. */
int trace_parse_gpu_types(const char *s, char out[64]);

/* Whether s is a tenant name: 1 to 31 letters, digits, '-', '_', '.', '@'. */
bool trace_tenant_name_ok(const char *s);

/* Write one job in the replay format, the arrival as the shortest decimal
 * that reads back to the same double (integers without a decimal point,
 * like the reference's str() of its integer arrivals). */
void trace_write_replay_line(FILE *f, const struct job_spec *j);

/* A cancel in a replay trace is a line "#cancel,ID,TIME_S" (docs/traces.md):
 * a comment to readers that do not know it, so they run the job to its end.
 * Parse one trimmed line: 1 and *id, *at if it is one; 0 if it is another
 * comment or not a comment; -1 with err "path:line: cancel: ..." if it starts
 * "#cancel," but is malformed. */
int trace_parse_replay_cancel(const char *line, int *id, double *at, struct err *err,
                              const char *path, int lineno);
/* Write "#cancel,ID,TIME_S" (the time as in trace_write_replay_line). */
void trace_write_replay_cancel(FILE *f, int id, double at);

/* Format a double as the shortest round-tripping decimal. */
void format_double_shortest(char *buf, size_t n, double v);

/* ------------------------------------------------- class-split assignment */

/* The reference's ModelAssignment.OVERALL: the task furthest below its target
 * share (ties: image, language, speech) gets the next model of its per-task
 * round-robin. Shared by the synthetic generator and the trace importers. */
struct model_assigner {
    const model_zoo_t *zoo; /* borrowed */
    int split[TASK_COUNT];  /* percentages adding up to 100 */
    long task_jobs[TASK_COUNT];
    long assigned;
    double priority[TASK_COUNT];
    size_t next_model[TASK_COUNT];
};

void model_assigner_init(struct model_assigner *a, const model_zoo_t *zoo,
                         const int split[TASK_COUNT]);
/* The model for the next job, counted as arrived. Borrowed. */
const struct model_profile *model_assigner_next(struct model_assigner *a);

/* ----------------------------------------------------- arrival processes */

enum arrival_kind {
    ARRIVAL_POISSON,  /* exponential gaps at `rate` jobs/h, ceil'd to whole seconds */
    ARRIVAL_FIXED,    /* one job every 3600/rate seconds */
    ARRIVAL_SCHEDULE, /* Poisson at rate * factor^floor(t / period) */
    ARRIVAL_DELTAS,   /* gaps from a file of `<delay_ms>,<tag>` lines */
};

typedef struct arrival arrival_t;

/* Parse an --arrival spec: `poisson:RATE`, `fixed-rate:RATE`,
 * `schedule:RATE,FACTOR,PERIOD_S` or `deltas:FILE` (rates in jobs per hour).
 * The Poisson kinds draw from their own CPython-compatible RNG seeded with
 * `seed`. Returns NULL with err on a bad spec or file. Caller destroys. */
arrival_t *arrival_create(const char *spec, uint64_t seed, struct err *err);
void arrival_destroy(arrival_t *a);
/* The next arrival time after `prev` (the previous arrival, 0 for the first
 * job). Returns 0, or -1 when a deltas file has no more lines. */
int arrival_next(arrival_t *a, double prev, double *out);
enum arrival_kind arrival_kind(const arrival_t *a);

/* ------------------------------------------------------------- synthetic */

/* A tenant mix for synthetic jobs (--tenant-mix vision:60,nlp:40): each job
 * goes to the tenant furthest below its share (ties: the earlier one), so
 * the stream stays the reference's and the mix is exact. */
#define TENANT_MIX_MAX 16
struct tenant_mix {
    int n;
    char names[TENANT_MIX_MAX][32];
    int pct[TENANT_MIX_MAX];
};
/* Parse "T:P,T:P,..." (percentages adding up to 100). 0, or -1 with err. */
int tenant_mix_parse(const char *s, struct tenant_mix *out, struct err *err);

struct synth_params {
    double jobs_per_hour; /* Poisson arrival rate (default 9) */
    int split[TASK_COUNT]; /* image, language, speech percentages (default 20,70,10) */
    uint64_t seed;        /* default 42 */
    long max_jobs;        /* 0 = unlimited */
    struct tenant_mix tenants; /* n == 0: no tenants */
    arrival_t *arrivals;  /* NULL: the reference's Poisson; else this process
                             times the jobs (borrowed). The reference's draw is
                             still made and discarded, so job contents do not
                             change with the arrival process. */
};

void synth_params_defaults(struct synth_params *p);

typedef struct synth synth_t;

/* The reference's generator (workload.py, spec §3.3). Borrowed zoo. */
synth_t *synth_create(const model_zoo_t *zoo, const struct synth_params *p, struct err *err);
void synth_destroy(synth_t *g);
/* Generate the next job, arriving after time `now` (the previous job's arrival
 * for all but the first, whose `now` is 0). Returns 0, or -1 when max_jobs is
 * reached. Job ids count from 0. */
int synth_next(synth_t *g, double now, struct job_spec *out);

/* ------------------------------------------------------ imported traces */

/* The formats themselves are a registry: workload.h. */

/* "YYYY-MM-DD HH:MM:SS" (exactly) to seconds since 1970 (UTC, proleptic
 * Gregorian). 0, or -1 when malformed or out of range. */
int trace_parse_datetime(const char *s, size_t len, double *out);

/* One job read from an imported trace, before it becomes a job_spec. */
struct raw_job {
    double submit;   /* seconds (absolute for philly/pollux, offsets for gavel) */
    double duration; /* seconds of work at the fair share; <0 if steps given */
    long steps;      /* iterations, when the trace gives them (gavel); else -1 */
    int gpus;
    int model;       /* index into model_zoo names for a fixed model; -1: class split */
    char model_name[32];
    char vc[32];     /* its virtual cluster (pollux, philly, gavel: the file's name), or a
                        replay trace's tenant; "": none */
};

struct import_params {
    arrival_t *arrivals; /* NULL: the trace's own submit offsets */
    long max_jobs;       /* >0: exactly this many jobs, reusing the trace cyclically */
    int split[TASK_COUNT];
    double time_zero;    /* trace arrivals are submit - time_zero; NAN: earliest submit */
    size_t *assigned;    /* not NULL: how many jobs got a model by the split */
    bool tenant_from_vc; /* each job's tenant is its raw vc */
};

/* Turn raw jobs into job_specs: ids 0.. in submit order (stable), arrivals
 * from the trace (offsets from the earliest submit) or from the process,
 * models by class split unless fixed, iterations = max(1, floor(duration /
 * iter_time)) unless the trace gives steps. Caller frees *out. */
int trace_import_finish(const model_zoo_t *zoo, struct raw_job *raw, size_t n,
                        const struct import_params *p, struct job_spec **out, size_t *n_out,
                        struct err *err);

/* Pollux philly.csv (header timestamp,duration,num_gpus,gpu_time,cluster).
 * Reads the rows of virtual cluster `vc` (NULL: all) into *out (caller
 * frees). Bad rows: -1 with file:line. */
int trace_read_pollux(FILE *f, const char *path, const char *vc, struct raw_job **out,
                      size_t *n, struct err *err);
/* Gavel 2019 7-field TSV. Models mapped as in docs/traces.md. */
int trace_read_gavel(FILE *f, const char *path, const model_zoo_t *zoo, struct raw_job **out,
                     size_t *n, struct err *err);
/* The Gavel job type (e.g. "ResNet-50 (batch size 128)") to a zoo model
 * name, or NULL when the type is unknown. */
const char *trace_gavel_model(const char *job_type);

/* ------------------------------------------------ philly cluster_job_log */

struct philly_opts {
    bool per_attempt;    /* one job per attempt instead of summing attempts */
    bool multigpu;       /* keep GPU counts (else every job gets 1 GPU) */
    bool philly_arrival; /* arrivals as recorded (changes the odd-GPU rule) */
    bool strict;         /* the first malformed record is an error */
    double min_duration, max_duration; /* keep min < d < max seconds; max<=0: no filter */
};

/* The reference's defaults: sum attempts, 1 GPU, Poisson arrivals, duration
 * filter 10^1.5 .. 10^4 minutes. */
void philly_opts_defaults(struct philly_opts *o);

/* Counts of what the reader saw. */
struct philly_stats {
    long records;          /* elements of the top-level array */
    long jobs;             /* jobs handed to the callback */
    long malformed;        /* records skipped: not an object, missing or mistyped keys */
    long no_attempts;      /* records with an empty attempts list */
    long no_valid_attempt; /* every attempt skipped */
    long filtered;         /* outside the duration filter */
    long attempts;         /* attempts seen in well-formed records */
    long attempt_none_time;
    long attempt_bad;      /* malformed attempt (bad time string, wrong type) */
    long attempt_nonpositive; /* duration or GPU count <= 0 */
    long attempt_gpus_skipped; /* >16 GPUs, or an odd count with philly arrivals */
    double min_submit;     /* earliest submit among jobs with attempts (time zero) */
    long records_with_attempts_seen;
    long bytes;
    char first_problems[5][256]; /* the first messages, "file:line: ..." */
    int n_problems;
};

/* Called for each kept job (submit absolute). Return non-zero to stop. */
typedef int (*philly_job_fn)(void *ctx, const struct raw_job *job);

/* Stream a cluster_job_log from f (named `path` in messages), in constant
 * memory. Returns 0, or -1 with err "file:line: ..." on a JSON syntax error,
 * a top level that is not an array, or (strict) the first malformed record. */
int trace_philly_read(FILE *f, const char *path, const struct philly_opts *o, philly_job_fn fn,
                      void *ctx, struct philly_stats *st, struct err *err);
/* Print the stats as a short human summary to f. */
void philly_stats_print(FILE *f, const char *path, const struct philly_stats *st);

/* ------------------------------------------------ a workload's summary */

struct trace_stats {
    int gpus[64];    /* the GPU counts asked for, ascending (at most 64 kinds) */
    long count[64];  /* jobs asking for gpus[k] */
    int n_gpus;
    double gpu_h;    /* GPU-hours at the fair share */
    double first, last; /* the first and last arrival, seconds */
    long unknown;    /* jobs whose model is not profiled (counted as alexnet) */
    long too_big;    /* jobs asking for more than cluster_gpus */
};

/* Summarise n jobs (n > 0) against a cluster of cluster_gpus GPUs into st.
 * Returns their durations at the fair share in seconds, ascending (caller
 * frees). The zoo must hold alexnet. */
double *trace_stats_compute(const struct job_spec *jobs, size_t n, const model_zoo_t *zoo,
                            int cluster_gpus, struct trace_stats *st);

/* A synthetic cluster_job_log, for benchmarking the reader (philly_gen.c). */
struct philly_gen_opts {
    long long bytes; /* stop once this many bytes are written; 0: no limit */
    long jobs;       /* stop after this many records; 0: no limit */
    long seed;
    long bad_every;  /* every n'th record is malformed; 0: none */
};

/* Write the log to out; give bytes or jobs, or it never ends. Returns 0, or
 * -1 with errno set when out could not be written (ENOSPC on a full disk). */
int trace_philly_generate(FILE *out, const struct philly_gen_opts *o);

#endif
