/*
 * The admin service under abuse (issue 21, findings 1 and 2), on its real
 * handlers against a real deployment's state (tests/unit/deploy_fixture.h):
 *  - the default per-identity limits: 10,000 jobs not finished (the
 *    10,001st submission is refused RESOURCE_EXHAUSTED naming
 *    --max-queued-jobs, and is taken once a job finished), and 100
 *    submissions a second in bursts of 1,000 (the first refusal comes after
 *    at least the burst, naming --submit-rate); a refusal uses no id and
 *    writes nothing; one identity's limit does not touch another's;
 *  - a round moves at most 1,000 submissions into the job table;
 *  - `queue` answers in pages by id, so a queue of any size lists: 2,500
 *    jobs in pages of 1,000 (some still unmerged) come back once each, in
 *    order, `more` set on all pages but the last; a page is at most 5,000;
 *  - a queued job's own tables are small (the lease tables go with a lease).
 */
#include "deploy_fixture.h"
#include "synergy_admin.pb-c.h"

static void no_rate(struct deploy_config *cfg)
{
    cfg->submit_rate = -1;
}

static void small_limits(struct deploy_config *cfg)
{
    cfg->submit_rate = -1;
    cfg->max_queued_jobs = 2;
}

/* One submission by `user`: the status (0 accepted), msg the refusal. */
static int submit(struct fixture *fx, const char *user, char *msg, size_t n)
{
    Synergy__Admin__V1__SubmitRequest r = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__INIT;
    r.model = "alexnet";
    r.gpus = 8;
    r.amount_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_ITERATIONS;
    r.iterations = 1000;
    Synergy__Admin__V1__SubmitResponse resp = SYNERGY__ADMIN__V1__SUBMIT_RESPONSE__INIT;
    msg[0] = '\0';
    struct deploy_caller who = {.user = user, .tuser = -1, .admin = true};
    return deploy__admin_submit(fx->d, &who, &r.base, &resp.base, NULL, msg, n);
}

/* The same through the transport (h_submit): the status answered. */
static int submit_call(struct fixture *fx)
{
    Synergy__Admin__V1__SubmitRequest r = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__INIT;
    r.model = "alexnet";
    r.gpus = 8;
    r.amount_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_ITERATIONS;
    r.iterations = 1000;
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&r.base, buf);
    return rpc_server_call_local(fx->d->srv, "/synergy.admin.v1.Admin/Submit", buf, n, NULL);
}

static void test_default_queue_limit(void **state)
{
    (void)state;
    struct fixture *fx = setup_with(false, no_rate);
    struct deploy *d = fx->d;
    d->adm.accepting = true;
    deploy__admin_init(d);
    char msg[256];
    for (int i = 0; i < 10000; i++)
        assert_int_equal(submit(fx, "local", msg, sizeof msg), 0);
    int next = d->adm.next_id;
    size_t subs = d->adm.n_subs;
    assert_int_equal(submit(fx, "local", msg, sizeof msg), RPC_STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(msg, "has 10000 jobs queued or running"));
    assert_non_null(strstr(msg, "--max-queued-jobs 10000"));
    assert_int_equal(submit_call(fx), RPC_STATUS_RESOURCE_EXHAUSTED);
    /* nothing changed: no id used, no submission kept */
    assert_int_equal(d->adm.next_id, next);
    assert_int_equal(d->adm.n_subs, subs);
    /* a job of its own finishes (the round's recount): one more is taken */
    pthread_mutex_lock(&d->mu);
    deploy__admin_merge(d);
    struct djob *dj = deploy__job_by_id(d, (uint64_t)d->adm.subs[0]->spec.id);
    assert_non_null(dj);
    dj->state = DJ_DONE;
    deploy__admit_recount(d);
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(submit(fx, "local", msg, sizeof msg), 0);
    assert_int_equal(submit(fx, "local", msg, sizeof msg), RPC_STATUS_RESOURCE_EXHAUSTED);
    teardown(fx);
}

static void test_default_rate(void **state)
{
    (void)state;
    struct fixture *fx = setup(false);
    struct deploy *d = fx->d;
    d->adm.accepting = true;
    deploy__admin_init(d);
    char msg[256];
    double t0 = mono_s();
    int ok = 0, st = 0;
    for (int i = 0; i < 5000 && st == 0; i++)
        if ((st = submit(fx, "local", msg, sizeof msg)) == 0)
            ok++;
    double el = mono_s() - t0;
    assert_int_equal(st, RPC_STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(msg, "limit of 100 a second in bursts of 1000 (--submit-rate"));
    assert_true(ok >= 1000);
    assert_true(ok <= 1000 + 100 * el + 1);
    /* nothing changed by the refusal */
    assert_int_equal(d->adm.n_subs, (size_t)ok);
    assert_int_equal(d->adm.next_id, 2 + ok); /* trace jobs 0 and 1, then 2.. */
    teardown(fx);
}

