/*
 * The deploy round loop (see deploy.h). One driver thread; RPC handlers
 * (deploy_rpc.c) only record reports and signal d->cv. The parts the loop
 * drives live beside it: crediting (deploy_credit.c), leases
 * (deploy_lease.c), the worker registry (deploy_workers.c), the admin
 * service (deploy_admin.c), restart (deploy_restore.c) and --record
 * (deploy_record.c). Every wait is a
 * pthread_cond_timedwait on CLOCK_MONOTONIC, bounded by the next round
 * boundary, a lease deadline or the worker heartbeat timeout: nothing spins.
 *
 * A round at logical time b, processed at wall time t0 + b / K, one function
 * per phase (run_rounds):
 *  A. phase_a_round_end: wait until every running job has ended its round
 *     (all ranks parked in RoundEnd, or LeaseEnded at its total, or exited).
 *     A late job is waited for: a delay, logged and visible in its JCT, not a
 *     crash. The parked jobs' leases are kept alive meanwhile; only the late
 *     job's own lease end bounds the wait (its worker kills it: charged).
 *  B. deploy__credit_round / phase_b_arrivals: the ledger replaces the plan's
 *     up-front credit with the measured steps (a crash keeps only the steps
 *     last reported); leases end, jobs finish or are charged; arrivals; lost
 *     workers leave planning and registered ones return.
 *  C. phase_c_plan: the ledger plans; a job kept on the same servers with the
 *     same GPU count, CPUs and memory keeps running (RoundEnd answered
 *     "extend", lease extended) even if the plan renumbered its GPUs; every
 *     other parked RoundEnd is told to stop.
 *  D. phase_d_stop_wait: wait for the stopped jobs' processes to be gone. A
 *     job that ignores its stop is killed by its worker at its lease's end and
 *     charged a retry; the job that waits for its GPUs is not.
 *  E. deploy__launch_round: RunJob the new placements, one call per (job, server),
 *     on physical GPUs that kept jobs do not hold (map_gpus, deploy_lease.c).
 * JCT is measured on the wall clock: arrival -> the boundary at which the
 * finished lease was processed, times K.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_to_scheduler.pb-c.h"
#include "notify.h"
#include "synergy_worker.pb-c.h"

double deploy__logical_now(const struct deploy *d)
{
    return (double)(mono_ns() - d->t0_ns) / 1e9 * d->cfg->time_scale;
}

static long long wall_ns(const struct deploy *d, double b)
{
    return d->t0_ns + (long long)(b / d->cfg->time_scale * 1e9);
}

/* ------------------------------------------------------------ job table */

