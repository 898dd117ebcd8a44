/*
 * rpc: the only module that includes gRPC headers. A small wrapper over the
 * gRPC core C API carrying protobuf-c messages (spec reference-deployment §7):
 *
 *  - a server with a completion-queue thread per lane (control, admin) and
 *    table-driven unary handlers: every method of a ProtobufCServiceDescriptor
 *    is registered as "/<service>/<method>" and dispatched to its handler;
 *  - long-poll calls: a handler may park its call (RPC_PARKED) and answer it
 *    later from any thread with rpc_call_reply(); no thread is held meanwhile;
 *  - a client with one persistent channel per peer and a deadline on every
 *    call.
 *
 *  - mutual TLS (issue 10): with an rpc_tls_t, servers require and verify a
 *    client certificate signed by the CA, clients verify the server's
 *    certificate (its SAN must name the address dialled, and its identity
 *    the one the caller expects, rpc_client_create_pinned), and a handler reads
 *    the peer's identity (certificate CN, else first SAN) and call metadata.
 *    Without one, channels are plaintext and rpc_call_identity() is "".
 */
#ifndef SYNERGY_RPC_H
#define SYNERGY_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

/* gRPC status codes we use (same values as grpc_status_code). */
enum {
    RPC_STATUS_OK = 0,
    RPC_STATUS_CANCELLED = 1,
    RPC_STATUS_INVALID_ARGUMENT = 3,
    RPC_STATUS_DEADLINE_EXCEEDED = 4,
    RPC_STATUS_NOT_FOUND = 5,
    RPC_STATUS_PERMISSION_DENIED = 7,
    RPC_STATUS_RESOURCE_EXHAUSTED = 8,
    RPC_STATUS_FAILED_PRECONDITION = 9,
    RPC_STATUS_UNIMPLEMENTED = 12,
    RPC_STATUS_UNAVAILABLE = 14,
};

typedef struct rpc_server rpc_server_t;
typedef struct rpc_tls rpc_tls_t;

/* Load a CA bundle, a certificate and its private key (PEM files). NULL +
 * err "FILE:LINE: ca|cert|key: problem" naming the bad file. The files are
 * only read here: gRPC checks that key and certificate match when a
 * connection is made. cert and key both NULL: a client that presents no
 * certificate (servers refuse it; tests use it to show that). */
rpc_tls_t *rpc_tls_load(const char *ca, const char *cert, const char *key, struct err *err);
void rpc_tls_free(rpc_tls_t *t);
/* Servers made with t verify a client certificate when one is presented
 * but also accept TLS clients without one (rpc_call_identity() is then "";
 * the handlers must authenticate those calls some other way, e.g. a token
 * in the metadata). Default: a certificate is required. */
void rpc_tls_set_client_cert_optional(rpc_tls_t *t, bool optional);
typedef struct rpc_call rpc_call_t;

/* What a handler did with its call. */
enum rpc_result { RPC_REPLY = 0, RPC_PARKED = 1, RPC_FAILED = 2 };

/* A unary handler, run on the server's completion-queue thread. `resp` is an
 * initialised message of the method's output type; fill it and return
 * RPC_REPLY. Memory the response points to must live until the handler
 * returns (use rpc_call_alloc for per-call memory). Return RPC_FAILED after
 * rpc_call_set_status() to answer an error, or RPC_PARKED to answer later with
 * rpc_call_reply() / rpc_call_fail(). */
typedef enum rpc_result (*rpc_handler_fn)(void *ud, rpc_call_t *call, const ProtobufCMessage *req,
                                          ProtobufCMessage *resp);

/* Create a server listening on `addr` ("127.0.0.1:0" picks a port). NULL +
 * err if the address cannot be bound. *port gets the bound port. */
rpc_server_t *rpc_server_create(const char *addr, int *port, struct err *err);
/* The same with mutual TLS when tls is not NULL (plaintext when NULL). The
 * server keeps no reference to tls. */
rpc_server_t *rpc_server_create_tls(const char *addr, const rpc_tls_t *tls, int *port,
                                    struct err *err);
/* A handler of one method, by the method's name in its service ("RunJob"). */
struct rpc_method {
    const char *name;
    rpc_handler_fn fn;
};
/* 0 when every name in methods[] (ended by {NULL}) is a method of `sd`, once;
 * else -1 + err naming the first that is not. */
int rpc_methods_check(const ProtobufCServiceDescriptor *sd, const struct rpc_method *methods,
                      struct err *err);
/* Serve the methods of `sd` named in methods[] (ended by {NULL}); a method
 * not named answers UNIMPLEMENTED. A name `sd` lacks is a build defect: the
 * process aborts with a line saying which (rpc_methods_check). Call before
 * rpc_server_start. */
void rpc_server_add_service(rpc_server_t *s, const ProtobufCServiceDescriptor *sd,
                            const struct rpc_method *methods, void *ud);
/* A service's lane: its calls are drained by the lane's own completion
 * queue and thread, so the control plane (workers' heartbeats, jobs'
 * calls) never waits behind admin calls, however many come (issue 21).
 * rpc_server_add_service() uses RPC_LANE_CONTROL. */
enum rpc_lane { RPC_LANE_CONTROL = 0, RPC_LANE_ADMIN = 1, RPC_LANES = 2 };
void rpc_server_add_service_lane(rpc_server_t *s, const ProtobufCServiceDescriptor *sd,
                                 const struct rpc_method *methods, void *ud, enum rpc_lane lane);
