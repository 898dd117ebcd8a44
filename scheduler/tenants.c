/*
 * The tenants file (docs/tenants.md): an inih handler over three kinds of
 * section.
 *
 *   [fair_share]            k = 1, half_life_s = 86400, window_s = 604800
 *   [tenant vision]         gpus = 64, gpus.V100 = 32, cpus = 192, mem_gb = 2000,
 *                           borrowing_limit = 32, lending_limit = 16, weight = 2,
 *                           cohort = research, max_running_gpus = 96,
 *                           max_queued_jobs = 100
 *   [user alice]            identity = alice, unix = alice, tenants = vision, nlp,
 *                           admin = false
 *
 * Every key is optional. A user's tenants are resolved once the whole file
 * is read (a [user] may come before its [tenant]). Errors are
 * "file:line: field: problem". Also: quotas proportional to a trace's
 * GPU-time per tenant (--tenants proportional).
 */
#include "scheduler_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ini_lines.h"

/* A tenant, cohort or user name: letters, digits, '-', '_', '.', '@'. */
static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@'))
            return false;
    }
    return true;
}

struct user_names {
    char names[TENANT_USER_TENANTS][TENANT_NAME];
    int n;
    int line; /* of the tenants key */
};

struct pctx {
    struct tenants_config *c;
    struct user_names *un; /* per user, resolved at the end */
    size_t cap_t, cap_u;
    const char *path;
    struct err *err;
    bool failed;
    char section[160];
    int cur_t, cur_u; /* the section being read, -1 if another */
};

static int bad(struct pctx *x, int line, const char *key, const char *fmt, const char *v)
{
    char what[256];
    snprintf(what, sizeof what, fmt, v);
    x->failed = true;
    return errprintf(x->err, "%s:%d: %s: %s", x->path, line, key, what);
}

static int get_int(struct pctx *x, int line, const char *key, const char *v, long lo, long hi,
                   long *out)
{
    long n;
    if (parse_long(v, &n) < 0)
        return bad(x, line, key, "'%s' is not an integer", v);
    if (n < lo || n > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%%s is out of range %ld..%ld", lo, hi);
        return bad(x, line, key, msg, v);
    }
    *out = n;
    return 0;
}

static int get_num(struct pctx *x, int line, const char *key, const char *v, double lo,
                   double hi, double *out)
{
    double d;
    if (parse_double(v, &d) < 0 || !isfinite(d))
        return bad(x, line, key, "'%s' is not a number", v);
    if (d < lo || d > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%%s is out of range %g..%g", lo, hi);
        return bad(x, line, key, msg, v);
    }
    *out = d;
    return 0;
}

static int get_bool(struct pctx *x, int line, const char *key, const char *v, bool *out)
{
    if (str_ieq(v, "true") || str_ieq(v, "yes") || strcmp(v, "1") == 0)
        *out = true;
    else if (str_ieq(v, "false") || str_ieq(v, "no") || strcmp(v, "0") == 0)
        *out = false;
    else
        return bad(x, line, key, "'%s' is not true or false", v);
    return 0;
}

static int fair_share_key(struct pctx *x, const char *key, const char *v, int line)
{
    struct tenants_config *c = x->c;
    if (str_ieq(key, "k"))
        return get_num(x, line, key, v, 0, 1e6, &c->k);
    if (str_ieq(key, "half_life_s"))
        return get_num(x, line, key, v, 0, 1e12, &c->half_life_s);
    if (str_ieq(key, "window_s"))
        return get_num(x, line, key, v, 0, 1e12, &c->window_s);
    x->failed = true;
    return errprintf(x->err, "%s:%d: unknown key '%s' in [fair_share] (expected k, half_life_s "
                             "or window_s)", x->path, line, key);
}

static int typed_quota(struct pctx *x, struct tenant_def *t, const char *key, const char *v,
                       int line)
{
    const char *type = key + 5; /* after "gpus." */
    if (!sched__type_name_ok(type))
        return bad(x, line, key, "'%s' is not a GPU type name", type);
    for (int i = 0; i < t->n_typed; i++)
        if (strcmp(t->typed[i].type, type) == 0)
            return bad(x, line, key, "GPU type %s is given twice", type);
    if (t->n_typed >= CLUSTER_MAX_TYPES)
        return bad(x, line, key, "more than %s GPU types", "16");
    long n;
    if (get_int(x, line, key, v, 0, 1L << 30, &n) < 0)
        return -1;
    struct tenant_typed *ty = &t->typed[t->n_typed++];
    snprintf(ty->type, sizeof ty->type, "%s", type);
    ty->gpus = (int)n;
    ty->line = line;
    return 0;
}

