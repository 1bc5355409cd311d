"""Contrastive training on several processes as on one: negatives and batch statistics that
span every process's share of the step.

Under data parallelism each process sees ``1/N`` of the step's clips. An InfoNCE loss computed
on that share has only its own clips as negatives, and batch norm normalises with that share's
statistics, so N processes with B clips each train a different model than one process with
N·B clips. :func:`gather_rows` (gradients flow back to each process's own rows) and
:class:`SyncedBatchNorm` (statistics all-reduced, with gradients) remove both differences.
Both are the plain operations when no process group is running. Unlike ``torch.nn.SyncBatchNorm``
they run on the CPU (gloo) too, which is where the equivalence is tested.

Why the gradients come out right: every process computes the same loss over the gathered batch;
the collectives' backward passes sum what all processes send back, so each process's gradient is
N times its rows' share of the loss's gradient, and DDP's average over processes restores the
one-process gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
from torch import nn


def world_size() -> int:
    """Processes in the default group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Every process's ``x`` (equal shapes), concatenated along dim 0 in rank order; gradients
    reach the local rows. ``x`` itself on one process."""
    if world_size() == 1:
        return x
    return torch.cat(dist_nn.all_gather(x), 0)


class SyncedBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` whose training statistics (and running averages) are those of the
    whole step across processes: mean and variance over every process's ``(B, C[, T])`` input.
    Same parameters and buffers as ``BatchNorm1d``, so checkpoints load either way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world_size() == 1:
            return super().forward(x)
        dims = [0] + list(range(2, x.ndim))
        shape = [1, -1] + [1] * (x.ndim - 2)
        xf = x.float()  # statistics in float32 whatever the autocast dtype
        local = torch.cat([xf.sum(dims), xf.new_tensor([xf.numel() / xf.shape[1]])])
        total = dist_nn.all_reduce(local)
        count = total[-1]
        mean = total[:-1] / count
        centred = xf - mean.view(shape)
        var = dist_nn.all_reduce(centred.pow(2).sum(dims)) / count  # two passes: no cancellation
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                     else self.momentum)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * count / (count - 1).clamp_min(1), m)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def sync_batch_norm(module: nn.Module) -> nn.Module:
    """Turn every ``BatchNorm1d`` inside ``module`` into a :class:`SyncedBatchNorm` in place,
    keeping its parameters, buffers and mode; returns ``module``."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm1d:
            synced = SyncedBatchNorm(child.num_features, child.eps, child.momentum,
                                     child.affine, child.track_running_stats)
            synced.load_state_dict(child.state_dict())
            synced.train(child.training)
            setattr(module, name, synced.to(next(child.buffers(), torch.empty(0)).device))
        else:
            sync_batch_norm(child)
    return module
