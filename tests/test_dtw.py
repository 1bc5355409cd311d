"""Exact DTW (bgtai.align.dtw) against dtaidistance and tslearn, and its own contracts."""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from dtaidistance import dtw as dd_dtw
from dtaidistance import dtw_ndim as dd_ndim
from scipy.spatial.distance import cdist
from tslearn.metrics import dtw_path as ts_dtw_path

from bgtai.align import (
    BatchDTWResult,
    DTWResult,
    cost_matrix,
    dtw,
    dtw_batch,
    path_to_matrix,
)
from bgtai.align._dtw_kernels import STRIPE, band_offsets, dtw_batch_numba, dtw_batch_torch

SHAPES = [(1, 1), (1, 7), (6, 1), (5, 5), (9, 13), (17, 11), (30, 41)]
BANDS = [None, 0, 1, 3]


def as_list(path):
    return [tuple(int(v) for v in row) for row in np.asarray(path)]


def transposed(path):
    return [(j, i) for i, j in path]


def tslearn_ref(x, y, band):
    kw = {} if band is None else {"global_constraint": "sakoe_chiba",
                                   "sakoe_chiba_radius": band}
    path, dist = ts_dtw_path(x, y, **kw)
    return as_list(path), dist


def dd_kw(band):
    # dtaidistance's window w keeps |i - j| < w: our half-width band is window=band + 1
    return {} if band is None else {"window": band + 1}


def random_pair(rng, n, m, d=3, integer=False):
    if integer:  # 2-d binary vectors: cell costs in {0, 1, 2}, accumulated costs tie a lot
        return (rng.integers(0, 2, (n, 2)).astype(np.float64),
                rng.integers(0, 2, (m, 2)).astype(np.float64))
    return rng.standard_normal((n, d)), rng.standard_normal((m, d))


def reference_dtw(C, band=None):
    """Textbook DP over the full matrix in plain Python (slow, for small cases only)."""
    n, m = C.shape
    lo, hi = band_offsets(n, m, band)
    acc = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            if not lo <= j - i <= hi:
                continue
            if i == 0 and j == 0:
                acc[i, j] = C[i, j]
                continue
            prev = [acc[i - 1, j - 1] if i and j else np.inf,
                    acc[i - 1, j] if i else np.inf,
                    acc[i, j - 1] if j else np.inf]
            acc[i, j] = C[i, j] + min(prev)
    return acc


# --------------------------------------------------------------- equality with libraries


@pytest.mark.parametrize("integer", [False, True], ids=["random", "integer-ties"])
@pytest.mark.parametrize("band", BANDS)
def test_matches_tslearn(integer, band):
    rng = np.random.default_rng(0 if integer else 1)
    for n, m in SHAPES:
        for _ in range(3):
            x, y = random_pair(rng, n, m, integer=integer)
            res = dtw(x, y, band=band)
            ref_path, ref_dist = tslearn_ref(x, y, band)
            assert np.sqrt(res.cost) == pytest.approx(ref_dist, rel=1e-12, abs=1e-9)
            assert as_list(res.path) == ref_path


@pytest.mark.parametrize("integer", [False, True], ids=["random", "integer-ties"])
@pytest.mark.parametrize("band", BANDS)
def test_matches_dtaidistance(integer, band):
    rng = np.random.default_rng(2 if integer else 3)
    for n, m in SHAPES:
        for _ in range(3):
            x, y = random_pair(rng, n, m, integer=integer)
            res = dtw(x, y, band=band)
            ours = as_list(res.path)
            dist = dd_ndim.distance(x, y, **dd_kw(band))
            assert np.sqrt(res.cost) == pytest.approx(dist, rel=1e-12, abs=1e-9)
            # dtaidistance's Python best_path uses our rule (diagonal, vertical, horizontal)
            py_path = dd_ndim.warping_path(x, y, use_c=False, **dd_kw(band))
            assert as_list(py_path) == ours
            # its C backtrack prefers horizontal over vertical: the same rule on (y, x)
            c_path, c_dist = dd_dtw.warping_path_fast(y, x, include_distance=True,
                                                      **dd_kw(band))
            assert transposed(as_list(c_path)) == ours
            assert np.sqrt(res.cost) == pytest.approx(c_dist, rel=1e-12, abs=1e-9)
            c_ndim = dd_ndim.warping_path(y, x, use_c=True, **dd_kw(band))
            assert transposed(as_list(c_ndim)) == ours