static size_t id_hash(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

void deploy__index_jobs(struct deploy *d)
{
    size_t cap = 64;
    while (cap < 2 * d->n_jobs + 2)
        cap *= 2;
    if (cap != d->idx_cap) {
        free(d->idx);
        d->idx = xmalloc(cap * sizeof *d->idx);
        d->idx_cap = cap;
    }
    memset(d->idx, 0, cap * sizeof *d->idx);
    for (size_t i = 0; i < d->n_jobs; i++) {
        size_t h = id_hash((uint64_t)d->jobs[i].spec->id, cap);
        while (d->idx[h])
            h = (h + 1) & (cap - 1);
        d->idx[h] = (uint32_t)(i + 1);
    }
}

struct djob *deploy__job_by_id(struct deploy *d, uint64_t id)
{
    if (!d->idx_cap)
        return NULL;
    for (size_t h = id_hash(id, d->idx_cap); d->idx[h]; h = (h + 1) & (d->idx_cap - 1))
        if ((uint64_t)d->jobs[d->idx[h] - 1].spec->id == id)
            return &d->jobs[d->idx[h] - 1];
    return NULL;
}

struct djob *deploy__find_job(struct deploy *d, uint64_t id)
{
    struct djob *dj = deploy__job_by_id(d, id);
    return dj && dj->j ? dj : NULL;
}

void deploy__lease_tables(struct djob *dj)
{
    if (dj->lease_tab)
        return;
    dj->lease_tab = xcalloc(1, sizeof *dj->lease_tab);
    dj->ranks = dj->lease_tab->ranks;
    dj->parked = dj->lease_tab->parked;
    dj->lease_ended_rank = dj->lease_tab->lease_ended_rank;
}

void deploy__lease_tables_free(struct djob *dj)
{
    if (!dj->lease_tab || dj->n_ranks > 0 || dj->n_parked > 0 || dj->state == DJ_RUNNING)
        return;
    free(dj->lease_tab);
    dj->lease_tab = NULL;
    dj->ranks = NULL;
    dj->parked = NULL;
    dj->lease_ended_rank = NULL;
    free(dj->sig_shares); /* the placement signature goes with the lease */
    dj->sig_shares = NULL;
    dj->sig_cap = 0;
    dj->sig_n_shares = 0;
}

static void timed_wait(struct deploy *d, long long until_ns)
{
    deploy__keep_leases(d);
    long long cap = mono_ns() + (long long)d->cfg->heartbeat_ms * 1000000LL;
    if (until_ns > cap)
        until_ns = cap;
    struct timespec ts = {.tv_sec = until_ns / 1000000000LL, .tv_nsec = until_ns % 1000000000LL};
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    notify_watchdog();
    deploy__check_workers(d);
}

/* ---------------------------------------------------------------- run */

/* Commit the round's writes (deploy__commit: what waited for them is
 * answered; a second failure in a row stops the run). 0 or -1 + err. */
static int commit(struct deploy *d, struct err *err)
{
    return deploy__commit(d, err);
}

static bool stop_asked(const struct deploy *d)
{
    return d->cfg->stop && *d->cfg->stop;
}

/* Wait for boundary b; false if a stop was asked meanwhile. */
static bool wait_boundary(struct deploy *d, double b)
{
    if (stop_asked(d)) /* also when every round runs late and none waits */
        return false;
    while (mono_ns() < wall_ns(d, b)) {
        if (stop_asked(d))
            return false;
        timed_wait(d, wall_ns(d, b));
    }
    double late_ms = (double)(mono_ns() - wall_ns(d, b)) / 1e6;
    if (late_ms > d->st->max_lateness_ms)
        d->st->max_lateness_ms = late_ms;
    d->late_ms = late_ms;
    d->cur_b = b;
    return true;
}

/* Does dj's lease (with the margin for its exit report) still hold at now?
 * Then *wake is pulled in to the moment it runs out; after it, the caller
 * kills the job. */
static bool lease_holds(const struct deploy *d, const struct djob *dj, long long now,
                        long long *wake)
{
    /* its workers SIGTERM it at its lease's end and SIGKILL it the kill-wait
     * after: its exit report may come that much later */
    long long give_up = dj->lease_until_ns + d->lease.kill_wait_ns + d->lease.exit_margin_ns;
    if (now >= give_up)
        return false;
    if (give_up < *wake)
        *wake = give_up;
    return true;
}

/* A: every running lease ends its round (all ranks parked in RoundEnd, or
 * LeaseEnded at its total, or exited). A job that is late is waited for:
 * lateness is a delay, logged and visible in its JCT, never a crash. Only
 * its lease's end bounds the wait; then the worker stops it (SIGTERM, and
 * SIGKILL after the kill-wait: charged, in deploy__job_exited). Jobs already
 * parked keep their leases alive. */
static void phase_a_round_end(struct deploy *d, double b)
{
    long long grace_at = wall_ns(d, b) + d->lease.grace_ns;
    for (;;) {
        bool all = true;
        long long now = mono_ns(), wake = now + 1000000000LL;
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (dj->state != DJ_RUNNING)
                continue;
            if (deploy__round_ended(dj)) {
                if (!dj->ended_ns)
                    dj->ended_ns = now;
                continue;
            }
            if (lease_holds(d, dj, now, &wake)) {
                all = false;
                continue;
            }
            /* past its lease and no exit report: the worker did not kill it
             * or cannot tell us; kill it ourselves and charge it */
            deploy__kill_job(d, dj);
            if (!deploy__round_ended(dj)) {
                LOG(LOG_WARN, "deploy", "job %d: no round end and no exit by its lease's end "
                                        "(%d/%d parked, %d exited): charged as a crash",
                    dj->spec->id, dj->n_parked, dj->n_procs, dj->n_exited);
                dj->crashed = true;
                d->st->crashes++;
            }
            now = mono_ns();
        }
        if (all)
            break;
        timed_wait(d, wake);
    }
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state == DJ_RUNNING && dj->ended_ns > grace_at && !dj->crashed && !dj->lost) {
            d->st->delays++;
            LOG(LOG_INFO, "deploy", "job %d ended round %.0f %.0f ms after the boundary: a delay",
                dj->spec->id, b, (double)(dj->ended_ns - wall_ns(d, b)) / 1e6);
        }
    }
}

