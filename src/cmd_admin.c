/*
 * `synergy submit`, `queue`, `cancel`, `nodes`: clients of a deployment's
 * admin service (synergy.admin.v1.Admin, deploy/deploy_admin.c), in the
 * habits of Slurm's sbatch, squeue, scancel and sinfo. They only wire the
 * option table to one RPC and print its answer; the scheduler checks
 * everything that depends on the cluster (models, GPUs, names, ids).
 */
#include "cli.h"
#include "options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client_config.h"
#include "rpc.h"
#include "synergy_admin.pb-c.h"

struct admin_opts {
    unsigned cmd;
    const char *name_of_cmd;
    struct client_config cc; /* the scheduler and TLS files: flags, environment, client.ini */
    bool json, all, start, test_only;
    const char *model, *name, *iters, *hours, *prio, *gpu_types, *tenant;
    long gpus;
    bool gpus_set;
    int first_arg; /* cancel: the ids, argv[first_arg..] */
};

static int admin_bad(const struct admin_opts *o, const char *msg)
{
    fprintf(stderr, "synergy %s: %s\n", o->name_of_cmd, msg);
    return EXIT_BAD_INPUT;
}

/* The flags. -1 to go on, else the exit code. */
static int admin_parse(struct admin_opts *o, int argc, char **argv)
{
    struct cli_parser p;
    int c;
    cli_parser_init(&p, o->cmd, argc, argv);
    while ((c = cli_next(&p)) >= 0) {
        switch (c) {
        case OPT_ADMIN_SCHEDULER: client_config_set(&o->cc, CLIENT_SCHEDULER, p.arg, "--scheduler"); break;
        case OPT_TLS_CA: client_config_set(&o->cc, CLIENT_TLS_CA, p.arg, "--tls-ca"); break;
        case OPT_TLS_CERT: client_config_set(&o->cc, CLIENT_TLS_CERT, p.arg, "--tls-cert"); break;
        case OPT_TLS_KEY: client_config_set(&o->cc, CLIENT_TLS_KEY, p.arg, "--tls-key"); break;
        case OPT_INSECURE: client_config_set(&o->cc, CLIENT_INSECURE, "yes", "--insecure"); break;
        case OPT_SCHEDULER_IDENTITY:
            client_config_set(&o->cc, CLIENT_SCHEDULER_IDENTITY, p.arg, "--scheduler-identity");
            break;
        case OPT_ADMIN_JSON: o->json = true; break;
        case OPT_ADMIN_ALL: o->all = true; break;
        case OPT_QUEUE_START: o->start = true; break;
        case OPT_SUBMIT_MODEL: o->model = p.arg; break;
        case OPT_SUBMIT_GPUS: o->gpus = p.lnum; o->gpus_set = true; break;
        case OPT_ITERATIONS: o->iters = p.arg; break;
        case OPT_HOURS: o->hours = p.arg; break;
        case OPT_NAME: o->name = p.arg; break;
        case OPT_TEST_ONLY: o->test_only = true; break;
        case OPT_PRIORITY: o->prio = p.arg; break;
        case OPT_SUBMIT_GPU_TYPES: o->gpu_types = p.arg; break;
        case OPT_SUBMIT_TENANT: o->tenant = p.arg; break;
        default: break;
        }
    }
    if (c == CLI_EXIT)
        return p.exit_code;
    o->first_arg = p.optind;
    if (o->cmd != CLI_CANCEL && p.optind < argc)
        return cli_bad(&p, "unexpected argument '%s'", argv[p.optind]);
    if (o->cmd == CLI_CANCEL && p.optind >= argc)
        return cli_bad(&p, "give the ids of the jobs to cancel");
    struct err err = {{0}};
    if (client_config_resolve(&o->cc, client_config_system_path(), &err) < 0)
        return cli_bad(&p, "%s", err.msg);
    return -1;
}

/* One call; the answer in *resp. 0, or the exit code with a one-line error
 * printed (2: refused, 1: could not ask). */
