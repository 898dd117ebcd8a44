/*
 * The scheduler's restart (deploy.h, --state): what the round loop writes to
 * the durable state at each commit point, how a restarted scheduler continues
 * from it, and the reconciliation of what workers report they run.
 *
 * The state is written in the round's transactions (after the plan, and after
 * the launches), so a scheduler killed at any point restarts from the last
 * commit: the logical clock (t0 on the real-time clock, so the outage counts
 * as time), each job's ledger fields (sched_run_restore), its state, attempt
 * and crashes, and the ranks of running leases. Jobs the plan credited up
 * front but that never ran keep only their progress before that round.
 * Running jobs are adopted when their workers re-register and report them
 * (same job, same attempt); a worker's unknown or stale jobs are killed, and
 * expected jobs missing from its report count as exited (not charged).
 */
#include "deploy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    ST_FAILED = 0, ST_CRASHES, ST_RELAUNCHES, ST_LEASE_KILLS, ST_STOPS, ST_DELAYS, ST_LOST,
    ST_PREEMPTIONS
};

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The run's identity: what must match for a restart to continue it. */
static void run_args(const struct deploy_config *c, char *buf, size_t n)
{
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a over the trace */
    for (size_t i = 0; i < c->n_jobs; i++) {
        char row[192];
        int len = snprintf(row, sizeof row, "%d,%s,%.17g,%ld,%d;", c->jobs[i].id,
                           c->jobs[i].model, c->jobs[i].arrival, c->jobs[i].iterations,
                           c->jobs[i].gpus);
        if (c->jobs[i].gpu_types[0]) /* (left out when empty: older states keep their hash) */
            len += snprintf(row + len - 1, sizeof row - (size_t)len + 1, ",%s;",
                            c->jobs[i].gpu_types) - 1;
        for (int k = 0; k < len; k++) {
            h ^= (unsigned char)row[k];
            h *= 1099511628211ULL;
        }
    }
    const struct cluster_config *cl = &c->sched.cluster;
    int len = snprintf(buf, n,
                       "jobs=%zu trace=%016llx policy=%s mode=%s round=%g scale=%g static=%d "
                       "cluster=%dx%dx%d/%d/%d/%d workers=%zu",
                       c->n_jobs, h, c->sched.policy ? c->sched.policy->name : "?",
                       c->sched.mode ? sched_mode_name(c->sched.mode) : "?",
                       c->sched.round_duration, c->time_scale, c->is_static, cl->racks,
                       cl->servers_per_rack, cl->gpus_per_server, cl->cpus_per_server,
                       cl->dram_per_server, cl->sspeed_per_server, c->n_workers);
    /* server groups (the [CLUSTER] numbers above are then the defaults) */
    for (int i = 0; i < cl->n_groups && len > 0 && (size_t)len < n; i++) {
        const struct server_group *g = &cl->groups[i];
        len += snprintf(buf + len, n - (size_t)len, " %s=%dx%d/%d/%d/%s", g->name, g->count,
                        g->gpus, g->cpus, g->dram_gb, g->gpu_type);
    }
    if (cl->n_groups > 0 && len > 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, " hetero=%s",
                 c->sched.hetero == HETERO_AGNOSTIC ? "agnostic" : "aware");
}

/* --plan-log flushed (its lines go before the commit that covers them); its
 * length, or -1 (none, or not a file). */
static long plan_log_mark(struct deploy *d)
{
    FILE *f = d->cfg->plan_log;
    if (!f || fflush(f) != 0)
        return -1;
    off_t at = ftello(f);
    return at >= 0 ? (long)at : -1;
}