/* B, continued: arrivals up to b, and the servers' planning status. 0 or -1 + err. */
static int phase_b_arrivals(struct deploy *d, double b, struct err *err)
{
    deploy__admin_merge(d);
    while (d->next_arrival < d->n_jobs && d->jobs[d->next_arrival].spec->arrival <= b) {
        struct djob *dj = &d->jobs[d->next_arrival++];
        if (deploy__admin_cancelled_before_arrival(d, dj))
            continue; /* never enters the ledger (nor the --record replay trace) */
        dj->j = sched_run_arrive(d->ledger, dj->spec, err);
        if (!dj->j)
            return -1;
        dj->state = DJ_QUEUED;
        deploy__job_persist(d, dj, "queued");
    }
    deploy__admin_cancel(d);
    deploy__admit_recount(d); /* after the round's finishes and cancellations */
    deploy__workers_sync_planning(d);
    return 0;
}

/* C: plan the round; extend every lease the plan keeps, stop the rest. Fills
 * d->relaunch. 0 or -1 + err (the planner failed). */
static int phase_c_plan(struct deploy *d, double b, struct err *err)
{
    const struct deploy_config *cfg = d->cfg;
    long long t_plan = mono_ns();
    struct job **placed;
    size_t n_placed;
    struct sched_round_sample smp;
    if (sched_run_plan(d->ledger, b, &placed, &n_placed, &smp, err) < 0)
        return -1;
    d->plan_ms = (double)(mono_ns() - t_plan) / 1e6;
    d->n_placed = n_placed;
    struct deploy_state_sample ds = {.t = b, .runnable = (long)smp.runnable,
                                     .placed = (long)smp.placed, .started = (long)smp.started,
                                     .preempted = (long)smp.preempted,
                                     .demoted = (long)smp.demoted};
    for (int k = 0; k < 3; k++) {
        ds.alloc[k] = smp.alloc[k];
        ds.util[k] = smp.util[k];
        ds.demand[k] = smp.demand[k];
    }
    deploy_state_sample(d->db, &ds, NULL); /* committed with the plan */
    if (cfg->plan_log) {
        fprintf(cfg->plan_log, "%.6f:", b);
        for (size_t i = 0; i < n_placed; i++)
            fprintf(cfg->plan_log, " %d", placed[i]->id);
        fprintf(cfg->plan_log, "\n");
    }
    for (size_t i = 0; i < n_placed; i++) {
        struct djob *dj = deploy__find_job(d, (uint64_t)placed[i]->id);
        sched_run_round_credit(d->ledger, placed[i], &dj->base, &dj->budget);
    }
    d->st->preemptions += smp.preempted;
    if (cfg->on_round) {
        struct sched_run_totals tot;
        sched_run_totals_get(d->ledger, &tot);
        cfg->on_round(cfg->ctx, tot.rounds, &smp);
    }

    long long t_dispatch = mono_ns();
    /* a late scheduler gives the next round its full length from now */
    long long next = wall_ns(d, b + d->round_s), min_next = mono_ns() + d->lease.round_ns;
    d->lease.until_ns = (next > min_next ? next : min_next) + deploy__lease_slack(d);
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        d->relaunch[i] = false;
        if (dj->state == DJ_QUEUED) {
            d->relaunch[i] = dj->j->n_alloc > 0;
            continue;
        }
        if (dj->state != DJ_RUNNING)
            continue;
        bool healthy = !dj->crashed && !dj->lost && dj->n_parked == dj->n_procs;
        /* the lease rule is the ledger's (sched_same_placement) */
        if (dj->j->n_alloc > 0 && healthy &&
            sched_same_placement(dj->sig_shares, dj->sig_n_shares, dj->j->shares,
                                 dj->j->n_shares)) {
            deploy__extend(d, dj, b, d->lease.until_ns);
            continue;
        }
        deploy__answer_round_end(dj, true);
        d->relaunch[i] = dj->j->n_alloc > 0;
        if (dj->crashed || dj->lost)
            d->st->relaunches += d->relaunch[i];
    }
    d->dispatch_ms = (double)(mono_ns() - t_dispatch) / 1e6;
    return 0;
}

