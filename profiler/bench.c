/*
 * The profiler's bandwidth benchmarks (profiler.h). The reference measured
 * memory bandwidth with an OpenMP program that returned integer GB/s as its
 * exit code, and disk bandwidth with `sudo hdparm -t`; here both are plain C
 * in this process and return doubles. The disk figure is a read of the
 * dataset's largest file after posix_fadvise(DONTNEED): on a file the kernel
 * cannot drop (dirty, or pinned by another reader) it is a cache read, and
 * the figure is optimistic; it says so in the log.
 */
#include "profiler.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct copier {
    size_t bytes;
    int passes;
    char *src, *dst;
    pthread_barrier_t *start;
};

static void *copy_main(void *arg)
{
    struct copier *c = arg;
    pthread_barrier_wait(c->start);
    for (int p = 0; p < c->passes; p++) {
        memcpy(c->dst, c->src, c->bytes);
        c->src[(size_t)p % c->bytes] ^= 1; /* each pass a different source */
    }
    return NULL;
}

double prof_mem_bandwidth(int threads, int mb_per_thread, int passes)
{
    if (threads < 1)
        threads = 1;
    size_t bytes = (size_t)mb_per_thread << 20;
    struct copier *c = xcalloc((size_t)threads, sizeof *c);
    pthread_t *t = xcalloc((size_t)threads, sizeof *t);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    double gbs = 0;
    int ok = 1, started = 0;
    for (int i = 0; i < threads && ok; i++) {
        c[i].bytes = bytes;
        c[i].passes = passes;
        c[i].start = &start;
        c[i].src = malloc(bytes);
        c[i].dst = malloc(bytes);
        if (!c[i].src || !c[i].dst) {
            ok = 0;
            break;
        }
        memset(c[i].src, i + 1, bytes); /* fault the pages in before timing */
        memset(c[i].dst, 0, bytes);
    }
    if (ok) {
        for (int i = 0; i < threads; i++)
            if (pthread_create(&t[i], NULL, copy_main, &c[i]) == 0)
                started++;
        if (started == threads) {
            pthread_barrier_wait(&start);
            double t0 = mono_s();
            for (int i = 0; i < threads; i++)
                pthread_join(t[i], NULL);
            double el = mono_s() - t0;
            if (el > 0)
                gbs = (double)bytes * passes * threads / el / 1e9;
        } else {
            abort(); /* a thread could not start: the barrier would never open */
        }
    }
    pthread_barrier_destroy(&start);
    for (int i = 0; i < threads; i++) {
        free(c[i].src);
        free(c[i].dst);
    }
    free(c);
    free(t);
    return gbs;
}

/* nftw has no user pointer: one walk at a time (the profiler is single-threaded here). */
static struct {
    double bytes;
    long files;
    char largest[4096];
    off_t largest_size;
} walk;

static int walk_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode)) {
        walk.bytes += (double)st->st_size;
        walk.files++;
        if (st->st_size > walk.largest_size) {
            walk.largest_size = st->st_size;
            snprintf(walk.largest, sizeof walk.largest, "%s", path);
        }
    }
    return 0;
}

static int walk_dir(const char *dir, struct err *err)
{
    memset(&walk, 0, sizeof walk);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return errprintf(err, "%s: not a data directory: %s", dir,
                         errno ? strerror(errno) : "not a directory");
    if (nftw(dir, walk_fn, 16, FTW_PHYS) < 0)
        return errprintf(err, "%s: %s", dir, strerror(errno));
    return 0;
}

int prof_dataset_size(const char *dir, double *gb, long *files, struct err *err)
{
    if (walk_dir(dir, err) < 0)
        return -1;
    *gb = walk.bytes / 1e9;
    *files = walk.files;
    return 0;
}

double prof_disk_bandwidth(const char *dir, char *file, size_t n, struct err *err)
{
    if (walk_dir(dir, err) < 0)
        return 0;
    if (walk.largest_size <= 0) {
        errprintf(err, "%s: no non-empty file to read", dir);
        return 0;
    }
    if (file)
        snprintf(file, n, "%s", walk.largest);
    int fd = open(walk.largest, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errprintf(err, "%s: %s", walk.largest, strerror(errno));
        return 0;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    size_t cap = 1 << 20;
    char *buf = xmalloc(cap);
    double t0 = mono_s(), total = 0;
    ssize_t r;
    while ((r = read(fd, buf, cap)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            total += (double)r;
    double el = mono_s() - t0;
    free(buf);
    close(fd);
    if (r < 0) {
        errprintf(err, "%s: read: %s", walk.largest, strerror(errno));
        return 0;
    }
    return el > 0 ? total / el / 1e9 : 0;
}
