/*
 * rpc: gRPC core + protobuf-c glue (see rpc.h). One completion queue per
 * lane of a server, each drained by its own thread; every call context is the
 * tag of its own events and is freed only when its final batch completed
 * (AWAIT_DONE), so a parked call answered from another thread is still freed
 * on its lane's CQ thread.
 */
#include "rpc.h"
#include "rpc_internal.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARMED_PER_METHOD 4

enum call_state { ST_AWAIT_CALL, ST_IN_HANDLER, ST_AWAIT_DONE };

struct method_reg {
    void *handle;
    enum rpc_lane lane;
    const ProtobufCMethodDescriptor *md;
    rpc_handler_fn fn;
    void *ud;
    char path[256];       /* "/<service>/<method>" */
};

struct arena {
    struct arena *next;
    max_align_t data[];
};

struct rpc_call {
    enum call_state state;
    rpc_server_t *s;
    struct method_reg *m;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_byte_buffer *reply;
    grpc_slice details;
    int cancelled;
    char *peer;
    char *identity;
    bool local;           /* rpc_server_call_local: no grpc_call behind it */
    bool handler_done;    /* local: its handler returned (then an answer frees it) */
    char **local_md;      /* its metadata, key/value pairs (owned) */
    size_t n_local_md;
    struct arena *arena;
    int status;
    char status_msg[160];
    bool answered, linked;
    void (*cleanup)(ProtobufCMessage *resp);
    struct rpc_call *prev, *next; /* parked list */
};

/* One completion queue and the thread that drains it, per lane. */
struct lane {
    rpc_server_t *s;
    grpc_completion_queue *cq;
    pthread_t thread;
};

struct rpc_server {
    grpc_server *srv;
    struct lane lanes[RPC_LANES];
    bool started, stopping;
    struct method_reg *methods;
    size_t n_methods, cap_methods;
    pthread_mutex_t mu;
    struct rpc_call parked; /* list head */
    int shutdown_tag;
    bool tls;
    bool local;           /* rpc_server_create_local: no network at all */
};

/* ---------------------------------------------------------------- tls */

struct rpc_tls {
    char *ca, *cert, *key;
    bool client_cert_optional;
};

void rpc_tls_set_client_cert_optional(rpc_tls_t *t, bool optional)
{
    t->client_cert_optional = optional;
}

static char *read_pem(const char *path, const char *what, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errprintf(err, "%s:0: %s: cannot open: %s", path, what, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 >= cap) {
            if (cap > (1u << 20)) {
                fclose(f);
                free(buf);
                errprintf(err, "%s:0: %s: larger than 1 MiB, not a PEM file", path, what);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    const char *want = strcmp(what, "key") == 0 ? "PRIVATE KEY-----" : "-----BEGIN ";
    if (!strstr(buf, "-----BEGIN ") || !strstr(buf, want) || strlen(buf) != n) {
        free(buf);
        errprintf(err, "%s:1: %s: not a PEM %s", path, what,
                  strcmp(what, "key") == 0 ? "private key" : "certificate");
        return NULL;
    }
    return buf;
}

rpc_tls_t *rpc_tls_load(const char *ca, const char *cert, const char *key, struct err *err)
{
    rpc_tls_t *t = xcalloc(1, sizeof *t);
    if (!(t->ca = read_pem(ca, "ca", err)) || (cert && !(t->cert = read_pem(cert, "cert", err))) ||
        (key && !(t->key = read_pem(key, "key", err))) || (!cert != !key)) {
        if (!cert != !key && !err->msg[0])
            errprintf(err, "%s:0: %s: a certificate needs its key", cert ? cert : key,
                      cert ? "key" : "cert");
        rpc_tls_free(t);
        return NULL;
    }
    if (!strstr(t->ca, "CERTIFICATE-----")) {
        errprintf(err, "%s:1: ca: not a PEM certificate", ca);
        rpc_tls_free(t);
        return NULL;
    }
    if (t->cert && !strstr(t->cert, "CERTIFICATE-----")) {
        errprintf(err, "%s:1: cert: not a PEM certificate", cert);
        rpc_tls_free(t);
        return NULL;
    }
    return t;
}

void rpc_tls_free(rpc_tls_t *t)
{
    if (!t)
        return;
    free(t->ca);
    free(t->cert);
    if (t->key) {
        memset(t->key, 0, strlen(t->key));
        free(t->key);
    }
    free(t);
}

static void set_log_level(void)
{
    if (!getenv("GRPC_VERBOSITY"))
        gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}

static void quiet_grpc(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_log_level);
}

void rpc_global_init(void)
{
    quiet_grpc();
    grpc_init();
}

void rpc_global_shutdown(void)
{
    grpc_shutdown();
}

/* ------------------------------------------------------------ buffers */

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    grpc_slice sl = grpc_slice_malloc(n);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(sl));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    return bb;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
    if (!bb)
        return protobuf_c_message_unpack(d, NULL, 0, (const uint8_t *)"");
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(sl),
                                                    GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    grpc_byte_buffer_reader_destroy(&r);
    return m;
}

