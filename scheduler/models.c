/*
 * Model profiles: the measured per-model CPU/memory sensitivity that drives a
 * job's speed, in the format of configs/models.ini. The base file (a copy of
 * the reference's profiles) must hold the reference zoo's ten models; they
 * keep the zoo's task and round-robin order, which the synthetic workload and
 * the trace importers draw from. Every other [<model>:1] section, of the base
 * file or of files added later (--models, a profile store directory), is a
 * model too: traces may name it, it never joins the synthetic rotation. Like
 * the reference, only the <model>:1 section is used, whatever the job's GPU
 * count: its figures are per GPU. A later file's section replaces an earlier
 * profile of the same name as a whole.
 */
#include "scheduler_internal.h"

#include <dirent.h>
#include <errno.h>
#include "ini_lines.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const double tput_cpu_per_gpu[TPUT_ROWS] = {1, 2, 3, 4, 5, 6, 9, 12, 24};
const double tput_mem_per_gpu[TPUT_COLS] = {20.83, 62.5, 125, 187.5, 250};

/* The reference zoo (model_zoo.py): class ids in this order. */
static const struct {
    const char *name;
    enum model_task task;
} zoo_order[] = {
    {"alexnet", TASK_IMAGE},   {"res18", TASK_IMAGE},        {"res50", TASK_IMAGE},
    {"mobilenet", TASK_IMAGE}, {"shufflenet", TASK_IMAGE},   {"gnmt", TASK_LANGUAGE},
    {"transformer", TASK_LANGUAGE}, {"lstm", TASK_LANGUAGE}, {"m5", TASK_SPEECH},
    {"deepspeech", TASK_SPEECH},
};
#define ZOO_SIZE (sizeof zoo_order / sizeof zoo_order[0])

struct model_zoo {
    struct model_profile **models; /* [0, ZOO_SIZE): the reference zoo, then the rest */
    size_t n, cap;
    struct model_profile **typed;  /* [<m>:1:TYPE] profiles, chained from their model */
    size_t n_typed, cap_typed;
    char variant[32];              /* "" for the default set */
    const struct model_profile *by_task[TASK_COUNT][ZOO_SIZE];
    size_t n_task[TASK_COUNT];
};

enum { K_CPUS = 1, K_MEM = 2, K_SPEEDUP = 4, K_ITER = 8, K_REQUIRED = 15 };

/* One section read from a file: the default set's and the variant's. */
struct pending {
    char name[32];
    char type[GPU_TYPE_NAME]; /* [<m>:1:TYPE]; "" for the model's own profile */
    struct model_profile p[2]; /* [0] [<m>:1], [1] [<m>:1@variant] */
    unsigned keys[2];
    bool seen[2];
    int line[2];
};

struct load_ctx {
    const char *path;
    const char *variant; /* "" for the default set */
    struct pending *pend;
    size_t n, cap;
    struct err *err;
    int failed;
};

const char *model_task_name(enum model_task t)
{
    static const char *names[] = {"image", "language", "speech"};
    return t >= 0 && t < TASK_COUNT ? names[t] : "none";
}

static void profile_defaults(struct model_profile *m, const char *name)
{
    /* reference Model base defaults (models/model_stats.py) */
    char n[sizeof m->name];
    snprintf(n, sizeof n, "%s", name);
    memset(m, 0, sizeof *m);
    memcpy(m->name, n, sizeof n);
    m->task = TASK_NONE;
    m->cpus = 3;
    m->mem = 62.5;
    m->speed = 62.5;
    m->batch = 512;
    m->placement_penalty = 1;
    m->iter_time = 1;
    m->speedup = 1;
}

/* The GPU type of a section "name:1:TYPE[@variant]" (after the count) into
 * type; "" when there is none. 0, or -1 with err for a bad name. */
static int section_type(struct load_ctx *c, const char *section, const char *p, const char *end,
                        int line, char type[GPU_TYPE_NAME])
{
    type[0] = '\0';
    if (p == end)
        return 0;
    size_t n = (size_t)(end - p - 1);
    if (n < GPU_TYPE_NAME)
        memcpy(type, p + 1, n);
    if (n >= GPU_TYPE_NAME)
        type[0] = '\0';
    else
        type[n] = '\0';
    if (!sched__type_name_ok(type))
        return errprintf(c->err, "%s:%d: [%s]: the GPU type must be 1 to %d letters, digits, "
                                 "'-', '_' or '.'", c->path, line, section, GPU_TYPE_NAME - 1);
    return 0;
}

