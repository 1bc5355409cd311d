"""Encoding and batching of (text or speech, gloss) pairs for Langue2Gloss.

Each pair also carries the Result Filter's precomputed target (paper sec. 2.2.3): the exact DTW
path between the gloss words and the text words, with the same character-trigram cost the app's
text alignment uses, spread onto subword pieces (a piece is aligned wherever its word is).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..align.dtw import dtw
from ..align.sequences import word_vectors
from ..text import tokenize_words
from .subwords import SubwordVocab


def gloss_ids(vocab: SubwordVocab, gloss: str) -> list[int]:
    """``<s>`` + pieces of the lower-cased gloss + ``</s>``."""
    return [vocab.bos_id] + vocab.encode_words(gloss.lower().split())[0] + [vocab.eos_id]


def text_ids(vocab: SubwordVocab, text: str) -> list[int]:
    """Pieces of the text's words (the same words :func:`tokenize_words` gives)."""
    return vocab.encode_words(tokenize_words(text))[0]


def piece_alignment(vocab: SubwordVocab, text: str, gloss: str) -> np.ndarray:
    """Result Filter target: ``(gloss pieces, text pieces)`` bool, from word-level exact DTW."""
    words = tokenize_words(text)
    glosses = gloss.lower().split()
    _, text_word = vocab.encode_words(words)
    _, gloss_word = vocab.encode_words(glosses)
    words_path = np.zeros((len(glosses), len(words)), dtype=bool)
    if glosses and words:
        path = dtw(word_vectors(glosses), word_vectors(words), metric="cosine").path
        words_path[path[:, 0], path[:, 1]] = True
    return words_path[np.ix_(gloss_word, text_word)]


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad integer sequences: ``(ids (B, L), pad mask (B, L), True at padding)``."""
    length = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    pad = torch.arange(length)[None, :] >= torch.tensor([len(s) for s in seqs])[:, None]
    return ids, pad


class GlossPairs(Dataset):
    """Pre-encoded ``(text, gloss)`` pairs, optionally with a waveform per pair.

    Speech is stored as int16 (half the memory of float32; the world's audio is 16-bit anyway).
    """

    def __init__(self, vocab: SubwordVocab, pairs: Sequence[tuple[str, str]],
                 waves: Sequence[np.ndarray] | None = None):
        if waves is not None and len(waves) != len(pairs):
            raise ValueError("one waveform per pair is needed")
        self.vocab = vocab
        self.text = [text_ids(vocab, t) for t, _ in pairs]
        self.gloss = [gloss_ids(vocab, g) for _, g in pairs]
        self.align = [piece_alignment(vocab, t, g) for t, g in pairs]
        self.waves = None if waves is None else [
            (np.clip(w, -1, 1) * 32767).astype(np.int16) for w in waves]

    def __len__(self) -> int:
        return len(self.gloss)

    def __getitem__(self, i: int) -> dict:
        item = {"text": self.text[i], "gloss": self.gloss[i], "align": self.align[i]}
        if self.waves is not None:
            item["wave"] = self.waves[i]
        return item

    def collate(self, items: list[dict]) -> dict[str, torch.Tensor]:
        """Batch items: padded ids and masks, the alignment targets, and waveforms with their
        lengths when present. ``align_target[b, k]`` is the row of gloss piece
        ``gloss_ids[b, k + 1]`` (all False for ``</s>`` and padding)."""
        pad_id = self.vocab.pad_id
        out = {}
        out["text_ids"], out["text_pad"] = pad_sequences([it["text"] for it in items], pad_id)
        out["gloss_ids"], _ = pad_sequences([it["gloss"] for it in items], pad_id)
        target = torch.zeros(len(items), out["gloss_ids"].shape[1] - 1, out["text_ids"].shape[1],
                             dtype=torch.bool)
        for row, it in enumerate(items):
            q, t = it["align"].shape
            target[row, :q, :t] = torch.from_numpy(it["align"])
        out["align_target"] = target
        if "wave" in items[0]:
            lengths = [len(it["wave"]) for it in items]
            wave = torch.zeros(len(items), max(lengths))
            for row, it in enumerate(items):
                wave[row, : lengths[row]] = torch.from_numpy(it["wave"].astype(np.float32) / 32767)
            out["wave"], out["wave_lengths"] = wave, torch.tensor(lengths)
        return out
