"""Faithfulness of sound-to-image generation on the world's test split, read back by the readers.

Settings such as ``--guidance-scale`` are chosen on ``--split val`` and reported on test.

Metrics (flat keys):

* ``pitch_hue_spearman``: pitched test sounds; asked = the pitch's log-scale position in its
  class's range (what the world maps to hue; raw Hz would mix the classes' ranges), measured =
  hue of the generated image, unwrapped so that hues above 315 deg count as negative (the world
  uses 0-270 deg, so a red object read as 359 deg is "just below 0").
* ``loudness_size_spearman``: asked loudness (dBFS) vs measured object size.
* ``count_acc``: asked repetitions vs counted objects. ``class_acc``: the world classifier on
  generated images vs the asked class.
* ``gain_monotonic_frac`` / ``semitone_monotonic_frac``: per sweep sound, five slider settings
  chosen so the *edited* sound spans the world's range (gains moving its measured loudness to 5
  evenly spaced levels in the loudness range; semitone shifts moving its measured pitch to 5
  positions 0.1-0.9 of its class's pitch range); the sweep counts when size (hue) rises strictly
  at every step. Same seed for all five, so only the slider differs. A sweep with an empty image
  counts as not monotonic. Every sweep goes through the pipeline's own slider route
  (:meth:`SoundToImage.edit`: the picture follows a slider within the world's range for the
  class its listener hears).
* ``sweep_class_kept_frac`` / ``sweep_count_kept_frac``: sliders change only what they say. Per
  sweep sound, each slider is set to :data:`KEPT_STEPS` values spread over its *whole* range
  (0 left out: that is the unedited sound), as a visitor may drag it; the fraction of these
  pictures whose class (world classifier) and number of objects (image reader) are still those
  of the unedited sound (its ground truth), over both sliders; ``gain_*`` and ``semitone_*``
  give each slider's share. Every sweep sound is swept in pitch too, pitched or not.
* ``world_fid``: class-conditional world-FID, the mean over classes of the Frechet distance (world
  classifier features) between images generated for the class's test sounds and real test
  images of that class; ``world_fid_shuffled``: the same with the sounds' conditions shuffled
  (each real image's class set compared with pictures generated for random other sounds), the
  baseline that shows what conditioning buys; ``world_fid_marginal``: plain FID of all generated
  vs all real images. Images without objects are kept.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from bgtai.data.events import CLASSES, LOUDNESS_RANGE, PITCH_RANGES, PITCHED, pitch_position
from bgtai.data.world import WorldDataset
from bgtai.eval import count_accuracy, encode_images, frechet_distance, monotonic_fraction, spearman
from bgtai.generate.edits import GAIN_RANGE_DB, SEMITONE_RANGE
from bgtai.generate.pipeline import DEFAULT_CHECKPOINT, SoundToImage
from bgtai.readers import load_world_classifier, read_image, read_loudness, read_pitch

SWEEP_STEPS = 5
KEPT_STEPS = 7
"""Slider values per kept-content sweep, evenly over the range (the middle one, 0, is skipped)."""
HUE_WRAP_DEG = 315.0
"""Hues above this are read as negative (the world's hues span 0-270 deg)."""


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, default=DEFAULT_CHECKPOINT, help="generator folder")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="val for choosing settings (e.g. --guidance-scale), test for reporting")
    parser.add_argument("--n-test", type=int, default=220, help="sounds generated")
    parser.add_argument("--n-sweep", type=int, default=40, help="test sounds swept per slider")
    parser.add_argument("--steps", type=int, default=None, help="sampler steps (model default)")
    parser.add_argument("--guidance-scale", type=float, default=None)
    parser.add_argument("--candidates", type=int, default=None,
                        help="pictures drawn per sound, the best re-ranked kept (model default)")
    parser.add_argument("--no-count-probe", action="store_true",
                        help="re-rank the candidates by their embeddings alone, without the "
                             "pipeline's count check (what the decoder does without it)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle", action="store_true",
                        help="also decode the real test pictures' own embeddings (oracle_* keys): "
                             "the decoder's share of the errors, without the audio map")
    parser.add_argument("--figures", type=Path, default=None,
                        help="write the example grid and slider sweeps as PNGs into this folder")


