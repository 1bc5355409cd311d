"""Inner loops of exact DTW: numba kernels for the CPU, a torch wavefront for CUDA.

Both back-ends run the same recurrence with the same floating-point operations and the
same tie-break, so given the same cost matrix they return bit-identical accumulated costs,
directions and paths:

    acc[i, j] = cost[i, j] + min(acc[i-1, j-1], acc[i-1, j], acc[i, j-1]),   acc[0, 0] = cost[0, 0]

The predecessor is chosen with ``<=`` in the order diagonal, vertical (``i - 1``),
horizontal (``j - 1``): the first of the three that reaches the minimum wins. This is
tslearn's ``_return_path`` rule (``argmin`` over ``[diag, up, left]``) and dtaidistance's
pure-Python ``best_path``; dtaidistance's C ``dtw_best_path`` prefers horizontal over
vertical instead, which is the same rule on the transposed problem.

Cells are swept by anti-diagonals ``k = i + j``: every cell of one anti-diagonal depends
only on the two previous ones, so the inner loop has no loop-carried dependency and
vectorises (SIMD in numba, one batched tensor op per anti-diagonal in torch); numba does
it in stripes of rows for cache locality. Only three anti-diagonals of ``acc`` are kept;
backtracking reads a ``uint8`` direction matrix stored by anti-diagonal, ``dirs[k, i]``
for cell ``(i, k - i)``, so memory is ``(N + M) * N`` bytes per pair.

The Sakoe-Chiba band is given as the allowed range ``lo_off <= j - i <= hi_off``; cells
outside it (and outside each pair's lengths) hold ``+inf``.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

DIAG, UP, LEFT = 0, 1, 2
"""Direction codes: predecessor ``(i-1, j-1)``, ``(i-1, j)`` and ``(i, j-1)``."""


def band_offsets(n, m, band: int | None):
    """Allowed range ``lo_off <= j - i <= hi_off`` for an ``n x m`` problem.

    The band keeps ``|i - j| <= band`` around the main diagonal and is widened by
    ``|n - m|`` on the side of the longer sequence, so that ``(n-1, m-1)`` always stays
    reachable. This is tslearn's ``sakoe_chiba_radius=band`` and dtaidistance's
    ``window=band + 1``. ``n`` and ``m`` may be ints or, for a batch, integer arrays or
    tensors (then elementwise, on their device, with no host round trip).
    """
    if band is None:
        return -n, m
    if isinstance(n, (int, np.integer)):
        return -(band + max(0, n - m)), band + max(0, m - n)
    return -(band + (n - m).clip(min=0)), band + (m - n).clip(min=0)


STRIPE = 256
"""Rows swept together. Within a stripe an anti-diagonal's costs are read from ``STRIPE``
rows of the row-major cost matrix, which stay in cache and the TLB while the sweep moves
along them; a whole-matrix anti-diagonal would touch every row (and page)."""


@njit(cache=True, nogil=True, fastmath=False)
def _diag_step(costs, start, stride, d_, v_, h_, out, dk):
    """One anti-diagonal: ``out = c + min(d_, v_, h_)`` and the winning direction in ``dk``,
    where ``c[t] = costs[start + t * stride]`` (the anti-diagonal of a row-major matrix).

    Kept as its own (not inlined) function over 1-d slices, with branch-free selects and
    ``<=`` in the order diagonal, vertical, horizontal: the fastest form measured here.
    """
    for t in range(d_.shape[0]):
        d = d_[t]
        v = v_[t]
        h = h_[t]
        vh = v <= h
        b1 = v if vh else h
        r1 = np.uint8(UP) if vh else np.uint8(LEFT)
        dd = d <= b1
        dk[t] = np.uint8(DIAG) if dd else r1
        out[t] = costs[start + t * stride] + (d if dd else b1)


@njit(cache=True, nogil=True, fastmath=False)
def _pair(C, n, m, lo_off, hi_off, dirs, acc, want_acc, path):
    """DP and backtrack for one pair; returns ``(cost, path_length)``.

    ``C`` is read at ``[:n, :m]``; ``dirs`` needs ``(n + m - 1, n)`` cells; ``path``
    ``(n + m - 1, 2)`` rows, filled from row 0; ``acc`` (written only if ``want_acc``)
    must arrive filled with ``inf``.

    Rows are processed in stripes of :data:`STRIPE`; each stripe is swept by anti-diagonals.
    ``top[j + 1]`` holds ``acc[i0 - 1, j]``, the row above the stripe (``top[0]`` is column
    -1); the virtual ``acc[-1, -1] = 0`` makes ``acc[0, 0] = cost[0, 0] + 0`` with no
    special case. Each stripe writes its last row into ``below`` (``inf`` where it leaves
    the band) for the next one.
    """
    inf = np.inf
    dt = C.dtype
    flat, width = C.ravel(), C.shape[1]
    top = np.full(m + STRIPE + 2, inf, dt)
    below = np.empty(m + STRIPE + 2, dt)
    top[0] = 0.0
    # Anti-diagonal buffers, indexed by stripe row + 1 (index 0 is the row above).
    p2 = np.empty(STRIPE + 2, dt)
    p1 = np.empty(STRIPE + 2, dt)
    cur = np.empty(STRIPE + 2, dt)
    for i0 in range(0, n, STRIPE):
        h = min(STRIPE, n - i0)
        below[:] = inf
        # Cells (i0 + r, t - r) make up global anti-diagonal i0 + t; a stripe row r is in
        # the matrix and the band when 0 <= t - r < m and lo_off <= t - i0 - 2r <= hi_off.
        t_first, t_last = h + m, -1
        for t in range(h + m - 1):
            if (max(0, t - m + 1, -((i0 + hi_off - t) // 2))
                    <= min(h - 1, t, (t - i0 - lo_off) // 2)):
                t_first = min(t_first, t)
                t_last = t
        p2[:] = inf
        p1[:] = inf
        cur[:] = inf
        p2[0] = top[t_first]
        for t in range(t_first, t_last + 1):
            p1[0] = top[t + 1]
            lo = max(0, t - m + 1, -((i0 + hi_off - t) // 2))
            hi = min(h - 1, t, (t - i0 - lo_off) // 2)
            if lo <= hi:
                _diag_step(flat, (i0 + lo) * width + t - lo, width - 1, p2[lo:hi + 1],
                           p1[lo:hi + 1], p1[lo + 1:hi + 2], cur[lo + 1:hi + 2],
                           dirs[i0 + t, i0 + lo:i0 + hi + 1])
                if want_acc:
                    for r in range(lo, hi + 1):
                        acc[i0 + r, t - r] = cur[r + 1]
                if hi == h - 1:
                    below[t - h + 2] = cur[h]
                # Rows just outside this anti-diagonal are read by the next two: keep inf.
                cur[lo] = inf
                cur[hi + 2] = inf
            else:  # only between two non-empty ones, in a zero-width band
                cur[:] = inf
            p2, p1, cur = p1, cur, p2
        top, below = below, top
    cost = top[m]
    # Backtrack from the end, then reverse in place.
    i, j, K = n - 1, m - 1, 0
    while True:
        path[K, 0] = i
        path[K, 1] = j
        K += 1
        if i == 0 and j == 0:
            break
        step = dirs[i + j, i]
        if step == DIAG:
            i -= 1
            j -= 1
        elif step == UP:
            i -= 1
        else:
            j -= 1
    for a in range(K // 2):
        b = K - 1 - a
        t0, t1 = path[a, 0], path[a, 1]
        path[a, 0], path[a, 1] = path[b, 0], path[b, 1]
        path[b, 0], path[b, 1] = t0, t1
    return cost, K


@njit(cache=True, nogil=True, fastmath=False)
def dtw_single_numba(C, lo_off, hi_off, want_acc):
    """Exact DTW of one ``(n, m)`` cost matrix (float32 or float64, C-contiguous).

    Returns ``(cost, path (K, 2) int64, acc)``; ``acc`` is ``(n, m)`` (``inf`` outside
    the band) if ``want_acc`` else an empty ``(0, 0)`` array.
    """
    n, m = C.shape
    dirs = np.empty((n + m - 1, n), np.uint8)
    path = np.empty((n + m - 1, 2), np.int64)
    acc = np.full((n, m) if want_acc else (0, 0), np.inf, C.dtype)
    cost, K = _pair(C, n, m, lo_off, hi_off, dirs, acc, want_acc, path)
    return cost, path[:K].copy(), acc


PARALLEL_MIN_CELLS = 1 << 18
"""Below this many cells a batch runs on one thread: waking the OpenMP pool costs more than
it saves, and far more (milliseconds) when other processes already keep the cores busy."""


def dtw_batch_numba(C, n_len, m_len, lo_off, hi_off, want_acc):
    """Exact DTW of ``(B, N, M)`` cost matrices with per-pair lengths, pairs in parallel.

    ``C`` is C-contiguous float32/float64; the other arrays are ``(B,)`` int64. Returns
    ``(costs (B,), paths (B, N + M - 1, 2), path_lengths (B,), acc, alignment)``: pair
    ``b``'s path is ``paths[b, :path_lengths[b]]``; ``acc`` is ``(B, N, M)`` (``inf``
    outside each pair's lengths and band) if ``want_acc`` else ``(0, 0, 0)``;
    ``alignment`` is the ``(B, N, M)`` bool matrix of the path cells.
    """
    threads = numba.get_num_threads()
    if int(np.dot(n_len, m_len)) < PARALLEL_MIN_CELLS:
        numba.set_num_threads(1)  # thread-local setting, restored below
    try:
        return _dtw_batch_numba(C, n_len, m_len, lo_off, hi_off, want_acc)
    finally:
        numba.set_num_threads(threads)


@njit(cache=True, parallel=True, fastmath=False)
def _dtw_batch_numba(C, n_len, m_len, lo_off, hi_off, want_acc):
    """The parallel kernel behind :func:`dtw_batch_numba` (same arguments and outputs)."""
    B, N, M = C.shape
    costs = np.empty(B, C.dtype)
    paths = np.zeros((B, N + M - 1, 2), np.int64)
    lengths = np.empty(B, np.int64)
    acc = np.full((B, N, M) if want_acc else (0, 0, 0), np.inf, C.dtype)
    alignment = np.zeros((B, N, M), np.bool_)
    for b in prange(B):
        n, m = n_len[b], m_len[b]
        dirs = np.empty((n + m - 1, n), np.uint8)
        acc_b = acc[b] if want_acc else np.empty((0, 0), C.dtype)
        costs[b], lengths[b] = _pair(C[b], n, m, lo_off[b], hi_off[b], dirs, acc_b,
                                     want_acc, paths[b])
        for t in range(lengths[b]):
            alignment[b, paths[b, t, 0], paths[b, t, 1]] = True
    return costs, paths, lengths, acc, alignment


def dtw_batch_torch(C, n_len, m_len, lo_off, hi_off, want_acc):
    """Anti-diagonal wavefront in torch: the device path (CUDA), runnable on any device.

    Same arguments and outputs as :func:`dtw_batch_numba`, as tensors on ``C.device``
    (``n_len``, ``m_len``, ``lo_off``, ``hi_off``: ``(B,)`` int64 tensors). One
    vectorised step per anti-diagonal over the whole batch, then a batched backtrack.
    """
    B, N, M = C.shape
    dev, dt = C.device, C.dtype
    inf = torch.tensor(float("inf"), dtype=dt, device=dev)
    rows = torch.arange(N, device=dev)
    bidx = torch.arange(B, device=dev)
    up, left, diag = (torch.tensor(c, dtype=torch.uint8, device=dev) for c in (UP, LEFT, DIAG))
    # Anti-diagonal buffers, indexed by row + 1 (index 0 is the virtual row -1).
    p2 = torch.full((B, N + 1), float("inf"), dtype=dt, device=dev)
    p1 = p2.clone()
    p1[:, 1] = C[:, 0, 0]
    costs = C[:, 0, 0].clone()
    dirs = torch.zeros((B, N + M - 1, N), dtype=torch.uint8, device=dev)
    acc_skew = torch.full((B, N + M - 1, N) if want_acc else (0, 0, 0), float("inf"),
                          dtype=dt, device=dev)
    if want_acc:
        acc_skew[:, 0, 0] = C[:, 0, 0]
    end = n_len + m_len - 2
    for k in range(1, N + M - 1):
        cols = k - rows
        off = cols - rows
        valid = ((cols >= 0) & (cols < m_len[:, None]) & (rows < n_len[:, None])
                 & (off >= lo_off[:, None]) & (off <= hi_off[:, None]))
        c = C[:, rows, cols.clamp(0, M - 1)]
        d, v, h = p2[:, :N], p1[:, :N], p1[:, 1:]
        # Same selects, in the same order, as the numba kernel.
        vh = v <= h
        b1 = torch.where(vh, v, h)
        dd = d <= b1
        dirs[:, k] = torch.where(dd, diag, torch.where(vh, up, left))
        val = torch.where(valid, c + torch.where(dd, d, b1), inf)
        if want_acc:
            acc_skew[:, k] = val
        p2, p1 = p1, torch.cat([inf.expand(B, 1), val], dim=1)
        costs = torch.where(end == k, p1[bidx, n_len], costs)
    acc = acc_skew
    if want_acc:  # back from (k, i) to (i, j) layout
        j = torch.arange(M, device=dev)
        acc = acc_skew[:, rows[:, None] + j[None, :], rows[:, None].expand(N, M)]
    paths, lengths = backtrack_torch(dirs, n_len, m_len)
    steps = torch.arange(paths.shape[1], device=dev)[None, :] < lengths[:, None]
    alignment = torch.zeros((B, N, M), dtype=torch.bool, device=dev)
    alignment[bidx[:, None].expand_as(steps)[steps], paths[..., 0][steps],
              paths[..., 1][steps]] = True
    return costs, paths, lengths, acc, alignment


def backtrack_torch(dirs, n_len, m_len):
    """Batched backtrack through ``dirs`` (``(B, N + M - 1, N)`` uint8) on its device.

    Returns ``(paths (B, N + M - 1, 2) int64, lengths (B,))`` laid out as in
    :func:`dtw_batch_numba` (rows past a path's length are zero).
    """
    B, L, _ = dirs.shape
    dev = dirs.device
    bidx = torch.arange(B, device=dev)
    i, j = n_len - 1, m_len - 1
    rev = torch.zeros((B, L, 2), dtype=torch.int64, device=dev)
    lengths = torch.zeros(B, dtype=torch.int64, device=dev)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    # A fixed number of steps (no host sync); finished pairs sit at (0, 0).
    for t in range(L):
        rev[:, t, 0] = i
        rev[:, t, 1] = j
        lengths += active.long()
        active = active & ((i > 0) | (j > 0))
        step = dirs[bidx, i + j, i]
        i = torch.where(active & (step != LEFT), i - 1, i)
        j = torch.where(active & (step != UP), j - 1, j)
    return reverse_paths(rev, lengths), lengths


def reverse_paths(rev, lengths):
    """Paths from ``rev`` (``(B, L, 2)``, each path end first in its first ``lengths[b]``
    rows) in start-first order, rows past a path's length zero; one gather, any device."""
    B, L, _ = rev.shape
    pos = torch.arange(L, device=rev.device)[None, :]
    src = (lengths[:, None] - 1 - pos).clamp(min=0)
    paths = torch.gather(rev, 1, src[..., None].expand(B, L, 2))
    return torch.where((pos < lengths[:, None])[..., None], paths, 0)
