"""Training and evaluation items of the joint model, built on the world (:mod:`bgtai.data.world`).

:class:`EventPairs` gives single events with their exact image and caption; :class:`ClipPairs`
gives multi-event clips with all their frames, the clip's caption and the ground-truth
segment x frame alignment (used only to supervise DS-Net on the train split, and to measure
how often a selected pair is right). Both return dicts of tensors that
:func:`bgtai.data.world.collate_world` batches (token ids are zero-padded, 0 is ``<pad>``).
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from bgtai.data.clips import FPS, SEGMENT_S
from bgtai.data.events import CLASSES, all_combos, event_combo, loudness_position, pitch_position
from bgtai.data.language import describe_events
from bgtai.data.world import SPLITS, WorldDataset, collate_world
from bgtai.joint.tokens import TokenVocab

COMBO_INDEX = {c: i for i, c in enumerate(all_combos())}
MAX_SEGMENTS = math.ceil(10.0 / SEGMENT_S)
MAX_FRAMES = 10 * FPS

__all__ = ["COMBO_INDEX", "ClipPairs", "EventPairs", "batch_lengths", "collate_world"]


def batch_lengths(batch: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """True lengths of ``batch[key]``'s rows: :func:`collate_world` adds ``<key>_lengths`` only
    when the rows differ, so equal rows have the full padded length."""
    lengths = batch.get(f"{key}_lengths")
    if lengths is not None:
        return lengths
    x = batch[key]
    return torch.full((x.shape[0],), x.shape[1], dtype=torch.int64, device=x.device)


def _caption_rng(seed: int, split: str, index: int, salt: int) -> np.random.Generator:
    # A stream of its own: the caption never changes the world's audio or pictures.
    return np.random.default_rng([seed, SPLITS.index(split), index, salt])


def _captions(vocab: TokenVocab, text: str) -> dict[str, torch.Tensor]:
    return {"gloss_ids": vocab.encode(text, "gloss"), "text_ids": vocab.encode(text, "text")}


class _Cached(Dataset):
    """Deterministic items, optionally kept in memory after the first epoch and on disk.

    ``cache_dir`` keeps every item as a safetensors file in a sub-folder named for what
    defines it (kind, split, seed, image size, clip lengths, vocabulary), so runs that share a
    world (ablation seeds, DataLoader workers, a resumed run) synthesise it once: synthesis
    costs milliseconds per item on a CPU core, reading a file far less.
    """

    def __init__(self, world: WorldDataset, vocab: TokenVocab, cache: bool,
                 cache_dir: str | Path | None = None):
        if not isinstance(vocab, TokenVocab):
            raise ValueError(f"vocab must be a TokenVocab, got {type(vocab).__name__}")
        self.world, self.vocab = world, vocab
        self._cache: dict[int, dict] | None = {} if cache else None
        self.cache_dir = None if cache_dir is None else Path(cache_dir) / self._cache_key()

    def _cache_key(self) -> str:
        w = self.world
        spec = [type(self).__name__, w.split, w.seed, w.kind, w.image_size, w.clip_seconds,
                self.vocab.tokens]
        digest = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]
        return f"{type(self).__name__.lower()}-{w.split}-{digest}"

    def __len__(self) -> int:
        return len(self.world)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        item = self._from_disk(index)
        if self._cache is not None:
            self._cache[index] = item
        return item

    def _from_disk(self, index: int) -> dict[str, torch.Tensor]:
        if self.cache_dir is None:
            return self._make(index)
        path = self.cache_dir / f"{index}.safetensors"
        if path.is_file():
            return load_file(path)
        item = self._make(index)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # written under a private name, then renamed: concurrent runs never read half a file
        tmp = path.with_name(f"{index}.{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in item.items()}, tmp)
        os.replace(tmp, path)
        return item

    def fill_disk_cache(self, workers: int = 1) -> None:
        """Synthesise every item missing from ``cache_dir``, in ``workers`` processes."""
        if self.cache_dir is None:
            raise ValueError("fill_disk_cache needs a dataset made with cache_dir")
        missing = [i for i in range(len(self))
                   if not (self.cache_dir / f"{i}.safetensors").is_file()]
        if workers <= 1 or len(missing) < 2:
            for i in missing:
                self._from_disk(i)
            return
        chunks = [missing[k::workers] for k in range(workers)]
        # spawned, not forked: a fork taken while torch's OpenMP pool is alive can hang
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(self._fill_chunk, chunks)

    def _fill_chunk(self, indices: list[int]) -> None:
        torch.set_num_threads(1)  # one process per core already
        for i in indices:
            self._from_disk(i)

    def _make(self, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class EventPairs(_Cached):
    """Single events: ``audio``, ``image``, ``class``, ``repetitions``, ``loudness_pos``,
    ``pitch_pos`` (NaN if unpitched), ``combo`` (content-cell index), ``caption`` token ids.

    Parameters
    ----------
    split : {"train", "val", "test"}
    n : int
        Number of events.
    vocab : TokenVocab
    seed : int
    cache : bool
        Keep generated items in memory (training re-reads them every epoch).
    cache_dir : str or Path, optional
        Also keep them on disk there (see :class:`_Cached`).
    """

    def __init__(self, split: str, n: int, vocab: TokenVocab, *, seed: int = 0,
                 image_size: int = 64, cache: bool = False,
                 cache_dir: str | Path | None = None):
        super().__init__(WorldDataset(split, n, seed=seed, kind="event", image_size=image_size),
                         vocab, cache, cache_dir)

    def caption(self, index: int) -> str:
        """The English caption of item ``index``."""
        event, _, _ = self.world.event(index, audio=False)
        return describe_events([event], _caption_rng(self.world.seed, self.world.split, index, 1))

    def _make(self, index: int) -> dict[str, torch.Tensor]:
        event, audio, image = self.world.event(index)
        pitch = math.nan if event.pitch_hz is None else pitch_position(event.cls, event.pitch_hz)
        text = describe_events([event], _caption_rng(self.world.seed, self.world.split, index, 1))
        return {
            "audio": torch.from_numpy(audio),
            "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            "class": torch.tensor(CLASSES.index(event.cls)),
            "repetitions": torch.tensor(event.repetitions),
            "loudness_pos": torch.tensor(loudness_position(event.loudness_dbfs), dtype=torch.float32),
            "pitch_pos": torch.tensor(pitch, dtype=torch.float32),
            "combo": torch.tensor(COMBO_INDEX[event_combo(event)]),
            **_captions(self.vocab, text),
        }


class ClipPairs(_Cached):
    """Clips: ``audio``, ``frames`` ``(F, 3, H, W)``, ``alignment`` ``(10, 40)`` bool (the
    ground-truth segment x frame matrix, zero-padded), ``n_events`` and caption token ids.

    Parameters
    ----------
    split : {"train", "val", "test"}
    n : int
    vocab : TokenVocab
    seed : int
    clip_seconds : (float, float)
        Clip duration range, 1-10 s (``--duration d`` uses ``(d, d)``).
    cache : bool
    cache_dir : str or Path, optional
    """

    def __init__(self, split: str, n: int, vocab: TokenVocab, *, seed: int = 0,
                 image_size: int = 64, clip_seconds: tuple[float, float] = (1.0, 10.0),
                 cache: bool = False, cache_dir: str | Path | None = None):
        super().__init__(WorldDataset(split, n, seed=seed, kind="clip", image_size=image_size,
                                      clip_seconds=clip_seconds), vocab, cache, cache_dir)

    def _make(self, index: int) -> dict[str, torch.Tensor]:
        clip = self.world.clip(index)
        truth = np.zeros((MAX_SEGMENTS, MAX_FRAMES), dtype=bool)
        a = clip.alignment()
        truth[: a.shape[0], : a.shape[1]] = a
        text = describe_events(clip.events, _caption_rng(self.world.seed, self.world.split, index, 2))
        return {
            "audio": torch.from_numpy(clip.audio),
            "frames": torch.from_numpy(clip.frames).permute(0, 3, 1, 2).contiguous(),
            "alignment": torch.from_numpy(truth),
            "n_events": torch.tensor(len(clip.events)),
            **_captions(self.vocab, text),
        }