/* ------------------------------------------------------------- server */

rpc_server_t *rpc_server_create(const char *addr, int *port, struct err *err)
{
    return rpc_server_create_tls(addr, NULL, port, err);
}

/* Bind HOST:PORT once ourselves (as gRPC will: SO_REUSEADDR, no
 * SO_REUSEPORT) so a port in use, or one we may not bind, is one line naming
 * why, not gRPC's log record. 0 when it could be bound, or the
 * address is not HOST:PORT with a fixed port (gRPC then decides). */
static int listen_probe(const char *addr, struct err *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host || atoi(colon + 1) == 0)
        return 0;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (h[0] == '[' && h[hl - 1] == ']') { /* [v6]:port */
        h++;
        hl -= 2;
    }
    snprintf(host, sizeof host, "%.*s", (int)hl, h);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return 0;
    int rc = 0, one = 1, fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* in use or not allowed: certain; anything else (an address family
         * gRPC would not pick) is left to gRPC */
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && (errno == EADDRINUSE || errno == EACCES))
            rc = errprintf(err, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

rpc_server_t *rpc_server_create_tls(const char *addr, const rpc_tls_t *tls, int *port,
                                    struct err *err)
{
    if (listen_probe(addr, err) < 0)
        return NULL;
    rpc_global_init();
    rpc_server_t *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->parked.next = s->parked.prev = &s->parked;
    for (int l = 0; l < RPC_LANES; l++) {
        s->lanes[l].s = s;
        s->lanes[l].cq = grpc_completion_queue_create_for_next(NULL);
    }
    /* no SO_REUSEPORT: with it, two servers asking for the same port (or a
     * port picked and released by someone else) both bind it, and the kernel
     * splits the connections between them */
    grpc_arg arg = {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_ALLOW_REUSEPORT,
                    .value.integer = 0};
    grpc_channel_args sargs = {1, &arg};
    s->srv = grpc_server_create(&sargs, NULL);
    for (int l = 0; l < RPC_LANES; l++)
        grpc_server_register_completion_queue(s->srv, s->lanes[l].cq, NULL);
    grpc_server_credentials *cr;
    if (tls && !tls->cert) {
        errprintf(err, "%s: a TLS server needs a certificate and key", addr);
        cr = NULL;
    } else if (tls) {
        grpc_ssl_pem_key_cert_pair pair = {tls->key, tls->cert};
        cr = grpc_ssl_server_credentials_create_ex(
            tls->ca, &pair, 1,
            tls->client_cert_optional ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
            NULL);
        s->tls = true;
    } else {
        cr = grpc_insecure_server_credentials_create();
    }
    int p = cr ?  grpc_server_add_http2_port(s->srv, addr, cr) : 0;
    if (cr)
        grpc_server_credentials_release(cr);
    if (p == 0) {
        if (cr || !tls)
            errprintf(err, "cannot listen on %s", addr);
        grpc_server_destroy(s->srv);
        for (int l = 0; l < RPC_LANES; l++) {
            grpc_completion_queue *cq = s->lanes[l].cq;
            grpc_completion_queue_shutdown(cq);
            while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
                   GRPC_QUEUE_SHUTDOWN)
                ;
            grpc_completion_queue_destroy(cq);
        }
        pthread_mutex_destroy(&s->mu);
        free(s);
        rpc_global_shutdown();
        return NULL;
    }
    if (port)
        *port = p;
    return s;
}

