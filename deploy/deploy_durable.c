/*
 * Durable or refused (issue 20): what the scheduler acknowledges is stored
 * first, and a state file that cannot be written stops the scheduler from
 * acting as if it could.
 *
 * Acknowledgements. A submission, a cancel and a job's completion report
 * (LeaseEnded at its total) are answered only once their rows are on disk:
 * at once when no round transaction is open (each write commits by itself,
 * synchronous=FULL), else parked until the round loop's commit
 * (deploy__commit), which answers them, or refuses them UNAVAILABLE with the
 * reason when it fails. A completion changes nothing in memory before it is
 * stored, so a refused one is as if it never came (the stand-in job retries;
 * a restarted scheduler reads the stored ones back, deploy_restore.c).
 *
 * Failures. A commit that fails (full disk, read-only file, I/O error; a
 * failed write inside the round's transaction fails the commit too, see
 * deploy_state.h) leaves the file as of the previous commit. The scheduler
 * logs one line, refuses submissions, keeps its running jobs going and
 * writes the whole state again at its next commits; if a commit of the next
 * round fails too, the run stops with an error (exit 1), the file still
 * holding the last commit, from which --state continues.
 */
#include "deploy_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_to_scheduler.pb-c.h"

/* The state file's name for messages. */
static const char *state_name(const struct deploy *d)
{
    return d->cfg->state_path ? d->cfg->state_path : "the state (in memory)";
}

/* A stored completion report changes the job's round: the process `rank`
 * (-1: not sent) ended its lease at `steps` of the round. Under d->mu. */
static void apply_completion(struct deploy *d, struct djob *dj, int rank, long steps)
{
    if (rank >= 0 && rank < DJ_MAX_PROCS && dj->lease_ended_rank[rank])
        return; /* a retried report of a rank already in */
    if (rank >= 0 && rank < DJ_MAX_PROCS)
        dj->lease_ended_rank[rank] = true;
    if (dj->n_lease_ended == 0 || steps < dj->lease_end_steps)
        dj->lease_end_steps = steps;
    dj->n_lease_ended++;
    deploy__note_round_end(dj);
    pthread_cond_broadcast(&d->cv);
}

void deploy__restore_completion(struct deploy *d, struct djob *dj, int rank, long steps)
{
    apply_completion(d, dj, rank, steps);
}

enum rpc_result deploy__completion(struct deploy *d, rpc_call_t *call, struct djob *dj, int rank,
                                   long steps)
{
    struct err e = {{0}};
    if (d->db && deploy_state_report(d->db, dj->spec->id, dj->launch, rank, steps, &e) < 0) {
        LOG(LOG_WARN, "deploy", "job %d: its completion report could not be stored: %s",
            dj->spec->id, e.msg);
        rpc_call_set_status(call, RPC_STATUS_UNAVAILABLE,
                            "the scheduler cannot store the report now; try again");
        return RPC_FAILED;
    }
    if (d->db && deploy_state_in_txn(d->db)) { /* stored at the round's commit */
        struct deploy_durable *du = &d->durable;
        xgrow((void **)&du->wait, &du->cap_wait, du->n_wait + 1, sizeof *du->wait);
        du->wait[du->n_wait++] = (struct dack){.call = call, .job = dj->spec->id,
                                               .attempt = dj->launch, .rank = rank,
                                               .steps = steps};
        return RPC_PARKED;
    }
    apply_completion(d, dj, rank, steps);
    d->durable.completions_acked++;
    return RPC_REPLY;
}

/* The parked completions, after the commit: applied and answered, or refused. */
static void answer_completions(struct deploy *d, const char *refused)
{
    struct deploy_durable *du = &d->durable;
    for (size_t i = 0; i < du->n_wait; i++) {
        struct dack *a = &du->wait[i];
        struct djob *dj = deploy__find_job(d, (uint64_t)a->job);
        if (refused) {
            rpc_call_fail(a->call, RPC_STATUS_UNAVAILABLE, refused);
            continue;
        }
        /* still the lease it was stored for (nothing answered it meanwhile) */
        if (dj && dj->state == DJ_RUNNING && dj->launch == a->attempt && !dj->terminated)
            apply_completion(d, dj, a->rank, a->steps);
        d->durable.completions_acked++;
        Empty r = EMPTY__INIT;
        rpc_call_reply(a->call, &r.base);
    }
    du->n_wait = 0;
}