/* The profile a section "name:1[:TYPE][@variant]" feeds, or NULL to ignore it. */
static struct model_profile *section_slot(struct load_ctx *c, const char *section, int line,
                                          unsigned **keys)
{
    const char *colon = strchr(section, ':');
    const char *at = colon ? strchr(colon, '@') : NULL;
    const char *end = !colon ? NULL : at ? at : colon + strlen(colon);
    const char *colon2 = colon ? memchr(colon + 1, ':', (size_t)(end - colon - 1)) : NULL;
    const char *gend = colon2 ? colon2 : end;
    size_t gl = colon ? (size_t)(gend - colon - 1) : 0;
    if (!colon || gl == 0 || strspn(colon + 1, "0123456789") != gl || colon[1] == '0') {
        /* a profile the simulator would never read: say so, not skip it */
        errprintf(c->err, "%s:%d: section [%s] must be [model:gpus] or [model:gpus:type] (e.g. "
                          "[%.*s:1])", c->path, line, section,
                  colon ? (int)(colon - section) : (int)strlen(section), section);
        c->failed = 1;
        return NULL;
    }
    if (gl != 1 || colon[1] != '1')
        return NULL; /* the reference's multi-GPU profiles: the 1-GPU one is used */
    char type[GPU_TYPE_NAME];
    if (section_type(c, section, colon2 ? colon2 : end, end, line, type) < 0) {
        c->failed = 1;
        return NULL;
    }
    const char *var = at ? at + 1 : "";
    int v = var[0] != '\0';
    if (v && strcmp(var, c->variant) != 0)
        return NULL;
    size_t nl = (size_t)(colon - section);
    if (nl == 0 || nl >= sizeof c->pend[0].name) {
        errprintf(c->err, "%s:%d: [%s]: a model name must be 1 to %zu characters", c->path, line,
                  section, sizeof c->pend[0].name - 1);
        c->failed = 1;
        return NULL;
    }
    struct pending *e = NULL;
    for (size_t i = 0; i < c->n && !e; i++)
        if (strlen(c->pend[i].name) == nl && strncmp(c->pend[i].name, section, nl) == 0 &&
            strcmp(c->pend[i].type, type) == 0)
            e = &c->pend[i];
    if (!e) {
        xgrow((void **)&c->pend, &c->cap, c->n + 1, sizeof *c->pend);
        e = &c->pend[c->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->name, section, nl);
        memcpy(e->type, type, sizeof e->type);
    }
    if (!e->seen[v]) {
        profile_defaults(&e->p[v], e->name);
        memcpy(e->p[v].gpu_type, e->type, sizeof e->type);
        e->seen[v] = true;
        e->line[v] = line;
    }
    *keys = &e->keys[v];
    return &e->p[v];
}

static int parse_tput_row(struct load_ctx *c, struct model_profile *m, const char *key,
                          const char *value, int line)
{
    long cpu;
    int row = -1;
    if (parse_long(key + 8, &cpu) == 0)
        for (int r = 0; r < TPUT_ROWS; r++)
            if (tput_cpu_per_gpu[r] == (double)cpu)
                row = r;
    if (row < 0)
        return errprintf(c->err, "%s:%d: %s: tput rows are tput_cpu1, 2, 3, 4, 5, 6, 9, 12 "
                                 "and 24", c->path, line, key);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", value);
    int col = 0;
    double v;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), col++) {
        if (col >= TPUT_COLS || parse_double(tok, &v) < 0 || v < 0)
            return errprintf(c->err, "%s:%d: %s: expected %d non-negative numbers", c->path,
                             line, key, TPUT_COLS);
        m->tput[row][col] = v;
    }
    if (col != TPUT_COLS)
        return errprintf(c->err, "%s:%d: %s: expected %d numbers, got %d", c->path, line, key,
                         TPUT_COLS, col);
    m->has_tput = true;
    return 0;
}

/* Keys a profile may carry for people and tools, not read by the simulator. */
static const char *const info_keys[] = {"name", "tput_rows", "tput_cols", "iter_time_base",
                                        "gpus", "measured", "mem_model", "dataset_gb",
                                        "mem_bw_gbs", "disk_bw_gbs", "epoch_iters", "source",
                                        "gpu_type", NULL};

