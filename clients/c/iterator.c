/*
 * The C job client: a stand-in training job that speaks the reference's
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
 * Every call carries the attempt (SYNERGY_ATTEMPT) and the process's rank,
 * and is retried with backoff while the scheduler cannot be reached (a
 * scheduler restart does not kill the job; its worker kills it if its lease
 * ends first). --ranks runs one iterator process per GPU of this server, as
 * the reference launches jobs (torch.distributed.launch --nproc_per_node=G):
 * each with LOCAL_RANK, RANK and WORLD_SIZE, each speaking the protocol;
 * every rank logs its budget, RoundEnd answer and steps per round.
 * --legacy speaks the protocol as the stock reference iterator does (spec
 * §2.5-2.6): no job token, no attempt, no rank; one UpdateIters per round, at
 * 75 % of it (of the round's time in its first round, of the last budget's
 * steps after), whose answer is the round's budget; iterator-local round
 * numbers. With --ranks every process of the job is then indistinguishable
 * to the scheduler but for its address, as under torch.distributed.launch.
 * SIGTERM (docs/real-jobs.md, "How a job is stopped") is a stop: in the
 * middle of a round the job finishes its step, writes its checkpoint, sends
 * LeaseEnded with the round's steps and exits 0; waiting for RoundEnd's
 * answer (its round reported, its checkpoint written) it exits 0 at once.
 * Fault switches for tests: --crash-once DIR, --crash-always, --crash-late-ms MS
 * (the crashing rank starts late: the skew of a loaded machine), --ignore-stop
 * (RoundEnd's stop; SIGTERM still stops it), --ignore-sigterm,
 * --spawn-daemon FILE (leaves daemonised grandchildren behind).
 */
#include "jobclient.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "job_to_scheduler.pb-c.h"
#include "rpc.h"

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

/* SIGTERM. At a point where the job's state is saved and reported (waiting
 * for RoundEnd's answer, or ignoring a stop) the handler says so and exits;
 * elsewhere it only sets job_work_stop_asked, which the work loop and the
 * round check. The line is prepared beforehand: the handler only write()s. */
static char exit_line[256];
static volatile sig_atomic_t exit_line_len;

static void on_sigterm(int sig)
{
    (void)sig;
    job_work_stop_asked = 1;
    if (exit_line_len > 0) {
        ssize_t w = write(2, exit_line, (size_t)exit_line_len);
        (void)w;
        _exit(0);
    }
}

/* From here until saved_point_end(), SIGTERM exits at once with this line. */
static void saved_point(const char *tag, long done, const char *where)
{
    int n = snprintf(exit_line, sizeof exit_line, "synergy %s: SIGTERM %s: checkpoint at %ld, "
                                                  "exiting\n", tag, where, done);
    exit_line_len = n > 0 && n < (int)sizeof exit_line ? n : 0;
}

static void saved_point_end(void)
{
    exit_line_len = 0;
}

/* The job's link to the scheduler: the client, and what every request carries. */
struct link {
    rpc_client_t *cl;
    long id;
    unsigned attempt; /* 0: not known (launched by hand) */
    int rank;         /* -1: not sent */
    bool legacy;      /* --legacy: neither attempt nor rank nor token is sent */
    char tag[48];     /* "job 3" or "job 3 rank 1" */
    double down_since;
};

#define SET_IDS(req, l, PFX)                                                                       \
    do {                                                                                           \
        (req).job_id = (uint64_t)(l)->id;                                                          \
        (req).attempt = (l)->legacy ? 0 : (l)->attempt;                                            \
        if ((l)->rank >= 0 && !(l)->legacy) {                                                      \
            (req).rank_opt_case = PFX##__RANK_OPT_RANK;                                            \
            (req).rank = (uint32_t)(l)->rank;                                                      \
        }                                                                                          \
    } while (0)

/* One call, retried with backoff (100 ms doubling to 2 s) as long as the
 * scheduler cannot be reached or does not answer in time: it may be
 * restarting. Other errors (unknown job, stale attempt, refused) are final. */
