/*
 * Workload loading for the CLI: one entry point from (file, format, arrival
 * options) to the job list, so `simulate --trace` and `trace convert` see
 * exactly the same jobs.
 */
#include "workload.h"

#include "cli.h"

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

int wl_opt_handle(struct wl_opts *o, int c, const char *arg, const char *cmd)
{
    switch (c) {
    case WL_OPT_FORMAT:
        o->fmt = trace_format_parse(arg);
        if (o->fmt == TRACE_FMT_UNKNOWN) {
            fprintf(stderr, "synergy %s: --trace-format: '%s': expected synergy, philly, "
                            "pollux or gavel\n", cmd, arg);
            return -1;
        }
        return 1;
    case WL_OPT_ARRIVAL:
        o->arrival = arg;
        return 1;
    case WL_OPT_PHILLY_ARRIVAL:
        o->philly.philly_arrival = true;
        return 1;
    case WL_OPT_PER_ATTEMPT:
        o->philly.per_attempt = true;
        return 1;
    case WL_OPT_MULTIGPU:
        o->philly.multigpu = true;
        return 1;
    case WL_OPT_STRICT:
        o->philly.strict = true;
        return 1;
    case WL_OPT_VC:
        o->vc = arg;
        return 1;
    case WL_OPT_NO_DURATION_FILTER:
        o->philly.max_duration = 0;
        return 1;
    case WL_OPT_MODELS:
        if (o->n_model_files == WL_MAX_MODEL_FILES) {
            fprintf(stderr, "synergy %s: --models: at most %d files (use --profiles-dir)\n", cmd,
                    WL_MAX_MODEL_FILES);
            return -1;
        }
        o->model_files[o->n_model_files++] = arg;
        return 1;
    case WL_OPT_PROFILES_DIR:
        o->profiles_dir = arg;
        return 1;
    case WL_OPT_UNKNOWN_MODEL:
        if (strcmp(arg, "error") == 0)
            o->unknown_reference = false;
        else if (strcmp(arg, "reference") == 0)
            o->unknown_reference = true;
        else {
            fprintf(stderr, "synergy %s: --unknown-model: '%s': expected error or reference\n",
                    cmd, arg);
            return -1;
        }
        return 1;
    }
    return 0;
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
