"""Language -> gloss with a trained :class:`~bgtai.gloss.model.Langue2Gloss` and its vocabulary.

:class:`GlossTranslator` is what the app, the evaluation and the benchmarks call: it validates
input, encodes text or speech, decodes gloss (greedy or beam search) and returns gloss words with
per-word probabilities and the cross-attention between gloss words and input words (text) or
40 ms speech frames (speech).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio import SAMPLE_RATE, load_audio
from .model import Langue2Gloss
from .subwords import FILENAME as VOCAB_FILE
from .subwords import SubwordVocab
from .tokenize import tokenize_words, validate_text

SPEECH_FRAME_SECONDS = 0.04
"""Duration of one speech encoder position (10 ms mel hop, 4x subsampling)."""


@dataclass
class GlossResult:
    """One decoded gloss.

    Attributes
    ----------
    tokens : list[str]
        Gloss words, upper case (``["X-I", "WANT", "DESC-HOT", "COFFEE"]``).
    probs : np.ndarray
        ``(len(tokens),)`` probability of each gloss word (product of its pieces' probabilities).
    attention : np.ndarray
        ``(len(tokens), len(sources))`` cross-attention of each gloss word over the input units,
        rows summing to 1.
    alignment : np.ndarray
        ``(len(tokens), len(sources))`` bool: DS-Net's monotonic alignment, the input units
        each gloss word came from.
    sources : list[str]
        The input units: words for text, frame start times (``"0.40s"``) for speech.
    """

    tokens: list[str]
    probs: np.ndarray
    attention: np.ndarray
    alignment: np.ndarray
    sources: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _group_rows(matrix: np.ndarray, groups: list[int], n_groups: int, reduce: str) -> np.ndarray:
    """Combine rows (or, transposed, columns) that belong to the same group index."""
    out = np.zeros((n_groups,) + matrix.shape[1:], dtype=np.float64)
    if reduce == "prod":
        out[:] = 1.0
    for row, g in enumerate(groups):
        if g < 0:
            continue
        if reduce == "prod":
            out[g] *= matrix[row]
        else:
            out[g] += matrix[row]
    return out


class GlossTranslator:
    """A Langue2Gloss model with its subword vocabulary, ready for inference."""

    def __init__(self, model: Langue2Gloss, vocab: SubwordVocab):
        if len(vocab) > model.config.vocab_size:
            raise ValueError(f"vocabulary of {len(vocab)} pieces does not fit the model's "
                             f"{model.config.vocab_size}")
        self.model = model.eval()
        self.vocab = vocab

    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, **kwargs) -> "GlossTranslator":
        """Load ``config.json``, ``model.safetensors`` and ``tokenizer.json`` from a folder or
        a Hugging Face Hub repository id."""
        model = Langue2Gloss.from_pretrained(path_or_id, **kwargs).float()
        folder = Path(path_or_id)
        if not folder.is_dir():
            from huggingface_hub import hf_hub_download

            folder = Path(hf_hub_download(str(path_or_id), VOCAB_FILE, **kwargs)).parent
        return cls(model, SubwordVocab.load(folder))

    def save_pretrained(self, directory: str | Path, *, half: bool = True) -> Path:
        """Save model and vocabulary; ``half`` stores weights as float16 (half the size)."""
        directory = Path(directory)
        model = self.model
        if half:
            model = type(model)(model.config)
            model.load_state_dict(self.model.state_dict())
            model.half()
        model.save_pretrained(directory)
        self.vocab.save(directory)
        return directory

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------------------ encode
    def encode_text(self, text: str) -> tuple[torch.Tensor, torch.Tensor, list[int], list[str]]:
        """Validate and encode one text: ``(memory, pad, piece->word index, words)``."""
        words = tokenize_words(validate_text(text))
        if not words:
            raise ValueError("the text has no words to gloss")
        ids, word_ids = self.vocab.encode_words(words)
        ids_t = torch.tensor([ids], device=self.device)
        pad = torch.zeros_like(ids_t, dtype=torch.bool)
        with torch.no_grad():
            memory = self.model.encode_text(ids_t, pad)
        return memory, pad, word_ids, words

    def encode_speech(self, wave: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Encode one validated 16 kHz waveform: ``(memory, pad, number of frames)``."""
        w = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None].to(self.device)
        with torch.no_grad():
            memory, pad = self.model.encode_speech(w, torch.tensor([w.shape[1]], device=self.device))
        return memory, pad, int((~pad).sum())

    # ------------------------------------------------------------------------------ decode
    def _decode(self, memory, pad, beam_size: int, max_len: int):
        """Decode, then group piece-level probabilities, attention and alignment into words."""
        if beam_size <= 1:
            ids = self.model.greedy(memory, pad, max_len=max_len)[0]
        else:
            ids = self.model.beam(memory, pad, beam_size=beam_size, max_len=max_len)
        ids = ids[ids != self.model.config.pad_id][None]
        probs, attn, align = (t[0].cpu().numpy() for t in self.model.inspect(ids, memory, pad))
        words, piece_word = self.vocab.decode_words(ids[0].tolist())
        word_probs = _group_rows(probs[:, None].astype(np.float64), piece_word, len(words), "prod")[:, 0]
        word_attn = _group_rows(attn.astype(np.float64), piece_word, len(words), "sum")
        word_align = _group_rows(align.astype(np.float64), piece_word, len(words), "sum")
        return [w.upper() for w in words], word_probs, word_attn, word_align

    @staticmethod
    def _normalise_rows(attn: np.ndarray) -> np.ndarray:
        return attn / np.maximum(attn.sum(axis=1, keepdims=True), 1e-12)

    def from_text(self, text: str, *, beam_size: int = 1, max_len: int = 256) -> GlossResult:
        """Gloss of an English text. Raises ``ValueError`` for unusable text.

        Decoding stops at ``</s>`` or after ``min(max_len, 2 x input pieces + 8)`` pieces: gloss
        is never longer than its text, so this only cuts off a model that fails to stop.
        """
        memory, pad, word_ids, words = self.encode_text(text)
        max_len = min(max_len, 2 * len(word_ids) + 8)
        tokens, probs, attn, align = self._decode(memory, pad, beam_size, max_len)
        # columns: input pieces -> input words
        attn = _group_rows(attn.T, word_ids, len(words), "sum").T
        align = _group_rows(align.T, word_ids, len(words), "sum").T > 0
        return GlossResult(tokens, probs, self._normalise_rows(attn), align, words)

    def from_speech(self, audio, sr: int | None = None, *, beam_size: int = 1,
                    max_len: int = 256) -> GlossResult:
        """Gloss of spoken English: any source :func:`bgtai.audio.load_audio` accepts (a bare
        array is taken to be at 16 kHz). Decoding is capped at ``min(max_len, frames / 2 + 8)``
        pieces (a 40 ms frame never carries two words)."""
        if isinstance(audio, np.ndarray) and sr is None:
            sr = SAMPLE_RATE
        memory, pad, frames = self.encode_speech(load_audio(audio, sr))
        max_len = min(max_len, frames // 2 + 8)
        tokens, probs, attn, align = self._decode(memory, pad, beam_size, max_len)
        sources = [f"{k * SPEECH_FRAME_SECONDS:.2f}s" for k in range(frames)]
        return GlossResult(tokens, probs, self._normalise_rows(attn[:, :frames]),
                           align[:, :frames] > 0, sources)