static int handler(void *user, const char *section, const char *key, const char *value, int line)
{
    struct load_ctx *c = user;
    if (c->failed)
        return 0;
    unsigned *keys = NULL;
    struct model_profile *m = section_slot(c, section, line, &keys);
    if (!m)
        return !c->failed;
    double v = 0;
    for (int i = 0; info_keys[i]; i++)
        if (strcmp(key, info_keys[i]) == 0)
            return 1;
    if (strncmp(key, "tput_cpu", 8) == 0) {
        if (parse_tput_row(c, m, key, value, line) < 0) {
            c->failed = 1;
            return 0;
        }
        return 1;
    }
    if (strcmp(key, "task") == 0)
        goto bad_key; /* reserved: the zoo's tasks are fixed */
    if (parse_double(value, &v) < 0 || v < 0) {
        errprintf(c->err, "%s:%d: %s: '%s' is not a non-negative number", c->path, line, key,
                  value);
        c->failed = 1;
        return 0;
    }
    if (strcmp(key, "cpus") == 0) {
        m->cpus = v;
        *keys |= K_CPUS;
    } else if (strcmp(key, "mem") == 0) {
        m->mem = v;
        *keys |= K_MEM;
    } else if (strcmp(key, "speed") == 0) {
        m->speed = v;
    } else if (strcmp(key, "batch") == 0) {
        m->batch = (int)v;
    } else if (strcmp(key, "placement_penalty") == 0) {
        if (v <= 0)
            goto bad_value;
        m->placement_penalty = v;
    } else if (strcmp(key, "speedup") == 0) {
        if (v <= 0)
            goto bad_value;
        m->speedup = v;
        *keys |= K_SPEEDUP;
    } else if (strcmp(key, "iter_time") == 0) {
        if (v <= 0)
            goto bad_value;
        m->iter_time = v;
        *keys |= K_ITER;
    } else if (strcmp(key, "startup_s") == 0) {
        m->startup_s = v;
    } else if (strcmp(key, "checkpoint_s") == 0) {
        m->checkpoint_s = v;
    } else {
        goto bad_key;
    }
    return 1;
bad_value:
    errprintf(c->err, "%s:%d: %s must be greater than 0", c->path, line, key);
    c->failed = 1;
    return 0;
bad_key:
    errprintf(c->err, "%s:%d: unknown key '%s' in [%s]", c->path, line, key, section);
    c->failed = 1;
    return 0;
}

/* Parse one file into c->pend. 0, or -1 with err. */
static int read_file(struct load_ctx *c)
{
    FILE *f = fopen(c->path, "r");
    if (!f)
        return errprintf(c->err, "%s: cannot open model profiles: %s", c->path, strerror(errno));
    char why[160];
    int rc = ini_parse_file_lines_why(f, handler, c, why, sizeof why);
    fclose(f);
    if (c->failed)
        return -1;
    if (rc != 0)
        return errprintf(c->err, "%s:%d: %s", c->path, rc, why[0] ? why : "syntax error");
    return 0;
}

static struct model_profile *zoo_slot(model_zoo_t *zoo, const char *name)
{
    for (size_t i = 0; i < zoo->n; i++)
        if (strcmp(zoo->models[i]->name, name) == 0)
            return zoo->models[i];
    return NULL;
}

/* A typed profile replaces one of the same model and type; a model known
 * only by typed profiles gets an entry (typed_only) so that it has a name. */
static void merge_typed(model_zoo_t *zoo, const struct model_profile *p)
{
    if (!zoo_slot(zoo, p->name)) {
        xgrow((void **)&zoo->models, &zoo->cap, zoo->n + 1, sizeof *zoo->models);
        struct model_profile *m = xmalloc(sizeof *m);
        *m = *p;
        m->gpu_type[0] = '\0';
        m->typed_only = true;
        zoo->models[zoo->n++] = m;
    }
    for (size_t i = 0; i < zoo->n_typed; i++) {
        struct model_profile *q = zoo->typed[i];
        if (strcmp(q->name, p->name) == 0 && strcmp(q->gpu_type, p->gpu_type) == 0) {
            *q = *p;
            return;
        }
    }
    xgrow((void **)&zoo->typed, &zoo->cap_typed, zoo->n_typed + 1, sizeof *zoo->typed);
    struct model_profile *q = xmalloc(sizeof *q);
    *q = *p;
    zoo->typed[zoo->n_typed++] = q;
}

/* Each model's typed profiles, chained from it in load order. */
static void chain_typed(model_zoo_t *zoo)
{
    for (size_t i = 0; i < zoo->n; i++)
        zoo->models[i]->typed_next = NULL;
    for (size_t k = zoo->n_typed; k-- > 0;) {
        struct model_profile *m = zoo_slot(zoo, zoo->typed[k]->name);
        zoo->typed[k]->typed_next = m->typed_next;
        m->typed_next = zoo->typed[k];
    }
}

const struct model_profile *model_profile_typed(const struct model_profile *m, const char *type)
{
    for (const struct model_profile *p = m->typed_next; p; p = p->typed_next)
        if (strcmp(p->gpu_type, type) == 0)
            return p;
    return NULL;
}

/* Move the profiles read into the zoo: the variant's section where there is
 * one, else the default set's. Every profile must give the four keys the
 * simulator runs on. */
