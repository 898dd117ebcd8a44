/*
 * Internals of rpc/ shared by its files: certificate identities and the
 * client-side identity check (rpc_pin.c).
 */
#ifndef SYNERGY_RPC_INTERNAL_H
#define SYNERGY_RPC_INTERNAL_H

#include <grpc/grpc_security.h>
#include <stdbool.h>
#include <stddef.h>

#include "rpc.h"

/* The identity a PEM certificate carries: its CN, else its first SAN (a DNS
 * name or an IPv4 address), into out. false ("" in out) when it has neither
 * or does not parse. */
bool rpc__cert_identity(const char *pem, char *out, size_t n);
/* Fill o so that a client's handshake fails unless the server's certificate
 * carries `identity` (copied; freed with the credentials). */
void rpc__pin_options(grpc_ssl_verify_peer_options *o, const char *identity);

#endif
