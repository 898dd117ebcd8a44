/*
 * rpc: mutual TLS (issue 10) on loopback, with certificates made by
 * scripts/make-certs.sh. A TLS call succeeds and the handler sees the
 * client's CN and its metadata; a plaintext client, a client with a
 * certificate from another CA and a client without a certificate are all
 * refused before any handler runs; a client that does not trust the
 * server's CA refuses the server, and one that expects another identity
 * (a worker's certificate where the scheduler should be) refuses it too. rpc_tls_load names the bad file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job_to_scheduler.pb-c.h"
#include "rpc.h"

static char dir[] = "/tmp/rpc_tls_XXXXXX";
static char path_buf[16][256];
static int n_path;

static const char *P(const char *sub, const char *name)
{
    char *p = path_buf[n_path++ % 16];
    snprintf(p, 256, "%s/%s/%s", dir, sub, name);
    return p;
}

struct seen {
    int calls;
    char identity[64];
    char token[64];
    bool has_token;
};

static enum rpc_result h_register(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                  ProtobufCMessage *rs)
{
    struct seen *s = ud;
    s->calls++;
    snprintf(s->identity, sizeof s->identity, "%s", rpc_call_identity(call));
    s->has_token = rpc_call_metadata(call, "synergy-job-token", s->token, sizeof s->token);
    ((RegisterJobResponse *)rs)->round_duration_s = 300;
    return RPC_REPLY;
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s/scripts/make-certs.sh -o %s/a -w 2 -a 127.0.0.1 >/dev/null && "
             "%s/scripts/make-certs.sh -o %s/b -w 1 -a 127.0.0.1 >/dev/null",
             SYNERGY_SOURCE_DIR, dir, SYNERGY_SOURCE_DIR, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int call(rpc_client_t *c, struct err *err)
{
    RegisterJobRequest rj = REGISTER_JOB_REQUEST__INIT;
    rj.job_id = 1;
    ProtobufCMessage *r = NULL;
    int st = rpc_client_call(c, &job_to_scheduler__descriptor, "RegisterJob", &rj.base, &r, 3000,
                             err);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    return st;
}

static void mutual_tls(void **state)
{
    struct err err = {{0}};
    rpc_tls_t *srv_tls = rpc_tls_load(P("a", "ca.pem"), P("a", "scheduler.pem"),
                                      P("a", "scheduler.key"), &err);
    assert_non_null(srv_tls);
    int port;
    rpc_server_t *s = rpc_server_create_tls("127.0.0.1:0", srv_tls, &port, &err);
    assert_non_null(s);
    struct seen seen = {0};
    static const struct rpc_method h[] = {{"RegisterJob", h_register}, {NULL, NULL}};
    rpc_server_add_service(s, &job_to_scheduler__descriptor, h, &seen);
    assert_int_equal(rpc_server_start(s, &err), 0);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);

    /* a worker's certificate from the same CA: accepted, identity = CN */
    rpc_tls_t *w0 = rpc_tls_load(P("a", "ca.pem"), P("a", "worker-0.pem"), P("a", "worker-0.key"),
                                 &err);
    assert_non_null(w0);
    rpc_client_t *c = rpc_client_create_tls(target, w0);
    rpc_client_set_metadata(c, "synergy-job-token", "old");
    rpc_client_set_metadata(c, "synergy-job-token", "00ff");
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.identity, "worker-0");
    assert_true(seen.has_token);
    assert_string_equal(seen.token, "00ff");
    rpc_client_destroy(c);
    /* the admin certificate has no SAN: the CN is still the identity */
    rpc_tls_t *adm = rpc_tls_load(P("a", "ca.pem"), P("a", "admin.pem"), P("a", "admin.key"), &err);
    c = rpc_client_create_tls(target, adm);
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_string_equal(seen.identity, "admin");
    assert_false(seen.has_token);
    assert_string_equal(seen.token, "");
    rpc_client_destroy(c);
    rpc_tls_free(adm);

    /* plaintext client: refused at the handshake, no handler ran */
    c = rpc_client_create(target);
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    rpc_client_destroy(c);
    /* a certificate from another CA (it trusts our CA, so only the server
     * can refuse it) */
    rpc_tls_t *other = rpc_tls_load(P("a", "ca.pem"), P("b", "worker-0.pem"), P("b", "worker-0.key"),
                                    &err);
    assert_non_null(other);
    c = rpc_client_create_tls(target, other);
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    rpc_client_destroy(c);
    rpc_tls_free(other);
    /* no client certificate at all */
    rpc_tls_t *nocert = rpc_tls_load(P("a", "ca.pem"), NULL, NULL, &err);
    assert_non_null(nocert);
    c = rpc_client_create_tls(target, nocert);
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    rpc_client_destroy(c);
    rpc_tls_free(nocert);
    /* a client that trusts only CA b refuses our server */
    rpc_tls_t *b = rpc_tls_load(P("b", "ca.pem"), P("b", "worker-0.pem"), P("b", "worker-0.key"),
                                &err);
    c = rpc_client_create_tls(target, b);
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    rpc_client_destroy(c);
    rpc_tls_free(b);
    assert_int_equal(seen.calls, 2);

    /* and the good client still works afterwards */
    c = rpc_client_create_tls(target, w0);
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_int_equal(seen.calls, 3);
    rpc_client_destroy(c);
    rpc_tls_free(w0);
    rpc_server_destroy(s);
    rpc_tls_free(srv_tls);
}

/* A client that names the server it expects: the scheduler's certificate is
 * accepted, a worker's (same CA, same address) is refused at the handshake,
 * before the handler runs, and a client pinned to that worker reaches it. */
