/*
 * Workload loading for the CLI: one entry point from (file, format, arrival
 * options) to the job list, so `simulate --trace` and `trace convert` see
 * exactly the same jobs.
 */
#include "workload.h"

#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void wl_opts_init(struct wl_opts *o)
{
    memset(o, 0, sizeof *o);
    philly_opts_defaults(&o->philly);
    synth_params_defaults(&o->synth);
}

int wl_opt_handle(struct wl_opts *o, const struct cli_parser *p)
{
    const char *arg = p->arg;
    switch (p->opt->id) {
    case OPT_TRACE_FORMAT:
        o->fmt = trace_format_parse(arg);
        if (o->fmt == TRACE_FMT_UNKNOWN)
            return cli_bad(p, "--trace-format: '%s': expected synergy, philly, pollux or gavel",
                           arg), -1;
        o->fmt_given = true;
        return 1;
    case OPT_ARRIVAL: o->arrival = arg; return 1;
    case OPT_PHILLY_ARRIVAL: o->philly.philly_arrival = true; if (!o->philly_flag) o->philly_flag = "--philly-arrival"; return 1;
    case OPT_PER_ATTEMPT: o->philly.per_attempt = true; if (!o->philly_flag) o->philly_flag = "--per-attempt"; return 1;
    case OPT_MULTIGPU: o->philly.multigpu = true; if (!o->philly_flag) o->philly_flag = "--multigpu"; return 1;
    case OPT_STRICT: o->philly.strict = true; if (!o->philly_flag) o->philly_flag = "--strict"; return 1;
    case OPT_NO_DURATION_FILTER: o->philly.max_duration = 0; if (!o->philly_flag) o->philly_flag = "--no-duration-filter"; return 1;
    case OPT_VC: o->vc = arg; return 1;
    case OPT_JOBS_PER_HOUR:
        if (parse_double(arg, &o->synth.jobs_per_hour) < 0 || !(o->synth.jobs_per_hour > 0))
            return cli_bad(p, "--jobs-per-hour: '%s' must be a positive number", arg), -1;
        o->have_jph = true;
        return 1;
    case OPT_SPLIT:
        if (parse_split(arg, o->synth.split) < 0)
            return cli_bad(p, "--split: '%s' must be three percentages adding up to 100", arg), -1;
        o->have_split = true;
        return 1;
    case OPT_SEED:
        o->synth.seed = (uint64_t)p->lnum;
        o->have_seed = true;
        return 1;
    case OPT_MAX_JOBS: o->synth.max_jobs = p->lnum; return 1;
    case OPT_MODELS:
        if (o->n_model_files == WL_MAX_MODEL_FILES)
            return cli_bad(p, "--models: at most %d files (use --profiles-dir)",
                           WL_MAX_MODEL_FILES), -1;
        o->model_files[o->n_model_files++] = arg;
        return 1;
    case OPT_PROFILES_DIR: o->profiles_dir = arg; return 1;
    case OPT_UNKNOWN_MODEL:
        if (strcmp(arg, "error") == 0)
            o->unknown_reference = false;
        else if (strcmp(arg, "reference") == 0)
            o->unknown_reference = true;
        else
            return cli_bad(p, "--unknown-model: '%s': expected error or reference", arg), -1;
        return 1;
    default:
        cli_bad(p, "--%s is not handled (a bug: the option table gives it to this command)",
                p->opt->name);
        return -1;
    }
}

model_zoo_t *wl_zoo_load(const struct wl_opts *o, const char *variant, struct err *err)
{
    char base[4096];
    model_zoo_t *zoo = model_zoo_load(cli_data_path(base, sizeof base, "configs/models.ini"),
                                      variant, err);
    if (!zoo)
        return NULL;
    for (int i = 0; i < o->n_model_files; i++)
        if (model_zoo_add(zoo, o->model_files[i], err) < 0)
            goto error;
    if (o->profiles_dir && model_zoo_add(zoo, o->profiles_dir, err) < 0)
        goto error;
    return zoo;
error:
    model_zoo_destroy(zoo);
    return NULL;
}

const char *wl_models_describe(const struct wl_opts *o, char *buf, size_t n)
{
    size_t len = strlen(cli_data_path(buf, n, "configs/models.ini"));
    for (int i = 0; i <= o->n_model_files && len < n; i++) {
        const char *f = i < o->n_model_files ? o->model_files[i] : o->profiles_dir;
        if (f)
            len += (size_t)snprintf(buf + len, n - len, ";%s", f);
    }
    return buf;
}