static int tenant_key(struct pctx *x, const char *key, const char *v, int line)
{
    struct tenant_def *t = &x->c->t[x->cur_t];
    long n;
    if (strncasecmp(key, "gpus.", 5) == 0)
        return typed_quota(x, t, key, v, line);
    if (str_ieq(key, "gpus")) {
        if (get_int(x, line, key, v, 0, 1L << 30, &n) < 0)
            return -1;
        t->gpus = (int)n;
        return 0;
    }
    if (str_ieq(key, "cpus"))
        return get_num(x, line, key, v, 0, 1e12, &t->cpus);
    if (str_ieq(key, "mem_gb"))
        return get_num(x, line, key, v, 0, 1e15, &t->mem_gb);
    if (str_ieq(key, "borrowing_limit") || str_ieq(key, "lending_limit")) {
        if (get_int(x, line, key, v, 0, 1L << 30, &n) < 0)
            return -1;
        *(str_ieq(key, "borrowing_limit") ? &t->borrowing_limit : &t->lending_limit) = (int)n;
        return 0;
    }
    if (str_ieq(key, "weight"))
        return get_num(x, line, key, v, 1e-9, 1e9, &t->weight);
    if (str_ieq(key, "cohort")) {
        if (!name_ok(v, sizeof t->cohort))
            return bad(x, line, key, "'%s' must be 1 to 31 letters, digits, '-', '_', '.'", v);
        snprintf(t->cohort, sizeof t->cohort, "%s", v);
        return 0;
    }
    if (str_ieq(key, "max_running_gpus"))
        return get_int(x, line, key, v, 0, 1L << 30, &t->max_running_gpus);
    if (str_ieq(key, "max_queued_jobs"))
        return get_int(x, line, key, v, 0, 1L << 40, &t->max_queued_jobs);
    x->failed = true;
    return errprintf(x->err, "%s:%d: unknown key '%s' in [tenant %s] (expected gpus, gpus.TYPE, "
                             "cpus, mem_gb, borrowing_limit, lending_limit, weight, cohort, "
                             "max_running_gpus or max_queued_jobs)",
                     x->path, line, key, t->name);
}

static int user_tenants(struct pctx *x, struct user_names *un, const char *v, int line)
{
    char buf[1024];
    if (strlen(v) >= sizeof buf)
        return bad(x, line, "tenants", "%s", "the list is too long");
    snprintf(buf, sizeof buf, "%s", v);
    un->n = 0;
    un->line = line;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = str_trim(tok);
        if (!name_ok(tok, TENANT_NAME))
            return bad(x, line, "tenants", "'%s' is not a tenant name", tok);
        if (un->n >= TENANT_USER_TENANTS)
            return bad(x, line, "tenants", "more than %s tenants", "16");
        snprintf(un->names[un->n++], TENANT_NAME, "%s", tok);
    }
    if (un->n == 0)
        return bad(x, line, "tenants", "%s", "names no tenant");
    return 0;
}

static int user_key(struct pctx *x, const char *key, const char *v, int line)
{
    struct tenant_user *u = &x->c->u[x->cur_u];
    if (str_ieq(key, "identity")) {
        if (v[0] == '\0' || strlen(v) >= sizeof u->identity || strpbrk(v, " \t,"))
            return bad(x, line, key, "'%s' must be 1 to 127 characters, no blanks or commas", v);
        snprintf(u->identity, sizeof u->identity, "%s", v);
        return 0;
    }
    if (str_ieq(key, "unix")) {
        if (!name_ok(v, sizeof u->unix_user) || strchr(v, '@'))
            return bad(x, line, key, "'%s' is not a Unix account name", v);
        snprintf(u->unix_user, sizeof u->unix_user, "%s", v);
        return 0;
    }
    if (str_ieq(key, "tenants"))
        return user_tenants(x, &x->un[x->cur_u], v, line);
    if (str_ieq(key, "admin"))
        return get_bool(x, line, key, v, &u->admin);
    x->failed = true;
    return errprintf(x->err, "%s:%d: unknown key '%s' in [user %s] (expected identity, unix, "
                             "tenants or admin)", x->path, line, key, u->name);
}

