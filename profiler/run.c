/*
 * The profiler's measurement (profiler.h). It plays the scheduler for one
 * `synergy worker` it starts on 127.0.0.1: it serves WorkerToScheduler (the
 * worker registers, heartbeats, reports exits) and JobToScheduler (the job
 * registers, asks for a step budget, reports), and sends RunJob, so the job
 * starts exactly as in a deployment: catalog argv, GPUs, a CPU count turned
 * into a NUMA-local cpuset, the memory limit, the SYNERGY_* environment.
 *
 * Each "round" of the job is `steps` steps; the job's RoundEnd carries the
 * steps it ran and the seconds they took, measured by the job itself. The
 * first `warmup` reports are discarded, the next `reports` are averaged
 * (total seconds / total steps), then RoundEnd answers terminate_lease. The
 * start-up time is from RunJob to the job's first UpdateIters (its first step
 * follows); the checkpoint time from that answer to the job's LeaseEnded.
 */
#include "profiler.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "job_to_scheduler.pb-c.h"
#include "rpc.h"
#include "synergy_worker.pb-c.h"

struct prof {
    const struct prof_options *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the worker */
    bool registered;
    char worker_ip[64];
    int worker_port;
    /* the current point's job */
    long job_id;
    int n_reports;
    double sum_s, sum_steps;
    double t_launch, t_first_update, t_terminate, t_lease_ended;
    bool exited;
    int exit_code, exit_signal;
};

