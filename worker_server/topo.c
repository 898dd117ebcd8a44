/*
 * Topology probe and NUMA-aware CPU choice. hwloc gives the NUMA nodes, their
 * PUs and memory, and the PCI devices; an NVIDIA GPU is a PCI device with
 * vendor 0x10de and a display class (0x03xx), and its NUMA node is the
 * nodeset of its first non-I/O ancestor. Debian's hwloc has no CUDA/NVML
 * plugin, so CUDA indexes are assumed to follow PCI bus order
 * (CUDA_DEVICE_ORDER=PCI_BUS_ID, which the launcher sets).
 *
 * CPUs are counted in physical cores (hwloc Core objects) by default: a job
 * granted c CPUs gets c whole cores with all their SMT siblings, so it never
 * shares a core's execution units with another job; `--cpu-unit thread`
 * counts hardware threads instead. Cores named by --reserve-cpus are never
 * given to jobs (the worker runs on them).
 *
 * Cache locality, the whole rule: within a NUMA node, take free units from
 * the cache domain (the lowest data cache shared by several cores, usually
 * an L3) with the most free units, then from the next one, and so on. A job
 * that fits in one domain therefore stays in one, a larger one spans the
 * fewest domains (greedy by size is optimal for that), and the next job goes
 * to the emptiest domain: jobs spread over domains while capacity allows, at
 * the price of sometimes leaving no whole empty domain for a later big job.
 *
 * Known limit: node distances are not read from the firmware; "nearest" is
 * the node with the closest index, which matches common 2- and 4-socket
 * layouts but not every one.
 */
#include "worker.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

struct gpu_tmp {
    unsigned dom, bus, dev, fn;
    int numa;
};

static int gpu_cmp(const void *a, const void *b)
{
    const struct gpu_tmp *x = a, *y = b;
    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    if (x->bus != y->bus)
        return x->bus < y->bus ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return (x->fn > y->fn) - (x->fn < y->fn);
}

static int numa_index_of(const struct topo *t, int os_index)
{
    for (int i = 0; i < t->n_numa; i++)
        if (t->numa[i].os_index == os_index)
            return i;
    return -1;
}

static int node_of_pu(const struct topo *t, int pu)
{
    for (int k = 0; k < t->n_numa; k++)
        for (int c = 0; c < t->numa[k].n_cpus; c++)
            if (t->numa[k].cpus[c] == pu)
                return k;
    return -1;
}

/* The cache domain object of a core: its lowest data (or unified) cache that
 * covers more than one core; NULL when none does. */
static hwloc_obj_t domain_of(hwloc_topology_t h, hwloc_obj_t core)
{
    for (hwloc_obj_t p = core->parent; p; p = p->parent)
        if (hwloc_obj_type_is_dcache(p->type) &&
            hwloc_get_nbobjs_inside_cpuset_by_type(h, p->cpuset, HWLOC_OBJ_CORE) > 1)
            return p;
    return NULL;
}

/* Cores (in PU logical order, which is core logical order), their packages,
 * nodes and cache domains. */
static void probe_cores(struct topo *t, hwloc_topology_t h)
{
    unsigned long long dom_key[TOPO_MAX_CORES];
    hwloc_obj_t prev = NULL;
    struct topo_core *c = NULL;
    int npu = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
    t->domain_kind[0] = '\0';
    for (int i = 0; i < npu; i++) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(h, HWLOC_OBJ_PU, (unsigned)i);
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_CORE, pu);
        hwloc_obj_t key = core ? core : pu;
        if (key != prev || !c) {
            if (t->n_cores == TOPO_MAX_CORES)
                break;
            prev = key;
            c = &t->cores[t->n_cores++];
            memset(c, 0, sizeof *c);
            c->os_index = (int)key->os_index;
            hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_PACKAGE, pu);
            c->package = pkg ? (int)pkg->logical_index : -1;
            if (c->package + 1 > t->n_packages)
                t->n_packages = c->package + 1;
            c->numa = node_of_pu(t, (int)pu->os_index);
            hwloc_obj_t d = domain_of(h, key);
            unsigned long long k;
            if (d) {
                k = d->gp_index;
                if (!t->domain_kind[0])
                    hwloc_obj_type_snprintf(t->domain_kind, sizeof t->domain_kind, d, 0);
            } else {
                k = (1ULL << 63) | (unsigned long long)(c->numa + 1);
            }
            c->domain = -1;
            for (int j = 0; j < t->n_domains && c->domain < 0; j++)
                if (dom_key[j] == k)
                    c->domain = j;
            if (c->domain < 0) {
                dom_key[t->n_domains] = k;
                c->domain = t->n_domains++;
            }
            if (c->numa >= 0)
                t->numa[c->numa].n_cores++;
        }
        if (c->n_pus < TOPO_MAX_SMT)
            c->pus[c->n_pus++] = (int)pu->os_index;
    }
    if (!t->domain_kind[0])
        snprintf(t->domain_kind, sizeof t->domain_kind, "NUMA");
    if (t->n_packages == 0)
        t->n_packages = 1;
}

