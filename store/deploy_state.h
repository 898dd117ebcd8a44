/*
 * store/deploy_state: the deployment scheduler's durable state in SQLite
 * (WAL): workers, jobs (state, attempt, progress) and leases (who holds
 * which GPUs until when), written as they change. One writer: the deploy
 * driver. Lets an operator see what ran where after a crash; resuming a run
 * from it is not implemented yet.
 */
#ifndef SYNERGY_DEPLOY_STATE_H
#define SYNERGY_DEPLOY_STATE_H

#include "common.h"

typedef struct deploy_state deploy_state_t;

/* Open (creating the schema) the database at path; ":memory:" works. NULL +
 * err on failure. */
deploy_state_t *deploy_state_open(const char *path, struct err *err);
void deploy_state_close(deploy_state_t *st);

/* Group the writes of one round into one transaction. 0 or -1 + err. */
int deploy_state_begin(deploy_state_t *st, struct err *err);
int deploy_state_commit(deploy_state_t *st, struct err *err);

int deploy_state_worker(deploy_state_t *st, int server, const char *ip, int port,
                        const char *state, int n_gpus, struct err *err);
/* Upsert a job's row. state: queued|running|finished|failed. */
int deploy_state_job(deploy_state_t *st, int id, const char *model, const char *state,
                     int attempt, long executed, long total, double arrival, double finish,
                     struct err *err);
/* Record a lease: job `id` launch `attempt` holds `gpus` (text) on `server`
 * from round time t until t_end; state: active|extended|ended|crashed|lost. */
int deploy_state_lease(deploy_state_t *st, int id, int attempt, int server, const char *gpus,
                       double cpus, double mem, double t, double t_end, const char *state,
                       struct err *err);
/* Record that round n (1, 2, ...; logical time t) is being committed: the
 * rounds table says which round the jobs and leases rows describe (metrics
 * scrapes compare with it). 0 or -1 + err. */
int deploy_state_round(deploy_state_t *st, long n, double t, struct err *err);
/* Count rows of a table (for tests): jobs in `state`, or all when NULL. */
long deploy_state_count_jobs(deploy_state_t *st, const char *state);

#endif