static int call(struct link *l, const char *m, const ProtobufCMessage *rq, ProtobufCMessage **rs,
                int ms)
{
    double backoff = 0.1;
    for (;;) {
        struct err err = {{0}};
        int st = rpc_client_call(l->cl, &job_to_scheduler__descriptor, m, rq, rs, ms, &err);
        if (st == RPC_STATUS_OK) {
            if (l->down_since > 0)
                fprintf(stderr, "synergy %s: scheduler back after %.1f s\n", l->tag,
                        mono_s() - l->down_since);
            l->down_since = 0;
            return st;
        }
        if ((st != RPC_STATUS_UNAVAILABLE && st != RPC_STATUS_DEADLINE_EXCEEDED &&
             st != RPC_STATUS_CANCELLED) || job_work_stop_asked) {
            fprintf(stderr, "synergy %s: %s\n", l->tag, err.msg);
            return st;
        }
        if (l->down_since == 0) {
            l->down_since = mono_s();
            fprintf(stderr, "synergy %s: %s; retrying with backoff\n", l->tag, err.msg);
        }
        job_sleep_s(backoff);
        backoff = backoff * 2 > 2 ? 2 : backoff * 2;
    }
}

/* --spawn-daemon FILE: leave two daemonised grandchildren (setsid + double
 * fork) that outlive this job unless its supervisor kills them: one keeps
 * the job's environment, one execs sleep with an empty environment. Their
 * pids are appended to FILE. */
static void spawn_daemons(const char *file)
{
    pid_t p = fork();
    if (p < 0)
        return;
    if (p == 0) {
        setsid();
        for (int k = 0; k < 2; k++) {
            if (fork() != 0)
                continue;
            int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            char line[32];
            int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
            if (fd >= 0 && write(fd, line, (size_t)n) == n)
                close(fd);
            if (k == 1) {
                char *av[] = {"sleep", "100000", NULL}, *ev[] = {NULL};
                execve("/bin/sleep", av, ev);
                execve("/usr/bin/sleep", av, ev);
            }
            for (;;)
                pause();
        }
        _exit(0);
    }
    waitpid(p, NULL, 0);
}

/* One iterator process's state across rounds. */
struct job_run {
    struct job_opts *o;
    struct link lk;
    long total, done;
    double scale, spi;
    double origin, round_wall; /* this lease's rounds end at origin + k * round_wall */
    long last_budget;          /* --legacy: the previous round's answer, 0 none yet */
    int poll_ms;
    const char *chk; /* the checkpoint directory (local rank 0 only) */
    bool crash, trace;
    long cut; /* a round cut short by SIGTERM: its steps */
};

/* The round is cut short by SIGTERM after `steps` steps: -2 (job_round
 * then saves and ends the lease). */
static long cut_round(struct job_run *j, long steps)
{
    j->cut = steps;
    return -2;
}

/* --ranks: what the ranks of this server agree on, in a page they share.
 * Under DDP the ranks of a job step together (every step's all-reduce waits
 * for all of them), so they count the same steps; these stand-ins have no
 * collective, and a step count each derives from its own clock (the first
 * round's guess, a startup round's fit) would differ by the few steps one
 * rank started later. The first rank to decide a round's count publishes it
 * (+1, 0: not yet) and the others take it. NULL: one process, nothing to share. */
#define AGREED_ROUNDS 64
static _Atomic long *agreed;

