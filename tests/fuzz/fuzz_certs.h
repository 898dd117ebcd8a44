/* Real mutual-TLS credentials for the RPC harnesses, made once at start-up
 * with scripts/make-certs.sh (the openssl CLI) in a temporary directory that
 * is removed again: `who`'s certificate and key, and the CA. Exits on
 * failure. */
#ifndef SYNERGY_FUZZ_CERTS_H
#define SYNERGY_FUZZ_CERTS_H

#include <stdio.h>
#include <stdlib.h>

#include "rpc.h"

static rpc_tls_t *fuzz_tls_make(const char *who)
{
    char dir[] = "/tmp/synergy-fuzz-certs-XXXXXX", cmd[512];
    if (!mkdtemp(dir))
        exit(1);
    snprintf(cmd, sizeof cmd, "%s/scripts/make-certs.sh -o %s/c -w 2 >/dev/null 2>&1",
             SYNERGY_SOURCE_DIR, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz: %s failed\n", cmd);
        exit(1);
    }
    char ca[300], cert[300], key[300];
    snprintf(ca, sizeof ca, "%s/c/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/c/%s.pem", dir, who);
    snprintf(key, sizeof key, "%s/c/%s.key", dir, who);
    struct err err = {{0}};
    rpc_tls_t *t = rpc_tls_load(ca, cert, key, &err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0 || !t) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        exit(1);
    }
    return t;
}

#endif