@pytest.mark.parametrize("n, m, band, integer", [
    (2 * STRIPE + 37, 700, None, False),
    (2 * STRIPE + 37, 700, 5, True),
    (3 * STRIPE, 3 * STRIPE, 0, True),
    (STRIPE + 1, 2, None, False),
    (600, 1, None, False),
])
def test_long_sequences_across_row_stripes(n, m, band, integer):
    """Sequences longer than the kernel's row stripe, so stripe boundaries are exercised."""
    rng = np.random.default_rng(n + m)
    x, y = random_pair(rng, n, m, integer=integer)
    res = dtw(x, y, band=band, return_acc=True)
    ref_path, ref_dist = tslearn_ref(x, y, band)
    assert np.sqrt(res.cost) == pytest.approx(ref_dist, rel=1e-12)
    assert as_list(res.path) == ref_path
    _, wps = dd_ndim.warping_paths(x, y, use_c=True, **dd_kw(band))
    np.testing.assert_allclose(np.sqrt(res.acc), wps[1:, 1:], rtol=1e-12)


def test_integer_cases_really_are_tie_heavy():
    """Vertical-vs-horizontal ties must be common, or the tie tests prove little: the two
    libraries' rules then give different paths on the same input."""
    rng = np.random.default_rng(4)
    differ = 0
    for _ in range(60):
        x, y = random_pair(rng, 20, 25, integer=True)
        ours = as_list(dtw(x, y).path)
        differ += as_list(dd_dtw.warping_path_fast(x, y)) != ours
    assert differ >= 5


def test_unusual_numpy_layouts_are_accepted(recwarn):
    rng = np.random.default_rng(17)
    x, y = random_pair(rng, 7, 9)
    ref = as_list(dtw(x, y).path)
    read_only = x.copy()
    read_only.flags.writeable = False
    for xv, yv in ((read_only, y), (x.astype(">f8"), y), (x.tolist(), np.asfortranarray(y))):
        assert as_list(dtw(xv, yv).path) == ref
    assert not [w for w in recwarn if "writable" in str(w.message)]
    half = dtw_batch(x[None].astype(np.float16), y[None].astype(np.float16))
    assert half.costs.dtype == np.float32


def test_univariate_input_matches_column_input():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal(12), rng.standard_normal(9)
    a, b = dtw(x, y), dtw(x[:, None], y[:, None])
    assert a.cost == b.cost and np.array_equal(a.path, b.path)
    assert np.sqrt(a.cost) == pytest.approx(dd_dtw.distance_fast(x, y), rel=1e-12)


# ------------------------------------------------------------------------------ batches


@pytest.mark.parametrize("band", [None, 2])
@pytest.mark.parametrize("integer", [False, True], ids=["random", "integer-ties"])
def test_ragged_batch_matches_tslearn_and_single(band, integer):
    rng = np.random.default_rng(6)
    B, N, M = 7, 12, 15
    x, y = random_pair(rng, B * N, B * M, integer=integer)
    x, y = x.reshape(B, N, -1), y.reshape(B, M, -1)
    xl = np.array([1, 12, 5, 9, 12, 3, 7])
    yl = np.array([15, 1, 5, 14, 2, 15, 8])
    # padding may hold anything: it must not leak into the result
    for b in range(B):
        x[b, xl[b]:] = np.nan
        y[b, yl[b]:] = np.inf
    res = dtw_batch(x, y, xl, yl, band=band, return_acc=True)
    assert isinstance(res, BatchDTWResult)
    assert res.costs.shape == (B,) and res.alignment.shape == (B, N, M)
    assert res.alignment.dtype == bool and res.acc.shape == (B, N, M)
    for b in range(B):
        xb, yb = x[b, :xl[b]], y[b, :yl[b]]
        ref_path, ref_dist = tslearn_ref(xb, yb, band)
        assert np.sqrt(res.costs[b]) == pytest.approx(ref_dist, rel=1e-12, abs=1e-9)
        assert as_list(res.paths[b]) == ref_path
        # (BLAS may round a padded batch's cost matrix differently in the last bit)
        single = dtw(xb, yb, band=band, return_acc=True)
        assert res.costs[b] == pytest.approx(single.cost, rel=1e-12)
        np.testing.assert_allclose(res.acc[b, :xl[b], :yl[b]], single.acc, rtol=1e-12)
        assert np.isinf(res.acc[b, xl[b]:]).all() and np.isinf(res.acc[b, :, yl[b]:]).all()
        expected = np.zeros((N, M), bool)
        expected[:xl[b], :yl[b]] = path_to_matrix(single.path, (xl[b], yl[b]))
        np.testing.assert_array_equal(res.alignment[b], expected)