static void ranks_share(void)
{
    void *p = mmap(NULL, AGREED_ROUNDS * sizeof *agreed, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    agreed = p == MAP_FAILED ? NULL : p; /* zero-filled: nothing decided */
}

/* This round's step count as the job's ranks agree on it: the first rank's. */
static long ranks_agree(uint64_t round, long mine)
{
    if (!agreed || round >= AGREED_ROUNDS)
        return mine;
    long expect = 0;
    if (atomic_compare_exchange_strong(&agreed[round], &expect, mine + 1))
        return mine;
    return expect - 1;
}

/* The first process of the job to reach --crash-once's marker crashes, once. */
static bool crash_once(const char *dir, long id)
{
    if (!dir)
        return false;
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/job-%ld", dir, id);
    int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The client to the scheduler. Issue 10: verify the scheduler with the CA
 * the worker hands us (jobs have no certificate) and prove who we are with
 * this attempt's token. 0 or -1. */
static int job_connect(struct job_run *j)
{
    const char *ca = getenv("SYNERGY_TLS_CA");
    rpc_tls_t *tls = NULL;
    if (ca && *ca) {
        struct err terr = {{0}};
        tls = rpc_tls_load(ca, NULL, NULL, &terr);
        if (!tls) {
            fprintf(stderr, "synergy %s: SYNERGY_TLS_CA: %s\n", j->lk.tag, terr.msg);
            return -1;
        }
    }
    /* the worker names the scheduler's identity: a certificate of the CA
     * that is not the scheduler's never sees our token */
    const char *who = getenv("SYNERGY_SCHED_IDENTITY");
    j->lk.cl = rpc_client_create_pinned(j->o->sched, tls, tls && who && *who ? who : NULL);
    rpc_tls_free(tls);
    const char *token = getenv("SYNERGY_JOB_TOKEN");
    if (token && *token && !j->o->legacy)
        rpc_client_set_metadata(j->lk.cl, "synergy-job-token", token);
    rpc_client_set_wait_for_ready(j->lk.cl, true);
    return 0;
}

/* RegisterJob: the round length and where in the round we are. 0 or -1. */
static int job_register(struct job_run *j, double t_start)
{
    RegisterJobRequest rj = REGISTER_JOB_REQUEST__INIT;
    SET_IDS(rj, &j->lk, REGISTER_JOB_REQUEST);
    ProtobufCMessage *r = NULL;
    if (call(&j->lk, "RegisterJob", &rj.base, &r, 10000) != RPC_STATUS_OK)
        return -1;
    j->round_wall = (double)((RegisterJobResponse *)r)->round_duration_s / j->scale;
    j->origin = mono_s() - (double)((RegisterJobResponse *)r)->time_elapsed_this_round_s / j->scale;
    if (getenv("SYNERGY_JOB_TRACE"))
        fprintf(stderr, "synergy %s: registered after %.3f s\n", j->lk.tag, mono_s() - t_start);
    protobuf_c_message_free_unpacked(r, NULL);
    j->poll_ms = (int)(j->round_wall * 4 * 1000) + 30000;
    return 0;
}

/* LeaseEnded for round_num. 0 if the scheduler took it, else 1. */
static int job_lease_ended(struct job_run *j, uint64_t round_num, long steps, double el)
{
    LeaseEndedRequest le = LEASE_ENDED_REQUEST__INIT;
    SET_IDS(le, &j->lk, LEASE_ENDED_REQUEST);
    le.num_steps = (uint64_t)steps;
    le.execution_time_s = el;
    le.round_num = round_num;
    ProtobufCMessage *r = NULL;
    if (call(&j->lk, "LeaseEnded", &le.base, &r, 10000) != RPC_STATUS_OK)
        return 1;
    protobuf_c_message_free_unpacked(r, NULL);
    return 0;
}

/* --legacy: the stock iterator's round. It works until 75 % of the round
 * (of its time in the first round, when no budget is known: what fits before
 * the round's end at our speed, the same for every rank; of the last budget's
 * steps after), sends its one UpdateIters with the steps and time so far, and
 * runs to the budget it is answered (past it when the answer is below what it
 * did already, as the stock iterator overruns). The steps done, or -1. */
static long job_round_legacy(struct job_run *j, uint64_t round, long *budget_out)
{
    double t0 = mono_s();
    double deadline = j->origin + (double)(round + 1) * j->round_wall - 0.05 * j->round_wall;
    long left = j->total - j->done;
    long fit = deadline > t0 ? (long)floor((deadline - t0) / j->spi) : 0;
    long guess = j->last_budget > 0 ? j->last_budget : ranks_agree(round, fit);
    if (guess > left)
        guess = left;
    double f = 1, need = (double)guess * j->spi;
    if (need > 0 && t0 + need > deadline)
        f = deadline > t0 ? (deadline - t0) / need : 0;
    long first = (long)(0.75 * (double)guess);
    long did = job_work_steps(&j->o->work, first, j->spi, f);
    if (did < first || job_work_stop_asked)
        return cut_round(j, did);
    UpdateItersRequest u = UPDATE_ITERS_REQUEST__INIT;
    SET_IDS(u, &j->lk, UPDATE_ITERS_REQUEST);
    u.extend_lease = true;
    u.round_num = round;
    u.num_steps = (uint64_t)first;
    u.execution_time_s = (mono_s() - t0) * j->scale;
    ProtobufCMessage *r = NULL;
    if (call(&j->lk, "UpdateIters", &u.base, &r, 10000) != RPC_STATUS_OK)
        return -1;
    long budget = (long)((UpdateItersResponse *)r)->num_steps_per_round;
    protobuf_c_message_free_unpacked(r, NULL);
    *budget_out = budget;
    j->last_budget = budget;
    checkpoint(j->chk, j->done + first);
    if (j->crash) {
        fprintf(stderr, "synergy %s: crashing on purpose at %ld\n", j->lk.tag, j->done + first);
        abort();
    }
    long target = budget < left ? budget : left;
    if (target < first)
        target = first;
    /* the rest keeps to the round clock too (the budget may exceed the guess) */
    double now = mono_s(), rest = (double)(target - first) * j->spi;
    f = rest > 0 && now + rest > deadline ? (deadline > now ? (deadline - now) / rest : 0) : 1;
    did = job_work_steps(&j->o->work, target - first, j->spi, f);
    if (did < target - first)
        return cut_round(j, first + did);
    j->done += target;
    checkpoint(j->chk, j->done);
    return target;
}

/* The round's work: its budget, 75 % of it, a progress report, the rest.
 * The steps done, or -1 if the scheduler could not be reached. */
static long job_round_work(struct job_run *j, uint64_t round, long *budget_out)
{
    if (j->o->legacy)
        return job_round_legacy(j, round, budget_out);
    double t0 = mono_s();
    ProtobufCMessage *r = NULL;
    UpdateItersRequest u = UPDATE_ITERS_REQUEST__INIT;
    SET_IDS(u, &j->lk, UPDATE_ITERS_REQUEST);
    u.extend_lease = true;
    u.round_num = round;
    if (call(&j->lk, "UpdateIters", &u.base, &r, 10000) != RPC_STATUS_OK)
        return -1;
    long budget = (long)((UpdateItersResponse *)r)->num_steps_per_round;
    protobuf_c_message_free_unpacked(r, NULL);
    *budget_out = budget;
    long target = budget < j->total - j->done ? budget : j->total - j->done;
    long first = (long)(0.75 * (double)target);
    /* keep up with the round clock: a round that started late (launch,
     * RPC and scheduling overheads) is compressed to end on time, as the
     * simulator assumes; a job on its own pace never is */
    double deadline = j->origin + (double)(round + 1) * j->round_wall - 0.05 * j->round_wall;
    double f = 1, need = (double)target * j->spi;
    if (need > 0 && mono_s() + need > deadline)
        f = deadline > mono_s() ? (deadline - mono_s()) / need : 0;
    if (round == 0 &&
        job_work_startup_round(&j->o->work, deadline - mono_s(), j->spi, &target, &f)) {
        target = ranks_agree(round, target);
        first = (long)(0.75 * (double)target);
    }
    long did = job_work_steps(&j->o->work, first, j->spi, f);
    if (did < first || job_work_stop_asked)
        return cut_round(j, did);
    u.num_steps = (uint64_t)first;
    u.execution_time_s = (mono_s() - t0) * j->scale;
    if (call(&j->lk, "UpdateIters", &u.base, &r, 10000) != RPC_STATUS_OK)
        return -1;
    protobuf_c_message_free_unpacked(r, NULL);
    checkpoint(j->chk, j->done + first);
    if (j->crash) {
        fprintf(stderr, "synergy %s: crashing on purpose at %ld\n", j->lk.tag, j->done + first);
        abort();
    }
    did = job_work_steps(&j->o->work, target - first, j->spi, f);
    if (did < target - first)
        return cut_round(j, first + did);
    j->done += target;
    checkpoint(j->chk, j->done);
    if (getenv("SYNERGY_JOB_TRACE"))
        fprintf(stderr, "synergy %s: round %lu: %ld steps in %.3f s wall (budget %ld)\n", j->lk.tag,
                (unsigned long)round, target, mono_s() - t0, budget);
    return target;
}

/* One round: the work, then LeaseEnded (complete) or RoundEnd, whose answer
 * says whether the lease goes on. -1: go on; else the process's exit code. */
static int job_round(struct job_run *j, uint64_t round)
{
    double t0 = mono_s();
    long budget = 0;
    long target = job_round_work(j, round, &budget);
    double el = (mono_s() - t0) * j->scale;
    const char *tag = j->lk.tag;
    if (target == -2) { /* SIGTERM: save what the round did, end the lease, exit 0 */
        j->done += j->cut;
        checkpoint(j->chk, j->done);
        job_lease_ended(j, round, j->cut, el);
        fprintf(stderr, "synergy %s: SIGTERM in round %lu after %ld steps: checkpoint at %ld, "
                        "lease ended\n", tag, (unsigned long)round, j->cut, j->done);
        return 0;
    }
    if (target < 0)
        return 1;
    if (j->done >= j->total) {
        if (j->trace)
            fprintf(stderr, "synergy %s: round %lu budget %ld answer complete, %ld steps\n", tag,
                    (unsigned long)round, budget, target);
        int rc = job_lease_ended(j, round, target, el);
        fprintf(stderr, "synergy %s: complete at %ld\n", tag, j->done);
        return rc;
    }
    RoundEndRequest re = ROUND_END_REQUEST__INIT;
    SET_IDS(re, &j->lk, ROUND_END_REQUEST);
    re.num_steps = (uint64_t)target;
    re.execution_time_s = el;
    ProtobufCMessage *r = NULL;
    /* the round is reported and its checkpoint written: a SIGTERM while we
     * wait for the answer just ends the process */
    saved_point(tag, j->done, "while waiting for the round's end");
    int st = call(&j->lk, "RoundEnd", &re.base, &r, j->poll_ms);
    saved_point_end();
    if (st != RPC_STATUS_OK)
        return job_work_stop_asked ? 0 : 1;
    bool stop = ((RoundEndResponse *)r)->terminate_lease || job_work_stop_asked;
    protobuf_c_message_free_unpacked(r, NULL);
    if (j->trace)
        fprintf(stderr, "synergy %s: round %lu budget %ld answer %s, %ld steps\n", tag,
                (unsigned long)round, budget, stop ? "stop" : "extend", target);
    if (!stop)
        return -1;
    if (j->o->ignore_stop && !job_work_stop_asked) {
        fprintf(stderr, "synergy %s: ignoring the end of the lease\n", tag);
        saved_point(tag, j->done, "after ignoring the end of its lease");
        for (;;)
            pause();
    }
    int rc = job_lease_ended(j, round + 1, 0, 0);
    fprintf(stderr, "synergy %s: lease ended at %ld\n", tag, j->done);
    return rc;
}

/* One iterator process: the protocol loop. rank -1: a job of one process
 * per server (rank = SYNERGY_RANK when it spans servers); local: this
 * process's index on this server (only local 0 writes the checkpoint). */
static int job_process(struct job_opts *o, int rank, int local)
{
    long id = o->id;
    struct job_run j = {.o = o,
                        .total = env_long("SYNERGY_TOTAL_ITERS", -1),
                        .done = env_long("SYNERGY_ELAPSED_ITERS", 0),
                        .scale = env_double("SYNERGY_TIME_SCALE", 1),
                        .chk = local == 0 ? o->chk : NULL};
    j.spi = env_double("SYNERGY_ITER_TIME_S", -1) / j.scale;
    double t_start = mono_s();
    j.lk = (struct link){.id = id, .attempt = (unsigned)env_long("SYNERGY_ATTEMPT", 0),
                         .rank = rank, .legacy = o->legacy};
    if (rank >= 0 && o->ranks)
        snprintf(j.lk.tag, sizeof j.lk.tag, "job %ld rank %d", id, rank);
    else
        snprintf(j.lk.tag, sizeof j.lk.tag, "job %ld", id);
    if (j.lk.rank < 0) /* one process per server: its server's rank */
        j.lk.rank = (int)env_long("SYNERGY_RANK", 0);
    j.crash = o->crash_always || crash_once(o->crash_dir, id);
    if (j.crash)
        job_sleep_s((double)o->crash_late_ms / 1000);
    fprintf(stderr, "synergy %s: resuming at %ld of %ld, %.6f s per iteration, scheduler %s\n",
            j.lk.tag, j.done, j.total, j.spi, o->sched);
    job_work_startup(&o->work);
    if (job_work_stop_asked) {
        fprintf(stderr, "synergy %s: SIGTERM before its first step: exiting\n", j.lk.tag);
        return 0;
    }
    job_work_start(&o->work);
    if (o->daemon_file && local == 0)
        spawn_daemons(o->daemon_file);
    if (job_connect(&j) < 0)
        return 1;
    j.trace = getenv("SYNERGY_JOB_TRACE") || o->ranks;
    int rc = 1;
    if (job_register(&j, t_start) == 0)
        for (uint64_t round = 0; (rc = job_round(&j, round)) < 0; round++)
            ;
    rpc_client_destroy(j.lk.cl);
    job_work_stop(&o->work);
    return rc;
}

/* --ranks: one iterator process per GPU of this server (SYNERGY_PROCS_THIS_SERVER,
 * else, and always with --legacy, SYNERGY_GPU_THIS_SERVER), rank SYNERGY_RANK_BASE + local of
 * SYNERGY_JOB_GPUS, like torch.distributed.launch. The job ends when every
 * rank has; if one fails, the others are killed (their collectives would
 * hang) and the job fails. */
static int job_ranks(struct job_opts *o)
{
    /* --legacy: as the reference's scripts, --nproc_per_node=$SYNERGY_GPU_THIS_SERVER,
     * whatever the worker's catalog says */
    long gpus = env_long("SYNERGY_GPU_THIS_SERVER", 1);
    long n = o->legacy ? gpus : env_long("SYNERGY_PROCS_THIS_SERVER", gpus);
    long base = env_long("SYNERGY_RANK_BASE", 0);
    long world = env_long("SYNERGY_JOB_GPUS", n);
    if (n < 1 || n > 256) {
        fprintf(stderr, "synergy job: --ranks: %ld processes per server is out of range\n", n);
        return 2;
    }
    ranks_share();
    pid_t kids[256];
    for (long i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            fprintf(stderr, "synergy job %ld: fork: %s\n", o->id, strerror(errno));
            for (long k = 0; k < i; k++)
                kill(kids[k], SIGKILL);
            return 1;
        }
        if (kids[i] == 0) {
            char v[32];
            snprintf(v, sizeof v, "%ld", i);
            setenv("LOCAL_RANK", v, 1);
            snprintf(v, sizeof v, "%ld", base + i);
            setenv("RANK", v, 1);
            snprintf(v, sizeof v, "%ld", world);
            setenv("WORLD_SIZE", v, 1);
            _exit(job_process(o, (int)(base + i), (int)i));
        }
    }
    int rc = 0;
    for (long left = n; left > 0; left--) {
        int status;
        pid_t p = wait(&status);
        if (p < 0 && errno == EINTR) { /* SIGTERM: the ranks stop themselves; wait for them */
            left++;
            continue;
        }
        if (p < 0)
            break;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && rc == 0) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            fprintf(stderr, "synergy job %ld: a rank failed (%s %d); stopping the others\n", o->id,
                    WIFEXITED(status) ? "exit code" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            for (long k = 0; k < n; k++)
                if (kids[k] != p)
                    kill(kids[k], SIGKILL);
        }
    }
    return rc;
}

bool job_client_env_ok(void)
{
    return env_long("SYNERGY_TOTAL_ITERS", -1) >= 0 && env_double("SYNERGY_ITER_TIME_S", -1) > 0 &&
           env_double("SYNERGY_TIME_SCALE", 1) > 0;
}

int job_client_run(struct job_opts *o)
{
    /* before --ranks forks: every rank, and the parent that waits for them */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = o->ignore_sigterm ? SIG_IGN : on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: a sleep ends at once */
    return o->ranks ? job_ranks(o) : job_process(o, -1, 0);
}
