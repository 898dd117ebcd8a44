/*
 * The worker-side job catalog: model name -> argv template. The scheduler
 * only names a model; what runs is decided here, so a peer cannot make the
 * worker run an arbitrary command (reference weakness #9). Templates are
 * split on whitespace before substitution, so a substituted value can never
 * add arguments, and no shell ever sees them.
 */
#include "worker.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini_lines.h"

#define MAX_TYPED 8

struct entry {
    char model[64];
    char *tmpl;   /* NULL until the section's argv is read */
    struct {
        char type[WORKER_GPU_TYPE];
        char *tmpl;
    } typed[MAX_TYPED]; /* argv.TYPE: a worker of GPU type TYPE runs this */
    int n_typed;
    bool per_gpu; /* ranks = per-gpu: the command runs one process per GPU */
    int line;
};

struct catalog {
    struct entry *e;
    size_t n, cap;
    const char *path;
    struct err *err;
    int failed;
};

static const char *const known_vars[] = {"synergy",   "job_id",     "sched_addr",  "sched_port",
                                         "chk_dir",   "log_dir",    "model",       "batch_size",
                                         "total_iters", "elapsed_iters", "time_scale",
                                         "gpu_type", NULL};

static int check_template(const char *t)
{
    for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
        const char *q = strchr(p, '}');
        if (!q)
            return -1;
        bool ok = false;
        for (int i = 0; known_vars[i]; i++)
            if ((size_t)(q - p - 1) == strlen(known_vars[i]) &&
                strncmp(p + 1, known_vars[i], (size_t)(q - p - 1)) == 0)
                ok = true;
        if (!ok)
            return -1;
    }
    return 0;
}

static struct entry *entry_of(catalog_t *c, const char *section, int line)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].model, section) == 0)
            return &c->e[i];
    xgrow((void **)&c->e, &c->cap, c->n + 1, sizeof *c->e);
    struct entry *e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->model, sizeof e->model, "%s", section);
    e->line = line;
    return e;
}

static bool type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= WORKER_GPU_TYPE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

static int typed_argv(catalog_t *c, struct entry *e, const char *type, const char *value,
                      int line)
{
    for (int i = 0; i < e->n_typed; i++)
        if (strcmp(e->typed[i].type, type) == 0) {
            errprintf(c->err, "%s:%d: model '%s': argv.%s given twice", c->path, line, e->model,
                      type);
            c->failed = 1;
            return 0;
        }
    if (e->n_typed == MAX_TYPED) {
        errprintf(c->err, "%s:%d: model '%s': at most %d argv.TYPE keys", c->path, line,
                  e->model, MAX_TYPED);
        c->failed = 1;
        return 0;
    }
    snprintf(e->typed[e->n_typed].type, sizeof e->typed[0].type, "%s", type);
    e->typed[e->n_typed++].tmpl = xstrdup(value);
    return 1;
}

static int on_kv(void *user, const char *section, const char *key, const char *value, int line)
{
    catalog_t *c = user;
    if (c->failed)
        return 0;
    if (strcmp(key, "ranks") == 0) {
        /* how many iterator processes the command starts: one, or one per GPU
         * (torch.distributed.launch --nproc_per_node=G, the reference's model) */
        if (strcmp(value, "one") != 0 && strcmp(value, "per-gpu") != 0) {
            errprintf(c->err, "%s:%d: ranks must be one or per-gpu", c->path, line);
            c->failed = 1;
            return 0;
        }
        entry_of(c, section, line)->per_gpu = strcmp(value, "per-gpu") == 0;
        return 1;
    }
    bool typed = strncmp(key, "argv.", 5) == 0;
    if (strcmp(key, "argv") != 0 && !typed) {
        errprintf(c->err, "%s:%d: unknown key '%s' (expected argv, argv.TYPE or ranks)", c->path,
                  line, key);
        c->failed = 1;
        return 0;
    }
    if (typed && !type_ok(key + 5)) {
        errprintf(c->err, "%s:%d: %s: the GPU type must be 1 to %d letters, digits, '-', '_' "
                          "or '.'", c->path, line, key, WORKER_GPU_TYPE - 1);
        c->failed = 1;
        return 0;
    }
    if (check_template(value) < 0) {
        errprintf(c->err, "%s:%d: bad or unknown {variable} in '%s'", c->path, line, value);
        c->failed = 1;
        return 0;
    }
    if (value[0] != '/' && strncmp(value, "{synergy}", 9) != 0) {
        errprintf(c->err, "%s:%d: argv[0] must be an absolute path or {synergy}", c->path, line);
        c->failed = 1;
        return 0;
    }
    struct entry *e = entry_of(c, section, line);
    if (typed)
        return typed_argv(c, e, key + 5, value, line);
    if (e->tmpl) {
        errprintf(c->err, "%s:%d: model '%s' listed twice", c->path, line, section);
        c->failed = 1;
        return 0;
    }
    e->tmpl = xstrdup(value);
    e->line = line;
    return 1;
}

