/*
 * `synergy job`: a stand-in training job that speaks the reference's
 * JobToScheduler protocol like the SynergyIterator: RegisterJob, a step
 * budget per round from UpdateIters, a long-poll RoundEnd that says whether
 * the lease goes on, LeaseEnded when it stops. It "trains" by sleeping
 * SYNERGY_ITER_TIME_S / time scale per iteration (the plan's seconds per
 * iteration for the CPUs and memory it was given), starts from
 * SYNERGY_ELAPSED_ITERS, stops at SYNERGY_TOTAL_ITERS and checkpoints its
 * progress to <chk-dir>/progress. Departure from the iterator: it asks for
 * the round's budget at the start of every round, not at 75 % of it (it
 * reports progress again at 75 %), so a changed budget is never overrun; and
 * it keeps to the round clock (RegisterJob's time_elapsed_this_round_s gives
 * the phase), compressing a round that started late, so launch and RPC
 * overheads do not pile up from round to round as they would for a job
 * that only counts steps.
 * Fault switches for tests: --crash-once DIR, --crash-always, --ignore-stop.
 */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job_to_scheduler.pb-c.h"
#include "job_work.h"
#include "rpc.h"
#include "scheduler.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long env_long(const char *k, long def)
{
    const char *v = getenv(k);
    long x;
    return v && parse_long(v, &x) == 0 ? x : def;
}

static double env_double(const char *k, double def)
{
    const char *v = getenv(k);
    double x;
    return v && parse_double(v, &x) == 0 ? x : def;
}

