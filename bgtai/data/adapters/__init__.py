"""Readers for public data sets in their usual on-disk layouts.

Each ``read_*`` function checks the layout (a missing file or column raises
:class:`LayoutError`, a ``ValueError``, naming it), returns typed records (dataclasses) and
leaves audio on disk until :meth:`AudioRecord.load` is called. Wrap any record list in
:class:`RecordDataset` for a ``torch.utils.data.DataLoader``.

========================  ====================================  ==========================
data set                  reader                                records
========================  ====================================  ==========================
ESC-50                    :func:`read_esc50`                    clip, class, fold
UrbanSound8K              :func:`read_urbansound8k`             clip, class, fold
VGGSound                  :func:`read_vggsound`                 clip, frames, class, split
AudioCaps                 :func:`read_audiocaps`                clip, captions, split
Clotho                    :func:`read_clotho`                   clip, captions, split
How2 (summarisation)      :func:`read_how2`                     transcript, summary
ASLG-PC12                 :func:`read_aslg_tsv`,                text, gloss
                          :func:`load_aslg_hub`
========================  ====================================  ==========================

:mod:`bgtai.data.adapters.catalog` names them for ``--data NAME:FOLDER`` and gives each its
training and test split.
"""

from bgtai.data.adapters.aslg_pc12 import GlossPair, load_aslg_hub, read_aslg_tsv
from bgtai.data.adapters.audiocaps import AudioCapsRecord, read_audiocaps
from bgtai.data.adapters.base import AudioRecord, LayoutError, RecordDataset, caption_queries
from bgtai.data.adapters.catalog import AUDIO_SETS, TEXT_SETS, DataSpec, parse_data_spec, record_texts
from bgtai.data.adapters.clotho import ClothoRecord, read_clotho
from bgtai.data.adapters.esc50 import ESC50Record, read_esc50
from bgtai.data.adapters.how2 import How2Record, read_how2
from bgtai.data.adapters.urbansound8k import UrbanSound8KRecord, read_urbansound8k
from bgtai.data.adapters.vggsound import VGGSoundRecord, read_vggsound

__all__ = [
    "AUDIO_SETS",
    "TEXT_SETS",
    "DataSpec",
    "parse_data_spec",
    "record_texts",
    "AudioCapsRecord",
    "AudioRecord",
    "ClothoRecord",
    "ESC50Record",
    "GlossPair",
    "How2Record",
    "LayoutError",
    "RecordDataset",
    "UrbanSound8KRecord",
    "VGGSoundRecord",
    "caption_queries",
    "load_aslg_hub",
    "read_aslg_tsv",
    "read_audiocaps",
    "read_clotho",
    "read_esc50",
    "read_how2",
    "read_urbansound8k",
    "read_vggsound",
]