static void test_limits_per_identity(void **state)
{
    (void)state;
    struct fixture *fx = setup_with(false, small_limits);
    fx->d->adm.accepting = true;
    deploy__admin_init(fx->d);
    char msg[256];
    assert_int_equal(submit(fx, "alice", msg, sizeof msg), 0);
    assert_int_equal(submit(fx, "alice", msg, sizeof msg), 0);
    assert_int_equal(submit(fx, "alice", msg, sizeof msg), RPC_STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(msg, "identity 'alice' has 2 jobs"));
    assert_int_equal(submit(fx, "bob", msg, sizeof msg), 0);
    assert_int_equal(submit(fx, "bob", msg, sizeof msg), 0);
    assert_int_equal(submit(fx, "bob", msg, sizeof msg), RPC_STATUS_RESOURCE_EXHAUSTED);
    teardown(fx);
}

static Synergy__Admin__V1__QueueResponse *queue_page(struct fixture *fx, uint64_t from,
                                                     uint32_t limit)
{
    Synergy__Admin__V1__QueueRequest r = SYNERGY__ADMIN__V1__QUEUE_REQUEST__INIT;
    r.all = true;
    r.from_id = from;
    r.limit = limit;
    Synergy__Admin__V1__QueueResponse *resp = xcalloc(1, sizeof *resp);
    synergy__admin__v1__queue_response__init(resp);
    char msg[64];
    assert_int_equal(deploy__admin_queue(fx->d, &r.base, &resp->base, msg, sizeof msg), 0);
    return resp;
}

static void page_free(Synergy__Admin__V1__QueueResponse *r)
{
    deploy__admin_resp_free(&r->base);
    free(r);
}

static void test_queue_pages_and_bounded_merge(void **state)
{
    (void)state;
    struct fixture *fx = setup_with(false, no_rate);
    struct deploy *d = fx->d;
    d->adm.accepting = true;
    deploy__admin_init(d);
    char msg[256];
    for (int i = 0; i < 2500; i++)
        assert_int_equal(submit(fx, "local", msg, sizeof msg), 0);
    /* a round takes 1,000 of them into the job table */
    pthread_mutex_lock(&d->mu);
    deploy__admin_merge(d);
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(d->adm.n_merged, 1000);
    assert_int_equal(d->n_jobs, 2 + 1000);
    /* pages of 1,000 by id: trace jobs 0 and 1, submissions 2..2501 */
    uint64_t from = 0, want = 0;
    int pages = 0;
    for (;;) {
        Synergy__Admin__V1__QueueResponse *r = queue_page(fx, from, pages ? 1000 : 0);
        pages++;
        assert_true(r->n_jobs <= 1000);
        for (size_t i = 0; i < r->n_jobs; i++)
            assert_int_equal(r->jobs[i]->job_id, want++);
        bool more = r->more;
        if (r->n_jobs)
            from = r->jobs[r->n_jobs - 1]->job_id + 1;
        assert_true(more == (want <= 2501));
        page_free(r);
        if (!more)
            break;
    }
    assert_int_equal(want, 2502);
    assert_int_equal(pages, 3);
    /* a page is at most 5,000 jobs, whatever is asked */
    for (int i = 0; i < 3000; i++)
        assert_int_equal(submit(fx, "local", msg, sizeof msg), 0);
    Synergy__Admin__V1__QueueResponse *big = queue_page(fx, 0, 100000);
    assert_int_equal(big->n_jobs, 5000);
    assert_true(big->more);
    page_free(big);
    teardown(fx);
}

/* The job table's own cost per queued job (the ledger's struct job and the
 * state file come on top): the lease tables (~20 KB) are not in it. */
static void test_queued_job_tables_small(void **state)
{
    (void)state;
    assert_true(sizeof(struct djob) + sizeof(struct dsub) <= 768);
    assert_true(sizeof(struct dlease) > 16 * 1024);
    struct fixture *fx = setup(false);
    for (size_t i = 0; i < fx->d->n_jobs; i++)
        assert_null(fx->d->jobs[i].lease_tab); /* queued: no lease tables */
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
        cmocka_unit_test(test_default_queue_limit),
        cmocka_unit_test(test_default_rate),
        cmocka_unit_test(test_limits_per_identity),
        cmocka_unit_test(test_queue_pages_and_bounded_merge),
        cmocka_unit_test(test_queued_job_tables_small),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    model_zoo_destroy(zoo);
    return rc;
}
