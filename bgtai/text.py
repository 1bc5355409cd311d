"""Text validation and word tokenisation shared by every text entry point.

:func:`validate_text` is the single door through which user text enters the project: it
normalises the string and raises :class:`ValueError` with a message a person can act on.
:func:`tokenize_words` splits validated text into the words that gloss alignments index.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 500
"""Default longest text accepted, in whitespace-separated words."""

# Apostrophe look-alikes that NFKC leaves alone; folding them lets "don’t" split like "don't".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})

# Clitics split off the word they lean on, as the Penn Treebank (and ASLG-PC12's source,
# tokenised Europarl) does: "don't" -> "do n't", "Europe's" -> "Europe 's".
_CLITIC = re.compile(r"(?i)^(?P<host>.+?)(?P<clitic>n't|'s|'re|'ve|'ll|'m|'d|')$")

# A word is a run of letters/digits, optionally with inner apostrophes (clitics) and inner
# decimal points or thousands separators in numbers ("3.5", "10,000"). Hyphens separate words:
# ASLG-PC12 writes "non-industrial" as "non industrial".
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:'[^\W_]*)*|\S")


def _is_kept_char(ch: str) -> bool:
    """Whether a non-word character becomes a token: punctuation, currency and maths signs."""
    cat = unicodedata.category(ch)
    return cat[0] == "P" or cat in ("Sc", "Sm")


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


def validate_text(text: str, *, max_words: int = MAX_WORDS) -> str:
    """Normalise user text and reject what the gloss models cannot handle.

    Normalisation: Unicode NFKC (full-width letters and ligatures become plain ones),
    control and format characters (including zero-width and right-to-left marks) removed,
    curly apostrophes folded to ``'``, runs of whitespace collapsed to one space.

    Parameters
    ----------
    text : str
        The raw text, e.g. from a text box.
    max_words : int, optional
        Longest accepted text, counted in whitespace-separated words after normalisation.

    Returns
    -------
    str
        The normalised text.

    Raises
    ------
    ValueError
        If ``text`` is not a string, is empty or whitespace only, holds only punctuation or
        symbols, has more than ``max_words`` words, or has letters but none of them Latin
        (the models handle English text; digits alone, as in "9 .", are accepted).
    """
    if not isinstance(text, str):
        # ValueError, not TypeError: the project reports all bad user input with one error
        # type, which the UI turns into a message
        raise ValueError(f"Text must be a string, got {type(text).__name__}.")  # noqa: TRY004
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}.")
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    # Control (Cc) and format (Cf) characters: keep whitespace controls as spaces, drop the rest.
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    text = " ".join(text.split())
    if not text:
        raise ValueError("Text is empty: please type a sentence in English.")
    if not any(ch.isalnum() for ch in text):
        raise ValueError(
            "Text holds only punctuation or symbols: please type a sentence in English."
        )
    n_words = len(text.split(" "))
    if n_words > max_words:
        raise ValueError(f"Text is too long: {n_words} words, at most {max_words} are accepted.")
    letters = [ch for ch in text if ch.isalpha()]
    if letters and not any(_is_latin_letter(ch) for ch in letters):
        raise ValueError(
            "Text contains no Latin letters: the gloss models handle English text only; "
            "please type the sentence in English."
        )
    return text


def tokenize_words(text: str) -> list[str]:
    """Split text into words and punctuation, the units that gloss alignments index.

    The text is validated first (see :func:`validate_text`). Punctuation, currency and maths
    signs are one token each; other symbols (emoji, dingbats) are dropped; hyphens split
    words and are dropped (``"non-industrial"`` gives ``["non", "industrial"]``, as in
    ASLG-PC12); clitics are split off (``"don't"`` gives ``["do", "n't"]``, ``"members'"``
    gives ``["members", "'"]``). Case is kept.

    Parameters
    ----------
    text : str
        English text.

    Returns
    -------
    list of str
        The tokens, in order.

    Raises
    ------
    ValueError
        If the text fails :func:`validate_text`.
    """
    tokens: list[str] = []
    for tok in _TOKEN.findall(validate_text(text)):
        if len(tok) == 1 and not tok.isalnum():
            if tok == "-" or not _is_kept_char(tok):
                continue
            tokens.append(tok)
            continue
        match = _CLITIC.match(tok)
        if match and any(ch.isalnum() for ch in match["host"]):
            host, clitic = match["host"], match["clitic"]
            # a bare trailing apostrophe is a plural possessive ("members'"), kept as a clitic
            tokens.extend(part for part in host.split("'") if part)
            tokens.append(clitic)
            continue
        tokens.extend(part for part in tok.split("'") if part)
    return tokens
