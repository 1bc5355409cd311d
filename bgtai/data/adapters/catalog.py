"""The data sets by name, for trainers and protocols: ``--data NAME:FOLDER`` specs, the split
each uses for training and testing, and the text that goes with a record.

=============  =======================  ====================  ==============================
name           training records         test records          text of a record
=============  =======================  ====================  ==============================
esc50          all 5 folds              (folds: protocols)    class prompt
urbansound8k   all 10 folds             (folds: protocols)    class prompt
vggsound       ``train``                ``test``              class prompt (+ frames)
audiocaps      ``train``                ``test``              its captions
clotho         ``development``          ``evaluation``        its captions
how2           ``train``                ``devtest``           transcript -> summary
aslg           the TSV file (FOLDER)    -                     text -> gloss
=============  =======================  ====================  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bgtai.data.adapters.aslg_pc12 import read_aslg_tsv
from bgtai.data.adapters.audiocaps import read_audiocaps
from bgtai.data.adapters.clotho import read_clotho
from bgtai.data.adapters.esc50 import read_esc50
from bgtai.data.adapters.how2 import read_how2
from bgtai.data.adapters.urbansound8k import read_urbansound8k
from bgtai.data.adapters.vggsound import read_vggsound
from bgtai.data.language import label_prompts

AUDIO_SETS = ("esc50", "urbansound8k", "vggsound", "audiocaps", "clotho")
TEXT_SETS = ("how2", "aslg")
TRAIN_SPLIT = {"esc50": None, "urbansound8k": None, "vggsound": "train", "audiocaps": "train",
               "clotho": "development", "how2": "train", "aslg": None}
TEST_SPLIT = {"vggsound": "test", "audiocaps": "test", "clotho": "evaluation", "how2": "devtest"}


@dataclass(frozen=True)
class DataSpec:
    """A data set by name and the folder (for ``aslg``: the TSV file) that holds it."""

    name: str
    root: Path

    def read(self, split: str | None = "train") -> list[Any]:
        """The records of ``split``: ``"train"`` / ``"test"`` map to :data:`TRAIN_SPLIT` /
        :data:`TEST_SPLIT`; any other value is passed to the adapter as its own split name."""
        split = {"train": TRAIN_SPLIT, "test": TEST_SPLIT}.get(split, {}).get(self.name, split)
        return read_set(self.name, self.root, split)


def parse_data_spec(text: str) -> DataSpec:
    """``"vggsound:/data/VGGSound"`` -> ``DataSpec("vggsound", Path("/data/VGGSound"))``.

    Raises
    ------
    ValueError
        For an unknown name, a missing ``:`` or a path that does not exist (named).
    """
    name, sep, root = text.partition(":")
    name = name.strip().lower()
    if not sep or not root:
        raise ValueError(f"expected NAME:FOLDER, got {text!r}")
    if name not in AUDIO_SETS + TEXT_SETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(AUDIO_SETS + TEXT_SETS)}")
    path = Path(root).expanduser()
    if not path.exists():
        raise ValueError(f"{name}: no such folder or file {path}")
    return DataSpec(name, path)


def read_set(name: str, root: str | Path, split: str | None) -> list[Any]:
    """Records of one data set's split (``None``: every fold of ESC-50 / UrbanSound8K, both
    VGGSound splits, the whole ASLG-PC12 file)."""
    if name == "esc50":
        return read_esc50(root)
    if name == "urbansound8k":
        return read_urbansound8k(root)
    if name == "vggsound":
        return read_vggsound(root, split)
    if name == "audiocaps":
        return read_audiocaps(root, split)
    if name == "clotho":
        return read_clotho(root, split)
    if name == "how2":
        return read_how2(root, split)
    if name == "aslg":
        return read_aslg_tsv(root)
    raise ValueError(f"unknown data set {name!r}")


def record_texts(record: Any) -> tuple[str, ...]:
    """English texts describing an audio record: its captions (AudioCaps, Clotho) or, for a
    labelled clip, the prompts naming its class ("the sound of a dog bark")."""
    captions = getattr(record, "captions", None)
    if captions:
        return tuple(captions)
    return tuple(label_prompts(record.label))


def gloss_pairs(records: list[Any]) -> list[tuple[str, str]]:
    """``(input text, gloss)`` training pairs of a text set's records: ASLG-PC12's pairs as
    they are; How2's long transcript with its summary glossed by the rules (the paper's long
    input -> short output). Pairs whose input the text path refuses (no word, as a line
    ``.<TAB>.`` of ASLG-PC12's training file; more than ``MAX_WORDS`` words) and summaries the
    rules cannot gloss are skipped."""
    from bgtai.gloss import english_to_gloss, tokenize_words

    pairs = []
    for r in records:
        try:
            text = r.text if hasattr(r, "gloss") else r.transcript
            tokenize_words(text)  # what the app would refuse is not trained on
            pairs.append((text, r.gloss if hasattr(r, "gloss") else english_to_gloss(r.summary)))
        except ValueError:
            continue
    return pairs
