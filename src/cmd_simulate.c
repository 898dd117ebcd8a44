/*
 * `synergy simulate`: run the simulator over a replay trace or the synthetic
 * workload, for one or more policies x modes, and print a table (or JSON, one
 * object per run and line). The table compares every run with the same
 * policy's GPU-proportional (fair) run, the way `report` does.
 *
 * Output files (--record, --jobs-csv) are written to temporaries and renamed
 * into place at the end, so an interrupted or failed run leaves neither a
 * temporary nor a truncated file; Ctrl-C says so and exits 130.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plot.h"
#include "policies.h"
#include "results.h"
#include "sim.h"
#include "sweep.h"
#include "workload_cli.h"

#define MAX_NAMES 16

struct sim_opts {
    const char *cluster_path;
    bool cluster_flag; /* --cluster given (else the data directory's default) */
    bool policy_flag, mode_flag;
    const char *trace_path;
    const char *record_path;
    const char *jobs_csv_path;
    const char *plan_log_path;
    const char *profiles;
    const char *tenants_path; /* --tenants FILE | proportional */
    const char *db_path;  /* --db: record every run */
    const char *plot_dir; /* --plot: draw the runs (records into --db, default results.db) */
    bool synthetic, json, is_static, stop_on_gap, check, jobs_csv_reasons;
    long measure_lo, measure_hi;
    char policies[256], modes[256];
    struct sched_overrides ov; /* --placement, --round-duration, the OPT flags */
    struct wl_opts wl;
};

/* Everything the runs share, set up once. */
struct sim_env {
    struct sim_opts o;
    struct synergy_config conf;
    const struct sched_policy_ops *pols[MAX_NAMES];
    const struct sched_mode_ops *mods[MAX_NAMES];
    int np, nm;
    model_zoo_t *zoo;
    char models_desc[4096];
    struct job_spec *specs;
    size_t n_specs;
    struct tenants_config *tenants; /* --tenants */
    store_t *st;
    int64_t batch;
    struct out_file jobs_csv;
    bool tty; /* progress on stderr */
};

/* ---- Ctrl-C: remove the temporaries, say so, die of the signal ---- */

static char tmp_paths[2][4096];
static char interrupt_msg[4096]; /* written before the handler is installed */

