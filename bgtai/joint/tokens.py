"""The word vocabulary of the joint text encoder: gloss tokens and raw lower-cased words.

One encoder reads both forms of a caption so that "text -> image through gloss" and "through raw
text" are compared with the same network, the same training steps and the same captions. The
two forms never share a token: gloss tokens are upper-case (``DESC-LOUD``, ``WHISTLE``), raw
words are lower-case (``loud``, ``whistles``), so the encoder cannot silently treat one as the
other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from bgtai.data.clips import sample_events
from bgtai.data.events import CLASSES
from bgtai.data.language import class_prompts, describe_events
from bgtai.data.world import split_combos
from bgtai.gloss import english_to_gloss
from bgtai.text import tokenize_words, validate_text

PAD, UNK = "<pad>", "<unk>"
FORMS = ("gloss", "text")
MAX_TOKENS = 48
"""Longest token sequence kept; world captions of three events stay under 30 tokens."""


def caption_tokens(text: str, form: str) -> list[str]:
    """Tokens of an English caption in one of :data:`FORMS`.

    Parameters
    ----------
    text : str
        English text, e.g. ``"three loud high whistles"``.
    form : {"gloss", "text"}
        ``"gloss"``: the project's rule-based gloss (:func:`bgtai.gloss.english_to_gloss`),
        split on spaces. ``"text"``: the lower-cased words (:func:`bgtai.text.tokenize_words`).

    Returns
    -------
    list of str
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    text = validate_text(text)
    if form == "gloss":
        return english_to_gloss(text).split()
    return [w.lower() for w in tokenize_words(text)]


class TokenVocab:
    """A closed word vocabulary (index 0 = padding, 1 = unknown).

    Parameters
    ----------
    tokens : sequence of str
        The known tokens, without the two special ones.
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = [t for t in dict.fromkeys(tokens) if t not in (PAD, UNK)]
        if not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("a vocabulary needs at least one non-empty string token")
        self.tokens = [PAD, UNK, *tokens]
        self._index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def from_captions(cls, captions: Iterable[str]) -> TokenVocab:
        """Every gloss token and raw word of ``captions``, in first-seen order."""
        seen: list[str] = []
        for caption in captions:
            for form in FORMS:
                seen += caption_tokens(caption, form)
        return cls(seen)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Token ids, unknown tokens mapped to 1, cut to :data:`MAX_TOKENS`."""
        return [self._index.get(t, 1) for t in tokens[:MAX_TOKENS]]

    def encode(self, text: str, form: str) -> torch.Tensor:
        """``(L,)`` int64 ids of one caption in ``form`` (see :func:`caption_tokens`)."""
        ids = self.ids(caption_tokens(text, form))
        if not ids:
            raise ValueError(f"caption {text!r} has no {form} tokens")
        return torch.tensor(ids, dtype=torch.int64)

    def batch(self, texts: Sequence[str], form: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(B, L)`` ids and their ``(B,)`` lengths for a list of captions."""
        if isinstance(texts, str) or not texts:
            raise ValueError("texts must be a non-empty list of strings")
        seqs = [self.encode(t, form) for t in texts]
        lengths = torch.tensor([len(s) for s in seqs])
        out = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.int64)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = s
        return out, lengths


def world_vocab(seed: int = 0, n: int = 3000) -> TokenVocab:
    """The vocabulary of the world's captions, read off ``n`` descriptions of train-split events.

    Only train-split content is described, and the class prompts are added so zero-shot
    classification never meets an unknown word; the descriptions' wording (synonyms, counts,
    joiners) is the same in every split, so the test captions are covered.
    """
    rng = np.random.default_rng([seed, 7])
    combos = split_combos("train", seed)
    captions = [p for cls in CLASSES for p in class_prompts(cls)]
    for _ in range(n):
        events = sample_events(rng, 10.0, int(rng.integers(1, 4)), combos)
        captions.append(describe_events(events, rng))
    return TokenVocab.from_captions(captions)
