"""The paper's Fig. 2 and Table 4 on the world: runs the joint trainer per setting and seed.

Fig. 2 analog: clip-only training (no single-event batches, so pair selection is the only way
the model can find which frame goes with which sound) under Base, DS-Net, Result Filter and
DS&RF; val zero-shot accuracy and audio->image R@1 after every epoch. Table 4 analog: rows A-F
(loss l2 / sp / total, with or without DS-Net, 10 / 1 / 5 / 10 s clips), val audio->image
R@1 and R@5 after the last epoch. Every setting runs once per ``--seeds`` value (model
initialisation and batch order; the world is the same), and the tables give mean +- standard
deviation over seeds::

    python -m benchmarks.joint_ablation --out runs/ablation [--epochs 4 --n-clips 48]
    python -m benchmarks.joint_ablation --out runs/ablation --device cuda --seeds 0 1 2 \\
        --jobs 10 --table4 --epochs 10 --n-clips 1600      # the GPU budget
    python -m benchmarks.joint_ablation --out runs/ablation --plot-only

The world's clips are synthesised once into ``OUT/world`` (safetensors, in parallel) and
shared by all runs. Writes ``OUT/<setting>/seed<k>/`` (each a trainer run), ``OUT/summary.json``,
``docs/img/joint_fig2.png`` (or ``--figure``) and prints the Markdown tables of docs/joint.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIG2 = {
    "Base": ["--no-dsnet", "--no-result-filter"],
    "DS-Net": ["--dsnet", "--no-result-filter"],
    "Result Filter": ["--no-dsnet", "--result-filter"],
    "DS&RF": ["--dsnet", "--result-filter"],
}
TABLE4 = {
    "A": ["--loss", "l2", "--dsnet", "--result-filter", "--duration", "10"],
    "B": ["--loss", "sp", "--dsnet", "--result-filter", "--duration", "10"],
    "C": ["--loss", "total", "--no-dsnet", "--result-filter", "--duration", "10"],
    "D": ["--loss", "total", "--dsnet", "--result-filter", "--duration", "1"],
    "E": ["--loss", "total", "--dsnet", "--result-filter", "--duration", "5"],
    "F": ["--loss", "total", "--dsnet", "--result-filter", "--duration", "10"],
}
VOCAB_CAPTIONS = 500


def _folder(name: str) -> str:
    return name.replace(" ", "_").replace("&", "_").replace("-", "_").lower()


def _flags(flags: list[str], args, seed: int, out: Path) -> list[str]:
    device = ["--cpu"] if args.device == "cpu" else []
    return [sys.executable, "-m", "train.train_joint", "--output-dir", str(out), *device,
            "--torch-threads", str(args.threads), "--batch-size", "0", "--seed", str(seed),
            "--clip-batch-size", str(args.clip_batch_size), "--n-clips", str(args.n_clips),
            "--epochs", str(args.epochs), "--warmup-steps", "4", "--eval-events",
            str(args.eval_events), "--vocab-captions", str(VOCAB_CAPTIONS),
            "--world-cache", str(args.out / "world"), *flags]


def _train(cmd: list[str], out: Path) -> int:
    """Run one trainer (unless it already finished); returns its exit code."""
    if (out / "history.json").is_file() and (out / "metrics.json").is_file():
        return 0
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(cmd[cmd.index("--torch-threads") + 1]))
    with open(out / "stdout.log", "w") as log:
        return subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env=env).returncode


def fill_world(args, durations: set) -> None:
    """Synthesise every clip data set the runs will read, with all cores, before they start."""
    from bgtai.joint.data import ClipPairs
    from bgtai.joint.tokens import world_vocab

    vocab = world_vocab(0, VOCAB_CAPTIONS)
    for d in sorted(durations, key=str):
        seconds = (1.0, 10.0) if d is None else (float(d), float(d))
        ClipPairs("train", args.n_clips, vocab, clip_seconds=seconds,
                  cache_dir=args.out / "world").fill_disk_cache(os.cpu_count() or 1)


def _precision(run: Path) -> tuple[float, float] | None:
    """Mean selected-pair precision over the first and the last tenth of the logged steps."""
    log = run / "train_log.jsonl"
    if not log.is_file():
        return None
    values = [r["loss/pair_precision"] for r in map(json.loads, log.read_text().splitlines())
              if "loss/pair_precision" in r]
    if not values:
        return None
    k = max(1, len(values) // 10)
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def summarise(runs: dict[str, list[Path]]) -> dict[str, dict]:
    """Per setting: val metrics per epoch and at the end, mean and std over seeds."""
    out = {}
    for name, folders in runs.items():
        hists = [json.loads((f / "history.json").read_text()) for f in folders
                 if (f / "history.json").is_file()]
        if not hists:
            continue
        n_epochs = min(len(h) for h in hists)
        entry = {"seeds": len(hists), "epochs": n_epochs, "steps": hists[0][n_epochs - 1]["step"]}
        for key in ("val_zero_shot_acc", "val_audio_to_image_r1", "val_audio_to_image_r5"):
            per_epoch = np.array([[h[e][key] for e in range(n_epochs)] for h in hists])
            entry[key] = {"mean": per_epoch.mean(0).tolist(), "std": per_epoch.std(0).tolist()}
        prec = [p for p in map(_precision, folders) if p is not None]
        if prec:
            entry["pair_precision_first"] = float(np.mean([p[0] for p in prec]))
            entry["pair_precision_last"] = float(np.mean([p[1] for p in prec]))
        out[name] = entry
    return out


def plot(summary: dict, names, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name in names:
        if name not in summary:
            continue
        s = summary[name]
        epochs = np.arange(1, s["epochs"] + 1)
        for ax, key in zip(axes, ("val_zero_shot_acc", "val_audio_to_image_r1")):
            mean, std = np.array(s[key]["mean"]), np.array(s[key]["std"])
            ax.plot(epochs, mean, marker="o", label=name)
            ax.fill_between(epochs, mean - std, mean + std, alpha=0.2)
    seeds = max(summary[n]["seeds"] for n in names if n in summary)
    axes[0].set(xlabel="epoch", ylabel="zero-shot accuracy (val)",
                title=f"sound classification ({seeds} seeds)")
    axes[1].set(xlabel="epoch", ylabel="R@1 (val, same cell)", title="audio -> image")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _pm(s: dict, key: str, epoch: int = -1) -> str:
    return f"{s[key]['mean'][epoch]:.3f} ± {s[key]['std'][epoch]:.3f}"


def tables(summary: dict) -> str:
    lines = ["| setting | seeds | steps | zero-shot | audio->image R@1 | R@5 | "
             "selected-pair precision (first -> last tenth) |", "|---|---|---|---|---|---|---|"]
    for name in FIG2:
        if name in summary:
            s = summary[name]
            prec = (f"{s['pair_precision_first']:.2f} -> {s['pair_precision_last']:.2f}"
                    if "pair_precision_first" in s else "(whole clip, random frame)")
            lines.append(f"| {name} | {s['seeds']} | {s['steps']} | "
                         f"{_pm(s, 'val_zero_shot_acc')} | {_pm(s, 'val_audio_to_image_r1')} | "
                         f"{_pm(s, 'val_audio_to_image_r5')} | {prec} |")
    rows = [r for r in TABLE4 if f"table4_{r}" in summary]
    if rows:
        lines += ["", "| row | loss | DS-Net | duration | seeds | R@1 | R@5 | precision |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            s, flags = summary[f"table4_{r}"], TABLE4[r]
            prec = (f"{s['pair_precision_first']:.2f} -> {s['pair_precision_last']:.2f}"
                    if "pair_precision_first" in s else "-")
            lines.append(f"| {r} | {flags[1]} | {'yes' if flags[2] == '--dsnet' else 'no'} | "
                         f"{flags[-1]} s | {s['seeds']} | {_pm(s, 'val_audio_to_image_r1')} | "
                         f"{_pm(s, 'val_audio_to_image_r5')} | {prec} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--n-clips", type=int, default=48)
    p.add_argument("--clip-batch-size", type=int, default=4)
    p.add_argument("--eval-events", type=int, default=100)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (one GPU can take many)")
    p.add_argument("--table4", action="store_true", help="also run Table 4's rows")
    p.add_argument("--plot-only", action="store_true", help="use finished runs only")
    p.add_argument("--figure", type=Path, default=ROOT / "docs" / "img" / "joint_fig2.png")
    args = p.parse_args(argv)
    settings = {name: flags for name, flags in FIG2.items()}
    if args.table4:
        settings |= {f"table4_{r}": flags for r, flags in TABLE4.items()}
    runs = {name: [args.out / _folder(name) / f"seed{s}" for s in args.seeds] for name in settings}
    if not args.plot_only:
        durations = {int(f[f.index("--duration") + 1]) if "--duration" in f else None
                     for f in settings.values()}
        fill_world(args, durations)
        jobs = [(_flags(flags, args, seed, out), out) for name, flags in settings.items()
                for seed, out in zip(args.seeds, runs[name])]
        with ThreadPoolExecutor(args.jobs) as pool:
            codes = list(pool.map(lambda job: _train(*job), jobs))
        for (_, out), code in zip(jobs, codes):
            if code:  # the others still count; the failed run's log says why
                print(f"run failed (exit {code}): {out / 'stdout.log'}", file=sys.stderr)
    summary = summarise(runs)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    if summary:
        plot(summary, list(FIG2), args.figure)
    print(tables(summary))
    return summary


if __name__ == "__main__":
    main()
