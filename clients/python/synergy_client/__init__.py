"""synergy_client: make a training loop a synergy job (docs/python-client.md).

Speaks the scheduler's JobToScheduler protocol (proto/job_to_scheduler.proto)
the way synergy's scheduler expects: RegisterJob, a step budget per round
from UpdateIters (asked at the start of each round, progress reported again
at 75 %), a long-poll RoundEnd that says whether the lease goes on, and
LeaseEnded when the process stops. Every message carries the job's attempt
(SYNERGY_ATTEMPT) and the process's rank (RANK, else SYNERGY_RANK, else 0);
all ranks get the same budget from the scheduler, so they stop on the same
step. Needs only grpcio and protobuf (Debian python3-grpcio,
python3-protobuf); job_to_scheduler_pb2.py is generated from proto/ and
checked in (tests/integration/python_client.sh checks it is current).

Without SYNERGY_JOB_ID and SYNERGY_SCHED_ADDR in the environment the client
does nothing: the loop runs standalone, from step 0 (or `start`) to `total`.

SIGTERM (the worker's stop: its own shutdown, a cancel, a lease that ran
out; SIGKILL follows after the kill-wait, docs/real-jobs.md) ends the loop
at the next step: the on_lease_end hooks run (save there), LeaseEnded
reports the round's steps, and steps() returns with lease_ended True. While
it waits for RoundEnd's answer (the round's steps already reported) the
hooks run at once and the process exits 0. Installed by steps() in the main
thread, and removed when it returns.

    job = synergy_client.Job()
    state = load_checkpoint()                 # yours; job.start_step says where
    job.on_lease_end(lambda step: save_checkpoint(step))
    for step, batch in job.steps(loader, total=1000):
        train_step(batch)
"""
import os
import signal
import sys
import threading
import time

__all__ = ["Job", "run_ranks"]

_TOKEN_ENV = "SYNERGY_JOB_TOKEN"  # issue 10: sent as metadata once the scheduler checks it


class SchedulerIdentityError(Exception):
    """The scheduler's certificate is the CA's but of another identity."""


def _env_int(name, default=None):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise ValueError("%s=%r is not an integer" % (name, v))


def _env_float(name, default=None):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    return float(v)


