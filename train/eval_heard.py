"""What the joint model hears in world sounds and synthesised non-world sounds (``train.evaluate heard``).

The calibrated listener (:class:`bgtai.joint.heard.Listener` with the joint folder's
``open_set.json``, chosen on the real-sound dev set by ``python -m train.calibrate_open_set``)
hears ``--n-world`` world sounds of ``--split`` and a few synthesised sounds from outside the
world, a different draw per split: white noise, English speech (espeak-ng, several voices) and
piano-like chords. Real recordings are scored by ``train.evaluate real-sounds``; this check needs
no downloads, so it runs anywhere.

Keys: ``heard_acc`` (zero-shot class of world sounds), the calibration's ``threshold``, and at it
``world_known_frac`` (world sounds called the world's) and ``<kind>_unknown_frac`` per kind of
non-world sound, ``auroc`` (world vs non-world by the calibrated score).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bgtai.audio import SAMPLE_RATE
from bgtai.data.speech import render_speech
from bgtai.data.world import WorldDataset
from bgtai.eval.open_set import auroc
from bgtai.joint.heard import DEFAULT_JOINT, Listener

SENTENCES = {"val": ["hello, how are you today", "please open the window", "the train leaves at nine"],
             "test": ["where is the station", "I would like a cup of tea", "it is raining again"]}
VOICES = {"val": ["en-us", "en-gb-x-rp+f3"], "test": ["en-us+m3", "en"]}
_CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 5, 9))


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, default=DEFAULT_JOINT,
                        help="JointModel folder with its open_set.json")
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--n-world", type=int, default=220, help="world sounds scored")


def _level(wave: np.ndarray, dbfs: float) -> np.ndarray:
    return (wave * 10 ** (dbfs / 20) / np.sqrt(np.mean(wave**2))).astype(np.float32)


def non_world_sounds(split: str) -> dict[str, list[np.ndarray]]:
    """A few sounds from outside the world, by kind; another draw for each split."""
    rng = np.random.default_rng(0 if split == "val" else 1)
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    noise = [_level(rng.standard_normal(t.size), db) for db in (-35.0, -25.0, -15.0)]
    speech = [_level(render_speech(s, v), -25.0) for s in SENTENCES[split] for v in VOICES[split]]
    chords = []
    for intervals in _CHORDS:
        root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        tone = sum(np.sin(2 * np.pi * root * 2 ** (i / 12) * h * t) / h**2
                   for i in intervals for h in (1, 2, 3))
        chords.append(_level(tone * np.exp(-1.5 * t), -25.0))  # struck, then decaying
    return {"noise": noise, "speech": speech, "chords": chords}


def run(args) -> dict:
    if args.n_world < 20:
        raise ValueError("--n-world must be at least 20")
    listen = Listener.from_pretrained(args.model)
    threshold = listen.calibration.threshold
    ds = WorldDataset(args.split, args.n_world, seed=0, kind="event")
    items = [ds.event(i) for i in range(args.n_world)]
    world = listen.hear([w.astype(np.float32) for _, w, _ in items])
    scores = np.array([h.score for h in world])
    metrics = {
        "heard_acc": float(np.mean([h.cls == e.cls for h, (e, _, _) in zip(world, items)])),
        "score": listen.calibration.score,
        "threshold": threshold,
        "world_known_frac": float(np.mean(scores >= threshold)),
    }
    others = []
    for kind, waves in non_world_sounds(args.split).items():
        s = np.array([h.score for h in listen.hear(waves)])
        metrics[f"{kind}_unknown_frac"] = float(np.mean(s < threshold))
        others.append(s)
    metrics["auroc"] = auroc(scores, np.concatenate(others))
    return metrics