/* Start serving, one thread per lane. 0 or -1. */
int rpc_server_start(rpc_server_t *s, struct err *err);
/* Fail every parked call (UNAVAILABLE), shut down, join the thread, free.
 * NULL is a no-op. Parked call handles are invalid afterwards. */
void rpc_server_destroy(rpc_server_t *s);

/* The peer's address as "ipv4:127.0.0.1:5555" (borrowed, valid for the call). */
const char *rpc_call_peer(rpc_call_t *c);
/* The peer's IP alone, e.g. "127.0.0.1" (written into buf). */
const char *rpc_call_peer_ip(rpc_call_t *c, char *buf, size_t n);
/* The authenticated peer's identity: its certificate's CN, else its first
 * SAN; "" on a plaintext server. Borrowed, valid for the call. */
const char *rpc_call_identity(rpc_call_t *c);
/* Copy the value of request metadata `key` (lower case) into buf (truncated,
 * NUL-terminated). false (and buf "") when the call has no such key. */
bool rpc_call_metadata(rpc_call_t *c, const char *key, char *buf, size_t n);
/* Memory freed with the call. */
void *rpc_call_alloc(rpc_call_t *c, size_t n);
/* Call fn(resp) once the handler's response is packed (or dropped, for
 * RPC_FAILED): for responses that point to heap memory. Not for RPC_PARKED. */
void rpc_call_set_cleanup(rpc_call_t *c, void (*fn)(ProtobufCMessage *resp));
/* Set the status a RPC_FAILED handler answers. */
void rpc_call_set_status(rpc_call_t *c, int code, const char *msg);
/* Answer a parked call (any thread, once). The response is packed before
 * returning, so it may live on the caller's stack. */
void rpc_call_reply(rpc_call_t *c, const ProtobufCMessage *resp);
void rpc_call_fail(rpc_call_t *c, int code, const char *msg);

/* ----------------------------------------------- in-process calls */

/* For tests and fuzzing: a server with no network. Services are added with
 * rpc_server_add_service() as usual, and rpc_server_call_local() runs one
 * call through the same path as a call from the network: the request bytes
 * are decoded (protobuf-c), the real handler runs, its response is packed.
 * With tls, rpc_call_identity() answers the identity the call claims, as if
 * its certificate had been verified. rpc_server_destroy() fails the calls
 * still parked. */
rpc_server_t *rpc_server_create_local(bool tls);
struct rpc_local_call {
    const char *peer;              /* "ipv4:ADDR:PORT" (default ipv4:127.0.0.1:1) */
    const char *identity;          /* certificate identity, tls servers only */
    const char *const *metadata;   /* n_metadata key, value pairs (keys lower case) */
    size_t n_metadata;
};
/* Run one call of `path` ("/<service>/<method>") with request bytes data[0,len);
 * lc may be NULL. Returns the status answered (RPC_STATUS_OK, ..., and
 * RPC_STATUS_INVALID_ARGUMENT when the bytes do not decode), or -1 when the
 * handler parked the call (it is answered, and freed, later as usual). */
int rpc_server_call_local(rpc_server_t *s, const char *path, const uint8_t *data, size_t len,
                          const struct rpc_local_call *lc);

/* ------------------------------------------------------------- client */

typedef struct rpc_client rpc_client_t;

/* One persistent channel to `target` ("host:port"). Never fails to create:
 * connection errors show up per call. */
rpc_client_t *rpc_client_create(const char *target);
/* The same over mutual TLS when tls is not NULL; no reference is kept. */
rpc_client_t *rpc_client_create_tls(const char *target, const rpc_tls_t *tls);
/* The same, and (with tls) the server must also be `identity`: its
 * certificate's CN, else its first SAN (the rule rpc_call_identity applies
 * to callers). Any other certificate of the CA fails the handshake
 * (UNAVAILABLE, one warning line per 10 s naming both identities), before
 * any request is sent. identity NULL: any certificate of the CA. */
rpc_client_t *rpc_client_create_pinned(const char *target, const rpc_tls_t *tls,
                                       const char *identity);
/* Whether pinned clients' refusals go unlogged (the caller reports them),
 * and the last refusal ("refused the server at T: its certificate is 'X',
 * not the expected 'Y'") into buf; false when none. */
void rpc_pin_quiet(bool quiet);
bool rpc_pin_refusal(char *buf, size_t n);
/* The identity of t's own certificate (CN, else first SAN) into buf; "" when
 * t is NULL or has no certificate. Returns buf. */
const char *rpc_tls_identity(const rpc_tls_t *t, char *buf, size_t n);
/* Send `key: value` (key lower case) as metadata on every later call;
 * setting a key again replaces its value. */
void rpc_client_set_metadata(rpc_client_t *c, const char *key, const char *value);
void rpc_client_destroy(rpc_client_t *c);
/* Wait for the server to come up instead of failing fast (job -> scheduler). */
void rpc_client_set_wait_for_ready(rpc_client_t *c, bool on);

/* Blocking unary call of method `method` of service `sd`, with a deadline of
 * timeout_ms. Returns the gRPC status (RPC_STATUS_OK = 0); on OK *resp is the
 * unpacked reply (caller frees with protobuf_c_message_free_unpacked). On any
 * other status err holds "method: status N: details". Thread-safe. */
int rpc_client_call(rpc_client_t *c, const ProtobufCServiceDescriptor *sd, const char *method,
                    const ProtobufCMessage *req, ProtobufCMessage **resp, int timeout_ms,
                    struct err *err);

/* Process-wide init/teardown (reference counted by gRPC itself). */
void rpc_global_init(void);
void rpc_global_shutdown(void);

#endif
