"""The paper's Fig. 2 and Table 4 on the world: runs the joint trainer per setting, then plots.

Fig. 2 analog: clip-only training (no single-event batches, so pair selection is the only way
the model can find which frame goes with which sound) under Base, DS-Net, Result Filter and
DS&RF; val zero-shot accuracy and audio->image R@1 after every epoch. Table 4 analog: rows A-F
(loss l2 / sp / total, with or without DS-Net, 10 / 1 / 5 / 10 s clips), val audio->image
R@1 and R@5 after the last epoch::

    python -m benchmarks.joint_ablation --out runs/ablation [--epochs 4 --n-clips 48]
    python -m benchmarks.joint_ablation --out runs/ablation --plot-only

Writes ``OUT/<setting>/`` (each a trainer run), ``docs/img/joint_fig2.png`` and prints the
Markdown tables that docs/joint.md holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

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


def _folder(name: str) -> str:
    return name.replace(" ", "_").replace("&", "_").replace("-", "_").lower()


def _train(out: Path, flags: list[str], args) -> list[dict]:
    if not (out / "history.json").is_file():
        subprocess.run([sys.executable, "-m", "train.train_joint", "--output-dir", str(out),
                        "--cpu", "--torch-threads", str(args.threads), "--batch-size", "0",
                        "--clip-batch-size", str(args.clip_batch_size), "--n-clips",
                        str(args.n_clips), "--epochs", str(args.epochs), "--warmup-steps", "4",
                        "--eval-events", str(args.eval_events), "--vocab-captions", "500",
                        *flags], cwd=ROOT, check=True)
    return json.loads((out / "history.json").read_text())


def plot(histories: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, hist in histories.items():
        epochs = range(1, len(hist) + 1)  # one entry per epoch of an uninterrupted run
        axes[0].plot(epochs, [h["val_zero_shot_acc"] for h in hist], marker="o", label=name)
        axes[1].plot(epochs, [h["val_audio_to_image_r1"] for h in hist], marker="o", label=name)
    axes[0].set(xlabel="epoch", ylabel="zero-shot accuracy (val)", title="sound classification")
    axes[1].set(xlabel="epoch", ylabel="R@1 (val, same cell)", title="audio -> image")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--n-clips", type=int, default=48)
    p.add_argument("--clip-batch-size", type=int, default=4)
    p.add_argument("--eval-events", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--table4", action="store_true", help="also run Table 4's rows")
    p.add_argument("--plot-only", action="store_true", help="use finished runs only")
    args = p.parse_args(argv)
    runs = {name: args.out / _folder(name) for name in FIG2}
    if not args.plot_only:
        for name, flags in FIG2.items():
            _train(runs[name], flags, args)
    fig2 = {n: json.loads((d / "history.json").read_text()) for n, d in runs.items()
            if (d / "history.json").is_file()}
    plot(fig2, ROOT / "docs" / "img" / "joint_fig2.png")
    n_epochs = len(next(iter(fig2.values())))
    print("| setting | " + " | ".join(f"epoch {k}" for k in range(1, n_epochs + 1)) + " |")
    for name, hist in fig2.items():
        print(f"| {name} | " + " | ".join(f"{h['val_zero_shot_acc']:.3f} / "
                                          f"{h['val_audio_to_image_r1']:.3f}" for h in hist) + " |")
    if args.table4:
        print("| row | loss | D | duration | R@1 | R@5 |")
        for row, flags in TABLE4.items():
            out = args.out / f"table4_{row}"
            if not args.plot_only:
                _train(out, flags, args)
            if (out / "history.json").is_file():
                last = json.loads((out / "history.json").read_text())[-1]
                print(f"| {row} | {flags[1]} | {'yes' if flags[2] == '--dsnet' else 'no'} | "
                      f"{flags[-1]} s | {last['val_audio_to_image_r1']:.3f} | "
                      f"{last['val_audio_to_image_r5']:.3f} |")


if __name__ == "__main__":
    main()
