"""ASLG-PC12 (Othman & Jemni 2012): English sentences and their ASL glosses.

Two sources:

- a TSV file, one pair a line, ``text<TAB>gloss`` (the format of the project's reference file
  ``../shared/data/aslg_pc12_dev.tsv``);
- the Hugging Face Hub data set ``achrafothman/aslg_pc12`` (formerly ``aslg_pc12``; one
  ``train`` split of 87,710 pairs with string columns ``text`` and ``gloss``), through the
  optional ``datasets`` library and a network connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bgtai.data.adapters.base import LayoutError, require_file

HUB_ID = "achrafothman/aslg_pc12"


@dataclass(frozen=True)
class GlossPair:
    """An English sentence and its gloss."""

    text: str
    gloss: str


def read_aslg_tsv(path: str | Path) -> list[GlossPair]:
    """Read ``text<TAB>gloss`` pairs from a TSV file (UTF-8, no header, blank lines skipped).

    Raises
    ------
    LayoutError
        If the file is missing or a line does not hold exactly one tab between two
        non-empty fields; the message gives the line number.
    """
    path = Path(path)
    require_file(path, "ASLG-PC12 TSV")
    pairs = []
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise LayoutError(f"{path} line {line_no}: expected 'text<TAB>gloss', "
                                  f"got {len(fields)} tab-separated field(s)")
            pairs.append(GlossPair(text=fields[0].strip(), gloss=fields[1].strip()))
    return pairs


def load_aslg_hub(hub_id: str = HUB_ID, split: str = "train", *,
                  cache_dir: str | Path | None = None) -> list[GlossPair]:
    """Load ASLG-PC12 pairs from the Hugging Face Hub (or the local ``datasets`` cache).

    ``datasets`` is imported here, not at module level, so that the library does not depend
    on it: only this function needs it.

    Parameters
    ----------
    hub_id : str
    split : str
        The Hub data set has only ``"train"``; make held-out splits yourself.
    cache_dir : path, optional
        Passed to ``datasets.load_dataset``.

    Raises
    ------
    ImportError
        If ``datasets`` is not installed.
    ConnectionError
        If the data set can be neither downloaded nor found in the cache (e.g. offline).
    """
    try:
        import datasets
    except ImportError:
        raise ImportError("loading ASLG-PC12 from the Hub needs the 'datasets' package "
                          "(pip install datasets); or pass a text<TAB>gloss file to "
                          "read_aslg_tsv") from None
    try:
        table = datasets.load_dataset(hub_id, split=split, cache_dir=cache_dir)
    except ValueError:
        raise  # a bad argument such as an unknown split: datasets' own message is clear
    except Exception as exc:
        # offline shows up as OSError, requests/httpx errors or hub errors depending on the
        # versions installed; all of them mean "not reachable and not cached"
        raise ConnectionError(f"could not load {hub_id!r} from the Hugging Face Hub (offline and "
                              f"not cached?): {exc}") from exc
    missing = [c for c in ("text", "gloss") if c not in table.column_names]
    if missing:
        raise LayoutError(f"{hub_id} lacks the column(s) {', '.join(missing)}; "
                          f"found {', '.join(table.column_names)}")
    return [GlossPair(text=t.strip(), gloss=g.strip())
            for t, g in zip(table["text"], table["gloss"], strict=True)]