def test_batch_split_into_chunks_gives_the_same_result(monkeypatch):
    dtw_module = importlib.import_module("bgtai.align.dtw")  # the package rebinds .dtw
    rng = np.random.default_rng(18)
    x, y = random_pair(rng, 7 * 10, 7 * 12, integer=True)  # integers: costs exact
    args = (x.reshape(7, 10, -1), y.reshape(7, 12, -1), [10, 3, 7, 10, 1, 5, 9],
            [12, 12, 2, 6, 9, 1, 11])
    whole = dtw_batch(*args, band=2, return_acc=True)
    monkeypatch.setattr(dtw_module, "CHUNK_CELLS", 2 * 10 * 12)  # chunks of 2 pairs
    chunked = dtw_batch(*args, band=2, return_acc=True)
    for field in ("costs", "alignment", "acc"):
        np.testing.assert_array_equal(getattr(whole, field), getattr(chunked, field))
    for p, q in zip(whole.paths, chunked.paths):
        np.testing.assert_array_equal(p, q)


def test_batch_default_lengths_and_precomputed():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 10, 5)), rng.standard_normal((4, 13, 5))
    res = dtw_batch(x, y)
    pre = dtw_batch(cost_matrix(x, y), metric="precomputed")
    np.testing.assert_array_equal(res.costs, pre.costs)
    for b in range(4):
        assert as_list(res.paths[b]) == tslearn_ref(x[b], y[b], None)[0]
        np.testing.assert_array_equal(res.paths[b], pre.paths[b])


# ------------------------------------------------------------------ planted path, acc


def planted_case(rng, n, m):
    """A random monotone path from (0, 0) to (n-1, m-1), zero cost on it, >= 1 elsewhere.

    Vertical and horizontal moves are never adjacent (a diagonal always separates them), so
    no diagonal shortcut through the planted cells exists and the path is the unique
    zero-cost one.
    """
    n_diag = rng.integers(1 if n > 1 and m > 1 else 0, min(n, m))
    n_up, n_left = n - 1 - n_diag, m - 1 - n_diag
    slots = n_diag + 1  # runs of one kind of move go between diagonal moves
    order = rng.permutation(slots)
    n_up_slots = rng.integers(1, slots) if n_up and n_left else (slots if n_up else 0)
    runs = [[] for _ in range(slots)]
    for kind, total, chosen in (((1, 0), n_up, order[:n_up_slots]),
                                ((0, 1), n_left, order[n_up_slots:])):
        if total:
            for slot, count in zip(chosen, rng.multinomial(total, [1 / len(chosen)] * len(chosen))):
                runs[slot] = [kind] * count
    moves = []
    for s in range(slots):
        moves += runs[s] + ([(1, 1)] if s < n_diag else [])
    path = [(0, 0)]
    for di, dj in moves:
        path.append((path[-1][0] + di, path[-1][1] + dj))
    assert path[-1] == (n - 1, m - 1)
    C = rng.uniform(1.0, 2.0, (n, m))
    C[tuple(np.array(path).T)] = 0.0
    return C, path


