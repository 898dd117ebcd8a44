#!/usr/bin/env python3
"""A real training loop for the python_client test: linear regression with
momentum SGD in NumPy on synthetic data, through synergy_client. It saves its
weights, optimiser state and step in <chk-dir>/model.npz when a lease ends and
restores them at start, and logs (stdout, the worker's job log):
    start attempt=A rank=R elapsed=E step=S loss=L      (no checkpoint yet)
    resume attempt=A rank=R elapsed=E step=S loss=L     (restored: loss at S)
    checkpoint attempt=A rank=R step=S loss=L           (saved at lease end)
    final attempt=A rank=R step=S loss=L                (reached the total)
The loss is measured on a fixed evaluation set, so the loss a resumed attempt
logs must equal the one its checkpoint logged.
usage: numpy_job.py --chk-dir DIR [--ranks] [--total N] [--step-s S]
(--step-s: each step also sleeps S seconds, a job busy all its round)
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import numpy as np  # noqa: E402

import synergy_client  # noqa: E402


def main(args):
    job = synergy_client.Job()
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2048, 32))
    w_true = rng.standard_normal(32)
    y = X @ w_true + 0.01 * rng.standard_normal(2048)
    Xe, ye = X[:256], y[:256]

    def loss(w):
        r = Xe @ w - ye
        return float(r @ r / len(ye))

    ck = os.path.join(args.chk_dir, "model.npz")
    w, mom, step = np.zeros(32), np.zeros(32), 0
    tag = "attempt=%d rank=%d elapsed=%d" % (job.attempt, job.rank, job.start_step)
    if os.path.exists(ck):
        d = np.load(ck)
        w, mom, step = d["w"], d["mom"], int(d["step"])
        print("resume %s step=%d loss=%.17g" % (tag, step, loss(w)), flush=True)
        if job.active and step != job.start_step:
            print("warning: checkpoint at step %d, the scheduler says %d" % (step, job.start_step),
                  flush=True)
    else:
        print("start %s step=%d loss=%.17g" % (tag, step, loss(w)), flush=True)

    def save(at):
        if job.local_rank != 0:  # one writer per server
            return
        tmp = ck + ".tmp.npz"
        np.savez(tmp, w=w, mom=mom, step=at)
        os.replace(tmp, ck)
        print("checkpoint attempt=%d rank=%d step=%d loss=%.17g" % (job.attempt, job.rank, at,
                                                                    loss(w)), flush=True)
    job.on_lease_end(save)

    batches = [(X[i:i + 64], y[i:i + 64]) for i in range(0, 2048, 64)]
    for s, (xb, yb) in job.steps(batches, total=args.total, start=step):
        g = 2 * xb.T @ (xb @ w - yb) / len(yb)
        mom = 0.9 * mom + g
        w = w - 0.0002 * mom
        if args.step_s:
            time.sleep(args.step_s)
    if not job.lease_ended:
        print("final attempt=%d rank=%d step=%d loss=%.17g" % (job.attempt, job.rank, job.step,
                                                               loss(w)), flush=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--chk-dir", required=True)
    p.add_argument("--ranks", action="store_true")
    p.add_argument("--total", type=int, default=2000)
    p.add_argument("--step-s", type=float, default=0)
    a = p.parse_args()
    os.makedirs(a.chk_dir, exist_ok=True)
    if a.ranks:
        sys.exit(synergy_client.run_ranks(lambda: main(a)))
    sys.exit(main(a))
