"""AudioCaps (Kim et al. 2019): captions for 10 s AudioSet clips, 1 per training clip, 5 per
validation and test clip.

The official release is three CSV files; the audio is fetched from YouTube by each user, so
the audio layout is configurable, with this default::

    AudioCaps/
        train.csv val.csv test.csv        audiocap_id,youtube_id,start_time,caption
        audio/{split}/{youtube_id}_{start_time}.wav   (.flac also accepted)

``audio_dir`` and ``audio_name`` are format strings over ``split``, ``audiocap_id``,
``youtube_id`` and ``start_time`` for other downloaders' layouts, e.g.
``audio_name="{audiocap_id}"`` (the clip's first caption's id). Rows of one clip (same
video and start) are grouped into one record holding all its captions, which is what
caption <-> audio retrieval needs
(:func:`bgtai.data.adapters.caption_queries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bgtai.data.adapters.base import (
    AudioRecord,
    OnMissing,
    check_choice,
    drop_missing,
    find_audio,
    read_csv,
    require_dir,
)

COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class AudioCapsRecord(AudioRecord):
    """One AudioCaps clip with all of its captions."""

    youtube_id: str
    start_time: int
    """Start of the 10 s clip in the video, seconds."""
    captions: tuple[str, ...]
    audiocap_ids: tuple[str, ...]
    """The ``audiocap_id`` of each caption, same order."""
    split: str


def read_audiocaps(root: str | Path, split: str, *, audio_dir: str = "audio/{split}",
                   audio_name: str = "{youtube_id}_{start_time}",
                   on_missing: OnMissing = "skip") -> list[AudioCapsRecord]:
    """Read one AudioCaps split.

    Parameters
    ----------
    root : path
        The folder holding the CSV files.
    split : {"train", "val", "test"}
    audio_dir, audio_name : str
        Format strings locating the audio, see the module docstring; the extension is tried
        among .wav and .flac.
    on_missing : {"error", "skip"}
        Policy for clips whose audio is absent; "skip" by default (YouTube clips disappear).

    Returns
    -------
    list of AudioCapsRecord
        One per clip, in order of first appearance in the CSV.
    """
    check_choice(split, SPLITS, "split")
    try:
        (audio_dir + "/" + audio_name).format(split="", audiocap_id="", youtube_id="", start_time=0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"audio_dir / audio_name may only use {{split}}, {{audiocap_id}}, "
                         f"{{youtube_id}} and {{start_time}}: {exc!r}") from None
    root = Path(root)
    rows = read_csv(root / f"{split}.csv", COLUMNS, what=f"AudioCaps {split} captions")
    audio_root = require_dir(root / audio_dir.format(split=split),
                             f"AudioCaps {split} audio folder")
    clips: dict[tuple[str, int], dict] = {}
    for row in rows:
        key = (row["youtube_id"], int(float(row["start_time"])))
        clip = clips.setdefault(key, {"captions": [], "ids": [], "first": row})
        clip["captions"].append(row["caption"].strip())
        clip["ids"].append(row["audiocap_id"])
    records, missing = [], []
    for (ytid, start), clip in clips.items():
        fields = {"split": split, "audiocap_id": clip["first"]["audiocap_id"],
                  "youtube_id": ytid, "start_time": start}
        stem = audio_name.format(**fields)
        path = find_audio(audio_root, stem)
        if path is None:
            missing.append(audio_root / f"{stem}.wav")
            continue
        records.append(AudioCapsRecord(path=path, youtube_id=ytid, start_time=start,
                                       captions=tuple(clip["captions"]),
                                       audiocap_ids=tuple(clip["ids"]), split=split))
    return drop_missing(records, missing, on_missing, "AudioCaps")
