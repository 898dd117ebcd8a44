/*
 * The trace formats (workload.h's registry): the Synergy replay format, the
 * Philly cluster_job_log, the Pollux CSV and the Gavel TSV. Each is an ops
 * struct over its reader; a new format is one more struct here (or in a
 * file of its own) and one more line in trace_formats[].
 */
#include "workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- synergy */

static int synergy_detect(const char *head, size_t n)
{
    (void)head;
    (void)n;
    return 1; /* the catch-all */
}

/* The line of a replay trace's job number `index` (blank and # lines skipped). */
static int replay_line_of(const char *path, size_t index)
{
    struct line_reader lr;
    if (line_reader_open(&lr, path, NULL, true, NULL) < 0)
        return 0;
    char *t;
    size_t jobs = 0;
    int found = 0;
    while (!found && line_next(&lr, &t, NULL) > 0)
        if (jobs++ == index)
            found = lr.lineno;
    line_reader_close(&lr);
    return found;
}

static int synergy_read(struct trace_read *rd, struct err *err)
{
    const struct wl_opts *o = rd->o;
    if (trace_read_replay_zoo(o->trace_path, o->unknown_reference ? NULL : rd->zoo, &rd->specs,
                              &rd->n_specs, err) < 0)
        return -1;
    rd->done = true;
    if (!rd->ip->arrivals && o->synth.max_jobs <= 0)
        return 0; /* as written */
    /* re-time (and possibly cycle) a replay trace: keep each job's model,
     * iterations and GPUs, in arrival order; too-large jobs are reported
     * first, with the lines they are on */
    if (wl_check_gpus(o, rd->specs, rd->n_specs, replay_line_of, err) < 0)
        return -1;
    rd->n = rd->cap = rd->n_specs;
    rd->jobs = xcalloc(rd->n, sizeof *rd->jobs);
    for (size_t i = 0; i < rd->n; i++) {
        struct raw_job *r = &rd->jobs[i];
        r->submit = rd->specs[i].arrival;
        r->steps = rd->specs[i].iterations;
        r->gpus = rd->specs[i].gpus;
        r->model = 0;
        memcpy(r->vc, rd->specs[i].tenant, sizeof r->vc);
        /* unknown models keep their names: trace_import_finish needs them in
         * the zoo, so map them like the reference (alexnet) */
        snprintf(r->model_name, sizeof r->model_name, "%s",
                 model_zoo_find(rd->zoo, rd->specs[i].model) ? rd->specs[i].model : "alexnet");
    }
    free(rd->specs);
    rd->specs = NULL;
    rd->n_specs = 0;
    rd->done = false;
    rd->ip->time_zero = 0;
    rd->ip->tenant_from_vc = true; /* the tenant column */
    return 0;
}

/* Every line parsed, then the models and GPU counts checked line by line. */
static int synergy_validate(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus,
                            FILE *out, FILE *diag, struct err *err)
{
    const char *path = o->trace_path;
    struct job_spec *jobs;
    size_t n;
    if (trace_read_replay(path, &jobs, &n, err) < 0)
        return -1;
    free(jobs);
    /* second pass for line numbers of semantic problems */
    struct line_reader lr;
    if (line_reader_open(&lr, path, NULL, true, err) < 0)
        return -1;
    char *t;
    int problems = 0;
    while (line_next(&lr, &t, NULL) > 0) {
        int lineno = lr.lineno;
        struct job_spec j;
        if (trace_parse_replay_line(t, &j, err, path, lineno) < 0)
            continue;
        if (!model_zoo_find(zoo, j.model) && problems++ < 20)
            fprintf(diag, "%s:%d: model: '%s' is not a profiled model (the reference runs it "
                          "as alexnet)\n", path, lineno, j.model);
        if (j.gpus > cluster_gpus && problems++ < 20)
            fprintf(diag, "%s:%d: gpus: %d is more than the cluster's %d\n", path, lineno,
                    j.gpus, cluster_gpus);
    }
    line_reader_close(&lr);
    if (problems) {
        fprintf(diag, "%s: %d problem%s\n", path, problems, problems == 1 ? "" : "s");
        return 1;
    }
    fprintf(out, "%s: ok, %zu jobs\n", path, n);
    return 0;
}

static const struct trace_format_ops synergy_format = {
    .name = "synergy",
    .summary = "replay format: id,model,arrival_s,iterations,gpus (what --record writes)",
    .flags = TRACE_READS_PATH,
    .detect = synergy_detect,
    .read = synergy_read,
    .validate = synergy_validate,
    .line_of = replay_line_of,
};

