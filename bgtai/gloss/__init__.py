"""English -> gloss: the project's gloss conventions and a rule-based converter.

Gloss here follows ASLG-PC12 (upper-case lemmas, ``DESC-`` adjectives and adverbs, ``X-``
pronouns, articles dropped); ``docs/gloss.md`` writes the conventions down with examples.
It re-exports :func:`bgtai.text.validate_text`, the project's single validation door for user
text, and :func:`bgtai.text.tokenize_words`.
"""

from ..text import MAX_WORDS, tokenize_words, validate_text
from .rules import english_to_gloss, english_to_gloss_tokens, gloss_alignment

__all__ = [
    "MAX_WORDS",
    "english_to_gloss",
    "english_to_gloss_tokens",
    "gloss_alignment",
    "tokenize_words",
    "validate_text",
]
