/*
 * The workload loader: one entry point from (file, format, arrival options)
 * to the job list, so `simulate --trace`, `deploy`, `sweep` and `trace
 * convert` see exactly the same jobs. Trace formats are a registry of ops
 * structs (trace_formats[], formats.c), like the scheduler's policies: each
 * has a name, a content detector, a reader, a validator and the options it
 * reads. Adding a format touches traces/ and its tests only: the command
 * line lists trace_formats[] in its help and accepts any of their names.
 */
#ifndef SYNERGY_WORKLOAD_H
#define SYNERGY_WORKLOAD_H

#include <stdbool.h>

#include "trace.h"

#define WL_MAX_MODEL_FILES 16

struct trace_format_ops;

struct wl_opts {
    const char *trace_path;
    const struct trace_format_ops *fmt; /* NULL: detect from the content */
    const char *arrival;     /* --arrival spec, or NULL */
    const char *vc;          /* --vc: keep one virtual cluster (formats taking TRACE_OPT_VC) */
    bool tenant_from_vc;     /* --tenant-from vc (formats taking TRACE_OPT_TENANT_VC) */
    const char *tenant_mix;  /* --tenant-mix T:P,... for the synthetic workload, or NULL */
    struct philly_opts philly;
    bool philly_arrival_given;
    bool fmt_given;          /* --trace-format given */
    const char *philly_flag; /* the first Philly-only switch given ("--multigpu"), or NULL */
    int max_gpus;            /* > 0: a job asking for more is an error naming its line */
    const char *cluster_path; /* for that error */
    struct synth_params synth;
    bool have_jph, have_split, have_seed; /* given as flags */
    char arrival_buf[64];    /* --jobs-per-hour R re-timing a trace: "poisson:R" */
    bool quiet;              /* no reader summary on stderr */
    /* model profiles beyond configs/models.ini: --models FILE|DIR (repeatable)
     * and --profiles-dir DIR, read in that order (the CLI's wl_zoo_load) */
    const char *model_files[WL_MAX_MODEL_FILES];
    int n_model_files;
    const char *profiles_dir;
    bool unknown_reference;  /* --unknown-model reference: unknown names run as alexnet */
};

void wl_opts_init(struct wl_opts *o);
/* The first option given that only a trace can use (--trace-format, --vc, a
 * Philly switch), or NULL; for the synthetic workload that is an error. */
const char *wl_trace_only_option(const struct wl_opts *o);
/* The measured window [lo, hi) against the workload: every id in it must
 * exist (a trace's jobs; the synthetic --max-jobs cap), or the run would
 * silently measure fewer jobs than asked. hi <= lo: no window. 0 or -1+err. */
int wl_check_window(const struct wl_opts *o, const struct job_spec *specs, size_t n, long lo,
                    long hi, struct err *err);

/* Read o->trace_path in its format (o->fmt, detected when NULL) and build the
 * jobs (caller frees *out). A replay trace without --arrival is returned as
 * written. --jobs-per-hour R given for a trace that has its own times re-times
 * it as --arrival poisson:R (as sweep's loads do; o->arrival then points into
 * o); a --split no job needed, or a --seed nothing random used, is an error
 * rather than ignored. -1 with err on bad input. */
int wl_load(struct wl_opts *o, const model_zoo_t *zoo, struct job_spec **out, size_t *n,
            struct err *err);
/* `trace validate`: check o->trace_path in its format, the report on `out`
 * and each problem ("file:line: ...") on `diag`. 0 valid, 1 problems found,
 * -1 with err when it cannot be read at all. */
int wl_validate(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus, FILE *out,
                FILE *diag, struct err *err);

/* ------------------------------------------------- the format registry */

/* What a format's reader is handed and fills. */
struct trace_read {
    struct wl_opts *o;
    const model_zoo_t *zoo;
    FILE *f;                  /* o->trace_path, open (NULL for TRACE_READS_PATH formats) */
    struct import_params *ip; /* the reader may set time_zero and arrivals */
    arrival_t *own_arrival;   /* an arrival process the reader made (destroyed after) */
    /* either raw jobs (turned into job_specs by trace_import_finish) ... */
    struct raw_job *jobs;
    size_t n, cap;
    /* ... or, with `done` set, the final jobs */
    struct job_spec *specs;
    size_t n_specs;
    bool done;
};

/* Options a format reads beyond the common ones. */
enum { TRACE_OPT_VC = 1, TRACE_OPT_PHILLY = 2, TRACE_OPT_TENANT_VC = 4 };
/* The format opens the file itself (read gets f == NULL). */
enum { TRACE_READS_PATH = 1 };

struct trace_format_ops {
    const char *name;     /* --trace-format NAME (case-insensitive) */
    const char *summary;  /* one line for docs and help */
    unsigned options;     /* TRACE_OPT_* it reads; others given are an error */
    unsigned flags;       /* TRACE_READS_PATH */
    /* How sure the format is that a file starting with `head` (n bytes, BOM
     * and leading blanks skipped, NUL-terminated) is its own: 0 no, higher
     * wins; the catch-all replay format answers 1. */
    int (*detect)(const char *head, size_t n);
    /* Read the jobs. 0, or -1 with err "file:line: ...". */
    int (*read)(struct trace_read *rd, struct err *err);
    /* `trace validate` (NULL: read it and report like wl_load). As
     * wl_validate. */
    int (*validate)(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus, FILE *out,
                    FILE *diag, struct err *err);
    /* The line of job `index` in the file, for errors (NULL or 0: unknown). */
    int (*line_of)(const char *path, size_t index);
};

/* Every format, NULL-terminated, in the order help lists them. */
extern const struct trace_format_ops *const trace_formats[];
/* By name (case-insensitive), or NULL. */
const struct trace_format_ops *trace_format_find(const char *name);
/* For readers: jobs asking for more than o->max_gpus are an error naming
 * the trace line (line_of may be NULL). 0 or -1 with err. */
int wl_check_gpus(const struct wl_opts *o, const struct job_spec *jobs, size_t n,
                  int (*line_of)(const char *path, size_t index), struct err *err);
/* Every job names a tenant of tc: else an error naming the trace line (when
 * line_of knows it) or the job. 0 or -1 with err. */
int wl_check_tenants(const struct wl_opts *o, const struct job_spec *jobs, size_t n,
                     const struct tenants_config *tc, struct err *err);
/* "synergy, philly, ..." into buf; returns buf. */
const char *trace_format_list(char *buf, size_t n, const char *sep);
/* The format of a file from its first bytes. 0, or -1 with err if unreadable. */
int trace_format_detect(const char *path, const struct trace_format_ops **out, struct err *err);

#endif
