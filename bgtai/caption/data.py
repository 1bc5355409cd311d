"""Captioning data from the world: clips (1-10 s, 1-3 events) or single events, each with the
frozen audio features the captioner reads and every reference gloss.

References: a content cell has many equally right descriptions (synonyms, count phrasings,
word orders, joiners, :mod:`bgtai.data.language`); ``references`` of them are drawn per item
from a stream of its own (never the world's audio stream), glossed by the rules, and the
distinct ones kept. Training picks one of them at random at every step; evaluation scores a
caption against all of them, as captioning benchmarks score against all their annotators.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Dataset

from bgtai.audio import SAMPLE_RATE
from bgtai.caption.words import CaptionVocab, token_events
from bgtai.data.cache import cache_key
from bgtai.data.events import CLASSES, LOUDNESS_LEVELS, PITCH_LEVELS, Event
from bgtai.data.language import describe_events
from bgtai.data.world import EVENT_PAD_S, SPLITS, WorldDataset
from bgtai.gloss import english_to_gloss

_SALT = 19  # the caption streams' own salt (the joint data uses 1 and 2)


def reference_glosses(events: Sequence[Event], split: str, index: int, seed: int = 0,
                      references: int = 20) -> list[str]:
    """The distinct glosses of ``references`` descriptions of item ``index``'s events."""
    texts = [describe_events(events, np.random.default_rng([seed, SPLITS.index(split), index,
                                                            _SALT, k]))
             for k in range(references)]
    return list(dict.fromkeys(english_to_gloss(t) for t in texts))


class _Synth(Dataset):
    """``(audio, events)`` of a world's items, so a DataLoader can render them in workers."""

    def __init__(self, world: WorldDataset):
        self.world = world

    def __len__(self) -> int:
        return len(self.world)

    def __getitem__(self, index: int) -> tuple[np.ndarray, tuple[Event, ...]]:
        if self.world.kind == "clip":
            clip = self.world.clip(index)
            return clip.audio, clip.events
        event, audio, _ = self.world.event(index)
        return audio, (event,)


class CaptionItems(Dataset):
    """``n`` world items of a split with their frozen features and reference glosses.

    Items are rendered once (``workers`` processes) and their features computed once by
    ``model.audio_features`` (the encoder is frozen, so this equals computing them every
    step). Each item is a dict: ``frames (F, width)``, ``clip (audio_dim,)``, ``gloss_ids
    (K, L)`` (the K references, ``<s> ... </s>`` zero-padded), ``token_events (K, L)`` (the
    event each reference token speaks of, :func:`bgtai.caption.words.token_events`; -1 at
    ``<s>``, ``</s>`` and padding) and ``frame_targets (F, 5)`` (:func:`frame_targets`).

    Parameters
    ----------
    model : AudioCaptioner
    split : {"train", "val", "test"}
    n : int
    kind : {"clip", "event"}
    clip_seconds : (float, float)
        Clip durations for ``kind="clip"``.
    references : int
        Descriptions drawn per item (distinct glosses kept).
    """

    def __init__(self, model, split: str, n: int, *, seed: int = 0, kind: str = "clip",
                 clip_seconds: tuple[float, float] = (1.0, 10.0), references: int = 20,
                 workers: int = 0, batch_size: int = 32):
        if kind not in ("clip", "event"):
            raise ValueError(f"kind must be 'clip' or 'event', got {kind!r}")
        # frames are not needed: the smallest image size makes clips cheapest to render; the
        # audio and events do not depend on it
        world = WorldDataset(split, n, seed=seed, kind=kind, image_size=32,
                             clip_seconds=clip_seconds)
        vocab: CaptionVocab = model.vocab
        self.events: list[tuple[Event, ...]] = []
        self.references: list[list[str]] = []
        self.items: list[dict[str, torch.Tensor]] = []
        loader = DataLoader(_Synth(world), batch_size=batch_size, num_workers=workers,
                            collate_fn=list)
        for batch in loader:
            features = frozen_features(model, [torch.from_numpy(a) for a, _ in batch])
            for (_, events), feats in zip(batch, features):
                refs = reference_glosses(events, split, len(self.items), seed, references)
                self.events.append(events)
                self.references.append(refs)
                # a single event's audio starts with EVENT_PAD_S of background
                timed = events if kind == "clip" else tuple(
                    dataclasses.replace(e, onset_s=EVENT_PAD_S) for e in events)
                targets = frame_targets(timed, len(feats["frames"]), model.audio.fps)
                owners = [torch.tensor([-1, *token_events(r), -1]) for r in refs]
                self.items.append({
                    **caption_item(vocab, feats, refs), "frame_targets": targets,
                    "token_events": torch.nn.utils.rnn.pad_sequence(
                        owners, batch_first=True, padding_value=-1)})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