int rpc_methods_check(const ProtobufCServiceDescriptor *sd, const struct rpc_method *methods,
                      struct err *err)
{
    for (const struct rpc_method *m = methods; m->name; m++) {
        bool found = false;
        for (unsigned i = 0; i < sd->n_methods && !found; i++)
            found = strcmp(sd->methods[i].name, m->name) == 0;
        if (!found)
            return errprintf(err, "/%s has no method %s", sd->name, m->name);
        for (const struct rpc_method *o = methods; o < m; o++)
            if (strcmp(o->name, m->name) == 0)
                return errprintf(err, "/%s/%s: two handlers", sd->name, m->name);
    }
    return 0;
}

void rpc_server_add_service(rpc_server_t *s, const ProtobufCServiceDescriptor *sd,
                            const struct rpc_method *methods, void *ud)
{
    rpc_server_add_service_lane(s, sd, methods, ud, RPC_LANE_CONTROL);
}

void rpc_server_add_service_lane(rpc_server_t *s, const ProtobufCServiceDescriptor *sd,
                                 const struct rpc_method *methods, void *ud, enum rpc_lane lane)
{
    struct err err = {{0}};
    if (rpc_methods_check(sd, methods, &err) < 0) {
        /* a handler table that does not match its .proto: a build defect */
        fprintf(stderr, "rpc: %s\n", err.msg);
        abort();
    }
    for (unsigned i = 0; i < sd->n_methods; i++) {
        xgrow((void **)&s->methods, &s->cap_methods, s->n_methods + 1, sizeof *s->methods);
        struct method_reg *m = &s->methods[s->n_methods++];
        char path[256];
        snprintf(path, sizeof path, "/%s/%s", sd->name, sd->methods[i].name);
        m->md = &sd->methods[i];
        snprintf(m->path, sizeof m->path, "%s", path);
        m->fn = NULL;
        for (const struct rpc_method *h = methods; h->name; h++)
            if (strcmp(h->name, sd->methods[i].name) == 0)
                m->fn = h->fn;
        m->ud = ud;
        m->lane = lane;
        m->handle = s->local ? NULL
                             : grpc_server_register_method(s->srv, path, NULL,
                                                           GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                                                           0);
    }
}

static void call_free(struct rpc_call *c)
{
    if (c->local) {
        free(c->peer);
        free(c->identity);
        for (size_t i = 0; i < c->n_local_md; i++)
            free(c->local_md[i]);
        free(c->local_md);
        while (c->arena) {
            struct arena *a = c->arena;
            c->arena = a->next;
            free(a);
        }
        free(c);
        return;
    }
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->reply)
        grpc_byte_buffer_destroy(c->reply);
    grpc_metadata_array_destroy(&c->md);
    grpc_slice_unref(c->details);
    if (c->peer)
        gpr_free(c->peer);
    free(c->identity);
    if (c->call)
        grpc_call_unref(c->call);
    while (c->arena) {
        struct arena *a = c->arena;
        c->arena = a->next;
        free(a);
    }
    free(c);
}

static void arm(rpc_server_t *s, struct method_reg *m)
{
    struct rpc_call *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->m = m;
    c->state = ST_AWAIT_CALL;
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_registered_call(s->srv, m->handle, &c->call, &c->deadline, &c->md,
                                            &c->payload, s->lanes[m->lane].cq,
                                            s->lanes[m->lane].cq, c) != GRPC_CALL_OK)
        call_free(c);
}

/* Start the final batch of a call: reply (or status) and wait for close. */
static void finish(struct rpc_call *c, const ProtobufCMessage *resp, int code, const char *msg)
{
    if (c->local) { /* pack the answer as the network path would, then done */
        c->status = code;
        if (resp && code == RPC_STATUS_OK) {
            size_t n = protobuf_c_message_get_packed_size(resp);
            uint8_t *buf = xmalloc(n + 1);
            protobuf_c_message_pack(resp, buf);
            free(buf);
        }
        (void)msg;
        if (c->handler_done)
            call_free(c);
        return;
    }
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    int n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
    if (resp && code == RPC_STATUS_OK) {
        c->reply = pack(resp);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->reply;
        n++;
    }
    grpc_slice_unref(c->details);
    c->details = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)code;
    ops[n].data.send_status_from_server.status_details = &c->details;
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
    n++;
    c->state = ST_AWAIT_DONE;
    grpc_call_error e = grpc_call_start_batch(c->call, ops, (size_t)n, c, NULL);
    if (e != GRPC_CALL_OK)
        LOG(LOG_ERROR, "rpc", "start_batch failed (%d)", (int)e);
}