static enum rpc_result h_register_worker(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                         ProtobufCMessage *rs)
{
    struct prof *p = ud;
    (void)call;
    const Synergy__V1__RegisterWorkerRequest *req = (const void *)rq;
    Synergy__V1__RegisterWorkerResponse *resp = (void *)rs;
    pthread_mutex_lock(&p->mu);
    if (req->n_gpus < (size_t)p->o->gpus) {
        resp->success = false;
        resp->error = "fewer GPUs than the profile asks for";
    } else {
        resp->success = true;
        resp->server_id = 0;
        resp->round_duration_s = 3600;
        resp->heartbeat_ms = 1000;
        p->registered = true;
        snprintf(p->worker_ip, sizeof p->worker_ip, "%s", req->ip);
        p->worker_port = (int)req->port;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return RPC_REPLY;
}

static enum rpc_result h_heartbeat(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rs)
{
    (void)ud;
    (void)call;
    (void)rq;
    ((Synergy__V1__HeartbeatResponse *)rs)->known = true;
    return RPC_REPLY;
}

static enum rpc_result h_job_exited(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                    ProtobufCMessage *rs)
{
    struct prof *p = ud;
    (void)call;
    const Synergy__V1__JobExitedRequest *req = (const void *)rq;
    pthread_mutex_lock(&p->mu);
    if ((long)req->job_id == p->job_id) {
        p->exited = true;
        p->exit_code = req->exit_code;
        p->exit_signal = req->signal;
        ((Synergy__V1__JobExitedResponse *)rs)->known = true;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return RPC_REPLY;
}

static enum rpc_result h_register_job(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                      ProtobufCMessage *rs)
{
    (void)ud;
    (void)call;
    (void)rq;
    RegisterJobResponse *resp = (void *)rs;
    resp->time_elapsed_this_round_s = 0;
    resp->round_duration_s = 3600; /* long rounds: the job never hurries */
    return RPC_REPLY;
}

static enum rpc_result h_update_iters(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                      ProtobufCMessage *rs)
{
    struct prof *p = ud;
    (void)call;
    const UpdateItersRequest *req = (const void *)rq;
    pthread_mutex_lock(&p->mu);
    if ((long)req->job_id == p->job_id && p->t_first_update == 0)
        p->t_first_update = mono_s();
    pthread_mutex_unlock(&p->mu);
    ((UpdateItersResponse *)rs)->num_steps_per_round = (uint64_t)p->o->steps;
    return RPC_REPLY;
}

static enum rpc_result h_round_end(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rs)
{
    struct prof *p = ud;
    (void)call;
    const RoundEndRequest *req = (const void *)rq;
    RoundEndResponse *resp = (void *)rs;
    pthread_mutex_lock(&p->mu);
    if ((long)req->job_id != p->job_id) {
        resp->terminate_lease = true;
    } else {
        if (p->n_reports >= p->o->warmup && req->num_steps > 0) {
            p->sum_s += req->execution_time_s;
            p->sum_steps += (double)req->num_steps;
        }
        p->n_reports++;
        if (p->o->verbose)
            LOG(LOG_INFO, "profile", "job %ld report %d: %lu steps in %.4f s%s", p->job_id,
                p->n_reports, (unsigned long)req->num_steps, req->execution_time_s,
                p->n_reports <= p->o->warmup ? " (warm-up)" : "");
        resp->terminate_lease = p->n_reports >= p->o->warmup + p->o->reports;
        if (resp->terminate_lease && p->t_terminate == 0)
            p->t_terminate = mono_s();
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return RPC_REPLY;
}

static enum rpc_result h_lease_ended(void *ud, rpc_call_t *call, const ProtobufCMessage *rq,
                                     ProtobufCMessage *rs)
{
    struct prof *p = ud;
    (void)call;
    (void)rs;
    const LeaseEndedRequest *req = (const void *)rq;
    pthread_mutex_lock(&p->mu);
    if ((long)req->job_id == p->job_id && p->t_lease_ended == 0)
        p->t_lease_ended = mono_s();
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return RPC_REPLY;
}

static int wait_until(struct prof *p, bool (*done)(struct prof *), double deadline)
{
    while (!done(p)) {
        double left = deadline - mono_s();
        if (left <= 0)
            return -1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double until = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + (left < 0.2 ? left : 0.2);
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - floor(until)) * 1e9);
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    return 0;
}

static bool is_registered(struct prof *p)
{
    return p->registered;
}

static bool is_exited(struct prof *p)
{
    return p->exited;
}

static pid_t spawn_worker(const struct prof_options *o, int port)
{
    char sched[64], gpus[16];
    snprintf(sched, sizeof sched, "127.0.0.1:%d", port);
    snprintf(gpus, sizeof gpus, "%d", o->gpus);
    char *argv[20];
    int k = 0;
    argv[k++] = (char *)o->synergy_path;
    argv[k++] = "worker";
    argv[k++] = "--scheduler";
    argv[k++] = sched;
    argv[k++] = "--catalog";
    argv[k++] = (char *)o->catalog;
    argv[k++] = "--run-dir";
    argv[k++] = (char *)o->run_dir;
    if (!o->real_gpus) {
        argv[k++] = "--gpus";
        argv[k++] = gpus;
    }
    if (o->verbose)
        argv[k++] = "-v";
    /* its own worker on loopback, running the job as the user profiling */
    static char user[64];
    struct passwd *pw = getpwuid(geteuid());
    snprintf(user, sizeof user, "%s", pw ? pw->pw_name : "root");
    argv[k++] = "--insecure";
    argv[k++] = "--job-user";
    argv[k++] = user;
    argv[k] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execv(o->synergy_path, argv);
        _exit(127);
    }
    return pid;
}

/* One point: run the job with c CPUs; *s_per_iter from its reports. */
static int measure_point(struct prof *p, rpc_client_t *wc, int port, long job_id, int c,
                         double *s_per_iter, double *startup, double *checkpoint, struct err *err)
{
    const struct prof_options *o = p->o;
    pthread_mutex_lock(&p->mu);
    p->job_id = job_id;
    p->n_reports = 0;
    p->sum_s = p->sum_steps = 0;
    p->t_first_update = p->t_terminate = p->t_lease_ended = 0;
    p->exited = false;
    p->t_launch = mono_s();
    pthread_mutex_unlock(&p->mu);

    Synergy__V1__RunJobRequest rq = SYNERGY__V1__RUN_JOB_REQUEST__INIT;
    uint32_t gpus[64];
    for (int i = 0; i < o->gpus && i < 64; i++)
        gpus[i] = (uint32_t)i;
    rq.version = 1;
    rq.job_id = (uint64_t)job_id;
    rq.attempt = 1;
    rq.model = (char *)o->model;
    rq.n_gpus = (size_t)o->gpus;
    rq.gpus = gpus;
    rq.cpus = (uint32_t)c;
    rq.mem_gb = o->mem_gb > 0 ? o->mem_gb : 0;
    rq.total_iters = (uint64_t)o->steps * (uint64_t)(o->warmup + o->reports + 3);
    rq.batch_size = (uint32_t)o->batch;
    rq.iter_time_s = 1;
    rq.lease_ms = (uint32_t)(o->timeout_s * 1000 + 60000);
    rq.sched_addr = "127.0.0.1";
    rq.sched_port = (uint32_t)port;
    rq.world = 1;
    rq.time_scale = 1;
    ProtobufCMessage *resp = NULL;
    int st = rpc_client_call(wc, &synergy__v1__scheduler_to_worker__descriptor, "RunJob", &rq.base,
                             &resp, 10000, err);
    if (st != RPC_STATUS_OK)
        return -1;
    bool ok = ((Synergy__V1__RunJobResponse *)resp)->accepted;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (!ok)
        return errprintf(err, "the worker refused to run '%s'", o->model);
    pthread_mutex_lock(&p->mu);
    int w = wait_until(p, is_exited, p->t_launch + o->timeout_s);
    bool lease_ended = p->t_lease_ended > 0;
    double steps = p->sum_steps, secs = p->sum_s;
    int code = p->exit_code, sig = p->exit_signal, reports = p->n_reports;
    *startup = p->t_first_update > 0 ? p->t_first_update - p->t_launch : 0;
    *checkpoint = lease_ended && p->t_terminate > 0 ? p->t_lease_ended - p->t_terminate : 0;
    pthread_mutex_unlock(&p->mu);
    if (w < 0) {
        Synergy__V1__KillJobRequest kq = SYNERGY__V1__KILL_JOB_REQUEST__INIT;
        kq.job_id = (uint64_t)job_id;
        struct err e2;
        if (rpc_client_call(wc, &synergy__v1__scheduler_to_worker__descriptor, "KillJob", &kq.base,
                            &resp, 5000, &e2) == RPC_STATUS_OK)
            protobuf_c_message_free_unpacked(resp, NULL);
        return errprintf(err, "%s with %d CPUs: no exit within %.0f s (%d reports)", o->model, c,
                         o->timeout_s, reports);
    }
    if (!(steps > 0))
        return errprintf(err, "%s with %d CPUs exited (code %d, signal %d) after %d reports, "
                              "%d needed", o->model, c, code, sig, reports,
                         o->warmup + o->reports);
    *s_per_iter = secs / steps;
    return 0;
}

int prof_measure(const struct prof_options *o, struct prof_facts *f, struct err *err)
{
    struct prof p = {.o = o};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    int port = 0, rc = -1;
    pid_t worker = -1;
    rpc_client_t *wc = NULL;
    rpc_server_t *srv = rpc_server_create("127.0.0.1:0", &port, err);
    if (!srv)
        goto out;
    static const struct rpc_method job_h[] = {{"RegisterJob", h_register_job},
                                              {"UpdateIters", h_update_iters},
                                              {"RoundEnd", h_round_end},
                                              {"LeaseEnded", h_lease_ended},
                                              {NULL, NULL}};
    static const struct rpc_method worker_h[] = {{"RegisterWorker", h_register_worker},
                                                 {"Heartbeat", h_heartbeat},
                                                 {"JobExited", h_job_exited},
                                                 {NULL, NULL}};
    rpc_server_add_service(srv, &job_to_scheduler__descriptor, job_h, &p);
    rpc_server_add_service(srv, &synergy__v1__worker_to_scheduler__descriptor, worker_h, &p);
    if (rpc_server_start(srv, err) < 0)
        goto out;
    worker = spawn_worker(o, port);
    if (worker < 0) {
        errprintf(err, "fork: %s", strerror(errno));
        goto out;
    }
    pthread_mutex_lock(&p.mu);
    int w = wait_until(&p, is_registered, mono_s() + 30);
    pthread_mutex_unlock(&p.mu);
    if (w < 0) {
        errprintf(err, "the worker (%s worker) did not register within 30 s", o->synergy_path);
        goto out;
    }
    char target[128];
    snprintf(target, sizeof target, "%s:%d", p.worker_ip, p.worker_port);
    wc = rpc_client_create(target);
    f->gpus = o->gpus;
    f->curve.n = 0;
    double startup_sum = 0, ckpt_sum = 0;
    int n_ckpt = 0;
    double prev = -1;
    long job_id = 1;
    for (int c = o->max_cpus; c >= 1 && f->curve.n < PROF_MAX_POINTS;) {
        double t = 0, su = 0, ck = 0;
        if (measure_point(&p, wc, port, job_id++, c, &t, &su, &ck, err) < 0)
            goto out;
        LOG(LOG_INFO, "profile", "%s, %d GPU(s), %d CPU(s): %.6f s per iteration "
            "(start-up %.3f s, checkpoint %.3f s)", o->model, o->gpus, c, t, su, ck);
        f->curve.p[f->curve.n++] = (struct prof_point){c, t};
        startup_sum += su;
        if (ck > 0) {
            ckpt_sum += ck;
            n_ckpt++;
        }
        int next = prof_search_next(c, o->gpus, prev < 0 ? t : prev, t);
        prev = t;
        c = next;
    }
    f->startup_s = f->curve.n ? startup_sum / f->curve.n : 0;
    f->checkpoint_s = n_ckpt ? ckpt_sum / n_ckpt : 0;
    rc = 0;
out:
    if (worker > 0) {
        kill(worker, SIGTERM);
        waitpid(worker, NULL, 0);
    }
    rpc_client_destroy(wc);
    rpc_server_destroy(srv);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return rc;
}
