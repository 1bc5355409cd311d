"""Exact DTW on CUDA in one Triton launch per batch: DP and backtrack, one program per pair.

Each program sweeps its pair's anti-diagonals ``k = i + j`` in order. The cells of one
anti-diagonal are independent, so a block of threads computes them together (in chunks of
``BLOCK`` rows when the pair has more rows); the two previous anti-diagonals live in three
rotating rows of a small scratch buffer (L1/L2-resident), and a block barrier separates
anti-diagonals. When all rows fit one block, each step also loads the next anti-diagonal's
costs, so their memory latency overlaps the step instead of lengthening it. The recurrence, the selects and the tie-break are those of the numba kernels
(:mod:`bgtai.align._dtw_kernels`), operation for operation, so costs, directions and paths are
bit-identical to the CPU on the same cost matrix. After the sweep the same program walks its
``uint8`` directions back from ``(n-1, m-1)``, writing the path (end first) and the alignment
matrix; the caller reverses the paths with one gather.

Triton is imported lazily: it ships with torch's CUDA wheels, and the CPU path never needs it.
With ``TRITON_INTERPRET=1`` the same kernel runs on CPU tensors through Triton's interpreter,
which is how CI checks it without a GPU.
"""

from __future__ import annotations

import torch

from bgtai.align._dtw_kernels import reverse_paths

MAX_BLOCK = 1024
"""Rows of an anti-diagonal computed together; longer pairs loop over chunks of this size."""


def triton_available() -> bool:
    """Whether Triton can be imported (it is part of torch's CUDA wheels)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _kernel():
    """The kernel, imported on first use: Triton is needed only when a CUDA batch runs."""
    from bgtai.align._dtw_triton_kernels import dtw_pairs

    return dtw_pairs


def _block(n: int) -> int:
    return min(MAX_BLOCK, max(32, 1 << (n - 1).bit_length()))


def dtw_batch_triton(C, n_len, m_len, lo_off, hi_off, want_acc, *, block: int | None = None,
                     num_warps: int | None = None):
    """Exact DTW of ``(B, N, M)`` cost matrices in one kernel launch.

    Same arguments and outputs as :func:`bgtai.align._dtw_kernels.dtw_batch_numba`, as tensors
    on ``C.device`` (``n_len``, ``m_len``, ``lo_off``, ``hi_off``: ``(B,)`` int64 tensors).
    ``block`` (rows per chunk, a power of two) and ``num_warps`` override the defaults
    (benchmarks and tests).
    """
    B, N, M = C.shape
    if max(N * M, (N + M - 1) * N) >= 2**31:
        raise ValueError(f"a {N} x {M} pair is too large for the CUDA kernel's 32-bit offsets")
    dev, dt = C.device, C.dtype
    C = C.contiguous()
    block = block or _block(N)
    num_warps = num_warps or max(1, min(8, block // 128))
    L = N + M - 1
    buf = torch.empty((B, 3, N + 1), dtype=dt, device=dev)
    dirs = torch.empty((B, L, N), dtype=torch.uint8, device=dev)
    costs = torch.empty(B, dtype=dt, device=dev)
    acc = torch.full((B, N, M) if want_acc else (1,), float("inf"), dtype=dt, device=dev)
    rev = torch.zeros((B, L, 2), dtype=torch.int64, device=dev)
    lengths = torch.empty(B, dtype=torch.int64, device=dev)
    align = torch.zeros((B, N, M), dtype=torch.uint8, device=dev)
    _kernel()[(B,)](C, n_len.contiguous(), m_len.contiguous(), lo_off.contiguous(),
                    hi_off.contiguous(), buf, dirs, costs, acc, rev, lengths, align, N, M,
                    WANT_ACC=bool(want_acc), BLOCK=block, ONE_CHUNK=block >= N,
                    num_warps=num_warps)
    paths = reverse_paths(rev, lengths)
    if not want_acc:
        acc = acc.new_empty((0, 0, 0))
    return costs, paths, lengths, acc, align.view(torch.bool)
