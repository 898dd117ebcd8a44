/*
 * The one command table: every command and subcommand of the binary, with
 * the function that runs it, the line `synergy --help` shows, and the
 * synopsis and text its own --help, the man page and the bash completion
 * print (options.c prints them from these rows and the option table). Both
 * `synergy CMD` and `synergy trace SUB` are dispatched from here, so a
 * command added to this table is runnable, listed, documented and completed
 * at once.
 */
#include "cli.h"
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* clang-format off */
const struct cli_command_info cli_commands[] = {
    {.bit = CLI_SIMULATE, .name = "simulate", .main = cmd_simulate,
     .summary = "simulate round-based scheduling of a trace or synthetic workload",
     .synopsis = "[options] (--trace FILE | --synthetic)",
     .about = "Simulate round-based scheduling on a cluster and report job completion times. "
              "Several policies and modes run every combination, shown side by side."},
    {.bit = CLI_GENERATE, .name = "generate", .main = cmd_generate,
     .summary = "write the synthetic workload (alias of trace generate)",
     .synopsis = "[options]",
     .about = "Write the first N jobs of the reference's synthetic workload in the replay format "
              "(id,model,arrival_s,iterations,gpus). --arrival re-times the jobs (their models, "
              "lengths and GPUs do not change). Also `synergy trace generate`."},
    {.name = "trace", .main = cmd_trace,
     .summary = "convert, summarise, validate or generate traces"},
    {.bit = CLI_CONVERT, .name = "trace convert", .main = cmd_trace_convert,
     .summary = "any supported trace to the replay format (stdout, or -o FILE)",
     .synopsis = "[options] INPUT [-o OUTPUT]",
     .about = "Write INPUT's jobs in the replay format (id,model,arrival_s,iterations,gpus), "
              "exactly as `simulate --trace INPUT` with the same options would run them. A "
              "replay trace converts to itself."},
    {.bit = CLI_STATS, .name = "trace stats", .main = cmd_trace_stats,
     .summary = "job count, GPU-demand histogram, duration percentiles, offered load",
     .synopsis = "[options] FILE",
     .about = "Summarise the jobs that `simulate --trace FILE` would run: count, GPU-demand "
              "histogram, duration percentiles (iterations x the model's iteration time at the "
              "fair share), span of arrivals, and the offered load: GPU-hours asked for per hour "
              "of arrivals, divided by the cluster's GPUs (above 1 = overloaded)."},
    {.bit = CLI_VALIDATE, .name = "trace validate", .main = cmd_trace_validate,
     .summary = "check a trace; file:line diagnostics, exit 2 on a problem",
     .synopsis = "[options] FILE",
     .about = "Check a trace. Problems are printed as file:line: message; exit 2 if any. Replay "
              "traces: every field, duplicate ids, models that are not profiled (the reference "
              "would silently run them as alexnet) and jobs larger than --cluster. Philly logs "
              "are streamed: malformed records are listed (the first five) and counted; None "
              "times are normal in the real log and not an error."},
    /* the same command under its second name: no help or man section of its own */
    {.bit = CLI_GENERATE, .name = "trace generate", .main = cmd_generate,
     .summary = "write the reference's synthetic workload (= synergy generate)"},
    {.bit = CLI_GENPHILLY, .name = "trace gen-philly", .main = cmd_trace_gen_philly,
     .summary = "a synthetic Philly cluster_job_log for benchmarks",
     .synopsis = "(--bytes SIZE | --jobs N) [options]",
     .about = "Write a synthetic Philly cluster_job_log for benchmarks.", .hidden = true},
    {.bit = CLI_SWEEP, .name = "sweep", .main = cmd_sweep,
     .summary = "run a grid of policies x modes x loads in parallel into a results DB",
     .synopsis = "[EXPERIMENT.ini] [options]",
     .about = "Run every combination of policies x modes x loads x splits x clusters x seeds in "
              "parallel, record all runs in one results database, and print the comparison "
              "table. Options override the experiment file's [sweep] keys of the same name "
              "(shown as [key]); paths in the experiment file are relative to the file.",
     .epilogue = "Ctrl-C stops cleanly: finished runs stay in the database, the interrupted ones "
                 "are marked incomplete. Exit 130 then."},
    {.bit = CLI_REPORT, .name = "report", .main = cmd_report,
     .summary = "JCT tables, comparisons, telemetry and plots from a results DB",
     .synopsis = "[options]",
     .about = "Report recorded runs: a JCT table (NUM MED MEAN P99 P99.5 P99.9, hours) with "
              "makespan and utilization, per-model and per-GPU-count breakdowns, and each run "
              "against a baseline as ratios (by default the same policy in fair mode, i.e. "
              "GPU-proportional).",
     .epilogue = "Runs that differ only in their seed (sweep --seed 1,2,3) also get a table of "
                 "means with 95% confidence intervals (Student t), and --plot draws them with "
                 "error bars."},
    {.bit = CLI_DEPLOY, .name = "deploy", .main = cmd_deploy,
     .summary = "run a trace for real: scheduler server driving worker servers",
     .synopsis = "[--trace FILE] (--workers FILE | --local N) [options]",
     .about = "Run a trace for real: a scheduler server plans rounds with the same core as "
              "`simulate` and launches the jobs on worker servers (synergy worker). It also "
              "takes jobs submitted online (synergy submit, queue, cancel, nodes); without "
              "--trace it runs as a service, waiting for submissions, until SIGTERM or SIGINT."},
    {.bit = CLI_WORKER, .name = "worker", .main = cmd_worker,
     .summary = "worker server: launch and supervise the jobs placed on this machine",
     .synopsis = "--scheduler HOST:PORT [options]",
     .about = "Run a worker server: register with the scheduler, launch the jobs it places here "
              "with their GPUs, NUMA-local CPU cores and memory, supervise them."},
    {.bit = CLI_JOB, .name = "job", .main = cmd_job,
     .summary = "stand-in training job speaking the JobToScheduler protocol",
     .synopsis = "--job-id N --sched HOST:PORT [options]",
     .about = "A stand-in training job for deployments (reads the SYNERGY_* variables)."},
    {.bit = CLI_PROFILE, .name = "profile", .main = cmd_profile,
     .summary = "profile a model: seconds per iteration vs CPUs, modelled memory",
     .synopsis = "--model NAME (--profiles-dir DIR | --output FILE) [options]",
     .about = "Profile a catalog model on this machine, as Synergy's optimistic profiler: run it "
              "through a worker's own launch path (GPUs, cpuset, memory limit, environment) at "
              "the CPU counts of the reference's search (all cores; within 10% of the previous "
              "point: halve, else step down by the GPU count), read seconds per iteration from "
              "the job's own reports, model the memory axis from the dataset size and measured "
              "memory and disk bandwidth, and write a models.ini profile and a plot."},
    {.bit = CLI_SUBMIT, .name = "submit", .main = cmd_submit,
     .summary = "submit a job to a running deployment (prints its id)",
     .synopsis = "[--scheduler HOST:PORT] --model M --gpus G (--iterations N | --hours H) "
                 "[options]",
     .about = "Submit a job to a running deployment (synergy deploy) through its admin service "
              "and print the new job's id. It arrives now, on the run's clock, and is then "
              "scheduled like a trace job. A bad submission is refused with a one-line reason "
              "and changes nothing.",
     .epilogue = "Exit 0; 2 when refused (bad input, not an admin); 1 when the scheduler cannot "
                 "be reached."},
    {.bit = CLI_QUEUE, .name = "queue", .main = cmd_queue,
     .summary = "list a deployment's jobs, like squeue",
     .synopsis = "[--scheduler HOST:PORT] [options]",
     .about = "List a deployment's jobs, like squeue: id, name, user, model, state "
              "(pending|queued|running|cancelling; with --all also finished|failed|cancelled), "
              "GPUs and where they run (server:GPUs), CPUs, memory, progress, attained service, "
              "wait and run time (on the run's clock)."},
    {.bit = CLI_CANCEL, .name = "cancel", .main = cmd_cancel,
     .summary = "cancel jobs of a deployment",
     .synopsis = "[--scheduler HOST:PORT] [options] ID...",
     .about = "Cancel jobs of a deployment. All ids must be jobs not finished, or nothing is "
              "cancelled. A running job is stopped at the next round boundary."},
    {.bit = CLI_NODES, .name = "nodes", .main = cmd_nodes,
     .summary = "list a deployment's servers, like sinfo",
     .synopsis = "[--scheduler HOST:PORT] [options]",
     .about = "List a deployment's servers, like sinfo: state (up|down|lost|unregistered), GPUs "
              "used/total, CPU and memory allocation, jobs, and the age of the last heartbeat."},
    {.bit = CLI_SHARE, .name = "share", .main = cmd_share,
     .summary = "list a deployment's tenants and their shares, like sshare",
     .synopsis = "[--scheduler HOST:PORT] [options]",
     .about = "List the tenants of a deployment run with --tenants, like Slurm's sshare: "
              "nominal GPU quota, weight, GPUs held, borrowed and lent, decayed usage, fair "
              "share, jobs running and queued, and the tenant's limits (docs/tenants.md)."},
};
/* clang-format on */
const size_t cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