class Job:
    """One process of a synergy job (one rank).

    Attributes read from the environment the worker sets:
      active      True when launched by a synergy worker (SYNERGY_JOB_ID set)
      job_id, attempt, rank, world_size
      total       SYNERGY_TOTAL_ITERS (None standalone)
      start_step  SYNERGY_ELAPSED_ITERS: the scheduler's count of the job's
                  steps so far, where this attempt resumes (0 standalone)
      cpus, mem_gb, gpus  what this server gave the job
    After steps() returns:
      lease_ended True when the scheduler ended the lease (preempted, or the
                  job moves), False when the job ran to its total
      step        the next step to run (= steps done so far)
    """

    def __init__(self, env=None, log=None):
        env = os.environ if env is None else env
        self._env = env
        self.active = bool(env.get("SYNERGY_JOB_ID")) and bool(env.get("SYNERGY_SCHED_ADDR"))
        self.job_id = _env_int("SYNERGY_JOB_ID", -1)
        self.attempt = _env_int("SYNERGY_ATTEMPT", 0)
        r = env.get("RANK", env.get("SYNERGY_RANK", "0"))
        self.rank = int(r) if r else 0
        self.local_rank = _env_int("LOCAL_RANK", 0)
        # processes, not GPUs: a launcher's WORLD_SIZE (run_ranks: one a GPU),
        # else the job's node processes (the worker sets it when more than 1)
        self.world_size = _env_int("WORLD_SIZE", _env_int("SYNERGY_WORLD_SIZE", 1))
        self.total = _env_int("SYNERGY_TOTAL_ITERS", None)
        self.start_step = _env_int("SYNERGY_ELAPSED_ITERS", 0) or 0
        self.time_scale = _env_float("SYNERGY_TIME_SCALE", 1.0) or 1.0
        self.cpus = _env_int("SYNERGY_CPU_THIS_SERVER", None)
        self.mem_gb = _env_float("SYNERGY_MEM_THIS_SERVER", None)
        gl = env.get("SYNERGY_GPUS_ALLOCATED", "")
        self.gpus = [int(g) for g in gl.split(",") if g != ""]
        self.token = env.get(_TOKEN_ENV)  # hook for per-(job, attempt) tokens (issue 10)
        self.step = self.start_step
        self.lease_ended = False
        self._hooks = []
        self._log = log if log is not None else sys.stderr
        self._stub = None
        self._pb = None
        self.stop_asked = False   # SIGTERM received
        self._waiting = False     # in RoundEnd: the round is reported

    # ------------------------------------------------------------ hooks
    def on_lease_end(self, fn):
        """Call fn(step) when this process stops: at the end of the lease and
        when the job reaches its total, before LeaseEnded is sent (save the
        model and optimiser there; step = steps done). Returns fn."""
        self._hooks.append(fn)
        return fn

    def _run_hooks(self):
        for fn in self._hooks:
            fn(self.step)

    def note(self, msg):
        self._log.write("synergy_client job %s rank %s: %s\n" % (self.job_id, self.rank, msg))
        self._log.flush()

    # ------------------------------------------------------------ rpc
    def _connect(self):
        import grpc
        from . import job_to_scheduler_pb2 as pb
        self._pb = pb
        addr = "%s:%s" % (self._env["SYNERGY_SCHED_ADDR"], self._env.get("SYNERGY_SCHED_PORT", "14000"))
        ca = self._env.get("SYNERGY_TLS_CA")
        if ca:  # issue 10: a TLS scheduler; jobs verify it with the CA, prove themselves by token
            with open(ca, "rb") as f:
                pem = f.read()
            want = self._env.get("SYNERGY_SCHED_IDENTITY")
            if want:
                self._pin(pem, want)
            creds = grpc.ssl_channel_credentials(root_certificates=pem)
            self._channel = grpc.secure_channel(addr, creds)
        else:
            self._channel = grpc.insecure_channel(addr)
        self._grpc = grpc
        meta = []
        if self.token:
            meta.append(("synergy-job-token", self.token))
        self._meta = meta or None

        def method(name, req, resp):
            return self._channel.unary_unary("/JobToScheduler/" + name,
                                             request_serializer=req.SerializeToString,
                                             response_deserializer=resp.FromString)
        self._m = {
            "RegisterJob": method("RegisterJob", pb.RegisterJobRequest, pb.RegisterJobResponse),
            "UpdateIters": method("UpdateIters", pb.UpdateItersRequest, pb.UpdateItersResponse),
            "RoundEnd": method("RoundEnd", pb.RoundEndRequest, pb.RoundEndResponse),
            "LeaseEnded": method("LeaseEnded", pb.LeaseEndedRequest, pb.Empty),
        }

    def _pin(self, pem, want):
        """The scheduler must be `want` (SYNERGY_SCHED_IDENTITY: the identity,
        CN else first SAN, its certificate carries), not any other certificate
        of the CA at its address, such as a worker's (issue 21). gRPC's Python
        API has no hook into its handshake, so a handshake of our own checks
        it before the channel is made, retried while the scheduler is
        unreachable; gRPC's own connections are then verified against the CA
        and the address. Raises SchedulerIdentityError."""
        import ssl
        import socket
        host = self._env["SYNERGY_SCHED_ADDR"]
        port = int(self._env.get("SYNERGY_SCHED_PORT", "14000"))
        ctx = ssl.create_default_context(cadata=pem.decode())
        ctx.set_alpn_protocols(["h2"])
        backoff = 0.1
        while True:
            try:
                with socket.create_connection((host, port), timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname=host) as s:
                        cert = s.getpeercert()
                break
            except (ConnectionError, socket.timeout) as e:
                if self.stop_asked:
                    raise
                self.note("scheduler at %s:%d: %s; retrying" % (host, port, e))
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
        got = ""
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName" and not got:
                    got = v
        if not got and cert.get("subjectAltName"):
            got = cert["subjectAltName"][0][1]
        if got != want:
            raise SchedulerIdentityError(
                "synergy_client: refused the scheduler at %s:%d: its certificate is '%s', not "
                "the expected '%s' (SYNERGY_SCHED_IDENTITY)" % (host, port, got, want))

    def _ids(self, req):
        req.job_id = self.job_id
        req.attempt = self.attempt
        req.rank = self.rank
        return req

    def _call(self, name, req, timeout):
        """One call, retried with backoff while the scheduler is unreachable
        (it may be restarting); other errors are raised."""
        grpc = self._grpc
        backoff, down = 0.1, None
        while True:
            try:
                resp = self._m[name](req, timeout=timeout, metadata=self._meta,
                                     wait_for_ready=True)
                if down is not None:
                    self.note("scheduler back after %.1f s" % (time.monotonic() - down))
                return resp
            except grpc.RpcError as e:
                code = e.code()
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) \
                        or self.stop_asked:  # stopping: no time to wait for the scheduler
                    raise
                if down is None:
                    down = time.monotonic()
                    self.note("%s: %s; retrying" % (name, code))
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    # ------------------------------------------------------------ the loop
    def _batches(self, iterable):
        """Batches forever: a new pass over the iterable at its end (an epoch)."""
        while True:
            it = iter(iterable)
            got = False
            for b in it:
                got = True
                yield b
            if not got:
                raise ValueError("synergy_client: the iterable yields nothing")

    def steps(self, iterable, total=None, start=None):
        """Yield (step, batch) for step = start_step .. total - 1, taking
        batches from iterable (passed over again at its end), until the total
        or the end of the lease. `total` and `start` are the standalone
        values: under synergy, SYNERGY_TOTAL_ITERS and SYNERGY_ELAPSED_ITERS
        win. The on_lease_end hooks run before it returns."""
        if not self.active:
            self.total = total if self.total is None else self.total
            if start is not None:
                self.step = self.start_step = start
            batches = self._batches(iterable)
            while self.total is None or self.step < self.total:
                try:
                    b = next(batches)
                except StopIteration:
                    break
                yield self.step, b
                self.step += 1
            self._run_hooks()
            return
        if self.total is None:
            raise ValueError("synergy_client: SYNERGY_TOTAL_ITERS is not set")
        prev = None
        if threading.current_thread() is threading.main_thread():
            prev = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            yield from self._run(iterable)
        finally:
            if prev is not None:
                signal.signal(signal.SIGTERM, prev)
            if getattr(self, "_channel", None) is not None:
                self._channel.close()  # cancels a RoundEnd left waiting (SIGTERM)
                self._channel = None

    def _on_sigterm(self, signum, frame):
        self.stop_asked = True
        if self._waiting:
            # waiting for RoundEnd's answer: the round is reported, so save
            # at its end and go now (a gRPC call left waiting would hold
            # the process past its kill-wait)
            self._waiting = False
            self.lease_ended = True
            self._run_hooks()
            self.note("SIGTERM while waiting for the round's end: saved at %d" % self.step)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    def _stop_now(self, rnd, done, t0):
        """SIGTERM in the middle of a round: save, report the round's steps
        (the scheduler credits them: the next attempt starts at this step)."""
        self.lease_ended = True
        self._run_hooks()
        el = (time.monotonic() - t0) * self.time_scale
        le = self._ids(self._pb.LeaseEndedRequest(num_steps=done, execution_time_s=el,
                                                  round_num=rnd))
        try:
            self._call("LeaseEnded", le, 10)
        except self._grpc.RpcError as e:
            self.note("SIGTERM: LeaseEnded not delivered (%s)" % e.code())
        self.note("SIGTERM in round %d: saved at %d, lease ended" % (rnd, self.step))

    def _run(self, iterable):
        self._connect()
        pb = self._pb
        t_start = time.monotonic()
        r = self._call("RegisterJob", self._ids(pb.RegisterJobRequest()), 10)
        round_wall = r.round_duration_s / self.time_scale
        origin = time.monotonic() - r.time_elapsed_this_round_s / self.time_scale
        self.note("registered after %.3f s; resuming at %d of %d" %
                  (time.monotonic() - t_start, self.step, self.total))
        batches = self._batches(iterable)
        rnd = 0
        while True:
            t0 = time.monotonic()
            u = self._ids(pb.UpdateItersRequest(extend_lease=True, round_num=rnd))
            budget = self._call("UpdateIters", u, 10).num_steps_per_round
            target = min(budget, self.total - self.step)
            first = int(0.75 * target)
            # a real job runs at its own pace: one process stops at the round's
            # end even short of its budget, and reports what it did. Ranks of
            # one job must stop on the same step (their collectives would
            # hang), and only the budget is the same for all: they run it out.
            deadline = origin + (rnd + 1) * round_wall - 0.05 * round_wall
            timed = self.world_size <= 1
            done = 0
            reported = False
            while done < target and (not timed or time.monotonic() < deadline):
                if self.stop_asked:
                    break
                b = next(batches)
                yield self.step, b
                self.step += 1
                done += 1
                if done == first and not reported:
                    u.num_steps = done
                    u.execution_time_s = (time.monotonic() - t0) * self.time_scale
                    self._call("UpdateIters", u, 10)
                    reported = True
            if self.stop_asked:
                self._stop_now(rnd, done, t0)
                return
            el = (time.monotonic() - t0) * self.time_scale
            if self.step >= self.total:
                self._run_hooks()
                le = self._ids(pb.LeaseEndedRequest(num_steps=done, execution_time_s=el,
                                                    round_num=rnd))
                self._call("LeaseEnded", le, 10)
                self.note("complete at %d" % self.step)
                return
            re_ = self._ids(pb.RoundEndRequest(num_steps=done, execution_time_s=el))
            self._waiting = not self.stop_asked
            try:
                stop = self._call("RoundEnd", re_, round_wall * 4 + 30).terminate_lease
            finally:
                self._waiting = False
            if self.stop_asked and not stop:
                self._stop_now(rnd + 1, 0, time.monotonic())
                return
            if stop:
                self.lease_ended = True
                self._run_hooks()
                le = self._ids(pb.LeaseEndedRequest(round_num=rnd + 1))
                self._call("LeaseEnded", le, 10)
                self.note("lease ended at %d" % self.step)
                return
            rnd += 1