int topo_probe(struct topo *t, const char *xml_path, int sim_gpus, struct err *err)
{
    memset(t, 0, sizeof *t);
    hwloc_topology_t h;
    if (hwloc_topology_init(&h) < 0)
        return errprintf(err, "hwloc: cannot initialise");
    if (xml_path && hwloc_topology_set_xml(h, xml_path) < 0) {
        hwloc_topology_destroy(h);
        return errprintf(err, "%s: cannot read hwloc XML topology", xml_path);
    }
    hwloc_topology_set_type_filter(h, HWLOC_OBJ_PCI_DEVICE, HWLOC_TYPE_FILTER_KEEP_ALL);
    hwloc_topology_set_type_filter(h, HWLOC_OBJ_BRIDGE, HWLOC_TYPE_FILTER_KEEP_ALL);
    if (hwloc_topology_load(h) < 0) {
        hwloc_topology_destroy(h);
        return errprintf(err, "%s: hwloc cannot load the topology", xml_path ? xml_path : "live");
    }
    int nn = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < nn && t->n_numa < TOPO_MAX_NUMA; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE, (unsigned)i);
        struct topo_numa *n = &t->numa[t->n_numa++];
        n->os_index = (int)o->os_index;
        n->mem_bytes = o->attr ? o->attr->numanode.local_memory : 0;
        unsigned id;
        hwloc_bitmap_foreach_begin(id, o->cpuset)
        {
            if (n->n_cpus < TOPO_MAX_CPUS)
                n->cpus[n->n_cpus++] = (int)id;
        }
        hwloc_bitmap_foreach_end();
        t->n_cpus_total += n->n_cpus;
    }
    if (t->n_numa == 0) {
        hwloc_topology_destroy(h);
        return errprintf(err, "%s: no NUMA node found", xml_path ? xml_path : "live topology");
    }
    probe_cores(t, h);
    struct gpu_tmp g[TOPO_MAX_GPUS];
    int ng = 0;
    for (hwloc_obj_t o = hwloc_get_next_pcidev(h, NULL); o; o = hwloc_get_next_pcidev(h, o)) {
        struct hwloc_pcidev_attr_s *p = &o->attr->pcidev;
        if (p->vendor_id != 0x10de || (p->class_id >> 8) != 0x03 || ng == TOPO_MAX_GPUS)
            continue;
        hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(h, o);
        int node = -1;
        if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1)
            node = numa_index_of(t, hwloc_bitmap_first(anc->nodeset));
        g[ng++] = (struct gpu_tmp){p->domain, p->bus, p->dev, p->func, node};
    }
    hwloc_topology_destroy(h);
    qsort(g, (size_t)ng, sizeof *g, gpu_cmp);
    if (sim_gpus >= 0) {
        if (sim_gpus > TOPO_MAX_GPUS)
            return errprintf(err, "at most %d simulated GPUs", TOPO_MAX_GPUS);
        t->simulated_gpus = true;
        t->n_gpus = sim_gpus;
        for (int i = 0; i < sim_gpus; i++) {
            t->gpus[i].index = i;
            t->gpus[i].numa = (int)((long)i * t->n_numa / sim_gpus);
        }
        return 0;
    }
    t->n_gpus = ng;
    for (int i = 0; i < ng; i++) {
        t->gpus[i].index = i;
        t->gpus[i].numa = g[i].numa;
        snprintf(t->gpus[i].pci_bus_id, sizeof t->gpus[i].pci_bus_id, "%04x:%02x:%02x.%x",
                 g[i].dom & 0xffff, g[i].bus & 0xff, g[i].dev & 0x1f, g[i].fn & 7);
    }
    return 0;
}

