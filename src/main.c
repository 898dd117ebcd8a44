/*
 * synergy: entry point. The commands are dispatched from the one command
 * table (commands.c); an unknown command gets the closest known one
 * suggested.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cli_command_line(char *buf, size_t n, int argc, char **argv, const char *cmd)
{
    size_t len = (size_t)snprintf(buf, n, "synergy %s", cmd);
    for (int i = 1; i < argc && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " %s", argv[i]);
}

/* What the command printed must have reached stdout: a full disk or a closed
 * pipe is an error, whatever the command (git and coreutils check the same
 * at exit). A command that failed already said why. */
static int stdout_flushed(int rc, const char *cmd)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return rc;
    if (rc == 0) {
        fprintf(stderr, "synergy%s%s: writing: %s\n", cmd ? " " : "", cmd ? cmd : "",
                strerror(errno ? errno : EIO));
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    /* hidden: the build generates synergy.1 and the completion from the tables */
    if (argc == 2 && strcmp(argv[1], "--man") == 0) {
        cli_print_man(stdout);
        return stdout_flushed(0, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "--bash-completion") == 0) {
        cli_print_completion(stdout);
        return stdout_flushed(0, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "--registries-md") == 0) {
        cli_print_registries_md(stdout);
        return stdout_flushed(0, NULL);
    }
    int rc = cli_dispatch("", argc, argv);
    char cmd[64] = "";
    if (argc > 1)
        snprintf(cmd, sizeof cmd, "%s%s%s", argv[1],
                 strcmp(argv[1], "trace") == 0 && argc > 2 ? " " : "",
                 strcmp(argv[1], "trace") == 0 && argc > 2 ? argv[2] : "");
    return stdout_flushed(rc, argc > 1 ? cmd : NULL);
}
