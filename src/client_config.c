/*
 * The admin clients' configuration: flags, environment, the user's and the
 * machine's client.ini (client_config.h).
 */
#include "client_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ini_lines.h"

static const struct {
    const char *key, *env, *flag;
} keys[CLIENT_N_KEYS] = {
    [CLIENT_SCHEDULER] = {"scheduler", "SYNERGY_SCHEDULER", "--scheduler"},
    [CLIENT_TLS_CA] = {"tls_ca", "SYNERGY_TLS_CA", "--tls-ca"},
    [CLIENT_TLS_CERT] = {"tls_cert", "SYNERGY_TLS_CERT", "--tls-cert"},
    [CLIENT_TLS_KEY] = {"tls_key", "SYNERGY_TLS_KEY", "--tls-key"},
    [CLIENT_INSECURE] = {"insecure", NULL, "--insecure"},
    [CLIENT_SCHEDULER_IDENTITY] = {"scheduler_identity", "SYNERGY_SCHEDULER_IDENTITY",
                                   "--scheduler-identity"},
};

void client_config_set(struct client_config *c, enum client_key k, const char *value,
                       const char *origin)
{
    struct client_setting *s = &c->s[k];
    if (s->set)
        return;
    snprintf(s->value, sizeof s->value, "%s", value);
    snprintf(s->origin, sizeof s->origin, "%s", origin);
    s->set = true;
}

void client_config_env(struct client_config *c)
{
    for (int k = 0; k < CLIENT_N_KEYS; k++) {
        const char *v = keys[k].env ? getenv(keys[k].env) : NULL;
        char origin[64];
        snprintf(origin, sizeof origin, "$%s", keys[k].env ? keys[k].env : "");
        if (v && *v)
            client_config_set(c, (enum client_key)k, v, origin);
    }
}

struct read_ctx {
    struct client_config *c;
    const char *path;
    char dir[4096]; /* the file's directory, for relative paths */
    struct err *err;
    bool failed;
};

static int on_key(void *user, const char *section, const char *key, const char *value, int line)
{
    struct read_ctx *x = user;
    if (x->failed)
        return 0;
    x->failed = true;
    if (strcasecmp(section, "client") != 0)
        return errprintf(x->err, "%s:%d: unknown section [%s] (expected [client])", x->path,
                         line, section), 0;
    int k = 0;
    while (k < CLIENT_N_KEYS && strcasecmp(keys[k].key, key) != 0)
        k++;
    if (k == CLIENT_N_KEYS)
        return errprintf(x->err, "%s:%d: unknown key '%s' in [client] (expected scheduler, "
                                 "tls_ca, tls_cert, tls_key, insecure or scheduler_identity)", x->path, line, key), 0;
    if (!*value || strlen(value) >= 3000)
        return errprintf(x->err, "%s:%d: %s: give a value of 1 to 3000 characters", x->path,
                         line, key), 0;
    char v[4096], origin[4200];
    if (k == CLIENT_INSECURE) {
        if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
            strcmp(value, "1") == 0)
            snprintf(v, sizeof v, "yes");
        else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
                 strcmp(value, "0") == 0)
            snprintf(v, sizeof v, "no");
        else
            return errprintf(x->err, "%s:%d: insecure: '%s' must be yes or no", x->path, line,
                             value), 0;
    } else if (k >= CLIENT_TLS_CA && k <= CLIENT_TLS_KEY && value[0] != '/' && x->dir[0]) {
        snprintf(v, sizeof v, "%.1000s/%s", x->dir, value);
    } else {
        snprintf(v, sizeof v, "%s", value);
    }
    snprintf(origin, sizeof origin, "%s:%d", x->path, line);
    client_config_set(x->c, (enum client_key)k, v, origin);
    x->failed = false;
    return 1;
}

int client_config_read(const char *path, struct client_config *c, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return errprintf(err, "%s: cannot read the client configuration: %s", path,
                         strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return errprintf(err, "%s: cannot read the client configuration: %s", path,
                         strerror(EISDIR));
    }
    /* a setting only this file gives: none of the earlier sources may set it */
    struct client_config mine = {0};
    struct read_ctx x = {.c = &mine, .path = path, .err = err};
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(x.dir, sizeof x.dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    char why[160];
    int rc = ini_parse_file_lines_why(f, on_key, &x, why, sizeof why);
    fclose(f);
    if (x.failed)
        return -1;
    if (rc != 0)
        return errprintf(err, "%s:%d: %s", path, rc, why[0] ? why : "syntax error");
    for (int k = 0; k < CLIENT_N_KEYS; k++)
        if (mine.s[k].set)
            client_config_set(c, (enum client_key)k, mine.s[k].value, mine.s[k].origin);
    return 0;
}

const char *client_config_system_path(void)
{
    const char *e = getenv("SYNERGY_CLIENT_CONFIG_SYSTEM");
    return e ? (*e ? e : NULL) : CLIENT_SYSTEM_CONFIG;
}

const char *client_config_user_path(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, n, "%s/synergy/client.ini", xdg);
    else if (home && *home)
        snprintf(buf, n, "%s/.config/synergy/client.ini", home);
    else
        buf[0] = '\0';
    return buf;
}