/* A new [tenant NAME] or [user NAME] section. */
static int open_section(struct pctx *x, const char *section, int line)
{
    struct tenants_config *c = x->c;
    bool is_t = strncasecmp(section, "tenant ", 7) == 0;
    const char *name = section + (is_t ? 7 : 5);
    while (*name == ' ' || *name == '\t')
        name++;
    if (!name_ok(name, TENANT_NAME)) {
        x->failed = true;
        return errprintf(x->err, "%s:%d: [%s]: the name must be 1 to 31 letters, digits, '-', "
                                 "'_', '.' or '@'", x->path, line, section);
    }
    if ((is_t ? tenants_find(c, name) : tenants_user_find(c, name)) >= 0) {
        x->failed = true;
        return errprintf(x->err, "%s:%d: [%s]: %s %s is declared twice", x->path, line, section,
                         is_t ? "tenant" : "user", name);
    }
    if (is_t) {
        xgrow((void **)&c->t, &x->cap_t, (size_t)c->n + 1, sizeof *c->t);
        struct tenant_def *t = &c->t[c->n];
        *t = (struct tenant_def){.cpus = -1, .mem_gb = -1, .borrowing_limit = -1,
                                 .lending_limit = -1, .weight = 1, .max_running_gpus = -1,
                                 .max_queued_jobs = -1, .line = line};
        snprintf(t->name, sizeof t->name, "%s", name);
        x->cur_t = c->n++;
    } else {
        size_t cap = x->cap_u;
        xgrow((void **)&c->u, &x->cap_u, (size_t)c->n_users + 1, sizeof *c->u);
        if (x->cap_u != cap)
            x->un = xrealloc(x->un, x->cap_u * sizeof *x->un);
        struct tenant_user *u = &c->u[c->n_users];
        *u = (struct tenant_user){.line = line};
        snprintf(u->name, sizeof u->name, "%s", name);
        x->un[c->n_users] = (struct user_names){.n = 0};
        x->cur_u = c->n_users++;
    }
    return 0;
}

/* The section headers, read before inih (which calls the handler for keys
 * only, so a section without keys would go unseen): each [tenant NAME] and
 * [user NAME] is declared at its header's line. */
static int scan_sections(struct pctx *x, FILE *f)
{
    struct line_reader lr = {.f = f, .path = x->path, .comments = true};
    char *line;
    int rc;
    while (!x->failed && (rc = line_next(&lr, &line, x->err)) > 0) {
        size_t n = strlen(line);
        if (line[0] != '[' || n < 2 || line[n - 1] != ']')
            continue;
        line[n - 1] = '\0';
        char *sec = str_trim(line + 1);
        if (strncasecmp(sec, "tenant ", 7) == 0 || strncasecmp(sec, "user ", 5) == 0)
            open_section(x, sec, lr.lineno);
        else if (!str_ieq(sec, "fair_share") && sec[0] != '\0') {
            x->failed = true;
            errprintf(x->err, "%s:%d: unknown section [%s] (expected fair_share, tenant NAME or "
                              "user NAME)", x->path, lr.lineno, sec);
        }
    }
    line_reader_free(&lr);
    if (rc < 0)
        x->failed = true;
    return x->failed ? -1 : 0;
}

static int handler(void *user, const char *section, const char *key, const char *value,
                   int line)
{
    struct pctx *x = user;
    if (x->failed)
        return 0;
    if (strcmp(section, x->section) != 0) {
        snprintf(x->section, sizeof x->section, "%s", section);
        x->cur_t = x->cur_u = -1;
        char buf[160];
        snprintf(buf, sizeof buf, "%s", section);
        char *sec = str_trim(buf);
        if (strncasecmp(sec, "tenant ", 7) == 0)
            x->cur_t = tenants_find(x->c, str_trim(sec + 7));
        else if (strncasecmp(sec, "user ", 5) == 0)
            x->cur_u = tenants_user_find(x->c, str_trim(sec + 5));
        else if (!str_ieq(sec, "fair_share")) {
            x->failed = true;
            errprintf(x->err, "%s:%d: keys outside a section (expected [fair_share], [tenant "
                              "NAME] or [user NAME] first)", x->path, line);
            return 0;
        }
    }
    int rc;
    if (x->cur_t >= 0)
        rc = tenant_key(x, key, value, line);
    else if (x->cur_u >= 0)
        rc = user_key(x, key, value, line);
    else
        rc = fair_share_key(x, key, value, line);
    return rc == 0;
}