static void on_interrupt(int sig)
{
    for (int i = 0; i < 2; i++)
        if (tmp_paths[i][0])
            unlink(tmp_paths[i]);
    ssize_t w = write(STDERR_FILENO, interrupt_msg, strlen(interrupt_msg));
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* What an interrupted run leaves: no output file, but a results database
 * keeps the runs it finished and shows the one cut short as incomplete. */
static void interrupt_say(const struct sim_opts *o)
{
    if (o->db_path)
        snprintf(interrupt_msg, sizeof interrupt_msg,
                 "\nsynergy simulate: interrupted; %sthe finished runs are in %s and the "
                 "interrupted one is kept there as incomplete\n",
                 o->record_path || o->jobs_csv_path || o->plan_log_path
                     ? "--record, --jobs-csv and --plan-log were not written; " : "",
                 o->db_path);
    else
        snprintf(interrupt_msg, sizeof interrupt_msg,
                 "\nsynergy simulate: interrupted; no output file was written\n");
}

static void watch_tmp(int slot, const struct out_file *f)
{
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    if (f && f->atomic)
        snprintf(tmp_paths[slot], sizeof tmp_paths[slot], "%s", f->tmp);
    else
        tmp_paths[slot][0] = '\0';
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- options ---- */

/* -1 to go on, else the exit code. */
static int simulate_parse(struct sim_opts *o, int argc, char **argv)
{
    struct cli_parser p;
    int c;
    cli_parser_init(&p, CLI_SIMULATE, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_CLUSTER: o->cluster_path = p.arg; o->cluster_flag = true; break;
        case OPT_PROFILES: o->profiles = p.arg; break;
        case OPT_TRACE: o->trace_path = p.arg; break;
        case OPT_JOBS_CSV: o->jobs_csv_path = p.arg; break;
        case OPT_JOBS_CSV_REASONS: o->jobs_csv_reasons = true; break;
        case OPT_SYNTHETIC: o->synthetic = true; break;
        case OPT_POLICY:
            snprintf(o->policies, sizeof o->policies, "%s", p.arg);
            o->policy_flag = true;
            break;
        case OPT_MODE:
            snprintf(o->modes, sizeof o->modes, "%s", p.arg);
            o->mode_flag = true;
            break;
        case OPT_PLACEMENT: o->ov.placement = p.arg; break;
        case OPT_HETERO: o->ov.hetero = p.arg; break;
        case OPT_STATIC: o->is_static = true; break;
        case OPT_STOP_ON_GAP: o->stop_on_gap = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_CHECK: o->check = true; break;
        case OPT_OPT_COMPAT: o->ov.opt_compat = true; break;
        case OPT_OPT_TIME_LIMIT: o->ov.opt_time_limit_s = p.num; break;
        case OPT_RECORD: o->record_path = p.arg; break;
        case OPT_DB: o->db_path = p.arg; break;
        case OPT_PLOT: o->plot_dir = p.arg; break;
        case OPT_PLAN_LOG: o->plan_log_path = p.arg; break;
        case OPT_TENANTS: o->tenants_path = p.arg; break;
        case OPT_VERBOSE: log_max_level = LOG_DEBUG; break;
        case OPT_ROUND_DURATION: o->ov.round_duration = p.num; break;
        case OPT_RESTART_OVERHEAD: {
            double d;
            if (strcmp(p.arg, "profile") == 0) {
                o->ov.restart_overhead_profile = true;
            } else if (parse_double(p.arg, &d) < 0 || d < 0 || d > 1e9) {
                return cli_bad(&p, "--restart-overhead: '%s' must be seconds >= 0 or 'profile'",
                               p.arg);
            } else {
                o->ov.restart_overhead_s = d;
                o->ov.restart_overhead_profile = false;
            }
            break;
        }
        case OPT_MEASURE:
            if (cli_parse_measure(p.arg, &o->measure_lo, &o->measure_hi) < 0)
                return cli_bad(&p, "--measure: '%s' must be LO:HI with 0 <= LO < HI", p.arg);
            break;
        default:
            if (wl_opt_handle(&o->wl, &p) < 0)
                return EXIT_BAD_INPUT;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    if (o->is_static && !o->trace_path)
        return cli_bad(&p, "--static needs a trace (a static synthetic workload is empty: the "
                           "reference ignores arrival=0 for synthetic jobs)");
    if (o->trace_path && o->synthetic)
        return cli_bad(&p, "give --trace or --synthetic, not both");
    if (!o->trace_path && wl_trace_only_option(&o->wl))
        return cli_bad(&p, "%s applies to a trace (--trace); the synthetic workload has no "
                           "such thing", wl_trace_only_option(&o->wl));
    if (o->trace_path && o->wl.tenant_mix)
        return cli_bad(&p, "--tenant-mix applies to the synthetic workload (a trace's tenants "
                           "come from --tenant-from vc or its tenant column)");
    if (o->wl.tenant_mix) {
        struct err e;
        if (tenant_mix_parse(o->wl.tenant_mix, &o->wl.synth.tenants, &e) < 0)
            return cli_bad(&p, "%s", e.msg);
    }
    if (o->plot_dir && !o->db_path)
        o->db_path = "results.db";
    return -1;
}

/* --tenants: a file, or quotas proportional to the workload's GPU-time (a
 * trace's; the synthetic workload's --tenant-mix). 0, or -1 with err. */
static int simulate_tenants(struct sim_env *e, struct err *err)
{
    const struct sim_opts *o = &e->o;
    if (!o->tenants_path)
        return 0;
    for (int i = 0; i < e->nm; i++)
        if (strcmp(sched_mode_name(e->mods[i]), "opt") == 0)
            return errprintf(err, "--tenants: mode opt: tenants are not supported (use fair, "
                                  "greedy or tune)");
    int gpus = cluster_config_gpus(&e->conf.cluster);
    if (strcmp(o->tenants_path, "proportional") != 0)
        e->tenants = tenants_config_load(o->tenants_path, err);
    else if (o->trace_path)
        e->tenants = tenants_config_proportional(e->specs, e->n_specs, e->zoo, gpus, err);
    else if (o->wl.synth.tenants.n > 0) {
        const struct tenant_mix *mx = &o->wl.synth.tenants;
        double w[TENANT_MIX_MAX];
        for (int i = 0; i < mx->n; i++)
            w[i] = mx->pct[i];
        e->tenants = tenants_config_shares(mx->names, w, mx->n, gpus);
    } else
        return errprintf(err, "--tenants proportional needs a trace, or --tenant-mix for the "
                              "synthetic workload");
    if (!e->tenants)
        return -1;
    if (o->trace_path)
        return wl_check_tenants(&o->wl, e->specs, e->n_specs, e->tenants, err);
    for (int i = 0; i < o->wl.synth.tenants.n; i++)
        if (tenants_find(e->tenants, o->wl.synth.tenants.names[i]) < 0)
            return errprintf(err, "--tenant-mix: tenant %s is not in %s",
                             o->wl.synth.tenants.names[i], e->tenants->path);
    if (o->wl.synth.tenants.n == 0)
        return errprintf(err, "--tenants: the synthetic workload's jobs have no tenant (give "
                              "--tenant-mix)");
    return 0;
}

/* Split "a,b" into names; returns count (at most max), 0 for an empty name. */
static int split_names(char *s, char **out, int max)
{
    int n = str_split(s, ',', out, max);
    return n < 0 ? 0 : n;
}

/* The config file, the flags over it, and every policy x mode checked. */
static int simulate_config(struct sim_env *e, struct err *err)
{
    struct sim_opts *o = &e->o;
    synergy_config_defaults(&e->conf);
    if (!o->cluster_flag && cli_data_check(o->cluster_path, "--cluster", err) < 0)
        return -1;
    if (synergy_config_load(o->cluster_path, &e->conf, err) < 0)
        return -1;
    if (!o->wl.have_jph)
        o->wl.synth.jobs_per_hour = e->conf.jobs_per_hour;
    if (!o->wl.have_split)
        memcpy(o->wl.synth.split, e->conf.split, sizeof e->conf.split);
    if (!o->wl.have_seed)
        o->wl.synth.seed = (uint64_t)e->conf.seed;
    if (!o->profiles)
        o->profiles = e->conf.profiles;
    char *pn[MAX_NAMES], *mn[MAX_NAMES];
    bool pflag = o->policy_flag, mflag = o->mode_flag;
    if (!pflag)
        snprintf(o->policies, sizeof o->policies, "%s", e->conf.policy);
    if (!mflag)
        snprintf(o->modes, sizeof o->modes, "%s", e->conf.mode);
    char pcopy[sizeof o->policies], mcopy[sizeof o->modes];
    snprintf(pcopy, sizeof pcopy, "%s", o->policies);
    snprintf(mcopy, sizeof mcopy, "%s", o->modes);
    e->np = split_names(o->policies, pn, MAX_NAMES);
    e->nm = split_names(o->modes, mn, MAX_NAMES);
    if (e->np == 0 || e->nm == 0)
        return errprintf(err, "--%s: '%s': give 1 to %d comma-separated names, none empty",
                         e->np == 0 ? "policy" : "mode", e->np == 0 ? pcopy : mcopy, MAX_NAMES);
    bool any_opt = false;
    for (int i = 0; i < e->np * e->nm; i++) {
        struct sched_overrides ov = o->ov;
        ov.policy = pflag ? pn[i / e->nm] : NULL;
        ov.mode = mflag ? mn[i % e->nm] : NULL;
        if (!pflag && e->np == 1)
            ov.policy = NULL; /* the file's: its errors name file:line */
        struct sched_params sp;
        if (sched_params_build(&e->conf, &ov, sched_policies, &sp, err) < 0)
            return -1;
        e->pols[i / e->nm] = sp.policy;
        e->mods[i % e->nm] = sp.mode;
        any_opt |= strcmp(sched_mode_name(sp.mode), "opt") == 0;
    }
    if (sched_opt_options_check(o->ov.opt_compat, o->ov.opt_time_limit_s, any_opt, false, err) < 0)
        return -1;
    if ((o->record_path || o->plan_log_path) && e->np * e->nm != 1)
        return errprintf(err, "--record and --plan-log need a single policy and mode");
    return 0;
}

/* A trace whose last job cannot end before millions of rounds (a tiny
 * --round-duration, a job of years): say so before the silence, with a lower
 * bound (each job alone, at its profile's best speed). */
static void warn_long_run(const struct sim_env *e)
{
    double end = 0, round = e->o.ov.round_duration > 0 ? e->o.ov.round_duration
                                                        : e->conf.round_duration;
    for (size_t i = 0; i < e->n_specs; i++) {
        const struct model_profile *m = model_zoo_find(e->zoo, e->specs[i].model);
        if (!m)
            continue;
        double t = e->specs[i].arrival + (double)e->specs[i].iterations * m->iter_time /
                                             (m->speedup > 1 ? m->speedup : 1);
        if (t > end)
            end = t;
    }
    if (round > 0 && end / round > 1e6)
        fprintf(stderr, "synergy simulate: warning: the last job cannot end before %.3g h: at "
                        "least %.2g rounds of %g s to simulate (Ctrl-C stops the run)\n",
                end / 3600, end / round, round);
}

/* The zoo, the trace and the output files. Exit code on failure, else -1. */
static int simulate_prepare(struct sim_env *e, int argc, char **argv, struct err *err)
{
    struct sim_opts *o = &e->o;
    e->zoo = wl_zoo_load(&o->wl, o->profiles, err);
    wl_models_describe(&o->wl, e->models_desc, sizeof e->models_desc);
    if (!e->zoo)
        return EXIT_BAD_INPUT;
    o->wl.trace_path = o->trace_path;
    o->wl.max_gpus = cluster_config_gpus(&e->conf.cluster);
    o->wl.cluster_path = o->cluster_path;
    if (o->trace_path && wl_load(&o->wl, e->zoo, &e->specs, &e->n_specs, err) < 0)
        return EXIT_BAD_INPUT;
    if (wl_check_window(&o->wl, e->specs, e->n_specs, o->measure_lo, o->measure_hi, err) < 0)
        return EXIT_BAD_INPUT;
    if (simulate_tenants(e, err) < 0)
        return EXIT_BAD_INPUT;
    warn_long_run(e);
    /* the outputs written at the end, checked before the runs */
    if (cli_output_check("--record", o->record_path, false, err) < 0 ||
        cli_output_check("--jobs-csv", o->jobs_csv_path, false, err) < 0 ||
        cli_output_check("--plan-log", o->plan_log_path, false, err) < 0 ||
        cli_output_check("--db", o->db_path, false, err) < 0 ||
        cli_output_check("--plot", o->plot_dir, true, err) < 0)
        return EXIT_BAD_INPUT;
    if (!o->trace_path && o->wl.arrival) { /* a bad --arrival before the header */
        arrival_t *a = arrival_create(o->wl.arrival, o->wl.synth.seed, err);
        if (!a)
            return EXIT_BAD_INPUT;
        arrival_destroy(a);
    }
    if (o->db_path) {
        char cmdline[4096];
        cli_command_line(cmdline, sizeof cmdline, argc, argv, "simulate");
        e->st = store_open(o->db_path, err);
        if (!e->st || (e->batch = store_batch_insert(e->st, "simulate", cmdline, err)) < 0)
            return 1;
    }
    if (o->jobs_csv_path) {
        if (out_file_open(&e->jobs_csv, o->jobs_csv_path) < 0) {
            errprintf(err, "%s: %s", o->jobs_csv_path, strerror(errno));
            return 1;
        }
        watch_tmp(1, &e->jobs_csv);
        fputs(o->jobs_csv_reasons ? RESULTS_JOBS_CSV_COLUMNS RESULTS_JOBS_CSV_WAITS "\n"
                                  : RESULTS_JOBS_CSV_HEADER, e->jobs_csv.f);
    }
    return -1;
}

/* ---- one run ---- */

struct recorder {
    struct sim_env *env;
    FILE *f; /* --record */
    FILE *plan; /* --plan-log */
    const char *label;
    size_t finished, measured, window; /* measured of the window's jobs finished */
    double last_shown, t0;
};

static void record_sample(void *ctx, const struct sched_round_sample *s)
{
    struct recorder *rec = ctx;
    if (!rec->env->tty)
        return;
    double t = mono_s();
    if (t - rec->last_shown < 0.5)
        return;
    rec->last_shown = t;
    double el = t - rec->t0;
    char eta[32] = "-";
    if (rec->measured > 0 && rec->measured < rec->window)
        snprintf(eta, sizeof eta, "%.0f s",
                 el * (double)(rec->window - rec->measured) / (double)rec->measured);
    fprintf(stderr, "\r\033[K%s: %.1f h simulated, %zu/%zu measured jobs finished (%.0f%%), %zu "
                    "running, %.0f s, ETA %s",
            rec->label, s->now / 3600, rec->measured, rec->window,
            rec->window ? 100.0 * (double)rec->measured / (double)rec->window : 0.0, s->placed,
            el, eta);
    fflush(stderr);
}

static void record_finish(void *ctx, const struct job *j, bool measured)
{
    struct recorder *rec = ctx;
    rec->finished++;
    rec->measured += measured;
    if (rec->plan)
        fprintf(rec->plan, "finish %d %.3f\n", j->id, j->finish - j->arrival);
}

static void record_plan(void *ctx, double now, struct job *const *placed, size_t n)
{
    struct recorder *rec = ctx;
    fprintf(rec->plan, "%.6f:", now);
    for (size_t i = 0; i < n; i++)
        fprintf(rec->plan, " %d", placed[i]->id);
    fprintf(rec->plan, "\n");
}

/* With tenants, the plan log says each tenant's state after each round
 * (docs/tenants.md): "tenant TIME NAME quota=Q held=H ...". */
static void record_tenants(void *ctx, double now, const struct sched_tenant_status *t, int n)
{
    struct recorder *rec = ctx;
    for (int i = 0; i < n; i++)
        fprintf(rec->plan, "tenant %.6f %s quota=%d held=%d borrowed=%d lent=%.3f share=%d "
                           "demand=%d min_waiting=%d running=%d queued=%d usage=%.6f\n",
                now, t[i].name, t[i].quota, t[i].held, t[i].borrowed, t[i].lent, t[i].share,
                t[i].demand, t[i].min_waiting, t[i].running, t[i].queued, t[i].usage);
}

static void record_arrival(void *ctx, const struct job_spec *spec)
{
    struct recorder *rec = ctx;
    trace_write_replay_line(rec->f, spec);
}

/* a replayed cancel is recorded again, so the record replays the same run */
static void record_cancel(void *ctx, const struct job *j, double now)
{
    struct recorder *rec = ctx;
    trace_write_replay_cancel(rec->f, j->id, now);
}

static void sim_config_fill(const struct sim_env *e, int pi, int mi, struct sim_config *cfg)
{
    const struct sim_opts *o = &e->o;
    struct sched_overrides ov = o->ov;
    ov.policy = e->pols[pi]->name;
    ov.mode = sched_mode_name(e->mods[mi]);
    memset(cfg, 0, sizeof *cfg);
    sched_params_build(&e->conf, &ov, sched_policies, &cfg->sched, NULL); /* checked before */
    cfg->sched.tenants = e->tenants;
    cfg->zoo = e->zoo;
    cfg->is_static = o->is_static;
    cfg->stop_on_gap = o->stop_on_gap;
    cfg->measure_lo = o->measure_lo;
    cfg->measure_hi = o->measure_hi;
    cfg->check_invariants = o->check;
}

static const char *hetero_name(const struct sim_env *e)
{
    const char *h = e->o.ov.hetero ? e->o.ov.hetero : e->conf.hetero;
    return str_ieq(h, "agnostic") ? "agnostic" : "aware";
}

/* The synthetic generator of one run (its own arrival process). */
static synth_t *synth_for_run(struct sim_env *e, arrival_t **arr, struct err *err)
{
    struct synth_params sp = e->o.wl.synth;
    *arr = NULL;
    if (e->o.wl.arrival && !(*arr = arrival_create(e->o.wl.arrival, sp.seed, err)))
        return NULL;
    sp.arrivals = *arr;
    return synth_create(e->zoo, &sp, err);
}

/* Describe the run's row and open its recorders. 0, or an exit code. */
static int run_open(struct sim_env *e, struct sim_config *cfg, struct recorder *rec,
                    struct out_file *rec_out, struct store_run *row, struct err *err)
{
    const struct sim_opts *o = &e->o;
    cfg->obs.ctx = rec;
    cfg->obs.on_sample = record_sample;
    cfg->obs.on_finish = record_finish;
    if (e->st) {
        results_run_describe(row, cfg, o->trace_path, &o->wl.synth, o->cluster_path,
                             e->models_desc, o->profiles, cfg->sched.placement ==
                             PLACEMENT_CONSOLIDATE ? "consolidate" : "first-fit");
        if (o->trace_path && o->wl.arrival)
            snprintf(row->arrival, sizeof row->arrival, "%s", o->wl.arrival);
        if (o->trace_path && o->wl.have_jph) /* re-timed at that load, as sweep records it */
            row->jobs_per_hour = o->wl.synth.jobs_per_hour;
    }
    if (o->plan_log_path) {
        if (!(rec->plan = fopen(o->plan_log_path, "w"))) {
            errprintf(err, "%s: %s", o->plan_log_path, strerror(errno));
            return 1;
        }
        cfg->obs.on_plan = record_plan;
        cfg->obs.on_tenants = record_tenants;
    }
    if (o->record_path) {
        if (out_file_open(rec_out, o->record_path) < 0) {
            errprintf(err, "%s: %s", o->record_path, strerror(errno));
            return 1;
        }
        watch_tmp(0, rec_out);
        rec->f = rec_out->f;
        cfg->obs.on_arrival = record_arrival;
        cfg->obs.on_cancel = record_cancel;
    }
    return 0;
}

/* Close the recorders. 0, or an exit code. */
static int run_close(struct sim_env *e, int srun, struct recorder *rec, struct out_file *rec_out,
                     struct store_run *row, struct err *err)
{
    int rc = 0;
    if (rec->plan && fclose(rec->plan) != 0 && srun == 0) {
        errprintf(err, "%s: %s", e->o.plan_log_path, strerror(errno));
        rc = 1;
    }
    if (rec->f) {
        if (srun < 0 || rc)
            out_file_abort(rec_out);
        else if (out_file_commit(rec_out) < 0) {
            errprintf(err, "%s: %s", e->o.record_path, strerror(errno));
            rc = 1;
        }
        watch_tmp(0, NULL);
    }
    free(row->cluster_ini);
    return rc;
}

/* Simulate policy pi x mode mi into *res. 0, or an exit code. */
static int simulate_one(struct sim_env *e, int pi, int mi, struct sched_result *res,
                        double *wall, struct err *err)
{
    struct sim_config cfg;
    sim_config_fill(e, pi, mi, &cfg);
    char label[64];
    snprintf(label, sizeof label, "%s/%s", e->pols[pi]->name, sched_mode_name(e->mods[mi]));
    struct recorder rec = {.env = e, .label = label, .t0 = mono_s()};
    const struct sim_opts *o = &e->o; /* the measured window, for the progress line */
    rec.window = o->measure_hi > o->measure_lo ? (size_t)(o->measure_hi - o->measure_lo)
                 : o->trace_path ? e->n_specs : 1000;
    struct out_file rec_out = {0};
    struct store_run row = {.batch_id = e->batch};
    arrival_t *arr = NULL;
    struct sim_workload w = {e->specs, e->n_specs, NULL};
    if (!e->o.trace_path && !(w.synth = synth_for_run(e, &arr, err))) {
        arrival_destroy(arr);
        return EXIT_BAD_INPUT;
    }
    int rc = run_open(e, &cfg, &rec, &rec_out, &row, err);
    int srun = -1;
    if (rc == 0) {
        /* into the results database with --db: the one way sweep records a run too */
        srun = sweep_run_one(e->st, &row, &cfg, &w, res, wall, err);
        if (e->tty)
            fprintf(stderr, "\r\033[K");
    }
    struct err cerr = {{0}};
    int crc = run_close(e, srun, &rec, &rec_out, &row, &cerr);
    synth_destroy(w.synth);
    arrival_destroy(arr);
    if (rc == 0 && srun < 0)
        rc = 1;
    else if (rc == 0 && crc) {
        *err = cerr;
        rc = crc;
    }
    if (rc && srun == 0)
        sched_result_free(res);
    return rc;
}

/* ---- the table ---- */

/* Hours in 11 columns, at most 9 characters, so that two spaces always part
 * the columns: 3 decimals (3.6 s: --json has every digit), fewer beyond
 * 99,999 h. */
static const char *hours(char *buf, size_t n, double s)
{
    double h = s / 3600;
    for (int prec = 3; prec >= 0; prec--)
        if (snprintf(buf, n, "%.*f", prec, h) <= 9)
            break;
    return buf;
}

static void table_header(const struct sim_env *e)
{
    const struct sim_opts *o = &e->o;
    const struct cluster_config *c = &e->conf.cluster;
    if (o->trace_path)
        printf("workload  %s (%s, %zu jobs)\n", o->trace_path, o->wl.fmt->name,
               e->n_specs);
    else
        printf("workload  synthetic\n          %.4g jobs/h, split %d/%d/%d, seed %lu%s\n",
               o->wl.synth.jobs_per_hour, o->wl.synth.split[0], o->wl.synth.split[1],
               o->wl.synth.split[2], (unsigned long)o->wl.synth.seed,
               o->wl.synth.max_jobs ? ", capped" : "");
    if (o->wl.arrival)
        printf("arrivals  %s (seed %lu)\n", o->wl.arrival, (unsigned long)o->wl.synth.seed);
    if (c->n_groups == 0)
        printf("cluster   %s: %d servers x %d GPUs, %d CPUs, %d GB = %d GPUs\n",
               o->cluster_path, c->servers_per_rack * c->racks, c->gpus_per_server,
               c->cpus_per_server, c->dram_per_server, cluster_config_gpus(c));
    else
        printf("cluster   %s: %d servers in %d groups = %d GPUs%s%s\n", o->cluster_path,
               cluster_config_servers(c), c->n_groups, cluster_config_gpus(c),
               cluster_config_typed(c) ? ", GPU types, placement " : "",
               cluster_config_typed(c) ? hetero_name(e) : "");
    struct sim_config cfg;
    sim_config_fill(e, 0, 0, &cfg);
    printf("rounds    %g s%s%s\n\n", cfg.sched.round_duration, o->is_static ? ", static" : "",
           cfg.sched.placement == PLACEMENT_CONSOLIDATE ? ", consolidating placement" : "");
    printf("%-7s %-7s %6s %6s %11s %11s %11s %11s %11s %6s %6s %6s %8s %7s\n", "policy", "mode",
           "jobs", "done", "avg JCT h", "p50 h", "p99 h", "p99.9 h", "makespan h", "GPU %",
           "CPU %", "mem %", "vs fair", "wall s");
}

static void table_row(const char *policy, const char *mode, const struct sched_result *r,
                      double fair_avg, double wall)
{
    char a[32], b[32], c[32], d[32], m[32], vs[32];
    if (isnan(fair_avg) || !(r->avg_jct_s > 0))
        snprintf(vs, sizeof vs, "-");
    else
        snprintf(vs, sizeof vs, "%.2fx", fair_avg / r->avg_jct_s);
    printf("%-7s %-7s %6zu %6zu %11s %11s %11s %11s %11s %6.2f %6.2f %6.2f %8s %7.3f\n", policy,
           mode, r->window_size, r->jobs_measured, hours(a, sizeof a, r->avg_jct_s),
           hours(b, sizeof b, r->p50_jct_s), hours(c, sizeof c, r->p99_jct_s),
           hours(d, sizeof d, r->p999_jct_s), hours(m, sizeof m, r->makespan_s),
           r->mean_gpu_alloc * 100, r->mean_cpu_alloc * 100, r->mean_mem_alloc * 100, vs, wall);
}

/* One policy's runs, every mode; rows print once the fair run is known. */
static int simulate_policy(struct sim_env *e, int pi, bool *any_fair, struct err *err)
{
    struct sched_result res[MAX_NAMES];
    double wall[MAX_NAMES], fair_avg = NAN;
    int done = 0, rc = 0;
    for (; done < e->nm; done++) {
        rc = simulate_one(e, pi, done, &res[done], &wall[done], err);
        if (rc)
            break;
        const char *mode = sched_mode_name(e->mods[done]);
        if (res[done].jobs_measured == 0) {
            errprintf(err, "%s/%s: none of the measured jobs finished (window %ld:%ld); "
                           "nothing to report", e->pols[pi]->name, mode, e->o.measure_lo,
                      e->o.measure_hi);
            rc = 1;
            sched_result_free(&res[done]);
            break;
        }
        if (!res[done].window_complete)
            fprintf(stderr, "synergy simulate: warning: %s/%s: only %zu of the %zu measured "
                            "jobs finished before the run ended\n", e->pols[pi]->name, mode,
                    res[done].jobs_measured, res[done].window_size);
        if (res[done].opt.capped > 0)
            fprintf(stderr, "synergy simulate: warning: %s/%s: the --opt-time-limit safety cap "
                            "cut %ld of %ld OPT rounds short; their plans, and so this run's "
                            "numbers, depend on this machine's speed (opt_capped)\n",
                    e->pols[pi]->name, mode, res[done].opt.capped, res[done].opt.rounds);
        if (strcmp(mode, "fair") == 0)
            fair_avg = res[done].avg_jct_s;
        if (e->o.json) {
            const struct cluster_config *c = &e->conf.cluster;
            struct results_json js = {
                .policy = e->pols[pi]->name, .mode = mode, .placement =
                    e->o.ov.placement ? e->o.ov.placement : e->conf.placement,
                .seed = (unsigned long)e->o.wl.synth.seed,
                .workload = e->o.trace_path ? e->o.trace_path : "synthetic",
                .cluster = e->o.cluster_path, .opt_compat = e->o.ov.opt_compat,
                .wall_s = wall[done], .gpus = cluster_config_gpus(c),
                .hetero = hetero_name(e)};
            results_json_write(stdout, &js, &res[done], NULL);
            fflush(stdout);
        }
        if (e->o.jobs_csv_path)
            results_jobs_csv_write_waits(e->jobs_csv.f, &res[done], e->pols[pi]->name, mode,
                                         e->o.jobs_csv_reasons);
    }
    *any_fair |= !isnan(fair_avg);
    for (int mi = 0; mi < done; mi++) {
        if (!e->o.json)
            table_row(e->pols[pi]->name, sched_mode_name(e->mods[mi]), &res[mi], fair_avg,
                      wall[mi]);
        sched_result_free(&res[mi]);
    }
    fflush(stdout);
    return rc;
}

static int simulate_finish(struct sim_env *e, bool any_fair, struct err *err)
{
    const struct sim_opts *o = &e->o;
    if (!o->json && e->np * e->nm > 1)
        printf("\n'vs fair' = the same policy's GPU-proportional (fair) average JCT divided by "
               "this row's (higher is better)%s.\n", any_fair ? "" : "; add fair to --mode");
    if (o->jobs_csv_path) {
        int bad = ferror(e->jobs_csv.f) || out_file_commit(&e->jobs_csv) < 0;
        watch_tmp(1, NULL);
        if (bad) {
            out_file_abort(&e->jobs_csv);
            errprintf(err, "%s: %s", o->jobs_csv_path, strerror(errno));
            return 1;
        }
    }
    if (o->plot_dir) {
        struct store_filter f = {.batch_id = e->batch};
        if (plot_write(e->st, &f, o->plot_dir, err) < 0)
            return 1;
        if (!o->json)
            printf("plots in %s/\n", o->plot_dir);
    }
    if (e->st && !o->json)
        printf("recorded in %s (batch %lld)\n", o->db_path, (long long)e->batch);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        errprintf(err, "writing the results: %s", strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

int cmd_simulate(int argc, char **argv)
{
    char default_cluster[4096];
    struct sim_env *e = xcalloc(1, sizeof *e);
    struct sim_opts *o = &e->o;
    o->cluster_path = cli_data_path(default_cluster, sizeof default_cluster,
                                    "configs/default_cluster.ini");
    wl_opts_init(&o->wl);
    int rc = simulate_parse(o, argc, argv);
    struct err err = {{0}};
    if (rc >= 0)
        goto out;
    rc = EXIT_BAD_INPUT;
    interrupt_say(o);
    struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (simulate_config(e, &err) < 0)
        goto fail;
    e->tty = isatty(STDERR_FILENO) && !o->json;
    rc = simulate_prepare(e, argc, argv, &err);
    if (rc >= 0)
        goto fail;
    if (!o->json)
        table_header(e);
    fflush(stdout); /* the header is not lost when the run is cut short */
    bool any_fair = false;
    rc = 0;
    for (int pi = 0; pi < e->np && rc == 0; pi++)
        rc = simulate_policy(e, pi, &any_fair, &err);
    if (rc == 0)
        rc = simulate_finish(e, any_fair, &err);
fail:
    if (o->jobs_csv_path && e->jobs_csv.f) {
        out_file_abort(&e->jobs_csv);
        watch_tmp(1, NULL);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc)
        fprintf(stderr, "synergy simulate: %s\n", err.msg);
out:
    store_close(e->st);
    free(e->specs);
    tenants_config_destroy(e->tenants);
    model_zoo_destroy(e->zoo);
    free(e);
    return rc;
}
