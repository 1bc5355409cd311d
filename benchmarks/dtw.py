"""Speed of exact DTW with paths: bgtai vs dtaidistance and tslearn, same process, same inputs.

Run ``python -m benchmarks.dtw [--json PATH] [--quick]``. The full run
sweeps N in {50, 200, 1000, 2000} (M = 1.3 N), D in {16, 64, 256, 1024}, B in {1, 64},
plus the issue's two goal settings, and rewrites its section of ``docs/benchmarks.md``
(between the ``dtw-cpu`` markers) and ``docs/img/dtw_benchmark.png``; the CUDA kernel has
its own benchmark, :mod:`benchmarks.dtw_gpu`; ``--quick`` is a seconds-long smoke run that writes only
the JSON. Every implementation returns the cost and the path. A setting is skipped for an
implementation when its estimated time (extrapolated from the measured per-cell time of a
smaller run) exceeds the budget, so the full run stays within a few minutes; skips are
listed in the table.

Threads: bgtai uses 2 (torch intra-op for the matmul, numba ``prange`` over pairs).
dtaidistance's path functions and tslearn's ``dtw_path`` have no multi-threaded form (one
pair per call, the GIL held), so their batches run pair by pair on one thread.
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting (the default) collapse when other processes share
# the cores: tens of milliseconds lost per parallel region. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from bgtai.align import cost_matrix, dtw, dtw_batch

THREADS = 2
FULL = {"N": (50, 200, 1000, 2000), "D": (16, 64, 256, 1024), "B": (1, 64)}
GOALS = [  # (B, N, M, D): the targets
    (1, 1000, 1300, 64),
    (64, 200, 200, 64),
]
BUDGET_S = {"full": 4.0, "quick": 0.5}
MAX_BYTES = 4e9  # inputs + cost matrices held at once
DOCS = Path(__file__).resolve().parent.parent / "docs"


def machine() -> dict:
    """What the numbers were measured on, including how busy the machine was."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    import dtaidistance
    import numba
    import tslearn

    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "threads": THREADS,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {"numpy": np.__version__, "torch": torch.__version__,
                     "numba": numba.__version__, "dtaidistance": dtaidistance.__version__,
                     "tslearn": tslearn.__version__},
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


# ------------------------------------------------------------------------ implementations


def run_bgtai(x, y):
    if x.shape[0] == 1:
        return dtw(x[0], y[0])
    return _with_path_list(dtw_batch(x, y))


def _with_path_list(result):
    """Build the per-pair paths, as the other libraries return them (they are lazy)."""
    list(result.paths)
    return result


def run_dtaidistance(x, y):
    from dtaidistance import dtw as dd_dtw

    return [dd_dtw.warping_path_fast(a, b, include_distance=True) for a, b in zip(x, y)]


def run_tslearn(x, y):
    from tslearn.metrics import dtw_path

    return [dtw_path(a, b) for a, b in zip(x, y)]


IMPLS = {
    "bgtai": run_bgtai,
    "bgtai-f32": run_bgtai,  # the same inputs cast to float32 beforehand
    "dtaidistance": run_dtaidistance,
    "tslearn": run_tslearn,
}


def timed(fn, x, y, budget: float) -> tuple[float, float]:
    """Median wall and CPU time (all threads) of ``fn(x, y)`` over repeats that fit in
    ``budget`` (at least 1). CPU time shows the work done when other jobs share the cores."""
    times, cpu = [], []
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(x, y)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if len(times) >= 5 or sum(times) > budget:
            return float(np.median(times)), float(np.median(cpu))


def inputs(B, N, M, D, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, N, D)), rng.standard_normal((B, M, D))


def row(impl, B, N, M, D, seconds=None, cpu_seconds=None, skipped=None):
    cells = B * N * M
    return {
        "impl": impl, "B": B, "N": N, "M": M, "D": D,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "cells_per_s": cells / seconds if seconds else None,
        "pairs_per_s": B / seconds if seconds else None,
        "cells_per_cpu_s": cells / cpu_seconds if cpu_seconds else None,
        "skipped": skipped,
    }


