/*
 * Crediting (see deploy.c for the round): what each job's reports say it did.
 * The RPC handlers (deploy_rpc.c) note parked RoundEnds, LeaseEnded and exits
 * under d->mu; at the boundary deploy__credit_round() hands the ledger the
 * measured steps (the slowest process's, a crash keeps only the last
 * UpdateIters), ends the leases, finishes jobs or charges them a retry.
 */
#include "deploy_internal.h"

#include <string.h>

/* ------------------------------------------------------------ reports */

/* The end of a crashed job's log, one scheduler log line per line. */
static void log_tail_lines(const struct djob *dj, const char *tail)
{
    while (tail && *tail) {
        const char *nl = strchr(tail, '\n');
        int len = nl ? (int)(nl - tail) : (int)strlen(tail);
        if (len > 0)
            LOG(LOG_WARN, "deploy", "job %d log: %.*s", dj->spec->id, len > 300 ? 300 : len, tail);
        tail = nl ? nl + 1 : NULL;
    }
}

void deploy__job_exited(struct deploy *d, struct djob *dj, int server, int code, int sig,
                        bool lease_kill, bool worker_stop, const char *log_tail)
{
    for (int r = 0; r < dj->n_ranks; r++) {
        struct drank *rk = &dj->ranks[r];
        if (rk->server != server || rk->exited)
            continue;
        rk->exited = true;
        dj->n_exited++;
        bool clean = code == 0 && sig == 0;
        if (worker_stop && dj->state == DJ_RUNNING && !dj->terminated &&
            !(clean && dj->n_lease_ended > 0)) {
            /* its worker was told to stop (systemctl stop): the job got
             * SIGTERM and its grace, and did not end its lease itself */
            dj->lost = true;
            LOG(LOG_INFO, "deploy", "job %d attempt %d stopped with server %d: relaunched "
                                    "without a charge", dj->spec->id, dj->launch, server);
            break;
        }
        if (lease_kill && !dj->lease_ours && dj->state == DJ_RUNNING && !dj->terminated) {
            /* a restored job whose lease ran out before this scheduler could
             * extend it (the outage, or its worker re-registering late) */
            dj->lost = true;
            LOG(LOG_INFO, "deploy", "job %d attempt %d ended while the scheduler was away: "
                                    "relaunched without a charge", dj->spec->id, dj->launch);
            break;
        }
        if (lease_kill && dj->state == DJ_RUNNING && !dj->terminated && !dj->let_lapse) {
            /* nobody decided to let this lease go: the scheduler was too late
             * to extend it (starved of CPU, stalled). Its lateness, not the
             * job's fault: relaunched, not charged. A job left silent near
             * its lease's end (keep_leases) is charged below. */
            dj->lost = true;
            d->st->lease_kills++;
            dj->lease_killed = true;
            LOG(LOG_WARN, "deploy", "job %d attempt %d: its lease ran out before the scheduler "
                                    "extended it (scheduler late): relaunched without a charge",
                dj->spec->id, dj->launch);
            break;
        }
        if (lease_kill) {
            d->st->lease_kills++;
            dj->lease_killed = true;
            /* told to stop, still there at its lease's end: charged in D,
             * unless it then stopped cleanly on the SIGTERM (within its
             * kill-wait): that is the graceful stop it was asked for */
            if (dj->terminated && dj->state == DJ_RUNNING && !clean)
                dj->stop_ignored = true;
        }
        if (dj->state == DJ_RUNNING && !dj->terminated && !(clean && dj->n_lease_ended > 0) &&
            !dj->crashed) {
            dj->crashed = true;
            d->st->crashes++;
            LOG(LOG_WARN, "deploy", "job %d crashed on server %d (%s %d%s)%s", dj->spec->id,
                server, sig ? "signal" : "exit code", sig ? sig : code,
                lease_kill ? ", killed at its lease's end" : "",
                log_tail && *log_tail ? "; the end of its log:" : "");
            log_tail_lines(dj, log_tail);
        }
        break;
    }
    deploy__note_round_end(dj);
    pthread_cond_broadcast(&d->cv);
}

/* Stamp the moment a job's round ended (its last rank parked, its lease
 * ended, or it exited), when the report comes in: the driver may reach the
 * boundary late (a long stop-and-launch round on a loaded machine), and that
 * lateness is the scheduler's, not the job's; it must not be charged to the
 * job's JCT or counted as the job's delay. */
void deploy__note_round_end(struct djob *dj)
{
    if (dj->state == DJ_RUNNING && !dj->ended_ns && deploy__round_ended(dj))
        dj->ended_ns = mono_ns();
}

void deploy__job_heard(struct deploy *d, struct djob *dj)
{
    long long now = mono_ns();
    dj->last_msg_ns = now;
    dj->restored = false;
    if (!dj->first_report_ns && dj->state == DJ_RUNNING) {
        dj->first_report_ns = now;
        dj->startup_s = (double)(now - dj->launched_ns) / 1e9;
    }
}

/* The reference starts one iterator process per GPU and waits for all of
 * them (spec §2.4); a catalog entry that does not say `ranks = per-gpu`
 * makes the worker report one. A round that ended at the first of them would
 * credit the other ranks' reports to the next round and tell the job to stop
 * every round. So: a process that sends its rank shows at least rank + 1
 * processes; one that sends none speaks the stock iterator's protocol, and
 * then, as in the reference, the job has one process per GPU of its lease
 * (counted at its first RegisterJob, not as they come: under load a rank
 * may register after another one has ended its first round), or more if
 * more register. */