def test_planted_path_is_recovered():
    rng = np.random.default_rng(8)
    for n, m in [(1, 9), (9, 1), (20, 20), (37, 53), (200, 140), (2 * STRIPE + 9, 400)]:
        C, path = planted_case(rng, n, m)
        res = dtw(C, metric="precomputed")
        assert res.cost == 0.0
        assert as_list(res.path) == path


def test_acc_matrix_matches_reference_and_dtaidistance():
    rng = np.random.default_rng(9)
    for band in BANDS:
        x, y = random_pair(rng, 9, 14)
        res = dtw(x, y, band=band, return_acc=True)
        C = cdist(x, y, "sqeuclidean")
        np.testing.assert_allclose(res.acc, reference_dtw(C, band), rtol=1e-12)
        _, wps = dd_ndim.warping_paths(x, y, **dd_kw(band))  # sqrt of acc, padded
        np.testing.assert_allclose(np.sqrt(res.acc), wps[1:, 1:], rtol=1e-12)
        assert res.acc[-1, -1] == res.cost
    assert dtw(x, y).acc is None


# ------------------------------------------------------------------ metrics, precision


def test_cost_matrix_against_scipy():
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((8, 4))
    np.testing.assert_allclose(cost_matrix(x, y), cdist(x, y, "sqeuclidean"), atol=1e-12)
    np.testing.assert_allclose(cost_matrix(x, y, "cosine"), cdist(x, y, "cosine"),
                               atol=1e-12)
    xb, yb = np.stack([x, 2 * x]), np.stack([y, y - 1])
    batched = cost_matrix(xb, yb)
    assert batched.shape == (2, 6, 8)
    np.testing.assert_allclose(batched[1], cdist(2 * x, y - 1, "sqeuclidean"), atol=1e-12)


def test_cosine_metric_against_direct_computation():
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((10, 6)), rng.standard_normal((14, 6))
    direct = 1.0 - (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (
        y / np.linalg.norm(y, axis=1, keepdims=True)).T
    res = dtw(x, y, metric="cosine", return_acc=True)
    np.testing.assert_allclose(res.acc, reference_dtw(direct), rtol=1e-12)
    # cosine ignores scale
    scaled = dtw(3.0 * x, 0.5 * y, metric="cosine")
    assert scaled.cost == pytest.approx(res.cost, rel=1e-12)
    assert np.array_equal(scaled.path, res.path)


def test_float32_inputs_stay_float32_and_close():
    rng = np.random.default_rng(12)
    x, y = random_pair(rng, 30, 40, d=8)
    r32 = dtw_batch(x[None].astype(np.float32), y[None].astype(np.float32))
    r64 = dtw_batch(x[None], y[None])
    assert r32.costs.dtype == np.float32 and r64.costs.dtype == np.float64
    assert r32.costs[0] == pytest.approx(r64.costs[0], rel=1e-5)
    xi, yi = random_pair(rng, 10, 12, integer=True)
    assert dtw(xi.astype(np.int64), yi.astype(np.int64)).cost == dtw(xi, yi).cost


# -------------------------------------------------------------------- torch and CUDA


def test_torch_in_torch_out():
    rng = np.random.default_rng(13)
    x, y = random_pair(rng, 11, 16)
    ref = dtw(x, y, return_acc=True)
    res = dtw(torch.from_numpy(x), torch.from_numpy(y), return_acc=True)
    assert isinstance(res, DTWResult) and isinstance(res.cost, float)
    assert isinstance(res.path, torch.Tensor) and res.path.dtype == torch.int64
    assert res.cost == ref.cost
    assert torch.equal(res.path, torch.from_numpy(ref.path))
    assert torch.equal(res.acc, torch.from_numpy(ref.acc))
    batch = dtw_batch(torch.from_numpy(x)[None], torch.from_numpy(y)[None])
    assert isinstance(batch.costs, torch.Tensor) and isinstance(batch.alignment, torch.Tensor)
    assert isinstance(batch.paths[0], torch.Tensor)
    assert isinstance(cost_matrix(torch.from_numpy(x), y), torch.Tensor)


def _band_args(n_len, m_len, band):
    offs = [band_offsets(int(n), int(m), band) for n, m in zip(n_len, m_len)]
    return (np.array([o[0] for o in offs]), np.array([o[1] for o in offs]))


@pytest.mark.parametrize("band", [None, 0, 2])
@pytest.mark.parametrize("integer", [False, True], ids=["random", "integer-ties"])
def test_torch_wavefront_equals_numba_on_cpu(band, integer):
    """The CUDA algorithm, run on CPU tensors, is bit-identical to the numba kernels."""
    rng = np.random.default_rng(14)
    B, N, M = 6, 13, 10
    x, y = random_pair(rng, B * N, B * M, integer=integer)
    C = np.ascontiguousarray(cost_matrix(x.reshape(B, N, -1), y.reshape(B, M, -1)))
    n_len, m_len = np.array([13, 1, 7, 13, 4, 9]), np.array([10, 10, 1, 3, 10, 6])
    lo, hi = _band_args(n_len, m_len, band)
    ref = dtw_batch_numba(C, n_len, m_len, lo, hi, True)
    got = dtw_batch_torch(*(torch.from_numpy(a) for a in (C, n_len, m_len, lo, hi)), True)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b.numpy())


