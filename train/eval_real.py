"""Real recordings: zero-shot class, open set and slider sweeps (``train.evaluate real-sounds``).

``--dir DIR`` holds ``DIR/<class>/*`` (recordings of a world class, folder named as in
:data:`bgtai.data.events.CLASSES`) and ``DIR/other/*`` (sounds outside the world); any file
libsndfile reads, at any rate and channel count (:func:`bgtai.audio.load_audio`). Clips longer
than ``--max-seconds`` are cut to their beginning. Files that cannot be read (corrupt, not
audio, silent) are counted in ``n_unreadable`` and listed on stderr, not fatal; other
sub-folders (``licences/``) are skipped.

Keys: ``real_zero_shot_acc`` (class folders: nearest class prompt embedding, as
``train.evaluate joint``'s ``zero_shot_acc``), ``real_zero_shot_macro_acc`` and
``real_acc_<class>``; ``real_open_set_auroc`` (class folders vs ``other/``, with the calibrated
score of :mod:`bgtai.joint.heard`) and ``real_open_set_auroc_<score>`` for every score;
with a calibration, ``real_in_world_accept_frac`` / ``real_other_reject_frac`` at its threshold;
``real_gain_monotonic_frac`` / ``real_semitone_monotonic_frac``: the generation evaluation's
sweeps (``train.evaluate generation``) on real recordings: five gains moving each clip's
measured level evenly over the world's loudness range (size must grow), five pitch shifts
moving a pitched clip's measured pitch to positions 0.1-0.9 of its folder's class range (hue
must rise); a clip whose pitch cannot be read fails its sweep; the sweeps go through the
pipeline's slider route (:meth:`SoundToImage.edit`). ``real_caption_class_acc``: the audio
captioner's first named event is the class folder's class. ``n_clips`` counts readable files.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch

from bgtai.audio import SAMPLE_RATE, load_audio
from bgtai.data.events import CLASSES, LOUDNESS_RANGE, PITCH_RANGES, PITCHED
from bgtai.eval.open_set import auroc
from bgtai.generate.pipeline import DEFAULT_CHECKPOINT, SoundToImage
from bgtai.joint.heard import CALIBRATION_FILE, DEFAULT_JOINT, Listener, OpenSetCalibration
from bgtai.joint.model import JointModel
from bgtai.readers import read_image, read_loudness, read_pitch
from train.eval_generation import SWEEP_STEPS, _monotonic, _sweep_images, _unwrap

OTHER = "other"
DEFAULT_CAPTIONER = Path(__file__).resolve().parents[1] / "assets" / "caption"
LONGEST_FILE_S = 600.0
"""Files up to this long are read (then cut to ``--max-seconds``); longer ones are unreadable."""


def add_arguments(parser) -> None:
    parser.add_argument("--dir", type=Path, required=True,
                        help="folder with <class>/ and other/ sub-folders of recordings")
    parser.add_argument("--joint", default=str(DEFAULT_JOINT), help="JointModel folder")
    parser.add_argument("--caption", type=Path, default=DEFAULT_CAPTIONER,
                        help="audio captioner folder (real_caption_class_acc); 'none' to skip")
    parser.add_argument("--calibration", type=Path, default=None,
                        help=f"open-set calibration (default: the joint folder's {CALIBRATION_FILE}"
                             " when present, else max_cosine without a threshold)")
    parser.add_argument("--generator", type=Path, default=DEFAULT_CHECKPOINT,
                        help="generator folder for the slider sweeps")
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--n-sweep", type=int, default=20,
                        help="clips swept per slider (0: no sweeps, no sweep keys)")
    parser.add_argument("--steps", type=int, default=None, help="sampler steps (model default)")
    parser.add_argument("--guidance-scale", type=float, default=None)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)


def list_clips(root: Path) -> list[tuple[Path, str]]:
    """``(file, folder)`` of every file under the class folders and ``other/``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"no folder at {root}")
    folders = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name in (*CLASSES, OTHER)]
    if not any(d.name != OTHER for d in folders):
        raise ValueError(f"{root} has no class folder; expected sub-folders named after the "
                         f"world's classes ({', '.join(CLASSES)}) and {OTHER}/")
    return [(f, d.name) for d in folders for f in sorted(d.iterdir())
            if f.is_file() and not f.name.startswith(".")]