void deploy__job_registered(struct djob *dj, int rank)
{
    int n = rank + 1;
    if (rank < 0) {
        int gpus = 0;
        for (int r = 0; r < dj->n_ranks; r++)
            gpus += dj->ranks[r].n_gpus;
        n = ++dj->n_registered > gpus ? dj->n_registered : gpus;
    }
    if (n > dj->n_procs && n <= DJ_MAX_PROCS) {
        LOG(LOG_INFO, "deploy", "job %d attempt %d: %d iterator processes, not %d as launched%s",
            dj->spec->id, dj->launch, n, dj->n_procs,
            rank < 0 ? " (no rank sent: one per GPU, as the reference)" : "");
        dj->n_procs = n;
    }
}

long deploy__round_budget(struct djob *dj, uint64_t round)
{
    if (!dj->memo_set) {
        dj->memo_set = true;
        dj->memo_round = (long)round;
        dj->memo_budget = dj->budget;
    }
    return (long)round == dj->memo_round ? dj->memo_budget : dj->budget;
}

bool deploy__round_ended(const struct djob *dj)
{
    return dj->n_parked + dj->n_lease_ended >= dj->n_procs || dj->n_exited >= dj->n_ranks ||
           dj->crashed || dj->lost;
}

void deploy__answer_round_end(struct djob *dj, bool terminate)
{
    if (terminate && !dj->terminated)
        dj->stop_ns = mono_ns();
    deploy__answer_parked(dj, terminate);
}

void deploy__reset_round(struct djob *dj)
{
    dj->ended_ns = 0;
    deploy__reset_reports(dj);
    dj->round_end_steps = -1;
    dj->lease_end_steps = 0;
    dj->progress_steps = 0;
    dj->memo_set = false;
}

void deploy__job_persist(struct deploy *d, struct djob *dj, const char *state)
{
    if (!d->db || !dj->j)
        return;
    deploy_state_job(d->db, dj->spec->id, dj->j->model->name, state, dj->launch,
                     dj->j->executed, dj->j->total_iters, dj->spec->arrival, dj->finish, NULL);
}

void deploy__finish_job(struct deploy *d, struct djob *dj, double b)
{
    struct job *j = dj->j;
    /* the lease ends at the boundary, or when the job's last report came
     * in if that was later (a late job delays its own completion) */
    double now = dj->ended_ns ? (double)(dj->ended_ns - d->t0_ns) / 1e9 * d->cfg->time_scale : b;
    if (now < b)
        now = b;
    dj->finish = now;
    dj->state = DJ_DONE;
    sched_run_finish(d->ledger, j, now);
    deploy__job_persist(d, dj, "finished");
    /* the part of the JCT past its last boundary: the job's last round ended
     * late (a slow start-up, a starved process, RPC delays on a loaded
     * machine); the plan decided everything else */
    double late = now - b;
    if (late > 0) {
        d->st->jobs_late++;
        if (late > d->st->late_s_max)
            d->st->late_s_max = late;
    }
    if (d->cfg->plan_log)
        fprintf(d->cfg->plan_log, "finish %d %.3f %.3f\n", j->id, now - j->arrival, late);
}

void deploy__fail_job(struct deploy *d, struct djob *dj)
{
    LOG(LOG_WARN, "deploy", "job %d failed after %d crashes", dj->spec->id, dj->crashes);
    deploy__answer_round_end(dj, true);
    sched_run_fail(d->ledger, dj->j);
    dj->state = DJ_FAILED;
    d->st->jobs_failed++;
    deploy__job_persist(d, dj, "failed");
}

/* The steps a job's round did, from its reports. */
static long measured_steps(const struct djob *dj)
{
    /* every process ended its round (RoundEnd) before it went: the round's
     * work is done and saved (a job stopped with its worker while it waited
     * for the answer) */
    if ((dj->crashed || dj->lost) && dj->n_parked >= dj->n_procs && dj->round_end_steps >= 0)
        return dj->round_end_steps;
    if (dj->crashed || dj->lost)
        return dj->progress_steps; /* the last UpdateIters before it went */
    if (dj->n_parked > 0)
        return dj->n_lease_ended > 0 && dj->lease_end_steps < dj->round_end_steps
                   ? dj->lease_end_steps
                   : dj->round_end_steps;
    return dj->lease_end_steps;
}

/* B: replace the plan's credit with what each job did, end the leases,
 * finish or charge jobs. Returns true when the run is over. */
bool deploy__credit_round(struct deploy *d, double b)
{
    for (size_t i = 0; i < d->n_jobs; i++) {
        struct djob *dj = &d->jobs[i];
        if (dj->state != DJ_RUNNING)
            continue;
        struct job *j = dj->j;
        long before = dj->base;
        sched_run_credit(d->ledger, j, measured_steps(dj));
        deploy_state_reports_clear(d->db, dj->spec->id, NULL); /* consumed, in this round */
        LOG(LOG_DEBUG, "deploy", "job %d attempt %d round %.0f: credited %ld steps (%d of %d "
                                 "processes in RoundEnd, %d ended)",
            dj->spec->id, dj->launch, b, j->executed - before, dj->n_parked, dj->n_procs,
            dj->n_lease_ended);
        if (sched_run_lease_end(d->ledger, j, b)) {
            deploy__answer_round_end(dj, true);
            deploy__finish_job(d, dj, b);
        } else if (dj->crashed && !dj->lost) {
            dj->crashes++;
            if (dj->crashes > d->cfg->max_retries)
                deploy__fail_job(d, dj);
        }
    }
    /* like the simulator: the run ends the moment every job is done (a
     * service runs on, for the next submissions) */
    bool over = !d->cfg->service && d->next_arrival == d->n_jobs && d->adm.n_merged == d->adm.n_subs;
    for (size_t i = 0; i < d->n_jobs && over; i++)
        over = d->jobs[i].state == DJ_DONE || d->jobs[i].state == DJ_FAILED;
    return over;
}