/* Is row c a child of `parent` ("" = the top level)? Its own word into *word. */
static bool child_of(const struct cli_command_info *c, const char *parent, const char **word)
{
    size_t pl = strlen(parent);
    if (pl == 0) {
        *word = c->name;
        return strchr(c->name, ' ') == NULL;
    }
    if (strncmp(c->name, parent, pl) != 0 || c->name[pl] != ' ')
        return false;
    *word = c->name + pl + 1;
    return strchr(*word, ' ') == NULL;
}

bool cli_command_listed(const struct cli_command_info *c, const char *parent, const char **word)
{
    return child_of(c, parent, word) && !c->hidden;
}

static void usage(FILE *f, const char *parent)
{
    if (parent[0])
        fprintf(f, "usage: synergy %s <command> [options]\n\ncommands:\n", parent);
    else
        fprintf(f, "usage: synergy <command> [options]\n\n"
                   "Resource-sensitive scheduling of DNN training jobs on GPU clusters\n"
                   "(Synergy, OSDI'22).\n\ncommands:\n");
    const char *word;
    for (size_t i = 0; i < cli_n_commands; i++)
        if (cli_command_listed(&cli_commands[i], parent, &word))
            fprintf(f, "  %-10s %s\n", word, cli_commands[i].summary);
    fprintf(f, "\n'synergy %s%s<command> --help' (or 'synergy help %s%s<command>') describes a "
               "command's options.\n", parent, parent[0] ? " " : "", parent,
            parent[0] ? " " : "");
}

