"""Clotho (Drossos et al. 2020): 15-30 s Freesound clips with five captions each.

Layout of the Zenodo release (v2.1), after extracting the 7z archives::

    Clotho/
        clotho_captions_development.csv   file_name,caption_1,...,caption_5
        clotho_captions_validation.csv
        clotho_captions_evaluation.csv
        clotho_audio_development/         the .wav files named in file_name
        clotho_audio_validation/
        clotho_audio_evaluation/

The archives ``clotho_audio_{split}.7z`` extract to a folder named ``{split}`` (e.g.
``development/``); both folder names are accepted, ``clotho_audio_{split}`` first. File names
contain spaces and commas; the CSV quotes them. (v1 has no validation split.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bgtai.data.adapters.base import (
    AudioRecord,
    LayoutError,
    OnMissing,
    check_choice,
    drop_missing,
    read_csv,
)

SPLITS = ("development", "validation", "evaluation")
N_CAPTIONS = 5
COLUMNS = ("file_name", *(f"caption_{i}" for i in range(1, N_CAPTIONS + 1)))


@dataclass(frozen=True)
class ClothoRecord(AudioRecord):
    """One Clotho clip with its captions."""

    captions: tuple[str, ...]
    split: str


def read_clotho(root: str | Path, split: str, *,
                on_missing: OnMissing = "error") -> list[ClothoRecord]:
    """Read one Clotho split.

    Parameters
    ----------
    root : path
        The folder holding the caption CSVs and audio folders.
    split : {"development", "validation", "evaluation"}
    on_missing : {"error", "skip"}

    Returns
    -------
    list of ClothoRecord
        In the CSV's order; empty caption cells are dropped.
    """
    check_choice(split, SPLITS, "split")
    root = Path(root)
    rows = read_csv(root / f"clotho_captions_{split}.csv", COLUMNS, what=f"Clotho {split} captions")
    candidates = (root / f"clotho_audio_{split}", root / split)
    audio_dir = next((d for d in candidates if d.is_dir()), None)
    if audio_dir is None:
        raise LayoutError(f"Clotho {split} audio folder not found: expected {candidates[0]} "
                          f"or {candidates[1]}")
    records, missing = [], []
    for row in rows:
        path = audio_dir / row["file_name"]
        if not path.is_file():
            missing.append(path)
            continue
        captions = tuple(c.strip() for c in (row[f"caption_{i}"] for i in range(1, N_CAPTIONS + 1))
                         if c and c.strip())
        records.append(ClothoRecord(path=path, captions=captions, split=split))
    return drop_missing(records, missing, on_missing, "Clotho")
