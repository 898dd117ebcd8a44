/*
 * The synergy command line: one binary, one cmd_<name>.c per command,
 * dispatched from the one command table in commands.c. Exit codes: 0 ok, 1 runtime failure,
 * 2 bad input (usage, config, trace).
 */
#ifndef SYNERGY_CLI_H
#define SYNERGY_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define EXIT_BAD_INPUT 2

int cmd_simulate(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

/* "synergy <cmd> argv[1..]" into buf (truncated to n), for the results store. */
void cli_command_line(char *buf, size_t n, int argc, char **argv, const char *cmd);
/* cmd_trace.c: `synergy trace SUB` (cmd_trace, in commands.c, dispatches) */
int cmd_trace(int argc, char **argv);
int cmd_trace_convert(int argc, char **argv);
int cmd_trace_stats(int argc, char **argv);
int cmd_trace_validate(int argc, char **argv);
int cmd_trace_gen_philly(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_profile(int argc, char **argv);
/* cmd_admin.c: clients of a deployment's admin service */
int cmd_submit(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_share(int argc, char **argv);

/* Where the shipped configs and traces live (datadir.c): the first of
 * $SYNERGY_CONFIG_DIR (if set, only it), ../share/synergy next to the binary,
 * the source tree when the binary runs from its build tree (a marker file
 * next to it says so), and the compiled-in install prefix that holds `rel`.
 * Writes "<dir>/<rel>" into buf and returns buf. */
const char *cli_data_path(char *buf, size_t n, const char *rel);
struct err;
/* A default file from cli_data_path() must exist: 0, or -1 with err "REL not
 * found (looked in: ...); set SYNERGY_CONFIG_DIR ... or give FLAG" (flag may
 * be NULL: a file no flag replaces). */
int cli_data_check(const char *path, const char *flag, struct err *err);
/* An output the command will write at its end (dir: a directory made with
 * mkdir -p), checked before the work: a file's directory must exist and not
 * be the path itself, a directory's nearest existing ancestor must be a
 * writable directory. path NULL: nothing to check. 0, or -1 with err
 * "FLAG: PATH: why" naming the user's path. */
int cli_output_check(const char *flag, const char *path, bool dir, struct err *err);

#endif
