/*
 * Topology probe and NUMA-aware CPU choice. hwloc gives the NUMA nodes, their
 * PUs and memory, and the PCI devices; an NVIDIA GPU is a PCI device with
 * vendor 0x10de and a display class (0x03xx), and its NUMA node is the
 * nodeset of its first non-I/O ancestor. Debian's hwloc has no CUDA/NVML
 * plugin, so CUDA indexes are assumed to follow PCI bus order
 * (CUDA_DEVICE_ORDER=PCI_BUS_ID, which the launcher sets).
 *
 * Known limit: node distances are not read from the firmware; "nearest" is
 * the node with the closest index, which matches common 2- and 4-socket
 * layouts but not every one.
 */
#include "worker.h"

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
    int got = 0;
    for (int i = 0; i < n_order && got < n_cpus; i++) {
        const struct topo_numa *nd = &t->numa[order[i]];
        for (int c = 0; c < nd->n_cpus && got < n_cpus; c++) {
            int pu = nd->cpus[c];
            if (!busy || pu >= TOPO_MAX_CPUS || !busy[pu])
                out[got++] = pu;
        }
    }
    if (got == 0) { /* everything busy: share the home node's PUs */
        const struct topo_numa *nd = &t->numa[order[0]];
        for (int c = 0; c < nd->n_cpus && got < n_cpus; c++)
            out[got++] = nd->cpus[c];
    }
    return got;
}
