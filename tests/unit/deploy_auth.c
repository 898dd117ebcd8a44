/*
 * The scheduler's caller checks (issue 21, findings 6 and 11), on its real
 * handlers called in-process (rpc_server_create_local: the request bytes
 * decoded as for a network call) against a real deployment's state
 * (deploy__new: ledger, job table, an in-memory state file):
 *  - a JobToScheduler call is heard only with exactly its job's current
 *    attempt's token, or the immediately previous attempt's with that
 *    attempt's number (then it is told to stop and credited nothing); an
 *    empty token, a one-hex-digit or 31-digit prefix, a garbage token with
 *    a future attempt number, the previous token without an attempt number
 *    and an old attempt's token after a relaunch are refused
 *    PERMISSION_DENIED, with the same message as a call for a job that does
 *    not exist, and no handler runs (the job's state is unchanged);
 *  - the admin service takes an identity listed in --admins exactly:
 *    `admin-evil`, `admi` and "" are refused when `admin` is listed.
 * Each weakened check is a row of tests/mutation/mutants.tsv.
 */
#include "deploy_fixture.h"
#include "job_to_scheduler.pb-c.h"
#include "synergy_admin.pb-c.h"

/* Launch job `id` (its attempt number goes up, a new token is made) and put
 * it in the running state on server 0, as phase E would. */
static struct djob *launch(struct deploy *d, int id)
{
    struct djob *dj = deploy__find_job(d, (uint64_t)id);
    deploy__lease_tables(dj);
    dj->launch++;
    deploy__job_token(dj);
    dj->state = DJ_RUNNING;
    dj->terminated = false;
    dj->n_ranks = 1;
    dj->n_procs = 1;
    dj->n_exited = 0;
    dj->ranks[0].server = 0;
    dj->ranks[0].n_gpus = dj->spec->gpus;
    dj->budget = 500;
    dj->progress_steps = 0;
    dj->last_msg_ns = 0;
    dj->lease_ours = true;
    dj->launched_ns = mono_ns();
    return dj;
}

/* One call of `method` with the token (NULL: no token metadata); the status
 * answered (-1 when parked). */
static int call(struct fixture *fx, const char *method, const ProtobufCMessage *req,
                const char *token)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = xmalloc(n + 1);
    protobuf_c_message_pack(req, buf);
    const char *md[] = {"synergy-job-token", token ? token : ""};
    struct rpc_local_call lc = {.peer = "ipv4:127.0.0.1:40000", .metadata = md,
                                .n_metadata = token ? 1 : 0};
    char path[128];
    snprintf(path, sizeof path, "/JobToScheduler/%s", method);
    int st = rpc_server_call_local(fx->d->srv, path, buf, n, &lc);
    free(buf);
    return st;
}

static int update_iters(struct fixture *fx, uint64_t job, uint32_t attempt, uint64_t steps,
                        const char *token)
{
    UpdateItersRequest r = UPDATE_ITERS_REQUEST__INIT;
    r.job_id = job;
    r.attempt = attempt;
    r.num_steps = steps;
    return call(fx, "UpdateIters", &r.base, token);
}

static int register_job(struct fixture *fx, uint64_t job, uint32_t attempt, const char *token)
{
    RegisterJobRequest r = REGISTER_JOB_REQUEST__INIT;
    r.job_id = job;
    r.attempt = attempt;
    return call(fx, "RegisterJob", &r.base, token);
}

static int round_end(struct fixture *fx, uint64_t job, uint32_t attempt, const char *token)
{
    RoundEndRequest r = ROUND_END_REQUEST__INIT;
    r.job_id = job;
    r.attempt = attempt;
    r.num_steps = 100;
    return call(fx, "RoundEnd", &r.base, token);
}

static int lease_ended(struct fixture *fx, uint64_t job, uint32_t attempt, const char *token)
{
    LeaseEndedRequest r = LEASE_ENDED_REQUEST__INIT;
    r.job_id = job;
    r.attempt = attempt;
    r.num_steps = 100;
    return call(fx, "LeaseEnded", &r.base, token);
}

/* Every method refuses the token for (job, attempt), and the job's state is
 * what it was: no handler ran. */
