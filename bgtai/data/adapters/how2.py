"""How2 (Sanabria et al. 2018) abstractive summarisation text: transcripts and summaries.

The paper trains Langue2Gloss on How2's long inputs (transcripts) and short outputs
(summaries). Layout of the How2 summarisation text release::

    how2/text/
        sum_train/   tran.tok.txt  desc.tok.txt
        sum_cv/      tran.tok.txt  desc.tok.txt
        sum_devtest/ tran.tok.txt  desc.tok.txt

``tran.tok.txt`` holds one tokenised transcript per video and ``desc.tok.txt`` one summary
(the video's description), each line ``<video_id> <text>``. ``root`` may be the ``text/``
folder or the folder above it. Pairs are matched by video id, not by line number, so the two
files may list videos in different orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bgtai.data.adapters.base import LayoutError, check_choice, require_file

SPLITS = ("train", "cv", "devtest")
TRANSCRIPT_FILE = "tran.tok.txt"
SUMMARY_FILE = "desc.tok.txt"


@dataclass(frozen=True)
class How2Record:
    """One How2 video's transcript and summary (text only)."""

    video_id: str
    transcript: str
    summary: str
    split: str


def read_how2(root: str | Path, split: str) -> list[How2Record]:
    """Read one split of the How2 summarisation text.

    Parameters
    ----------
    root : path
        The folder holding ``sum_{split}/`` (or its parent, holding ``text/sum_{split}/``).
    split : {"train", "cv", "devtest"}

    Returns
    -------
    list of How2Record
        In the transcript file's order.

    Raises
    ------
    LayoutError
        If a file is missing, a line has no text after its id, or a video has a transcript
        but no summary (or the reverse).
    """
    check_choice(split, SPLITS, "split")
    root = Path(root)
    folder = root / f"sum_{split}"
    if not folder.is_dir() and (root / "text" / f"sum_{split}").is_dir():
        folder = root / "text" / f"sum_{split}"
    transcripts = _read_id_lines(require_file(folder / TRANSCRIPT_FILE,
                                              f"How2 {split} transcripts"))
    summaries = _read_id_lines(require_file(folder / SUMMARY_FILE, f"How2 {split} summaries"))
    for have, lack, name in ((transcripts, summaries, SUMMARY_FILE),
                             (summaries, transcripts, TRANSCRIPT_FILE)):
        orphan = next((vid for vid in have if vid not in lack), None)
        if orphan is not None:
            raise LayoutError(f"How2 video {orphan} is missing from {folder / name}")
    return [How2Record(video_id=vid, transcript=text, summary=summaries[vid], split=split)
            for vid, text in transcripts.items()]


def _read_id_lines(path: Path) -> dict[str, str]:
    """``{video_id: text}`` from lines ``<video_id> <text>``; blank lines are skipped."""
    out = {}
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.strip().split(maxsplit=1)
            if not parts:
                continue
            if len(parts) != 2:
                raise LayoutError(f"{path} line {line_no}: expected '<video_id> <text>', "
                                  f"got only {parts[0]!r}")
            if parts[0] in out:
                raise LayoutError(f"{path} line {line_no}: video id {parts[0]} appears twice")
            out[parts[0]] = parts[1]
    return out
