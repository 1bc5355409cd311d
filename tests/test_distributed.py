"""Several processes train as one (bgtai.joint.distributed): two gloo processes with half a batch
each get the one-process full batch's batch-norm outputs, running statistics and, averaged as
DDP averages them, its parameter gradients of a gathered InfoNCE loss."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from bgtai.joint.distributed import SyncedBatchNorm, gather_rows, sync_batch_norm, world_size
from bgtai.joint.model import info_nce

SETUP = """
import torch
from torch import nn
from bgtai.joint.model import info_nce

def parts(norm_class):
    torch.manual_seed(0)
    norm, proj = norm_class(6), nn.Linear(6, 4)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(8, 6, 5) * 3 + 2
    images = torch.randn(8, 4)
    return norm, proj, x, images, torch.tensor(2.0, requires_grad=True)
"""

WORKER = SETUP + """
import sys
import torch.distributed as dist
from bgtai.joint.distributed import SyncedBatchNorm, gather_rows

dist.init_process_group("gloo")
rank = dist.get_rank()
norm, proj, x, images, scale = parts(SyncedBatchNorm)
share = slice(4 * rank, 4 * rank + 4)
for _ in range(2):  # two steps: the running statistics move twice
    audio = proj(norm(x[share]).mean(2))
    loss = info_nce(gather_rows(audio), gather_rows(images[share]), scale)
loss.backward()
grads = {n: p.grad for n, p in nn.ModuleDict({"norm": norm, "proj": proj}).named_parameters()}
torch.save({"loss": loss.detach(), "grads": grads, "scale": scale.grad,
            "state": norm.state_dict()}, f"{sys.argv[1]}/rank{rank}.pt")
# torn down before exit: gloo's threads killed at interpreter exit can abort the process
dist.destroy_process_group()
"""


def test_two_processes_with_half_a_batch_each_equal_one_with_the_whole(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = str(Path(__file__).resolve().parents[1])  # bgtai for the workers
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                              env={**env, "RANK": str(r)}, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]

    namespace: dict = {}
    exec(SETUP, namespace)
    norm, proj, x, images, scale = namespace["parts"](nn.BatchNorm1d)
    for _ in range(2):
        loss = info_nce(proj(norm(x).mean(2)), images, scale)
    loss.backward()
    for got in ranks:
        torch.testing.assert_close(got["loss"], loss.detach())
        for name, value in norm.state_dict().items():  # running mean, var and count
            torch.testing.assert_close(got["state"][name], value)
    for name, param in nn.ModuleDict({"norm": norm, "proj": proj}).named_parameters():  # DDP averages the processes' gradients
        mean = (ranks[0]["grads"][name] + ranks[1]["grads"][name]) / 2
        torch.testing.assert_close(mean, param.grad, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close((ranks[0]["scale"] + ranks[1]["scale"]) / 2, scale.grad)


def test_one_process_is_plain_batch_norm_and_conversion_keeps_the_weights():
    assert world_size() == 1
    x = torch.randn(3, 4)
    assert gather_rows(x) is x
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm1d(4)))
    model[1].weight.data.fill_(2.0)
    model[1].running_mean.fill_(0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = torch.randn(5, 2, 7)
    want = model.eval()(inputs)
    sync_batch_norm(model)
    assert isinstance(model[1], SyncedBatchNorm) and isinstance(model[2][0], SyncedBatchNorm)
    assert model.state_dict().keys() == before.keys()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, before[name])
    torch.testing.assert_close(model(inputs), want)