static void assert_refused(struct fixture *fx, uint64_t job, uint32_t attempt, const char *token)
{
    struct djob *dj = deploy__find_job(fx->d, 1);
    long steps = dj->progress_steps;
    long long heard = dj->last_msg_ns;
    int parked = dj->n_parked, ended = dj->n_lease_ended;
    assert_int_equal(update_iters(fx, job, attempt, 777, token), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(register_job(fx, job, attempt, token), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(round_end(fx, job, attempt, token), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(lease_ended(fx, job, attempt, token), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(dj->progress_steps, steps);
    assert_true(dj->last_msg_ns == heard);
    assert_int_equal(dj->n_parked, parked);
    assert_int_equal(dj->n_lease_ended, ended);
}

static void test_current_token_is_heard(void **state)
{
    (void)state;
    struct fixture *fx = setup(false);
    struct djob *dj = launch(fx->d, 1);
    char tok[33];
    memcpy(tok, dj->token, sizeof tok);
    assert_int_equal(strlen(tok), 32);
    assert_int_equal(update_iters(fx, 1, 1, 42, tok), RPC_STATUS_OK);
    assert_int_equal(dj->progress_steps, 42);
    /* without an attempt number (the stock iterator's messages) */
    assert_int_equal(update_iters(fx, 1, 0, 43, tok), RPC_STATUS_OK);
    assert_int_equal(dj->progress_steps, 43);
    assert_int_equal(register_job(fx, 1, 1, tok), RPC_STATUS_OK);
    teardown(fx);
}

/* item 11: the token comparison: an empty token, prefixes of a valid one */
static void test_empty_and_prefix_tokens_refused(void **state)
{
    (void)state;
    struct fixture *fx = setup(false);
    struct djob *dj = launch(fx->d, 1);
    char tok[33], p1[2], p31[32];
    memcpy(tok, dj->token, sizeof tok);
    snprintf(p1, sizeof p1, "%.1s", tok);
    snprintf(p31, sizeof p31, "%.31s", tok);
    assert_refused(fx, 1, 1, "");
    assert_refused(fx, 1, 0, "");
    assert_refused(fx, 1, 1, p1);
    assert_refused(fx, 1, 0, p1);
    assert_refused(fx, 1, 1, p31);
    assert_refused(fx, 1, 1, NULL); /* no token at all, legacy jobs not allowed */
    char longer[40];
    snprintf(longer, sizeof longer, "%s0", tok);
    assert_refused(fx, 1, 1, longer);
    teardown(fx);
}

/* finding 6: a garbage token with a future attempt number passed the check
 * and reached the handlers */
static void test_garbage_token_future_attempt_refused(void **state)
{
    (void)state;
    struct fixture *fx = setup(false);
    launch(fx->d, 1);
    const char *garbage = "00112233445566778899aabbccddeeff";
    assert_refused(fx, 1, 2, garbage);
    assert_refused(fx, 1, 99, garbage);
    assert_refused(fx, 1, 1, garbage);
    assert_refused(fx, 1, 0, garbage);
    /* a job that does not exist: the same answer as a wrong token */
    assert_int_equal(update_iters(fx, 99, 1, 5, garbage), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(register_job(fx, 99, 5, garbage), RPC_STATUS_PERMISSION_DENIED);
    /* another job's valid token does not speak for this one */
    struct djob *other = launch(fx->d, 0);
    assert_refused(fx, 1, 1, other->token);
    teardown(fx);
}

/* item 11: the previous attempt's token, and an old attempt's after a relaunch */
static void test_old_attempt_tokens(void **state)
{
    (void)state;
    struct fixture *fx = setup(false);
    struct djob *dj = launch(fx->d, 1);
    char t1[33], t2[33];
    memcpy(t1, dj->token, sizeof t1);
    launch(fx->d, 1); /* attempt 2 */
    memcpy(t2, dj->token, sizeof t2);
    assert_string_not_equal(t1, t2);
    assert_int_equal(dj->launch, 2);
    /* attempt 1's token without an attempt number: refused */
    assert_refused(fx, 1, 0, t1);
    /* attempt 1's token claiming the current attempt: refused */
    assert_refused(fx, 1, 2, t1);
    /* the current token claiming the old attempt: refused */
    assert_refused(fx, 1, 1, t2);
    /* attempt 1's token as attempt 1: heard, told to stop, credited nothing */
    assert_int_equal(update_iters(fx, 1, 1, 900, t1), RPC_STATUS_OK);
    assert_int_equal(dj->progress_steps, 0);
    assert_int_equal(round_end(fx, 1, 1, t1), RPC_STATUS_OK); /* answered at once: stop */
    assert_int_equal(dj->n_parked, 0);
    assert_int_equal(register_job(fx, 1, 1, t1), RPC_STATUS_FAILED_PRECONDITION);
    /* after another relaunch, attempt 1's token is refused altogether */
    launch(fx->d, 1); /* attempt 3 */
    assert_refused(fx, 1, 1, t1);
    assert_refused(fx, 1, 0, t1);
    assert_refused(fx, 1, 3, t1);
    /* attempt 2's is now the previous one */
    assert_refused(fx, 1, 0, t2);
    assert_int_equal(update_iters(fx, 1, 2, 900, t2), RPC_STATUS_OK);
    assert_int_equal(dj->progress_steps, 0);
    teardown(fx);
}

static int admin_nodes(struct fixture *fx, const char *identity)
{
    Synergy__Admin__V1__NodesRequest r = SYNERGY__ADMIN__V1__NODES_REQUEST__INIT;
    size_t n = protobuf_c_message_get_packed_size(&r.base);
    uint8_t buf[16];
    protobuf_c_message_pack(&r.base, buf);
    struct rpc_local_call lc = {.peer = "ipv4:127.0.0.1:40000", .identity = identity};
    return rpc_server_call_local(fx->d->srv, "/synergy.admin.v1.Admin/Nodes", buf, n, &lc);
}

/* item 11: the admin identity match is exact */
static void test_admin_identity_exact(void **state)
{
    (void)state;
    struct fixture *fx = setup(true);
    assert_int_equal(admin_nodes(fx, "admin"), RPC_STATUS_OK);
    assert_int_equal(admin_nodes(fx, "admin-evil"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(admin_nodes(fx, "adminx"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(admin_nodes(fx, "admi"), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(admin_nodes(fx, ""), RPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(admin_nodes(fx, "worker-0"), RPC_STATUS_PERMISSION_DENIED);
    teardown(fx);
}

int main(void)
{
    log_max_level = LOG_ERROR;
    struct err err = {{0}};
    zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err);
    if (!zoo) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_token_is_heard),
        cmocka_unit_test(test_empty_and_prefix_tokens_refused),
        cmocka_unit_test(test_garbage_token_future_attempt_refused),
        cmocka_unit_test(test_old_attempt_tokens),
        cmocka_unit_test(test_admin_identity_exact),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    model_zoo_destroy(zoo);
    return rc;
}
