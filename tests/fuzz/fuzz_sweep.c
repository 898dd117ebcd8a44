/* libFuzzer harness: the sweep experiment file (sweep/grid.c: inih with line
 * numbers, every grid key, the relative-path rebasing), through a memfd, then
 * the grid's checks and, for grids of a sane size, its points and shards.
 * Not the fingerprint: it reads the files the grid names, which a fuzzer
 * could point at /dev/zero. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sweep.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct sweep_grid *g = malloc(sizeof *g);
    struct err err = {{0}};
    sweep_grid_defaults(g, "configs/default_cluster.ini", "configs/models.ini");
    if (sweep_grid_load(g, path, &err) == 0 && sweep_grid_check(g, &err) == 0) {
        size_t n = (size_t)g->n_clusters * (size_t)(g->n_splits ? g->n_splits : 1) *
                   (size_t)(g->n_loads ? g->n_loads : 1) * (size_t)(g->n_seeds ? g->n_seeds : 1) *
                   (size_t)g->n_policies * (size_t)g->n_modes;
        if (n <= 100000) {
            size_t got;
            struct sweep_point *pts = sweep_grid_points(g, &got);
            if (got != n)
                abort();
            for (size_t i = 0; i < got; i++) {
                if (pts[i].index != (long)i || pts[i].policy >= g->n_policies ||
                    pts[i].mode >= g->n_modes || pts[i].cluster >= g->n_clusters)
                    abort();
                (void)sweep_grid_in_shard(g, i);
            }
            free(pts);
        }
    }
    free(g);
    close(fd);
    return 0;
}
