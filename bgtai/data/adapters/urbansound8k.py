"""UrbanSound8K (Salamon et al. 2014): 8,732 clips of at most 4 s, 10 classes, 10 folds.

Layout of the official release::

    UrbanSound8K/
        metadata/UrbanSound8K.csv  slice_file_name,fsID,start,end,salience,fold,classID,class
        audio/fold1/ ... audio/fold10/   the clips, in the folder of their fold

``salience`` is 1 (foreground) or 2 (background). Files keep their original sample rate and
channel count; :func:`bgtai.audio.load_audio` converts them.
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

COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
N_FOLDS = 10


@dataclass(frozen=True)
class UrbanSound8KRecord(AudioRecord):
    """One UrbanSound8K slice."""

    label: str
    """Class name, e.g. ``"dog_bark"``."""
    class_id: int
    """Class index 0-9."""
    fold: int
    """Fold 1-10, also the audio sub-folder."""
    fs_id: str
    """Freesound id of the source recording."""
    start: float
    """Start of the slice in the source recording, seconds."""
    end: float
    salience: int


def read_urbansound8k(root: str | Path, folds: int | Iterable[int] | None = None, *,
                      on_missing: OnMissing = "error") -> list[UrbanSound8KRecord]:
    """Read the UrbanSound8K index.

    Parameters
    ----------
    root : path
        The folder holding ``metadata/`` and ``audio/``.
    folds : int or iterable of int, optional
        Keep only these folds (1-10); default all. The official protocol is 10-fold
        cross-validation over these predefined folds; do not reshuffle them.
    on_missing : {"error", "skip"}

    Returns
    -------
    list of UrbanSound8KRecord
    """
    root = Path(root)
    chosen = check_folds(folds, N_FOLDS)
    rows = read_csv(root / "metadata" / "UrbanSound8K.csv", COLUMNS, what="UrbanSound8K metadata")
    audio_root = require_dir(root / "audio", "UrbanSound8K audio folder")
    records, missing = [], []
    for row in rows:
        fold = int(row["fold"])
        if chosen is not None and fold not in chosen:
            continue
        path = audio_root / f"fold{fold}" / row["slice_file_name"]
        if not path.is_file():
            missing.append(path)
            continue
        records.append(UrbanSound8KRecord(
            path=path, label=row["class"], class_id=int(row["classID"]), fold=fold,
            fs_id=row["fsID"], start=float(row["start"]), end=float(row["end"]),
            salience=int(row["salience"])))
    return drop_missing(records, missing, on_missing, "UrbanSound8K")
