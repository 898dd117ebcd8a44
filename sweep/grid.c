/*
 * sweep: parse a sweep's grid from `key = value` text, shared by the INI
 * experiment file and the command-line flags (see sweep.h).
 */
#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ini_lines.h"
#include "policies.h"
#include "scheduler.h"
#include "trace.h"
#include "workload.h"

void sweep_grid_defaults(struct sweep_grid *g, const char *default_cluster,
                         const char *default_models)
{
    memset(g, 0, sizeof *g);
    strcpy(g->policies[0], "FIFO");
    g->n_policies = 1;
    strcpy(g->modes[0], "fair");
    strcpy(g->modes[1], "tune");
    g->n_modes = 2;
    snprintf(g->clusters[0], sizeof g->clusters[0], "%s", default_cluster);
    g->n_clusters = 1;
    (void)default_models; /* always read: sweep_prepare() loads it first */
    snprintf(g->db, sizeof g->db, "results.db");
}

/* Split s at sep into trimmed items (at most max); an empty item ("4,,8")
 * is an error (0 returned), never dropped. */
static int split_list(char *s, const char *sep, char **out, int max)
{
    int n = str_split(s, sep[0], out, max);
    return n == -2 ? 0 : n;
}

static int set_names(char (*dst)[16], int *n, const char *key, char *value, struct err *err,
                     bool policy)
{
    char *items[SWEEP_MAX];
    int k = split_list(value, ",", items, SWEEP_MAX);
    if (k <= 0)
        return errprintf(err, "%s: give 1 to %d comma-separated names", key, SWEEP_MAX);
    for (int i = 0; i < k; i++) {
        if (policy ? !policy_find(items[i]) : !sched_mode_find(items[i])) {
            errprintf(err, "%s: unknown %s '%s' (expected ", key, policy ? "policy" : "mode",
                      items[i]);
            size_t at = strlen(err->msg);
            if (policy)
                for (size_t q = 0; sched_policies[q] && at < sizeof err->msg; q++)
                    at += (size_t)snprintf(err->msg + at, sizeof err->msg - at, "%s%s",
                                           q ? ", " : "", sched_policies[q]->name);
            else
                for (size_t q = 0; sched_modes[q] && at < sizeof err->msg; q++)
                    at += (size_t)snprintf(err->msg + at, sizeof err->msg - at, "%s%s",
                                           q ? ", " : "", sched_mode_name(sched_modes[q]));
            if (at < sizeof err->msg)
                snprintf(err->msg + at, sizeof err->msg - at, ")");
            return -1;
        }
        snprintf(dst[i], 16, "%s",
                 policy ? policy_find(items[i])->name : sched_mode_name(sched_mode_find(items[i])));
    }
    *n = k;
    return 0;
}

