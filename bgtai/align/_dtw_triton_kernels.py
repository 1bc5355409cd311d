"""Triton kernels of the one-launch CUDA DTW (imported only when a CUDA batch runs).

See :mod:`bgtai.align._dtw_triton` for the algorithm and the host side.
"""

import triton
import triton.language as tl


@triton.jit
def rows(k, n, m, lo, hi):
    """Rows of anti-diagonal ``k`` in the matrix and the band (``lo <= j - i <= hi``);
    the divisions have non-negative numerators where they matter, so C's truncation and
    the interpreter's floor agree."""
    r_lo = tl.maximum(tl.maximum(k - m + 1, (k - hi + 1) // 2), 0)
    r_hi = tl.minimum(tl.minimum(n - 1, k), (k - lo) // 2)
    return r_lo, r_hi


@triton.jit
def cells(i, c, k, n, r_lo, r_hi, cur, p1, p2, dirb, accb, N, M, WANT_ACC: tl.constexpr):
    """Rows ``i`` of anti-diagonal ``k`` with costs ``c``: the numba kernel's selects."""
    inf = float("inf")
    # One row more on each side is written as inf: the next two anti-diagonals read it.
    in_w = (i >= tl.maximum(r_lo - 1, 0)) & (i <= tl.minimum(r_hi + 1, n - 1))
    valid = (i >= r_lo) & (i <= r_hi)
    d = tl.load(p2 + i, mask=in_w, other=inf)  # acc[i-1, j-1]
    v = tl.load(p1 + i, mask=in_w, other=inf)  # acc[i-1, j]
    h = tl.load(p1 + i + 1, mask=in_w, other=inf)  # acc[i, j-1]
    vh = v <= h
    b1 = tl.where(vh, v, h)
    dd = d <= b1
    step = tl.where(dd, 0, tl.where(vh, 1, 2)).to(tl.uint8)
    val = tl.where(valid, c + tl.where(dd, d, b1), inf)
    tl.store(cur + i + 1, val, mask=in_w)
    tl.store(dirb + k * N + i, step, mask=valid)
    if WANT_ACC:
        tl.store(accb + i * M + (k - i), val, mask=valid)


@triton.jit
def dtw_pairs(C, n_len, m_len, lo_off, hi_off, buf, dirs, costs, acc, rev, path_len, align,
              N, M, WANT_ACC: tl.constexpr, BLOCK: tl.constexpr, ONE_CHUNK: tl.constexpr):
    # 64-bit offsets to each pair's data, 32-bit arithmetic inside a pair (the host checks
    # that a pair's cells and directions fit): 64-bit integer math is several instructions.
    b = tl.program_id(0).to(tl.int64)
    n = tl.load(n_len + b).to(tl.int32)
    m = tl.load(m_len + b).to(tl.int32)
    lo = tl.load(lo_off + b).to(tl.int32)
    hi = tl.load(hi_off + b).to(tl.int32)
    L = N + M - 1
    Cb = C + b * N * M
    accb = acc + b * N * M
    bufb = buf + b * 3 * (N + 1)  # slot k % 3 holds anti-diagonal k at index row + 1
    dirb = dirs + b * L * N  # dirs[k, i]: direction of cell (i, k - i)
    offs = tl.arange(0, BLOCK)
    # All three slots start at +inf (index 0 is the virtual row -1, inf for good).
    # Loops are `while` loops: Triton's interpreter (CI) cannot take tensors in range().
    s0 = 0
    while s0 < 3 * (N + 1):
        idx = s0 + offs
        tl.store(bufb + idx, tl.full([BLOCK], float("inf"), C.dtype.element_ty),
                 mask=idx < 3 * (N + 1))
        s0 += BLOCK
    tl.debug_barrier()
    c00 = tl.load(Cb)
    tl.store(bufb + 1, c00)
    if WANT_ACC:
        tl.store(accb, c00)
    tl.debug_barrier()
    k = n * 0 + 1
    if ONE_CHUNK:
        # All rows in one block: the next anti-diagonal's costs are loaded one step ahead,
        # so their memory latency hides behind this step's work and barrier.
        r_lo, r_hi = rows(k, n, m, lo, hi)
        c = tl.load(Cb + offs * M + (k - offs), mask=(offs >= r_lo) & (offs <= r_hi),
                    other=0.0)
        while k < n + m - 1:
            r_lo, r_hi = rows(k, n, m, lo, hi)
            q_lo, q_hi = rows(k + 1, n, m, lo, hi)
            c_next = tl.load(Cb + offs * M + (k + 1 - offs),
                             mask=(offs >= q_lo) & (offs <= q_hi), other=0.0)
            cells(offs, c, k, n, r_lo, r_hi, bufb + (k % 3) * (N + 1),
                  bufb + ((k + 2) % 3) * (N + 1), bufb + ((k + 1) % 3) * (N + 1), dirb,
                  accb, N, M, WANT_ACC)
            tl.debug_barrier()
            c = c_next
            k += 1
    else:
        while k < n + m - 1:
            r_lo, r_hi = rows(k, n, m, lo, hi)
            r0 = tl.maximum(r_lo - 1, 0)
            while r0 <= tl.minimum(r_hi + 1, n - 1):
                i = r0 + offs
                c = tl.load(Cb + i * M + (k - i), mask=(i >= r_lo) & (i <= r_hi), other=0.0)
                cells(i, c, k, n, r_lo, r_hi, bufb + (k % 3) * (N + 1),
                      bufb + ((k + 2) % 3) * (N + 1), bufb + ((k + 1) % 3) * (N + 1), dirb,
                      accb, N, M, WANT_ACC)
                r0 += BLOCK
            tl.debug_barrier()
            k += 1
    tl.store(costs + b, tl.load(bufb + ((n + m - 2) % 3) * (N + 1) + n))
    # Backtrack from the end cell; the path is written end first.
    revb = rev + b * L * 2
    alb = align + b * N * M
    i = n - 1
    j = m - 1
    t = 0
    while i + j > 0:
        tl.store(revb + 2 * t, i)
        tl.store(revb + 2 * t + 1, j)
        tl.store(alb + i * M + j, 1)
        step = tl.load(dirb + (i + j) * N + i)
        i = tl.where(step != 2, i - 1, i)
        j = tl.where(step != 1, j - 1, j)
        t += 1
    tl.store(revb + 2 * t, i)
    tl.store(revb + 2 * t + 1, j)
    tl.store(alb, 1)
    tl.store(path_len + b, t + 1)