int deploy__commit(struct deploy *d, struct err *err)
{
    struct err e = {{0}};
    if (deploy_state_commit(d->db, &e) == 0) {
        if (d->durable.failed[0])
            LOG(LOG_WARN, "deploy", "%s: written again: submissions are taken again",
                state_name(d));
        d->durable.failed[0] = '\0';
        d->durable.rewrite = false;
        answer_completions(d, NULL);
        deploy__admin_committed(d, NULL);
        return 0;
    }
    /* a second chance in the next round: a commit of the same round finds
     * the disk as full as the one before */
    bool again = d->durable.failed[0] != '\0' && d->cur_b > d->durable.failed_b;
    bool first = d->durable.failed[0] == '\0';
    if (first)
        d->durable.failed_b = d->cur_b;
    snprintf(d->durable.failed, sizeof d->durable.failed, "%.300s", e.msg);
    d->durable.rewrite = true;
    char why[400];
    snprintf(why, sizeof why, "the scheduler cannot write its state: %.300s", e.msg);
    answer_completions(d, why);
    deploy__admin_committed(d, why);
    if (again)
        return errprintf(err, "%s: cannot be written again (%s): stopping; it holds the run as "
                              "of its last commit (the same command continues it)",
                         state_name(d), e.msg);
    if (!first)
        return 0;
    LOG(LOG_ERROR, "deploy", "%s: the round's state could not be stored (%s): submissions are "
                             "refused, running jobs go on; the scheduler stops if the next "
                             "round cannot be stored either",
        state_name(d), e.msg);
    return 0;
}

const char *deploy__state_failed(const struct deploy *d)
{
    return d->durable.failed[0] ? d->durable.failed : NULL;
}

void deploy__durable_free(struct deploy *d)
{
    answer_completions(d, "the scheduler is stopping");
    free(d->durable.wait);
    d->durable.wait = NULL;
}

/* ------------------------------------------------------------ drills */

/* Fault drills (tests/integration/deploy_drills.sh), inert unless
 * SYNERGY_TEST_CRASH_AT=P:N is set. Points of the round loop ('b', 'r',
 * 'e': deploy.c) are checked at the N-th round processed; these two watch
 * acknowledgements:
 *  'l'  SIGKILL at the first round boundary (before any credit) once N
 *       completion reports have been acknowledged;
 *  'c'  in round N, hold the launches' transaction open until a cancel has
 *       come in; if it was acknowledged before being stored, keep holding
 *       (the drill SIGKILLs the scheduler once the client has its answer),
 *       else go on and commit (which answers it). */
static bool crash_at(char point, long *n)
{
    const char *at = getenv("SYNERGY_TEST_CRASH_AT");
    if (!at || at[0] != point || at[1] != ':')
        return false;
    *n = atol(at + 2);
    return true;
}

void deploy__drill_completion(struct deploy *d)
{
    long n;
    if (!crash_at('l', &n) || d->durable.completions_acked < n)
        return;
    LOG(LOG_WARN, "deploy", "SYNERGY_TEST_CRASH_AT=l:%ld: killing the scheduler after %ld "
                            "acknowledged completion(s)", n, d->durable.completions_acked);
    fflush(NULL);
    raise(SIGKILL);
}

void deploy__drill_cancel(struct deploy *d, long round, void (*wait)(struct deploy *, long long))
{
    long n;
    if (!crash_at('c', &n) || n != round)
        return;
    LOG(LOG_WARN, "deploy", "SYNERGY_TEST_CRASH_AT=c:%ld: holding the round's transaction until "
                            "a cancel comes in", n);
    fflush(NULL);
    while (d->durable.cancels_seen == 0)
        wait(d, mono_ns() + 100000000LL);
    if (d->durable.cancels_acked >= d->durable.cancels_seen) {
        LOG(LOG_WARN, "deploy", "SYNERGY_TEST_CRASH_AT=c: a cancel was acknowledged before it "
                                "was stored; holding");
        fflush(NULL);
        for (;;)
            wait(d, mono_ns() + 100000000LL);
    }
}
