/*
 * The CLI's workload options, shared by `synergy simulate` and `synergy trace`:
 * which trace and format, how arrivals are drawn, and the Philly reader's
 * switches. wl_load() turns them into the job list the simulator replays.
 */
#ifndef SYNERGY_WORKLOAD_H
#define SYNERGY_WORKLOAD_H

#include <stdbool.h>

#include "trace.h"

#define WL_MAX_MODEL_FILES 16

struct wl_opts {
    const char *trace_path;
    enum trace_format fmt;   /* UNKNOWN: detect from the content */
    const char *arrival;     /* --arrival spec, or NULL */
    const char *vc;          /* pollux: keep one virtual cluster */
    struct philly_opts philly;
    bool philly_arrival_given;
    bool fmt_given;          /* --trace-format given */
    const char *philly_flag; /* the first Philly-only switch given ("--multigpu"), or NULL */
    int max_gpus;            /* > 0: a job asking for more is an error naming its line */
    const char *cluster_path; /* for that error */
    struct synth_params synth;
    bool have_jph, have_split, have_seed;
    bool quiet;              /* no Philly summary on stderr */
    /* model profiles beyond configs/models.ini: --models FILE|DIR (repeatable)
     * and --profiles-dir DIR, read in that order (wl_zoo_load) */
    const char *model_files[WL_MAX_MODEL_FILES];
    int n_model_files;
    const char *profiles_dir;
    bool unknown_reference;  /* --unknown-model reference: unknown names run as alexnet */
};

void wl_opts_init(struct wl_opts *o);
/* The profiles: configs/models.ini (the reference ten, in set `variant`), then
 * o->model_files, then o->profiles_dir. NULL + err on a bad file. */
model_zoo_t *wl_zoo_load(const struct wl_opts *o, const char *variant, struct err *err);
/* The files wl_zoo_load() reads, ";"-separated, for the results store. */
const char *wl_models_describe(const struct wl_opts *o, char *buf, size_t n);
/* The first option given that only a trace can use (--trace-format, --vc, a
 * Philly switch), or NULL; for the synthetic workload that is an error. */
const char *wl_trace_only_option(const struct wl_opts *o);
/* The measured window [lo, hi) against the workload: every id in it must
 * exist (a trace's jobs; the synthetic --max-jobs cap), or the run would
 * silently measure fewer jobs than asked. hi <= lo: no window. 0 or -1+err. */
int wl_check_window(const struct wl_opts *o, const struct job_spec *specs, size_t n, long lo,
                    long hi, struct err *err);
struct cli_parser;
/* Handle the workload option the parser just returned (trace format, arrival,
 * the Philly and Pollux switches, rate, split, seed, max jobs, model files). 1 handled;
 * -1 bad value or not a workload option (message printed). */
int wl_opt_handle(struct wl_opts *o, const struct cli_parser *p);

/* Read o->trace_path in its format and build the jobs (caller frees *out).
 * A replay trace without --arrival is returned as written. `pst` (may be
 * NULL) receives the Philly reader's counts. -1 with err on bad input. */
int wl_load(struct wl_opts *o, const model_zoo_t *zoo, struct job_spec **out, size_t *n,
            struct philly_stats *pst, struct err *err);


/* An output file written atomically when it is (or will be) a regular file:
 * data goes to "<path>.tmp.<pid>" and out_file_commit() renames it into
 * place, so a failed run never leaves half a file. Anything else that exists
 * (/dev/null, a pipe, a terminal) is written directly: renaming over it
 * would replace the device with a regular file. */
struct out_file {
    FILE *f;
    const char *path;
    char tmp[4096];
    bool atomic;
};

/* 0, or -1 with errno (f NULL). */
int out_file_open(struct out_file *o, const char *path);
/* Close and move into place. 0, or -1 with errno (the temporary is removed). */
int out_file_commit(struct out_file *o);
/* Close and discard (a direct write stays as far as it got). */
void out_file_abort(struct out_file *o);

#endif
