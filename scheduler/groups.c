/*
 * Server groups and GPU types in the cluster INI (docs/heterogeneous.md):
 *
 *   [gpu_types]              speed factors of GPU types, relative to the GPU
 *   V100 = 1.0               the models' default profiles were measured on
 *   K80 = 0.3
 *
 *   [servers v100]           `count` identical servers
 *   count = 9
 *   gpu_type = V100          optional: a cluster's groups all name a type or none does
 *   gpus = 4
 *   cpus = 32
 *   dram_gb = 256
 *   rack = 0                 optional; sspeed (MB/s) and net are optional too
 *
 * A file with [servers] sections has no [CLUSTER] section: the reference's
 * [CLUSTER] keys mean exactly one untyped group, which is what a cluster
 * without [servers] sections is. Errors are "file:line: field: problem".
 */
#include "scheduler_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cluster_config_groups(const struct cluster_config *c, struct server_group *out)
{
    if (c->n_groups > 0) {
        memcpy(out, c->groups, sizeof *out * (size_t)c->n_groups);
        return c->n_groups;
    }
    out[0] = (struct server_group){.name = "cluster",
                                   .count = c->racks * c->servers_per_rack,
                                   .gpus = c->gpus_per_server,
                                   .cpus = c->cpus_per_server,
                                   .dram_gb = c->dram_per_server,
                                   .sspeed = c->sspeed_per_server,
                                   .net = c->net_per_server,
                                   .rack = -1};
    return 1;
}

int cluster_config_groups_ordered(const struct cluster_config *c, struct server_group *out)
{
    struct server_group g[CLUSTER_MAX_GROUPS];
    int n = cluster_config_groups(c, g), k = 0;
    bool *done = xcalloc((size_t)n, sizeof *done);
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        for (int j = i; j < n; j++)
            if (!done[j] && strcmp(g[j].gpu_type, g[i].gpu_type) == 0) {
                out[k++] = g[j];
                done[j] = true;
            }
    }
    free(done);
    return k;
}

int cluster_config_servers(const struct cluster_config *c)
{
    if (c->n_groups == 0)
        return c->racks * c->servers_per_rack;
    int n = 0;
    for (int i = 0; i < c->n_groups; i++)
        n += c->groups[i].count;
    return n;
}

int cluster_config_gpus(const struct cluster_config *c)
{
    if (c->n_groups == 0)
        return c->racks * c->servers_per_rack * c->gpus_per_server;
    long n = 0;
    for (int i = 0; i < c->n_groups; i++)
        n += (long)c->groups[i].count * c->groups[i].gpus;
    return n > INT_MAX ? INT_MAX : (int)n;
}

bool cluster_config_typed(const struct cluster_config *c)
{
    return c->n_groups > 0 && c->groups[0].gpu_type[0] != '\0';
}

double cluster_config_speed(const struct cluster_config *c, const char *type)
{
    for (int i = 0; i < c->n_speeds; i++)
        if (strcmp(c->speeds[i].name, type) == 0)
            return c->speeds[i].speed;
    return 0;
}

/* A GPU type name: letters, digits, '-', '_', '.'; 1 to GPU_TYPE_NAME - 1 bytes. */
bool sched__type_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= GPU_TYPE_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* Keys of a [servers NAME] section: where each goes, its range, required? */
static const struct {
    const char *key;
    size_t off;
    long min, max;
    bool required;
} group_keys[] = {
    {"count", offsetof(struct server_group, count), 1, 100000, true},
    {"gpus", offsetof(struct server_group, gpus), 1, 1024, true},
    {"cpus", offsetof(struct server_group, cpus), 1, 1 << 20, true},
    {"dram_gb", offsetof(struct server_group, dram_gb), 1, 1 << 30, true},
    {"sspeed", offsetof(struct server_group, sspeed), 1, 1 << 30, false},
    {"net", offsetof(struct server_group, net), 1, 1 << 30, false},
    {"rack", offsetof(struct server_group, rack), 0, 1 << 20, false},
};
#define N_GROUP_KEYS (sizeof group_keys / sizeof group_keys[0])

static struct server_group *group_of(struct cluster_config *c, const char *name, int line,
                                     const char *path, struct err *err)
{
    for (int i = 0; i < c->n_groups; i++)
        if (strcmp(c->groups[i].name, name) == 0)
            return &c->groups[i];
    if (name[0] == '\0' || strlen(name) >= sizeof c->groups[0].name) {
        errprintf(err, "%s:%d: [servers NAME]: the name must be 1 to %zu characters", path, line,
                  sizeof c->groups[0].name - 1);
        return NULL;
    }
    if (c->n_groups == CLUSTER_MAX_GROUPS) {
        errprintf(err, "%s:%d: [servers %s]: at most %d server groups", path, line, name,
                  CLUSTER_MAX_GROUPS);
        return NULL;
    }
    struct server_group *g = &c->groups[c->n_groups++];
    *g = (struct server_group){.rack = -1, .line = line};
    snprintf(g->name, sizeof g->name, "%s", name);
    return g;
}