const char *wl_trace_only_option(const struct wl_opts *o)
{
    if (o->fmt_given)
        return "--trace-format";
    if (o->vc)
        return "--vc";
    return o->philly_flag;
}

int wl_check_window(const struct wl_opts *o, const struct job_spec *specs, size_t n, long lo,
                    long hi, struct err *err)
{
    if (!o->trace_path) {
        bool dflt = hi <= lo;
        if (dflt) { /* the synthetic default window (scheduler/ledger.c) */
            lo = 4000;
            hi = 5000;
        }
        if (o->synth.max_jobs > 0 && hi > o->synth.max_jobs)
            return errprintf(err, "--measure %ld:%ld%s: --max-jobs %ld makes only ids 0..%ld", lo,
                             hi, dflt ? " (the synthetic default)" : "", o->synth.max_jobs,
                             o->synth.max_jobs - 1);
        return 0;
    }
    if (hi <= lo)
        return 0;
    size_t in = 0;
    int min_id = 0, max_id = 0;
    for (size_t i = 0; i < n; i++) {
        in += specs[i].id >= lo && specs[i].id < hi;
        if (i == 0 || specs[i].id < min_id)
            min_id = specs[i].id;
        if (i == 0 || specs[i].id > max_id)
            max_id = specs[i].id;
    }
    if (in < (size_t)(hi - lo))
        return errprintf(err, "--measure %ld:%ld: %s has %zu of these %ld job ids (its ids are "
                              "%d..%d)", lo, hi, o->trace_path, in, hi - lo, min_id, max_id);
    return 0;
}

/* The line of a replay trace's job number `index` (blank and # lines skipped). */
static int replay_line_of(const char *path, size_t index)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0, jobs = 0;
    int lineno = 0, found = 0;
    while (!found && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *t = str_trim(line);
        if (*t && *t != '#' && jobs++ == index)
            found = lineno;
    }
    free(line);
    fclose(f);
    return found;
}

/* Jobs larger than the cluster: an error naming the trace line when known. */
static int check_gpus(const struct wl_opts *o, const struct job_spec *jobs, size_t n, bool replay,
                      struct err *err)
{
    if (o->max_gpus <= 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].gpus <= o->max_gpus)
            continue;
        int line = replay ? replay_line_of(o->trace_path, i) : 0;
        char where[64] = "";
        if (line > 0)
            snprintf(where, sizeof where, ":%d", line);
        return errprintf(err, "%s%s: gpus: job %d needs %d GPUs but %s has %d", o->trace_path,
                         where, jobs[i].id, jobs[i].gpus,
                         o->cluster_path ? o->cluster_path : "the cluster", o->max_gpus);
    }
    return 0;
}

/* Options given that the trace's format does not read: an error, never ignored. */
static int check_format_options(const struct wl_opts *o, struct err *err)
{
    const char *name = trace_format_name(o->fmt);
    if (o->vc && o->fmt != TRACE_FMT_POLLUX)
        return errprintf(err, "--vc applies to pollux traces; %s is a %s trace", o->trace_path,
                         name);
    if (o->philly_flag && o->fmt != TRACE_FMT_PHILLY)
        return errprintf(err, "%s applies to philly traces; %s is a %s trace", o->philly_flag,
                         o->trace_path, name);
    return 0;
}

struct collect {
    struct raw_job *jobs;
    size_t n, cap;
};

static int collect_job(void *ctx, const struct raw_job *j)
{
    struct collect *c = ctx;
    xgrow((void **)&c->jobs, &c->cap, c->n + 1, sizeof *c->jobs);
    c->jobs[c->n++] = *j;
    return 0;
}

int wl_load(struct wl_opts *o, const model_zoo_t *zoo, struct job_spec **out, size_t *n,
            struct philly_stats *pst, struct err *err)
{
    if (o->fmt == TRACE_FMT_UNKNOWN && trace_format_detect(o->trace_path, &o->fmt, err) < 0)
        return -1;
    if (check_format_options(o, err) < 0)
        return -1;
    bool trace_arrivals = o->arrival && strcmp(o->arrival, "trace") == 0;
    arrival_t *arr = NULL;
    if (o->arrival && !trace_arrivals) {
        arr = arrival_create(o->arrival, o->synth.seed, err);
        if (!arr)
            return -1;
    }
    int rc = -1;
    struct import_params ip = {.arrivals = arr, .max_jobs = o->synth.max_jobs,
                               .time_zero = NAN};
    memcpy(ip.split, o->synth.split, sizeof ip.split);
    struct collect c = {0};
    FILE *f = NULL;

