/*
 * The workload loader (workload.h): the format from the registry, the
 * options checked against what that format reads, the reader, then the
 * shared import (arrivals, models, iterations) and the cluster-size check.
 */
#include "workload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void wl_opts_init(struct wl_opts *o)
{
    memset(o, 0, sizeof *o);
    philly_opts_defaults(&o->philly);
    synth_params_defaults(&o->synth);
}

const char *wl_trace_only_option(const struct wl_opts *o)
{
    if (o->fmt_given)
        return "--trace-format";
    if (o->vc)
        return "--vc";
    if (o->tenant_from_vc)
        return "--tenant-from";
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

int wl_check_gpus(const struct wl_opts *o, const struct job_spec *jobs, size_t n,
                  int (*line_of)(const char *path, size_t index), struct err *err)
{
    if (o->max_gpus <= 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].gpus <= o->max_gpus)
            continue;
        int line = line_of ? line_of(o->trace_path, i) : 0;
        char where[64] = "";
        if (line > 0)
            snprintf(where, sizeof where, ":%d", line);
        return errprintf(err, "%s%s: gpus: job %d needs %d GPUs but %s has %d", o->trace_path,
                         where, jobs[i].id, jobs[i].gpus,
                         o->cluster_path ? o->cluster_path : "the cluster", o->max_gpus);
    }
    return 0;
}

int wl_check_tenants(const struct wl_opts *o, const struct job_spec *jobs, size_t n,
                     const struct tenants_config *tc, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].tenant[0] != '\0' && tenants_find(tc, jobs[i].tenant) >= 0)
            continue;
        int line = o->fmt && o->fmt->line_of && !o->arrival && o->synth.max_jobs <= 0
                       ? o->fmt->line_of(o->trace_path, i)
                       : 0;
        char where[64] = "";
        if (line > 0)
            snprintf(where, sizeof where, ":%d", line);
        if (jobs[i].tenant[0] == '\0')
            return errprintf(err, "%s%s: tenant: job %d has none (the tenants file %s needs one "
                                  "for every job: a tenant column, or --tenant-from vc)",
                             o->trace_path, where, jobs[i].id, tc->path);
        return errprintf(err, "%s%s: tenant: job %d's tenant '%s' is not in %s", o->trace_path,
                         where, jobs[i].id, jobs[i].tenant, tc->path);
    }
    return 0;
}

/* Options given that the trace's format does not read: an error, never ignored. */
static int check_format_options(const struct wl_opts *o, struct err *err)
{
    const char *name = o->fmt->name;
    if (o->vc && !(o->fmt->options & TRACE_OPT_VC)) {
        char list[128] = "";
        size_t len = 0;
        for (size_t i = 0; trace_formats[i]; i++)
            if (trace_formats[i]->options & TRACE_OPT_VC)
                len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0,
                                        "%s%s", len ? "/" : "", trace_formats[i]->name);
        return errprintf(err, "--vc applies to %s traces; %s is a %s trace", list,
                         o->trace_path, name);
    }
    if (o->tenant_from_vc && !(o->fmt->options & TRACE_OPT_TENANT_VC))
        return errprintf(err, "--tenant-from vc applies to pollux, philly and gavel traces; %s "
                              "is a %s trace (a replay trace's tenant column is read as it is)",
                         o->trace_path, name);
    if (o->philly_flag && !(o->fmt->options & TRACE_OPT_PHILLY))
        return errprintf(err, "%s applies to philly traces; %s is a %s trace", o->philly_flag,
                         o->trace_path, name);
    return 0;
}

/* --jobs-per-hour and --seed against what the trace does with them: a rate
 * re-times a trace that keeps its own times (philly draws its own Poisson
 * arrivals at that rate); a seed with nothing drawn at random is a mistake. */
static int check_rate_seed(struct wl_opts *o, struct err *err)
{
    bool philly_rate = (o->fmt->options & TRACE_OPT_PHILLY) && !o->philly.philly_arrival &&
                       !o->arrival;
    if (o->have_jph && !philly_rate) {
        if (o->arrival)
            return errprintf(err, "give --jobs-per-hour or --arrival, not both");
        if (o->philly.philly_arrival)
            return errprintf(err, "--jobs-per-hour re-times the jobs and --philly-arrival keeps "
                                  "the trace's times: give one");
        snprintf(o->arrival_buf, sizeof o->arrival_buf, "poisson:%.17g",
                 o->synth.jobs_per_hour);
        o->arrival = o->arrival_buf;
    }
    bool drawn = philly_rate || (o->arrival && strcmp(o->arrival, "trace") != 0);
    if (o->have_seed && !drawn)
        return errprintf(err, "--seed: %s is replayed with its own times, nothing is drawn at "
                              "random (re-time it with --jobs-per-hour R or --arrival SPEC)",
                         o->trace_path);
    return 0;
}

