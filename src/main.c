/*
 * synergy: entry point. Looks the command up in a table; an unknown command
 * gets the closest known one suggested.
 */
#include "cli.h"
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static const struct cli_command commands[] = {
    {"simulate", cmd_simulate, "simulate round-based scheduling of a trace or synthetic workload"},
    {"generate", cmd_generate, "write the synthetic workload (alias of trace generate)"},
    {"trace", cmd_trace, "convert, summarise, validate or generate traces"},
    {"sweep", cmd_sweep, "run a grid of policies x modes x loads in parallel into a results DB"},
    {"report", cmd_report, "JCT tables, comparisons, telemetry and plots from a results DB"},
    {"deploy", cmd_deploy, "run a trace for real: scheduler server driving worker servers"},
    {"worker", cmd_worker, "worker server: launch and supervise the jobs placed on this machine"},
    {"job", cmd_job, "stand-in training job speaking the JobToScheduler protocol"},
    {"profile", cmd_profile, "profile a model: seconds per iteration vs CPUs, modelled memory"},
    {"submit", cmd_submit, "submit a job to a running deployment (prints its id)"},
    {"queue", cmd_queue, "list a deployment's jobs, like squeue"},
    {"cancel", cmd_cancel, "cancel jobs of a deployment"},
    {"nodes", cmd_nodes, "list a deployment's servers, like sinfo"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])


void cli_command_line(char *buf, size_t n, int argc, char **argv, const char *cmd)
{
    size_t len = (size_t)snprintf(buf, n, "synergy %s", cmd);
    for (int i = 1; i < argc && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " %s", argv[i]);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: synergy <command> [options]\n\n"
               "Resource-sensitive scheduling of DNN training jobs on GPU clusters\n"
               "(Synergy, OSDI'22).\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'synergy <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        cli_print_version();
        return 0;
    }
    /* hidden: the build generates synergy.1 and the completion from the table */
    if (strcmp(name, "--man") == 0) {
        cli_print_man(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(name, "--bash-completion") == 0) {
        cli_print_completion(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    const char *best = NULL;
    int best_d = 1 << 30;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int d = str_distance(name, commands[i].name);
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    fprintf(stderr, "synergy: unknown command '%s'", name);
    if (best && best_d <= 3)
        fprintf(stderr, "; did you mean '%s'?", best);
    fprintf(stderr, " (run 'synergy --help' for the list)\n");
    return EXIT_BAD_INPUT;
}