unsigned long long topo_nodes_of_cpus(const struct topo *t, const int *cpus, int n)
{
    unsigned long long m = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < t->n_numa; k++)
            for (int c = 0; c < t->numa[k].n_cpus; c++)
                if (t->numa[k].cpus[c] == cpus[i])
                    m |= 1ULL << k;
    return m;
}

/* ------------------------------------------------------------- reserve */

static int parse_core_id(const char **p, long *out)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    *out = strtol(*p, &end, 10);
    if (errno || *out > 1000000)
        return -1;
    *p = end;
    return 0;
}

int topo_reserve(struct topo *t, const char *spec, struct err *err)
{
    bool want[TOPO_MAX_CORES] = {false};
    const char *p = spec;
    if (!*spec)
        return errprintf(err, "--reserve-cpus: empty list");
    bool is_count = *p != '\0';
    for (const char *q = spec; *q; q++)
        if (!isdigit((unsigned char)*q))
            is_count = false;
    if (is_count) {
        long n = strtol(spec, NULL, 10);
        int seen[TOPO_MAX_CORES] = {0};
        for (int i = 0; i < t->n_cores; i++) {
            int pk = t->cores[i].package < 0 ? 0 : t->cores[i].package;
            if (seen[pk]++ < n)
                want[i] = true;
        }
        for (int pk = 0; pk < t->n_packages; pk++)
            if (n > 0 && seen[pk] <= n)
                return errprintf(err, "--reserve-cpus: %ld cores per socket leave socket %d "
                                      "(%d cores) none for jobs", n, pk, seen[pk]);
    } else {
        while (*p) {
            long a, b;
            if (parse_core_id(&p, &a) < 0)
                return errprintf(err, "--reserve-cpus: '%s' must be core ids like 0,1,8-9 "
                                      "or a count of cores per socket", spec);
            b = a;
            if (*p == '-') {
                p++;
                if (parse_core_id(&p, &b) < 0 || b < a)
                    return errprintf(err, "--reserve-cpus: '%s': bad range", spec);
            }
            if (*p == ',')
                p++;
            else if (*p)
                return errprintf(err, "--reserve-cpus: '%s' must be core ids like 0,1,8-9 "
                                      "or a count of cores per socket", spec);
            if (b >= t->n_cores)
                return errprintf(err, "--reserve-cpus: core %ld does not exist (this machine "
                                      "has %d cores, ids 0-%d)", b, t->n_cores, t->n_cores - 1);
            for (long i = a; i <= b; i++)
                want[i] = true;
        }
    }
    int left = 0;
    for (int i = 0; i < t->n_cores; i++)
        left += !want[i];
    if (left == 0)
        return errprintf(err, "--reserve-cpus: '%s' leaves no core for jobs", spec);
    for (int i = 0; i < t->n_cores; i++) {
        struct topo_core *c = &t->cores[i];
        if (want[i] && !c->reserved && c->numa >= 0) {
            t->numa[c->numa].n_reserved_cores++;
            t->numa[c->numa].n_reserved_pus += c->n_pus;
        }
        c->reserved = c->reserved || want[i];
    }
    return 0;
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int topo_reserved_pus(const struct topo *t, int *out)
{
    int n = 0;
    for (int i = 0; i < t->n_cores; i++)
        if (t->cores[i].reserved)
            for (int p = 0; p < t->cores[i].n_pus && n < TOPO_MAX_CPUS; p++)
                out[n++] = t->cores[i].pus[p];
    qsort(out, (size_t)n, sizeof *out, int_cmp);
    return n;
}

int topo_node_capacity(const struct topo *t, int k)
{
    const struct topo_numa *nd = &t->numa[k];
    if (t->n_cores == 0)
        return nd->n_cpus;
    return t->unit == TOPO_UNIT_THREAD ? nd->n_cpus - nd->n_reserved_pus
                                       : nd->n_cores - nd->n_reserved_cores;
}

/* ------------------------------------------------------------- placement */

/* One unit a job can be given: a whole core (pu < 0) or one of its PUs. */
struct unit {
    int core, pu;
};

static bool unit_free(const struct topo *t, struct unit u, const bool *busy)
{
    if (!busy)
        return true;
    const struct topo_core *c = &t->cores[u.core];
    if (u.pu >= 0)
        return u.pu >= TOPO_MAX_CPUS || !busy[u.pu];
    for (int p = 0; p < c->n_pus; p++)
        if (c->pus[p] < TOPO_MAX_CPUS && busy[c->pus[p]])
            return false;
    return true;
}

/* The unreserved units of node k in core logical order (free ones only when
 * busy is given). Returns how many. */
static int node_units(const struct topo *t, int k, const bool *busy, struct unit *u)
{
    int n = 0;
    for (int i = 0; i < t->n_cores; i++) {
        const struct topo_core *c = &t->cores[i];
        if (c->numa != k || c->reserved)
            continue;
        if (t->unit == TOPO_UNIT_CORE) {
            struct unit x = {i, -1};
            if (unit_free(t, x, busy))
                u[n++] = x;
        } else {
            for (int p = 0; p < c->n_pus; p++) {
                struct unit x = {i, c->pus[p]};
                if (unit_free(t, x, busy))
                    u[n++] = x;
            }
        }
    }
    return n;
}

static int emit(const struct topo *t, struct unit u, int *out, int got)
{
    if (u.pu >= 0) {
        out[got++] = u.pu;
        return got;
    }
    const struct topo_core *c = &t->cores[u.core];
    for (int p = 0; p < c->n_pus; p++)
        out[got++] = c->pus[p];
    return got;
}

/* Take k of the n free units u[] of one node, by the cache rule above:
 * domains with the most free units first, lowest domain index on ties. */
static int take_by_domain(const struct topo *t, struct unit *u, int n, int k, int *out, int got)
{
    int free_in[TOPO_MAX_CORES];
    memset(free_in, 0, sizeof(int) * (size_t)(t->n_domains > 0 ? t->n_domains : 1));
    for (int i = 0; i < n; i++)
        free_in[t->cores[u[i].core].domain]++;
    while (k > 0) {
        int best = -1;
        for (int d = 0; d < t->n_domains; d++)
            if (free_in[d] > 0 && (best < 0 || free_in[d] > free_in[best]))
                best = d;
        if (best < 0)
            break;
        for (int i = 0; i < n && k > 0; i++)
            if (u[i].core >= 0 && t->cores[u[i].core].domain == best) {
                got = emit(t, u[i], out, got);
                u[i].core = -1;
                k--;
            }
        free_in[best] = 0;
    }
    return got;
}

int topo_cpus_for_gpus(const struct topo *t, const int *gpus, int n_gpus, int n_cpus,
                       const bool *busy, int *out)
{
    int want[TOPO_MAX_NUMA] = {0}; /* GPUs of the job per node */
    for (int i = 0; i < n_gpus; i++) {
        if (gpus[i] < 0 || gpus[i] >= t->n_gpus) {
            errno = EINVAL;
            return -1;
        }
        int node = t->gpus[gpus[i]].numa;
        want[node < 0 ? 0 : node]++;
    }
    if (n_cpus < 1)
        n_cpus = 1;
    /* node order: the GPUs' nodes (most GPUs first), then the rest by
     * distance to the nearest GPU node */
    int order[TOPO_MAX_NUMA], n_order = 0;
    bool used[TOPO_MAX_NUMA] = {false};
    for (;;) {
        int best = -1;
        for (int k = 0; k < t->n_numa; k++)
            if (!used[k] && want[k] > 0 && (best < 0 || want[k] > want[best]))
                best = k;
        if (best < 0)
            break;
        used[best] = true;
        order[n_order++] = best;
    }
    int n_home = n_order;
    for (;;) {
        int best = -1, best_d = 1 << 30;
        for (int k = 0; k < t->n_numa; k++) {
            if (used[k])
                continue;
            int d = 1 << 29;
            for (int h = 0; h < n_home; h++) {
                int dd = abs(k - order[h]);
                if (dd < d)
                    d = dd;
            }
            if (d < best_d) {
                best_d = d;
                best = k;
            }
        }
        if (best < 0)
            break;
        used[best] = true;
        order[n_order++] = best;
    }
    struct unit u[TOPO_MAX_CPUS];
    int got = 0, left = n_cpus;
    for (int i = 0; i < n_order && left > 0; i++) {
        int n = node_units(t, order[i], busy, u);
        int k = n < left ? n : left;
        got = take_by_domain(t, u, n, k, out, got);
        left -= k;
    }
    /* everything busy: share the unreserved units of the first node (in
     * the order above) that has any */
    for (int i = 0; i < n_order && got == 0; i++) {
        int n = node_units(t, order[i], NULL, u);
        for (int c = 0; c < n && c < n_cpus; c++)
            got = emit(t, u[c], out, got);
    }
    return got;
}