/* ----------------------------------------------------------------- philly */

static int philly_detect(const char *head, size_t n)
{
    return n > 0 && head[0] == '[' ? 2 : 0;
}

static int collect_job(void *ctx, const struct raw_job *j)
{
    struct trace_read *rd = ctx;
    xgrow((void **)&rd->jobs, &rd->cap, rd->n + 1, sizeof *rd->jobs);
    rd->jobs[rd->n++] = *j;
    return 0;
}

static int philly_read(struct trace_read *rd, struct err *err)
{
    struct wl_opts *o = rd->o;
    struct philly_stats st;
    if (o->arrival && strcmp(o->arrival, "trace") == 0)
        o->philly.philly_arrival = true; /* --arrival trace = --philly-arrival */
    if (trace_philly_read(rd->f, o->trace_path, &o->philly, collect_job, rd, &st, err) < 0)
        return -1;
    if (!o->quiet)
        philly_stats_print(stderr, o->trace_path, &st);
    if (rd->n == 0)
        return errprintf(err, "%s: no job passed the filters", o->trace_path);
    rd->ip->time_zero = st.min_submit;
    if (!o->philly.philly_arrival && !o->arrival) {
        /* the reference's Philly mode: Poisson at jobs-per-hour, jobs reused cyclically */
        char spec[64];
        snprintf(spec, sizeof spec, "poisson:%.17g", o->synth.jobs_per_hour);
        rd->own_arrival = arrival_create(spec, o->synth.seed, err);
        if (!rd->own_arrival)
            return -1;
        rd->ip->arrivals = rd->own_arrival;
    }
    return 0;
}

/* Streamed, nothing kept (this is also the reader's benchmark): the counts. */
static int philly_validate(struct wl_opts *o, const model_zoo_t *zoo, int cluster_gpus,
                           FILE *out, FILE *diag, struct err *err)
{
    (void)zoo;
    (void)cluster_gpus;
    (void)diag;
    FILE *f = fopen(o->trace_path, "r");
    if (!f)
        return errprintf(err, "%s: cannot open trace: %s", o->trace_path, strerror(errno));
    struct philly_stats st;
    int r = trace_philly_read(f, o->trace_path, &o->philly, NULL, NULL, &st, err);
    fclose(f);
    if (r < 0)
        return -1;
    philly_stats_print(out, o->trace_path, &st);
    return st.malformed + st.attempt_bad > 0 ? 1 : 0;
}

static const struct trace_format_ops philly_format = {
    .name = "philly",
    .summary = "Microsoft Philly cluster_job_log (JSON array; --multigpu, --philly-arrival, ...)",
    .options = TRACE_OPT_PHILLY | TRACE_OPT_TENANT_VC,
    .detect = philly_detect,
    .read = philly_read,
    .validate = philly_validate,
};

/* ----------------------------------------------------------------- pollux */

static int pollux_detect(const char *head, size_t n)
{
    static const char hdr[] = "timestamp,duration,num_gpus";
    return n >= sizeof hdr - 1 && strncmp(head, hdr, sizeof hdr - 1) == 0 ? 2 : 0;
}

static int pollux_read(struct trace_read *rd, struct err *err)
{
    return trace_read_pollux(rd->f, rd->o->trace_path, rd->o->vc, &rd->jobs, &rd->n, err);
}

static const struct trace_format_ops pollux_format = {
    .name = "pollux",
    .summary = "Pollux philly.csv (timestamp,duration,num_gpus,gpu_time,cluster; --vc)",
    .options = TRACE_OPT_VC | TRACE_OPT_TENANT_VC,
    .detect = pollux_detect,
    .read = pollux_read,
};

/* ------------------------------------------------------------------ gavel */

static int gavel_detect(const char *head, size_t n)
{
    const char *nl = memchr(head, '\n', n);
    size_t ll = nl ? (size_t)(nl - head) : strlen(head);
    return memchr(head, '\t', ll) ? 2 : 0;
}

static int gavel_read(struct trace_read *rd, struct err *err)
{
    return trace_read_gavel(rd->f, rd->o->trace_path, rd->zoo, &rd->jobs, &rd->n, err);
}

static const struct trace_format_ops gavel_format = {
    .name = "gavel",
    .summary = "Gavel 2019 seven-field TSV",
    .options = TRACE_OPT_TENANT_VC,
    .detect = gavel_detect,
    .read = gavel_read,
};

const struct trace_format_ops *const trace_formats[] = {
    &synergy_format, &philly_format, &pollux_format, &gavel_format, NULL,
};