def sweep(settings, budget, log=print):
    """Time every implementation on every ``(B, N, M, D)``; returns the result rows."""
    per_cell = {}  # (impl, B, D) -> seconds per unit of work in the last run
    warm = set()
    rows = []
    for B, N, M, D in settings:
        # float64 inputs and their float32 copy, plus the (B, N, M) bool alignment matrices
        nbytes = B * (N + M) * D * 8 * 1.5 + B * N * M
        if nbytes > MAX_BYTES:
            for name in IMPLS:
                rows.append(row(name, B, N, M, D, skipped=f"{nbytes / 1e9:.0f} GB"))
            log(f"B={B:<3d} {N:5d}x{M:<5d} D={D:<5d} skipped ({nbytes / 1e9:.0f} GB)")
            continue
        x, y = inputs(B, N, M, D)
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        work = B * N * M * (D + 8)  # the DP's share counts like a few features
        for name, fn in IMPLS.items():
            est = per_cell.get((name, B, D), 0.0) * work
            if est > budget * 2:
                rows.append(row(name, B, N, M, D, skipped=f"est. {est:.0f} s"))
                log(f"{name:13s} B={B:<3d} {N:5d}x{M:<5d} D={D:<5d} skipped (est. {est:.0f} s)")
                continue
            a, b = (x32, y32) if name == "bgtai-f32" else (x, y)
            if (name, B) not in warm:  # first call: numba compile or cache load
                fn(a[:, :8], b[:, :8])
                warm.add((name, B))
            seconds, cpu_seconds = timed(fn, a, b, budget)
            per_cell[(name, B, D)] = seconds / work
            rows.append(row(name, B, N, M, D, seconds, cpu_seconds))
            log(f"{name:13s} B={B:<3d} {N:5d}x{M:<5d} D={D:<5d} "
                f"{rows[-1]['cells_per_s'] / 1e6:9.1f} M cells/s")
    return rows


def phase_rows(settings, budget, log=print):
    """The two phases of a float32 call timed apart (the profile behind the goal ratios):
    ``cost-matrix-f32`` is the cost matrix alone (one batched GEMM + an elementwise pass),
    ``dp-f32`` the DP and backtrack alone on that precomputed matrix. A call runs them one
    after the other, so ``1 / (1/a + 1/b)`` of their rates bounds it."""
    rows = []
    for B, N, M, D in settings:
        x, y = (a.astype(np.float32) for a in inputs(B, N, M, D))
        C = cost_matrix(x, y)
        phases = {"cost-matrix-f32": (cost_matrix, x, y),
                  "dp-f32": ((lambda c, _: dtw(c[0], metric="precomputed")) if B == 1 else
                             (lambda c, _: _with_path_list(dtw_batch(c, metric="precomputed"))),
                             C, None)}
        for name, (fn, a, b) in phases.items():
            seconds, cpu_seconds = timed(fn, a, b, budget)
            rows.append(row(name, B, N, M, D, seconds, cpu_seconds))
            log(f"{name} B={B} {N}x{M} D={D}: {rows[-1]['cells_per_s'] / 1e6:.1f} M cells/s")
    return rows


# ------------------------------------------------------------------------------ report


def _find(rows, impl, B, N, M, D):
    for r in rows:
        if (r["impl"], r["B"], r["N"], r["M"], r["D"]) == (impl, B, N, M, D):
            return r
    return None


def _fmt(r):
    if r is None:
        return "-"
    if r["skipped"]:
        return f"skipped ({r['skipped']})"
    return f"{r['cells_per_s'] / 1e6:,.1f}"


def _ratio(a, b):
    if a and a["cells_per_s"] and b and b["cells_per_s"]:
        return f"{a['cells_per_s'] / b['cells_per_s']:.1f}x"
    return "-"