def _unwrap(hue: float | None) -> float:
    if hue is None:
        return math.nan
    return hue - 360.0 if hue > HUE_WRAP_DEG else hue


def _decode(pipe: SoundToImage, emb: torch.Tensor, args, *, same_noise=False,
            counts: list[int] | None = None) -> np.ndarray:
    """Images of ``(N, dim)`` embeddings, decoded in batches (``counts``: objects asked for,
    by default the pipeline's count probe reading ``emb``)."""
    b = args.batch_size
    return np.concatenate([
        pipe.generate(emb[i:i + b], steps=args.steps, seed=args.seed,
                      guidance_scale=args.guidance_scale, same_noise=same_noise,
                      candidates=args.candidates,
                      counts=None if counts is None else counts[i:i + b])
        for i in range(0, len(emb), b)])


def _generate(pipe: SoundToImage, waves: list[np.ndarray], args, *, same_noise=False,
              counts: list[int] | None = None,
              recorded: list[np.ndarray] | None = None) -> np.ndarray:
    """One image per wave, embedded as the app embeds an edited sound (``recorded``: the
    unedited sound of each, :meth:`SoundToImage.__call__`)."""
    b = args.batch_size
    emb = torch.cat([pipe.backend.embed_audio(waves[i:i + b],
                                              None if recorded is None else recorded[i:i + b])
                     for i in range(0, len(waves), b)])
    return _decode(pipe, emb, args, same_noise=same_noise, counts=counts)


def _sweep_images(pipe, sweeps: list[list[np.ndarray]], originals: list[np.ndarray],
                  args) -> list[np.ndarray]:
    """Each sweep's images (slider edits of its original sound) from the same noise draws, so
    the slider is what differs (with several candidates, also which draw each setting keeps).
    Every setting asks for as many objects as the original sound, as in the app
    (:meth:`SoundToImage.__call__`)."""
    asked = pipe.count_of(pipe.backend.embed_audio(originals)) if originals else None
    return [_generate(pipe, sweep, args, same_noise=True,
                      counts=None if asked is None else [asked[j]] * len(sweep),
                      recorded=[originals[j]] * len(sweep))
            for j, sweep in enumerate(sweeps)]


def _monotonic(values: list[list[float]]) -> float:
    """Fraction of strictly increasing sweeps; a sweep with a missing reading fails."""
    valid = [v for v in values if not any(math.isnan(x) for x in v)]
    if not valid:
        return 0.0
    return monotonic_fraction(valid) * len(valid) / len(values)


def kept_fractions(classes: list[str], counts: list[int], events) -> dict[str, float]:
    """Fractions of sweep pictures whose ``classes`` / ``counts`` (one list per sound, one
    reading per slider setting) are the unedited sound's (``events``' ground truth)."""
    if len(classes) != len(events) or len(counts) != len(events):
        raise ValueError("one list of readings per event is needed")
    class_kept = [c == e.cls for cs, e in zip(classes, events) for c in cs]
    count_kept = [n == e.repetitions for ns, e in zip(counts, events) for n in ns]
    return {"class": float(np.mean(class_kept)), "count": float(np.mean(count_kept))}


def kept_settings() -> dict[str, np.ndarray]:
    """Slider values of the kept-content sweeps: each slider's whole range, 0 left out."""
    out = {}
    for name, (lo, hi) in (("gain_db", GAIN_RANGE_DB), ("semitones", SEMITONE_RANGE)):
        values = np.linspace(lo, hi, KEPT_STEPS)
        out[name] = values[values != 0.0]
    return out