def test_device_dispatch_through_public_api(monkeypatch):
    """dtw / dtw_batch routed to the torch wavefront (as CUDA tensors are) agree exactly."""
    dtw_module = importlib.import_module("bgtai.align.dtw")  # the package rebinds .dtw

    rng = np.random.default_rng(16)
    x, y = (torch.from_numpy(a) for a in random_pair(rng, 3 * 9, 3 * 12, integer=True))
    x, y = x.reshape(3, 9, -1), y.reshape(3, 12, -1)
    args = (x, y, [9, 4, 1], [12, 12, 5])
    ref_batch = dtw_batch(*args, band=1, return_acc=True)
    ref_single = dtw(x[0], y[0], return_acc=True)
    monkeypatch.setattr(dtw_module, "_on_device", lambda C: True)
    got_batch = dtw_batch(*args, band=1, return_acc=True)
    got_single = dtw(x[0], y[0], return_acc=True)
    for field in ("costs", "alignment", "acc"):
        assert torch.equal(getattr(ref_batch, field), getattr(got_batch, field))
    for p, q in zip(ref_batch.paths, got_batch.paths):
        assert torch.equal(p, q)
    assert got_single.cost == ref_single.cost
    assert torch.equal(got_single.path, ref_single.path)
    assert torch.equal(got_single.acc, ref_single.acc)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu():
    rng = np.random.default_rng(15)
    for integer in (False, True):
        x, y = random_pair(rng, 4 * 50, 4 * 70, d=16, integer=integer)
        x, y = x.reshape(4, 50, -1), y.reshape(4, 70, -1)  # integer pairs are 2-d
        C = cost_matrix(x, y)  # the same cost matrix on both sides: bit-identical DP
        lengths = ([50, 20, 1, 33], [70, 70, 9, 1])
        for band in (None, 3):
            cpu = dtw_batch(C, None, *lengths, metric="precomputed", band=band,
                            return_acc=True)
            gpu = dtw_batch(torch.from_numpy(C).cuda(), None, *lengths,
                            metric="precomputed", band=band, return_acc=True)
            assert gpu.costs.is_cuda and gpu.paths[0].is_cuda
            np.testing.assert_array_equal(cpu.costs, gpu.costs.cpu().numpy())
            np.testing.assert_array_equal(cpu.acc, gpu.acc.cpu().numpy())
            np.testing.assert_array_equal(cpu.alignment, gpu.alignment.cpu().numpy())
            for p, q in zip(cpu.paths, gpu.paths):
                np.testing.assert_array_equal(p, q.cpu().numpy())
        # features on the GPU: cost matrices may round differently, results must agree
        single_cpu = dtw(x[0], y[0])
        single_gpu = dtw(torch.from_numpy(x[0]).cuda(), torch.from_numpy(y[0]).cuda())
        assert single_gpu.path.is_cuda
        assert single_gpu.cost == pytest.approx(single_cpu.cost, rel=1e-9)
        np.testing.assert_array_equal(single_gpu.path.cpu().numpy(), single_cpu.path)