/* The grid's axes and numbers: 0 set, -1 bad value (err), 1 not one of these keys. */
static int set_axis(struct sweep_grid *g, const char *key, char *v, struct err *err)
{
    char *items[SWEEP_MAX];
    long l;
    static const char *const lists[] = {"policies", "policy", "modes", "mode", "loads",
                                        "jobs_per_hour", "clusters", "cluster", "seed", "seeds",
                                        NULL};
    for (size_t i = 0; lists[i]; i++) {
        if (strcmp(key, lists[i]) != 0)
            continue;
        char *copy = xstrdup(v);
        int k = str_split(copy, ',', items, SWEEP_MAX);
        free(copy);
        if (k == -2)
            return errprintf(err, "%s: '%s' has an empty item", key, v);
    }
    if (strcmp(key, "policies") == 0 || strcmp(key, "policy") == 0)
        return set_names(g->policies, &g->n_policies, key, v, err, true);
    if (strcmp(key, "modes") == 0 || strcmp(key, "mode") == 0)
        return set_names(g->modes, &g->n_modes, key, v, err, false);
    if (strcmp(key, "hetero") == 0) {
        int k = split_list(v, ",", items, 3);
        if (k <= 0 || k > 2)
            return errprintf(err, "hetero: give aware, agnostic or both, comma-separated");
        for (int i = 0; i < k; i++) {
            if (!str_ieq(items[i], "aware") && !str_ieq(items[i], "agnostic"))
                return errprintf(err, "hetero: '%s': expected aware or agnostic", items[i]);
            snprintf(g->heteros[i], sizeof g->heteros[i], "%s",
                     str_ieq(items[i], "aware") ? "aware" : "agnostic");
        }
        if (k == 2 && strcmp(g->heteros[0], g->heteros[1]) == 0)
            return errprintf(err, "hetero: '%s' given twice", g->heteros[0]);
        g->n_heteros = k;
        return 0;
    }
    if (strcmp(key, "loads") == 0 || strcmp(key, "jobs_per_hour") == 0) {
        int k = split_list(v, ",", items, SWEEP_MAX);
        if (k <= 0)
            return errprintf(err, "%s: give 1 to %d comma-separated rates", key, SWEEP_MAX);
        for (int i = 0; i < k; i++)
            if (parse_double(items[i], &g->loads[i]) < 0 || !(g->loads[i] > 0))
                return errprintf(err, "%s: '%s' must be a positive number of jobs per hour", key,
                                 items[i]);
        g->n_loads = k;
        return 0;
    }
    if (strcmp(key, "splits") == 0 || strcmp(key, "split") == 0) {
        int k = split_list(v, ";", items, SWEEP_MAX);
        if (k <= 0)
            return errprintf(err, "%s: give I,L,S percentages, groups separated by ';'", key);
        for (int i = 0; i < k; i++)
            if (parse_split(items[i], g->splits[i]) < 0)
                return errprintf(err, "%s: '%s' must be three percentages adding up to 100", key,
                                 items[i]);
        g->n_splits = k;
        return 0;
    }
    if (strcmp(key, "clusters") == 0 || strcmp(key, "cluster") == 0) {
        int k = split_list(v, ",", items, SWEEP_MAX);
        if (k <= 0)
            return errprintf(err, "%s: give 1 to %d cluster INI files", key, SWEEP_MAX);
        for (int i = 0; i < k; i++)
            snprintf(g->clusters[i], sizeof g->clusters[i], "%s", items[i]);
        g->n_clusters = k;
        return 0;
    }
    if (strcmp(key, "seed") == 0 || strcmp(key, "seeds") == 0) {
        int k = split_list(v, ",", items, SWEEP_MAX);
        if (k <= 0)
            return errprintf(err, "%s: give 1 to %d comma-separated seeds", key, SWEEP_MAX);
        for (int i = 0; i < k; i++) {
            if (parse_long(items[i], &l) < 0 || l < 0)
                return errprintf(err, "%s: '%s' must be a non-negative integer", key, items[i]);
            for (int q = 0; q < i; q++)
                if (g->seeds[q] == l)
                    return errprintf(err, "%s: seed %ld given twice", key, l);
            g->seeds[i] = l;
        }
        g->n_seeds = k;
        return 0;
    }
    if (strcmp(key, "shard") == 0) {
        char *slash = strchr(v, '/');
        long k, n;
        if (!slash)
            return errprintf(err, "shard: '%s' must be K/N with 1 <= K <= N", v);
        *slash = '\0';
        if (parse_long(str_trim(v), &k) < 0 || parse_long(str_trim(slash + 1), &n) < 0 || n < 1 ||
            k < 1 || k > n || n > 1000000)
            return errprintf(err, "shard: '%s/%s' must be K/N with 1 <= K <= N", v, slash + 1);
        g->shard_k = (int)k;
        g->shard_n = (int)n;
        return 0;
    }
    if (strcmp(key, "max_jobs") == 0) {
        if (parse_long(v, &l) < 0 || l < 1)
            return errprintf(err, "max_jobs: '%s' must be a positive integer", v);
        g->max_jobs = l;
        return 0;
    }
    return 1;
}