static bool holds_ranks(const struct djob *dj)
{
    bool stopping = (dj->state == DJ_RUNNING && dj->terminated) || dj->state == DJ_DONE ||
                    dj->state == DJ_FAILED;
    return stopping && dj->n_ranks > 0 && dj->n_exited < dj->n_ranks;
}

/* D: wait until the stopped jobs' processes are gone (worker exit reports).
 * A job that ignores its stop gets SIGTERM from its worker at its lease's
 * end and SIGKILL after the kill-wait; unless it then exits cleanly it is
 * charged a retry. Its GPUs are not given to anyone before it is gone: the
 * job that waits for them only starts late. */
static void phase_d_stop_wait(struct deploy *d, double b)
{
    for (;;) {
        bool all = true;
        long long now = mono_ns(), wake = now + 1000000000LL;
        for (size_t i = 0; i < d->n_jobs; i++) {
            struct djob *dj = &d->jobs[i];
            if (!holds_ranks(dj))
                continue;
            if (lease_holds(d, dj, now, &wake)) {
                all = false;
                continue;
            }
            LOG(LOG_WARN, "deploy", "job %d: no exit report by its lease's end; killing it",
                dj->spec->id);
            deploy__kill_job(d, dj);
            for (int r = 0; r < dj->n_ranks; r++)
                dj->ranks[r].exited = true;
            dj->n_exited = dj->n_ranks;
            if (dj->state == DJ_RUNNING)
                dj->stop_ignored = true;
            now = mono_ns();
        }
        if (all)
            break;
        timed_wait(d, wake);
    }
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state == DJ_RUNNING && dj->terminated) {
            deploy__lease_persist(d, dj, b - d->round_s,
                          dj->crashed ? "crashed" : dj->lost ? "lost" : "ended");
            dj->state = DJ_QUEUED;
            dj->n_ranks = 0;
            deploy__job_persist(d, dj, "queued");
            if (dj->stop_ignored && !dj->crashed) {
                d->st->stops_ignored++;
                LOG(LOG_WARN, "deploy", "job %d ignored its stop: killed at its lease's end, "
                                        "charged a retry", dj->spec->id);
                if (++dj->crashes > d->cfg->max_retries) {
                    d->relaunch[i] = false;
                    deploy__fail_job(d, dj);
                }
            }
        }
        if (dj->state == DJ_DONE || dj->state == DJ_FAILED)
            dj->n_ranks = 0;
        deploy__lease_tables_free(dj);
    }
}

/* The run is over: let the last exits come in before the server goes away. */
static void wait_last_exits(struct deploy *d)
{
    long long until = mono_ns() + 3000000000LL;
    for (;;) {
        bool gone = true;
        for (size_t i = 0; i < d->n_jobs && gone; i++)
            gone = d->jobs[i].n_exited >= d->jobs[i].n_ranks;
        if (gone || mono_ns() >= until)
            break;
        timed_wait(d, until);
    }
}

/* Fault drills (tests/integration/deploy_drills.sh): SYNERGY_TEST_CRASH_AT=P:N
 * makes the scheduler SIGKILL itself at point P of the N-th round it
 * processes: 'b' at the boundary (before any credit), 'e' during the launches
 * (RunJobs sent, not yet committed). A test hook, like SQLite's: inert
 * unless the variable is set. */
static void crash_point(struct deploy *d, char point)
{
    const char *at = getenv("SYNERGY_TEST_CRASH_AT");
    if (!at || at[0] != point || at[1] != ':')
        return;
    if (atol(at + 2) != (long)d->st->dispatch_rounds + 1)
        return;
    LOG(LOG_WARN, "deploy", "SYNERGY_TEST_CRASH_AT=%s: killing the scheduler", at);
    fflush(NULL);
    raise(SIGKILL);
}

/* The round loop, from the first boundary to the end. 0, or -1 + err.
 * Called with d->mu held. */