def summary(rows) -> dict:
    """The issue's goals, as measured."""
    out = {}
    for B, N, M, D in GOALS:
        ours = {k: _find(rows, k, B, N, M, D) for k in ("bgtai", "bgtai-f32",
                                                          "cost-matrix-f32", "dp-f32")}
        dd = _find(rows, "dtaidistance", B, N, M, D)
        key = f"B={B} {N}x{M} D={D}"
        out[key] = {k: v["cells_per_s"] for k, v in ours.items() if v and v["cells_per_s"]}
        if dd and dd["cells_per_s"]:
            out[key]["dtaidistance"] = dd["cells_per_s"]
            for k, v in ours.items():
                if v and v["cells_per_s"]:
                    out[key][f"ratio_{k}_vs_dtaidistance"] = v["cells_per_s"] / dd["cells_per_s"]
                    out[key][f"cpu_time_ratio_{k}_vs_dtaidistance"] = (
                        v["cells_per_cpu_s"] / dd["cells_per_cpu_s"])
    return out


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, B in zip(axes, FULL["B"]):
        for impl, style in (("bgtai-f32", "-o"), ("bgtai", "-s"), ("dtaidistance", "--^"),
                            ("tslearn", ":v")):
            for D, color in zip(FULL["D"], ("C0", "C1", "C2", "C3")):
                pts = [(r["N"], r["cells_per_s"]) for r in rows
                       if r["impl"] == impl and r["B"] == B and r["D"] == D and r["cells_per_s"]
                       and r["M"] == round(1.3 * r["N"])]
                if pts:
                    ax.plot(*zip(*pts), style, color=color, alpha=0.85,
                            label=f"{impl} D={D}" if B == FULL["B"][0] else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (M = 1.3 N)")
        ax.set_title(f"B = {B}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("cells / s (cost matrix + DP + path)")
    fig.legend(loc="center right", fontsize=7)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(data) -> str:
    m = data["machine"]
    rows = data["results"]
    lines = [
        "## Exact DTW with paths (`python -m benchmarks.dtw`)",
        "",
        ("Cells/s = B·N·M / wall time of one call that returns costs **and** paths "
         "(cost matrix + DP + backtrack; for `dtw_batch`, the per-pair paths are built inside "
         "the timed call, as the other libraries return them). Inputs are float64 for every "
         "implementation; "
         "`bgtai-f32` is bgtai on the same data cast to float32 (the cast is not timed). "
         f"bgtai uses {m['threads']} threads; dtaidistance (`warping_path_fast`) and tslearn "
         "(`dtw_path`) have no multi-threaded path API and run pair by pair. Numbers are "
         "millions of cells per second (higher is better); ratios are against dtaidistance."),
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f". Load average (1, 5, 15 min) at start {tuple(round(v, 2) for v in m['loadavg_start'])}"
        f", at end {tuple(round(v, 2) for v in m['loadavg_end'])}: the 2 cores are shared "
        "with other jobs, so absolute numbers are lower bounds.",
        "",
        "### Goals",
        "",
    ]
    for key, vals in data["summary"].items():
        parts = [f"{k.replace('_', ' ')} {v:.1f}x" if "ratio" in k
                 else f"{k} {v / 1e6:,.1f} M cells/s" for k, v in vals.items()]
        lines.append(f"- {key}: " + "; ".join(parts))
    lines += [
        "",
        "### All settings (M cells/s)",
        "",
        ("| B | N x M | D | bgtai f32 | bgtai f64 | dtaidistance | tslearn "
         "| f32 / dtai | f64 / dtai |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    seen = []
    for r in rows:
        key = (r["B"], r["N"], r["M"], r["D"])
        if key in seen:
            continue
        seen.append(key)
        cells = {impl: _find(rows, impl, *key) for impl in IMPLS}
        dd = cells["dtaidistance"]
        lines.append(f"| {key[0]} | {key[1]} x {key[2]} | {key[3]} | "
                     f"{_fmt(cells['bgtai-f32'])} | {_fmt(cells['bgtai'])} | "
                     f"{_fmt(dd)} | {_fmt(cells['tslearn'])} | "
                     f"{_ratio(cells['bgtai-f32'], dd)} | {_ratio(cells['bgtai'], dd)} |")
    lines += [
        "",
        ("Reading the numbers: the goal ratios compare wall-clock time, in which bgtai's two "
         "threads compete with whatever else runs on the two cores while the baselines need "
         "only one; the `cpu time ratio` lines compare cells per CPU-second (all threads), "
         "i.e. the work each implementation spends per cell. `cost-matrix-f32` and `dp-f32` "
         "time the two phases of a float32 call apart: the cost matrix alone (one batched "
         "GEMM, 2·D flops per cell, plus an elementwise pass) and the DP with the backtrack "
         "on that precomputed matrix. A call runs them one after the other, so "
         "1 / (1/a + 1/b) of their rates bounds it."),
        "",
        "![DTW throughput](img/dtw_benchmark.png)",
        "",
    ]
    return "\n".join(lines)


BEGIN, END = "<!-- dtw-cpu: begin (written by benchmarks/dtw.py) -->", "<!-- dtw-cpu: end -->"


def write_section(path: Path, text: str) -> None:
    """Replace the generated section of ``path`` (between the markers), keeping the rest."""
    doc = path.read_text()
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv=None) -> dict:
    """Run the benchmark; returns what it writes to ``--json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run, no docs written")
    args = ap.parse_args(argv)
    torch.set_num_threads(THREADS)
    mode = "quick" if args.quick else "full"
    if args.quick:
        settings = [(1, 20, 26, 4), (4, 20, 26, 4)]
    else:
        settings = [(B, N, round(1.3 * N), D) for B in FULL["B"] for N in FULL["N"]
                    for D in FULL["D"]]
        settings += [g for g in GOALS if g not in settings]
    data = {"machine": machine(), "mode": mode}
    results = sweep(settings, BUDGET_S[mode])
    results += phase_rows(settings[:1] if args.quick else GOALS, BUDGET_S[mode])
    data["machine"]["loadavg_end"] = os.getloadavg()
    data["results"] = results
    data["summary"] = summary(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1))
    if not args.quick:
        plot(results, DOCS / "img" / "dtw_benchmark.png")
        write_section(DOCS / "benchmarks.md", markdown(data))
    return data


if __name__ == "__main__":
    main()