TRITON_CHECK = """
import numpy as np, torch
from bgtai.align._dtw_kernels import band_offsets, dtw_batch_numba
from bgtai.align._dtw_triton import dtw_batch_triton
rng = np.random.default_rng(21)
cases = [(3, 7, 9, None, None, np.float32), (4, 12, 10, 2, None, np.float64),
         (2, 40, 33, None, 16, np.float32), (3, 20, 20, 0, None, np.float32),
         (2, 5, 1, None, None, np.float32), (2, 1, 6, None, None, np.float64),
         (3, 37, 45, 3, 8, np.float64)]
for B, N, M, band, block, dt in cases:
    C = rng.random((B, N, M)).astype(dt)
    C[0] = np.round(C[0] * 3)  # ties everywhere: the tie-break must match too
    n, m = rng.integers(1, N + 1, B), rng.integers(1, M + 1, B)
    n[0], m[0] = N, M
    lo, hi = np.array([band_offsets(int(a), int(b), band) for a, b in zip(n, m)]).T.copy()
    for want_acc in (True, False):
        ref = dtw_batch_numba(C, n, m, lo, hi, want_acc)
        got = dtw_batch_triton(*(torch.from_numpy(a) for a in (C, n, m, lo, hi)), want_acc,
                               block=block)
        for name, r, g in zip(("costs", "paths", "lengths", "acc", "alignment"), ref, got):
            assert np.array_equal(np.asarray(r), g.numpy()), (B, N, M, band, block, name)
print("triton kernel == numba kernel")
"""


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")
def test_triton_kernel_matches_numba_in_the_interpreter():
    """The CUDA kernel, run by Triton's CPU interpreter, is bit-identical to the numba one:
    ragged pairs, bands (zero width too), float32/64, ties, rows in several chunks."""
    env = dict(os.environ, TRITON_INTERPRET="1")  # read when the kernel is compiled
    out = subprocess.run([sys.executable, "-c", TRITON_CHECK], env=env, capture_output=True,
                         text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "triton kernel == numba kernel" in out.stdout


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("block", [None, 256])
def test_cuda_triton_large_pairs_equal_cpu(block):
    """Long pairs (rows over one chunk with block=256, and 1500 rows by default) agree with
    the numba kernels on the same cost matrix, bit for bit."""
    from bgtai.align._dtw_triton import dtw_batch_triton

    rng = np.random.default_rng(22)
    C = rng.random((3, 1500, 1200)).astype(np.float32)
    n, m = np.array([1500, 999, 1]), np.array([1200, 1200, 700])
    for band in (None, 40):
        lo, hi = np.array([band_offsets(int(a), int(b), band) for a, b in zip(n, m)]).T.copy()
        ref = dtw_batch_numba(C, n, m, lo, hi, False)
        got = dtw_batch_triton(*(torch.from_numpy(a).cuda() for a in (C, n, m, lo, hi)), False,
                               block=block)
        for r, g in zip(ref, got):
            np.testing.assert_array_equal(np.asarray(r), g.cpu().numpy())


# ---------------------------------------------------------------------- path_to_matrix


def test_path_to_matrix():
    path = np.array([[0, 0], [1, 0], [1, 1], [2, 2]])
    expected = np.zeros((3, 4), bool)
    expected[[0, 1, 1, 2], [0, 0, 1, 2]] = True
    np.testing.assert_array_equal(path_to_matrix(path, (3, 4)), expected)
    t = path_to_matrix(torch.from_numpy(path), (3, 4))
    assert isinstance(t, torch.Tensor) and torch.equal(t, torch.from_numpy(expected))
    with pytest.raises(ValueError, match="outside"):
        path_to_matrix(path, (2, 4))
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        path_to_matrix(path[:, :1], (3, 4))


# ------------------------------------------------------------------------ bad inputs

GOOD = np.zeros((4, 3))


@pytest.mark.parametrize("x, y, kwargs, match", [
    (np.zeros((0, 3)), GOOD, {}, "empty"),
    (GOOD, np.zeros((4, 0)), {}, "empty"),
    (GOOD, np.zeros((4, 2)), {}, "feature sizes"),
    (np.array([[np.nan, 0, 0]]), GOOD, {}, "NaN or inf"),
    (GOOD, np.array([[np.inf, 0, 0]]), {}, "NaN or inf"),
    (np.array([["a", "b"]]), GOOD, {}, "real numbers"),
    (GOOD.astype(complex), GOOD, {}, "real numbers"),
    (np.array([[object()]]), GOOD, {}, "real numbers"),
    (np.zeros((2, 4, 3)), GOOD, {}, "must be"),
    (GOOD, GOOD, {"metric": "euclid"}, "metric"),
    (GOOD, GOOD, {"band": -1}, "band"),
    (GOOD, GOOD, {"band": 1.5}, "band"),
    (GOOD, None, {}, "y is required"),
    (GOOD, GOOD, {"metric": "precomputed"}, "y=None"),
    (np.zeros(3), None, {"metric": "precomputed"}, "must be"),
    (GOOD, GOOD, {"metric": "cosine"}, "all-zero"),
])
def test_dtw_rejects_bad_input(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtw(x, y, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"x_lengths": [4, 0]}, "x_lengths"),
    ({"x_lengths": [4, 5]}, "x_lengths"),
    ({"y_lengths": [1]}, "y_lengths"),
    ({"y_lengths": [1.0, 2.0]}, "integers"),
])
def test_dtw_batch_rejects_bad_lengths(kwargs, match):
    x, y = np.ones((2, 4, 3)), np.ones((2, 6, 3))
    with pytest.raises(ValueError, match=match):
        dtw_batch(x, y, **kwargs)