/* Run the handler of c's method on req (NULL: it did not decode) and answer,
 * or park, the call. Returns the status answered, or -1 when parked. */
static int handle(rpc_server_t *s, struct rpc_call *c, ProtobufCMessage *req)
{
    struct method_reg *m = c->m;
    int code = -1;
    enum rpc_result r = RPC_FAILED;
    if (!req) {
        code = RPC_STATUS_INVALID_ARGUMENT;
        finish(c, NULL, code, "malformed request");
    } else if (!m->fn) {
        protobuf_c_message_free_unpacked(req, NULL);
        code = RPC_STATUS_UNIMPLEMENTED;
        finish(c, NULL, code, "not implemented");
    } else {
        ProtobufCMessage *resp = xcalloc(1, m->md->output->sizeof_message);
        protobuf_c_message_init(m->md->output, resp);
        r = m->fn(m->ud, c, req, resp);
        void (*cleanup)(ProtobufCMessage *) = r == RPC_PARKED ? NULL : c->cleanup;
        protobuf_c_message_free_unpacked(req, NULL);
        if (r == RPC_REPLY) {
            code = RPC_STATUS_OK;
            finish(c, resp, RPC_STATUS_OK, NULL);
        } else if (r == RPC_FAILED) {
            code = c->status ? c->status : RPC_STATUS_UNAVAILABLE;
            finish(c, NULL, code, c->status_msg);
        } else {
            pthread_mutex_lock(&s->mu);
            if (!c->answered) {
                c->linked = true;
                c->next = &s->parked;
                c->prev = s->parked.prev;
                s->parked.prev->next = c;
                s->parked.prev = c;
            }
            pthread_mutex_unlock(&s->mu);
        }
        if (cleanup)
            cleanup(resp);
        free(resp);
    }
    if (c->local) { /* no completion queue frees it: the last of handler and answer does */
        pthread_mutex_lock(&s->mu);
        c->handler_done = true;
        bool done = r != RPC_PARKED || c->answered;
        pthread_mutex_unlock(&s->mu);
        if (done)
            call_free(c);
    }
    return code;
}

static void dispatch(rpc_server_t *s, struct rpc_call *c)
{
    c->state = ST_IN_HANDLER;
    handle(s, c, unpack(c->m->md->input, c->payload));
}

/* A lane's thread. The server's shutdown is notified on lane 0's queue;
 * by then every call is done, so every lane's queue is shut down. */
static void *cq_thread(void *arg)
{
    struct lane *ln = arg;
    rpc_server_t *s = ln->s;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(ln->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.tag == &s->shutdown_tag) {
            for (int l = 0; l < RPC_LANES; l++)
                grpc_completion_queue_shutdown(s->lanes[l].cq);
            continue;
        }
        struct rpc_call *c = ev.tag;
        /* a parked call's final batch was started by another thread under
         * s->mu: taking it here makes that hand-off visible to TSan (gRPC's
         * own synchronisation is not instrumented) */
        pthread_mutex_lock(&s->mu);
        enum call_state st = c->state;
        pthread_mutex_unlock(&s->mu);
        if (st == ST_AWAIT_CALL) {
            if (!ev.success) {
                call_free(c);
                continue;
            }
            if (!s->stopping)
                arm(s, c->m);
            dispatch(s, c);
        } else {
            call_free(c);
        }
    }
    return NULL;
}

