"""Choose the open-set threshold on a real-sound dev set and write ``open_set.json``.

    python -m train.calibrate_open_set --dir runs/real_sounds --out assets/joint/open_set.json

In-world examples are the recordings in ``DIR/<class>/`` and ``--world-val N`` sounds of the
world's val split (the app's own examples are world sounds, and must stay in the world);
out-of-world ones are those in ``DIR/other/`` (the layout of ``train.evaluate real-sounds``). The
threshold maximises balanced accuracy between the two groups
(:func:`bgtai.joint.heard.choose_threshold`), so the accept/reject rates printed at it are *dev*
figures, not test figures. For a joint model with a pretrained front-end, a second threshold is
chosen the same way for the model on its audio tower alone (``threshold_without_frontend``:
where the front-end's package is not installed, e.g. Hugging Face Spaces).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from bgtai.data.world import WorldDataset
from bgtai.joint.heard import DEFAULT_JOINT, SCORES, Listener, OpenSetCalibration, choose_threshold
from bgtai.joint.model import JointModel
from train.common import write_metrics
from train.eval_real import OTHER, list_clips, load_clips


def scores(listen: Listener, waves: list[np.ndarray], score: str) -> np.ndarray:
    """Open-set scores of mono 16 kHz waves."""
    return listen.scores(listen.embed(waves), listen.real_weights(waves))[score].numpy()


def world_val_waves(n: int) -> list[np.ndarray]:
    """The audio of the first ``n`` world val events."""
    ds = WorldDataset("val", n, seed=0, kind="event")
    return [ds.event(i)[1].astype(np.float32) for i in range(n)]


def calibrate(listen: Listener, waves: list[np.ndarray], folders: list[str],
              world: list[np.ndarray], score: str, chosen_on: str
              ) -> tuple[OpenSetCalibration, dict]:
    """The calibration and the dev figures at its threshold."""
    s = scores(listen, waves, score)
    inside = np.array([f != OTHER for f in folders])
    s_world = scores(listen, world, score) if world else np.zeros(0)
    threshold = choose_threshold(np.concatenate([s[inside], s_world]), s[~inside])
    out = {"dev_in_world_accept_frac": float((s[inside] >= threshold).mean()),
           "dev_other_reject_frac": float((s[~inside] < threshold).mean())}
    if world:
        out["world_val_accept_frac"] = float((s_world >= threshold).mean())
    return OpenSetCalibration(score, threshold, chosen_on), out


def calibrate_without_frontend(listen: Listener, waves: list[np.ndarray], folders: list[str],
                               world: list[np.ndarray], calibration: OpenSetCalibration
                               ) -> tuple[OpenSetCalibration, dict]:
    """``calibration`` with the threshold of the same score for the model's tower alone, and
    the dev figures at it (keys ending in ``_without_frontend``)."""
    model = listen.model
    frontend, model.frontend = model.frontend, None
    try:
        alone, out = calibrate(listen, waves, folders, world, calibration.score, "")
    finally:
        model.frontend = frontend
    return (dataclasses.replace(calibration, threshold_without_frontend=alone.threshold),
            {f"{k}_without_frontend": v for k, v in out.items()})


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="real-sound dev set")
    parser.add_argument("--joint", default=str(DEFAULT_JOINT), help="JointModel folder")
    parser.add_argument("--score", choices=SCORES, default="gated",
                        help="default: the best AUROC on the dev set (docs/real_sounds.md)")
    parser.add_argument("--out", type=Path, required=True, help="open_set.json to write")
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--world-val", type=int, default=200,
                        help="world val sounds added to the in-world examples (0: none)")
    parser.add_argument("--json", type=Path, help="write the dev figures here")
    args = parser.parse_args(argv)
    waves, folders, failed = load_clips(list_clips(args.dir), args.max_seconds)
    if OTHER not in folders or all(f == OTHER for f in folders):
        raise SystemExit(f"{args.dir} needs readable recordings in class folders and in {OTHER}/")
    listen = Listener(JointModel.from_pretrained(args.joint))
    n_in = sum(f != OTHER for f in folders)
    world = world_val_waves(args.world_val) if args.world_val > 0 else []
    calibration, metrics = calibrate(
        listen, waves, folders, world, args.score,
        f"{n_in} real class recordings of {args.dir.name} and {args.world_val} world val sounds "
        f"vs {len(folders) - n_in} real sounds in {OTHER}/ (scripts/make_sound_devset.py); "
        "threshold at the best balanced accuracy")
    if listen.model.frontend is not None:
        calibration, alone = calibrate_without_frontend(listen, waves, folders, world,
                                                        calibration)
        metrics |= {"threshold_without_frontend": calibration.threshold_without_frontend,
                    **alone}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    calibration.save(args.out)
    metrics = {"score": calibration.score, "threshold": calibration.threshold, **metrics,
               "n_unreadable": len(failed)}
    for key, value in metrics.items():
        print(f"{key:28s} {value}")
    if args.json:
        write_metrics(args.json, metrics)
    return metrics


if __name__ == "__main__":
    main()