/* After the file: typed quotas add up, users' tenants exist, identities are unique. */
static int finish(struct pctx *x)
{
    struct tenants_config *c = x->c;
    if (c->n == 0)
        return errprintf(x->err, "%s: no [tenant NAME] section", x->path);
    for (int i = 0; i < c->n; i++) {
        struct tenant_def *t = &c->t[i];
        long sum = 0;
        for (int k = 0; k < t->n_typed; k++)
            sum += t->typed[k].gpus;
        if (t->n_typed > 0 && t->gpus == 0)
            t->gpus = (int)sum;
        else if (sum > t->gpus)
            return errprintf(x->err, "%s:%d: gpus.%s: the tenant's GPU types add up to %ld, more "
                                     "than its gpus = %d", x->path, t->typed[0].line,
                             t->typed[0].type, sum, t->gpus);
    }
    for (int i = 0; i < c->n_users; i++) {
        struct tenant_user *u = &c->u[i];
        struct user_names *un = &x->un[i];
        if (un->n == 0)
            return errprintf(x->err, "%s:%d: [user %s]: tenants: missing (the tenants the user "
                                     "may submit to, the first the default)", x->path, u->line,
                             u->name);
        for (int k = 0; k < un->n; k++) {
            int t = tenants_find(c, un->names[k]);
            if (t < 0)
                return errprintf(x->err, "%s:%d: tenants: no [tenant %s] in the file", x->path,
                                 un->line, un->names[k]);
            u->tenants[u->n_tenants++] = t;
        }
        if (u->identity[0] == '\0')
            snprintf(u->identity, sizeof u->identity, "%s", u->name);
        if (u->unix_user[0] == '\0') {
            if (strchr(u->name, '@'))
                return errprintf(x->err, "%s:%d: [user %s]: unix: missing (the name is not a "
                                         "Unix account)", x->path, u->line, u->name);
            snprintf(u->unix_user, sizeof u->unix_user, "%s", u->name);
        }
        for (int k = 0; k < i; k++)
            if (strcmp(c->u[k].identity, u->identity) == 0)
                return errprintf(x->err, "%s:%d: [user %s]: identity %s is also user %s's",
                                 x->path, u->line, u->name, u->identity, c->u[k].name);
    }
    return 0;
}

static void config_defaults(struct tenants_config *c)
{
    c->k = 1;
    c->half_life_s = 86400;
    c->window_s = 7 * 86400;
}

struct tenants_config *tenants_config_load(const char *path, struct err *err)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        f = NULL;
        errno = EISDIR;
    }
    if (!f) {
        errprintf(err, "%s: cannot open tenants file: %s", path, strerror(errno));
        return NULL;
    }
    struct tenants_config *c = xcalloc(1, sizeof *c);
    config_defaults(c);
    snprintf(c->path, sizeof c->path, "%s", path);
    struct pctx x = {.c = c, .path = path, .err = err, .section = {1}, .cur_t = -1, .cur_u = -1};
    int rc = 0;
    char why[160] = "";
    if (scan_sections(&x, f) == 0) {
        rewind(f);
        rc = ini_parse_file_lines_why(f, handler, &x, why, sizeof why);
    }
    bool read_error = ferror(f);
    fclose(f);
    if (!x.failed && rc > 0)
        errprintf(err, "%s:%d: %s", path, rc,
                  why[0] ? why : "syntax error (expected [section] or key = value)");
    else if (!x.failed && (rc < 0 || read_error))
        errprintf(err, "%s: cannot read tenants file", path);
    bool ok = !x.failed && rc == 0 && !read_error && finish(&x) == 0;
    free(x.un);
    if (!ok) {
        tenants_config_destroy(c);
        return NULL;
    }
    return c;
}

void tenants_config_destroy(struct tenants_config *c)
{
    if (!c)
        return;
    free(c->t);
    free(c->u);
    free(c);
}

int tenants_find(const struct tenants_config *c, const char *name)
{
    for (int i = 0; c && i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return i;
    return -1;
}

int tenants_user_find(const struct tenants_config *c, const char *name)
{
    for (int i = 0; c && i < c->n_users; i++)
        if (strcmp(c->u[i].name, name) == 0)
            return i;
    return -1;
}

int tenants_user_by_identity(const struct tenants_config *c, const char *identity)
{
    for (int i = 0; c && identity && i < c->n_users; i++)
        if (strcmp(c->u[i].identity, identity) == 0)
            return i;
    return -1;
}

bool tenants_user_in(const struct tenants_config *c, int u, int t)
{
    if (!c || u < 0 || u >= c->n_users)
        return false;
    for (int k = 0; k < c->u[u].n_tenants; k++)
        if (c->u[u].tenants[k] == t)
            return true;
    return false;
}

/* ------------------------------------------------------------ proportional */

struct tenant_time {
    char name[TENANT_NAME];
    double gpu_s;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tenant_time *)a)->name, ((const struct tenant_time *)b)->name);
}