static void checkpoint(const char *dir, long done)
{
    if (!dir)
        return;
    char p[4096], tmp[4200];
    snprintf(p, sizeof p, "%s/progress", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%ld\n", done);
    if (fclose(f) == 0)
        rename(tmp, p);
}

static int call(rpc_client_t *c, const char *m, const ProtobufCMessage *rq, ProtobufCMessage **rs,
                int ms)
{
    struct err err = {{0}};
    int st = rpc_client_call(c, &job_to_scheduler__descriptor, m, rq, rs, ms, &err);
    if (st != RPC_STATUS_OK)
        fprintf(stderr, "synergy job: %s\n", err.msg);
    return st;
}

int cmd_job(int argc, char **argv)
{
    long id = -1;
    const char *sched = NULL, *chk = NULL, *crash_dir = NULL;
    bool crash_always = false, ignore_stop = false;
    int c;
    struct job_work work = {0};
    struct cli_parser p;
    cli_parser_init(&p, CLI_JOB, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_JOB_ID: id = p.lnum; break;
        case OPT_SCHED: sched = p.arg; break;
        case OPT_CHK_DIR: chk = p.arg; break;
        case OPT_CRASH_ONCE: crash_dir = p.arg; break;
        case OPT_CRASH_ALWAYS: crash_always = true; break;
        case OPT_IGNORE_STOP: ignore_stop = true; break;
        case OPT_STARTUP_S:
        case OPT_CPU_WORK:
        case OPT_ITER_COST:
            if (job_work_opt(&work, c == OPT_STARTUP_S ? JOB_OPT_STARTUP
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
    if (id < 0 || !sched) {
        fprintf(stderr, "synergy job: --job-id and --sched are required\n");
        return EXIT_BAD_INPUT;
    }
    long total = env_long("SYNERGY_TOTAL_ITERS", -1);
    long done = env_long("SYNERGY_ELAPSED_ITERS", 0);
    double scale = env_double("SYNERGY_TIME_SCALE", 1);
    double it = env_double("SYNERGY_ITER_TIME_S", -1);
    if (total < 0 || !(it > 0) || !(scale > 0)) {
        fprintf(stderr, "synergy job: SYNERGY_TOTAL_ITERS, SYNERGY_ITER_TIME_S and "
                        "SYNERGY_TIME_SCALE must be set\n");
        return EXIT_BAD_INPUT;
    }
    double spi = it / scale;
    double t_start = mono();
    bool crash = crash_always;
    if (crash_dir) {
        char marker[4096];
        snprintf(marker, sizeof marker, "%s/job-%ld", crash_dir, id);
        struct stat sb;
        if (stat(marker, &sb) < 0) {
            FILE *f = fopen(marker, "w");
            if (f)
                fclose(f);
            crash = true;
        }
    }
    fprintf(stderr, "synergy job %ld: resuming at %ld of %ld, %.6f s per iteration, scheduler %s\n",
            id, done, total, spi, sched);
    job_work_startup(&work);
    job_work_start(&work);
    rpc_client_t *cl = rpc_client_create(sched);
    rpc_client_set_wait_for_ready(cl, true);
    int rc = 1;
    RegisterJobRequest rj = REGISTER_JOB_REQUEST__INIT;
    rj.job_id = (uint64_t)id;
    ProtobufCMessage *r = NULL;
    if (call(cl, "RegisterJob", &rj.base, &r, 10000) != RPC_STATUS_OK)
        goto out;
    double round_wall = (double)((RegisterJobResponse *)r)->round_duration_s / scale;
    /* the round clock: this lease's rounds end at origin + k * round_wall */
    double origin = mono() - (double)((RegisterJobResponse *)r)->time_elapsed_this_round_s / scale;
    if (getenv("SYNERGY_JOB_TRACE"))
        fprintf(stderr, "synergy job %ld: registered after %.3f s\n", id, mono() - t_start);
    protobuf_c_message_free_unpacked(r, NULL);
    int poll_ms = (int)(round_wall * 4 * 1000) + 30000;
    for (uint64_t round = 0;; round++) {
        double t0 = mono();
        UpdateItersRequest u = UPDATE_ITERS_REQUEST__INIT;
        u.job_id = (uint64_t)id;
        u.extend_lease = true;
        u.round_num = round;
        if (call(cl, "UpdateIters", &u.base, &r, 10000) != RPC_STATUS_OK)
            goto out;
        long budget = (long)((UpdateItersResponse *)r)->num_steps_per_round;
        protobuf_c_message_free_unpacked(r, NULL);
        long target = budget < total - done ? budget : total - done;
        long first = (long)(0.75 * (double)target);
        /* keep up with the round clock: a round that started late (launch,
         * RPC and scheduling overheads) is compressed to end on time, as the
         * simulator assumes; a job on its own pace never is */
        double deadline = origin + (double)(round + 1) * round_wall - 0.05 * round_wall;
        double f = 1, need = (double)target * spi;
        if (need > 0 && mono() + need > deadline)
            f = deadline > mono() ? (deadline - mono()) / need : 0;
        if (round == 0 && job_work_startup_round(&work, deadline - mono(), spi, &target, &f))
            first = (long)(0.75 * (double)target);
        job_work_steps(&work, first, spi, f);
        u.num_steps = (uint64_t)first;
        u.execution_time_s = (mono() - t0) * scale;
        if (call(cl, "UpdateIters", &u.base, &r, 10000) != RPC_STATUS_OK)
            goto out;
        protobuf_c_message_free_unpacked(r, NULL);
        checkpoint(chk, done + first);
        if (crash) {
            fprintf(stderr, "synergy job %ld: crashing on purpose at %ld\n", id, done + first);
            abort();
        }
        job_work_steps(&work, target - first, spi, f);
        done += target;
        checkpoint(chk, done);
        double el = (mono() - t0) * scale;
        if (getenv("SYNERGY_JOB_TRACE"))
            fprintf(stderr, "synergy job %ld: round %lu: %ld steps in %.3f s wall (budget %ld)\n", id,
                    (unsigned long)round, target, mono() - t0, budget);
        if (done >= total) {
            LeaseEndedRequest le = LEASE_ENDED_REQUEST__INIT;
            le.job_id = (uint64_t)id;
            le.num_steps = (uint64_t)target;
            le.execution_time_s = el;
            le.round_num = round;
            if (call(cl, "LeaseEnded", &le.base, &r, 10000) == RPC_STATUS_OK) {
                protobuf_c_message_free_unpacked(r, NULL);
                rc = 0;
            }
            fprintf(stderr, "synergy job %ld: complete at %ld\n", id, done);
            goto out;
        }
        RoundEndRequest re = ROUND_END_REQUEST__INIT;
        re.job_id = (uint64_t)id;
        re.num_steps = (uint64_t)target;
        re.execution_time_s = el;
        if (call(cl, "RoundEnd", &re.base, &r, poll_ms) != RPC_STATUS_OK)
            goto out;
        bool stop = ((RoundEndResponse *)r)->terminate_lease;
        protobuf_c_message_free_unpacked(r, NULL);
        if (stop) {
            if (ignore_stop) {
                fprintf(stderr, "synergy job %ld: ignoring the end of the lease\n", id);
                for (;;)
                    pause();
            }
            LeaseEndedRequest le = LEASE_ENDED_REQUEST__INIT;
            le.job_id = (uint64_t)id;
            le.round_num = round + 1;
            if (call(cl, "LeaseEnded", &le.base, &r, 10000) == RPC_STATUS_OK) {
                protobuf_c_message_free_unpacked(r, NULL);
                rc = 0;
            }
            fprintf(stderr, "synergy job %ld: lease ended at %ld\n", id, done);
            goto out;
        }
    }
out:
    rpc_client_destroy(cl);
    job_work_stop(&work);
    return rc;
}