static int admin_call(const struct admin_opts *o, const char *method, const ProtobufCMessage *req,
                      ProtobufCMessage **resp)
{
    struct err err = {{0}};
    rpc_tls_t *tls = NULL;
    const struct client_config *cc = &o->cc;
    if (!cc->insecure &&
        !(tls = rpc_tls_load(cc->s[CLIENT_TLS_CA].value, cc->s[CLIENT_TLS_CERT].value,
                             cc->s[CLIENT_TLS_KEY].value, &err))) {
        fprintf(stderr, "synergy %s: %s\n", o->name_of_cmd, err.msg);
        return EXIT_BAD_INPUT;
    }
    /* under TLS only the scheduler's certificate will do, not another of the CA's */
    const struct client_setting *want = &cc->s[CLIENT_SCHEDULER_IDENTITY];
    rpc_client_t *cl = rpc_client_create_pinned(cc->host_port, tls,
                                                want->set ? want->value : "scheduler");
    rpc_pin_quiet(true); /* its refusal is our one line */
    int st = rpc_client_call(cl, &synergy__admin__v1__admin__descriptor, method, req, resp, 15000,
                             &err);
    rpc_client_destroy(cl);
    rpc_tls_free(tls);
    if (st == RPC_STATUS_OK)
        return 0;
    char why[600];
    if (st == RPC_STATUS_UNAVAILABLE && rpc_pin_refusal(why, sizeof why)) {
        fprintf(stderr, "synergy %s: %s (%s)\n", o->name_of_cmd, why,
                want->set ? want->origin : "give the scheduler's with --scheduler-identity");
        return 1;
    }
    /* "Method: status N: details" -> the details */
    const char *d = strstr(err.msg, ": status ");
    d = d ? strstr(d + 9, ": ") : NULL;
    d = d ? d + 2 : err.msg;
    bool refused = st == RPC_STATUS_INVALID_ARGUMENT || st == RPC_STATUS_NOT_FOUND ||
                   st == RPC_STATUS_PERMISSION_DENIED || st == RPC_STATUS_FAILED_PRECONDITION ||
                   st == 6 /* ALREADY_EXISTS */ || st == 8 /* RESOURCE_EXHAUSTED */;
    if (st == RPC_STATUS_UNAVAILABLE && !strstr(d, "refused") && !strstr(d, "resolve"))
        /* it listens but hung up: the two sides speak different transports */
        fprintf(stderr, "synergy %s: the scheduler at %s closed the connection: %s (status "
                        "%d: %s)\n", o->name_of_cmd, cc->host_port,
                cc->insecure ? "does it use TLS? give --tls-ca, --tls-cert and --tls-key (or "
                               "tls_* in client.ini)"
                             : "does it speak plaintext (deploy --local, --insecure)? give "
                               "--insecure",
                st, *d ? d : "no details");
    else if (st == RPC_STATUS_UNAVAILABLE || st == RPC_STATUS_DEADLINE_EXCEEDED)
        fprintf(stderr, "synergy %s: %s: %s (status %d: %s)\n", o->name_of_cmd, cc->host_port,
                st == RPC_STATUS_UNAVAILABLE ? "unavailable, try again" : "no answer", st,
                *d ? d : "no details");
    else
        fprintf(stderr, "synergy %s: %s%s\n", o->name_of_cmd,
                st == RPC_STATUS_PERMISSION_DENIED ? "permission denied: " : "", d);
    return refused ? EXIT_BAD_INPUT : 1;
}

/* ------------------------------------------------------------- submit */