static int merge(model_zoo_t *zoo, struct load_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct pending *e = &c->pend[i];
        int v = e->seen[1] ? 1 : 0;
        if (!e->seen[v])
            continue;
        if ((e->keys[v] & K_REQUIRED) != K_REQUIRED)
            return errprintf(c->err, "%s:%d: [%s:1%s%s%s%s] needs cpus, mem, speedup and "
                                     "iter_time", c->path, e->line[v], e->name,
                             e->type[0] ? ":" : "", e->type, v ? "@" : "", v ? c->variant : "");
    }
    for (size_t i = 0; i < c->n; i++) {
        struct pending *e = &c->pend[i];
        int v = e->seen[1] ? 1 : 0;
        if (!e->seen[v])
            continue;
        if (e->type[0]) {
            merge_typed(zoo, &e->p[v]);
            continue;
        }
        struct model_profile *m = zoo_slot(zoo, e->name);
        if (m) {
            enum model_task t = m->task;
            *m = e->p[v];
            m->task = t; /* a zoo model keeps its place in the rotation */
        } else {
            xgrow((void **)&zoo->models, &zoo->cap, zoo->n + 1, sizeof *zoo->models);
            m = xmalloc(sizeof *m);
            *m = e->p[v];
            zoo->models[zoo->n++] = m;
        }
    }
    chain_typed(zoo);
    return 0;
}

model_zoo_t *model_zoo_load(const char *path, const char *variant, struct err *err)
{
    struct model_zoo *zoo = xcalloc(1, sizeof *zoo);
    if (variant && strcmp(variant, "default") == 0)
        variant = NULL;
    snprintf(zoo->variant, sizeof zoo->variant, "%s", variant ? variant : "");
    struct load_ctx c = {.path = path, .variant = zoo->variant, .err = err};
    if (read_file(&c) < 0)
        goto error;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        struct pending *e = NULL;
        for (size_t k = 0; k < c.n && !e; k++)
            if (strcmp(c.pend[k].name, zoo_order[i].name) == 0 && c.pend[k].type[0] == '\0')
                e = &c.pend[k];
        /* A variant set overrides only what it holds; fall back to the default. */
        if (variant && (!e || !e->seen[1])) {
            errprintf(err, "%s: profile set '%s' has no [%s:1@%s] section", path, variant,
                      zoo_order[i].name, variant);
            goto error;
        }
        if (!e || !e->seen[0]) {
            errprintf(err, "%s: missing section [%s:1]", path, zoo_order[i].name);
            goto error;
        }
        xgrow((void **)&zoo->models, &zoo->cap, zoo->n + 1, sizeof *zoo->models);
        struct model_profile *m = xmalloc(sizeof *m);
        profile_defaults(m, zoo_order[i].name);
        m->task = zoo_order[i].task;
        zoo->models[zoo->n++] = m;
    }
    if (merge(zoo, &c) < 0)
        goto error;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        enum model_task t = zoo_order[i].task;
        zoo->by_task[t][zoo->n_task[t]++] = zoo->models[i];
    }
    free(c.pend);
    return zoo;
error:
    free(c.pend);
    model_zoo_destroy(zoo);
    return NULL;
}

static int ini_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_one(model_zoo_t *zoo, const char *path, struct err *err)
{
    struct load_ctx c = {.path = path, .variant = zoo->variant, .err = err};
    int rc = read_file(&c);
    if (rc == 0)
        rc = merge(zoo, &c);
    free(c.pend);
    return rc;
}

int model_zoo_add(model_zoo_t *zoo, const char *path, struct err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errprintf(err, "%s: cannot open model profiles: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return add_one(zoo, path, err);
    DIR *d = opendir(path);
    if (!d)
        return errprintf(err, "%s: cannot open profile store: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".ini") != 0)
            continue;
        xgrow((void **)&names, &cap, n + 1, sizeof *names);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, ini_name_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, names[i]);
            rc = add_one(zoo, p, err);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

void model_zoo_destroy(model_zoo_t *zoo)
{
    if (!zoo)
        return;
    for (size_t i = 0; i < zoo->n; i++)
        free(zoo->models[i]);
    free(zoo->models);
    for (size_t i = 0; i < zoo->n_typed; i++)
        free(zoo->typed[i]);
    free(zoo->typed);
    free(zoo);
}

const struct model_profile *model_zoo_find(const model_zoo_t *zoo, const char *name)
{
    for (size_t i = 0; i < zoo->n; i++)
        if (strcmp(zoo->models[i]->name, name) == 0)
            return zoo->models[i];
    return NULL;
}

size_t model_zoo_count(const model_zoo_t *zoo)
{
    return zoo->n;
}

const struct model_profile *model_zoo_at(const model_zoo_t *zoo, size_t i)
{
    return i < zoo->n ? zoo->models[i] : NULL;
}

size_t model_zoo_task_models(const model_zoo_t *zoo, enum model_task t,
                             const struct model_profile *const **out)
{
    *out = zoo->by_task[t];
    return zoo->n_task[t];
}
