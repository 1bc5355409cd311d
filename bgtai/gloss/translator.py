"""Language -> gloss with a trained :class:`~bgtai.gloss.model.Langue2Gloss` and its vocabulary.

:class:`GlossTranslator` is what the app, the evaluation and the benchmarks call: it validates
input, encodes text or speech, decodes gloss (greedy or beam search) and returns gloss words with
per-word probabilities and the cross-attention between gloss words and input words (text) or
40 ms speech frames (speech). Text is glossed one sentence at a time, and decoding never
repeats a piece n-gram (:data:`NO_REPEAT_NGRAM`): a paragraph read as one sequence, far longer
than the training inputs, made the decoder loop (``TAKE`` x25).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..audio import SAMPLE_RATE, load_audio
from ..text import sentence_spans, tokenize_words, validate_text
from .backbones import TOKENIZER_DIR, BackboneTokenizer
from .model import Langue2Gloss
from .rules import intact_forms
from .subwords import FILENAME as VOCAB_FILE
from .subwords import SubwordVocab

NO_REPEAT_NGRAM = 4
"""Decoding never repeats a gloss piece 4-gram (chosen on the real ASLG-PC12 pairs,
``python -m benchmarks.gloss_long``)."""


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
        The input units: words for text, frame start times (``"0.40s"``) for speech (40 ms
        frames, 20 ms with a WavLM/HuBERT speech backbone).
    align_probs : np.ndarray
        ``(len(tokens), len(sources))`` DS-Net's per-cell probability (a word's is the
        highest of its subword pieces').
    """

    tokens: list[str]
    probs: np.ndarray
    attention: np.ndarray
    alignment: np.ndarray
    sources: list[str]
    align_probs: np.ndarray

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _group_rows(matrix: np.ndarray, groups: list[int], n_groups: int, reduce: str) -> np.ndarray:
    """Combine rows (or, transposed, columns) that belong to the same group index."""
    out = np.full((n_groups,) + matrix.shape[1:], 1.0 if reduce == "prod" else 0.0)
    combine = {"prod": np.multiply, "sum": np.add, "max": np.maximum}[reduce]
    for row, g in enumerate(groups):
        if g >= 0:
            out[g] = combine(out[g], matrix[row])
    return out


def _join(parts: list[GlossResult], n_words: int) -> GlossResult:
    """One result from consecutive sentences' results: token lists joined, matrices placed
    block-diagonally (a sentence's gloss words attend to its own words only)."""
    n_tokens = sum(len(p.tokens) for p in parts)
    kinds = (("attention", float), ("alignment", bool), ("align_probs", float))
    blocks = {name: np.zeros((n_tokens, n_words), dtype) for name, dtype in kinds}
    row = col = 0
    for part in parts:
        rows, cols = len(part.tokens), len(part.sources)
        for name, block in blocks.items():
            block[row: row + rows, col: col + cols] = getattr(part, name)
        row, col = row + rows, col + cols
    return GlossResult([t for p in parts for t in p.tokens],
                       np.concatenate([p.probs for p in parts]), blocks["attention"],
                       blocks["alignment"], [w for p in parts for w in p.sources],
                       blocks["align_probs"])