def kept_sweeps(pipe, events, waves, args, classifier) -> dict[str, float]:
    """``sweep_class_kept_frac`` and ``sweep_count_kept_frac`` (module docstring)."""
    metrics, kept = {}, {"class": [], "count": []}
    for name, values in kept_settings().items():
        sweeps = [[pipe.edit(w, **{name: v}).drawn for v in values] for w in waves]
        images = _sweep_images(pipe, sweeps, waves, args)
        classes = [classifier.predict(torch.from_numpy(ims).permute(0, 3, 1, 2)) for ims in images]
        counts = [[read_image(im).count for im in ims] for ims in images]
        slider = "gain" if name == "gain_db" else "semitone"
        for key, value in kept_fractions(classes, counts, events).items():
            metrics[f"{slider}_sweep_{key}_kept_frac"] = value
            kept[key].append(value)
    # both sliders have as many steps per sound, so the mean of the two is the overall fraction
    return {"sweep_class_kept_frac": float(np.mean(kept["class"])),
            "sweep_count_kept_frac": float(np.mean(kept["count"])), **metrics}


def _class_fid(feats_gen: np.ndarray, feats_real: np.ndarray, classes: np.ndarray) -> float:
    """Mean over classes of the Frechet distance between generated and real features."""
    return float(np.mean([frechet_distance(feats_gen[classes == c], feats_real[classes == c])
                          for c in np.unique(classes) if (classes == c).sum() >= 2]))


def run(args) -> dict:
    for name in ("n_test", "n_sweep", "batch_size"):
        if getattr(args, name) < 2:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 2")
    pipe = SoundToImage.from_pretrained(args.model)
    if args.no_count_probe:
        pipe.count_probe = None
    ds = WorldDataset(args.split, args.n_test, seed=0, kind="event")
    items = [ds.event(i) for i in range(args.n_test)]
    events = [e for e, _, _ in items]
    waves = [w.astype(np.float32) for _, w, _ in items]
    real = np.stack([im for _, _, im in items])

    generated = _generate(pipe, waves, args)
    readings = [read_image(im) for im in generated]
    classifier = load_world_classifier()  # the reader, whatever space the generator uses
    predicted = classifier.predict(torch.from_numpy(generated).permute(0, 3, 1, 2))
    pitched = [i for i, e in enumerate(events) if e.cls in PITCHED]

    # -- slider sweeps -------------------------------------------------------------------------
    lo, hi = LOUDNESS_RANGE
    targets_db = np.linspace(lo + 1.0, hi - 1.0, SWEEP_STEPS)
    gain_sweeps = []
    for w in waves[: args.n_sweep]:
        level = read_loudness(w)
        gain_sweeps.append([pipe.edit(w, gain_db=g).drawn for g in targets_db - level])
    sweep_pitched = pitched[: args.n_sweep]
    semitone_sweeps = []
    for i in sweep_pitched:
        p_lo, p_hi = PITCH_RANGES[events[i].cls]
        target_hz = p_lo * (p_hi / p_lo) ** np.linspace(0.1, 0.9, SWEEP_STEPS)
        shifts = 12.0 * np.log2(target_hz / read_pitch(waves[i]))
        semitone_sweeps.append([pipe.edit(waves[i], semitones=s).drawn for s in shifts])
    gain_images = _sweep_images(pipe, gain_sweeps, waves[: args.n_sweep], args)
    semitone_images = _sweep_images(pipe, semitone_sweeps, [waves[i] for i in sweep_pitched], args)
    sizes = [[math.nan if (r := read_image(im).size) is None else r for im in ims] for ims in gain_images]
    hues = [[_unwrap(read_image(im).hue_deg) for im in ims] for ims in semitone_images]

    # -- distribution distance -----------------------------------------------------------------
    cls_idx = np.array([CLASSES.index(e.cls) for e in events])
    f_gen = encode_images(torch.from_numpy(generated).permute(0, 3, 1, 2), classifier)
    f_real = encode_images(torch.from_numpy(real).permute(0, 3, 1, 2), classifier)
    perm = np.random.default_rng(args.seed).permutation(len(events))

    hue_pairs = [(pitch_position(events[i].cls, events[i].pitch_hz), _unwrap(readings[i].hue_deg))
                 for i in pitched]
    hue_pairs = [(a, m) for a, m in hue_pairs if not math.isnan(m)]
    size_pairs = [(e.loudness_dbfs, r.size) for e, r in zip(events, readings) if r.size is not None]
    metrics = {
        "pitch_hue_spearman": spearman(*zip(*hue_pairs)),
        "loudness_size_spearman": spearman(*zip(*size_pairs)),
        "count_acc": count_accuracy([e.repetitions for e in events], [r.count for r in readings]),
        "class_acc": float(np.mean([p == e.cls for p, e in zip(predicted, events)])),
        "gain_monotonic_frac": _monotonic(sizes),
        "semitone_monotonic_frac": _monotonic(hues),
        "world_fid": _class_fid(f_gen, f_real, cls_idx),
        "world_fid_shuffled": _class_fid(f_gen[perm], f_real, cls_idx),
        "world_fid_marginal": frechet_distance(f_gen, f_real),
        "empty_image_frac": float(np.mean([r.count == 0 for r in readings])),
        "candidates": pipe.candidates if args.candidates is None else args.candidates,
        "n_test": len(events),
        "n_gain_sweeps": len(gain_sweeps),
        "n_semitone_sweeps": len(semitone_sweeps),
    }
    metrics |= kept_sweeps(pipe, events[: args.n_sweep], waves[: args.n_sweep], args, classifier)
    if args.oracle:
        emb = torch.cat([pipe.backend.embed_images(real[i:i + args.batch_size])
                         for i in range(0, len(real), args.batch_size)])
        oracle = _decode(pipe, emb, args)
        o_read = [read_image(im) for im in oracle]
        o_pred = classifier.predict(torch.from_numpy(oracle).permute(0, 3, 1, 2))
        metrics["oracle_count_acc"] = count_accuracy([e.repetitions for e in events],
                                                     [r.count for r in o_read])
        metrics["oracle_class_acc"] = float(np.mean([p == e.cls for p, e in zip(o_pred, events)]))
    if args.figures is not None:
        example_grid(args.figures / "generation_examples.png", events[:10], real[:10], generated[:10])
        sweep_grid(args.figures / "generation_sweeps.png", gain_images[:4], semitone_images[:4],
                   [f"{t:.0f} dBFS" for t in targets_db],
                   [f"pitch {p:.1f}" for p in np.linspace(0.1, 0.9, SWEEP_STEPS)])
    return metrics


