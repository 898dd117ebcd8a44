/*
 * rpc: the gRPC core wrapper on loopback. Table-driven unary handlers, a
 * RoundEnd long-poll parked without a thread and answered from another
 * thread, client deadlines, UNIMPLEMENTED for a method without a handler,
 * the peer address, a server shutdown with a call still parked, and a
 * port that a second server cannot share (no SO_REUSEPORT: issue 9, two
 * --local workers were given the same port). And the in-process server the
 * fuzz harnesses use (rpc_server_create_local): the same decode, handler and
 * status path, the caller's claimed peer, identity and metadata, parked
 * calls answered later or failed at destroy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "job_to_scheduler.pb-c.h"
#include "rpc.h"

struct srv_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rpc_call_t *parked;
    char peer[64];
};

static enum rpc_result h_register(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                  ProtobufCMessage *rs)
{
    struct srv_state *st = ud;
    rpc_call_peer_ip(call, st->peer, sizeof st->peer);
    ((RegisterJobResponse *)rs)->round_duration_s = 300 + ((const RegisterJobRequest *)rq)->job_id;
    return RPC_REPLY;
}

static enum rpc_result h_round_end(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rs)
{
    struct srv_state *st = ud;
    pthread_mutex_lock(&st->mu);
    st->parked = call;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return RPC_PARKED;
}

static enum rpc_result h_lease_ended(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                     ProtobufCMessage *rs)
{
    rpc_call_set_status(call, RPC_STATUS_PERMISSION_DENIED, "no");
    return RPC_FAILED;
}

struct client_arg {
    char target[64];
    int status;
    bool terminate;
    int timeout_ms;
};

static void *round_end_client(void *p)
{
    struct client_arg *a = p;
    rpc_client_t *c = rpc_client_create(a->target);
    RoundEndRequest req = ROUND_END_REQUEST__INIT;
    req.job_id = 3;
    ProtobufCMessage *resp = NULL;
    struct err err = {{0}};
    a->status = rpc_client_call(c, &job_to_scheduler__descriptor, "RoundEnd", &req.base, &resp,
                                a->timeout_ms, &err);
    if (resp) {
        a->terminate = ((RoundEndResponse *)resp)->terminate_lease;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    rpc_client_destroy(c);
    return NULL;
}

static rpc_server_t *start(struct srv_state *st, int *port)
{
    struct err err = {{0}};
    rpc_server_t *s = rpc_server_create("127.0.0.1:0", port, &err);
    assert_non_null(s);
    static const struct rpc_method h[] = {{"RegisterJob", h_register},
                                          {"RoundEnd", h_round_end},
                                          {"LeaseEnded", h_lease_ended},
                                          {NULL, NULL}};
    rpc_server_add_service(s, &job_to_scheduler__descriptor, h, st);
    assert_int_equal(rpc_server_start(s, &err), 0);
    return s;
}

static void unary_and_errors(void **state)
{
    struct srv_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, ""};
    int port;
    rpc_server_t *s = start(&st, &port);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    rpc_client_t *c = rpc_client_create(target);
    RegisterJobRequest rj = REGISTER_JOB_REQUEST__INIT;
    rj.job_id = 5;
    ProtobufCMessage *r = NULL;
    struct err err = {{0}};
    assert_int_equal(rpc_client_call(c, &job_to_scheduler__descriptor, "RegisterJob", &rj.base,
                                     &r, 2000, &err), RPC_STATUS_OK);
    assert_int_equal(((RegisterJobResponse *)r)->round_duration_s, 305);
    protobuf_c_message_free_unpacked(r, NULL);
    assert_string_equal(st.peer, "127.0.0.1");
    UpdateItersRequest u = UPDATE_ITERS_REQUEST__INIT;
    assert_int_equal(rpc_client_call(c, &job_to_scheduler__descriptor, "UpdateIters", &u.base, &r,
                                     2000, &err), RPC_STATUS_UNIMPLEMENTED);
    assert_null(r);
    LeaseEndedRequest le = LEASE_ENDED_REQUEST__INIT;
    assert_int_equal(rpc_client_call(c, &job_to_scheduler__descriptor, "LeaseEnded", &le.base, &r,
                                     2000, &err), RPC_STATUS_PERMISSION_DENIED);
    assert_non_null(strstr(err.msg, "no"));
    rpc_client_destroy(c);
    rpc_server_destroy(s);

    /* no server: fails fast instead of hanging */
    c = rpc_client_create(target);
    assert_int_equal(rpc_client_call(c, &job_to_scheduler__descriptor, "RegisterJob", &rj.base,
                                     &r, 2000, &err), RPC_STATUS_UNAVAILABLE);
    rpc_client_destroy(c);
}