int rpc_server_start(rpc_server_t *s, struct err *err)
{
    grpc_server_start(s->srv);
    for (size_t i = 0; i < s->n_methods; i++)
        for (int k = 0; k < ARMED_PER_METHOD; k++)
            arm(s, &s->methods[i]);
    for (int l = 0; l < RPC_LANES; l++)
        if (pthread_create(&s->lanes[l].thread, NULL, cq_thread, &s->lanes[l]) != 0) {
            /* (a thread that did start is joined at destroy) */
            for (int k = 0; k < l; k++)
                grpc_completion_queue_shutdown(s->lanes[k].cq);
            return errprintf(err, "cannot start the rpc threads");
        }
    s->started = true;
    return 0;
}

void rpc_server_destroy(rpc_server_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    while (s->parked.next != &s->parked) {
        struct rpc_call *c = s->parked.next;
        c->next->prev = c->prev;
        c->prev->next = c->next;
        c->linked = false;
        c->answered = true;
        finish(c, NULL, RPC_STATUS_UNAVAILABLE, "server shutting down");
    }
    pthread_mutex_unlock(&s->mu);
    if (s->local) {
        pthread_mutex_destroy(&s->mu);
        free(s->methods);
        free(s);
        return;
    }
    grpc_server_shutdown_and_notify(s->srv, s->lanes[0].cq, &s->shutdown_tag);
    grpc_server_cancel_all_calls(s->srv);
    if (s->started) {
        for (int l = 0; l < RPC_LANES; l++)
            pthread_join(s->lanes[l].thread, NULL);
    } else {
        for (int l = 0; l < RPC_LANES; l++) {
            grpc_completion_queue_shutdown(s->lanes[l].cq);
            cq_thread(&s->lanes[l]);
        }
    }
    grpc_server_destroy(s->srv);
    for (int l = 0; l < RPC_LANES; l++)
        grpc_completion_queue_destroy(s->lanes[l].cq);
    pthread_mutex_destroy(&s->mu);
    free(s->methods);
    free(s);
    rpc_global_shutdown();
}

const char *rpc_call_peer(rpc_call_t *c)
{
    if (!c->peer && !c->local)
        c->peer = grpc_call_get_peer(c->call);
    return c->peer ? c->peer : "";
}

const char *rpc_call_peer_ip(rpc_call_t *c, char *buf, size_t n)
{
    const char *p = rpc_call_peer(c);
    if (strncmp(p, "ipv4:", 5) == 0)
        p += 5;
    else if (strncmp(p, "ipv6:", 5) == 0)
        p += 5;
    snprintf(buf, n, "%s", p);
    /* strip the port: the last ':' (ipv6 is "[::1]:port") */
    char *colon = strrchr(buf, ':');
    if (colon)
        *colon = '\0';
    if (buf[0] == '[') {
        size_t l = strlen(buf);
        memmove(buf, buf + 1, l);
        char *rb = strchr(buf, ']');
        if (rb)
            *rb = '\0';
    }
    return buf;
}

static char *auth_property(grpc_auth_context *ac, const char *name)
{
    grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ac, name);
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    if (!p || !p->value)
        return NULL;
    char *v = xmalloc(p->value_length + 1);
    memcpy(v, p->value, p->value_length);
    v[p->value_length] = '\0';
    if (strlen(v) != p->value_length) { /* an embedded NUL is no identity */
        free(v);
        return NULL;
    }
    return v;
}

const char *rpc_call_identity(rpc_call_t *c)
{
    if (c->identity)
        return c->identity;
    char *id = NULL;
    if (c->s->tls && !c->local) {
        grpc_auth_context *ac = grpc_call_auth_context(c->call);
        if (ac) {
            if (grpc_auth_context_peer_is_authenticated(ac)) {
                id = auth_property(ac, GRPC_X509_CN_PROPERTY_NAME);
                if (!id || !*id) {
                    free(id);
                    id = auth_property(ac, GRPC_X509_SAN_PROPERTY_NAME);
                }
            }
            grpc_auth_context_release(ac);
        }
    }
    c->identity = id ? id : xstrdup("");
    return c->identity;
}