def test_dtw_batch_rejects_bad_shapes():
    with pytest.raises(ValueError, match="batch sizes"):
        dtw_batch(np.ones((2, 4, 3)), np.ones((3, 6, 3)))
    with pytest.raises(ValueError, match=r"\(B, N, D\)"):
        dtw_batch(np.ones((4, 3)), np.ones((6, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):  # inside the lengths it counts
        dtw_batch(np.full((1, 4, 3), np.nan), np.ones((1, 6, 3)), [1], [6])
    with pytest.raises(ValueError, match="metric"):
        cost_matrix(GOOD, GOOD, "precomputed")


# ------------------------------------------------------------------------- benchmark


def test_benchmark_quick_run_writes_json(tmp_path):
    from benchmarks.dtw import main

    out = tmp_path / "dtw.json"
    main(["--quick", "--json", str(out)])
    data = json.loads(out.read_text())
    assert {"machine", "results"} <= set(data)
    assert data["results"]
    for row in data["results"]:
        assert {"impl", "N", "M", "D", "B", "cells_per_s", "pairs_per_s"} <= set(row)
    impls = {row["impl"] for row in data["results"]}
    assert {"bgtai", "dtaidistance", "tslearn"} <= impls


def test_batch_paths_are_packed_until_read():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.standard_normal((3, 6, 2)))
    y = torch.from_numpy(rng.standard_normal((3, 9, 2)))
    res = dtw_batch(x, y, x_lengths=[6, 2, 4], y_lengths=[9, 9, 1])
    packed = res.paths
    assert packed._views is None and len(packed) == 3  # nothing built for len()
    assert packed.cells.shape == (3, 6 + 9 - 1, 2)
    for b in range(3):
        k = int(packed.lengths[b])
        assert torch.equal(packed[b], packed.cells[b, :k])
        assert (packed.cells[b, k:] == 0).all()
        single = dtw(x[b, : [6, 2, 4][b]], y[b, : [9, 9, 1][b]])
        assert torch.equal(packed[b], single.path)
    assert [p.shape[0] for p in packed] == packed.lengths.tolist()
    as_arrays = dtw_batch(x.numpy(), y.numpy(), x_lengths=[6, 2, 4], y_lengths=[9, 9, 1]).paths
    assert isinstance(as_arrays.cells, np.ndarray) and isinstance(as_arrays[0], np.ndarray)
