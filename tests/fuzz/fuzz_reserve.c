/* libFuzzer harness: the worker's --reserve-cpus parser (topo_reserve), on
 * the checked-in 2-socket SMT topology, and the core choice that follows:
 * whatever the spec, a reservation either fails with a message or leaves
 * jobs at least one core and never hands a reserved PU to a job. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

static struct topo base, t;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static bool loaded;
    struct err err = {{0}};
    if (!loaded) {
        if (topo_probe(&base, SYNERGY_SOURCE_DIR "/tests/topologies/2socket-smt-8gpu.xml", -1,
                       &err) < 0)
            abort();
        loaded = true;
    }
    char spec[256];
    size_t k = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, k);
    spec[k] = '\0';
    t = base;
    t.unit = size > 0 && (data[0] & 1) ? TOPO_UNIT_THREAD : TOPO_UNIT_CORE;
    if (topo_reserve(&t, spec, &err) < 0) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    int pus[TOPO_MAX_CPUS], out[TOPO_MAX_CPUS];
    int nr = topo_reserved_pus(&t, pus);
    if (nr >= 32 || topo_node_capacity(&t, 0) + topo_node_capacity(&t, 1) <= 0)
        abort();
    bool reserved[TOPO_MAX_CPUS] = {false}, busy[TOPO_MAX_CPUS] = {false};
    for (int i = 0; i < nr; i++)
        reserved[pus[i]] = true;
    for (int job = 0; job < 12; job++) {
        int g = job % 8;
        int n = topo_cpus_for_gpus(&t, &g, 1, 1 + job % 5, busy, out);
        if (n < 1)
            abort();
        for (int i = 0; i < n; i++) {
            if (reserved[out[i]])
                abort();
            busy[out[i]] = true;
        }
    }
    return 0;
}