static int group_key(struct cluster_config *c, const char *name, const char *key,
                     const char *value, int line, const char *path, struct err *err)
{
    struct server_group *g = group_of(c, name, line, path, err);
    if (!g)
        return -1;
    if (strcasecmp(key, "gpu_type") == 0) {
        if (!sched__type_name_ok(value))
            return errprintf(err, "%s:%d: gpu_type: '%.40s' must be 1 to %d letters, digits, "
                                  "'-', '_' or '.'", path, line, value, GPU_TYPE_NAME - 1);
        snprintf(g->gpu_type, sizeof g->gpu_type, "%s", value);
        return 0;
    }
    for (size_t i = 0; i < N_GROUP_KEYS; i++) {
        if (strcasecmp(key, group_keys[i].key) != 0)
            continue;
        long v;
        if (parse_long(value, &v) < 0)
            return errprintf(err, "%s:%d: %s: '%.40s' is not an integer", path, line, key,
                             value);
        if (v < group_keys[i].min || v > group_keys[i].max)
            return errprintf(err, "%s:%d: %s: %ld is out of range %ld..%ld", path, line, key, v,
                             group_keys[i].min, group_keys[i].max);
        *(int *)((char *)g + group_keys[i].off) = (int)v;
        return 0;
    }
    return errprintf(err, "%s:%d: unknown key '%s' in [servers %s] (expected count, gpu_type, "
                          "gpus, cpus, dram_gb, sspeed, net or rack)", path, line, key, name);
}

static int speed_key(struct cluster_config *c, const char *key, const char *value, int line,
                     const char *path, struct err *err)
{
    if (!sched__type_name_ok(key))
        return errprintf(err, "%s:%d: [gpu_types]: '%.40s' is not a GPU type name (1 to %d "
                              "letters, digits, '-', '_' or '.')", path, line, key,
                         GPU_TYPE_NAME - 1);
    double v;
    if (parse_double(value, &v) < 0 || !(v > 0) || v > 1000)
        return errprintf(err, "%s:%d: %s: '%.40s' must be a speed factor in (0, 1000]", path,
                         line, key, value);
    for (int i = 0; i < c->n_speeds; i++)
        if (strcmp(c->speeds[i].name, key) == 0)
            return errprintf(err, "%s:%d: %s: given twice (line %d)", path, line, key,
                             c->speeds[i].line);
    if (c->n_speeds == CLUSTER_MAX_TYPES)
        return errprintf(err, "%s:%d: [gpu_types]: at most %d GPU types", path, line,
                         CLUSTER_MAX_TYPES);
    struct gpu_type_def *d = &c->speeds[c->n_speeds++];
    snprintf(d->name, sizeof d->name, "%s", key);
    d->speed = v;
    d->line = line;
    return 0;
}

int sched__cluster_ini_key(struct cluster_config *c, const char *section, const char *key,
                           const char *value, int line, const char *path, struct err *err)
{
    if (strcasecmp(section, "gpu_types") == 0)
        return speed_key(c, key, value, line, path, err) < 0 ? -1 : 1;
    if (strncasecmp(section, "servers", 7) != 0 || (section[7] != ' ' && section[7] != '\t'))
        return 0;
    const char *name = section + 7;
    while (*name == ' ' || *name == '\t')
        name++;
    return group_key(c, name, key, value, line, path, err) < 0 ? -1 : 1;
}

int sched__cluster_ini_finish(struct cluster_config *c, int cluster_line, const char *path,
                              struct err *err)
{
    if (c->n_groups == 0)
        return 0;
    if (cluster_line > 0)
        return errprintf(err, "%s:%d: [CLUSTER]: a cluster with [servers] sections describes "
                              "every server there (leave out [CLUSTER])", path, cluster_line);
    int types = 0;
    char names[CLUSTER_MAX_TYPES][GPU_TYPE_NAME];
    for (int i = 0; i < c->n_groups; i++) {
        struct server_group *g = &c->groups[i];
        for (size_t k = 0; k < N_GROUP_KEYS; k++)
            if (group_keys[k].required && *(int *)((char *)g + group_keys[k].off) == 0)
                return errprintf(err, "%s:%d: [servers %s]: %s is required", path, g->line,
                                 g->name, group_keys[k].key);
        if ((g->gpu_type[0] != '\0') != (c->groups[0].gpu_type[0] != '\0'))
            return errprintf(err, "%s:%d: [servers %s]: gpu_type: every group names a GPU "
                                  "type or none does", path, g->line, g->name);
        if (g->sspeed == 0)
            g->sspeed = (int)ceil(62.5 * g->gpus);
        if (g->net == 0)
            g->net = 40;
        int t = 0;
        while (t < types && strcmp(names[t], g->gpu_type) != 0)
            t++;
        if (t == types) {
            if (types == CLUSTER_MAX_TYPES)
                return errprintf(err, "%s:%d: [servers %s]: gpu_type: at most %d GPU types",
                                 path, g->line, g->name, CLUSTER_MAX_TYPES);
            snprintf(names[types++], GPU_TYPE_NAME, "%s", g->gpu_type);
        }
    }
    if (cluster_config_gpus(c) > 10000000)
        return errprintf(err, "%s:%d: the cluster has more than 10,000,000 GPUs", path,
                         c->groups[0].line);
    return 0;
}
