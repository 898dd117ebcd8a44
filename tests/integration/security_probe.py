#!/usr/bin/python3
"""An unrelated local process calling a deployment's RPCs (issue 10 tests).

  security_probe.py gen DIR
      compile proto/*.proto into DIR with grpc_tools (Debian python3-grpc-tools)
  security_probe.py call DIR TARGET CREDS SERVICE METHOD [field=value ...] [--token T]
      CREDS: plain | ca:CA (TLS, no client certificate) | mtls:CA,CERT,KEY
      SERVICE: JobToScheduler | synergy.v1.WorkerToScheduler | synergy.v1.SchedulerToWorker
      A repeated field takes a comma list (gpus=0,1,2).
Prints one line, "refused: METHOD: CODE: details" or "ACCEPTED: METHOD: reply",
and exits 0 when the call was refused, 3 when it was accepted. A
RegisterWorker answered success=false counts as refused (that RPC refuses in
its reply).
"""
import os
import sys


def gen(out, src):
    from grpc_tools import protoc
    os.makedirs(out, exist_ok=True)
    protos = [os.path.join(src, "proto", p) for p in ("job_to_scheduler.proto", "synergy_worker.proto")]
    import grpc_tools
    inc = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["protoc", "-I" + os.path.join(src, "proto"), "-I" + inc,
                      "--python_out=" + out] + protos)
    sys.exit(rc)


def call(d, target, creds, service, method, args):
    import grpc
    if d not in sys.path:
        sys.path.insert(0, d)
    import job_to_scheduler_pb2
    import synergy_worker_pb2
    mod = job_to_scheduler_pb2 if service == "JobToScheduler" else synergy_worker_pb2
    sname = service.split(".")[-1]
    md = mod.DESCRIPTOR.services_by_name[sname].methods_by_name[method]
    req_cls = getattr(mod, md.input_type.name)
    resp_cls = getattr(mod, md.output_type.name)
    token = None
    req = req_cls()
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--token":
            token = args[i + 1]
            i += 2
            continue
        k, v = a.split("=", 1)
        f = req_cls.DESCRIPTOR.fields_by_name[k]
        conv = str if f.type == f.TYPE_STRING else (float if f.type == f.TYPE_DOUBLE else
                                                      (lambda s: s in ("1", "true")) if f.type == f.TYPE_BOOL else int)
        if f.label == f.LABEL_REPEATED:
            getattr(req, k).extend(conv(x) for x in v.split(","))
        else:
            setattr(req, k, conv(v))
        i += 1
    if creds == "plain":
        ch = grpc.insecure_channel(target)
    else:
        kind, files = creds.split(":", 1)
        parts = files.split(",")
        rd = lambda p: open(p, "rb").read()
        if kind == "ca":
            c = grpc.ssl_channel_credentials(root_certificates=rd(parts[0]))
        else:
            c = grpc.ssl_channel_credentials(root_certificates=rd(parts[0]),
                                             private_key=rd(parts[2]),
                                             certificate_chain=rd(parts[1]))
        ch = grpc.secure_channel(target, c)
    stub = ch.unary_unary("/%s/%s" % (service, method), request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=resp_cls.FromString)
    meta = [("synergy-job-token", token)] if token is not None else None
    try:
        resp = stub(req, timeout=5, metadata=meta)
    except grpc.RpcError as e:
        print("refused: %s: %s: %s" % (method, e.code().name, (e.details() or "").replace("\n", " ")[:200]))
        return 0
    if method == "RegisterWorker" and not resp.success:
        print("refused: %s: success=false: %s" % (method, resp.error))
        return 0
    print("ACCEPTED: %s: %s" % (method, str(resp).replace("\n", " ")[:200]))
    return 3


def batch(d):
    """One call a line: EXPECT TARGET CREDS SERVICE METHOD [args]; EXPECT is the
    refusal's code (or success=false). Exit 0 when every call was refused as
    expected, else 3."""
    import io
    bad = 0
    for line in sys.stdin:
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        out = io.StringIO()
        old, sys.stdout = sys.stdout, out
        try:
            rc = call(d, w[1], w[2], w[3], w[4], w[5:])
        finally:
            sys.stdout = old
        got = out.getvalue().strip()
        ok = rc == 0 and w[0] in got
        print("  %s%s" % (got, "" if ok else "   <-- expected a refusal with " + w[0]))
        sys.stdout.flush()
        bad |= not ok
    return 3 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "batch":
        sys.exit(batch(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 7 and sys.argv[1] == "call":
        sys.exit(call(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