static int run_rounds(struct deploy *d, double b, struct err *err)
{
    struct deploy_stats *st = d->st;
    for (;;) {
        if (!wait_boundary(d, b)) {
            LOG(LOG_INFO, "deploy", "stopping at logical time %.0f as asked; the state holds "
                                    "the run (--state continues it)", deploy__logical_now(d));
            break;
        }
        phase_a_round_end(d, b);
        crash_point(d, 'b');
        deploy__drill_completion(d);
        deploy_state_begin(d->db, NULL);
        if (deploy__credit_round(d, b)) {
            wait_last_exits(d);
            deploy__persist(d, true);
            deploy_state_round(d->db, (long)st->dispatch_rounds + 1, b, true, NULL);
            if (commit(d, err) < 0)
                return -1;
            deploy__publish(d, b, d->late_ms, (long)st->dispatch_rounds);
            break;
        }
        if (phase_b_arrivals(d, b, err) < 0 || phase_c_plan(d, b, err) < 0) {
            commit(d, NULL);
            return -1;
        }
        deploy__record_sync(d); /* recorded arrivals before the state that has them */
        crash_point(d, 'r');    /* tests: recorded, not committed (the arrivals come again) */
        /* the plan and its extensions are an event that matters */
        d->next_b = b + d->round_s;
        deploy__persist(d, false);
        deploy_state_round(d->db, (long)st->dispatch_rounds + 1, b, false, NULL);
        if (commit(d, err) < 0)
            return -1;
        deploy_state_begin(d->db, NULL);
        long long t_stop = mono_ns();
        phase_d_stop_wait(d, b);
        double stop_ms = (double)(mono_ns() - t_stop) / 1e6;
        if (stop_ms > d->lease.stop_ms_max)
            d->lease.stop_ms_max = stop_ms;
        deploy__launch_round(d, b);
        crash_point(d, 'e');
        deploy__drill_cancel(d, (long)st->dispatch_rounds + 1, timed_wait);
        deploy__persist(d, false);
        st->plan_ms_sum += d->plan_ms;
        st->dispatch_ms_sum += d->dispatch_ms;
        st->dispatch_rounds++;
        if (d->plan_ms > st->plan_ms_max)
            st->plan_ms_max = d->plan_ms;
        if (d->dispatch_ms > st->dispatch_ms_max)
            st->dispatch_ms_max = d->dispatch_ms;
        deploy_state_round(d->db, (long)st->dispatch_rounds, b, true, NULL);
        if (commit(d, err) < 0)
            return -1;
        /* the snapshot of the round just committed (metrics, STATUS, watchdog) */
        deploy__publish(d, b, d->late_ms, (long)st->dispatch_rounds);
        LOG(LOG_DEBUG, "deploy", "round %.0f: %zu placed, plan %.2f ms, stop-wait %.1f ms, "
                                 "dispatch %.1f ms",
            b, d->n_placed, d->plan_ms, stop_ms, d->dispatch_ms);
        if (sched_runnable_count(d->sched) == 0 && !d->cfg->service &&
            (d->cfg->is_static || d->next_arrival == d->n_jobs) && d->adm.n_merged == d->adm.n_subs) {
            deploy_state_begin(d->db, NULL);
            deploy__persist(d, true);
            if (commit(d, err) < 0)
                return -1;
            break;
        }
        b += d->round_s;
    }
    d->end_b = b;
    return 0;
}

/* deploy_state_samples_each -> cfg->on_sample */
static int give_sample(void *ctx, const struct deploy_state_sample *ds)
{
    const struct deploy_config *cfg = ctx;
    struct sched_round_sample s = {.now = ds->t, .runnable = (size_t)ds->runnable,
                                   .placed = (size_t)ds->placed, .started = (size_t)ds->started,
                                   .preempted = (size_t)ds->preempted,
                                   .demoted = (size_t)ds->demoted};
    for (int k = 0; k < 3; k++) {
        s.alloc[k] = ds->alloc[k];
        s.util[k] = ds->util[k];
        s.demand[k] = ds->demand[k];
    }
    cfg->on_sample(cfg->ctx, &s);
    return 0;
}