bool rpc_call_metadata(rpc_call_t *c, const char *key, char *buf, size_t n)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + 1 < c->n_local_md; i += 2)
        if (strcmp(c->local_md[i], key) == 0) {
            if (buf && n)
                snprintf(buf, n, "%s", c->local_md[i + 1]);
            return true;
        }
    for (size_t i = 0; i < c->md.count; i++) {
        grpc_slice k = c->md.metadata[i].key;
        if (GRPC_SLICE_LENGTH(k) == kl && memcmp(GRPC_SLICE_START_PTR(k), key, kl) == 0) {
            grpc_slice v = c->md.metadata[i].value;
            size_t vl = GRPC_SLICE_LENGTH(v);
            if (!buf || n == 0)
                return true;
            if (vl >= n)
                vl = n - 1;
            memcpy(buf, GRPC_SLICE_START_PTR(v), vl);
            buf[vl] = '\0';
            return true;
        }
    }
    if (buf && n)
        buf[0] = '\0';
    return false;
}

void *rpc_call_alloc(rpc_call_t *c, size_t n)
{
    struct arena *a = xcalloc(1, sizeof *a + n);
    a->next = c->arena;
    c->arena = a;
    return a->data;
}

void rpc_call_set_cleanup(rpc_call_t *c, void (*fn)(ProtobufCMessage *resp))
{
    c->cleanup = fn;
}

void rpc_call_set_status(rpc_call_t *c, int code, const char *msg)
{
    c->status = code;
    snprintf(c->status_msg, sizeof c->status_msg, "%s", msg ? msg : "");
}

static void answer(rpc_call_t *c, const ProtobufCMessage *resp, int code, const char *msg)
{
    rpc_server_t *s = c->s;
    pthread_mutex_lock(&s->mu);
    if (c->answered) { /* already failed by shutdown */
        pthread_mutex_unlock(&s->mu);
        return;
    }
    c->answered = true;
    if (c->linked) {
        c->next->prev = c->prev;
        c->prev->next = c->next;
        c->linked = false;
    }
    finish(c, resp, code, msg);
    pthread_mutex_unlock(&s->mu);
}

void rpc_call_reply(rpc_call_t *c, const ProtobufCMessage *resp)
{
    answer(c, resp, RPC_STATUS_OK, NULL);
}

void rpc_call_fail(rpc_call_t *c, int code, const char *msg)
{
    answer(c, NULL, code, msg);
}

/* ----------------------------------------------- in-process calls */

rpc_server_t *rpc_server_create_local(bool tls)
{
    rpc_server_t *s = xcalloc(1, sizeof *s);
    s->local = true;
    s->tls = tls;
    pthread_mutex_init(&s->mu, NULL);
    s->parked.next = s->parked.prev = &s->parked;
    return s;
}

int rpc_server_call_local(rpc_server_t *s, const char *path, const uint8_t *data, size_t len,
                          const struct rpc_local_call *lc)
{
    struct method_reg *m = NULL;
    for (size_t i = 0; i < s->n_methods && !m; i++)
        if (strcmp(s->methods[i].path, path) == 0)
            m = &s->methods[i];
    if (!m)
        return RPC_STATUS_UNIMPLEMENTED;
    struct rpc_call *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->m = m;
    c->local = true;
    c->state = ST_IN_HANDLER;
    c->peer = xstrdup(lc && lc->peer ? lc->peer : "ipv4:127.0.0.1:1");
    c->identity = xstrdup(s->tls && lc && lc->identity ? lc->identity : "");
    if (lc && lc->n_metadata) {
        c->n_local_md = lc->n_metadata * 2;
        c->local_md = xcalloc(c->n_local_md, sizeof *c->local_md);
        for (size_t i = 0; i < c->n_local_md; i++)
            c->local_md[i] = xstrdup(lc->metadata[i]);
    }
    return handle(s, c, protobuf_c_message_unpack(m->md->input, NULL, len, data ? data
                                                  : (const uint8_t *)""));
}

/* ------------------------------------------------------------- client */

struct rpc_client {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    pthread_mutex_t mu;
    bool wait_for_ready;
    grpc_metadata *md;
    size_t n_md, cap_md;
};

rpc_client_t *rpc_client_create(const char *target)
{
    return rpc_client_create_tls(target, NULL);
}

rpc_client_t *rpc_client_create_tls(const char *target, const rpc_tls_t *tls)
{
    return rpc_client_create_pinned(target, tls, NULL);
}

const char *rpc_tls_identity(const rpc_tls_t *t, char *buf, size_t n)
{
    rpc__cert_identity(t ? t->cert : NULL, buf, n);
    return buf;
}