static int set_one(struct sweep_grid *g, const char *key, char *v, struct err *err)
{
    long l;
    int r = set_axis(g, key, v, err);
    if (r <= 0)
        return r;
    struct {
        const char *key;
        bool *dst;
    } flags[] = {{"static", &g->is_static},
                 {"stop_on_gap", &g->stop_on_gap},
                 {"multigpu", &g->multigpu},
                 {"philly_arrival", &g->philly_arrival},
                 {"per_attempt", &g->per_attempt},
                 {"no_duration_filter", &g->no_duration_filter},
                 {"strict", &g->strict},
                 {"opt_compat", &g->opt_compat},
                 {"check", &g->check}};
    bool *dst = NULL;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(key, flags[i].key) == 0)
            dst = flags[i].dst;
    if (dst) {
        char *t = str_trim(v);
        if (str_ieq(t, "1") || str_ieq(t, "yes") || str_ieq(t, "true"))
            *dst = true;
        else if (str_ieq(t, "0") || str_ieq(t, "no") || str_ieq(t, "false"))
            *dst = false;
        else
            return errprintf(err, "%s: '%s' must be yes or no", key, t);
        return 0;
    }
    if (strcmp(key, "trace_format") == 0) {
        char *t = str_trim(v);
        char list[256];
        if (!trace_format_find(t))
            return errprintf(err, "trace_format: '%s': expected one of: %s", t,
                             trace_format_list(list, sizeof list, ", "));
        snprintf(g->trace_format, sizeof g->trace_format, "%s", t);
        return 0;
    }
    if (strcmp(key, "opt_time_limit") == 0) {
        double d;
        if (parse_double(v, &d) < 0 || !(d > 0))
            return errprintf(err, "opt_time_limit: '%s' must be a positive number of seconds", v);
        g->opt_time_limit = d;
        return 0;
    }
    if (strcmp(key, "round_duration") == 0) {
        double d;
        if (parse_double(v, &d) < 0 || !(d > 0))
            return errprintf(err, "round_duration: '%s' must be a positive number", v);
        g->round_duration = d;
        return 0;
    }
    if (strcmp(key, "workers") == 0) {
        if (parse_long(v, &l) < 0 || l < 1 || l > 1024)
            return errprintf(err, "workers: '%s' must be 1..1024", v);
        g->workers = (int)l;
        return 0;
    }
    if (strcmp(key, "measure") == 0) {
        char *colon = strchr(v, ':');
        long lo, hi;
        if (!colon)
            return errprintf(err, "measure: '%s' must be LO:HI with 0 <= LO < HI", v);
        *colon = '\0';
        if (parse_long(v, &lo) < 0 || parse_long(colon + 1, &hi) < 0 || lo < 0 || hi <= lo)
            return errprintf(err, "measure: '%s:%s' must be LO:HI with 0 <= LO < HI", v, colon + 1);
        g->measure_lo = lo;
        g->measure_hi = hi;
        return 0;
    }
    if (strcmp(key, "models") == 0) {
        /* a list that grows: each --models adds to the file's */
        size_t len = strlen(g->models);
        if ((size_t)snprintf(g->models + len, sizeof g->models - len, "%s%s", len ? "," : "",
                             str_trim(v)) >= sizeof g->models - len)
            return errprintf(err, "%s: value too long", key);
        return 0;
    }
    if (strcmp(key, "unknown_model") == 0) {
        if (strcmp(str_trim(v), "error") == 0)
            g->unknown_reference = false;
        else if (strcmp(str_trim(v), "reference") == 0)
            g->unknown_reference = true;
        else
            return errprintf(err, "unknown_model: '%s': expected error or reference", v);
        return 0;
    }
    struct {
        const char *key;
        char *dst;
        size_t size;
    } strs[] = {{"trace", g->trace, sizeof g->trace},
                {"arrival", g->arrival, sizeof g->arrival},
                {"vc", g->vc, sizeof g->vc},
                {"profiles_dir", g->profiles_dir, sizeof g->profiles_dir},
                {"profiles", g->profiles, sizeof g->profiles},
                {"placement", g->placement, sizeof g->placement},
                {"db", g->db, sizeof g->db},
                {"plot", g->plot, sizeof g->plot}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strcmp(key, strs[i].key) == 0) {
            if ((size_t)snprintf(strs[i].dst, strs[i].size, "%s", str_trim(v)) >= strs[i].size)
                return errprintf(err, "%s: value too long", key);
            return 0;
        }
    return errprintf(err, "unknown key '%s'", key);
}

int sweep_grid_set(struct sweep_grid *g, const char *key, const char *value, struct err *err)
{
    char *v = xstrdup(value);
    int rc = set_one(g, key, v, err);
    free(v);
    return rc;
}