static void long_poll_answered_from_another_thread(void **state)
{
    struct srv_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, ""};
    int port;
    rpc_server_t *s = start(&st, &port);
    struct client_arg a = {.timeout_ms = 10000};
    snprintf(a.target, sizeof a.target, "127.0.0.1:%d", port);
    pthread_t th;
    pthread_create(&th, NULL, round_end_client, &a);
    pthread_mutex_lock(&st.mu);
    while (!st.parked)
        pthread_cond_wait(&st.cv, &st.mu);
    rpc_call_t *call = st.parked;
    st.parked = NULL;
    pthread_mutex_unlock(&st.mu);
    RoundEndResponse resp = ROUND_END_RESPONSE__INIT;
    resp.terminate_lease = true;
    rpc_call_reply(call, &resp.base); /* from this thread, not the CQ thread */
    pthread_join(th, NULL);
    assert_int_equal(a.status, RPC_STATUS_OK);
    assert_true(a.terminate);

    /* a parked call past the client's deadline, then a shutdown with it parked */
    a.timeout_ms = 200;
    pthread_create(&th, NULL, round_end_client, &a);
    pthread_join(th, NULL);
    assert_int_equal(a.status, RPC_STATUS_DEADLINE_EXCEEDED);
    rpc_server_destroy(s); /* must not hang on the parked call */
}

/* Two servers on one port: the second must fail, not share it. With gRPC's
 * default SO_REUSEPORT both bind and the kernel splits connections. Also,
 * 64 servers on port 0 get 64 different ports. */
