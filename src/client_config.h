/*
 * The admin clients' configuration (submit, queue, cancel, nodes): where the
 * scheduler is and which TLS files to show it, so that a user sets them once,
 * as Slurm reads slurm.conf and kubectl a kubeconfig. Each setting is taken
 * from the first of: the command line, the environment ($SYNERGY_SCHEDULER,
 * $SYNERGY_TLS_CA, $SYNERGY_TLS_CERT, $SYNERGY_TLS_KEY), the user's file
 * ($XDG_CONFIG_HOME/synergy/client.ini, default ~/.config/synergy/client.ini)
 * and the machine's (/etc/synergy/client.ini, or $SYNERGY_CLIENT_CONFIG_SYSTEM).
 * docs/client.md has the format.
 *
 *     [client]
 *     scheduler = 127.0.0.1:15200
 *     tls_ca = certs/ca.pem          ; relative to the file's directory
 *     tls_cert = certs/admin.pem
 *     tls_key = certs/admin.key
 *     insecure = no                  ; plaintext to a scheduler off this machine
 *     scheduler_identity = scheduler ; under TLS, the scheduler's certificate
 *                                    ; must carry this identity (the default)
 *
 * A scheduler on loopback without TLS files is asked in plaintext (deploy's
 * admin service takes plaintext only there); anywhere else plaintext must be
 * asked for with --insecure or `insecure = yes`.
 */
#ifndef SYNERGY_CLIENT_CONFIG_H
#define SYNERGY_CLIENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define CLIENT_SYSTEM_CONFIG "/etc/synergy/client.ini"

/* One setting and where it came from ("--scheduler", "$SYNERGY_SCHEDULER",
 * "/home/u/.config/synergy/client.ini:2"), for messages. */
struct client_setting {
    char value[4096];
    char origin[4200];
    bool set;
};

enum client_key { CLIENT_SCHEDULER, CLIENT_TLS_CA, CLIENT_TLS_CERT, CLIENT_TLS_KEY,
                  CLIENT_INSECURE, CLIENT_SCHEDULER_IDENTITY, CLIENT_N_KEYS };

struct client_config {
    struct client_setting s[CLIENT_N_KEYS];
    /* after client_config_finish() */
    bool insecure;      /* plaintext */
    char host_port[300]; /* the scheduler, checked: HOST:PORT, port 1..65535 */
};

/* Set key k from `origin` unless an earlier source set it already. */
void client_config_set(struct client_config *c, enum client_key k, const char *value,
                       const char *origin);
/* The environment's settings (those not set yet). */
void client_config_env(struct client_config *c);
/* One client.ini (settings not set yet; relative paths against the file's
 * directory). A file that does not exist is no error. 0, or -1 with err
 * "file:line: field: what is wrong" (bad input). */
int client_config_read(const char *path, struct client_config *c, struct err *err);
/* The machine's file: $SYNERGY_CLIENT_CONFIG_SYSTEM when set (as git's
 * GIT_CONFIG_SYSTEM; "" reads none), else /etc/synergy/client.ini. */
const char *client_config_system_path(void);
/* The user's file name into buf ("" when neither XDG_CONFIG_HOME nor HOME is set). */
const char *client_config_user_path(char *buf, size_t n);
/* The environment, the user's file and the machine's (`system`, normally
 * CLIENT_SYSTEM_CONFIG), under what the command line set already; then the
 * checks: a scheduler address with a port 1..65535, TLS files all three or
 * none, plaintext only to loopback unless asked for. 0, or -1 with err naming
 * where the bad setting came from. */
int client_config_resolve(struct client_config *c, const char *system, struct err *err);
/* Only the checks of client_config_resolve (user: the user's file, for the
 * messages; NULL for the usual place). */
int client_config_check(struct client_config *c, const char *user, struct err *err);

/* Write the user's client.ini for the scheduler at host_port (and the CA that
 * signed it, when not NULL), atomically, creating its directory; an existing
 * file is replaced. 0, or -1 with err. */
int client_config_write(const char *path, const char *host_port, const char *ca,
                        struct err *err);

#endif
