/*
 * Model profiles: the measured per-model CPU/memory sensitivity that drives a
 * job's speed. Loaded from configs/models.ini (a copy of the reference's
 * profiles). Like the reference, only the <model>_1 profile is used, whatever
 * the job's GPU count, and only the ten models of the reference zoo are kept,
 * in the zoo's task and round-robin order.
 */
#include "scheduler.h"

#include <errno.h>
#include "ini_lines.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct model_profile models[ZOO_SIZE];
    bool seen[ZOO_SIZE];
    unsigned key_seen[ZOO_SIZE]; /* bitmask of required keys */
    const struct model_profile *by_task[TASK_COUNT][ZOO_SIZE];
    size_t n_task[TASK_COUNT];
};

enum { K_CPUS = 1, K_MEM = 2, K_SPEEDUP = 4, K_ITER = 8, K_REQUIRED = 15 };

struct load_ctx {
    struct model_zoo *zoo;
    const char *path;
    const char *variant; /* "" for the default set */
    struct err *err;
    int failed;
};

const char *model_task_name(enum model_task t)
{
    static const char *names[] = {"image", "language", "speech"};
    return t < TASK_COUNT ? names[t] : "?";
}

/* Which zoo slot a section "name:1[@variant]" feeds, or -1 to ignore it. */
static int section_slot(const struct load_ctx *c, const char *section)
{
    const char *colon = strchr(section, ':');
    if (!colon)
        return -1;
    const char *at = strchr(colon, '@');
    size_t gl = at ? (size_t)(at - colon - 1) : strlen(colon + 1);
    if (gl != 1 || colon[1] != '1')
        return -1;
    const char *var = at ? at + 1 : "";
    if (strcmp(var, c->variant) != 0)
        return -1;
    size_t nl = (size_t)(colon - section);
    for (size_t i = 0; i < ZOO_SIZE; i++)
        if (strlen(zoo_order[i].name) == nl && strncmp(zoo_order[i].name, section, nl) == 0)
            return (int)i;
    return -1;
}

static int handler(void *user, const char *section, const char *key, const char *value, int line)
{
    struct load_ctx *c = user;
    if (c->failed)
        return 0;
    int slot = section_slot(c, section);
    if (slot < 0)
        return 1;
    struct model_profile *m = &c->zoo->models[slot];
    c->zoo->seen[slot] = true;
    double v = 0;
    if (strcmp(key, "name") == 0)
        return 1;
    if (strncmp(key, "tput_cpu", 8) == 0) {
        long cpu;
        int row = -1;
        if (parse_long(key + 8, &cpu) == 0)
            for (int r = 0; r < TPUT_ROWS; r++)
                if (tput_cpu_per_gpu[r] == (double)cpu)
                    row = r;
        if (row < 0)
            goto bad_key;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", value);
        int col = 0;
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","), col++) {
            if (col >= TPUT_COLS || parse_double(tok, &v) < 0 || v < 0) {
                errprintf(c->err, "%s:%d: %s: expected %d non-negative numbers", c->path, line,
                          key, TPUT_COLS);
                c->failed = 1;
                return 0;
            }
            m->tput[row][col] = v;
        }
        if (col != TPUT_COLS) {
            errprintf(c->err, "%s:%d: %s: expected %d numbers, got %d", c->path, line, key,
                      TPUT_COLS, col);
            c->failed = 1;
            return 0;
        }
        m->has_tput = true;
        return 1;
    }
    if (strcmp(key, "tput_rows") == 0 || strcmp(key, "tput_cols") == 0 ||
        strcmp(key, "iter_time_base") == 0 || strcmp(key, "gpus") == 0)
        return 1;
    if (parse_double(value, &v) < 0 || v < 0) {
        errprintf(c->err, "%s:%d: %s: '%s' is not a non-negative number", c->path, line, key,
                  value);
        c->failed = 1;
        return 0;
    }
    if (strcmp(key, "cpus") == 0) {
        m->cpus = v;
        c->zoo->key_seen[slot] |= K_CPUS;
    } else if (strcmp(key, "mem") == 0) {
        m->mem = v;
        c->zoo->key_seen[slot] |= K_MEM;
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
        c->zoo->key_seen[slot] |= K_SPEEDUP;
    } else if (strcmp(key, "iter_time") == 0) {
        if (v <= 0)
            goto bad_value;
        m->iter_time = v;
        c->zoo->key_seen[slot] |= K_ITER;
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

model_zoo_t *model_zoo_load(const char *path, const char *variant, struct err *err)
{
    struct model_zoo *zoo = xcalloc(1, sizeof *zoo);
    if (variant && strcmp(variant, "default") == 0)
        variant = NULL;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        struct model_profile *m = &zoo->models[i];
        /* reference Model base defaults (models/model_stats.py) */
        snprintf(m->name, sizeof m->name, "%s", zoo_order[i].name);
        m->task = zoo_order[i].task;
        m->cpus = 3;
        m->mem = 62.5;
        m->speed = 62.5;
        m->batch = 512;
        m->placement_penalty = 1;
        m->iter_time = 1;
        m->speedup = 1;
    }
    struct load_ctx c = {zoo, path, variant ? variant : "", err, 0};
    FILE *f = fopen(path, "r");
    if (!f) {
        errprintf(err, "%s: cannot open model profiles: %s", path, strerror(errno));
        goto error;
    }
    int rc = ini_parse_file_lines(f, handler, &c);
    fclose(f);
    if (c.failed)
        goto error;
    if (rc > 0) {
        errprintf(err, "%s:%d: syntax error", path, rc);
        goto error;
    }
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        /* A variant set overrides only what it holds; fall back to the default. */
        if (!zoo->seen[i] && variant) {
            errprintf(err, "%s: profile set '%s' has no [%s:1@%s] section", path, variant,
                      zoo_order[i].name, variant);
            goto error;
        }
        if (!zoo->seen[i]) {
            errprintf(err, "%s: missing section [%s:1]", path, zoo_order[i].name);
            goto error;
        }
        if ((zoo->key_seen[i] & K_REQUIRED) != K_REQUIRED) {
            errprintf(err, "%s: [%s:1] needs cpus, mem, speedup and iter_time", path,
                      zoo_order[i].name);
            goto error;
        }
        enum model_task t = zoo_order[i].task;
        zoo->by_task[t][zoo->n_task[t]++] = &zoo->models[i];
    }
    return zoo;
error:
    free(zoo);
    return NULL;
}

void model_zoo_destroy(model_zoo_t *zoo)
{
    free(zoo);
}

const struct model_profile *model_zoo_find(const model_zoo_t *zoo, const char *name)
{
    for (size_t i = 0; i < ZOO_SIZE; i++)
        if (strcmp(zoo->models[i].name, name) == 0)
            return &zoo->models[i];
    return NULL;
}

size_t model_zoo_task_models(const model_zoo_t *zoo, enum model_task t,
                             const struct model_profile *const **out)
{
    *out = zoo->by_task[t];
    return zoo->n_task[t];
}
