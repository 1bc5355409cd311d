"""Neural building blocks shared by more than one model package (no package imports another
for them)."""

from __future__ import annotations

import math

import torch


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position table ``(length, dim)``: no learned limit on length."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * rate)
    table[:, 1::2] = torch.cos(pos * rate)
    return table