bool catalog_uses_synergy(const catalog_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].tmpl && strncmp(c->e[i].tmpl, "{synergy}", 9) == 0)
            return true;
        for (int k = 0; k < c->e[i].n_typed; k++)
            if (strncmp(c->e[i].typed[k].tmpl, "{synergy}", 9) == 0)
                return true;
    }
    return false;
}

catalog_t *catalog_load(const char *path, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errprintf(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    catalog_t *c = xcalloc(1, sizeof *c);
    c->path = path;
    c->err = err;
    int r = ini_parse_file_lines(f, on_kv, c);
    fclose(f);
    if (r != 0 && !c->failed) {
        errprintf(err, "%s:%d: syntax error", path, r);
        c->failed = 1;
    }
    if (!c->failed && c->n == 0) {
        errprintf(err, "%s: the catalog lists no model", path);
        c->failed = 1;
    }
    for (size_t i = 0; i < c->n && !c->failed; i++)
        if (!c->e[i].tmpl) {
            errprintf(err, "%s:%d: model '%s' has no argv", path, c->e[i].line, c->e[i].model);
            c->failed = 1;
        }
    if (c->failed) {
        catalog_destroy(c);
        return NULL;
    }
    c->err = NULL;
    return c;
}

void catalog_destroy(catalog_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].tmpl);
        for (int k = 0; k < c->e[i].n_typed; k++)
            free(c->e[i].typed[k].tmpl);
    }
    free(c->e);
    free(c);
}

static const struct entry *find(const catalog_t *c, const char *model)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].model, model) == 0)
            return &c->e[i];
    return NULL;
}

bool catalog_has(const catalog_t *c, const char *model)
{
    return find(c, model) != NULL;
}

unsigned catalog_processes(const catalog_t *c, const char *model, unsigned n_gpus)
{
    const struct entry *e = find(c, model);
    return e && e->per_gpu && n_gpus > 0 ? n_gpus : 1;
}

static void var_value(const struct catalog_vars *v, const char *name, size_t len, char *buf,
                      size_t n)
{
#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
    if (IS("synergy"))
        snprintf(buf, n, "%s", v->synergy ? v->synergy : "");
    else if (IS("sched_addr"))
        snprintf(buf, n, "%s", v->sched_addr ? v->sched_addr : "");
    else if (IS("chk_dir"))
        snprintf(buf, n, "%s", v->chk_dir ? v->chk_dir : "");
    else if (IS("log_dir"))
        snprintf(buf, n, "%s", v->log_dir ? v->log_dir : "");
    else if (IS("model"))
        snprintf(buf, n, "%s", v->model ? v->model : "");
    else if (IS("job_id"))
        snprintf(buf, n, "%ld", v->job_id);
    else if (IS("sched_port"))
        snprintf(buf, n, "%ld", v->sched_port);
    else if (IS("batch_size"))
        snprintf(buf, n, "%ld", v->batch_size);
    else if (IS("total_iters"))
        snprintf(buf, n, "%ld", v->total_iters);
    else if (IS("elapsed_iters"))
        snprintf(buf, n, "%ld", v->elapsed_iters);
    else if (IS("time_scale"))
        snprintf(buf, n, "%.17g", v->time_scale);
    else if (IS("gpu_type"))
        snprintf(buf, n, "%s", v->gpu_type ? v->gpu_type : "");
    else
        buf[0] = '\0';
#undef IS
}

char **catalog_argv(const catalog_t *c, const char *model, const struct catalog_vars *v,
                    struct err *err)
{
    const struct entry *e = find(c, model);
    if (!e) {
        errprintf(err, "model '%s' is not in the worker's catalog", model);
        errno = ENOENT;
        return NULL;
    }
    const char *tmpl = e->tmpl;
    for (int i = 0; v->gpu_type && i < e->n_typed; i++)
        if (strcmp(e->typed[i].type, v->gpu_type) == 0)
            tmpl = e->typed[i].tmpl;
    char *copy = xstrdup(tmpl);
    char **argv = NULL;
    size_t n = 0, cap = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        size_t blen = 0, bcap = 64;
        char *b = xmalloc(bcap);
        for (const char *p = tok; *p;) {
            const char *q = p[0] == '{' ? strchr(p, '}') : NULL;
            char piece[4096];
            size_t plen;
            if (q) {
                var_value(v, p + 1, (size_t)(q - p - 1), piece, sizeof piece);
                plen = strlen(piece);
                p = q + 1;
            } else {
                piece[0] = *p++;
                plen = 1;
            }
            xgrow((void **)&b, &bcap, blen + plen + 1, 1);
            memcpy(b + blen, piece, plen);
            blen += plen;
        }
        b[blen] = '\0';
        xgrow((void **)&argv, &cap, n + 2, sizeof *argv);
        argv[n++] = b;
    }
    free(copy);
    xgrow((void **)&argv, &cap, n + 1, sizeof *argv);
    argv[n] = NULL;
    return argv;
}

void catalog_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}