int deploy__plan_log_open(struct deploy *d, struct err *err)
{
    FILE *f = d->cfg->plan_log;
    if (!f)
        return 0;
    fflush(f);
    struct stat sb;
    if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0; /* a pipe or a terminal: nothing to cut */
    off_t keep = !d->restarted ? 0
                 : d->plan_log_bytes >= 0 && d->plan_log_bytes < sb.st_size ? d->plan_log_bytes
                                                                           : sb.st_size;
    if (keep < sb.st_size && ftruncate(fileno(f), keep) < 0)
        return errprintf(err, "--plan-log: %s", strerror(errno));
    if (keep < sb.st_size)
        LOG(LOG_INFO, "deploy", "--plan-log: %s", d->restarted ? "cut back to the last commit"
                                                               : "a new run: emptied");
    fseeko(f, 0, SEEK_END);
    return 0;
}

/* The jobs table's name of a job's state. */
static const char *row_state(const struct djob *dj)
{
    switch (dj->state) {
    case DJ_RUNNING: return "running";
    case DJ_DONE: return "finished";
    case DJ_FAILED: return dj->cancelled ? "cancelled" : "failed";
    default: return "queued";
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The job's saved row and lease ranks, written only when they differ from
 * what was written last (dj->saved_hash): a round rewrites the jobs it
 * changed, not every queued one (issue 21: 20,000 queued jobs rewritten
 * twice a round starved the workers' heartbeats). 0 or -1. */
static int persist_job(struct deploy *d, struct djob *dj)
{
    struct sched_job_saved sv;
    sched_run_save(d->ledger, dj->j, &sv);
    struct deploy_state_job row;
    memset(&row, 0, sizeof row); /* padding too: the bytes are hashed */
    row.id = dj->spec->id;
    row.state = (int)dj->state;
    row.attempt = dj->launch;
    row.crashes = dj->crashes;
    row.terminated = dj->terminated;
    row.executed = sv.executed;
    row.round_base = sv.round_base;
    row.attained = sv.attained;
    row.priority = sv.priority;
    row.last_exec = sv.last_exec;
    row.first_start = sv.first_start;
    row.finish = dj->state == DJ_DONE ? dj->finish : -1;
    row.failed = sv.failed;
    row.rounds_run = sv.rounds_run;
    row.rounds_demoted = sv.rounds_demoted;
    row.preemptions = sv.preemptions;
    row.placed_last = sv.placed_last_round;
    row.runnable_rank = sched_run_runnable_rank(d->ledger, dj->j);
    row.lease_t = dj->lease_b;
    row.procs = dj->state == DJ_RUNNING ? dj->n_procs : 0;
    struct deploy_state_rank rk[DJ_MAX_RANKS];
    int nr = dj->state == DJ_RUNNING ? dj->n_ranks : 0;
    for (int r = 0; r < nr; r++) {
        memset(&rk[r], 0, sizeof rk[r]);
        rk[r].server = dj->ranks[r].server;
        for (int k = 0; k < dj->ranks[r].n_gpus; k++)
            snprintf(rk[r].gpus + strlen(rk[r].gpus), sizeof rk[r].gpus - strlen(rk[r].gpus),
                     "%s%d", k ? "," : "", dj->ranks[r].gpus[k]);
        rk[r].cpus = dj->ranks[r].cpus;
        rk[r].mem = dj->ranks[r].mem;
        if (r < dj->sig_n_shares) {
            rk[r].share_gpu = dj->sig_shares[r].gpu;
            rk[r].share_cpu = dj->sig_shares[r].cpu;
            rk[r].share_mem = dj->sig_shares[r].mem;
            rk[r].share_sspeed = dj->sig_shares[r].sspeed;
        }
    }
    uint64_t h = fnv(1469598103934665603ULL, &row, sizeof row);
    h = fnv(h, &nr, sizeof nr);
    h = fnv(h, rk, (size_t)nr * sizeof *rk);
    h |= 1; /* 0 means "not written" */
    /* after a failed commit the rows written since the last good one are
     * gone: all of them again */
    if (d->durable.rewrite)
        deploy__job_persist(d, dj, row_state(dj));
    if (h != dj->saved_hash || d->durable.rewrite) {
        if (deploy_state_saved_put(d->db, &row, NULL) < 0 ||
            deploy_state_ranks_put(d->db, dj->spec->id, rk, nr, NULL) < 0)
            return -1;
        dj->saved_hash = h;
    }
    if (dj->state == DJ_RUNNING && !dj->startup_saved) {
        deploy_state_attempt(d->db, dj->spec->id, dj->launch, dj->lease_b, dj->startup_s, NULL);
        dj->startup_saved = dj->startup_s >= 0;
    }
    return 0;
}

int deploy__persist(struct deploy *d, bool finished)
{
    if (!d->db)
        return 0;
    struct deploy_state_run run = {0};
    run.plan_log_bytes = plan_log_mark(d);
    run_args(d->cfg, run.args, sizeof run.args);
    run.finished = finished;
    run.t0_real = d->t0_real;
    run.b = d->next_b;
    run.next_arrival = (long)d->next_arrival;
    struct sched_run_totals tot;
    sched_run_totals_get(d->ledger, &tot);
    run.rounds = (long)tot.rounds;
    memcpy(run.util_sum, tot.util_sum, sizeof run.util_sum);
    const struct deploy_stats *st = d->st;
    run.stats[ST_FAILED] = (long)st->jobs_failed;
    run.stats[ST_CRASHES] = (long)st->crashes;
    run.stats[ST_RELAUNCHES] = (long)st->relaunches;
    run.stats[ST_LEASE_KILLS] = (long)st->lease_kills;
    run.stats[ST_STOPS] = (long)st->stops_ignored;
    run.stats[ST_DELAYS] = (long)st->delays;
    run.stats[ST_LOST] = (long)st->workers_lost;
    run.stats[ST_PREEMPTIONS] = (long)st->preemptions;
    if (deploy_state_run_put(d->db, &run, NULL) < 0)
        return -1;
    for (size_t i = 0; i < d->next_arrival; i++)
        if (d->jobs[i].j && persist_job(d, &d->jobs[i]) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ restore */

struct restore_ctx {
    struct deploy *d;
    struct deploy_state_job *rows; /* by jobs[] index */
    bool *have;
};

static struct djob *job_by_id(struct deploy *d, int id, size_t *idx)
{
    struct djob *dj = deploy__job_by_id(d, (uint64_t)id);
    if (dj)
        *idx = (size_t)(dj - d->jobs);
    return dj;
}

static int take_row(void *ctx, const struct deploy_state_job *j)
{
    struct restore_ctx *rc = ctx;
    size_t i;
    if (!job_by_id(rc->d, j->id, &i))
        return 1;
    rc->rows[i] = *j;
    rc->have[i] = true;
    return 0;
}

static int take_rank(void *ctx, int job, int rank, const struct deploy_state_rank *r)
{
    struct restore_ctx *rc = ctx;
    size_t i;
    struct djob *dj = job_by_id(rc->d, job, &i);
    if (!dj || rank < 0 || rank >= DJ_MAX_RANKS || dj->state != DJ_RUNNING)
        return 0; /* ranks of a job that is not running any more */
    struct drank *rk = &dj->ranks[rank];
    memset(rk, 0, sizeof *rk);
    rk->server = r->server;
    rk->restored = true;
    rk->cpus = r->cpus;
    rk->mem = r->mem;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", r->gpus);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && rk->n_gpus < 64; t = strtok_r(NULL, ",", &save))
        rk->gpus[rk->n_gpus++] = atoi(t);
    if (rank >= dj->n_ranks)
        dj->n_ranks = rank + 1;
    xgrow((void **)&dj->sig_shares, &dj->sig_cap, (size_t)rank + 1, sizeof *dj->sig_shares);
    dj->sig_shares[rank] = (struct job_share){.server = r->server,
                                              .gpu = r->share_gpu,
                                              .cpu = r->share_cpu,
                                              .mem = r->share_mem,
                                              .sspeed = r->share_sspeed};
    if (rank >= dj->sig_n_shares)
        dj->sig_n_shares = rank + 1;
    return 0;
}

/* A stored completion report of a running job's lease: as if it had just
 * come in (its process may be gone: it was answered before the restart). */
static int take_report(void *ctx, int job, int attempt, int rank, long steps)
{
    struct deploy *d = ctx;
    size_t i;
    struct djob *dj = job_by_id(d, job, &i);
    if (dj && dj->state == DJ_RUNNING && dj->launch == attempt)
        deploy__restore_completion(d, dj, rank, steps);
    return 0;
}

/* A job's saved tokens: its current attempt's calls are checked at once. */
static int take_token(void *ctx, const struct deploy_state_token *t)
{
    struct deploy *d = ctx;
    size_t i;
    struct djob *dj = job_by_id(d, t->job, &i);
    if (!dj || t->attempt != dj->launch)
        return 0; /* an attempt launched but never committed: refused */
    dj->token_launch = t->attempt;
    memcpy(dj->token, t->token, sizeof dj->token);
    dj->prev_launch = t->prev_attempt;
    memcpy(dj->prev_token, t->prev_token, sizeof dj->prev_token);
    return 0;
}

static int rank_cmp(const void *a, const void *b)
{
    const struct deploy_state_job *const *x = a, *const *y = b;
    return ((*x)->runnable_rank > (*y)->runnable_rank) - ((*x)->runnable_rank < (*y)->runnable_rank);
}

/* One saved job back into the ledger and jobs[] (it arrived before the
 * crash). 0, or -1 + err. */
static int restore_job(struct deploy *d, struct djob *dj, const struct deploy_state_job *row,
                       long long now, struct err *err)
{
    bool running = row->state == DJ_RUNNING && !row->terminated;
    struct sched_job_saved sv = {
        .executed = row->executed,
        .round_base = row->round_base,
        .attained = row->attained,
        .service = -1, /* not in the saved state: exact on an untyped cluster */
        .priority = row->priority,
        .last_exec = row->last_exec,
        .first_start = row->first_start,
        .finish = row->state == DJ_DONE ? row->finish : -1,
        .failed = row->state == DJ_FAILED,
        .rounds_run = row->rounds_run,
        .rounds_demoted = row->rounds_demoted,
        .preemptions = row->preemptions,
        .placed_last_round = row->placed_last,
    };
    /* credited up front by the last plan, never launched: it keeps only
     * what it had before that round */
    if (row->placed_last && !running)
        sv.executed = sv.round_base;
    dj->j = sched_run_restore(d->ledger, dj->spec, &sv, err);
    if (!dj->j)
        return -1;
    dj->launch = row->attempt;
    dj->crashes = row->crashes;
    dj->finish = row->state == DJ_DONE ? row->finish : -1;
    dj->lease_b = row->lease_t;
    dj->state = row->state == DJ_DONE     ? DJ_DONE
                : row->state == DJ_FAILED ? DJ_FAILED
                : running                 ? DJ_RUNNING
                                          : DJ_QUEUED;
    sched_run_round_credit(d->ledger, dj->j, &dj->base, &dj->budget);
    if (dj->state == DJ_RUNNING) {
        deploy__lease_tables(dj);
        dj->restored = true;
        dj->launched_ns = now;
        dj->lease_until_ns = now + d->lease.slack_ns;
        dj->round_end_steps = -1;
        dj->startup_s = -1;
    }
    return 0;
}

/* The arrived jobs, and the ledger's runnable order as it was saved. 0, or
 * -1 + err. */
static int restore_jobs(struct deploy *d, struct restore_ctx *rc, long long now, struct err *err)
{
    struct deploy_state_job **runnable = xcalloc(d->n_jobs + 1, sizeof *runnable);
    size_t n_runnable = 0;
    int out = -1;
    for (size_t i = 0; i < d->next_arrival; i++) {
        struct djob *dj = &d->jobs[i];
        if (!rc->have[i] && dj->cancel_req) { /* cancelled before it arrived */
            deploy__admin_cancelled_before_arrival(d, dj);
            continue;
        }
        if (!rc->have[i]) {
            errprintf(err, "%s: job %d arrived but was not saved", d->cfg->state_path,
                      dj->spec->id);
            goto done;
        }
        if (restore_job(d, dj, &rc->rows[i], now, err) < 0)
            goto done;
        if (rc->rows[i].runnable_rank >= 0 && dj->state != DJ_DONE && dj->state != DJ_FAILED)
            runnable[n_runnable++] = &rc->rows[i];
    }
    qsort(runnable, n_runnable, sizeof *runnable, rank_cmp);
    struct job **order = xcalloc(d->n_jobs + 1, sizeof *order);
    for (size_t k = 0; k < n_runnable; k++) {
        size_t i;
        order[k] = job_by_id(d, runnable[k]->id, &i)->j;
    }
    sched_run_set_runnable_order(d->ledger, order, n_runnable);
    free(order);
    out = 0;
done:
    free(runnable);
    return out;
}

/* The run's totals and statistics, and its clock: the logical clock kept
 * running while the scheduler was away. */
static void restore_totals(struct deploy *d, const struct deploy_state_run *run, long long now)
{
    struct sched_run_totals tot = {.rounds = (size_t)run->rounds};
    memcpy(tot.util_sum, run->util_sum, sizeof tot.util_sum);
    sched_run_totals_set(d->ledger, &tot);
    struct deploy_stats *st = d->st;
    st->jobs_failed = (size_t)run->stats[ST_FAILED];
    st->crashes = (size_t)run->stats[ST_CRASHES];
    st->relaunches = (size_t)run->stats[ST_RELAUNCHES];
    st->lease_kills = (size_t)run->stats[ST_LEASE_KILLS];
    st->stops_ignored = (size_t)run->stats[ST_STOPS];
    st->delays = (size_t)run->stats[ST_DELAYS];
    st->workers_lost = (size_t)run->stats[ST_LOST];
    st->preemptions = (size_t)run->stats[ST_PREEMPTIONS];
    d->t0_real = run->t0_real;
    d->t0_ns = now - (long long)((real_now() - run->t0_real) * 1e9);
    d->next_b = run->b;
    d->cur_b = run->b - d->round_s;
    d->restarted = true;
}

/* An unfinished run of other arguments in the state file (not --fresh):
 * true + err. */
static bool args_differ(const struct deploy_config *c, const struct deploy_state_run *run,
                        struct err *err)
{
    char args[1024];
    run_args(c, args, sizeof args);
    if (run->finished || c->fresh || strcmp(run->args, args) == 0)
        return false;
    errprintf(err,
              "%s holds an unfinished run of other arguments (%s; now %s): run with the same "
              "arguments to continue it, or add --fresh to discard it",
              c->state_path, run->args, args);
    return true;
}

int deploy_state_check_args(const struct deploy_config *cfg, struct err *err)
{
    if (!cfg->state || !cfg->state_path)
        return 0;
    struct deploy_state_run run;
    int have = deploy_state_run_get(cfg->state, &run, err);
    if (have < 0)
        return -1;
    return have && args_differ(cfg, &run, err) ? -1 : 0;
}

int deploy__restore(struct deploy *d, struct err *err)
{
    if (!d->db || !d->cfg->state_path)
        return 0;
    struct deploy_state_run run;
    int have = deploy_state_run_get(d->db, &run, err);
    if (have < 0)
        return -1;
    if (have && args_differ(d->cfg, &run, err))
        return -1;
    if (!have || run.finished || d->cfg->fresh) {
        if (have)
            LOG(LOG_INFO, "deploy", "%s: %s; starting a new run", d->cfg->state_path,
                run.finished ? "the run it holds finished" : "--fresh: discarding its run");
        return deploy_state_reset(d->db, err) < 0 ? -1 : 0;
    }

    /* the jobs submitted online take their places in jobs[] first */
    if (deploy__admin_load(d, err) < 0)
        return -1;
    struct restore_ctx rc = {.d = d};
    rc.rows = xcalloc(d->n_jobs, sizeof *rc.rows);
    rc.have = xcalloc(d->n_jobs, sizeof *rc.have);
    int out = -1;
    if (deploy_state_saved_each(d->db, take_row, &rc, err) != 0) {
        if (!err->msg[0])
            errprintf(err, "%s: a saved job is not in the trace", d->cfg->state_path);
        goto done;
    }
    if (run.next_arrival < 0 || (size_t)run.next_arrival > d->n_jobs) {
        errprintf(err, "%s: corrupt run row", d->cfg->state_path);
        goto done;
    }
    d->next_arrival = (size_t)run.next_arrival;
    long long now = mono_ns();
    if (restore_jobs(d, &rc, now, err) < 0)
        goto done;
    if (deploy_state_ranks_each(d->db, take_rank, &rc, err) != 0)
        goto done;
    size_t n_adopt = 0;
    for (size_t i = 0; i < d->next_arrival; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state == DJ_RUNNING && dj->n_ranks == 0) {
            dj->state = DJ_QUEUED; /* no lease was saved: it runs again when planned */
            dj->restored = false;
            deploy__lease_tables_free(dj);
        }
        /* the saved process count; else (a file of before it was saved)
         * one per rank until its worker reports more (adoption): a round
         * ends when all of them are in */
        dj->procs_restored = rc.have[i] && rc.rows[i].procs > dj->n_ranks;
        dj->n_procs = dj->procs_restored ? rc.rows[i].procs : dj->n_ranks;
        n_adopt += dj->state == DJ_RUNNING;
    }
    if (deploy_state_tokens_each(d->db, take_token, d, err) != 0 ||
        deploy_state_reports_each(d->db, take_report, d, err) != 0)
        goto done;
    d->plan_log_bytes = run.plan_log_bytes;
    restore_totals(d, &run, now);
    d->st->resumed = true; /* said by the caller at default level (on_listening) */
    d->st->resumed_rounds = (size_t)run.rounds;
    d->st->resumed_jobs = d->n_jobs;
    d->st->resumed_running = n_adopt;
    LOG(LOG_INFO, "deploy", "%s: continuing the run at round %.0f (logical now %.0f): %zu of %zu "
                            "jobs arrived, %zu running to adopt",
        d->cfg->state_path, run.b, deploy__logical_now(d), d->next_arrival, d->n_jobs, n_adopt);
    out = 1;
done:
    free(rc.rows);
    free(rc.have);
    return out;
}

void deploy__set_t0(struct deploy *d)
{
    d->t0_ns = mono_ns();
    d->t0_real = real_now();
}

/* ------------------------------------------------------ worker reports */

static struct drank *rank_on(struct djob *dj, int server)
{
    for (int r = 0; r < dj->n_ranks; r++)
        if (dj->ranks[r].server == server)
            return &dj->ranks[r];
    return NULL;
}

int deploy__worker_report(struct deploy *d, int server, enum deploy_report kind,
                          const struct deploy_running *run, size_t n, struct deploy_kill *kill,
                          size_t cap, size_t *n_kill)
{
    *n_kill = 0;
    struct dworker *w = &d->reg.workers[server];
    if (kind == DEPLOY_REPORT_HEARTBEAT && (!w->registered || w->lost))
        return -1; /* register again, with the running jobs */
    if (kind == DEPLOY_REPORT_REGISTER && w->lost) {
        LOG(LOG_INFO, "deploy", "server %d is back after being lost: it returns to planning",
            server);
        w->lost = false;
        if (d->db)
            deploy_state_worker(d->db, server, w->a.ip, w->a.port, "registered", w->n_gpus,
                                NULL);
    }
    long long now = mono_ns();
    for (size_t i = 0; i < n; i++) {
        struct djob *dj = deploy__find_job(d, run[i].job_id);
        struct drank *rk = dj ? rank_on(dj, server) : NULL;
        bool current = dj && rk && (int)run[i].attempt == dj->launch;
        if (current && !rk->exited && dj->state == DJ_RUNNING && !dj->terminated) {
            if (rk->restored && !rk->adopted) {
                rk->adopted = true;
                /* the job keeps the token it was launched with: learn it from
                 * its worker (authenticated under TLS) */
                if (strlen(run[i].token) == 32 && dj->token_launch != dj->launch) {
                    memcpy(dj->token, run[i].token, 33);
                    dj->prev_token[0] = '\0';
                    dj->prev_launch = 0;
                    dj->token_launch = dj->launch;
                }
                long long until = now + (long long)run[i].lease_left_ms * 1000000LL;
                dj->lease_until_ns = until;
                if (run[i].processes > 1 && !dj->procs_restored &&
                    dj->n_procs + (int)run[i].processes - 1 <= DJ_MAX_PROCS)
                    dj->n_procs += (int)run[i].processes - 1;
                LOG(LOG_INFO, "deploy", "job %d attempt %d adopted on server %d (lease %u ms left)",
                    dj->spec->id, dj->launch, server, run[i].lease_left_ms);
            }
            continue;
        }
        /* told to stop, or finished: on its way out (its lease bounds it) */
        if (current && !rk->exited)
            continue;
        if (*n_kill < cap) {
            kill[*n_kill].job_id = run[i].job_id;
            kill[*n_kill].attempt = run[i].attempt;
            (*n_kill)++;
        }
        LOG(LOG_WARN, "deploy", "server %d runs job %lu attempt %u, which the scheduler does not "
                                "expect there: killing it",
            server, (unsigned long)run[i].job_id, run[i].attempt);
    }
    if (kind != DEPLOY_REPORT_REGISTER)
        return 0;
    /* a (re-)registration lists everything the worker runs: what we expect
     * there and it does not list is gone (the worker restarted, or the lease
     * ended while we were away); not the job's fault */
    size_t n_lost = 0;
    char ids[128] = "";
    int len = 0;
    for (size_t k = 0; k < d->n_jobs; k++) {
        struct djob *dj = &d->jobs[k];
        struct drank *rk = dj->n_ranks > 0 ? rank_on(dj, server) : NULL;
        if (!rk || rk->exited)
            continue;
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
            listed = run[i].job_id == (uint64_t)dj->spec->id && (int)run[i].attempt == dj->launch;
        if (listed)
            continue;
        rk->exited = true;
        dj->n_exited++;
        /* its processes all reported completion (stored before the restart):
         * they are gone because they are done */
        bool completed = dj->n_lease_ended >= dj->n_procs && dj->n_parked == 0;
        if (dj->state == DJ_RUNNING && !dj->terminated && completed)
            LOG(LOG_INFO, "deploy", "job %d attempt %d completed on server %d before the "
                                    "restart", dj->spec->id, dj->launch, server);
        if (dj->state == DJ_RUNNING && !dj->terminated && !completed) {
            dj->lost = true;
            LOG(LOG_INFO, "deploy", "job %d attempt %d is not on server %d any more: counted as "
                                    "exited, relaunched without a charge",
                dj->spec->id, dj->launch, server);
            if (n_lost++ < 8)
                len += snprintf(ids + len, sizeof ids - (size_t)len, "%s%d",
                                n_lost > 1 ? ", " : "", dj->spec->id);
        }
    }
    if (n_lost) /* one line per worker, not one per job */
        LOG(LOG_WARN, "deploy", "server %d no longer runs %zu job%s it ran (%s%s): counted as "
                                "exited, relaunched without a charge",
            server, n_lost, n_lost == 1 ? "" : "s", ids, n_lost > 8 ? ", ..." : "");
    pthread_cond_broadcast(&d->cv);
    return 0;
}

struct deploy_state *deploy_state_file_open(const char *path, struct err *err)
{
    return deploy_state_open(path, err);
}

void deploy_state_file_close(struct deploy_state *st)
{
    deploy_state_close(st);
}