struct load_ctx {
    struct sweep_grid *g;
    const char *path;
    char dir[1024]; /* the file's directory, "" for the current one */
    struct err *err;
};

/* Input paths in an experiment file are relative to the file, so it works
 * from any directory (and installed). Outputs (db, plot) stay relative to
 * the current directory: an installed experiment's directory is read-only. */
static const char *const path_keys[] = {"trace", "clusters", "cluster", "models",
                                        "profiles_dir", NULL};

/* value's comma-separated items, each relative one prefixed with dir. */
static int rebase(const char *dir, const char *value, char *out, size_t n)
{
    char *buf = xstrdup(value), *save = NULL;
    size_t len = 0;
    out[0] = '\0';
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        t = str_trim(t);
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s%s%s", len ? "," : "",
                                t[0] == '/' || !dir[0] ? "" : dir, t[0] == '/' || !dir[0] ? "" : "/",
                                t);
    }
    free(buf);
    return len < n ? 0 : -1;
}

static int on_ini(void *user, const char *section, const char *key, const char *value, int line)
{
    struct load_ctx *c = user;
    struct err e = {{0}};
    if (strcmp(section, "sweep") != 0) {
        errprintf(c->err, "%s:%d: unknown section [%s] (expected [sweep])", c->path, line,
                  section);
        return 0;
    }
    char rebased[4096];
    for (size_t i = 0; path_keys[i]; i++)
        if (strcmp(key, path_keys[i]) == 0 && c->dir[0]) {
            if (rebase(c->dir, value, rebased, sizeof rebased) < 0) {
                errprintf(c->err, "%s:%d: %s: value too long", c->path, line, key);
                return 0;
            }
            value = rebased;
        }
    if (sweep_grid_set(c->g, key, value, &e) < 0) {
        errprintf(c->err, "%s:%d: %s", c->path, line, e.msg);
        return 0;
    }
    return 1;
}

int sweep_grid_load(struct sweep_grid *g, const char *path, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errprintf(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return errprintf(err, "%s: %s (give an experiment .ini file)", path, strerror(EISDIR));
    }
    struct load_ctx c = {.g = g, .path = path, .err = err};
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(c.dir, sizeof c.dir, "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
    err->msg[0] = '\0';
    char why[160];
    int rc = ini_parse_file_lines_why(f, on_ini, &c, why, sizeof why);
    fclose(f);
    if (rc == 0)
        return 0;
    if (why[0] || !err->msg[0])
        errprintf(err, "%s:%d: %s", path, rc, why[0] ? why : "syntax error");
    return -1;
}

int sweep_grid_check(const struct sweep_grid *g, struct err *err)
{
    bool trace_opts = g->trace_format[0] || g->arrival[0] || g->vc[0] || g->multigpu ||
                      g->philly_arrival || g->per_attempt || g->no_duration_filter || g->strict;
    if (!g->trace[0] && (g->is_static || g->stop_on_gap))
        return errprintf(err, "static and stop_on_gap need a trace (--trace)");
    if (!g->trace[0] && trace_opts)
        return errprintf(err, "trace_format, arrival, vc and the Philly switches need a trace "
                              "(--trace)");
    if (g->trace[0] && g->n_loads && (g->arrival[0] || g->philly_arrival || g->is_static))
        return errprintf(err, "loads re-time the trace with Poisson arrivals; drop %s",
                         g->arrival[0] ? "arrival" : g->philly_arrival ? "philly_arrival"
                                                                        : "static");
    if (g->placement[0] && !str_ieq(g->placement, "first-fit") &&
        !str_ieq(g->placement, "consolidate"))
        return errprintf(err, "placement '%s': expected first-fit or consolidate", g->placement);
    bool any_opt = false;
    for (int m = 0; m < g->n_modes; m++)
        any_opt |= str_ieq(g->modes[m], "opt");
    if (sched_opt_options_check(g->opt_compat, g->opt_time_limit, any_opt, true, err) < 0)
        return -1;
    /* 32 values on every axis would be ~10^9 points: refuse before allocating them */
    double points = (double)g->n_clusters * (g->n_splits ? g->n_splits : 1) *
                    (g->n_loads ? g->n_loads : 1) * (g->n_seeds ? g->n_seeds : 1) *
                    g->n_policies * g->n_modes * (g->n_heteros ? g->n_heteros : 1);
    if (points > SWEEP_MAX_POINTS)
        return errprintf(err, "the grid has %.0f points (clusters x splits x loads x seeds x "
                              "policies x modes); at most %d", points, SWEEP_MAX_POINTS);
    return 0;
}

struct sweep_point *sweep_grid_points(const struct sweep_grid *g, size_t *n_out)
{
    int nl = g->n_loads ? g->n_loads : 1, ns = g->n_splits ? g->n_splits : 1;
    int nseed = g->n_seeds ? g->n_seeds : 1;
    int nh = g->n_heteros ? g->n_heteros : 1;
    size_t n = (size_t)g->n_clusters * ns * nl * nseed * g->n_policies * g->n_modes * (size_t)nh;
    struct sweep_point *pts = xcalloc(n + 1, sizeof *pts);
    /* Heaviest loads first: the longest runs start early and the workers
     * finish together (longest-processing-time-first). */
    int load_order[SWEEP_MAX];
    for (int l = 0; l < nl; l++)
        load_order[l] = l;
    for (int a = 1; a < g->n_loads; a++)
        for (int b = a; b > 0 && g->loads[load_order[b]] > g->loads[load_order[b - 1]]; b--) {
            int t = load_order[b];
            load_order[b] = load_order[b - 1];
            load_order[b - 1] = t;
        }
    size_t k = 0;
    for (int c = 0; c < g->n_clusters; c++)
        for (int s = 0; s < ns; s++)
            for (int li = 0; li < nl; li++)
                for (int e = 0; e < nseed; e++)
                    for (int p = 0; p < g->n_policies; p++)
                        for (int m = 0; m < g->n_modes; m++)
                            for (int h = 0; h < nh; h++, k++)
                                pts[k] = (struct sweep_point){c, s, load_order[li], e, p, m, h,
                                                              (long)k};
    *n_out = n;
    return pts;
}

bool sweep_grid_in_shard(const struct sweep_grid *g, size_t i)
{
    return g->shard_n <= 0 || i % (size_t)g->shard_n == (size_t)(g->shard_k - 1);
}

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ULL;
}

