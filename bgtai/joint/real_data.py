"""Training items of the joint models from real data sets (:mod:`bgtai.data.adapters`).

:class:`RealPairs` streams a clip's audio from disk in the DataLoader's workers, with its
middle video frame when the set has frames (VGGSound) and one of its texts (captions, or the
class prompt of a labelled clip) as gloss and raw-word ids. Clips of one class label are
positives of each other (``group``), as the world's content cells are.

The pretrained profile's CLIP image side is frozen, so :func:`cached_clip_frame_embeds`
embeds each clip's middle frame once and keeps the embeddings on disk; its items then carry
``image_embeds`` instead of pixels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from bgtai.audio import SAMPLE_RATE
from bgtai.data.adapters.catalog import record_texts
from bgtai.data.cache import cache_key
from bgtai.joint.tokens import TokenVocab

GROUP_OFFSET = 1_000_000
"""Real items' groups start here, so that they never equal a world content-cell index."""
LONGEST_FILE_S = 600.0


def middle_frame(record: Any, size: int) -> np.ndarray:
    """The middle frame of a VGGSound record as ``(size, size, 3)`` uint8."""
    paths = record.frame_paths()
    if not paths:
        raise ValueError(f"no frame images for {record.path.name} in {record.frames_dir}")
    with Image.open(paths[len(paths) // 2]) as im:
        return np.array(im.convert("RGB").resize((size, size), Image.BICUBIC))  # writable


class RealPairs(Dataset):
    """Audio records of one or more data sets as joint training items.

    Items: ``audio`` (float32, the first ``seconds``), ``group`` (int64: one per class label,
    else one per clip), ``has_image`` (bool), ``image`` ``(3, S, S)`` uint8 (zeros without
    frames) or, with ``image_embeds``, ``image_embeds`` ``(D,)``; with a ``vocab``, also
    ``gloss_ids`` and ``text_ids`` of one text of the clip (drawn with torch's RNG).

    Parameters
    ----------
    records : sequence of audio records
    vocab : TokenVocab, optional
    seconds : float
        Longest audio kept (clips are cut to their beginning).
    image_size : int
    image_embeds : tensor (N, D), optional
        Precomputed picture embeddings, one row per record (:func:`cached_clip_frame_embeds`).
    """

    def __init__(self, records: Sequence[Any], vocab: TokenVocab | None = None, *,
                 seconds: float = 10.0, image_size: int = 64,
                 image_embeds: torch.Tensor | None = None):
        if not records:
            raise ValueError("RealPairs needs at least one record")
        if image_embeds is not None and len(image_embeds) != len(records):
            raise ValueError(f"{len(image_embeds)} image embeddings for {len(records)} records")
        self.records, self.vocab = list(records), vocab
        self.samples, self.image_size = int(seconds * SAMPLE_RATE), image_size
        self.image_embeds = image_embeds
        labels = sorted({r.label for r in self.records if hasattr(r, "label")})
        index = {label: i for i, label in enumerate(labels)}
        self.groups = [GROUP_OFFSET + (index[r.label] if hasattr(r, "label")
                                       else len(labels) + i) for i, r in enumerate(self.records)]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        record = self.records[i]
        try:
            wave = record.load(max_seconds=LONGEST_FILE_S)[: self.samples]
        except ValueError as err:
            raise ValueError(f"cannot read the clip {record.path}: {err}") from err
        item = {"audio": torch.from_numpy(np.ascontiguousarray(wave)),
                "group": torch.tensor(self.groups[i])}
        has_frames = bool(getattr(record, "frames_dir", None))
        item["has_image"] = torch.tensor(has_frames)
        if self.image_embeds is not None:
            item["image_embeds"] = self.image_embeds[i]
        else:
            image = (middle_frame(record, self.image_size) if has_frames
                     else np.zeros((self.image_size, self.image_size, 3), np.uint8))
            item["image"] = torch.from_numpy(image).permute(2, 0, 1).contiguous()
        if self.vocab is not None:
            texts = record_texts(record)
            text = texts[int(torch.randint(len(texts), ()))]
            item["gloss_ids"] = self.vocab.encode(text, "gloss")
            item["text_ids"] = self.vocab.encode(text, "text")
        return item


def cached_clip_frame_embeds(vision, records: Sequence[Any], cache_dir: str | Path, *,
                             model_id: str, batch_size: int = 32) -> torch.Tensor:
    """``(N, D)`` frozen CLIP embeddings of each record's middle frame, computed once.

    The file ``cache_dir/clip-frames-<digest>.safetensors`` is named for the CLIP model and
    the records' frame files (path, size, mtime), so another run, a resumed run or another
    process reads it instead of running CLIP again; a changed frame makes a new file.

    Raises
    ------
    ValueError
        If a record has no frames (naming it).
    """
    frames = []
    for r in records:
        paths = r.frame_paths() if hasattr(r, "frame_paths") else []
        if not paths:
            raise ValueError(f"{r.path.name} has no frames: the pretrained profile trains on "
                             "audio-picture pairs (VGGSound with frames/)")
        frames.append(paths[len(paths) // 2])
    path = Path(cache_dir) / f"clip-frames-{cache_key(frames, model_id)}.safetensors"
    if path.is_file():
        return load_file(path)["embeds"]
    from bgtai.joint.pretrained import clip_image_embeds

    side = vision.config.image_size
    device = next(vision.parameters()).device
    out = []
    for start in range(0, len(records), batch_size):
        chunk = [middle_frame(r, side) for r in records[start:start + batch_size]]
        images = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).to(device)
        out.append(clip_image_embeds(vision, images).cpu())
    embeds = torch.cat(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # never a half-written cache
    save_file({"embeds": embeds.contiguous()}, tmp)
    os.replace(tmp, path)
    return embeds
