/*
 * deploy --record FILE: every job that arrives in the run's ledger, from the
 * trace or submitted online, appended to a replay trace in the Synergy
 * format (id,model,arrival,iterations,gpus) with its arrival on the run's
 * logical clock, and every cancel of a job that had arrived as a line
 * "#cancel,ID,TIME_S" with the round boundary that applied it (a comment to
 * other readers), so `simulate --trace FILE` replays the run.
 *
 * Never half-written: each job is one write(2) of one whole line to a file
 * opened O_APPEND, and the file is fdatasync'd before the round's state is
 * committed (run_rounds), so a committed arrival is always in the file. A
 * run continued from --state reopens the file: a torn last line (power loss)
 * is cut off, the ids already there are not written again, and jobs the
 * state holds but the file lacks are added. A new run starts the file afresh
 * (an empty file written to a temporary and renamed into place). Known
 * limit: the state does not keep a cancel's time, so a cancel line cut off
 * by a power loss is not written again.
 */
#include "deploy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"

/* ---- the ids already in the file: an open-addressing set of ints ----
 * A job's arrival line is its id; its cancel line is the key -1 - id. */

static int cancel_key(int id)
{
    return -1 - id;
}

static size_t slot_of(const struct deploy *d, int id)
{
    size_t mask = d->rec.cap - 1, i = ((size_t)(unsigned)id * 2654435761u) & mask;
    while (d->rec.used[i] && d->rec.ids[i] != id)
        i = (i + 1) & mask;
    return i;
}

static bool ids_has(const struct deploy *d, int id)
{
    return d->rec.cap && d->rec.used[slot_of(d, id)];
}

static void ids_add(struct deploy *d, int id)
{
    if (2 * (d->rec.n + 1) > d->rec.cap) {
        int *old_ids = d->rec.ids;
        bool *old_used = d->rec.used;
        size_t old_cap = d->rec.cap;
        d->rec.cap = old_cap ? 2 * old_cap : 64;
        d->rec.ids = xcalloc(d->rec.cap, sizeof *d->rec.ids);
        d->rec.used = xcalloc(d->rec.cap, sizeof *d->rec.used);
        for (size_t i = 0; i < old_cap; i++)
            if (old_used[i]) {
                size_t s = slot_of(d, old_ids[i]);
                d->rec.used[s] = true;
                d->rec.ids[s] = old_ids[i];
            }
        free(old_ids);
        free(old_used);
    }
    size_t s = slot_of(d, id);
    if (!d->rec.used[s]) {
        d->rec.used[s] = true;
        d->rec.ids[s] = id;
        d->rec.n++;
    }
}

/* ---- the file ---- */

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir_of(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* A new run: an empty file, put in place atomically. */
static int start_afresh(const char *path, struct err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errprintf(err, "--record: %s: %s", tmp, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    if (rc < 0 || rename(tmp, path) < 0) {
        errprintf(err, "--record: %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir_of(path);
    return 0;
}

/* A continued run: learn the ids in the file, cut a torn last line. */
static int read_back(struct deploy *d, const char *path, struct err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return start_afresh(path, err);
        return errprintf(err, "--record: %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    off_t good = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n')
            break; /* torn: cut below */
        good += n;
        line[n - 1] = '\0';
        if (!line[0])
            continue;
        if (line[0] == '#') {
            int id;
            double at;
            int is = trace_parse_replay_cancel(line, &id, &at, err, path, (int)lineno);
            if (is < 0) {
                rc = -1;
                break;
            }
            if (is)
                ids_add(d, cancel_key(id));
            continue;
        }
        struct job_spec js;
        if (trace_parse_replay_line(line, &js, err, path, (int)lineno) < 0) {
            rc = -1;
            break;
        }
        ids_add(d, js.id);
    }
    free(line);
    fclose(f);
    if (rc == 0 && truncate(path, good) < 0)
        rc = errprintf(err, "--record: %s: %s", path, strerror(errno));
    return rc;
}

int deploy__record_open(struct deploy *d, struct err *err)
{
    d->rec.fd = -1;
    const char *path = d->cfg->record_path;
    if (!path)
        return 0;
    if ((d->restarted ? read_back(d, path, err) : start_afresh(path, err)) < 0)
        return -1;
    d->rec.fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (d->rec.fd < 0)
        return errprintf(err, "--record: %s: %s", path, strerror(errno));
    if (d->restarted) { /* jobs the state holds but the file lacks (it was cut short) */
        for (size_t i = 0; i < d->n_jobs; i++)
            if (d->jobs[i].j)
                deploy__record_arrival(d, d->jobs[i].spec);
    }
    return deploy__record_sync(d);
}

/* Append one line (job_spec or cancel) for key unless the file has it. */
static void append_line(struct deploy *d, int key, const struct job_spec *spec, double cancel_at)
{
    if (d->rec.fd < 0 || ids_has(d, key) || d->rec.write_errno)
        return;
    char buf[256];
    FILE *m = fmemopen(buf, sizeof buf, "w");
    if (!m) {
        d->rec.write_errno = errno;
        return;
    }
    if (key < 0)
        trace_write_replay_cancel(m, spec->id, cancel_at);
    else
        trace_write_replay_line(m, spec);
    long len = ftell(m);
    fclose(m);
    if (len <= 0 || (size_t)len >= sizeof buf || buf[len - 1] != '\n') {
        d->rec.write_errno = EOVERFLOW;
        return;
    }
    if (write_all(d->rec.fd, buf, (size_t)len) < 0) {
        d->rec.write_errno = errno ? errno : EIO;
        LOG(LOG_ERROR, "deploy", "--record %s: %s: recording stops", d->cfg->record_path,
            strerror(d->rec.write_errno));
        return;
    }
    ids_add(d, key);
    d->rec.dirty = true;
}

void deploy__record_arrival(void *ctx, const struct job_spec *spec)
{
    struct deploy *d = ctx;
    append_line(d, spec->id, spec, 0);
}

void deploy__record_cancel(struct deploy *d, const struct job_spec *spec, double at)
{
    append_line(d, cancel_key(spec->id), spec, at);
}

int deploy__record_sync(struct deploy *d)
{
    if (d->rec.fd < 0 || !d->rec.dirty || d->rec.write_errno)
        return d->rec.write_errno ? -1 : 0;
    if (fdatasync(d->rec.fd) < 0) {
        d->rec.write_errno = errno;
        LOG(LOG_ERROR, "deploy", "--record %s: %s: recording stops", d->cfg->record_path,
            strerror(d->rec.write_errno));
        return -1;
    }
    d->rec.dirty = false;
    return 0;
}

int deploy__record_close(struct deploy *d, struct err *err)
{
    int rc = 0;
    if (d->rec.fd >= 0) {
        deploy__record_sync(d);
        if (close(d->rec.fd) < 0 && !d->rec.write_errno)
            d->rec.write_errno = errno;
        d->rec.fd = -1;
    }
    if (d->rec.write_errno && err)
        rc = errprintf(err, "--record %s: %s", d->cfg->record_path, strerror(d->rec.write_errno));
    free(d->rec.ids);
    free(d->rec.used);
    d->rec.ids = NULL;
    d->rec.used = NULL;
    d->rec.cap = d->rec.n = 0;
    return rc;
}
