"""ESC-50 (Piczak 2015): 2,000 five-second clips, 50 classes, 5 cross-validation folds.

Layout of the official release (github.com/karolpiczak/ESC-50)::

    ESC-50-master/
        meta/esc50.csv   filename,fold,target,category,esc10,src_file,take
        audio/           1-100032-A-0.wav ...

``esc10`` is "True"/"False" and marks the 10-class ESC-10 subset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bgtai.data.adapters.base import (
    AudioRecord,
    OnMissing,
    check_folds,
    drop_missing,
    read_csv,
    require_dir,
)

COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
N_FOLDS = 5


@dataclass(frozen=True)
class ESC50Record(AudioRecord):
    """One ESC-50 clip."""

    label: str
    """Class name, e.g. ``"dog"`` (the ``category`` column)."""
    target: int
    """Class index 0-49."""
    fold: int
    """Cross-validation fold 1-5; clips from one source recording share a fold."""
    esc10: bool
    src_file: str
    take: str


def read_esc50(root: str | Path, folds: int | Iterable[int] | None = None, *,
               esc10_only: bool = False, on_missing: OnMissing = "error") -> list[ESC50Record]:
    """Read the ESC-50 index.

    Parameters
    ----------
    root : path
        The folder holding ``meta/`` and ``audio/``.
    folds : int or iterable of int, optional
        Keep only these folds (1-5); default all.
    esc10_only : bool
        Keep only the ESC-10 subset.
    on_missing : {"error", "skip"}
        What to do when a listed audio file is absent.

    Returns
    -------
    list of ESC50Record
        In the CSV's order.
    """
    root = Path(root)
    chosen = check_folds(folds, N_FOLDS)
    rows = read_csv(root / "meta" / "esc50.csv", COLUMNS, what="ESC-50 metadata")
    audio_dir = require_dir(root / "audio", "ESC-50 audio folder")
    records, missing = [], []
    for row in rows:
        fold = int(row["fold"])
        esc10 = row["esc10"].strip().lower() == "true"
        if (chosen is not None and fold not in chosen) or (esc10_only and not esc10):
            continue
        path = audio_dir / row["filename"]
        if not path.is_file():
            missing.append(path)
            continue
        records.append(ESC50Record(path=path, label=row["category"], target=int(row["target"]),
                                   fold=fold, esc10=esc10, src_file=row["src_file"],
                                   take=row["take"]))
    return drop_missing(records, missing, on_missing, "ESC-50")