rpc_client_t *rpc_client_create_pinned(const char *target, const rpc_tls_t *tls,
                                       const char *identity)
{
    rpc_global_init();
    rpc_client_t *c = xcalloc(1, sizeof *c);
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[0].value.integer = 100;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[1].value.integer = 1000;
    grpc_channel_args ca = {2, args};
    grpc_channel_credentials *cr;
    if (tls) {
        grpc_ssl_pem_key_cert_pair pair = {tls->key, tls->cert};
        grpc_ssl_verify_peer_options pin;
        if (identity)
            rpc__pin_options(&pin, identity);
        cr = grpc_ssl_credentials_create_ex(tls->ca, tls->cert ? &pair : NULL,
                                            identity ? &pin : NULL, NULL);
    } else {
        cr = grpc_insecure_credentials_create();
    }
    c->ch = grpc_channel_create(target, cr, &ca);
    grpc_channel_credentials_release(cr);
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void rpc_client_set_wait_for_ready(rpc_client_t *c, bool on)
{
    c->wait_for_ready = on;
}

void rpc_client_set_metadata(rpc_client_t *c, const char *key, const char *value)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_md; i++)
        if (grpc_slice_str_cmp(c->md[i].key, key) == 0) {
            grpc_slice_unref(c->md[i].value);
            c->md[i].value = grpc_slice_from_copied_string(value);
            pthread_mutex_unlock(&c->mu);
            return;
        }
    xgrow((void **)&c->md, &c->cap_md, c->n_md + 1, sizeof *c->md);
    memset(&c->md[c->n_md], 0, sizeof *c->md);
    c->md[c->n_md].key = grpc_slice_from_copied_string(key);
    c->md[c->n_md].value = grpc_slice_from_copied_string(value);
    c->n_md++;
    pthread_mutex_unlock(&c->mu);
}

void rpc_client_destroy(rpc_client_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_md; i++) {
        grpc_slice_unref(c->md[i].key);
        grpc_slice_unref(c->md[i].value);
    }
    free(c->md);
    grpc_channel_destroy(c->ch);
    grpc_completion_queue_shutdown(c->cq);
    while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(c->cq);
    pthread_mutex_destroy(&c->mu);
    free(c);
    rpc_global_shutdown();
}

int rpc_client_call(rpc_client_t *c, const ProtobufCServiceDescriptor *sd, const char *method,
                    const ProtobufCMessage *req, ProtobufCMessage **resp, int timeout_ms,
                    struct err *err)
{
    *resp = NULL;
    const ProtobufCMethodDescriptor *md = NULL;
    for (unsigned i = 0; i < sd->n_methods; i++)
        if (strcmp(sd->methods[i].name, method) == 0)
            md = &sd->methods[i];
    if (!md) {
        errprintf(err, "%s: no such method in %s", method, sd->name);
        return RPC_STATUS_UNIMPLEMENTED;
    }
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", sd->name, method);
    pthread_mutex_lock(&c->mu);
    gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                   gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_slice ps = grpc_slice_from_copied_string(path);
    grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, ps, NULL,
                                               dl, NULL);
    grpc_slice_unref(ps);
    grpc_byte_buffer *req_bb = pack(req), *resp_bb = NULL;
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->n_md;
    ops[0].data.send_initial_metadata.metadata = c->md;
    if (c->wait_for_ready)
        ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY |
                       GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int tag;
    if (grpc_call_start_batch(call, ops, 6, &tag, NULL) == GRPC_CALL_OK)
        grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    int rc = (int)status;
    if (status == GRPC_STATUS_OK) {
        *resp = unpack(md->output, resp_bb);
        if (!*resp) {
            rc = RPC_STATUS_INVALID_ARGUMENT;
            errprintf(err, "%s: malformed reply", method);
        }
    } else {
        char *d = grpc_slice_to_c_string(details);
        errprintf(err, "%s: status %d: %s", method, (int)status, d);
        gpr_free(d);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_byte_buffer_destroy(req_bb);
    if (resp_bb)
        grpc_byte_buffer_destroy(resp_bb);
    grpc_call_unref(call);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