class GlossTranslator:
    """A Langue2Gloss model with its subword vocabulary, ready for inference.

    ``vocab`` is the gloss vocabulary (decoder output; also the text input of the embedded
    model); a model with a text backbone reads text with that backbone's ``text_tokenizer``.
    """

    def __init__(self, model: Langue2Gloss, vocab: SubwordVocab,
                 text_tokenizer: BackboneTokenizer | None = None):
        if len(vocab) > model.config.vocab_size:
            raise ValueError(f"vocabulary of {len(vocab)} pieces does not fit the model's "
                             f"{model.config.vocab_size}")
        if (text_tokenizer is None) != (model.config.text_backbone is None):
            raise ValueError("a text tokenizer is needed with a text backbone, and only then")
        self.model = model.eval()
        self.vocab = vocab
        self.text_tokenizer = text_tokenizer
        self.no_repeat_ngram = NO_REPEAT_NGRAM

    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, **kwargs) -> "GlossTranslator":
        """Load ``config.json``, ``model.safetensors`` and ``tokenizer.json`` (and, with a text
        backbone, ``text_tokenizer/``) from a folder or a Hugging Face Hub repository id.
        Backbones are rebuilt from the saved config: only the model's own files are read."""
        model = Langue2Gloss.from_pretrained(path_or_id, **kwargs).float()
        folder = Path(path_or_id)
        if not folder.is_dir():
            from huggingface_hub import hf_hub_download

            folder = Path(hf_hub_download(str(path_or_id), VOCAB_FILE, **kwargs)).parent
        text_tokenizer = None
        if model.config.text_backbone is not None:
            text_tokenizer = BackboneTokenizer.from_pretrained(path_or_id, subfolder=TOKENIZER_DIR)
        return cls(model, SubwordVocab.load(folder), text_tokenizer)

    def save_pretrained(self, directory: str | Path, *, half: bool = True) -> Path:
        """Save model, vocabulary and text tokenizer (if any); ``half`` stores weights as
        float16 (half the size)."""
        directory = Path(directory)
        model = self.model
        if half:
            model = type(model)(model.config)
            model.load_state_dict(self.model.state_dict())
            model.half()
        model.save_pretrained(directory)
        self.vocab.save(directory)
        if self.text_tokenizer is not None:
            self.text_tokenizer.save(directory)
        return directory

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------------------ encode
    @staticmethod
    def _words_of(text: str) -> list[str]:
        words = tokenize_words(validate_text(text))
        if not words:
            raise ValueError("the text has no words to gloss")
        return words

    def encode_text(self, text: str | list[str]
                    ) -> tuple[torch.Tensor, torch.Tensor, list[int], list[str]]:
        """Validate and encode one text, or its words from :func:`tokenize_words`:
        ``(memory, pad, piece->word index, words)``; the pieces are the text backbone's tokens
        when the model has one."""
        words = text if isinstance(text, list) else self._words_of(text)
        ids, word_ids = (self.text_tokenizer or self.vocab).encode_words(words)
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
    def _words(self, ids: torch.Tensor, memory, pad, words: list[str] | None = None,
               piece_word: list[int] | None = None):
        """Teacher-force piece ``ids`` ``(1, L)``, then group the pieces' probabilities,
        attention and DS-Net outputs into gloss words (rows; columns stay encoder positions).
        The words are decoded from the pieces unless given with their ``piece_word`` map."""
        outputs = (t[0].cpu().numpy().astype(np.float64) for t in self.model.inspect(ids, memory, pad))
        probs, attn, align, align_probs = outputs
        if words is None:
            words, piece_word = self.vocab.decode_words(ids[0].tolist())
        n = len(words)
        return ([w.upper() for w in words], _group_rows(probs[:, None], piece_word, n, "prod")[:, 0],
                _group_rows(attn, piece_word, n, "sum"), _group_rows(align, piece_word, n, "sum"),
                _group_rows(align_probs, piece_word, n, "max"))

    def _decode(self, memory, pad, beam_size: int, max_len: int):
        guard = {"max_len": max_len, "no_repeat_ngram": self.no_repeat_ngram}
        if beam_size <= 1:
            ids = self.model.greedy(memory, pad, **guard)[0]
        else:
            ids = self.model.beam(memory, pad, beam_size=beam_size, **guard)
        return self._words(ids[ids != self.model.config.pad_id][None], memory, pad)

    @staticmethod
    def _normalise_rows(attn: np.ndarray) -> np.ndarray:
        return attn / np.maximum(attn.sum(axis=1, keepdims=True), 1e-12)

    def _text_result(self, decoded, word_ids: list[int], words: list[str]) -> GlossResult:
        """Group the input pieces (columns) into the text's words."""
        tokens, probs, attn, align, align_probs = decoded
        attn = _group_rows(attn.T, word_ids, len(words), "sum").T
        align = _group_rows(align.T, word_ids, len(words), "sum").T > 0
        align_probs = _group_rows(align_probs.T, word_ids, len(words), "max").T
        return GlossResult(tokens, probs, self._normalise_rows(attn), align, words, align_probs)

    def _sentence(self, words: list[str], beam_size: int, max_len: int) -> GlossResult:
        memory, pad, word_ids, words = self.encode_text(words)
        max_len = min(max_len, 2 * len(word_ids) + 8)
        return self._text_result(self._decode(memory, pad, beam_size, max_len), word_ids, words)

    def from_text(self, text: str, *, beam_size: int = 1, max_len: int = 256,
                  aslg_quirks: bool = False) -> GlossResult:
        """Gloss of an English text, one sentence at a time. Raises ``ValueError`` for
        unusable text.

        A model trained on ASLG-PC12's real pairs writes some words in the corpus's artefact
        forms (``they`` -> ``X-Y``, ``Russia`` -> ``RUSSIUM``). As with the rules'
        ``aslg_quirks`` flag, they are written out intact by default
        (:func:`~bgtai.gloss.rules.intact_forms` of the text: only those words' artefact forms
        are replaced, nothing else the model wrote); ``aslg_quirks=True`` returns the model's
        own output, to score against the corpus.

        The sentences are :func:`~bgtai.text.sentence_spans` of the text's words;
        each is encoded and decoded on its own (the model was trained on one to three
        sentences), and the results are joined: the attention and alignment of a sentence's
        gloss words cover that sentence's words only. Each decoding stops at ``</s>`` or after
        ``min(max_len, 2 x the sentence's input pieces + 8)`` pieces: gloss is never longer
        than its text, so this only cuts off a model that fails to stop.
        """
        words = self._words_of(text)
        parts = [self._sentence(words[a:b], beam_size, max_len) for a, b in sentence_spans(words)]
        result = _join(parts, len(words))
        return result if aslg_quirks else self.intact(result, text)

    def intact(self, result: GlossResult, text: str) -> GlossResult:
        """``result``, the model's own gloss of ``text``, with the corpus's artefact forms of
        the text's words written out intact (:func:`~bgtai.gloss.rules.intact_forms`); what
        :meth:`from_text` returns unless ``aslg_quirks``."""
        forms = intact_forms(" ".join(self._words_of(text)))
        return replace(result, tokens=[forms.get(t, t) for t in result.tokens])

    def force(self, text: str, gloss: str) -> GlossResult:
        """The model's reading of a *given* gloss of ``text`` (teacher forcing): each gloss
        word's probability, the attention and DS-Net's alignment to the text's words."""
        gloss_words = validate_text(gloss).split()
        memory, pad, word_ids, words = self.encode_text(text)
        ids, piece_word = self.vocab.encode_words([w.lower() for w in gloss_words])
        ids_t = torch.tensor([ids], device=self.device)
        decoded = self._words(ids_t, memory, pad, gloss_words, piece_word)
        return self._text_result(decoded, word_ids, words)

    def from_speech(self, audio, sr: int | None = None, *, beam_size: int = 1,
                    max_len: int = 256) -> GlossResult:
        """Gloss of spoken English: any source :func:`bgtai.audio.load_audio` accepts (a bare
        array is taken to be at 16 kHz). Decoding is capped at ``min(max_len, frames / 2 + 8)``
        pieces (a 20 or 40 ms frame never carries two words)."""
        if isinstance(audio, np.ndarray) and sr is None:
            sr = SAMPLE_RATE
        memory, pad, frames = self.encode_speech(load_audio(audio, sr))
        max_len = min(max_len, frames // 2 + 8)
        tokens, probs, attn, align, align_probs = self._decode(memory, pad, beam_size, max_len)
        sources = [f"{k * self.model.speech.frame_seconds:.2f}s" for k in range(frames)]
        return GlossResult(tokens, probs, self._normalise_rows(attn[:, :frames]),
                           align[:, :frames] > 0, sources, align_probs[:, :frames])