const struct trace_format_ops *trace_format_find(const char *name)
{
    for (size_t i = 0; trace_formats[i]; i++)
        if (str_ieq(name, trace_formats[i]->name))
            return trace_formats[i];
    return NULL;
}

const char *trace_format_list(char *buf, size_t n, const char *sep)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; trace_formats[i] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? sep : "", trace_formats[i]->name);
    return buf;
}

int trace_format_detect(const char *path, const struct trace_format_ops **out, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errprintf(err, "%s: cannot open trace: %s", path, strerror(errno));
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t i = 0;
    if (n >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    int best = 0;
    *out = trace_formats[0];
    for (size_t k = 0; trace_formats[k]; k++) {
        int score = trace_formats[k]->detect(buf + i, n - i);
        if (score > best) {
            best = score;
            *out = trace_formats[k];
        }
    }
    return 0;
}

int wl_load(struct wl_opts *o, const model_zoo_t *zoo, struct job_spec **out, size_t *n,
            struct err *err)
{
    *out = NULL;
    *n = 0;
    if (!o->fmt && trace_format_detect(o->trace_path, &o->fmt, err) < 0)
        return -1;
    if (check_format_options(o, err) < 0 || check_rate_seed(o, err) < 0)
        return -1;
    bool trace_arrivals = o->arrival && strcmp(o->arrival, "trace") == 0;
    arrival_t *arr = NULL;
    if (o->arrival && !trace_arrivals) {
        arr = arrival_create(o->arrival, o->synth.seed, err);
        if (!arr)
            return -1;
    }
    int rc = -1;
    size_t assigned = 0;
    struct import_params ip = {.arrivals = arr, .max_jobs = o->synth.max_jobs,
                               .time_zero = NAN, .assigned = &assigned,
                               .tenant_from_vc = o->tenant_from_vc};
    memcpy(ip.split, o->synth.split, sizeof ip.split);
    struct trace_read rd = {.o = o, .zoo = zoo, .ip = &ip};
    if (!(o->fmt->flags & TRACE_READS_PATH) && !(rd.f = fopen(o->trace_path, "r"))) {
        errprintf(err, "%s: cannot open trace: %s", o->trace_path, strerror(errno));
        goto out;
    }
    if (o->fmt->read(&rd, err) < 0)
        goto out;
    if (rd.done) {
        *out = rd.specs;
        *n = rd.n_specs;
        rd.specs = NULL;
    } else if (trace_import_finish(zoo, rd.jobs, rd.n, &ip, out, n, err) < 0) {
        goto out;
    }
    if (o->have_split && assigned == 0) {
        errprintf(err, "--split: every job of %s names its model; the split applies to the "
                       "synthetic workload and to traces without model names", o->trace_path);
        free(*out);
        *out = NULL;
        *n = 0;
        goto out;
    }
    if (wl_check_gpus(o, *out, *n, rd.done ? o->fmt->line_of : NULL, err) < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        goto out;
    }
    rc = 0;
out:
    if (rd.f)
        fclose(rd.f);
    free(rd.jobs);
    free(rd.specs);
    arrival_destroy(rd.own_arrival);
    arrival_destroy(arr);
    return rc;
}

/* A format without a validator of its own: read it as wl_load does, with the
 * trace's own arrivals, and report. */
static int validate_by_loading(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus,
                               FILE *out, struct err *err)
{
    struct job_spec *jobs;
    size_t n;
    o->philly_arrival_given = true;
    if (wl_load(o, zoo, &jobs, &n, err) < 0)
        return -1;
    size_t big = 0;
    for (size_t i = 0; i < n; i++)
        big += jobs[i].gpus > cluster_gpus;
    if (big)
        fprintf(out, "%s: note: %zu jobs ask for more than the cluster's %d GPUs\n",
                o->trace_path, big, cluster_gpus);
    fprintf(out, "%s: ok, %zu jobs (%s)\n", o->trace_path, n, o->fmt->name);
    free(jobs);
    return 0;
}

int wl_validate(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus, FILE *out,
                FILE *diag, struct err *err)
{
    if (!o->fmt && trace_format_detect(o->trace_path, &o->fmt, err) < 0)
        return -1;
    if (o->fmt->validate)
        return o->fmt->validate(o, zoo, cluster_gpus, out, diag, err);
    return validate_by_loading(o, zoo, cluster_gpus, out, err);
}
