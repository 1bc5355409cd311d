"""VGGSound (Chen et al. 2020): ~200k ten-second YouTube clips, 309 classes, audio and video.

The release is only an index; clips are fetched from YouTube by each user, so the on-disk
layout is the one this adapter documents and expects::

    VGGSound/
        vggsound.csv                         no header: youtube_id,start_seconds,label,split
        audio/{youtube_id}_{start:06d}.wav   the clip's 10 s soundtrack (.flac also accepted)
        frames/{youtube_id}_{start:06d}/     frames extracted from the same 10 s, any rate,
            000001.jpg 000002.jpg ...        named so that sorting by name is time order

``{youtube_id}_{start:06d}`` (e.g. ``---g-f_I2yQ_000001``) is how the official video files are
named. ``split`` is ``train`` or ``test``. Labels may contain commas; the CSV quotes them. Some
videos are always gone from YouTube, so by default clips without audio are skipped (with a
warning that counts them) instead of failing the whole read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bgtai.data.adapters.base import (
    AudioRecord,
    LayoutError,
    OnMissing,
    check_choice,
    drop_missing,
    find_audio,
    require_dir,
    require_file,
)

COLUMNS = ("youtube_id", "start_seconds", "label", "split")
SPLITS = ("train", "test")
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class VGGSoundRecord(AudioRecord):
    """One VGGSound clip: its audio file and, when extracted, its frame folder."""

    youtube_id: str
    start: int
    """Start of the 10 s clip in the video, seconds."""
    label: str
    split: str
    frames_dir: Path | None
    """Folder of the clip's frames, or None when frames were not requested or not found."""

    def frame_paths(self) -> list[Path]:
        """The frame image files in time order (sorted by name); empty without frames."""
        if self.frames_dir is None:
            return []
        return sorted(p for p in self.frames_dir.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)

    def load_frames(self, size: int | None = None) -> np.ndarray:
        """The frames as a uint8 array (T, H, W, 3), optionally resized to ``size`` x ``size``.

        Raises
        ------
        LayoutError
            If the clip has no frame images.
        """
        paths = self.frame_paths()
        if not paths:
            raise LayoutError(f"no frame images for clip {self.youtube_id}_{self.start:06d}"
                              + (f" in {self.frames_dir}" if self.frames_dir else ""))
        frames = []
        for p in paths:
            with Image.open(p) as im:
                im = im.convert("RGB")
                frames.append(np.asarray(im.resize((size, size)) if size else im))
        return np.stack(frames)


def read_vggsound(root: str | Path, split: str | None = None, *, csv_name: str = "vggsound.csv",
                  audio_dir: str = "audio", frames_dir: str | None = "frames",
                  require_frames: bool = False,
                  on_missing: OnMissing = "skip") -> list[VGGSoundRecord]:
    """Read the VGGSound index and match it with the extracted audio and frames.

    Parameters
    ----------
    root : path
        The data set folder (see the module docstring for the layout).
    split : {"train", "test"}, optional
        Keep one split; default both.
    csv_name, audio_dir, frames_dir : str
        Names inside ``root``; ``frames_dir=None`` ignores frames.
    require_frames : bool
        Treat a clip without a frame folder as missing (for audio-visual training).
    on_missing : {"error", "skip"}
        Policy for listed clips whose files are absent; "skip" by default, see above.

    Returns
    -------
    list of VGGSoundRecord
    """
    root = Path(root)
    if split is not None:
        check_choice(split, SPLITS, "split")
    index = require_file(root / csv_name, "VGGSound index")
    audio_root = require_dir(root / audio_dir, "VGGSound audio folder")
    frames_root = None
    if frames_dir is not None and (require_frames or (root / frames_dir).is_dir()):
        frames_root = require_dir(root / frames_dir, "VGGSound frames folder")
    records, missing = [], []
    for ytid, start, label, row_split in _read_index(index):
        if split is not None and row_split != split:
            continue
        stem = f"{ytid}_{start:06d}"
        audio = find_audio(audio_root, stem)
        frames = frames_root / stem if frames_root is not None else None
        if frames is not None and not frames.is_dir():
            frames = None
        if audio is None or (require_frames and frames is None):
            missing.append(audio_root / f"{stem}.wav" if audio is None else frames_root / stem)
            continue
        records.append(VGGSoundRecord(path=audio, youtube_id=ytid, start=start, label=label,
                                      split=row_split, frames_dir=frames))
    return drop_missing(records, missing, on_missing, "VGGSound")


def _read_index(path: Path):
    """Yield ``(youtube_id, start, label, split)`` rows from the headerless index.

    A first line whose start field is not a number is taken as a header that a user added.
    """
    with path.open(newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise LayoutError(f"{path} line {line}: expected the {len(COLUMNS)} columns "
                                  f"{','.join(COLUMNS)}, got {len(row)} field(s)")
            ytid, start, label, split = (field.strip() for field in row)
            if not start.isdigit():
                if line == 1:
                    continue
                raise LayoutError(f"{path} line {line}: start_seconds must be a whole number, "
                                  f"got {start!r}")
            if split not in SPLITS:
                raise LayoutError(f"{path} line {line}: split must be train or test, got {split!r}")
            yield ytid, int(start), label, split
