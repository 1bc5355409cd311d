"""Text sanitising, validation, word tokenisation and sentence splitting.

:func:`validate_text` is the single door through which user text enters the project: it
cleans the string with :func:`sanitize_text`, normalises it and raises :class:`ValueError`
with a message a person can act on. :func:`tokenize_words` splits validated text into the
words that gloss alignments index, and :func:`sentence_spans` groups those words into
sentences (the neural glosser decodes one sentence at a time).
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 500
"""Default longest text accepted, in whitespace-separated words."""

SENTENCE_WORDS = 40
"""Longest sentence :func:`sentence_spans` returns, in tokens; longer ones are cut at clauses."""

_SENTENCE_END = {".", "!", "?"}
_CLAUSE_END = {",", ";", ":"}
# what may follow a sentence's end mark and still belong to it: more marks, closing quotes
_CLOSERS = {'"', "'", ")", "]", "}", "\u201d", "\u2019", "\u00bb"}
# a full stop after these is not a sentence end ("Mr. Smith", "e.g. this"); single letters
# (initials, "e.g.", "i.e.") are caught by their length
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "no", "fig", "etc",
                  "approx", "dept", "inc", "ltd", "co", "mt"}

# Apostrophe look-alikes that NFKC leaves alone; folding them lets "don’t" split like "don't".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})

# Clitics split off the word they lean on, as the Penn Treebank (and ASLG-PC12's source,
# tokenised Europarl) does: "don't" -> "do n't", "Europe's" -> "Europe 's".
_CLITIC = re.compile(r"(?i)^(?P<host>.+?)(?P<clitic>n't|'s|'re|'ve|'ll|'m|'d|')$")

# A word is a run of letters/digits, optionally with inner apostrophes (clitics) and inner
# decimal points or thousands separators in numbers ("3.5", "10,000"). Hyphens separate words:
# ASLG-PC12 writes "non-industrial" as "non industrial".
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:'[^\W_]*)*|\S")


# Terminal escape sequences (ECMA-48), as pasted from a terminal or a log: CSI ("ESC [ 31 m",
# colours and cursor moves; also its one-byte form U+009B), OSC ("ESC ] ... BEL" or "ESC ] ...
# ESC \", window titles and links) and the two-character escapes ("ESC c"). Removing only the
# ESC control character, as the control-character rule alone would, leaves "[31m" glued to the
# next word ("\x1b[31mhello" -> "[31mhello" -> gloss "31MHELLO").
_ANSI_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"      # CSI: parameters, intermediates, final byte
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC up to its terminator
    r"|\x1b[ -/]*[0-~]"                      # other escapes: ESC, intermediates, final byte
)


def sanitize_text(text: str) -> str:
    """Remove what a terminal, a word processor or a hostile paste adds that is not text.

    Terminal escape sequences are removed whole (``"\\x1b[31mhello"`` gives ``"hello"``); then
    every other control (Unicode ``Cc``) and format (``Cf``: zero-width spaces and joiners,
    right-to-left marks, soft hyphens, byte-order marks) character is removed, except that
    whitespace controls (tab, newline, carriage return) become spaces. Nothing else changes:
    :func:`validate_text` does the normalisation on top.

    Parameters
    ----------
    text : str
        Raw text.

    Returns
    -------
    str
        The text without escape sequences, controls or format characters.
    """
    text = _ANSI_ESCAPE.sub("", text)
    return "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))


def _is_kept_char(ch: str) -> bool:
    """Whether a non-word character becomes a token: punctuation, currency and maths signs."""
    cat = unicodedata.category(ch)
    return cat[0] == "P" or cat in ("Sc", "Sm")


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


def validate_text(text: str, *, max_words: int = MAX_WORDS) -> str:
    """Normalise user text and reject what the gloss models cannot handle.

    Normalisation: terminal escape sequences, control and format characters (including
    zero-width and right-to-left marks) removed (:func:`sanitize_text`), Unicode NFKC
    (full-width letters and ligatures become plain ones), curly apostrophes folded to ``'``,
    runs of whitespace collapsed to one space.

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
    text = unicodedata.normalize("NFKC", sanitize_text(text)).translate(_APOSTROPHES)
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


def _sentence_end(words: list[str], k: int) -> bool:
    if words[k] not in _SENTENCE_END:
        return False
    if words[k] == "." and k > 0:
        before = words[k - 1].lower()
        return not (len(before) == 1 and before.isalpha()) and before not in _ABBREVIATIONS
    return True


def _cut_long(start: int, end: int, words: list[str], max_words: int) -> list[tuple[int, int]]:
    """Cut ``words[start:end]`` into pieces of at most ``max_words`` tokens, after the last
    clause mark (comma, semicolon, colon) of each piece where there is one."""
    spans = []
    while end - start > max_words:
        marks = [k for k in range(start + 1, start + max_words) if words[k] in _CLAUSE_END]
        cut = marks[-1] + 1 if marks else start + max_words
        spans.append((start, cut))
        start = cut
    return spans + [(start, end)]


def sentence_spans(words: list[str], *, max_words: int = SENTENCE_WORDS) -> list[tuple[int, int]]:
    """Group tokens into sentences: ``(start, end)`` index ranges covering ``words`` in order.

    A sentence ends at ``.``, ``!`` or ``?`` together with the marks, closing quotes and
    brackets that follow it; a full stop after a single letter (initials, ``e.g.``) or a
    common abbreviation (``Mr.``, ``Dr.``, ``etc.``) does not end one. A sentence longer
    than ``max_words`` tokens (an unpunctuated paste) is cut after its last comma, semicolon
    or colon that keeps the piece within ``max_words``, or at ``max_words`` where it has none.

    Parameters
    ----------
    words : list of str
        Tokens from :func:`tokenize_words`.
    max_words : int, optional
        Longest span returned, in tokens.

    Returns
    -------
    list of (int, int)
        Half-open ranges, contiguous, non-empty, together covering every token.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}.")
    spans: list[tuple[int, int]] = []
    start = k = 0
    while k < len(words):
        if _sentence_end(words, k):
            end = k + 1
            while end < len(words) and (words[end] in _SENTENCE_END or words[end] in _CLOSERS):
                end += 1
            spans += _cut_long(start, end, words, max_words)
            start = k = end
        else:
            k += 1
    if start < len(words):
        spans += _cut_long(start, len(words), words, max_words)
    return spans
