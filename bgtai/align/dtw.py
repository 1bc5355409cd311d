"""Exact dynamic time warping with the optimal path, on CPU (numba) and CUDA (Triton).

The public entry points are :func:`dtw` for one pair of sequences, :func:`dtw_batch` for a
ragged batch, :func:`cost_matrix` and :func:`path_to_matrix`. The path is what DS-Net's
Result Filter is trained on (paper eq. 5) and what SP-Loss compares against (eq. 6).

Conventions (shared by every entry point)
-----------------------------------------
- Step pattern: the standard one, moves ``(1, 1)``, ``(1, 0)``, ``(0, 1)`` with weight 1;
  the cost is the plain sum of cell costs along the path (no normalisation), starting at
  ``(0, 0)`` and ending at ``(N-1, M-1)``.
- ``metric="sqeuclidean"``: cell cost ``||x_i - y_j||^2``, so ``sqrt(cost)`` equals
  dtaidistance's and tslearn's DTW distance. ``"cosine"``: ``1 - cos(x_i, y_j)`` (zero
  vectors are rejected). ``"precomputed"``: ``x`` is the cost matrix itself.
- Tie-break: among the minimal predecessors the diagonal ``(i-1, j-1)`` wins, then the
  vertical ``(i-1, j)``, then the horizontal ``(i, j-1)``: tslearn's ``dtw_path`` rule and
  dtaidistance's pure-Python ``best_path``. dtaidistance's C ``warping_path_fast`` prefers
  horizontal over vertical, so its path on ``(y, x)``, transposed, equals ours on ``(x, y)``.
- ``band``: Sakoe-Chiba half-width ``w`` in cells: cell ``(i, j)`` is allowed when
  ``-w - max(0, N - M) <= j - i <= w + max(0, M - N)``, i.e. ``|i - j| <= w`` widened by the
  length difference on the longer side so the end cell stays reachable. This is tslearn's
  ``sakoe_chiba_radius=w`` and dtaidistance's ``window=w + 1``.
- Precision: float64 inputs (and integer ones) are computed in float64, everything else
  in float32; the cost matrix comes from one batched matmul in that precision.
- Arrays in, arrays out; torch tensors in, tensors out on the same device. CUDA tensors run
  one Triton kernel launch per batch (DP and backtrack on the GPU; the torch anti-diagonal
  wavefront where Triton is missing, and on other accelerators), CPU ones the numba
  kernels; all give bit-identical results on the same cost matrix. Results carry no gradient.
- Memory: ``(N + M) * N`` bytes of directions per pair on top of the cost matrix; CPU
  batches are processed in chunks of about :data:`CHUNK_CELLS` cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bgtai.align._dtw_kernels import (
    band_offsets,
    dtw_batch_numba,
    dtw_batch_torch,
    dtw_single_numba,
)
from bgtai.align._dtw_triton import dtw_batch_triton, triton_available

METRICS = ("sqeuclidean", "cosine", "precomputed")
"""Accepted values of ``metric``."""

ArrayLike = np.ndarray | torch.Tensor


@dataclass
class DTWResult:
    """Result of :func:`dtw` for one pair.

    Attributes
    ----------
    cost : float
        Accumulated cost of the optimal path (for ``"sqeuclidean"``, the square of
        dtaidistance's / tslearn's distance).
    path : np.ndarray or torch.Tensor
        ``(K, 2)`` int64 rows ``(i, j)`` from ``(0, 0)`` to ``(N-1, M-1)``.
    acc : np.ndarray or torch.Tensor or None
        ``(N, M)`` accumulated cost (``inf`` outside the band) if requested.
    """

    cost: float
    path: ArrayLike
    acc: ArrayLike | None = None


class PackedPaths(Sequence):
    """The ``B`` paths of a batch as the kernels leave them: ``cells`` ``(B, L, 2)`` int64,
    pair ``b``'s path in its first ``lengths[b]`` rows (zeros after).

    Indexing or iterating gives each path as its own ``(K_b, 2)`` array or tensor (views of
    one packed copy, built on first use). Until then nothing waits for the device, so a
    caller that needs only the alignment matrices (pair selection in training) never stops
    the GPU for the paths, and never builds ``B`` views it does not read.
    """

    def __init__(self, cells: torch.Tensor, lengths: torch.Tensor, as_torch: bool):
        self._cells, self._lengths, self._as_torch = cells, lengths, as_torch
        self._views: list | None = None

    @property
    def cells(self) -> ArrayLike:
        """``(B, L, 2)`` int64: each path start first, zero-padded."""
        return _out(self._cells, self._as_torch)

    @property
    def lengths(self) -> ArrayLike:
        """``(B,)`` int64: the number of cells of each path."""
        return _out(self._lengths, self._as_torch)

    def _built(self) -> list:
        if self._views is None:
            on_path = (torch.arange(self._cells.shape[1], device=self._cells.device)[None, :]
                       < self._lengths[:, None])
            # one packed copy of all paths, split into views: no per-pair copy (or launch)
            self._views = [_out(p, self._as_torch) for p in
                           torch.split(self._cells[on_path], self._lengths.tolist())]
        return self._views

    def __len__(self) -> int:
        return len(self._lengths)

    def __getitem__(self, index):
        return self._built()[index]


@dataclass
class BatchDTWResult:
    """Result of :func:`dtw_batch`.

    Attributes
    ----------
    costs : np.ndarray or torch.Tensor
        ``(B,)`` accumulated costs.
    paths : PackedPaths
        ``B`` paths, each ``(K_b, 2)`` int64 from ``(0, 0)`` to ``(N_b-1, M_b-1)``
        (a sequence; :class:`PackedPaths` also gives them packed, as tensors).
    alignment : np.ndarray or torch.Tensor
        ``(B, N_max, M_max)`` bool: the binary ``Q x T`` alignment matrices, ``True`` on
        each path, ``False`` elsewhere (including outside each pair's lengths).
    acc : np.ndarray or torch.Tensor or None
        ``(B, N_max, M_max)`` accumulated costs if requested, ``inf`` outside each pair's
        lengths and band.
    """

    costs: ArrayLike
    paths: PackedPaths
    alignment: ArrayLike
    acc: ArrayLike | None = None


# --------------------------------------------------------------------------- validation


def _as_tensor(a, name: str) -> tuple[torch.Tensor, bool]:
    """``a`` as a floating tensor (no copy where possible) and whether it was a tensor."""
    was_tensor = isinstance(a, torch.Tensor)
    if was_tensor:
        t = a.detach()
    else:
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError) as e:  # ragged nested lists and the like
            raise ValueError(f"{name} is not a rectangular numeric array: {e}") from None
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
        if arr.dtype == np.float16 or not arr.dtype.isnative or not arr.flags.writeable:
            # torch.from_numpy cannot take float16 or byte-swapped data and warns on
            # read-only arrays: one copy in a dtype it handles
            arr = arr.astype(np.float32 if arr.dtype == np.float16 else arr.dtype.newbyteorder("="))
        t = torch.from_numpy(arr)
    if t.is_complex():
        raise ValueError(f"{name} must be real numbers, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.float64)  # integers and bools: exact in float64
    elif t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float32)  # float16 / bfloat16: no point in a half-precision DP
    return t, was_tensor


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def _check_band(band) -> None:
    if band is None:
        return
    # ValueError, not TypeError, for every bad user input: the UI maps it to gr.Error
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)):
        raise ValueError(f"band must be None or an int, got {band!r}")  # noqa: TRY004
    if band < 0:
        raise ValueError(f"band must be non-negative, got {band}")


def _check_finite(t: torch.Tensor, name: str, mask: torch.Tensor | None = None) -> None:
    """Reject NaN/inf in ``t`` (only where ``mask``, broadcast over trailing dims, is set)."""
    # Fast path for the common all-finite case; numpy on CPU, as one thread is quicker here
    # than waking torch's pool (costly when other processes keep the cores busy).
    if bool(np.isfinite(t.numpy()).all() if t.device.type == "cpu" else torch.isfinite(t).all()):
        return
    bad = ~torch.isfinite(t)
    if mask is not None:
        while mask.dim() < bad.dim():
            mask = mask[..., None]
        bad &= mask
    if bool(bad.any()):
        raise ValueError(f"{name} contains NaN or inf")


def _inputs(x, y, metric: str, rank: int):
    """Validate and convert the inputs of :func:`dtw` (rank 2) or :func:`dtw_batch` (rank 3).

    Returns ``(x, y, as_torch)`` as tensors of one float dtype on one device (``y`` is
    ``None`` for ``"precomputed"``).
    """
    _check_metric(metric)
    if metric == "precomputed":
        if y is not None:
            raise ValueError('with metric="precomputed" pass the cost matrix as x and y=None')
        xt, as_torch = _as_tensor(x, "x")
        if xt.dim() != rank:
            shape = "(N, M)" if rank == 2 else "(B, N, M)"
            raise ValueError(f"precomputed cost matrix must be {shape}, got shape "
                             f"{tuple(xt.shape)}")
        if 0 in xt.shape:
            raise ValueError(f"cost matrix is empty (shape {tuple(xt.shape)})")
        return xt, None, as_torch
    if y is None:
        raise ValueError(f'y is required with metric="{metric}"')
    xt, x_torch = _as_tensor(x, "x")
    yt, y_torch = _as_tensor(y, "y")
    if rank == 2:  # univariate series are accepted as (N,) and read as (N, 1)
        xt = xt[:, None] if xt.dim() == 1 else xt
        yt = yt[:, None] if yt.dim() == 1 else yt
    expect = "(N, D) or (N,)" if rank == 2 else "(B, N, D)"
    for t, name in ((xt, "x"), (yt, "y")):
        if t.dim() != rank:
            raise ValueError(f"{name} must be {expect}, got shape {tuple(t.shape)}")
        if 0 in t.shape:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if xt.shape[-1] != yt.shape[-1]:
        raise ValueError(f"x and y have different feature sizes D: {xt.shape[-1]} vs "
                         f"{yt.shape[-1]}")
    if rank == 3 and xt.shape[0] != yt.shape[0]:
        raise ValueError(f"x and y have different batch sizes: {xt.shape[0]} vs {yt.shape[0]}")
    if xt.device != yt.device:
        raise ValueError(f"x and y are on different devices: {xt.device} vs {yt.device}")
    dtype = torch.promote_types(xt.dtype, yt.dtype)
    return xt.to(dtype), yt.to(dtype), x_torch or y_torch


def _lengths(lengths, B: int, full: int, name: str, device) -> torch.Tensor:
    """Per-pair lengths as an int64 tensor, each in ``[1, full]``."""
    if lengths is None:
        return torch.full((B,), full, dtype=torch.int64, device=device)
    t = lengths.detach() if isinstance(lengths, torch.Tensor) else torch.as_tensor(
        np.asarray(lengths))
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must be integers, got dtype {t.dtype}")
    if tuple(t.shape) != (B,):
        raise ValueError(f"{name} must have shape ({B},), got {tuple(t.shape)}")
    t = t.to(device=device, dtype=torch.int64)
    if bool(((t < 1) | (t > full)).any()):
        raise ValueError(f"{name} must lie in [1, {full}], got {t.tolist()}")
    return t


# ---------------------------------------------------------------------------- cost matrix


def _costs(x: torch.Tensor, y: torch.Tensor, metric: str) -> torch.Tensor:
    """``(B, N, M)`` cell costs of ``(B, N, D)`` and ``(B, M, D)``: one batched matmul."""
    if metric == "sqeuclidean":
        # ||x||^2 + ||y||^2 - 2 x.y; exact for integer-valued float64 inputs, and clamped
        # because rounding can dip just below zero for near-identical vectors.
        C = (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :]
        return C.baddbmm_(x, y.transpose(1, 2), alpha=-2).clamp_(min=0)
    # cosine; zero vectors were rejected where they matter, the clamp keeps padding finite
    xn = x / x.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    yn = y / y.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(y.dtype).tiny)
    ones = torch.ones((), dtype=x.dtype, device=x.device).expand(x.shape[0], x.shape[1],
                                                                 y.shape[1])
    return torch.baddbmm(ones, xn, yn.transpose(1, 2), alpha=-1).clamp_(0, 2)


def _check_cosine(t: torch.Tensor, name: str, mask: torch.Tensor | None = None) -> None:
    zero = t.norm(dim=-1) == 0
    if mask is not None:
        zero &= mask
    if bool(zero.any()):
        raise ValueError(f"{name} has all-zero vectors: the cosine metric is undefined there")


def _check_values(x, y, metric, x_mask=None, y_mask=None) -> None:
    """Reject NaN/inf in ``(B, N, D)`` / ``(B, M, D)`` features or, when ``y`` is None, in a
    ``(B, N, M)`` cost matrix, and zero vectors under the cosine metric; only inside the
    masks (``(B, N)``, ``(B, M)``) when given."""
    if y is None:
        both = None if x_mask is None else x_mask[:, :, None] & y_mask[:, None, :]
        _check_finite(x, "x", both)
        return
    # on an accelerator, one host round trip for the common all-finite case
    if x.device.type == "cpu" or not bool(torch.isfinite(x).all() & torch.isfinite(y).all()):
        _check_finite(x, "x", x_mask)
        _check_finite(y, "y", y_mask)
    if metric == "cosine":
        _check_cosine(x, "x", x_mask)
        _check_cosine(y, "y", y_mask)


def _validated_costs(x, y, metric) -> torch.Tensor:
    """``(B, N, M)`` costs of checked features, or ``x`` itself when ``y`` is None."""
    _check_values(x, y, metric)
    return x if y is None else _costs(x, y, metric)


CHUNK_CELLS = 1 << 22
"""Cells per chunk of a CPU batch (16 MB of float32 costs): small enough to be recycled by
the allocator and to stay mostly in cache, large enough to keep both threads busy."""


def _on_device(C: torch.Tensor) -> bool:
    """Whether ``C`` stays on its accelerator (CUDA and other non-CPU devices)."""
    return C.device.type != "cpu"


def _device_dtw(C, n_len, m_len, lo, hi, return_acc):
    """The accelerator path: Triton on CUDA, else the torch wavefront."""
    kernel = (dtw_batch_triton if C.device.type == "cuda" and triton_available()
              else dtw_batch_torch)
    return kernel(C, n_len, m_len, lo, hi, return_acc)


def _out(t: torch.Tensor, as_torch: bool):
    return t if as_torch else t.numpy()


def cost_matrix(x, y, metric: str = "sqeuclidean"):
    """Cell costs between two sequences, or two batches of them, by one batched matmul.

    Parameters
    ----------
    x, y : np.ndarray or torch.Tensor
        ``(N, D)`` and ``(M, D)``, or ``(B, N, D)`` and ``(B, M, D)``.
    metric : {"sqeuclidean", "cosine"}
        ``||x_i - y_j||^2`` or ``1 - cos(x_i, y_j)``.

    Returns
    -------
    np.ndarray or torch.Tensor
        ``(N, M)`` or ``(B, N, M)``, float64 for float64 or integer inputs else float32;
        a tensor on the inputs' device if either input is a tensor.
    """
    if metric not in ("sqeuclidean", "cosine"):
        raise ValueError(f'metric must be "sqeuclidean" or "cosine", got {metric!r}')
    rank = np.ndim(x) if not isinstance(x, torch.Tensor) else x.dim()
    if rank not in (2, 3):
        raise ValueError(f"x must be (N, D) or (B, N, D), got {rank} dimensions")
    xt, yt, as_torch = _inputs(x, y, metric, rank)
    if rank == 2:
        return _out(_validated_costs(xt[None], yt[None], metric)[0], as_torch)
    return _out(_validated_costs(xt, yt, metric), as_torch)


# -------------------------------------------------------------------------------- DTW


def dtw(x, y=None, *, metric: str = "sqeuclidean", band: int | None = None,
        return_acc: bool = False) -> DTWResult:
    """Exact DTW of one pair: optimal cost and path (conventions in the module docstring).

    Parameters
    ----------
    x : np.ndarray or torch.Tensor
        ``(N, D)`` (or ``(N,)``, read as ``(N, 1)``); with ``metric="precomputed"`` the
        ``(N, M)`` cost matrix.
    y : np.ndarray or torch.Tensor, optional
        ``(M, D)`` (or ``(M,)``); must be ``None`` with ``"precomputed"``.
    metric : {"sqeuclidean", "cosine", "precomputed"}
    band : int, optional
        Sakoe-Chiba half-width in cells; ``None`` for no band.
    return_acc : bool
        Also return the ``(N, M)`` accumulated-cost matrix (for plots).

    Returns
    -------
    DTWResult

    Raises
    ------
    ValueError
        On empty, mis-shaped, non-finite or non-numeric input, or a bad metric or band.
    """
    _check_band(band)
    xt, yt, as_torch = _inputs(x, y, metric, 2)
    C = _validated_costs(xt[None], None if yt is None else yt[None], metric)[0]
    if _on_device(C):
        res = dtw_batch(C[None], metric="precomputed", band=band, return_acc=return_acc)
        return DTWResult(float(res.costs[0]), res.paths[0],
                         res.acc[0] if return_acc else None)
    lo, hi = band_offsets(*C.shape, band)
    cost, path, acc = dtw_single_numba(np.ascontiguousarray(C.numpy()), lo, hi, return_acc)
    if as_torch:
        path, acc = torch.from_numpy(path), torch.from_numpy(acc)
    return DTWResult(float(cost), path, acc if return_acc else None)


def dtw_batch(x, y=None, x_lengths: Sequence[int] | ArrayLike | None = None,
              y_lengths: Sequence[int] | ArrayLike | None = None, *,
              metric: str = "sqeuclidean", band: int | None = None,
              return_acc: bool = False) -> BatchDTWResult:
    """Exact DTW of a ragged batch of pairs (conventions in the module docstring).

    Parameters
    ----------
    x : np.ndarray or torch.Tensor
        ``(B, N, D)`` padded sequences; with ``metric="precomputed"`` the ``(B, N, M)``
        cost matrices.
    y : np.ndarray or torch.Tensor, optional
        ``(B, M, D)``; must be ``None`` with ``"precomputed"``.
    x_lengths, y_lengths : sequence of int or array or tensor, optional
        ``(B,)`` true lengths in ``[1, N]`` and ``[1, M]``; default: the full padded length.
        Padding is ignored (it may hold anything, NaN included).
    metric : {"sqeuclidean", "cosine", "precomputed"}
    band : int, optional
        Sakoe-Chiba half-width in cells, applied to each pair with its own lengths.
    return_acc : bool
        Also return the ``(B, N, M)`` accumulated costs.

    Returns
    -------
    BatchDTWResult

    Raises
    ------
    ValueError
        On empty, mis-shaped, non-finite or non-numeric input, lengths out of range, or a
        bad metric or band.
    """
    _check_band(band)
    xt, yt, as_torch = _inputs(x, y, metric, 3)
    B, N = xt.shape[:2]
    M = xt.shape[2] if yt is None else yt.shape[1]
    dev = xt.device
    n_len = _lengths(x_lengths, B, N, "x_lengths", dev)
    m_len = _lengths(y_lengths, B, M, "y_lengths", dev)
    x_mask = torch.arange(N, device=dev)[None, :] < n_len[:, None]
    y_mask = torch.arange(M, device=dev)[None, :] < m_len[:, None]
    _check_values(xt, yt, metric, x_mask, y_mask)
    lo, hi = band_offsets(n_len, m_len, band)
    # Pairs go through in chunks so that each chunk's cost matrices stay small: one huge
    # (B, N, M) tensor costs page faults and memory traffic that outweigh the DP.
    step = max(1, CHUNK_CELLS // (N * M)) if xt.device.type == "cpu" else B
    parts = []
    for s in range(0, B, step):
        e = min(B, s + step)
        C = xt[s:e] if yt is None else _costs(xt[s:e], yt[s:e], metric)
        if _on_device(C):
            parts.append(_device_dtw(C.contiguous(), n_len[s:e], m_len[s:e], lo[s:e],
                                     hi[s:e], return_acc))
        else:
            parts.append([torch.from_numpy(a) for a in dtw_batch_numba(
                np.ascontiguousarray(C.numpy()), n_len[s:e].numpy(), m_len[s:e].numpy(),
                lo[s:e].numpy(), hi[s:e].numpy(), return_acc)])
    costs, paths, lengths, acc, alignment = (a[0] if len(a) == 1 else torch.cat(a)
                                             for a in zip(*parts))
    return BatchDTWResult(
        costs=_out(costs, as_torch),
        paths=PackedPaths(paths, lengths, as_torch),
        alignment=_out(alignment, as_torch),
        acc=_out(acc, as_torch) if return_acc else None,
    )


def path_to_matrix(path, shape: tuple[int, int]):
    """Binary alignment matrix of a path.

    Parameters
    ----------
    path : np.ndarray or torch.Tensor
        ``(K, 2)`` integer rows ``(i, j)``.
    shape : tuple of int
        ``(N, M)``; every ``(i, j)`` must lie inside it.

    Returns
    -------
    np.ndarray or torch.Tensor
        ``(N, M)`` bool, ``True`` exactly on the path (a tensor on the path's device if
        ``path`` is a tensor).
    """
    as_torch = isinstance(path, torch.Tensor)
    p = path.detach() if as_torch else torch.as_tensor(np.asarray(path))
    if p.dim() != 2 or p.shape[1] != 2:
        raise ValueError(f"path must be (K, 2), got shape {tuple(p.shape)}")
    if p.is_floating_point() or p.is_complex() or p.dtype == torch.bool:
        raise ValueError(f"path must hold integers, got dtype {p.dtype}")
    if len(shape) != 2 or any(int(s) < 1 for s in shape):
        raise ValueError(f"shape must be two positive ints, got {shape!r}")
    N, M = int(shape[0]), int(shape[1])
    p = p.long()
    if bool(((p < 0) | (p >= torch.tensor([N, M], device=p.device))).any()):
        raise ValueError(f"path has cells outside shape {(N, M)}")
    out = torch.zeros((N, M), dtype=torch.bool, device=p.device)
    out[p[:, 0], p[:, 1]] = True
    return _out(out, as_torch)
