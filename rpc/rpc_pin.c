/*
 * Whom a TLS client reaches: the identity in the server's certificate (its
 * CN, else its first SAN: the same rule servers apply to their callers, see
 * rpc_call_identity), checked during the handshake by gRPC's verify-peer
 * callback, after gRPC has verified the chain against the CA and the dialled
 * address against the SANs. A certificate of the right CA but of another
 * identity (a worker's key presented as the scheduler's) fails the handshake,
 * so not a byte of a request is sent to it. OpenSSL parses the PEM gRPC hands
 * over; nothing else in synergy includes OpenSSL.
 */
#include "rpc_internal.h"

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The first SAN of x as text (DNS name or IP address). */
static bool first_san(X509 *x, char *out, size_t n)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool ok = false;
    if (names && sk_GENERAL_NAME_num(names) > 0) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, 0);
        if (g->type == GEN_DNS) {
            const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
            int len = ASN1_STRING_length(g->d.dNSName);
            ok = len > 0 && (size_t)len < n && memchr(s, 0, (size_t)len) == NULL;
            if (ok)
                snprintf(out, n, "%.*s", len, (const char *)s);
        } else if (g->type == GEN_IPADD) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            int len = ASN1_STRING_length(g->d.iPAddress);
            if (len == 4) {
                snprintf(out, n, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
                ok = true;
            }
        }
    }
    GENERAL_NAMES_free(names);
    return ok;
}

bool rpc__cert_identity(const char *pem, char *out, size_t n)
{
    out[0] = '\0';
    if (!pem || n == 0)
        return false;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!x)
        return false;
    char cn[256];
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    bool ok;
    if (len > 0 && (size_t)len < n && strlen(cn) == (size_t)len) {
        snprintf(out, n, "%s", cn);
        ok = true;
    } else {
        ok = first_san(x, out, n);
    }
    X509_free(x);
    return ok;
}

static pthread_mutex_t refusal_mu = PTHREAD_MUTEX_INITIALIZER;
static char refusal[600]; /* the last refusal, "" none */
static bool quiet;

void rpc_pin_quiet(bool q)
{
    pthread_mutex_lock(&refusal_mu);
    quiet = q;
    pthread_mutex_unlock(&refusal_mu);
}

bool rpc_pin_refusal(char *buf, size_t n)
{
    pthread_mutex_lock(&refusal_mu);
    snprintf(buf, n, "%s", refusal);
    pthread_mutex_unlock(&refusal_mu);
    return buf[0] != '\0';
}

struct pin {
    char *want;
    pthread_mutex_t mu;
    time_t last_said; /* one line per 10 s while a handshake keeps failing */
};

static int pin_check(const char *target, const char *peer_pem, void *ud)
{
    struct pin *p = ud;
    char got[256];
    if (rpc__cert_identity(peer_pem, got, sizeof got) && strcmp(got, p->want) == 0)
        return 0;
    time_t now = time(NULL);
    pthread_mutex_lock(&p->mu);
    bool say = now - p->last_said >= 10;
    if (say)
        p->last_said = now;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&refusal_mu);
    snprintf(refusal, sizeof refusal, "refused the server at %s: its certificate is '%s', not "
             "the expected '%s'", target ? target : "?", got[0] ? got : "(no identity)", p->want);
    say = say && !quiet;
    pthread_mutex_unlock(&refusal_mu);
    if (say)
        LOG(LOG_WARN, "rpc", "%s", refusal);
    return 1;
}

static void pin_free(void *ud)
{
    struct pin *p = ud;
    pthread_mutex_destroy(&p->mu);
    free(p->want);
    free(p);
}

void rpc__pin_options(grpc_ssl_verify_peer_options *o, const char *identity)
{
    memset(o, 0, sizeof *o);
    struct pin *p = xcalloc(1, sizeof *p);
    p->want = xstrdup(identity);
    pthread_mutex_init(&p->mu, NULL);
    o->verify_peer_callback = pin_check;
    o->verify_peer_callback_userdata = p;
    o->verify_peer_destruct = pin_free;
}
