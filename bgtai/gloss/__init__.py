"""English -> gloss: the project's gloss conventions and a rule-based converter.

Gloss here follows ASLG-PC12 (upper-case lemmas, ``DESC-`` adjectives and adverbs, ``X-``
pronouns, articles dropped); ``docs/gloss.md`` writes the conventions down with examples.
It re-exports :func:`bgtai.text.validate_text`, the project's single validation door for user
text (it strips terminal escape sequences and control characters with
:func:`bgtai.text.sanitize_text`), :func:`bgtai.text.tokenize_words` and
:func:`bgtai.text.sentence_spans`, which splits tokenised text into sentences.
"""

from ..text import MAX_WORDS, sanitize_text, sentence_spans, tokenize_words, validate_text
from .rules import english_to_gloss, english_to_gloss_tokens, gloss_alignment

__all__ = [
    "MAX_WORDS",
    "english_to_gloss",
    "english_to_gloss_tokens",
    "gloss_alignment",
    "sanitize_text",
    "sentence_spans",
    "tokenize_words",
    "validate_text",
]