/* The amount and priority flags into req. -1 to go on, else the exit code. */
static int submit_request(const struct admin_opts *o, Synergy__Admin__V1__SubmitRequest *req)
{
    if (!o->model || !o->gpus_set)
        return admin_bad(o, "give --model M and --gpus G");
    if (!o->iters == !o->hours)
        return admin_bad(o, "give exactly one of --iterations N and --hours H");
    req->model = (char *)o->model;
    req->gpus = (uint32_t)o->gpus;
    req->name = (char *)(o->name ? o->name : "");
    if (o->iters) {
        long v;
        if (parse_long(o->iters, &v) < 0 || v < 1)
            return admin_bad(o, "--iterations: must be a whole number, at least 1");
        req->amount_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_ITERATIONS;
        req->iterations = (uint64_t)v;
    } else {
        char *end;
        double h = strtod(o->hours, &end);
        if (end == o->hours || *end || !isfinite(h))
            return admin_bad(o, "--hours: must be a number");
        req->amount_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_HOURS;
        req->hours = h;
    }
    if (o->prio) {
        long v;
        if (parse_long(o->prio, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
            return admin_bad(o, "--priority: must be a whole number (0 to 100)");
        req->priority_opt_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__PRIORITY_OPT_PRIORITY;
        req->priority = (int32_t)v;
    }
    if (o->gpu_types)
        req->gpu_types = (char *)o->gpu_types; /* the scheduler checks the names */
    if (o->tenant)
        req->tenant = (char *)o->tenant; /* and the tenant */
    req->test_only = o->test_only;
    return -1;
}

static int admin_submit(struct admin_opts *o)
{
    Synergy__Admin__V1__SubmitRequest req = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__INIT;
    int rc = submit_request(o, &req);
    if (rc >= 0)
        return rc;
    ProtobufCMessage *resp = NULL;
    if ((rc = admin_call(o, "Submit", &req.base, &resp)) != 0)
        return rc;
    const Synergy__Admin__V1__SubmitResponse *r = (const void *)resp;
    if (o->test_only) { /* start end, on the run's logical clock (-1: none) */
        printf("%.0f %.0f\n", r->start_s, r->end_s);
        fprintf(stderr, "synergy submit: not submitted (--test-only): would start at %.0f s and "
                        "end at %.0f s of the run (-1: not within a year)\n", r->start_s, r->end_s);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
    }
    printf("%llu\n", (unsigned long long)r->job_id);
    fprintf(stderr, "synergy submit: job %llu: %llu iterations, arrives at %.0f s of the run\n",
            (unsigned long long)r->job_id, (unsigned long long)r->iterations, r->arrival_s);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* ------------------------------------------------------------- queue */

static const char *hms(char *buf, size_t n, double s)
{
    long t = s > 0 ? lround(s) : 0;
    if (t >= 86400)
        snprintf(buf, n, "%ld-%02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

/* One page's jobs as JSON objects (`first`: the page starts the list). */
static void queue_json(const Synergy__Admin__V1__QueueResponse *r, bool first, bool start)
{
    for (size_t i = 0; i < r->n_jobs; i++) {
        const Synergy__Admin__V1__JobInfo *j = r->jobs[i];
        printf("%s{\"id\":%llu,\"name\":", i || !first ? "," : "",
               (unsigned long long)j->job_id);
        json_write_str(stdout, j->name);
        printf(",\"user\":");
        json_write_str(stdout, j->user);
        printf(",\"tenant\":");
        json_write_str(stdout, j->tenant ? j->tenant : "");
        printf(",\"model\":");
        json_write_str(stdout, j->model);
        printf(",\"state\":");
        json_write_str(stdout, j->state);
        printf(",\"gpus\":%u,\"servers\":", j->gpus);
        json_write_str(stdout, j->servers);
        printf(",\"cpus\":%g,\"mem_gb\":%g,\"executed\":%llu,\"total\":%llu,"
               "\"attained_s\":%.3f,\"wait_s\":%.3f,\"run_s\":%.3f,\"arrival_s\":%.3f,"
               "\"priority\":%d,\"attempt\":%u,\"reason\":",
               j->cpus, j->mem_gb, (unsigned long long)j->executed,
               (unsigned long long)j->total, j->attained_s, j->wait_s, j->run_s, j->arrival_s,
               j->priority, j->attempt);
        json_write_str(stdout, j->reason ? j->reason : "");
        if (start)
            printf(",\"start_s\":%.3f,\"end_s\":%.3f", j->start_s, j->end_s);
        printf("}");
    }
}

static void queue_table_head(void)
{
    printf("%6s %-16s %-12s %-10s %-12s %-10s %4s %-14s %5s %7s %20s %10s %10s %10s %s\n", "ID",
           "NAME", "USER", "TENANT", "MODEL", "STATE", "GPUS", "SERVER:GPUS", "CPUS", "MEM_GB", "PROGRESS",
           "ATTAINED", "WAIT", "RUN", "REASON");
}

static void queue_table(const Synergy__Admin__V1__QueueResponse *r)
{
    for (size_t i = 0; i < r->n_jobs; i++) {
        const Synergy__Admin__V1__JobInfo *j = r->jobs[i];
        char prog[64], a[32], w[32], t[32];
        snprintf(prog, sizeof prog, "%llu/%llu %3.0f%%", (unsigned long long)j->executed,
                 (unsigned long long)j->total,
                 j->total ? 100.0 * (double)j->executed / (double)j->total : 0.0);
        printf("%6llu %-16.16s %-12.12s %-10.10s %-12.12s %-10s %4u %-14s %5g %7g %20s %10s %10s "
               "%10s %s\n",
               (unsigned long long)j->job_id, j->name[0] ? j->name : "-", j->user,
               j->tenant && j->tenant[0] ? j->tenant : "-", j->model,
               j->state, j->gpus, j->servers[0] ? j->servers : "-", j->cpus, j->mem_gb, prog,
               hms(a, sizeof a, j->attained_s), hms(w, sizeof w, j->wait_s),
               hms(t, sizeof t, j->run_s), j->reason && j->reason[0] ? j->reason : "-");
    }
}

/* queue --start: each job's forecast start and end, from now (docs/forecast.md). */
static void queue_start_table(const Synergy__Admin__V1__QueueResponse *r, bool first)
{
    if (first)
        printf("%6s %-16s %-10s %4s %12s %12s %s\n", "ID", "NAME", "STATE", "GPUS", "START_IN",
               "END_IN", "REASON");
    for (size_t i = 0; i < r->n_jobs; i++) {
        const Synergy__Admin__V1__JobInfo *j = r->jobs[i];
        char a[32] = "-", b[32] = "-";
        if (j->start_s >= 0)
            hms(a, sizeof a, j->start_s > r->now_s ? j->start_s - r->now_s : 0);
        if (j->end_s >= 0)
            hms(b, sizeof b, j->end_s > r->now_s ? j->end_s - r->now_s : 0);
        printf("%6llu %-16.16s %-10s %4u %12s %12s %s\n", (unsigned long long)j->job_id,
               j->name[0] ? j->name : "-", j->state, j->gpus, a, b,
               j->reason && j->reason[0] ? j->reason : "-");
    }
}

/* Page through the queue (issue 21: any size lists), printing as it comes:
 * the JSON's now_s and round_s are the first page's. */
static int admin_queue(struct admin_opts *o)
{
    Synergy__Admin__V1__QueueRequest req = SYNERGY__ADMIN__V1__QUEUE_REQUEST__INIT;
    req.all = o->all;
    req.start = o->start;
    req.limit = o->start ? 5000 : 2000; /* each page runs its own forecast: fewer pages */
    for (bool first = true;; first = false) {
        ProtobufCMessage *resp = NULL;
        int rc = admin_call(o, "Queue", &req.base, &resp);
        if (rc != 0)
            return rc;
        const Synergy__Admin__V1__QueueResponse *r = (const void *)resp;
        if (first && o->json)
            printf("{\"now_s\":%.3f,\"round_s\":%g,\"jobs\":[", r->now_s, r->round_s);
        else if (first && !o->start)
            queue_table_head();
        if (o->json)
            queue_json(r, first, o->start);
        else if (o->start)
            queue_start_table(r, first);
        else
            queue_table(r);
        bool more = r->more && r->n_jobs > 0;
        if (r->n_jobs > 0)
            req.from_id = r->jobs[r->n_jobs - 1]->job_id + 1;
        protobuf_c_message_free_unpacked(resp, NULL);
        if (!more)
            break;
    }
    if (o->json)
        printf("]}\n");
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- cancel */

static int admin_cancel(struct admin_opts *o, int argc, char **argv)
{
    size_t given = (size_t)(argc - o->first_arg), n = 0;
    uint64_t *ids = xcalloc(given, sizeof *ids);
    for (size_t i = 0; i < given; i++) {
        long v;
        if (parse_long(argv[o->first_arg + (int)i], &v) < 0 || v < 0) {
            fprintf(stderr, "synergy cancel: '%s' is not a job id\n", argv[o->first_arg + (int)i]);
            free(ids);
            return EXIT_BAD_INPUT;
        }
        bool dup = false; /* `cancel 1 1` cancels job 1 once, as scancel does */
        for (size_t q = 0; q < n && !dup; q++)
            dup = ids[q] == (uint64_t)v;
        if (!dup)
            ids[n++] = (uint64_t)v;
    }
    Synergy__Admin__V1__CancelRequest req = SYNERGY__ADMIN__V1__CANCEL_REQUEST__INIT;
    req.job_ids = ids;
    req.n_job_ids = n;
    ProtobufCMessage *resp = NULL;
    int rc = admin_call(o, "Cancel", &req.base, &resp);
    free(ids);
    if (rc != 0)
        return rc;
    const Synergy__Admin__V1__CancelResponse *r = (const void *)resp;
    for (size_t i = 0; i < r->n_cancelled; i++)
        printf("cancelled %llu\n", (unsigned long long)r->cancelled[i]);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* ------------------------------------------------------------- nodes */

static void nodes_print(const Synergy__Admin__V1__NodesResponse *r, bool json)
{
    if (json)
        printf("{\"nodes\":[");
    else
        printf("%6s %-22s %-12s %-12s %9s %13s %15s %4s %9s %-8s %s\n", "SERVER", "ADDRESS",
               "IDENTITY", "STATE", "GPUS", "CPUS", "MEM_GB", "JOBS", "HEARTBEAT", "GPU_TYPE",
               "TENANTS");
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Synergy__Admin__V1__NodeInfo *n = r->nodes[i];
        if (json) {
            printf("%s{\"server\":%u,\"address\":", i ? "," : "", n->server_id);
            json_write_str(stdout, n->address);
            printf(",\"identity\":");
            json_write_str(stdout, n->identity);
            printf(",\"state\":");
            json_write_str(stdout, n->state);
            printf(",\"gpu_type\":");
            json_write_str(stdout, n->gpu_type ? n->gpu_type : "");
            printf(",\"tenants\":");
            json_write_str(stdout, n->tenants ? n->tenants : "");
            printf(",\"gpus_used\":%u,\"gpus_total\":%u,\"cpus_used\":%g,\"cpus_total\":%g,"
                   "\"mem_used_gb\":%g,\"mem_total_gb\":%g,\"jobs\":%u,\"heartbeat_age_s\":%.3f}",
                   n->gpus_used, n->gpus_total, n->cpus_used, n->cpus_total, n->mem_used_gb,
                   n->mem_total_gb, n->jobs, n->heartbeat_age_s);
            continue;
        }
        char g[32], c[32], m[48], hb[32];
        snprintf(g, sizeof g, "%u/%u", n->gpus_used, n->gpus_total);
        snprintf(c, sizeof c, "%g/%g", n->cpus_used, n->cpus_total);
        snprintf(m, sizeof m, "%g/%g", n->mem_used_gb, n->mem_total_gb);
        if (n->heartbeat_age_s < 0)
            snprintf(hb, sizeof hb, "never");
        else
            snprintf(hb, sizeof hb, "%.1fs ago", n->heartbeat_age_s);
        printf("%6u %-22s %-12s %-12s %9s %13s %15s %4u %9s %-8s %s\n", n->server_id,
               n->address, n->identity[0] ? n->identity : "-", n->state, g, c, m, n->jobs, hb,
               n->gpu_type && n->gpu_type[0] ? n->gpu_type : "-",
               n->tenants && n->tenants[0] ? n->tenants : "-");
    }
    if (json)
        printf("]}\n");
}

static int admin_nodes(struct admin_opts *o)
{
    Synergy__Admin__V1__NodesRequest req = SYNERGY__ADMIN__V1__NODES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = admin_call(o, "Nodes", &req.base, &resp);
    if (rc != 0)
        return rc;
    nodes_print((const void *)resp, o->json);
    protobuf_c_message_free_unpacked(resp, NULL);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- share */

static void share_print(const Synergy__Admin__V1__ShareResponse *r, bool json)
{
    if (json)
        printf("{\"now_s\":%.3f,\"tenants\":[", r->now_s);
    else
        printf("%-16s %6s %6s %6s %8s %6s %7s %6s %5s %7s %6s %9s %10s\n", "TENANT", "QUOTA",
               "WEIGHT", "HELD", "BORROWED", "LENT", "USAGE", "FAIR", "SHARE", "RUNNING",
               "QUEUED", "MAX_GPUS", "MAX_QUEUED");
    for (size_t i = 0; i < r->n_tenants; i++) {
        const Synergy__Admin__V1__TenantInfo *t = r->tenants[i];
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            json_write_str(stdout, t->name);
            printf(",\"quota\":%u,\"weight\":%g,\"held\":%g,\"borrowed\":%g,\"lent\":%g,"
                   "\"usage\":%.6f,\"fair_share\":%.6f,\"share\":%g,\"running\":%u,"
                   "\"queued\":%u,\"max_running_gpus\":%d,\"max_queued_jobs\":%lld}",
                   t->quota, t->weight, t->held, t->borrowed, t->lent, t->usage, t->fair_share,
                   t->share, t->running, t->queued, t->max_running_gpus,
                   (long long)t->max_queued_jobs);
            continue;
        }
        char mg[24] = "-", mq[24] = "-";
        if (t->max_running_gpus >= 0)
            snprintf(mg, sizeof mg, "%d", t->max_running_gpus);
        if (t->max_queued_jobs >= 0)
            snprintf(mq, sizeof mq, "%lld", (long long)t->max_queued_jobs);
        printf("%-16.16s %6u %6g %6g %8g %6g %7.4f %6.4f %5g %7u %6u %9s %10s\n", t->name,
               t->quota, t->weight, t->held, t->borrowed, t->lent, t->usage, t->fair_share,
               t->share, t->running, t->queued, mg, mq);
    }
    if (json)
        printf("]}\n");
}

static int admin_share(struct admin_opts *o)
{
    Synergy__Admin__V1__ShareRequest req = SYNERGY__ADMIN__V1__SHARE_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = admin_call(o, "Share", &req.base, &resp);
    if (rc != 0)
        return rc;
    share_print((const void *)resp, o->json);
    protobuf_c_message_free_unpacked(resp, NULL);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- entry */

static int admin_main(unsigned cmd, const char *name, int argc, char **argv)
{
    struct admin_opts o;
    memset(&o, 0, sizeof o);
    o.cmd = cmd;
    o.name_of_cmd = name;
    int rc = admin_parse(&o, argc, argv);
    if (rc >= 0)
        return rc;
    switch (cmd) {
    case CLI_SUBMIT: return admin_submit(&o);
    case CLI_QUEUE: return admin_queue(&o);
    case CLI_CANCEL: return admin_cancel(&o, argc, argv);
    case CLI_SHARE: return admin_share(&o);
    default: return admin_nodes(&o);
    }
}

int cmd_submit(int argc, char **argv)
{
    return admin_main(CLI_SUBMIT, "submit", argc, argv);
}

int cmd_queue(int argc, char **argv)
{
    return admin_main(CLI_QUEUE, "queue", argc, argv);
}

int cmd_cancel(int argc, char **argv)
{
    return admin_main(CLI_CANCEL, "cancel", argc, argv);
}

int cmd_nodes(int argc, char **argv)
{
    return admin_main(CLI_NODES, "nodes", argc, argv);
}

int cmd_share(int argc, char **argv)
{
    return admin_main(CLI_SHARE, "share", argc, argv);
}