struct deploy *deploy__new(const struct deploy_config *cfg, struct deploy_stats *st,
                           struct err *err)
{
    struct deploy *d = xcalloc(1, sizeof *d);
    d->cfg = cfg;
    d->advertise = cfg->advertise     ? cfg->advertise
                   : cfg->listen_ip ? cfg->listen_ip
                                    : "127.0.0.1";
    d->st = st;
    d->round_s = cfg->sched.round_duration;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);

    struct sched_run_params rp = {
        .sched = cfg->sched,
        .zoo = cfg->zoo,
        .trace = cfg->jobs,
        .n_trace = cfg->n_jobs,
        .log_tag = "deploy",
        .on_arrive = deploy__record_arrival,
        .arrive_ctx = d,
    };
    d->rec.fd = -1;
    /* jobs submitted online are measured too (ids after the trace's) */
    rp.measure_lo = 0;
    for (size_t i = 0; i < cfg->n_jobs; i++)
        if (i == 0 || cfg->jobs[i].id < rp.measure_lo)
            rp.measure_lo = cfg->jobs[i].id;
    rp.measure_hi = INT_MAX;
    if (cfg->measure_hi > cfg->measure_lo) {
        rp.measure_lo = cfg->measure_lo;
        rp.measure_hi = cfg->measure_hi;
    }
    d->ledger = sched_run_create(&rp, err);
    if (!d->ledger)
        goto fail;
    d->sched = sched_run_sched(d->ledger);
    if ((size_t)sched_num_servers(d->sched) != cfg->n_workers) {
        errprintf(err, "the cluster has %d servers but the workers file lists %zu",
                  sched_num_servers(d->sched), cfg->n_workers);
        goto fail;
    }
    d->n_jobs = cfg->n_jobs;
    d->cap_jobs = cfg->n_jobs + 1;
    d->jobs = xcalloc(d->cap_jobs, sizeof *d->jobs);
    d->relaunch = xcalloc(d->cap_jobs, sizeof *d->relaunch);
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        d->jobs[i].spec = &cfg->jobs[i];
        d->jobs[i].round_end_steps = -1;
        d->jobs[i].finish = -1;
    }
    /* arrivals in (time, trace order), like the simulator's event heap */
    if (d->n_jobs > 0)
        qsort(d->jobs, d->n_jobs, sizeof *d->jobs, deploy__arrival_cmp);
    deploy__index_jobs(d);
    d->reg.n_workers = cfg->n_workers;
    d->reg.workers = xcalloc(cfg->n_workers, sizeof *d->reg.workers);
    for (size_t i = 0; i < cfg->n_workers; i++)
        d->reg.workers[i].a = cfg->workers[i];
    d->plan_log_bytes = -1;
    d->own_db = !cfg->state;
    /* without --state: a private temporary file, not ":memory:", which held
     * every job's rows in RAM (900 bytes a queued job: issue 21) */
    d->db = cfg->state ? cfg->state
                       : deploy_state_open(cfg->state_path ? cfg->state_path : "", err);
    if (!d->db)
        goto fail;
    d->lease.round_ns = (long long)(d->round_s / cfg->time_scale * 1e9);
    d->lease.grace_ns = d->lease.round_ns / 2 > 400000000LL ? d->lease.round_ns / 2 : 400000000LL;
    /* long enough for a restarted scheduler to adopt running jobs: workers
     * retry registration with a backoff of up to 5 s */
    d->lease.slack_ns = 2 * d->lease.grace_ns > 5000000000LL ? 2 * d->lease.grace_ns : 5000000000LL;
    d->lease.exit_margin_ns = d->lease.grace_ns > 1000000000LL ? d->lease.grace_ns : 1000000000LL;
    d->lease.silence_ns = 2 * (d->lease.round_ns + d->lease.slack_ns);
    /* its workers SIGTERM a job at its lease's end and SIGKILL it this long
     * after: its exit is waited for that much longer */
    d->lease.kill_wait_ns = (long long)(cfg->kill_wait_s / cfg->time_scale * 1e9);
    if (deploy__restore(d, err) < 0 || deploy__plan_log_open(d, err) < 0)
        goto fail;
    deploy__admin_init(d);
    if (deploy__record_open(d, err) < 0)
        goto fail;
    if (!d->restarted)
        deploy__set_t0(d);
    return d;
fail:
    deploy__free(d);
    return NULL;
}

