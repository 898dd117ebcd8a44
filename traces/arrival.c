/*
 * Arrival processes, the way serving benchmarks drive load: Poisson at a rate,
 * a fixed rate, a rate schedule that changes every period (e.g. start at 2
 * jobs/h and multiply by 1.5 every 24 h), or gaps replayed from a file of
 * `<delay_ms>,<tag>` lines. Poisson gaps are drawn like the reference's
 * synthetic workload (-log(1-u)/rate hours, ceil'd to whole seconds) from an
 * RNG of their own, so a process never disturbs another random stream.
 *
 * Known limit: the schedule's rate is read at the previous arrival, so a
 * long gap that crosses a period boundary is not re-drawn at the new rate.
 */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct arrival {
    enum arrival_kind kind;
    double rate, factor, period;
    struct pyrandom rng;
    double *deltas; /* seconds */
    size_t n_deltas, next;
};

static int read_deltas(arrival_t *a, const char *path, struct err *err)
{
    struct line_reader lr;
    if (line_reader_open(&lr, path, "deltas file", true, err) < 0)
        return -1;
    char *t;
    size_t dcap = 0;
    int got, rc = -1;
    while ((got = line_next(&lr, &t, err)) > 0) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        double ms;
        if (parse_double(t, &ms) < 0 || !(ms >= 0) || !isfinite(ms)) {
            errprintf(err, "%s:%d: delay_ms: '%s' is not a non-negative number", path, lr.lineno,
                      t);
            goto out;
        }
        xgrow((void **)&a->deltas, &dcap, a->n_deltas + 1, sizeof *a->deltas);
        a->deltas[a->n_deltas++] = ms / 1000.0;
    }
    if (got < 0)
        goto out;
    if (a->n_deltas == 0) {
        errprintf(err, "%s:%d: deltas file has no lines", path, lr.lineno);
        goto out;
    }
    rc = 0;
out:
    line_reader_close(&lr);
    return rc;
}

static int parse_rates(const char *s, double *v, int n)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *p = buf;
    for (int i = 0; i < n; i++) {
        char *c = strchr(p, ',');
        if ((c == NULL) != (i == n - 1))
            return -1;
        if (c)
            *c = '\0';
        if (parse_double(p, &v[i]) < 0 || !(v[i] > 0) || !isfinite(v[i]))
            return -1;
        p = c ? c + 1 : p;
    }
    return 0;
}

arrival_t *arrival_create(const char *spec, uint64_t seed, struct err *err)
{
    arrival_t *a = xcalloc(1, sizeof *a);
    pyrandom_seed(&a->rng, seed);
    const char *colon = strchr(spec, ':');
    size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : "";
    double v[3];
    if (kl == 7 && strncmp(spec, "poisson", kl) == 0) {
        a->kind = ARRIVAL_POISSON;
        if (parse_rates(arg, v, 1) < 0)
            goto bad;
        a->rate = v[0];
    } else if ((kl == 10 && strncmp(spec, "fixed-rate", kl) == 0) ||
               (kl == 5 && strncmp(spec, "fixed", kl) == 0)) {
        a->kind = ARRIVAL_FIXED;
        if (parse_rates(arg, v, 1) < 0)
            goto bad;
        a->rate = v[0];
    } else if (kl == 8 && strncmp(spec, "schedule", kl) == 0) {
        a->kind = ARRIVAL_SCHEDULE;
        if (parse_rates(arg, v, 3) < 0)
            goto bad;
        a->rate = v[0];
        a->factor = v[1];
        a->period = v[2];
    } else if (kl == 6 && strncmp(spec, "deltas", kl) == 0 && *arg) {
        a->kind = ARRIVAL_DELTAS;
        if (read_deltas(a, arg, err) < 0) {
            arrival_destroy(a);
            return NULL;
        }
    } else {
        goto bad;
    }
    return a;
bad:
    errprintf(err, "arrival '%s': expected poisson:RATE, fixed-rate:RATE, "
                   "schedule:RATE,FACTOR,PERIOD_S or deltas:FILE (rates in jobs/h, > 0)",
              spec);
    arrival_destroy(a);
    return NULL;
}

void arrival_destroy(arrival_t *a)
{
    if (!a)
        return;
    free(a->deltas);
    free(a);
}

enum arrival_kind arrival_kind(const arrival_t *a)
{
    return a->kind;
}

static double poisson_gap(arrival_t *a, double rate)
{
    double u = pyrandom_random(&a->rng);
    double h = -log(1.0 - u) / rate;
    return ceil((h * 60) * 60);
}

int arrival_next(arrival_t *a, double prev, double *out)
{
    switch (a->kind) {
    case ARRIVAL_POISSON:
        *out = prev + poisson_gap(a, a->rate);
        return 0;
    case ARRIVAL_FIXED:
        *out = prev + 3600.0 / a->rate;
        return 0;
    case ARRIVAL_SCHEDULE: {
        double k = floor(prev / a->period);
        double rate = a->rate * pow(a->factor, k);
        if (!(rate > 0) || !isfinite(rate))
            rate = rate > 0 ? 1e300 : 1e-300;
        *out = prev + poisson_gap(a, rate);
        return 0;
    }
    case ARRIVAL_DELTAS:
        if (a->next >= a->n_deltas)
            return -1;
        *out = prev + a->deltas[a->next++];
        return 0;
    }
    return -1;
}
