"""Shared machinery of the real-data adapters: layout checks, CSV reading, records, Dataset.

Every adapter parses a data set's index files eagerly (cheap, and a wrong layout fails at once
with :class:`LayoutError` naming the missing file or column) and loads audio lazily, one clip
at a time, through :func:`bgtai.audio.load_audio`.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from bgtai.audio import MAX_SECONDS, load_audio

AUDIO_EXTENSIONS = (".wav", ".flac")
OnMissing = Literal["error", "skip"]


class LayoutError(ValueError):
    """A data set folder does not have the expected layout (a file or column is missing)."""


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise :class:`LayoutError` naming it."""
    if not path.is_file():
        raise LayoutError(f"{what} not found: expected the file {path}")
    return path


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a directory, else raise :class:`LayoutError` naming it."""
    if not path.is_dir():
        raise LayoutError(f"{what} not found: expected the folder {path}")
    return path


def read_csv(path: Path, required: Sequence[str], *, what: str) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, checking that the ``required`` columns are present.

    Read as UTF-8 with an optional byte-order mark (some releases are saved from Excel).
    """
    require_file(path, what)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in required if c not in columns]
        if missing:
            raise LayoutError(f"{path} lacks the column(s) {', '.join(missing)}; "
                              f"found {', '.join(columns) or 'no header'}")
        reader.fieldnames = columns
        return list(reader)


def find_audio(root: Path, stem: str) -> Path | None:
    """The first existing ``root/stem`` + one of :data:`AUDIO_EXTENSIONS`, or None."""
    for ext in AUDIO_EXTENSIONS:
        path = root / f"{stem}{ext}"
        if path.is_file():
            return path
    return None


def check_choice(value: Any, choices: Iterable[Any], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_folds(folds: int | Iterable[int] | None, n_folds: int) -> frozenset[int] | None:
    """Validate a fold selection (None = all folds, or one fold or several, numbered 1..n_folds)."""
    if folds is None:
        return None
    chosen = frozenset([folds] if isinstance(folds, int) else folds)
    bad = sorted(f for f in chosen if isinstance(f, bool) or f not in range(1, n_folds + 1))
    if bad or not chosen:
        raise ValueError(f"folds must be numbers in 1..{n_folds}, got {sorted(chosen, key=str)}")
    return chosen


def drop_missing(records: list, missing: list[Path], on_missing: OnMissing, dataset: str) -> list:
    """Apply the ``on_missing`` policy after a parse that found ``missing`` audio files.

    "error" raises on the first missing file. "skip" keeps the records whose audio exists and
    warns with the count, because YouTube-sourced sets (VGGSound, AudioCaps) are never complete
    on disk; if nothing at all was found the layout is surely wrong, so that still raises.
    """
    check_choice(on_missing, ("error", "skip"), "on_missing")
    if not missing:
        return records
    if on_missing == "error" or not records:
        raise LayoutError(f"{len(missing)} {dataset} audio file(s) are missing, e.g. {missing[0]}"
                          + ("" if records else "; none of the listed clips was found"))
    warnings.warn(f"{dataset}: skipped {len(missing)} listed clip(s) whose audio is not on disk",
                  stacklevel=3)
    return records


@dataclass(frozen=True)
class AudioRecord:
    """A record with an audio file; subclasses add the data set's labels or captions."""

    path: Path

    def load(self, *, max_seconds: float = MAX_SECONDS, allow_silent: bool = True) -> np.ndarray:
        """Read the clip as a mono float32 waveform at :data:`bgtai.audio.SAMPLE_RATE`.

        Silence is allowed by default: a silent clip in a data set is data, not a user mistake.
        """
        return load_audio(self.path, max_seconds=max_seconds, allow_silent=allow_silent)


class RecordDataset(Dataset):
    """A torch ``Dataset`` over adapter records.

    Parameters
    ----------
    records : sequence of records
        E.g. the list an adapter returns.
    transform : callable, optional
        Maps a record to a sample. By default an :class:`AudioRecord` becomes
        ``(waveform tensor, record)`` with the audio loaded now, and any other record (text
        pairs) is returned as is. Clips differ in length, so batching needs a collate function
        that pads or crops.
    """

    def __init__(self, records: Sequence[Any], transform: Callable[[Any], Any] | None = None):
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Any:
        record = self.records[index]
        if self.transform is not None:
            return self.transform(record)
        if isinstance(record, AudioRecord):
            return torch.from_numpy(record.load()), record
        return record


def caption_queries(records: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """Flatten captioned clips into text queries and the clip index each one describes.

    Parameters
    ----------
    records : sequence of records with a ``captions`` tuple (Clotho, AudioCaps)

    Returns
    -------
    (captions, targets)
        ``targets[i]`` is the index in ``records`` of the clip ``captions[i]`` describes: the
        many-to-one ground truth that :func:`bgtai.eval.retrieval_metrics` takes.
    """
    captions = [c for r in records for c in r.captions]
    targets = np.repeat(np.arange(len(records)), [len(r.captions) for r in records])
    return captions, targets
