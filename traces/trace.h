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

/* Parse one replay line (no newline). 0, or -1 with err naming the field. */
int trace_parse_replay_line(const char *line, struct job_spec *out, struct err *err,
                            const char *path, int lineno);

/* Write one job in the replay format, the arrival as the shortest decimal
 * that reads back to the same double (integers without a decimal point,
 * like the reference's str() of its integer arrivals). */
void trace_write_replay_line(FILE *f, const struct job_spec *j);

/* Format a double as the shortest round-tripping decimal. */
void format_double_shortest(char *buf, size_t n, double v);

/* ------------------------------------------------------------- synthetic */

struct synth_params {
    double jobs_per_hour; /* Poisson arrival rate (default 9) */
    int split[TASK_COUNT]; /* image, language, speech percentages (default 20,70,10) */
    uint64_t seed;        /* default 42 */
    long max_jobs;        /* 0 = unlimited */
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

#endif