def _event_label(event) -> str:
    pitch = f" {event.pitch_level}" if event.pitch_level else ""
    return f"{event.repetitions}x {event.loudness_level}{pitch} {event.cls}"


def example_grid(path: Path, events, real: np.ndarray, generated: np.ndarray) -> Path:
    """Two rows per figure: the real test picture of each sound and the one generated from it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(events), figsize=(1.5 * len(events), 3.4))
    for j, event in enumerate(events):
        for row, (images, name) in enumerate(((real, "world"), (generated, "generated"))):
            ax = axes[row, j]
            ax.imshow(images[j])
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(name)
        axes[0, j].set_title(_event_label(event), fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def sweep_grid(path: Path, gain_images, semitone_images, gain_labels, semitone_labels) -> Path:
    """Slider sweeps: rows of sounds, columns of slider settings (gain block, then pitch block)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = [(b, labels) for b, labels in ((gain_images, gain_labels), (semitone_images, semitone_labels))
              if len(b)]
    rows = sum(len(b) for b, _ in blocks)
    fig, axes = plt.subplots(rows, SWEEP_STEPS, figsize=(1.5 * SWEEP_STEPS, 1.5 * rows + 0.4),
                             squeeze=False)
    r = 0
    for sweeps, labels in blocks:
        for k, images in enumerate(sweeps):
            for j in range(SWEEP_STEPS):
                ax = axes[r, j]
                ax.imshow(images[j])
                ax.set_xticks([]), ax.set_yticks([])
                if k == 0:
                    ax.set_title(labels[j], fontsize=7)
            r += 1
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