static void pinned_identity(void **state)
{
    struct err err = {{0}};
    rpc_tls_t *sched = rpc_tls_load(P("a", "ca.pem"), P("a", "scheduler.pem"),
                                    P("a", "scheduler.key"), &err);
    rpc_tls_t *w0 = rpc_tls_load(P("a", "ca.pem"), P("a", "worker-0.pem"), P("a", "worker-0.key"),
                                 &err);
    assert_non_null(sched);
    assert_non_null(w0);
    char id[64];
    assert_string_equal(rpc_tls_identity(w0, id, sizeof id), "worker-0");
    assert_string_equal(rpc_tls_identity(sched, id, sizeof id), "scheduler");
    assert_string_equal(rpc_tls_identity(NULL, id, sizeof id), "");
    struct seen seen = {0};
    static const struct rpc_method h[] = {{"RegisterJob", h_register}, {NULL, NULL}};
    int port_s, port_w;
    rpc_server_t *s = rpc_server_create_tls("127.0.0.1:0", sched, &port_s, &err);
    rpc_server_t *w = rpc_server_create_tls("127.0.0.1:0", w0, &port_w, &err);
    assert_non_null(s);
    assert_non_null(w);
    rpc_server_add_service(s, &job_to_scheduler__descriptor, h, &seen);
    rpc_server_add_service(w, &job_to_scheduler__descriptor, h, &seen);
    assert_int_equal(rpc_server_start(s, &err), 0);
    assert_int_equal(rpc_server_start(w, &err), 0);
    char ts[64], tw[64];
    snprintf(ts, sizeof ts, "127.0.0.1:%d", port_s);
    snprintf(tw, sizeof tw, "127.0.0.1:%d", port_w);
    /* worker-1 calls the scheduler it expects */
    rpc_tls_t *w1 = rpc_tls_load(P("a", "ca.pem"), P("a", "worker-1.pem"), P("a", "worker-1.key"),
                                 &err);
    assert_non_null(w1);
    rpc_client_t *c = rpc_client_create_pinned(ts, w1, "scheduler");
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_int_equal(seen.calls, 1);
    rpc_client_destroy(c);
    /* worker-0's server posing as the scheduler: refused, nothing sent */
    c = rpc_client_create_pinned(tw, w1, "scheduler");
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    assert_int_equal(seen.calls, 1);
    rpc_client_destroy(c);
    /* unpinned, the same server is accepted (any certificate of the CA) */
    c = rpc_client_create_tls(tw, w1);
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_int_equal(seen.calls, 2);
    rpc_client_destroy(c);
    /* the scheduler pins each worker by its row's identity */
    c = rpc_client_create_pinned(tw, sched, "worker-0");
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_int_equal(seen.calls, 3);
    rpc_client_destroy(c);
    c = rpc_client_create_pinned(tw, sched, "worker-1");
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    /* a prefix of the identity is not the identity */
    rpc_client_destroy(c);
    c = rpc_client_create_pinned(tw, sched, "worker-");
    assert_int_equal(call(c, &err), RPC_STATUS_UNAVAILABLE);
    assert_int_equal(seen.calls, 3);
    rpc_client_destroy(c);
    rpc_server_destroy(s);
    rpc_server_destroy(w);
    rpc_tls_free(w1);
    rpc_tls_free(w0);
    rpc_tls_free(sched);
}

static void plaintext_has_no_identity(void **state)
{
    struct err err = {{0}};
    int port;
    rpc_server_t *s = rpc_server_create("127.0.0.1:0", &port, &err);
    struct seen seen = {0};
    static const struct rpc_method h[] = {{"RegisterJob", h_register}, {NULL, NULL}};
    rpc_server_add_service(s, &job_to_scheduler__descriptor, h, &seen);
    assert_int_equal(rpc_server_start(s, &err), 0);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    rpc_client_t *c = rpc_client_create(target);
    rpc_client_set_metadata(c, "synergy-job-token", "abc");
    assert_int_equal(call(c, &err), RPC_STATUS_OK);
    assert_string_equal(seen.identity, "");
    assert_string_equal(seen.token, "abc");
    rpc_client_destroy(c);
    rpc_server_destroy(s);
}

static void load_names_the_bad_file(void **state)
{
    struct err err = {{0}};
    assert_null(rpc_tls_load(P("a", "ca.pem"), P("a", "nope.pem"), P("a", "admin.key"), &err));
    assert_non_null(strstr(err.msg, "nope.pem:0: cert: cannot open"));
    /* a key where the certificate should be */
    assert_null(rpc_tls_load(P("a", "ca.pem"), P("a", "admin.key"), P("a", "admin.key"), &err));
    assert_non_null(strstr(err.msg, "admin.key:1: cert: not a PEM certificate"));
    /* a certificate where the key should be */
    assert_null(rpc_tls_load(P("a", "ca.pem"), P("a", "admin.pem"), P("a", "admin.pem"), &err));
    assert_non_null(strstr(err.msg, "admin.pem:1: key: not a PEM private key"));
    assert_null(rpc_tls_load("/etc/hostname", P("a", "admin.pem"), P("a", "admin.key"), &err));
    assert_non_null(strstr(err.msg, "/etc/hostname:1: ca: not a PEM certificate"));
    /* a TLS server needs its own certificate */
    rpc_tls_t *nocert = rpc_tls_load(P("a", "ca.pem"), NULL, NULL, &err);
    int port;
    assert_null(rpc_server_create_tls("127.0.0.1:0", nocert, &port, &err));
    assert_non_null(strstr(err.msg, "needs a certificate"));
    rpc_tls_free(nocert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mutual_tls),
        cmocka_unit_test(pinned_identity),
        cmocka_unit_test(plaintext_has_no_identity),
        cmocka_unit_test(load_names_the_bad_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