def frozen_features(model, waves: Sequence[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """``frames (F, width + 1)`` and ``clip (audio_dim,)`` of each waveform, by the frozen
    encoder (:meth:`bgtai.caption.model.AudioCaptioner.audio_features`)."""
    lengths = torch.tensor([len(w) for w in waves])
    padded = torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True)
    device = model.frame_proj.weight.device
    frames, mask, clip = model.audio_features(padded.to(device), lengths.to(device))
    return [{"frames": frames[row, : int(mask[row].sum())].cpu(), "clip": clip[row].cpu()}
            for row in range(len(waves))]


def frame_targets(events: Sequence[Event], n_frames: int, fps: float) -> torch.Tensor:
    """What sounds at each frame (its centre): ``(n_frames, 5)`` int64 columns class (0: none,
    ``1 + CLASSES.index`` else), repetitions - 1, loudness level and pitch level of the event
    sounding there (-100, ignored, where no event sounds or the class has no pitch: the frame
    heads' targets), and that event's index in onset order (-1: none; the DS-Net's target)."""
    t = (torch.arange(n_frames, dtype=torch.float64) + 0.5) / fps
    out = torch.full((n_frames, 5), -100, dtype=torch.int64)
    out[:, 0], out[:, 4] = 0, -1
    for k, e in enumerate(sorted(events, key=lambda e: e.onset_s)):
        on = (t >= e.onset_s) & (t < e.offset_s)
        out[on, 4] = k
        out[on, 0] = 1 + CLASSES.index(e.cls)
        out[on, 1] = int(e.repetitions) - 1
        out[on, 2] = LOUDNESS_LEVELS.index(e.loudness_level)
        if e.pitch_level is not None:
            out[on, 3] = PITCH_LEVELS.index(e.pitch_level)
    return out


def caption_item(vocab: CaptionVocab, features: dict[str, torch.Tensor],
                 references: Sequence[str]) -> dict[str, torch.Tensor]:
    """An item: the features and the ``(K, L)`` padded ids of the K reference glosses."""
    ids = [torch.tensor(vocab.encode(r)) for r in references]
    return {**features, "gloss_ids": torch.nn.utils.rnn.pad_sequence(ids, batch_first=True)}


class _Recordings(Dataset):
    """Each record's waveform (its first ``samples``), read in a DataLoader worker."""

    def __init__(self, records: Sequence, samples: int):
        self.records, self.samples = records, samples

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        record = self.records[index]
        try:
            wave = record.load(max_seconds=600.0)[: self.samples]
        except ValueError as err:
            raise ValueError(f"cannot read the clip {record.path}: {err}") from err
        return torch.from_numpy(np.ascontiguousarray(wave))


SHARD_CLIPS = 2048
"""Clips per feature-cache file: computing the cache holds one shard in memory, not the set."""


def record_features_cache(model, records: Sequence, cache_dir: str | Path, *,
                          max_seconds: float = 10.0, workers: int = 0,
                          batch_size: int = 32) -> Path:
    """The folder of the records' frozen captioner features, computed once.

    ``cache_dir/caption-features-<digest>/`` holds ``shard-<k>.safetensors`` files of
    :data:`SHARD_CLIPS` clips each: ``frames`` (the shard's frames end to end, ``(sum F,
    width + 1)``), ``offsets`` (``(n + 1,)`` row where each clip starts) and ``clips`` (``(n,
    audio_dim)``). The digest covers the frozen encoder's weights, ``max_seconds`` and every
    record's file (path, size, mtime), so another process, a resumed run or a later run reads
    the folder, and a changed clip or encoder makes a new one. The folder appears whole or not
    at all (written under a temporary name, then renamed).

    Raises
    ------
    ValueError
        If a clip cannot be read (naming it).
    """
    key = cache_key([r.path for r in records], max_seconds, tensors=model.audio.state_dict())
    folder = Path(cache_dir) / f"caption-features-{key}"
    if folder.is_dir():
        return folder
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    loader = DataLoader(_Recordings(list(records), int(max_seconds * SAMPLE_RATE)),
                        batch_size=batch_size, num_workers=workers, collate_fn=list)
    shard: list[dict[str, torch.Tensor]] = []
    written = 0

    def flush() -> None:
        nonlocal written
        lengths = torch.tensor([0] + [len(f["frames"]) for f in shard])
        save_file({"frames": torch.cat([f["frames"] for f in shard]).contiguous(),
                   "offsets": torch.cumsum(lengths, 0),
                   "clips": torch.stack([f["clip"] for f in shard]).contiguous()},
                  tmp / f"shard-{written}.safetensors")
        written += 1
        shard.clear()

    try:
        with torch.no_grad():
            for batch in loader:
                for feats in frozen_features(model, batch):
                    shard.append(feats)
                    if len(shard) == SHARD_CLIPS:
                        flush()
        if shard:
            flush()
    except BaseException:  # an unreadable clip (or an interrupt) leaves no partial folder
        shutil.rmtree(tmp)
        raise
    try:
        os.replace(tmp, folder)
    except OSError:  # another process got there first: its folder is the same
        shutil.rmtree(tmp)
    return folder


class RecordCaptionItems(Dataset):
    """Real clips (:mod:`bgtai.data.adapters` records) as captioner items, like
    :class:`CaptionItems`, the references being the glosses (rules) of the clip's captions, or
    of its class prompts for a labelled clip (:func:`bgtai.data.adapters.catalog.record_texts`).

    The frozen features are computed once into ``cache_dir``
    (:func:`record_features_cache`) and read from there item by item (memory-mapped), so a
    large set does not sit in every process's memory.

    Parameters
    ----------
    model : AudioCaptioner
    records : sequence of audio records
    cache_dir : path
    max_seconds : float
        Clips are cut to their beginning (the captioner reads at most 10 s).
    """

    def __init__(self, model, records: Sequence, cache_dir: str | Path, *,
                 max_seconds: float = 10.0, workers: int = 0, batch_size: int = 32):
        from bgtai.data.adapters.catalog import record_texts

        self.references = [list(dict.fromkeys(english_to_gloss(t) for t in record_texts(r)))
                           for r in records]
        self.gloss_ids = [caption_item(model.vocab, {}, refs)["gloss_ids"]
                          for refs in self.references]
        self.folder = record_features_cache(model, records, cache_dir, max_seconds=max_seconds,
                                            workers=workers, batch_size=batch_size)
        self.shards = [self.folder / f"shard-{k}.safetensors" for k in
                       range(math.ceil(len(records) / SHARD_CLIPS))]
        self._open: dict[int, Any] = {}  # shard -> open file, per process (not pickled)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_open": {}}

    def __len__(self) -> int:
        return len(self.references)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        k, row = divmod(index, SHARD_CLIPS)
        if k not in self._open:
            self._open[k] = safe_open(self.shards[k], framework="pt")
        f = self._open[k]
        start, stop = f.get_slice("offsets")[row:row + 2].tolist()
        return {"frames": f.get_slice("frames")[start:stop],
                "clip": f.get_slice("clips")[row:row + 1][0], "gloss_ids": self.gloss_ids[index]}


def collate_captions(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pad a list of :class:`CaptionItems` items: ``frames (B, F, w)``, ``mask (B, F)``,
    ``clip (B, d)``, ``gloss_ids (B, K, L)``, ``n_refs (B,)`` and, when every item has them,
    ``frame_targets (B, F, 5)`` and ``token_events (B, K, L)`` (padded as in the items)."""
    frames = torch.nn.utils.rnn.pad_sequence([i["frames"] for i in items], batch_first=True)
    n = torch.tensor([len(i["frames"]) for i in items])
    k = max(len(i["gloss_ids"]) for i in items)
    length = max(i["gloss_ids"].shape[1] for i in items)
    extra = {}
    if all("frame_targets" in i for i in items):
        targets = torch.nn.utils.rnn.pad_sequence(
            [i["frame_targets"] for i in items], batch_first=True, padding_value=-100)
        targets[..., 4][targets[..., 4] == -100] = -1
        owners = torch.full((len(items), k, length), -1, dtype=torch.int64)
        for row, item in enumerate(items):
            owners[row, : item["token_events"].shape[0], : item["token_events"].shape[1]] = (
                item["token_events"])
        extra = {"frame_targets": targets, "token_events": owners}
    ids = torch.zeros(len(items), k, length, dtype=torch.int64)
    for row, item in enumerate(items):
        g = item["gloss_ids"]
        ids[row, : g.shape[0], : g.shape[1]] = g
    return {"frames": frames, "mask": torch.arange(frames.shape[1])[None] < n[:, None],
            "clip": torch.stack([i["clip"] for i in items]), "gloss_ids": ids,
            "n_refs": torch.tensor([len(i["gloss_ids"]) for i in items]), **extra}


def pick_references(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One reference per item, drawn with the global torch RNG (saved in every checkpoint, so
    a resumed run draws what the uninterrupted one would): its ``(B, L)`` ids and, when the
    batch has them, its ``(B, L)`` token events (else None)."""
    n = batch["n_refs"]
    pick = (torch.rand(len(n)) * n.cpu()).long().to(n.device)
    rows = torch.arange(len(n), device=n.device)
    ids = batch["gloss_ids"][rows, pick]
    length = int((ids != 0).sum(1).max())
    owners = batch.get("token_events")
    return ids[:, :length], None if owners is None else owners[rows, pick][:, :length]
