/*
 * The CLI's workload options, shared by `synergy simulate` and `synergy trace`:
 * which trace and format, how arrivals are drawn, and the Philly reader's
 * switches. wl_load() turns them into the job list the simulator replays.
 */
#ifndef SYNERGY_WORKLOAD_H
#define SYNERGY_WORKLOAD_H

#include <getopt.h>
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

/* getopt_long codes of the shared options (>= 300, no short forms). */
enum {
    WL_OPT_FORMAT = 300, WL_OPT_ARRIVAL, WL_OPT_PHILLY_ARRIVAL, WL_OPT_PER_ATTEMPT,
    WL_OPT_MULTIGPU, WL_OPT_STRICT, WL_OPT_NO_DURATION_FILTER, WL_OPT_VC,
    WL_OPT_MODELS, WL_OPT_PROFILES_DIR, WL_OPT_UNKNOWN_MODEL,
};

#define WL_LONGOPTS                                                                                \
    {"trace-format", required_argument, 0, WL_OPT_FORMAT},                                         \
        {"arrival", required_argument, 0, WL_OPT_ARRIVAL},                                         \
        {"philly-arrival", no_argument, 0, WL_OPT_PHILLY_ARRIVAL},                                 \
        {"per-attempt", no_argument, 0, WL_OPT_PER_ATTEMPT},                                       \
        {"multigpu", no_argument, 0, WL_OPT_MULTIGPU},                                             \
        {"strict", no_argument, 0, WL_OPT_STRICT},                                                 \
        {"no-duration-filter", no_argument, 0, WL_OPT_NO_DURATION_FILTER},                         \
        {"vc", required_argument, 0, WL_OPT_VC},                                                   \
        {"models", required_argument, 0, WL_OPT_MODELS},                                           \
        {"profiles-dir", required_argument, 0, WL_OPT_PROFILES_DIR},                               \
        {"unknown-model", required_argument, 0, WL_OPT_UNKNOWN_MODEL}

#define WL_USAGE                                                                                   \
    "  --trace-format F      synergy | philly | pollux | gavel (default: detected)\n"              \
    "  --arrival SPEC        poisson:R | fixed-rate:R | schedule:R,FACTOR,PERIOD_S |\n"            \
    "                        deltas:FILE (<delay_ms>,<tag> lines) | trace; R in jobs/h\n"          \
    "  --philly-arrival      philly: keep the trace's submit times (default: Poisson at\n"         \
    "                        --jobs-per-hour, reusing the jobs cyclically)\n"                      \
    "  --per-attempt         philly: one job per attempt (default: sum the attempts)\n"            \
    "  --multigpu            philly: keep GPU counts (default: every job gets 1 GPU)\n"            \
    "  --strict              philly: the first malformed record is an error\n"                    \
    "  --no-duration-filter  philly: keep every duration (default: 10^1.5..10^4 min)\n"            \
    "  --vc ID               pollux: only this virtual cluster (e.g. ee9e8c)\n"              \
    "  --models FILE|DIR     more model profiles (models.ini format; a directory: its *.ini);\n" \
    "                        repeatable, later files win; configs/models.ini is always read\n"  \
    "  --profiles-dir DIR    a profile store (as written by `synergy profile`), read last\n"   \
    "  --unknown-model M     error (default): a trace job naming a model without a profile is\n"\
    "                        a file:line error | reference: it runs as alexnet, like the reference\n"

void wl_opts_init(struct wl_opts *o);
/* The profiles: configs/models.ini (the reference ten, in set `variant`), then
 * o->model_files, then o->profiles_dir. NULL + err on a bad file. */
model_zoo_t *wl_zoo_load(const struct wl_opts *o, const char *variant, struct err *err);
/* The files wl_zoo_load() reads, ";"-separated, for the results store. */
const char *wl_models_describe(const struct wl_opts *o, char *buf, size_t n);
/* Handle one shared option. 1 handled, 0 not a shared option, -1 bad value
 * (message printed, prefixed with `cmd`). */
int wl_opt_handle(struct wl_opts *o, int c, const char *arg, const char *cmd);

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
