/* libFuzzer harness: the protobuf-c decoders of every message of
 * proto/job_to_scheduler.proto, proto/synergy_worker.proto and
 * proto/synergy_admin.proto, i.e. what
 * rpc.c runs on each request (servers) and reply (clients) from the network.
 * The first byte picks the message; the rest is its wire bytes. A message
 * that decodes must pass protobuf_c_message_check and pack again to exactly
 * its packed size; without unknown fields it must also decode again from
 * those bytes to the same size (protobuf-c keeps an unknown field's bytes
 * as they came, even a tag it would not read back, e.g. field 0, so that
 * round trip is only promised for known fields; our servers never re-send
 * a request). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_to_scheduler.pb-c.h"
#include "synergy_admin.pb-c.h"
#include "synergy_worker.pb-c.h"

static const ProtobufCMessageDescriptor *const msgs[] = {
    &empty__descriptor,
    &register_job_request__descriptor,
    &register_job_response__descriptor,
    &update_iters_request__descriptor,
    &update_iters_response__descriptor,
    &round_end_request__descriptor,
    &round_end_response__descriptor,
    &lease_ended_request__descriptor,
    &synergy__v1__numa_node__descriptor,
    &synergy__v1__gpu__descriptor,
    &synergy__v1__running_job__descriptor,
    &synergy__v1__job_ref__descriptor,
    &synergy__v1__register_worker_request__descriptor,
    &synergy__v1__register_worker_response__descriptor,
    &synergy__v1__heartbeat_request__descriptor,
    &synergy__v1__heartbeat_response__descriptor,
    &synergy__v1__job_exited_request__descriptor,
    &synergy__v1__job_exited_response__descriptor,
    &synergy__v1__run_job_request__descriptor,
    &synergy__v1__run_job_response__descriptor,
    &synergy__v1__extend_lease_request__descriptor,
    &synergy__v1__kill_job_request__descriptor,
    &synergy__v1__job_ack__descriptor,
    /* proto/synergy_admin.proto (23..) */
    &synergy__admin__v1__submit_request__descriptor,
    &synergy__admin__v1__submit_response__descriptor,
    &synergy__admin__v1__job_info__descriptor,
    &synergy__admin__v1__queue_request__descriptor,
    &synergy__admin__v1__queue_response__descriptor,
    &synergy__admin__v1__cancel_request__descriptor,
    &synergy__admin__v1__cancel_response__descriptor,
    &synergy__admin__v1__node_info__descriptor,
    &synergy__admin__v1__nodes_request__descriptor,
    &synergy__admin__v1__nodes_response__descriptor,
};

/* Whether m, or a message inside it, kept unknown fields. */
static bool has_unknown(const ProtobufCMessage *m)
{
    if (m->n_unknown_fields)
        return true;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (has_unknown(v[k]))
                    return true;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
            if (sub && has_unknown(sub))
                return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = msgs[data[0] % (sizeof msgs / sizeof *msgs)];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
    if (!m)
        return 0;
    if (!protobuf_c_message_check(m))
        abort(); /* the decoder must never hand out a message it would not pack */
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    if (protobuf_c_message_pack(m, buf) != n)
        abort();
    if (!has_unknown(m)) {
        ProtobufCMessage *again = protobuf_c_message_unpack(d, NULL, n, buf);
        if (!again || protobuf_c_message_get_packed_size(again) != n)
            abort();
        protobuf_c_message_free_unpacked(again, NULL);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
    return 0;
}
