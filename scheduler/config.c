/*
 * The cluster INI file: an inih handler over a declarative table of
 * (section, key, type, offset, min, max). The reference's files are read
 * unchanged; keys are case-insensitive like Python's ConfigParser. Unknown
 * sections and keys, and out-of-range values, are "file:line" errors.
 */
#include "scheduler_internal.h"

#include <errno.h>
#include <sys/stat.h>
#include "ini_lines.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum cfg_type { T_INT, T_LONG, T_DOUBLE, T_STRING, T_SPLIT };

struct cfg_key {
    const char *section;
    const char *key;
    enum cfg_type type;
    size_t offset;
    size_t size; /* for strings */
    double min, max;
};

#define OFF(f) offsetof(struct synergy_config, f)
#define SZ(f) sizeof(((struct synergy_config *)0)->f)

static const struct cfg_key keys[] = {
    {"CLUSTER", "racks", T_INT, OFF(cluster.racks), 0, 1, 1},
    {"CLUSTER", "servers_per_rack", T_INT, OFF(cluster.servers_per_rack), 0, 1, 100000},
    {"CLUSTER", "gpus_per_server", T_INT, OFF(cluster.gpus_per_server), 0, 1, 1024},
    {"CLUSTER", "cpus_per_server", T_INT, OFF(cluster.cpus_per_server), 0, 1, 1 << 20},
    {"CLUSTER", "dram_per_server", T_INT, OFF(cluster.dram_per_server), 0, 1, 1 << 30},
    {"CLUSTER", "sspeed_per_server", T_INT, OFF(cluster.sspeed_per_server), 0, 1, 1 << 30},
    {"CLUSTER", "net_per_server", T_INT, OFF(cluster.net_per_server), 0, 1, 1 << 30},
    {"SCHEDULER", "policy", T_STRING, OFF(policy), SZ(policy), 0, 0},
    {"SCHEDULER", "lease_time", T_LONG, OFF(lease_time), 0, 0, 1e12},
    {"SCHEDULER", "round_duration", T_DOUBLE, OFF(round_duration), 0, 1e-3, 1e9},
    {"SCHEDULER", "mode", T_STRING, OFF(mode), SZ(mode), 0, 0},
    {"SCHEDULER", "placement", T_STRING, OFF(placement), SZ(placement), 0, 0},
    {"SCHEDULER", "hetero", T_STRING, OFF(hetero), SZ(hetero), 0, 0},
    {"WORKLOAD", "jobs_per_hour", T_DOUBLE, OFF(jobs_per_hour), 0, 1e-6, 1e9},
    {"WORKLOAD", "split", T_SPLIT, OFF(split), 0, 0, 0},
    {"WORKLOAD", "seed", T_LONG, OFF(seed), 0, 0, 4294967295.0},
    {"WORKLOAD", "profiles", T_STRING, OFF(profiles), SZ(profiles), 0, 0},
};

void synergy_config_defaults(struct synergy_config *c)
{
    memset(c, 0, sizeof *c);
    cluster_config_defaults(&c->cluster);
    snprintf(c->policy, sizeof c->policy, "FIFO");
    c->lease_time = 5;
    c->round_duration = 300;
    snprintf(c->mode, sizeof c->mode, "fair");
    snprintf(c->placement, sizeof c->placement, "first-fit");
    c->jobs_per_hour = 9;
    c->split[0] = 20;
    c->split[1] = 70;
    c->split[2] = 10;
    c->seed = 42;
    snprintf(c->profiles, sizeof c->profiles, "default");
}

int parse_split(const char *s, int split[TASK_COUNT])
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",/", &save); tok; tok = strtok_r(NULL, ",/", &save)) {
        long v;
        if (n >= TASK_COUNT || parse_long(tok, &v) < 0 || v < 0 || v > 100)
            return -1;
        split[n++] = (int)v;
    }
    if (n != TASK_COUNT || split[0] + split[1] + split[2] != 100)
        return -1;
    return 0;
}

struct ctx {
    struct synergy_config *c;
    const char *path;
    struct err *err;
    int failed;
    int keys; /* settings read */
    int cluster_line; /* the first [CLUSTER] key's line (0: none) */
};