/* HOST:PORT with a port 1..65535 into c->host_port. 0, or -1 with err. */
static int check_scheduler(struct client_config *c, struct err *err)
{
    const struct client_setting *s = &c->s[CLIENT_SCHEDULER];
    const char *colon = strrchr(s->value, ':');
    long port;
    if (!colon || colon == s->value || strlen(s->value) >= sizeof c->host_port)
        return errprintf(err, "%s: '%s' must be HOST:PORT", s->origin, s->value);
    if (parse_long(colon + 1, &port) < 0 || port < 1 || port > 65535)
        return errprintf(err, "%s: '%s': the port must be 1..65535", s->origin, s->value);
    snprintf(c->host_port, sizeof c->host_port, "%s", s->value);
    return 0;
}

static bool loopback_host(const char *hp)
{
    const char *colon = strrchr(hp, ':');
    size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
    return (n >= 4 && strncmp(hp, "127.", 4) == 0) || (n == 5 && strncmp(hp, "[::1]", 5) == 0) ||
           (n == 9 && strncmp(hp, "localhost", 9) == 0);
}

/* The rank of a setting's source: 0 flag, 1 environment, 2 a file. */
static int rank(const struct client_setting *s)
{
    return s->origin[0] == '-' ? 0 : s->origin[0] == '$' ? 1 : 2;
}

/* Plaintext or TLS: the most direct source that says either wins (a flag
 * --insecure over TLS files from client.ini, and the other way round). */
static int choose_transport(struct client_config *c, struct err *err)
{
    struct client_setting *ins = &c->s[CLIENT_INSECURE];
    if (ins->set && strcmp(ins->value, "no") == 0)
        ins->set = false;
    int tls_rank = 3;
    for (int k = CLIENT_TLS_CA; k <= CLIENT_TLS_KEY; k++)
        if (c->s[k].set && rank(&c->s[k]) < tls_rank)
            tls_rank = rank(&c->s[k]);
    if (ins->set && tls_rank < 3) {
        if (rank(ins) == tls_rank)
            return errprintf(err, "%s: insecure (plaintext) and TLS files exclude each other",
                             ins->origin);
        if (rank(ins) < tls_rank)
            for (int k = CLIENT_TLS_CA; k <= CLIENT_TLS_KEY; k++)
                c->s[k].set = false;
        else
            ins->set = false;
    }
    c->insecure = ins->set;
    if (c->insecure || tls_rank == 3)
        return 0;
    char missing[128] = "";
    for (int k = CLIENT_TLS_CA; k <= CLIENT_TLS_KEY; k++)
        if (!c->s[k].set)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                     missing[0] ? " and " : "", keys[k].flag);
    if (missing[0]) {
        const struct client_setting *given = NULL;
        for (int k = CLIENT_TLS_CA; k <= CLIENT_TLS_KEY && !given; k++)
            if (c->s[k].set)
                given = &c->s[k];
        return errprintf(err, "mutual TLS needs the CA, a certificate and its key: %s set "
                              "one, but %s %s not set (flags, $SYNERGY_TLS_*, or tls_* in "
                              "client.ini)", given->origin, missing,
                         strchr(missing, ' ') ? "are" : "is");
    }
    return 0;
}

int client_config_resolve(struct client_config *c, const char *system, struct err *err)
{
    char user[4096];
    client_config_env(c);
    if (client_config_user_path(user, sizeof user)[0] && client_config_read(user, c, err) < 0)
        return -1;
    if (system && client_config_read(system, c, err) < 0)
        return -1;
    return client_config_check(c, user, err);
}

int client_config_check(struct client_config *c, const char *user, struct err *err)
{
    if (!user || !user[0])
        user = "~/.config/synergy/client.ini";
    if (!c->s[CLIENT_SCHEDULER].set)
        return errprintf(err, "which scheduler? give --scheduler HOST:PORT, export "
                              "SYNERGY_SCHEDULER=HOST:PORT, or write 'scheduler = HOST:PORT' "
                              "under [client] in %s (synergy deploy --write-client-config "
                              "does)", user);
    if (check_scheduler(c, err) < 0 || choose_transport(c, err) < 0)
        return -1;
    bool tls = c->s[CLIENT_TLS_CA].set;
    if (!tls && !c->insecure && !loopback_host(c->host_port))
        return errprintf(err, "%s is not on this machine: give --tls-ca, --tls-cert and "
                              "--tls-key (mutual TLS), or --insecure for plaintext (or set them "
                              "in %s)", c->host_port, user);
    c->insecure = !tls;
    return 0;
}

int client_config_write(const char *path, const char *host_port, const char *ca,
                        struct err *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; (p = strchr(p, '/')); p++) { /* mkdir -p of its directory */
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return errprintf(err, "%s: %s", dir, strerror(errno));
        *p = '/';
    }
    struct out_file of;
    if (out_file_open(&of, path) < 0)
        return errprintf(err, "%s: %s", path, strerror(errno));
    fprintf(of.f, "; written by synergy deploy --write-client-config: where submit, queue,\n"
                  "; cancel and nodes find the scheduler (docs/client.md)\n"
                  "[client]\nscheduler = %s\n", host_port);
    if (ca)
        fprintf(of.f, "tls_ca = %s\n; an admin identity (deploy --admins) signed by that CA:\n"
                      "; tls_cert = ...\n; tls_key = ...\n", ca);
    if (ferror(of.f) || out_file_commit(&of) < 0) {
        int e = errno;
        if (of.f)
            out_file_abort(&of);
        return errprintf(err, "%s: %s", path, strerror(e ? e : EIO));
    }
    return 0;
}
