/* libFuzzer harness: the tenants file reader (scheduler/tenants.c), through a
 * memfd. A file it accepts then runs: three jobs of every tenant (1, 2 and 4
 * GPUs) on a 16-GPU cluster, FIFO/tune, for 20 rounds, checking that no
 * server is oversubscribed and that no tenant holds more than its quota plus
 * its borrowing limit, nor the tenants more than the cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policies.h"

static model_zoo_t *zoo;

static void run(const struct tenants_config *tc)
{
    struct sched_run_params p = {0};
    cluster_config_defaults(&p.sched.cluster);
    p.sched.cluster.servers_per_rack = 2;
    p.sched.policy = policy_find("FIFO");
    p.sched.mode = sched_mode_find("tune");
    p.sched.round_duration = 300;
    p.sched.starvation_s = 1000 * 3600.0;
    p.sched.tenants = tc;
    p.zoo = zoo;
    p.measure_lo = 0;
    p.measure_hi = 1;
    p.check_invariants = true;
    struct err err;
    sched_run_t *r = sched_run_create(&p, &err);
    if (!r)
        return; /* gpus.TYPE on an untyped cluster */
    int id = 0;
    for (int i = 0; i < tc->n && i < 64; i++)
        for (int g = 1; g <= 4; g *= 2) {
            struct job_spec s = {.id = id++, .iterations = 2000 * g, .gpus = g};
            snprintf(s.model, sizeof s.model, "alexnet");
            snprintf(s.tenant, sizeof s.tenant, "%s", tc->t[i].name);
            if (!sched_run_arrive(r, &s, &err))
                abort();
        }
    sched_t *s = sched_run_sched(r);
    for (int k = 0; k < 20; k++) {
        struct job **placed;
        size_t n;
        if (sched_run_plan(r, 300.0 * k, &placed, &n, NULL, &err) < 0)
            abort(); /* an oversubscribed server */
        int held = 0;
        for (int i = 0; i < tc->n; i++) {
            struct sched_tenant_status st;
            sched_tenant_status(s, i, &st);
            int lim = tc->t[i].borrowing_limit;
            if (st.held < 0 || (lim >= 0 && st.held > st.quota + lim) || st.borrowed > st.held)
                abort();
            held += st.held;
        }
        if (held > sched_total_gpus(s))
            abort();
        for (size_t i = 0; i < n; i++)
            if (sched_run_lease_end(r, placed[i], 300.0 * (k + 1)))
                sched_run_finish(r, placed[i], 300.0 * (k + 1));
    }
    sched_run_destroy(r);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct err err;
    if (!zoo && !(zoo = model_zoo_load(SYNERGY_SOURCE_DIR "/configs/models.ini", NULL, &err)))
        abort();
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct tenants_config *tc = tenants_config_load(path, &err);
    if (tc) {
        run(tc);
        tenants_config_destroy(tc);
    } else if (strncmp(err.msg, path, strlen(path)) != 0) {
        abort(); /* every message names the file */
    }
    close(fd);
    return 0;
}
