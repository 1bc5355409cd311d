"""Write ``docs/world.md`` and its figures ``docs/img/world_*.png``: a look at the built-in world.

    python -m scripts.make_world_docs [--out docs] [--n-readers 330] [--n-speed 200]

Draws a class gallery, the physics (pitch -> hue, loudness -> size, repetitions -> count),
sample images with their descriptions and glosses, and spectrograms of clips with their frames;
measures the attribute readers on world ground truth and the on-the-fly generation speed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from bgtai.audio import log_mel  # noqa: E402
from bgtai.data.clips import FPS, sample_clip  # noqa: E402
from bgtai.data.events import (  # noqa: E402
    CLASSES,
    HUMAN_CLASSES,
    LOUDNESS_RANGE,
    PITCH_RANGES,
    PITCHED,
    Event,
    sample_event,
)
from bgtai.data.images import (  # noqa: E402
    CLASS_HUES,
    SIZE_RANGE,
    event_hue,
    event_size,
    render_event_image,
)
from bgtai.data.language import describe_with_gloss  # noqa: E402
from bgtai.data.sounds import render_event  # noqa: E402
from bgtai.data.world import WorldDataset, collate_world, split_combos  # noqa: E402
from bgtai.readers import read_audio, read_image  # noqa: E402
from bgtai.readers.classifier import DEFAULT_CHECKPOINT  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def class_gallery(path: Path, rng: np.random.Generator) -> None:
    fig, axes = plt.subplots(1, len(CLASSES), figsize=(1.6 * len(CLASSES), 2.0))
    for ax, cls in zip(axes, CLASSES):
        ax.imshow(
            render_event_image(
                sample_event(rng, cls, repetitions=1, loudness_level="loud"), rng, 128
            )
        )
        ax.set_title(cls + (" *" if cls in HUMAN_CLASSES else ""), fontsize=9)
        ax.axis("off")
    _save(fig, path)


def physics(path: Path, rng: np.random.Generator) -> None:
    lo, hi = PITCH_RANGES["whistle"]
    rows = [
        (
            "pitch -> hue (whistle)",
            [
                Event("whistle", lo * (hi / lo) ** t, -28.0, 1, 0.0, 1.0)
                for t in np.linspace(0, 1, 5)
            ],
            lambda e: f"{e.pitch_hz:.0f} Hz",
        ),
        (
            "loudness -> size (drum)",
            [Event("drum", None, float(v), 1, 0.0, 1.0) for v in np.linspace(*LOUDNESS_RANGE, 5)],
            lambda e: f"{e.loudness_dbfs:.0f} dBFS",
        ),
        (
            "repetitions -> count (bell)",
            [Event("bell", 600.0, -28.0, r, 0.0, 2.5) for r in range(1, 6)],
            lambda e: f"x{e.repetitions}",
        ),
    ]
    fig, axes = plt.subplots(3, 5, figsize=(8, 5.4))
    for (title, events, label), row in zip(rows, axes):
        row[0].set_ylabel(title, fontsize=8)
        for ax, event in zip(row, events):
            ax.imshow(render_event_image(event, rng, 96))
            ax.set_title(label(event), fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    _save(fig, path)


def samples(path: Path, rng: np.random.Generator, n: int = 12) -> list[tuple[str, str, str]]:
    """A grid of event images; returns (label, description, gloss) per image."""
    fig, axes = plt.subplots(2, n // 2, figsize=(1.8 * n / 2, 4.0))
    rows = []
    for k, ax in enumerate(axes.flat):
        event = sample_event(rng, CLASSES[k % len(CLASSES)])
        text, gloss = describe_with_gloss([event], rng)
        ax.imshow(render_event_image(event, rng, 96))
        ax.set_title(f"({k + 1})", fontsize=9)
        ax.axis("off")
        rows.append((f"({k + 1})", text, gloss))
    _save(fig, path)
    return rows


def clips(path: Path, rng: np.random.Generator, n: int = 3) -> list[tuple[str, str]]:
    """Spectrograms of clips with their frame strips; returns (description, gloss) per clip."""
    fig, axes = plt.subplots(
        2 * n, 1, figsize=(11, 3.4 * n), gridspec_kw={"height_ratios": [2, 1] * n, "hspace": 0.6}
    )
    captions = []
    for i in range(n):
        clip = sample_clip(rng, duration_s=float(rng.uniform(5, 8)), n_events=min(3, i + 1))
        captions.append(describe_with_gloss(clip.events, rng))
        spec, frames_ax = axes[2 * i], axes[2 * i + 1]
        mel = log_mel(clip.audio)
        spec.imshow(
            mel.T,
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=[0, clip.duration_s, 0, mel.shape[1]],
        )
        for e in clip.events:
            spec.axvspan(e.onset_s, e.offset_s, color="cyan", alpha=0.15)
            spec.text(e.onset_s + 0.02, mel.shape[1] - 6, e.cls, color="white", fontsize=8)
        spec.set_ylabel("mel bin")
        spec.set_title(f"clip {i + 1}: {captions[-1][0]}", fontsize=9)
        strip = np.concatenate(list(clip.frames), axis=1)
        frames_ax.imshow(strip, extent=[0, clip.duration_s, 0, clip.duration_s / len(clip.frames)])
        for t in np.flatnonzero(clip.frame_distractor):
            frames_ax.axvspan(t / FPS, (t + 1) / FPS, ymax=0.08, color="red")
        frames_ax.set_yticks([])
        frames_ax.set_xlabel("seconds (frames at 4 fps; red marks a distractor frame)")
    _save(fig, path)
    return captions


def measure_readers(n: int, rng: np.random.Generator) -> dict:
    """Reader accuracy on world ground truth, ``n`` events and images."""
    reps, loud, pitch, count, hue, size, blur_count, blur_hue = [], [], [], [], [], [], [], []
    for i in range(n):
        event = sample_event(rng, CLASSES[i % len(CLASSES)])
        a = read_audio(render_event(event, rng, pad_s=0.2), pitched=event.cls in PITCHED)
        reps.append(a.repetitions == event.repetitions)
        loud.append(abs(a.loudness_dbfs - event.loudness_dbfs))
        if event.cls in PITCHED:
            pitch.append(abs(a.pitch_hz / event.pitch_hz - 1))
        image = render_event_image(event, rng, 64)
        m = read_image(image)
        count.append(m.count == event.repetitions)
        hue.append(_hue_error(m.hue_deg, event_hue(event)))
        size.append(abs(m.size - event_size(event)) * 64)
        b = read_image(np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(0.8))))
        blur_count.append(b.count == event.repetitions)
        blur_hue.append(_hue_error(b.hue_deg, event_hue(event)))
    return {
        "n": n,
        "repetitions exact": float(np.mean(reps)),
        "loudness within 1 dB": float(np.mean(np.array(loud) <= 1.0)),
        "loudness max error (dB)": float(np.max(loud)),
        "pitch within 3 %": float(np.mean(np.array(pitch) <= 0.03)),
        "pitch max error (%)": 100 * float(np.max(pitch)),
        "count exact": float(np.mean(count)),
        "hue within 10 deg": float(np.mean(np.array(hue) <= 10)),
        "hue max error (deg)": float(np.max(hue)),
        "size median error (px at 64)": float(np.median(size)),
        "count exact, blur 0.8 px": float(np.mean(blur_count)),
        "hue within 10 deg, blur 0.8 px": float(np.mean(np.array(blur_hue) <= 10)),
    }


def _hue_error(measured: float | None, true: float) -> float:
    return 180.0 if measured is None else abs((measured - true + 180) % 360 - 180)


def measure_speed(n: int, workers: int) -> float:
    """Clips per second from WorldDataset through a DataLoader with ``workers`` processes."""
    loader = torch.utils.data.DataLoader(
        WorldDataset("train", n, seed=1),
        batch_size=8,
        num_workers=workers,
        collate_fn=collate_world,
    )
    start = time.perf_counter()
    for _ in loader:
        pass
    return n / (time.perf_counter() - start)


def write_markdown(
    out: Path, sample_rows, clip_captions, readers: dict, speed: float, workers: int
) -> None:
    metrics_path = DEFAULT_CHECKPOINT / "metrics.json"
    cls_metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    pitched = ", ".join(f"{c} {lo:.0f}-{hi:.0f} Hz" for c, (lo, hi) in PITCH_RANGES.items())
    fixed = ", ".join(f"{c} {h:.0f} deg" for c, h in CLASS_HUES.items())
    n_cells = {s: len(split_combos(s)) for s in ("train", "val", "test")}
    lines = [
        "# The built-in world",
        "",
        "Generated by `python -m scripts.make_world_docs`; code in `bgtai/data/` "
        "(`events`, `sounds`, `images`, `clips`, `world`) and `bgtai/readers/`.",
        "",
        "## Classes",
        "",
        f"{len(CLASSES)} sound classes; the ones marked * are sounds a person can make at a "
        "microphone. Each has its own timbre (see `bgtai/data/sounds.py`) and its own drawn "
        "object.",
        "",
        "![classes](img/world_classes.png)",
        "",
        "## Physics",
        "",
        f"- **pitch -> hue**: hue = 270 deg x the pitch's log-scale position in its class's range "
        f"(red = lowest, violet = highest). Ranges: {pitched}. Unpitched classes keep a fixed hue: "
        f"{fixed}.",
        f"- **loudness -> size**: the object's larger side grows linearly from {SIZE_RANGE[0]:.2f} "
        f"to {SIZE_RANGE[1]:.2f} of the image side over {LOUDNESS_RANGE[0]:.0f} .. "
        f"{LOUDNESS_RANGE[1]:.0f} dBFS.",
        "- **repetitions -> count**: one object per repetition (1-5), in distinct cells of a 3x3 "
        "grid with random offsets, never touching.",
        "- **background**: random hue, low saturation (<= 0.2), gradient / blotches / stripes; "
        "objects are fully saturated, so a saturation threshold separates them.",
        "- **loudness** of an event is the RMS of its active part: the 20 ms sliding power "
        "averaged where it is within 20 dB of its maximum (gaps and background excluded). "
        "Levels (quiet/medium/loud, low/medium/high) are thirds of the ranges (log-frequency "
        "thirds for pitch). Repetitions are separated by >= 150 ms of silence.",
        "",
        "![physics](img/world_physics.png)",
        "",
        "## Sample images, descriptions and glosses",
        "",
        "![samples](img/world_samples.png)",
        "",
        "| image | description | gloss |",
        "| --- | --- | --- |",
        *[f"| {k} | {text} | `{gloss}` |" for k, text, gloss in sample_rows],
        "",
        "## Clips",
        "",
        "1-10 s audio with 1-3 non-overlapping events at random onsets and 4 frames/s: an event's "
        "objects are on screen while it sounds (each such frame is swapped for a distractor with "
        "probability 0.1), silent frames are empty or show a distractor (a class not heard) with "
        "probability 0.5. Ground truth per frame (visible events, distractor) and per 1 s segment "
        "(sounding events).",
        "",
        "![clips](img/world_clips.png)",
        "",
        *[f"{i + 1}. {text} — `{gloss}`" for i, (text, gloss) in enumerate(clip_captions)],
        "",
        "## Splits",
        "",
        f"Content cells (class, pitch level, loudness level, repetitions): "
        f"{sum(n_cells.values())} in all, cut per class 80/10/10 with the seed: "
        f"train {n_cells['train']}, val {n_cells['val']}, test {n_cells['test']} cells. Splits are "
        "disjoint in content; every class appears in every split.",
        "",
        "## Measured",
        "",
        f"Attribute readers on {readers['n']} world events (64x64 images, clean unless blurred):",
        "",
        "| measure | value |",
        "| --- | --- |",
        *[
            f"| {k} | {100 * v:.1f} % |"
            if k.startswith(
                ("count", "hue within", "pitch within", "loudness within", "repetitions")
            )
            else f"| {k} | {v:.3g} |"
            for k, v in readers.items()
            if k != "n"
        ],
        "",
    ]
    if cls_metrics:
        lines += [
            f"Class reader (`assets/world_classifier`, {cls_metrics['parameters']} "
            f"parameters): val accuracy {cls_metrics['val_accuracy']:.3f}, held-out test "
            f"split accuracy {cls_metrics['test_accuracy']:.3f} on {cls_metrics['n_eval']} "
            "images.",
            "",
        ]
    lines += [
        f"On-the-fly generation: {speed:.1f} clips/s (1-10 s clips, 64x64 frames, "
        f"`WorldDataset` through a `DataLoader` with {workers} workers, on a shared "
        f"{os.cpu_count()}-core CPU).",
        "",
    ]
    (out / "world.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    parser.add_argument("--n-readers", type=int, default=330)
    parser.add_argument("--n-speed", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    img = args.out / "img"
    img.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    class_gallery(img / "world_classes.png", rng)
    physics(img / "world_physics.png", rng)
    sample_rows = samples(img / "world_samples.png", rng)
    clip_captions = clips(img / "world_clips.png", rng)
    readers = measure_readers(args.n_readers, rng)
    speed = measure_speed(args.n_speed, args.workers)
    write_markdown(args.out, sample_rows, clip_captions, readers, speed, args.workers)
    return args.out / "world.md"


if __name__ == "__main__":
    print(main())