def run_ranks(main, n=None):
    """Run main() in one process per GPU of this server, as
    torch.distributed.launch does: each child gets LOCAL_RANK, RANK
    (SYNERGY_RANK_BASE + local) and WORLD_SIZE (SYNERGY_JOB_GPUS). n defaults
    to SYNERGY_PROCS_THIS_SERVER, else the GPUs of this server. If a rank
    fails, the others are killed (their collectives would hang). Returns the
    exit code for the whole job (0 when every rank exited 0)."""
    import signal
    if n is None:
        n = _env_int("SYNERGY_PROCS_THIS_SERVER",
                     _env_int("SYNERGY_GPU_THIS_SERVER", 1))
    base = _env_int("SYNERGY_RANK_BASE", 0)
    world = _env_int("SYNERGY_JOB_GPUS", n)
    kids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            os.environ["LOCAL_RANK"] = str(i)
            os.environ["RANK"] = str(base + i)
            os.environ["WORLD_SIZE"] = str(world)
            code = 1
            try:
                rc = main()
                code = rc if isinstance(rc, int) else 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        kids.append(pid)
    rc = 0
    left = set(kids)
    while left:
        pid, status = os.wait()
        left.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and rc == 0:
            rc = code if code > 0 else 128 - code
            for k in left:
                os.kill(k, signal.SIGKILL)
    return rc