static int handler(void *user, const char *section, const char *key, const char *value, int line)
{
    struct ctx *x = user;
    if (x->failed)
        return 0;
    int own = sched__cluster_ini_key(&x->c->cluster, section, key, value, line, x->path, x->err);
    if (own != 0) {
        x->failed = own < 0;
        x->keys++;
        return own > 0;
    }
    if (strcasecmp(section, "CLUSTER") == 0 && x->cluster_line == 0)
        x->cluster_line = line;
    const struct cfg_key *k = NULL;
    bool section_known = false;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcasecmp(keys[i].section, section) != 0)
            continue;
        section_known = true;
        if (strcasecmp(keys[i].key, key) == 0)
            k = &keys[i];
    }
    if (!section_known) {
        x->failed = 1;
        errprintf(x->err, "%s:%d: unknown section [%s] (expected CLUSTER, servers NAME, gpu_types, "
                               "SCHEDULER or WORKLOAD)",
                  x->path, line, section);
        return 0;
    }
    if (!k) {
        x->failed = 1;
        errprintf(x->err, "%s:%d: unknown key '%s' in [%s]", x->path, line, key, section);
        return 0;
    }
    char *dst = (char *)x->c + k->offset;
    x->keys++;
    long lv;
    double dv;
    switch (k->type) {
    case T_INT:
    case T_LONG:
        if (parse_long(value, &lv) < 0) {
            errprintf(x->err, "%s:%d: %s: '%s' is not an integer", x->path, line, key, value);
            goto bad;
        }
        if (lv < k->min || lv > k->max) {
            errprintf(x->err, "%s:%d: %s: %ld is out of range %.0f..%.0f", x->path, line, key,
                      lv, k->min, k->max);
            goto bad;
        }
        if (k->type == T_INT)
            *(int *)dst = (int)lv;
        else
            *(long *)dst = lv;
        return 1;
    case T_DOUBLE:
        if (parse_double(value, &dv) < 0) {
            errprintf(x->err, "%s:%d: %s: '%s' is not a number", x->path, line, key, value);
            goto bad;
        }
        if (dv < k->min || dv > k->max) {
            errprintf(x->err, "%s:%d: %s: %g is out of range %g..%g", x->path, line, key, dv,
                      k->min, k->max);
            goto bad;
        }
        *(double *)dst = dv;
        return 1;
    case T_STRING:
        if (value[0] == '\0' || strlen(value) >= k->size) {
            errprintf(x->err, "%s:%d: %s: must be 1 to %zu characters", x->path, line, key,
                      k->size - 1);
            goto bad;
        }
        snprintf(dst, k->size, "%s", value);
        if (strcasecmp(k->key, "policy") == 0)
            x->c->policy_line = line;
        else if (strcasecmp(k->key, "mode") == 0)
            x->c->mode_line = line;
        else if (strcasecmp(k->key, "placement") == 0)
            x->c->placement_line = line;
        else if (strcasecmp(k->key, "hetero") == 0)
            x->c->hetero_line = line;
        return 1;
    case T_SPLIT:
        if (parse_split(value, (int *)dst) < 0) {
            errprintf(x->err, "%s:%d: %s: '%s' must be three percentages adding up to 100",
                      x->path, line, key, value);
            goto bad;
        }
        return 1;
    }
bad:
    x->failed = 1;
    return 0;
}

