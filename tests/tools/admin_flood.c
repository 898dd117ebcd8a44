/*
 * admin_flood: one admin client submitting jobs as fast as it can (issue 21,
 * the flood test: tests/integration/service_flood.sh). It opens T plaintext
 * channels to the scheduler's admin service and sends N Submit calls over
 * them, T in flight at a time, each call waiting for its answer, then prints
 * one line per outcome:
 *   ok COUNT
 *   status CODE COUNT first-message
 *   seconds S
 * usage: admin_flood HOST:PORT N [T [MODEL [GPUS [ITERATIONS]]]]
 * (defaults: T 4, alexnet, 8 GPUs, 1000 iterations)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc.h"
#include "synergy_admin.pb-c.h"

#define MAX_CODE 17

struct flood {
    const char *target, *model;
    unsigned gpus;
    unsigned long iters;
    long n;
    pthread_mutex_t mu;
    long next, ok;
    long by_code[MAX_CODE];
    char first[MAX_CODE][200];
};

static void *sender(void *arg)
{
    struct flood *f = arg;
    rpc_client_t *cl = rpc_client_create(f->target);
    Synergy__Admin__V1__SubmitRequest req = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__INIT;
    req.model = (char *)f->model;
    req.gpus = f->gpus;
    req.amount_case = SYNERGY__ADMIN__V1__SUBMIT_REQUEST__AMOUNT_ITERATIONS;
    req.iterations = f->iters;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        bool more = f->next < f->n;
        f->next++;
        pthread_mutex_unlock(&f->mu);
        if (!more)
            break;
        ProtobufCMessage *resp = NULL;
        struct err err = {{0}};
        int st = rpc_client_call(cl, &synergy__admin__v1__admin__descriptor, "Submit", &req.base,
                                 &resp, 60000, &err);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        pthread_mutex_lock(&f->mu);
        if (st == RPC_STATUS_OK) {
            f->ok++;
        } else {
            int c = st >= 0 && st < MAX_CODE ? st : MAX_CODE - 1;
            if (f->by_code[c]++ == 0)
                snprintf(f->first[c], sizeof f->first[c], "%.199s", err.msg);
        }
        pthread_mutex_unlock(&f->mu);
    }
    rpc_client_destroy(cl);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: admin_flood HOST:PORT N [T [MODEL [GPUS [ITERATIONS]]]]\n");
        return 2;
    }
    struct flood f = {.target = argv[1], .n = atol(argv[2]), .model = "alexnet", .gpus = 8,
                      .iters = 1000};
    int nt = argc > 3 ? atoi(argv[3]) : 4;
    if (argc > 4)
        f.model = argv[4];
    if (argc > 5)
        f.gpus = (unsigned)atoi(argv[5]);
    if (argc > 6)
        f.iters = strtoul(argv[6], NULL, 10);
    if (nt < 1 || nt > 64 || f.n < 0)
        return 2;
    pthread_mutex_init(&f.mu, NULL);
    rpc_global_init();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[64];
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, sender, &f);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("ok %ld\n", f.ok);
    for (int c = 0; c < MAX_CODE; c++)
        if (f.by_code[c])
            printf("status %d %ld %s\n", c, f.by_code[c], f.first[c]);
    printf("seconds %.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rpc_global_shutdown();
    return 0;
}
