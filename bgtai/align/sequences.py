"""Turn two sounds or two texts into feature sequences and align them with exact DTW.

This is what the app's alignment views show: both sequences, their cost matrix and the
optimal warping path. Sounds become loudness-keeping log-mel frames; words become bags of
hashed character trigrams, so that inflected forms of a word ("walk", "walked") are close and
unrelated words are far, without any learned model.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..audio import log_mel
from ..text import tokenize_words, validate_text
from .dtw import DTWResult, cost_matrix, dtw

ALIGN_HOP_MS = 20.0
"""Frame hop for sound alignment: 50 frames/s keeps a 30 s pair at 1500 x 1500 cells."""

TRIGRAM_DIM = 256


@dataclass
class SequencePair:
    """Two aligned sequences and everything needed to draw their alignment.

    Attributes
    ----------
    a, b : np.ndarray
        Feature sequences ``(N, D)`` and ``(M, D)``.
    labels_a, labels_b : list[str] | None
        Token strings for text sequences, ``None`` for sounds.
    cost : np.ndarray
        ``(N, M)`` local cost matrix.
    result : DTWResult
        Optimal path, total cost and accumulated-cost matrix.
    """

    a: np.ndarray
    b: np.ndarray
    labels_a: list[str] | None
    labels_b: list[str] | None
    cost: np.ndarray
    result: DTWResult

    @property
    def mean_cost(self) -> float:
        """Total DTW cost divided by the path length: comparable across lengths."""
        return float(self.result.cost) / len(self.result.path)


def _align(a: np.ndarray, b: np.ndarray, metric: str, band, labels_a=None, labels_b=None):
    cost = np.asarray(cost_matrix(a, b, metric=metric), dtype=np.float64)
    result = dtw(cost, metric="precomputed", band=band, return_acc=True)
    return SequencePair(a, b, labels_a, labels_b, cost, result)


def align_sounds(wave_a: np.ndarray, wave_b: np.ndarray, *, metric: str = "cosine",
                 band: int | None = None) -> SequencePair:
    """Align two validated 16 kHz waveforms frame by frame (log-mel, 20 ms hop)."""
    a = log_mel(wave_a, hop_ms=ALIGN_HOP_MS).astype(np.float64)
    b = log_mel(wave_b, hop_ms=ALIGN_HOP_MS).astype(np.float64)
    return _align(a, b, metric, band)


def word_vectors(words: list[str], dim: int = TRIGRAM_DIM) -> np.ndarray:
    """Unit-norm bags of hashed character trigrams, one row per word (``(len(words), dim)``).

    crc32 rather than ``hash()`` so the vectors are the same in every process.
    """
    out = np.zeros((len(words), dim), dtype=np.float64)
    for row, word in enumerate(words):
        padded = f"<{word.lower()}>"
        for k in range(max(1, len(padded) - 2)):
            out[row, zlib.crc32(padded[k:k + 3].encode("utf-8")) % dim] += 1.0
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def align_texts(text_a: str, text_b: str, *, band: int | None = None,
                gloss_b: bool = False) -> SequencePair:
    """Align the words of two texts (or a text and its gloss) by trigram cosine distance.

    With ``gloss_b``, text B is a gloss: its tokens are its whitespace-separated words
    (``DESC-HOT`` stays one token), not English words split at hyphens.
    """
    words_a = tokenize_words(validate_text(text_a))
    words_b = validate_text(text_b).split() if gloss_b else tokenize_words(validate_text(text_b))
    return _align(word_vectors(words_a), word_vectors(words_b), "cosine", band, words_a, words_b)