static void fnv_str(uint64_t *h, const char *s)
{
    fnv(h, s, strlen(s) + 1);
}

/* The file's bytes (a shard on another machine must see the same cluster). */
static void fnv_file(uint64_t *h, const char *path)
{
    fnv_str(h, path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        fnv(h, buf, got);
    fclose(f);
}

void sweep_grid_fingerprint(const struct sweep_grid *g, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < g->n_policies; i++)
        fnv_str(&h, g->policies[i]);
    fnv(&h, "|", 1);
    for (int i = 0; i < g->n_modes; i++)
        fnv_str(&h, g->modes[i]);
    fnv(&h, &g->n_loads, sizeof g->n_loads);
    fnv(&h, g->loads, sizeof g->loads[0] * (size_t)g->n_loads);
    fnv(&h, &g->n_splits, sizeof g->n_splits);
    fnv(&h, g->splits, sizeof g->splits[0] * (size_t)g->n_splits);
    fnv(&h, &g->n_seeds, sizeof g->n_seeds);
    fnv(&h, g->seeds, sizeof g->seeds[0] * (size_t)g->n_seeds);
    for (int i = 0; i < g->n_clusters; i++)
        fnv_file(&h, g->clusters[i]);
    if (g->trace[0])
        fnv_file(&h, g->trace);
    const char *strs[] = {g->trace_format, g->arrival, g->vc,       g->profiles,
                          g->placement,    g->models,  g->profiles_dir};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        fnv_str(&h, strs[i]);
    for (int i = 0; i < g->n_heteros; i++) /* (none: older grids keep their fingerprints) */
        fnv_str(&h, g->heteros[i]);
    bool flags[] = {g->multigpu, g->philly_arrival, g->per_attempt, g->no_duration_filter,
                    g->strict, g->opt_compat, g->is_static, g->stop_on_gap,
                    g->unknown_reference};
    fnv(&h, flags, sizeof flags);
    fnv(&h, &g->opt_time_limit, sizeof g->opt_time_limit);
    long nums[] = {g->measure_lo, g->measure_hi, g->max_jobs};
    fnv(&h, nums, sizeof nums);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