/* Largest remainder: quotas adding up to `total`, ties to the earlier tenant. */
static void largest_remainder(const struct tenant_time *tt, int n, double sum, int total,
                              int *out)
{
    double *rem = xmalloc(sizeof *rem * (size_t)n);
    int given = 0;
    for (int i = 0; i < n; i++) {
        double x = sum > 0 ? total * tt[i].gpu_s / sum : (double)total / n;
        out[i] = (int)floor(x);
        rem[i] = x - out[i];
        given += out[i];
    }
    while (given < total) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        out[best]++;
        rem[best] = -1;
        given++;
    }
    free(rem);
}

struct tenants_config *tenants_config_shares(const char (*names)[TENANT_NAME], const double *w,
                                             int n, int cluster_gpus)
{
    struct tenant_time *tt = xcalloc((size_t)n + 1, sizeof *tt);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        snprintf(tt[i].name, sizeof tt[i].name, "%s", names[i]);
        tt[i].gpu_s = w[i];
        sum += w[i];
    }
    qsort(tt, (size_t)n, sizeof *tt, by_name);
    int *q = xmalloc(sizeof *q * (size_t)n + 1);
    largest_remainder(tt, n, sum, cluster_gpus, q);
    struct tenants_config *c = xcalloc(1, sizeof *c);
    config_defaults(c);
    snprintf(c->path, sizeof c->path, "proportional");
    c->t = xcalloc((size_t)n + 1, sizeof *c->t);
    c->n = n;
    for (int i = 0; i < n; i++) {
        struct tenant_def *t = &c->t[i];
        double w_exact = sum > 0 ? cluster_gpus * tt[i].gpu_s / sum : 1;
        *t = (struct tenant_def){.gpus = q[i], .cpus = -1, .mem_gb = -1, .borrowing_limit = -1,
                                 .lending_limit = -1, .weight = w_exact > 1e-9 ? w_exact : 1e-9,
                                 .max_running_gpus = -1, .max_queued_jobs = -1};
        snprintf(t->name, sizeof t->name, "%s", tt[i].name);
    }
    free(q);
    free(tt);
    return c;
}

struct tenants_config *tenants_config_proportional(const struct job_spec *jobs, size_t n,
                                                   const model_zoo_t *zoo, int cluster_gpus,
                                                   struct err *err)
{
    struct tenant_time *tt = NULL;
    size_t cap = 0;
    int nt = 0;
    const struct model_profile *alexnet = model_zoo_find(zoo, "alexnet");
    for (size_t i = 0; i < n; i++) {
        const struct job_spec *j = &jobs[i];
        if (j->tenant[0] == '\0') {
            free(tt);
            errprintf(err, "--tenants proportional: job %d has no tenant (--tenant-from vc, "
                           "or a tenant column in the trace)", j->id);
            return NULL;
        }
        int k = 0;
        while (k < nt && strcmp(tt[k].name, j->tenant) != 0)
            k++;
        if (k == nt) {
            xgrow((void **)&tt, &cap, (size_t)nt + 1, sizeof *tt);
            tt[nt] = (struct tenant_time){.gpu_s = 0};
            snprintf(tt[nt].name, sizeof tt[nt].name, "%s", j->tenant);
            nt++;
        }
        const struct model_profile *m = model_zoo_find(zoo, j->model);
        if (!m)
            m = alexnet;
        tt[k].gpu_s += (double)j->gpus * (double)j->iterations * (m ? m->iter_time : 1);
    }
    if (nt == 0) {
        errprintf(err, "--tenants proportional: the workload has no jobs");
        return NULL;
    }
    char(*names)[TENANT_NAME] = xmalloc(sizeof *names * (size_t)nt);
    double *w = xmalloc(sizeof *w * (size_t)nt);
    for (int i = 0; i < nt; i++) {
        memcpy(names[i], tt[i].name, TENANT_NAME);
        w[i] = tt[i].gpu_s;
    }
    struct tenants_config *c = tenants_config_shares((const char(*)[TENANT_NAME])names, w, nt,
                                                     cluster_gpus);
    free(names);
    free(w);
    free(tt);
    return c;
}