int synergy_config_load(const char *path, struct synergy_config *c, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errprintf(err, "%s: cannot open cluster config: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return errprintf(err, "%s: cannot open cluster config: %s", path, strerror(EISDIR));
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    struct ctx x = {c, path, err, 0, 0, 0};
    char why[160];
    int rc = ini_parse_file_lines_why(f, handler, &x, why, sizeof why);
    bool read_error = ferror(f);
    fclose(f);
    if (x.failed)
        return -1;
    if (rc > 0)
        return errprintf(err, "%s:%d: %s", path, rc,
                         why[0] ? why : "syntax error (expected [section] or key = value)");
    if (rc < 0 || read_error)
        return errprintf(err, "%s: cannot read cluster config", path);
    /* an empty file is a mistake (a truncated copy, the wrong path), never
     * a request for the built-in default cluster */
    if (x.keys == 0)
        return errprintf(err, "%s: the cluster config has no settings (leave out --cluster for "
                              "the default cluster)", path);
    return sched__cluster_ini_finish(&c->cluster, x.cluster_line, path, err);
}

/* "file:line: KEY: " when the file set the key, else "--FLAG: ". */
static void origin(char *buf, size_t n, const struct synergy_config *c, int line,
                   const char *key, bool from_flag)
{
    if (from_flag)
        snprintf(buf, n, "--%s: ", key);
    else if (line > 0)
        snprintf(buf, n, "%s:%d: %s: ", c->path, line, key);
    else
        snprintf(buf, n, "%s: ", key);
}

int sched_opt_options_check(bool opt_compat, double opt_time_limit_s, bool any_opt,
                            bool file_keys, struct err *err)
{
    if ((!opt_compat && !(opt_time_limit_s > 0)) || any_opt)
        return 0;
    if (file_keys)
        return errprintf(err, "%s applies to the opt mode only (modes: opt)",
                         opt_compat ? "opt_compat" : "opt_time_limit");
    return errprintf(err, "%s applies to the opt mode only (--mode opt)",
                     opt_compat ? "--opt-compat" : "--opt-time-limit");
}

int sched_params_build(const struct synergy_config *conf, const struct sched_overrides *ov,
                       const struct sched_policy_ops *const *policies, struct sched_params *out,
                       struct err *err)
{
    static const struct sched_overrides none = {0};
    if (!ov)
        ov = &none;
    char where[1200];
    memset(out, 0, sizeof *out);
    out->cluster = conf->cluster;
    out->round_duration = ov->round_duration > 0 ? ov->round_duration : conf->round_duration;
    out->starvation_s = 1000 * 3600.0; /* the reference's priority bump, never reached */
    out->opt_compat = ov->opt_compat;
    out->opt_time_limit_s = ov->opt_time_limit_s;
    out->restart_overhead_s = ov->restart_overhead_s;
    out->restart_overhead_profile = ov->restart_overhead_profile;

    const char *name = ov->policy ? ov->policy : conf->policy;
    for (size_t i = 0; policies[i] && !out->policy; i++)
        if (str_ieq(policies[i]->name, name))
            out->policy = policies[i];
    if (!out->policy) {
        origin(where, sizeof where, conf, conf->policy_line, "policy", ov->policy != NULL);
        char list[256] = "";
        size_t len = 0;
        for (size_t i = 0; policies[i] && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    policies[i]->name);
        return errprintf(err, "%sunknown policy '%s' (expected one of: %s)", where, name, list);
    }
    name = ov->mode ? ov->mode : conf->mode;
    out->mode = sched_mode_find(name);
    if (!out->mode) {
        origin(where, sizeof where, conf, conf->mode_line, "mode", ov->mode != NULL);
        return errprintf(err, "%sunknown mode '%s' (expected fair, greedy, tune or opt)", where,
                         name);
    }
    name = ov->placement ? ov->placement : conf->placement;
    if (str_ieq(name, "first-fit"))
        out->placement = PLACEMENT_FIRST_FIT;
    else if (str_ieq(name, "consolidate"))
        out->placement = PLACEMENT_CONSOLIDATE;
    else {
        origin(where, sizeof where, conf, conf->placement_line, "placement",
               ov->placement != NULL);
        return errprintf(err, "%splacement '%s': expected first-fit or consolidate", where, name);
    }
    name = ov->hetero ? ov->hetero : conf->hetero;
    if (name[0] == '\0' || str_ieq(name, "aware"))
        out->hetero = HETERO_AWARE;
    else if (str_ieq(name, "agnostic"))
        out->hetero = HETERO_AGNOSTIC;
    else {
        origin(where, sizeof where, conf, conf->hetero_line, "hetero", ov->hetero != NULL);
        return errprintf(err, "%shetero '%s': expected aware or agnostic", where, name);
    }
    return 0;
}
