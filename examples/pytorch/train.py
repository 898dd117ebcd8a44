#!/usr/bin/env python3
"""A real PyTorch training job for synergy (docs/real-jobs.md).

A small convolutional network learns to classify synthetic 3x16x16 images
(10 classes: each class a fixed random pattern, plus noise) with SGD and
momentum. The CPU side does real per-sample preprocessing in DataLoader
worker processes (random crop of a padded image, horizontal flip, a 3x3
blur, normalisation): the more CPU workers the job is given
(SYNERGY_CPU_THIS_SERVER, or --workers), the faster batches arrive. It uses
the GPU when there is one (CUDA_VISIBLE_DEVICES from the worker), the CPU
otherwise.

Through synergy_client it runs one lease at a time: at the lease's end it
saves model, optimiser and step to <chk-dir>/model.pt, and the next attempt
restores them, so the loss continues where it stopped. Standalone (no
SYNERGY_* environment) it trains --total steps from its checkpoint, if any.
Logs, one line each: start|resume ... loss=L (on a fixed evaluation batch),
checkpoint step=S loss=L, final step=S loss=L, and `loss step=S L` every
--log-every steps.
"""
import argparse
import os
import sys
import time

t_import = time.monotonic()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import synergy_client  # noqa: E402


class Synthetic(torch.utils.data.Dataset):
    """n images of 10 classes; image i is its class's pattern (the same in every
    set) plus noise from a per-index generator, so every worker process builds
    the same data and a set with another seed is fresh data of the same task."""

    def __init__(self, n=2048, seed=0):
        g = torch.Generator().manual_seed(12345)
        self.patterns = torch.randn(10, 3, 16, 16, generator=g)
        self.n, self.seed = n, seed

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(self.seed * 1000003 + i)
        y = i % 10
        x = self.patterns[y] + 0.8 * torch.randn(3, 16, 16, generator=g)
        # CPU preprocessing: pad + random crop, flip, 3x3 blur, normalise
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")
        dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
        x = x[:, dy:dy + 16, dx:dx + 16]
        if torch.rand(1, generator=g).item() < 0.5:
            x = x.flip(2)
        k = torch.full((3, 1, 3, 3), 1.0 / 9)
        x = F.conv2d(x.unsqueeze(0), k, padding=1, groups=3).squeeze(0)
        x = (x - x.mean()) / (x.std() + 1e-6)
        return x, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


def main(a):
    job = synergy_client.Job()
    torch.manual_seed(1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    workers = a.workers if a.workers is not None else max(1, job.cpus or os.cpu_count() or 1)
    torch.set_num_threads(1)  # the model is small; the CPUs go to the data workers
    model = Net().to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    os.makedirs(a.chk_dir, exist_ok=True)
    ck = os.path.join(a.chk_dir, "model.pt")
    ev = Synthetic(n=256, seed=99)
    xe = torch.stack([ev[i][0] for i in range(256)]).to(dev)
    ye = torch.tensor([ev[i][1] for i in range(256)], device=dev)

    def eval_loss():
        with torch.no_grad():
            return float(F.cross_entropy(model(xe), ye))

    step = 0
    tag = "attempt=%d elapsed=%d device=%s workers=%d" % (job.attempt, job.start_step, dev, workers)
    if os.path.exists(ck):
        s = torch.load(ck, map_location=dev)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        step = s["step"]
        print("resume %s step=%d loss=%.9g" % (tag, step, eval_loss()), flush=True)
    else:
        print("start %s step=%d loss=%.9g" % (tag, step, eval_loss()), flush=True)
    print("ready after %.2f s (imports and set-up)" % (time.monotonic() - t_import), flush=True)

    def save(at):
        tmp = ck + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": at}, tmp)
        os.replace(tmp, ck)
        print("checkpoint attempt=%d step=%d loss=%.9g" % (job.attempt, at, eval_loss()), flush=True)
    job.on_lease_end(save)

    loader = torch.utils.data.DataLoader(Synthetic(), batch_size=a.batch, shuffle=True,
                                         num_workers=workers, persistent_workers=True,
                                         generator=torch.Generator().manual_seed(step))
    model.train()
    for s, (x, y) in job.steps(loader, total=a.total, start=step):
        opt.zero_grad()
        loss = F.cross_entropy(model(x.to(dev)), y.to(dev))
        loss.backward()
        opt.step()
        if a.log_every and s % a.log_every == 0:
            print("loss step=%d %.6f" % (s, loss.item()), flush=True)
    if not job.lease_ended:
        print("final attempt=%d step=%d loss=%.9g" % (job.attempt, job.step, eval_loss()), flush=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chk-dir", default=".")
    p.add_argument("--total", type=int, default=500, help="steps when run standalone")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: CPUs given)")
    p.add_argument("--log-every", type=int, default=50)
    sys.exit(main(p.parse_args()))