    if (o->fmt == TRACE_FMT_SYNERGY) {
        if (trace_read_replay_zoo(o->trace_path, o->unknown_reference ? NULL : zoo, out, n,
                                  err) < 0)
            goto out;
        if (check_gpus(o, *out, *n, true, err) < 0) {
            free(*out);
            *out = NULL;
            goto out;
        }
        if (arr || o->synth.max_jobs > 0) {
            /* re-time (and possibly cycle) a replay trace: keep each job's
             * model, iterations and GPUs, in arrival order */
            c.n = *n;
            c.jobs = xcalloc(*n, sizeof *c.jobs);
            for (size_t i = 0; i < *n; i++) {
                struct raw_job *r = &c.jobs[i];
                r->submit = (*out)[i].arrival;
                r->steps = (*out)[i].iterations;
                r->gpus = (*out)[i].gpus;
                r->model = 0;
                snprintf(r->model_name, sizeof r->model_name, "%s", (*out)[i].model);
            }
            free(*out);
            *out = NULL;
            ip.time_zero = 0;
            /* unknown models keep their names: trace_import_finish needs
             * them in the zoo, so map them like the reference (alexnet) */
            for (size_t i = 0; i < c.n; i++)
                if (!model_zoo_find(zoo, c.jobs[i].model_name))
                    snprintf(c.jobs[i].model_name, sizeof c.jobs[i].model_name, "alexnet");
            if (trace_import_finish(zoo, c.jobs, c.n, &ip, out, n, err) < 0)
                goto out;
        }
        rc = 0;
        goto out;
    }
    f = fopen(o->trace_path, "r");
    if (!f) {
        errprintf(err, "%s: cannot open trace: %s", o->trace_path, strerror(errno));
        goto out;
    }
    if (o->fmt == TRACE_FMT_PHILLY) {
        struct philly_stats st;
        if (trace_arrivals)
            o->philly.philly_arrival = true; /* --arrival trace = --philly-arrival */
        if (trace_philly_read(f, o->trace_path, &o->philly, collect_job, &c, &st, err) < 0)
            goto out;
        if (pst)
            *pst = st;
        if (!o->quiet)
            philly_stats_print(stderr, o->trace_path, &st);
        if (c.n == 0) {
            errprintf(err, "%s: no job passed the filters", o->trace_path);
            goto out;
        }
        ip.time_zero = st.min_submit;
        if (!o->philly.philly_arrival && !o->arrival) {
            /* the reference's Philly mode: Poisson at jobs-per-hour, jobs reused cyclically */
            char spec[64];
            snprintf(spec, sizeof spec, "poisson:%.17g", o->synth.jobs_per_hour);
            arr = arrival_create(spec, o->synth.seed, err);
            if (!arr)
                goto out;
            ip.arrivals = arr;
        }
    } else if (o->fmt == TRACE_FMT_POLLUX) {
        if (trace_read_pollux(f, o->trace_path, o->vc, &c.jobs, &c.n, err) < 0)
            goto out;
    } else {
        if (trace_read_gavel(f, o->trace_path, zoo, &c.jobs, &c.n, err) < 0)
            goto out;
    }
    if (trace_import_finish(zoo, c.jobs, c.n, &ip, out, n, err) < 0)
        goto out;
    if (check_gpus(o, *out, *n, false, err) < 0) {
        free(*out);
        *out = NULL;
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    free(c.jobs);
    arrival_destroy(arr);
    return rc;
}

int out_file_open(struct out_file *o, const char *path)
{
    struct stat st;
    memset(o, 0, sizeof *o);
    o->path = path;
    o->atomic = stat(path, &st) < 0 || S_ISREG(st.st_mode);
    if (o->atomic) {
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
        o->f = fopen(o->tmp, "w");
    } else {
        o->f = fopen(path, "w");
    }
    return o->f ? 0 : -1;
}

int out_file_commit(struct out_file *o)
{
    int rc = fclose(o->f) == 0 ? 0 : -1;
    o->f = NULL;
    if (o->atomic) {
        if (rc == 0 && rename(o->tmp, o->path) < 0)
            rc = -1;
        if (rc < 0) {
            int e = errno;
            unlink(o->tmp);
            errno = e;
        }
    }
    return rc;
}

void out_file_abort(struct out_file *o)
{
    if (!o->f)
        return;
    fclose(o->f);
    o->f = NULL;
    if (o->atomic)
        unlink(o->tmp);
}