void deploy__free(struct deploy *d)
{
    if (!d)
        return;
    deploy__durable_free(d);    /* answers the completions still waiting */
    rpc_server_destroy(d->srv); /* fails the calls still parked */
    for (size_t i = 0; i < d->reg.n_workers; i++)
        rpc_client_destroy(d->reg.workers[i].cl);
    for (size_t i = 0; i < d->reg.n_dead_cl; i++)
        rpc_client_destroy(d->reg.dead_cl[i]);
    free(d->reg.dead_cl);
    deploy__record_close(d, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    if (d->own_db)
        deploy_state_close(d->db);
    for (size_t i = 0; i < d->n_jobs; i++) {
        free(d->jobs[i].sig_shares);
        free(d->jobs[i].lease_tab);
    }
    free(d->jobs);
    free(d->idx);
    free(d->relaunch);
    free(d->reg.workers);
    deploy__admin_free(d);
    sched_run_destroy(d->ledger);
    free(d);
}

/* The end's job counts for the summary (deploy_stats). A cancel that was
 * answered (and stored) counts as a cancel even when the service stopped
 * before the next boundary applied it; so does a submission not yet merged
 * into the job table count as a job (a restart from --state applies both). */
static void count_jobs(const struct deploy *d, struct deploy_stats *st)
{
    st->jobs_known = d->n_jobs + (d->adm.n_subs - d->adm.n_merged);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct djob *dj = &d->jobs[i];
        bool ended = dj->state == DJ_DONE || dj->state == DJ_FAILED;
        bool cancelled = dj->cancelled || (dj->cancel_req && !ended);
        st->jobs_cancelled += cancelled;
        st->jobs_unfinished += !cancelled && !ended;
    }
    for (size_t i = d->adm.n_merged; i < d->adm.n_subs; i++) {
        st->jobs_cancelled += d->adm.subs[i]->cancel;
        st->jobs_unfinished += !d->adm.subs[i]->cancel;
    }
}

int deploy_run(const struct deploy_config *cfg, struct sched_result *res, struct deploy_stats *st,
               struct err *err)
{
    memset(res, 0, sizeof *res);
    memset(st, 0, sizeof *st);
    if (cfg->n_jobs == 0 && !cfg->service)
        return errprintf(err, "the trace has no jobs");
    if (!(cfg->time_scale > 0))
        return errprintf(err, "the time scale must be positive");
    struct deploy *d = deploy__new(cfg, st, err);
    if (!d)
        return -1;
    int rc = -1;
    if (deploy__serve(d, err) < 0)
        goto out_free;
    if (cfg->on_listening)
        cfg->on_listening(cfg->ctx, d->port);

    pthread_mutex_lock(&d->mu);
    deploy__publish(d, -1, 0, 0);
    if (deploy__wait_registration(d, err) < 0) {
        pthread_mutex_unlock(&d->mu);
        goto out_srv;
    }
    /* heartbeats restart now: registration may have taken a while */
    double b;
    if (d->restarted) {
        b = d->next_b;
    } else {
        deploy__set_t0(d);
        b = cfg->is_static ? 1
            : cfg->n_jobs ? ceil(d->jobs[0].spec->arrival / d->round_s) * d->round_s
                          : 0;
        d->next_b = b;
        deploy_state_begin(d->db, NULL);
        deploy__persist(d, false);
        if (commit(d, err) < 0) {
            pthread_mutex_unlock(&d->mu);
            goto out_srv;
        }
    }
    for (size_t i = 0; i < d->reg.n_workers; i++)
        d->reg.workers[i].last_hb_ns = mono_ns();
    d->adm.accepting = true;
    d->end_b = b;
    int loop = run_rounds(d, b, err);
    pthread_mutex_unlock(&d->mu);
    if (loop < 0)
        goto out_srv;
    if (deploy__record_close(d, err) < 0)
        goto out_srv;
    if (cfg->on_sample &&
        deploy_state_samples_each(d->db, give_sample, (void *)cfg, err) < 0)
        goto out_srv;
    sched_run_result(d->ledger, d->end_b, res);
    count_jobs(d, st);
    if (cfg->service) { /* a service's window: the jobs that arrived, bar failed and cancelled */
        res->window_size = res->jobs_measured;
        for (size_t i = 0; i < d->next_arrival; i++)
            res->window_size += d->jobs[i].state != DJ_DONE && d->jobs[i].state != DJ_FAILED;
        res->window_complete = res->window_size == res->jobs_measured;
    }
    rc = 0;
out_srv:
    /* nothing may stay parked: tell any leftover job to stop */
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_jobs; i++)
        deploy__answer_round_end(&d->jobs[i], true);
    d->adm.accepting = false;
    if (d->adm.n_sub_wait || d->adm.n_cancel_wait) /* parked in a round never committed */
        deploy__admin_committed(d, "the scheduler stopped before storing it");
    pthread_mutex_unlock(&d->mu);
    if (cfg->on_finished)
        cfg->on_finished(cfg->ctx);
out_free:
    deploy__free(d);
    return rc;
}