/* `synergy [PARENT] help CMD...` = `synergy [PARENT] CMD... --help`, as git does. */
static int help_of(const char *parent, int argc, char **argv)
{
    char **av = xcalloc((size_t)argc + 1, sizeof *av);
    int n = 0;
    av[n++] = argv[0];
    for (int i = 2; i < argc; i++)
        av[n++] = argv[i];
    av[n++] = "--help";
    int rc = cli_dispatch(parent, n, av);
    free(av);
    return rc;
}

int cli_dispatch(const char *parent, int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr, parent);
        return EXIT_BAD_INPUT;
    }
    const char *name = argv[1], *word;
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        (strcmp(name, "help") == 0 && argc == 2)) {
        usage(stdout, parent);
        return 0;
    }
    if (strcmp(name, "help") == 0)
        return help_of(parent, argc, argv);
    if (strcmp(name, "--version") == 0) {
        cli_print_version();
        return 0;
    }
    for (size_t i = 0; i < cli_n_commands; i++)
        if (child_of(&cli_commands[i], parent, &word) && strcmp(word, name) == 0)
            return cli_commands[i].main(argc - 1, argv + 1);
    const char *best = NULL;
    int best_d = 1 << 30;
    for (size_t i = 0; i < cli_n_commands; i++) {
        if (!cli_command_listed(&cli_commands[i], parent, &word))
            continue;
        int d = str_distance(name, word);
        if (d < best_d) {
            best_d = d;
            best = word;
        }
    }
    fprintf(stderr, "synergy%s%s: unknown command '%s'", parent[0] ? " " : "", parent, name);
    if (best && best_d <= 3)
        fprintf(stderr, "; did you mean '%s'?", best);
    fprintf(stderr, " (run 'synergy %s%s--help' for the list)\n", parent, parent[0] ? " " : "");
    return EXIT_BAD_INPUT;
}

int cmd_trace(int argc, char **argv)
{
    return cli_dispatch("trace", argc, argv);
}
