#!/usr/bin/env python3
"""Write the seed inputs of fuzz_proto, fuzz_sched_rpc, fuzz_worker_rpc and fuzz_admin_rpc
(tests/fuzz/corpus/<harness>/): well-formed requests of each RPC, in each
harness's input layout (see the harness's header comment). Run from the
repository root; a tiny protobuf encoder, so it needs no generated code."""
import os
import struct


def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_double(num, v):
    return varint(num << 3 | 1) + struct.pack("<d", v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


def packed(num, vals):
    return f_bytes(num, b"".join(varint(v) for v in vals))


# JobToScheduler
reg_job = f_varint(1, 0) + f_varint(20, 1)
upd = f_varint(1, 1) + f_varint(2, 120) + f_double(3, 1.5) + f_varint(20, 1) + f_varint(21, 0)
round_end = f_varint(1, 0) + f_varint(2, 500) + f_double(3, 30.0) + f_varint(20, 1)
lease_ended = f_varint(1, 3) + f_varint(2, 4000) + f_varint(4, 7) + f_varint(20, 2)
# WorkerToScheduler
numa = f_varint(1, 0) + packed(2, range(0, 12)) + f_varint(3, 64 << 30) + f_varint(4, 12) + \
    f_varint(5, 24)
gpu = lambda i: f_varint(1, i) + f_varint(2, 0) + f_bytes(3, "0000:%02x:00.0" % i)
running = f_varint(1, 0) + f_varint(2, 1) + f_varint(3, 4242) + f_varint(4, 1) + \
    f_varint(5, 5000) + f_bytes(6, "0" * 32)
reg_worker = f_varint(1, 1) + f_bytes(2, "127.0.0.1") + f_varint(3, 5001) + f_bytes(4, numa) + \
    b"".join(f_bytes(5, gpu(i)) for i in range(8)) + f_varint(6, 1) + f_bytes(16, "core") + \
    f_bytes(20, running) + f_varint(21, 0)
heartbeat = f_varint(1, 0) + packed(2, [0, 1]) + f_bytes(3, running)
job_exited = f_varint(1, 0) + f_varint(2, 0) + f_varint(3, 1) + f_varint(4, 0) + f_varint(6, 1)
# SchedulerToWorker
run_job = f_varint(1, 1) + f_varint(2, 7) + f_varint(3, 1) + f_bytes(4, "res18") + \
    packed(5, [0, 1, 2, 3]) + f_varint(6, 12) + f_double(7, 62.5) + f_varint(8, 4000) + \
    f_varint(9, 100) + f_varint(10, 128) + f_double(11, 0.25) + f_varint(12, 600000) + \
    f_bytes(13, "127.0.0.1") + f_varint(14, 5000) + f_varint(16, 1) + f_double(17, 100) + \
    f_varint(19, 4) + f_bytes(20, "ab" * 16)
extend = f_varint(1, 7) + f_varint(2, 600000)
kill = f_varint(1, 7)


def call(method, caller, body):
    return bytes([method, caller]) + struct.pack("<H", len(body)) + body


def write(harness, name, data):
    d = os.path.join("tests", "fuzz", "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# fuzz_proto: [message index][wire bytes], indexes as in fuzz_proto.c's table
for i, body in [(1, reg_job), (3, upd), (5, round_end), (7, lease_ended), (8, numa),
                (10, running), (12, reg_worker), (14, heartbeat), (16, job_exited),
                (18, run_job), (20, extend), (21, kill)]:
    write("proto", "msg%02d" % i, bytes([i]) + body)

# fuzz_sched_rpc: caller = token kind | job << 2 | peer << 4 | identity << 6
tok = lambda kind, job: kind | job << 2
write("sched_rpc", "job_calls", b"\x00" + call(0, tok(1, 0), reg_job) +
      call(1, tok(1, 1), upd) + call(2, tok(1, 0), round_end) +
      call(3, tok(2, 2), lease_ended))
write("sched_rpc", "job_calls_tls_legacy", b"\x03" + call(0, 0, reg_job) +
      call(2, tok(3, 0), round_end) + call(2, tok(1, 0), round_end))
write("sched_rpc", "worker_calls", b"\x00" + call(4, 0, reg_worker) +
      call(5, 0, heartbeat) + call(6, 0, job_exited))
write("sched_rpc", "worker_calls_tls", b"\x01" + call(4, 0 << 6, reg_worker) +
      call(5, 1 << 6, heartbeat) + call(6, 0, job_exited) + call(4, 2 << 6 | 2 << 4, reg_worker))

# fuzz_worker_rpc: caller = peer | identity << 2
write("worker_rpc", "run_extend_kill", b"\x00" + call(0, 0, run_job) + call(1, 0, extend) +
      call(2, 0, kill) + call(0, 2, run_job))
write("worker_rpc", "run_extend_kill_tls", b"\x01" + call(0, 0, run_job) +
      call(0, 1 << 2, run_job) + call(1, 0, extend) + call(2, 0, kill))

# synergy.admin.v1.Admin
submit_it = f_bytes(1, "res18") + f_varint(2, 2) + f_varint(3, 900) + f_bytes(5, "first")
submit_h = f_bytes(1, "alexnet") + f_varint(2, 1) + f_double(4, 0.5) + f_varint(6, 7)
submit_bad = f_bytes(1, "res18") + f_varint(2, 0) + f_varint(3, 0) + f_bytes(5, "a b")
queue_all = f_varint(1, 1)
cancel = packed(1, [1, 3])
for i, body in [(23, submit_it), (24, submit_h), (26, queue_all), (28, cancel)]:
    write("proto", "msg%02d" % i, bytes([i]) + body)
# fuzz_admin_rpc: method 0..3 Submit Queue Cancel Nodes, 4 a boundary; caller = identity
write("admin_rpc", "plain", b"\x02" + call(0, 0, submit_it) + call(0, 0, submit_h) +
      call(1, 0, queue_all) + call(4, 0, b"") + call(2, 0, cancel) + call(4, 0, b"") +
      call(3, 0, b"") + call(1, 0, b""))
write("admin_rpc", "tls_txn", b"\x05" + call(0, 0, submit_it) + call(0, 1, submit_h) +
      call(0, 3, submit_bad) + call(0, 0, submit_it) + call(4, 0, b"") + call(2, 2, cancel) +
      call(1, 3, queue_all) + call(3, 1, b""))
