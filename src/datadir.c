/*
 * Where the binary finds its default configs (cluster, model profiles,
 * deployment catalog) and shipped traces. The search order, documented in
 * synergy.1 (FILES) and the README:
 *   1. an explicit flag (--cluster, --models, --catalog): callers never ask;
 *   2. $SYNERGY_CONFIG_DIR: when set, the only place looked at;
 *   3. ../share/synergy next to the binary (an installed or relocated tree);
 *   4. the source tree, only when the binary runs from its build tree: CMake
 *      writes the marker file `synergy-source-dir` next to the built binary,
 *      and `make install` never copies it, so a copied or installed binary
 *      never reads another machine's build tree;
 *   5. the compiled-in install prefix (SYNERGY_INSTALL_DATADIR).
 * The first directory holding the file wins; when none does, the path is the
 * first candidate's, so the error names a sensible place.
 */
#include "cli.h"

#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CANDIDATES 4

/* The directory of the running binary into buf; -1 if unknown. */
static int exe_dir(char *buf, size_t n)
{
    ssize_t l = readlink("/proc/self/exe", buf, n - 1);
    if (l <= 0)
        return -1;
    buf[l] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

/* The source directory named by the build tree's marker next to the binary. */
static int build_tree_source(const char *dir, char *buf, size_t n)
{
    char marker[PATH_MAX + 32];
    snprintf(marker, sizeof marker, "%s/synergy-source-dir", dir);
    FILE *f = fopen(marker, "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? 0 : -1;
}

/* The places looked in, in order; their count. */
static int candidates(char (*cand)[PATH_MAX])
{
    const char *env = getenv("SYNERGY_CONFIG_DIR");
    if (env && *env) {
        snprintf(cand[0], PATH_MAX, "%s", env);
        return 1;
    }
    int nc = 0;
    char dir[PATH_MAX];
    if (exe_dir(dir, sizeof dir) == 0) {
        snprintf(cand[nc++], PATH_MAX, "%.*s/../share/synergy", PATH_MAX - 32, dir);
        if (build_tree_source(dir, cand[nc], PATH_MAX) == 0)
            nc++;
    }
    snprintf(cand[nc++], PATH_MAX, "%s", SYNERGY_INSTALL_DATADIR);
    return nc;
}

const char *cli_data_path(char *buf, size_t n, const char *rel)
{
    static char cand[MAX_CANDIDATES][PATH_MAX];
    int nc = candidates(cand);
    for (int i = 0; i < nc; i++) {
        snprintf(buf, n, "%s/%s", cand[i], rel);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    snprintf(buf, n, "%s/%s", cand[0], rel);
    return buf;
}

int cli_data_check(const char *path, const char *flag, struct err *err)
{
    if (access(path, R_OK) == 0)
        return 0;
    static char cand[MAX_CANDIDATES][PATH_MAX];
    int nc = candidates(cand);
    char list[MAX_CANDIDATES * 256] = "";
    size_t len = 0;
    for (int i = 0; i < nc && len < sizeof list; i++) {
        char real[PATH_MAX];
        const char *shown = realpath(cand[i], real) ? real : cand[i];
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%.250s", i ? ", " : "", shown);
    }
    const char *rel = strstr(path, "configs/");
    return errprintf(err, "%s not found (looked in: %s); set SYNERGY_CONFIG_DIR to the "
                          "directory holding configs/%s%s", rel ? rel : path, list,
                     flag ? " or give " : "", flag ? flag : "");
}

int cli_output_check(const char *flag, const char *path, bool dir, struct err *err)
{
    if (!path)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (dir && !S_ISDIR(st.st_mode))
            return errprintf(err, "%s: %s: Not a directory", flag, path);
        if (!dir && S_ISDIR(st.st_mode))
            return errprintf(err, "%s: %s: Is a directory", flag, path);
        if (dir && access(path, W_OK) != 0)
            return errprintf(err, "%s: %s: %s", flag, path, strerror(errno));
        return 0;
    }
    /* it does not exist yet: where it would be made */
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", path);
    for (;;) {
        char *slash = strrchr(up, '/');
        while (slash && slash > up && slash[1] == '\0') { /* "a/b/" */
            *slash = '\0';
            slash = strrchr(up, '/');
        }
        if (!slash)
            snprintf(up, sizeof up, ".");
        else if (slash == up)
            up[1] = '\0';
        else
            *slash = '\0';
        if (stat(up, &st) == 0 || !dir || strcmp(up, ".") == 0 || strcmp(up, "/") == 0)
            break;
    }
    if (stat(up, &st) != 0)
        return errprintf(err, "%s: %s: %s", flag, path, strerror(ENOENT));
    if (!S_ISDIR(st.st_mode))
        return errprintf(err, "%s: %s: %s", flag, path, strerror(ENOTDIR));
    if (access(up, W_OK) != 0)
        return errprintf(err, "%s: %s: %s", flag, path, strerror(errno));
    return 0;
}
