"""Exact DTW with paths on a CUDA GPU: the Triton kernel vs the CPU kernels, same process.

Run on a GPU machine: ``python -m benchmarks.dtw_gpu [--json PATH]``. For each of the
settings in :data:`SETTINGS` (float32 features, cost matrix + DP + backtrack, paths returned)
it times the public :func:`bgtai.align.dtw_batch` on CUDA tensors (the one-launch Triton
kernel), the former torch anti-diagonal wavefront on the same GPU, and the numba CPU path on
the same inputs with 2 threads and with all cores, and checks that GPU and CPU paths agree.
A small sweep of ``num_warps`` for the kernel alone (on a precomputed cost matrix) shows how
sensitive it is. Cells/s = B*N*M / median wall time (CUDA synchronised).

Every timed call reads its paths as the ``B`` per-pair tensors (``list(result.paths)``), as
before the paths became :class:`~bgtai.align.dtw.PackedPaths`; ``cuda_packed`` times the same
call when only the packed paths are used (computed on the GPU, per-pair views never built:
what pair selection in training does).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from pathlib import Path

import numba
import numpy as np
import torch

from bgtai.align import dtw_batch
from bgtai.align._dtw_kernels import dtw_batch_torch
from bgtai.align._dtw_triton import dtw_batch_triton

SETTINGS = [(64, 1000, 1300, 64), (256, 200, 260, 64), (1, 1000, 1300, 64)]
"""``(B, N, M, D)``: the issue's three goal settings."""


def _median(fn, budget: float, sync: bool) -> float:
    fn()  # warm-up: compilation, allocator
    times = []
    while len(times) < 3 or (sum(times) < budget and len(times) < 20):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _check_same(gpu, cpu) -> bool:
    """Same paths and costs within float32 rounding of the cost matrices (GPU and CPU GEMMs
    may round differently; bit-identity on one cost matrix is what the tests check)."""
    same_paths = all(np.array_equal(p.cpu().numpy(), q) for p, q in zip(gpu.paths, cpu.paths))
    close = np.allclose(gpu.costs.cpu().numpy(), cpu.costs, rtol=1e-4)
    return bool(same_paths and close)


def setting(B, N, M, D, budget) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, N, D)).astype(np.float32)
    y = rng.standard_normal((B, M, D)).astype(np.float32)
    xg, yg = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    cells = B * N * M
    out = {"B": B, "N": N, "M": M, "D": D}
    out["cuda_s"] = _median(lambda: list(dtw_batch(xg, yg).paths), budget, True)
    out["cuda_packed_s"] = _median(lambda: dtw_batch(xg, yg).paths.cells, budget, True)
    gpu = dtw_batch(xg, yg)
    # the previous CUDA path, through the same public function
    dtw_module = importlib.import_module("bgtai.align.dtw")  # the package rebinds .dtw
    kernel = dtw_module.dtw_batch_triton
    dtw_module.dtw_batch_triton = dtw_batch_torch
    try:
        out["cuda_torch_wavefront_s"] = _median(lambda: list(dtw_batch(xg, yg).paths), budget,
                                                True)
    finally:
        dtw_module.dtw_batch_triton = kernel
    for threads in (2, os.cpu_count()):
        torch.set_num_threads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        out[f"cpu_{threads}_threads_s"] = _median(lambda: list(dtw_batch(x, y).paths), budget,
                                                  False)
    cpu = dtw_batch(x, y)
    out["gpu_equals_cpu"] = _check_same(gpu, cpu)
    for key in [k for k in out if k.endswith("_s")]:
        out[key.removesuffix("_s") + "_cells_per_s"] = cells / out[key]
    out["cuda_over_cpu_2_threads"] = out["cpu_2_threads_s"] / out["cuda_s"]
    out["cuda_over_cpu_all_threads"] = out[f"cpu_{os.cpu_count()}_threads_s"] / out["cuda_s"]
    out["cuda_over_torch_wavefront"] = out["cuda_torch_wavefront_s"] / out["cuda_s"]
    # the kernel alone on a precomputed cost matrix, by num_warps
    C = torch.cdist(xg, yg).square_().contiguous()
    n, m = (torch.full((B,), v, dtype=torch.int64, device=C.device) for v in (N, M))
    lo, hi = torch.full_like(n, -N), torch.full_like(n, M)
    for warps in (2, 4, 8, 16):
        secs = _median(lambda: dtw_batch_triton(C, n, m, lo, hi, False, num_warps=warps),
                       budget / 4, True)
        out[f"kernel_warps{warps}_cells_per_s"] = cells / secs
    return out


def main(argv=None) -> dict:
    """Time every setting; returns what it writes to ``--json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per measurement")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        ap.error("needs a CUDA device")
    data = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "settings": []}
    for B, N, M, D in SETTINGS:
        r = setting(B, N, M, D, args.budget)
        data["settings"].append(r)
        print(f"B={B} {N}x{M} D={D}: CUDA {r['cuda_cells_per_s'] / 1e9:.2f} G cells/s "
              f"(packed paths {r['cuda_packed_cells_per_s'] / 1e9:.2f}), "
              f"wavefront {r['cuda_torch_wavefront_cells_per_s'] / 1e9:.3f}, CPU 2 threads "
              f"{r['cpu_2_threads_cells_per_s'] / 1e9:.3f}, same={r['gpu_equals_cpu']}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    return data


if __name__ == "__main__":
    main()
