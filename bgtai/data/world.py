"""Splits of the built-in world, its torch Datasets and the cache-to-disk command.

Splits
------
The content space is the set of cells (class, pitch level, loudness level, repetitions)
(:func:`bgtai.data.events.all_combos`: 345 cells). Per class, the cells are shuffled with the seed
and cut 80/10/10 into train/val/test (at least one cell of every class in val and test), and an
event of a split is only ever drawn from that split's cells. Train, val and test are therefore
disjoint in content, not only in random draws: "three loud high whistles" seen in test never
occurred in training, though whistles, loudness and threes each did (compositional held-out).

Items are deterministic: item ``i`` of a split is generated from the seed sequence
``(seed, split index, i)``, so any worker, any order and the cache all produce the same data.

Cache
-----
:func:`cache_world` (command line: ``python -m scripts.cache_world --out DIR --n 10000
[--split train] [--workers 2]``) writes
``DIR/<split>/<i>.npz`` (one clip each) and ``DIR/<split>/index.jsonl`` (its events), with a
progress bar and a process pool; :class:`CachedWorldDataset` reads it back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from bgtai.audio import SAMPLE_RATE
from bgtai.data.clips import MAX_EVENTS, Clip, sample_clip
from bgtai.data.events import CLASSES, Combo, Event, all_combos, sample_event
from bgtai.data.images import IMAGE_SIZE, check_image_size, render_event_image
from bgtai.data.sounds import render_event

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
KINDS = ("clip", "event", "image")
EVENT_PAD_S = 0.1
"""Background before and after a single event (``kind="event"`` items)."""


def _check_split(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return SPLITS.index(split)


@lru_cache(maxsize=None)
def _assignment(seed: int) -> dict[Combo, str]:
    out: dict[Combo, str] = {}
    for k, cls in enumerate(CLASSES):
        cells = [c for c in all_combos() if c[0] == cls]
        order = np.random.default_rng([seed, k]).permutation(len(cells))
        n_held = max(1, round(SPLIT_FRACTIONS[1] * len(cells)))
        for rank, j in enumerate(order):
            out[cells[j]] = "val" if rank < n_held else "test" if rank < 2 * n_held else "train"
    return out


def split_combos(split: str, seed: int = 0) -> list[Combo]:
    """The content cells of ``split`` (see the module docstring)."""
    _check_split(split)
    return [c for c, s in _assignment(int(seed)).items() if s == split]


def combo_split(combo: Combo, seed: int = 0) -> str:
    """Which split a content cell belongs to."""
    try:
        return _assignment(int(seed))[tuple(combo)]
    except KeyError:
        raise ValueError(f"{combo!r} is not a content cell of the world") from None


def item_rng(split: str, index: int, seed: int = 0) -> np.random.Generator:
    """The generator behind item ``index`` of ``split``."""
    return np.random.default_rng([int(seed), _check_split(split), int(index)])


def sample_split_event(rng: np.random.Generator, split: str, seed: int = 0) -> Event:
    """One event drawn from the content cells of ``split``."""
    cells = split_combos(split, seed)
    cls, pitch_level, loudness_level, reps = cells[int(rng.integers(len(cells)))]
    return sample_event(
        rng, cls, pitch_level=pitch_level, loudness_level=loudness_level, repetitions=reps
    )


def _event_arrays(events: tuple[Event, ...]) -> dict[str, torch.Tensor]:
    """Event parameters padded to MAX_EVENTS (class -1, pitch NaN, repetitions 0 when absent)."""
    pad = MAX_EVENTS - len(events)
    return {
        "event_class": torch.tensor([CLASSES.index(e.cls) for e in events] + [-1] * pad),
        "event_pitch_hz": torch.tensor(
            [math.nan if e.pitch_hz is None else e.pitch_hz for e in events] + [math.nan] * pad,
            dtype=torch.float32,
        ),
        "event_loudness_dbfs": torch.tensor(
            [e.loudness_dbfs for e in events] + [math.nan] * pad, dtype=torch.float32
        ),
        "event_repetitions": torch.tensor([e.repetitions for e in events] + [0] * pad),
        "event_onset_s": torch.tensor(
            [e.onset_s for e in events] + [math.nan] * pad, dtype=torch.float32
        ),
        "event_duration_s": torch.tensor(
            [e.duration_s for e in events] + [math.nan] * pad, dtype=torch.float32
        ),
        "n_events": torch.tensor(len(events)),
    }


def clip_to_item(clip: Clip) -> dict[str, torch.Tensor]:
    """A clip as a dict of tensors; frames are ``(F, 3, H, W)`` uint8."""
    return {
        "audio": torch.from_numpy(clip.audio),
        "frames": torch.from_numpy(clip.frames).permute(0, 3, 1, 2).contiguous(),
        "frame_events": torch.from_numpy(clip.frame_events),
        "frame_distractor": torch.from_numpy(clip.frame_distractor),
        "segment_events": torch.from_numpy(clip.segment_events),
        **_event_arrays(clip.events),
    }


class WorldDataset(Dataset):
    """On-the-fly world data: each item is generated when asked for.

    Parameters
    ----------
    split
        ``"train"``, ``"val"`` or ``"test"``.
    n
        Number of items (the world is unbounded; this fixes an epoch).
    seed
        Fixes the split assignment and every item.
    kind
        ``"clip"``: a 1-10 s clip (audio, frames, per-frame/per-segment ground truth, events).
        ``"event"``: a single event (audio with 0.1 s of background either side, one image,
        ``class``, ``pitch_hz`` (NaN if unpitched), ``loudness_dbfs``, ``repetitions``).
        ``"image"``: the same without the audio (cheaper; the same images as ``"event"``).
    image_size
        Frame / image side, 32-128.
    clip_seconds
        ``(min, max)`` clip duration for ``kind="clip"``, within 1-10 s.

    Items are dicts of tensors; clips vary in length, batch them with :func:`collate_world`.
    """

    def __init__(
        self,
        split: str = "train",
        n: int = 1000,
        *,
        seed: int = 0,
        kind: str = "clip",
        image_size: int = IMAGE_SIZE,
        clip_seconds: tuple[float, float] = (1.0, 10.0),
    ):
        _check_split(split)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not (isinstance(n, (int, np.integer)) and n >= 1):
            raise ValueError(f"n must be a positive integer, got {n!r}")
        lo, hi = clip_seconds
        if not 1.0 <= lo <= hi <= 10.0:
            raise ValueError(f"clip_seconds must satisfy 1 <= min <= max <= 10, got {clip_seconds}")
        self.split, self.n, self.seed, self.kind = split, int(n), int(seed), kind
        self.image_size = check_image_size(image_size)
        self.clip_seconds = (float(lo), float(hi))

    def __len__(self) -> int:
        return self.n

    def clip(self, index: int) -> Clip:
        """The :class:`~bgtai.data.clips.Clip` behind item ``index`` (``kind="clip"``)."""
        rng = item_rng(self.split, self._check_index(index), self.seed)
        return sample_clip(
            rng,
            duration_s=float(rng.uniform(*self.clip_seconds)),
            image_size=self.image_size,
            combos=split_combos(self.split, self.seed),
        )

    def event(
        self, index: int, *, audio: bool = True
    ) -> tuple[Event, np.ndarray | None, np.ndarray]:
        """``(event, audio or None, image)`` behind item ``index`` (``kind="event"/"image"``)."""
        rng = item_rng(self.split, self._check_index(index), self.seed)
        event = sample_split_event(rng, self.split, self.seed)
        # Independent child streams: the image does not depend on whether audio is rendered.
        rng_image, rng_audio = rng.spawn(2)
        image = render_event_image(event, rng_image, self.image_size)
        return event, render_event(event, rng_audio, pad_s=EVENT_PAD_S) if audio else None, image

    def _check_index(self, index: int) -> int:
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        return index % self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.kind == "clip":
            return clip_to_item(self.clip(index))
        event, audio, image = self.event(index, audio=self.kind == "event")
        item = {} if audio is None else {"audio": torch.from_numpy(audio)}
        return item | {
            "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            "class": torch.tensor(CLASSES.index(event.cls)),
            "pitch_hz": torch.tensor(
                math.nan if event.pitch_hz is None else event.pitch_hz, dtype=torch.float32
            ),
            "loudness_dbfs": torch.tensor(event.loudness_dbfs, dtype=torch.float32),
            "repetitions": torch.tensor(event.repetitions),
        }


def collate_world(batch: list[dict[str, torch.Tensor]],
                  multiples: Mapping[str, int] | None = None) -> dict[str, torch.Tensor]:
    """Stack items; tensors of different lengths are zero-padded along their first dimension
    and their true lengths are given as ``<key>_lengths``.

    ``multiples`` (``{key: n}``) pads those keys' first dimension up to a multiple of ``n``
    (with ``<key>_lengths`` whenever that adds padding), so that batches come in a few fixed
    shapes: what a compiled model needs to avoid recompiling for every batch.
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    multiples = multiples or {}
    out: dict[str, torch.Tensor] = {}
    for key in batch[0]:
        values = [item[key] for item in batch]
        width = max(v.shape[0] for v in values) if values[0].ndim else 0
        if key in multiples:
            width = -(-width // multiples[key]) * multiples[key]
        if all(v.shape == values[0].shape for v in values) and (
                not values[0].ndim or width == values[0].shape[0]):
            out[key] = torch.stack(values)
            continue
        lengths = torch.tensor([v.shape[0] for v in values])
        padded = values[0].new_zeros((len(values), width, *values[0].shape[1:]))
        for i, v in enumerate(values):
            padded[i, : v.shape[0]] = v
        out[key], out[f"{key}_lengths"] = padded, lengths
    return out


# ---------------------------------------------------------------------------------------------
# cache to disk


def _write_item(job: tuple[str, str, int, int, int, tuple[float, float]]) -> dict:
    out_dir, split, index, seed, image_size, clip_seconds = job
    ds = WorldDataset(split, index + 1, seed=seed, image_size=image_size, clip_seconds=clip_seconds)
    clip = ds.clip(index)
    path = Path(out_dir) / split / f"{index:06d}.npz"
    np.savez_compressed(
        path,
        audio=clip.audio,
        frames=clip.frames,
        frame_events=clip.frame_events,
        frame_distractor=clip.frame_distractor,
        segment_events=clip.segment_events,
    )
    return {
        "index": index,
        "file": path.name,
        "duration_s": clip.duration_s,
        "events": [asdict(e) for e in clip.events],
    }


def cache_world(
    out: str | Path,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    image_size: int = IMAGE_SIZE,
    clip_seconds: tuple[float, float] = (1.0, 10.0),
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Generate ``n`` clips of ``split`` into ``out/<split>/`` with ``workers`` processes.

    Returns the split folder. Items equal ``WorldDataset(split, n, seed=seed, ...)[i]``.
    """
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    WorldDataset(split, n, seed=seed, image_size=image_size, clip_seconds=clip_seconds)  # validate
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    folder = Path(out) / split
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(out), split, i, seed, image_size, tuple(clip_seconds)) for i in range(n)]
    bar = tqdm(total=n, desc=f"world/{split}", unit="clip", disable=not progress)
    records = []
    if workers == 1:
        for job in jobs:
            records.append(_write_item(job))
            bar.update()
    else:
        with get_context("spawn").Pool(workers) as pool:
            for record in pool.imap(_write_item, jobs, chunksize=8):
                records.append(record)
                bar.update()
    bar.close()
    with open(folder / "index.jsonl", "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "split": split,
                "n": n,
                "seed": seed,
                "image_size": image_size,
                "clip_seconds": list(clip_seconds),
                "sample_rate": SAMPLE_RATE,
            },
            indent=2,
        )
    )
    return folder


class CachedWorldDataset(Dataset):
    """Clips written by :func:`cache_world`, read back as :class:`WorldDataset` dicts."""

    def __init__(self, root: str | Path, split: str = "train"):
        _check_split(split)
        self.folder = Path(root) / split
        index = self.folder / "index.jsonl"
        if not index.is_file():
            raise ValueError(f"no cached world split at {self.folder} (missing {index.name})")
        self.records = [json.loads(line) for line in index.read_text().splitlines() if line]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        record = self.records[index]
        with np.load(self.folder / record["file"]) as z:
            clip = Clip(
                z["audio"],
                z["frames"],
                tuple(Event(**e) for e in record["events"]),
                z["frame_events"],
                z["frame_distractor"],
                z["segment_events"],
            )
        return clip_to_item(clip)
