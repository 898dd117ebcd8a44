/*
 * `synergy job`: the stand-in training job (the protocol and the work live
 * in clients/c, see jobclient.h): parse its flags, check its environment,
 * run it.
 */
#include "cli.h"
#include "options.h"

#include <stdio.h>

#include "jobclient.h"

int cmd_job(int argc, char **argv)
{
    struct job_opts o = {.id = -1};
    int c;
    struct cli_parser p;
    cli_parser_init(&p, CLI_JOB, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_JOB_ID: o.id = p.lnum; break;
        case OPT_SCHED: o.sched = p.arg; break;
        case OPT_CHK_DIR: o.chk = p.arg; break;
        case OPT_CRASH_ONCE: o.crash_dir = p.arg; break;
        case OPT_CRASH_ALWAYS: o.crash_always = true; break;
        case OPT_CRASH_LATE_MS: o.crash_late_ms = p.lnum; break;
        case OPT_IGNORE_STOP: o.ignore_stop = true; break;
        case OPT_IGNORE_SIGTERM: o.ignore_sigterm = true; break;
        case OPT_RANKS: o.ranks = true; break;
        case OPT_LEGACY: o.legacy = true; break;
        case OPT_SPAWN_DAEMON: o.daemon_file = p.arg; break;
        case OPT_STARTUP_S:
        case OPT_CPU_WORK:
        case OPT_ITER_COST:
            if (job_work_opt(&o.work, c == OPT_STARTUP_S ? JOB_OPT_STARTUP
                                      : c == OPT_CPU_WORK ? JOB_OPT_CPU_WORK : JOB_OPT_ITER_COST,
                             p.arg) < 0)
                return EXIT_BAD_INPUT;
            break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    if (p.optind < argc)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    if (o.id < 0 || !o.sched) {
        fprintf(stderr, "synergy job: --job-id and --sched are required\n");
        return EXIT_BAD_INPUT;
    }
    if (!job_client_env_ok()) {
        fprintf(stderr, "synergy job: SYNERGY_TOTAL_ITERS, SYNERGY_ITER_TIME_S and "
                        "SYNERGY_TIME_SCALE must be set\n");
        return EXIT_BAD_INPUT;
    }
    return job_client_run(&o);
}