static void port_is_not_shared(void **state)
{
    struct err err = {{0}};
    int port = 0, p2 = 0;
    rpc_server_t *a = rpc_server_create("127.0.0.1:0", &port, &err);
    assert_non_null(a);
    assert_true(port > 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    rpc_server_t *b = rpc_server_create(addr, &p2, &err);
    assert_null(b);
    assert_non_null(strstr(err.msg, "cannot listen"));
    rpc_server_destroy(a);
    rpc_server_t *many[64];
    int ports[64];
    for (int i = 0; i < 64; i++) {
        many[i] = rpc_server_create("127.0.0.1:0", &ports[i], &err);
        assert_non_null(many[i]);
        for (int k = 0; k < i; k++)
            assert_int_not_equal(ports[i], ports[k]);
    }
    for (int i = 0; i < 64; i++)
        rpc_server_destroy(many[i]);
}

struct local_seen {
    char peer[64], id[64], token[64];
    bool has_token;
    rpc_call_t *parked;
};

static enum rpc_result h_local(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                               ProtobufCMessage *rs)
{
    struct local_seen *s = ud;
    rpc_call_peer_ip(call, s->peer, sizeof s->peer);
    snprintf(s->id, sizeof s->id, "%s", rpc_call_identity(call));
    s->has_token = rpc_call_metadata(call, "synergy-job-token", s->token, sizeof s->token);
    ((RegisterJobResponse *)rs)->round_duration_s = 300 + ((const RegisterJobRequest *)rq)->job_id;
    return RPC_REPLY;
}

static enum rpc_result h_local_park(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                    ProtobufCMessage *rs)
{
    ((struct local_seen *)ud)->parked = call;
    return RPC_PARKED;
}

static void local_calls(void **state)
{
    struct local_seen seen = {0};
    const struct rpc_method h[] = {{"RegisterJob", h_local},
                                   {"RoundEnd", h_local_park},
                                   {"LeaseEnded", h_lease_ended},
                                   {NULL, NULL}};
    for (int tls = 0; tls < 2; tls++) {
        rpc_server_t *s = rpc_server_create_local(tls);
        rpc_server_add_service(s, &job_to_scheduler__descriptor, h, &seen);
        RegisterJobRequest req = REGISTER_JOB_REQUEST__INIT;
        req.job_id = 42;
        uint8_t buf[64];
        size_t n = protobuf_c_message_pack(&req.base, buf);
        const char *md[] = {"synergy-job-token", "abc"};
        struct rpc_local_call lc = {.peer = "ipv4:10.1.2.3:999", .identity = "worker-1",
                                    .metadata = md, .n_metadata = 1};
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/RegisterJob", buf, n, &lc),
                         RPC_STATUS_OK);
        assert_string_equal(seen.peer, "10.1.2.3");
        assert_string_equal(seen.id, tls ? "worker-1" : ""); /* plaintext: no identity */
        assert_true(seen.has_token);
        assert_string_equal(seen.token, "abc");
        lc.n_metadata = 0;
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/RegisterJob", buf, n, &lc),
                         RPC_STATUS_OK);
        assert_false(seen.has_token);
        /* bytes that do not decode: field 1 as a length-delimited run past the end */
        const uint8_t junk[] = {0x0a, 0x7f, 0x01};
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/RegisterJob", junk,
                                               sizeof junk, NULL),
                         RPC_STATUS_INVALID_ARGUMENT);
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/UpdateIters", NULL, 0, NULL),
                         RPC_STATUS_UNIMPLEMENTED);
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/NoSuch", NULL, 0, NULL),
                         RPC_STATUS_UNIMPLEMENTED);
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/LeaseEnded", NULL, 0, NULL),
                         RPC_STATUS_PERMISSION_DENIED);
        /* parked: answered later (freed then), or failed by destroy (ASan: no leak) */
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/RoundEnd", NULL, 0, NULL), -1);
        RoundEndResponse resp = ROUND_END_RESPONSE__INIT;
        rpc_call_reply(seen.parked, &resp.base);
        assert_int_equal(rpc_server_call_local(s, "/JobToScheduler/RoundEnd", NULL, 0, NULL), -1);
        rpc_server_destroy(s);
    }
}

/* Handlers are found by method name, checked against the descriptor: a
 * misspelt or repeated name is refused before anything is served. */
static void methods_by_name(void **state)
{
    (void)state;
    struct err err = {{0}};
    const struct rpc_method ok[] = {{"RoundEnd", h_round_end}, {"RegisterJob", h_register},
                                    {NULL, NULL}};
    assert_int_equal(rpc_methods_check(&job_to_scheduler__descriptor, ok, &err), 0);
    const struct rpc_method typo[] = {{"RoundEnds", h_round_end}, {NULL, NULL}};
    assert_int_equal(rpc_methods_check(&job_to_scheduler__descriptor, typo, &err), -1);
    assert_non_null(strstr(err.msg, "RoundEnds"));
    const struct rpc_method twice[] = {{"RoundEnd", h_round_end}, {"RoundEnd", h_register},
                                       {NULL, NULL}};
    assert_int_equal(rpc_methods_check(&job_to_scheduler__descriptor, twice, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_is_not_shared),
        cmocka_unit_test(unary_and_errors),
        cmocka_unit_test(long_poll_answered_from_another_thread),
        cmocka_unit_test(local_calls),
        cmocka_unit_test(methods_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