def load_clips(clips: list[tuple[Path, str]], max_seconds: float
               ) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Waves (16 kHz mono, cut to ``max_seconds``) and folders of the readable clips, and the
    messages of the unreadable ones."""
    waves, folders, failed = [], [], []
    for path, folder in clips:
        try:
            wave = load_audio(path, max_seconds=LONGEST_FILE_S)
        except ValueError as err:
            failed.append(f"{folder}/{path.name}: {err}")
            continue
        waves.append(wave[: int(max_seconds * SAMPLE_RATE)])
        folders.append(folder)
    return waves, folders, failed


def open_set_metrics(scores: dict[str, torch.Tensor], folders: list[str],
                     calibration: OpenSetCalibration | None) -> dict:
    """AUROC of every score (:meth:`Listener.scores`), and accept/reject rates at the calibrated
    threshold."""
    inside = np.array([f != OTHER for f in folders])
    if inside.all() or not inside.any():
        return {}
    out = {f"real_open_set_auroc_{name}": auroc(s.numpy()[inside], s.numpy()[~inside])
           for name, s in scores.items()}
    chosen = calibration.score if calibration else "max_cosine"
    out = {"real_open_set_auroc": out[f"real_open_set_auroc_{chosen}"], "open_set_score": chosen,
           **out}
    if calibration is not None:
        s = scores[calibration.score].numpy()
        out["real_in_world_accept_frac"] = float((s[inside] >= calibration.threshold).mean())
        out["real_other_reject_frac"] = float((s[~inside] < calibration.threshold).mean())
    return out


def zero_shot_metrics(heard: list, folders: list[str]) -> dict:
    """Accuracy of the nearest class prompt over the class folders, overall and per class."""
    pairs = [(h.cls, f) for h, f in zip(heard, folders) if f != OTHER]
    truth = [t for _, t in pairs]
    per_class = {c: float(np.mean([p == t for p, t in pairs if t == c]))
                 for c in CLASSES if c in truth}
    return {"real_zero_shot_acc": float(np.mean([p == t for p, t in pairs])),
            "real_zero_shot_macro_acc": float(np.mean(list(per_class.values()))),
            **{f"real_acc_{c}": v for c, v in per_class.items()}}


def caption_metrics(captioner, waves: list[np.ndarray], folders: list[str], batch: int) -> dict:
    """How often the captioner's first named event is the class folder's class."""
    idx = [i for i, f in enumerate(folders) if f != OTHER]
    captions = [c for j in range(0, len(idx), batch)
                for c in captioner.caption_waveforms([waves[i] for i in idx[j:j + batch]])]
    right = [bool(c.events) and c.events[0].cls == folders[i] for c, i in zip(captions, idx)]
    return {"real_caption_class_acc": float(np.mean(right))}


def _spread(indices: list[int], folders: list[str], k: int) -> list[int]:
    """Up to ``k`` of ``indices``, one class folder at a time in turn, so sweeps cover classes."""
    queues = {c: [i for i in indices if folders[i] == c] for c in CLASSES}
    out: list[int] = []
    while len(out) < k and any(queues.values()):
        for c in CLASSES:
            if queues[c] and len(out) < k:
                out.append(queues[c].pop(0))
    return out


def sweep_metrics(pipe: SoundToImage, waves: list[np.ndarray], folders: list[str], args) -> dict:
    """The slider sweeps of the module docstring on real class recordings."""
    classed = [i for i, f in enumerate(folders) if f != OTHER]
    lo, hi = LOUDNESS_RANGE
    targets_db = np.linspace(lo + 1.0, hi - 1.0, SWEEP_STEPS)
    gain_swept = _spread(classed, folders, args.n_sweep)
    gain_sweeps = [[pipe.edit(waves[i], gain_db=g).drawn for g in targets_db - read_loudness(waves[i])]
                   for i in gain_swept]
    semitone_sweeps, semitone_swept, aimless = [], [], 0
    for i in _spread([i for i in classed if folders[i] in PITCHED], folders, args.n_sweep):
        pitch = read_pitch(waves[i])
        if not (math.isfinite(pitch) and pitch > 0):
            aimless += 1  # no pitch to aim the shifts at: the sweep fails
            continue
        p_lo, p_hi = PITCH_RANGES[folders[i]]
        target_hz = p_lo * (p_hi / p_lo) ** np.linspace(0.1, 0.9, SWEEP_STEPS)
        shifts = 12.0 * np.log2(target_hz / pitch)
        semitone_sweeps.append([pipe.edit(waves[i], semitones=s).drawn for s in shifts])
        semitone_swept.append(waves[i])
    sizes = [[math.nan if (r := read_image(im).size) is None else r for im in ims]
             for ims in _sweep_images(pipe, gain_sweeps, [waves[i] for i in gain_swept], args)]
    hues = [[_unwrap(read_image(im).hue_deg) for im in ims]
            for ims in _sweep_images(pipe, semitone_sweeps, semitone_swept, args)]
    hues += [[math.nan] * SWEEP_STEPS] * aimless
    out = {"n_gain_sweeps": len(sizes), "n_semitone_sweeps": len(hues)}
    if sizes:
        out["real_gain_monotonic_frac"] = _monotonic(sizes)
    if hues:
        out["real_semitone_monotonic_frac"] = _monotonic(hues)
    return out


def run(args) -> dict:
    """Read ``--dir``, score every readable clip and sweep ``--n-sweep`` of them per slider."""
    if args.max_seconds <= 0 or args.n_sweep < 0:
        raise ValueError("--max-seconds must be positive and --n-sweep at least 0")
    waves, folders, failed = load_clips(list_clips(args.dir), args.max_seconds)
    for message in failed:
        print(f"unreadable: {message}", file=sys.stderr)
    if not any(f != OTHER for f in folders):
        raise ValueError(f"no readable recording in the class folders of {args.dir}")
    calib_path = Path(args.calibration or Path(args.joint) / CALIBRATION_FILE)
    calibration = OpenSetCalibration.load(calib_path) if (
        args.calibration is not None or calib_path.is_file()) else None
    listen = Listener(JointModel.from_pretrained(args.joint), calibration)
    embeddings, weights = listen.embed(waves), listen.real_weights(waves)
    metrics = {**zero_shot_metrics(listen.read(embeddings, weights), folders),
               **open_set_metrics(listen.scores(embeddings, weights), folders, calibration)}
    if str(args.caption) != "none":
        from bgtai.caption.model import AudioCaptioner

        metrics |= caption_metrics(AudioCaptioner.from_pretrained(args.caption).eval(), waves,
                                   folders, args.batch_size)
    if args.n_sweep > 0:
        metrics |= sweep_metrics(SoundToImage.from_pretrained(args.generator), waves, folders, args)
    n_other = sum(f == OTHER for f in folders)
    return {**metrics, "n_clips": len(waves), "n_class_clips": len(waves) - n_other,
            "n_other_clips": n_other, "n_unreadable": len(failed)}
