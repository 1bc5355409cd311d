"""Text metrics: gloss corpus BLEU-4 (sacrebleu), token error rate, transcript word error rate."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import sacrebleu


def _check_pairs(hyps: Sequence[str], refs: Sequence[str]) -> tuple[list[str], list[str]]:
    if isinstance(hyps, str) or isinstance(refs, str):
        raise ValueError("hyps and refs must be lists of strings, not a single string")
    hyps, refs = list(hyps), list(refs)
    if not hyps:
        raise ValueError("hyps and refs are empty")
    if len(hyps) != len(refs):
        raise ValueError(f"hyps and refs must have the same length, "
                         f"got {len(hyps)} and {len(refs)}")
    for name, items in (("hyps", hyps), ("refs", refs)):
        bad = next((i for i, s in enumerate(items) if not isinstance(s, str)), None)
        if bad is not None:
            raise ValueError(f"{name}[{bad}] must be a string, got {type(items[bad]).__name__}")
    return hyps, refs


def gloss_bleu4(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU-4 of hypotheses against one reference each, on the 0-100 scale.

    sacrebleu's defaults are kept (13a tokenisation, case-sensitive, exponential smoothing) so
    numbers compare with published ASLG-PC12 results. 13a keeps hyphenated gloss tokens such as
    ``DESC-HOT`` and ``X-I`` whole. BLEU is a corpus statistic: a lone sentence shorter than four
    tokens has no 4-grams and scores 0 even when it matches exactly.

    Parameters
    ----------
    hyps : sequence of str
        Predicted gloss sentences.
    refs : sequence of str
        Reference gloss sentences, one per hypothesis.

    Returns
    -------
    float
        BLEU-4 in [0, 100].
    """
    hyps, refs = _check_pairs(hyps, refs)
    # force=True: gloss corpora are tokenised (" ." at the end), which is what sacrebleu's
    # "forgot to detokenize" warning detects; the score is the same with or without it
    return float(sacrebleu.corpus_bleu(hyps, [refs], force=True).score)


def edit_distance(hyp: Sequence[str], ref: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (substitutions, insertions, deletions).

    Parameters
    ----------
    hyp, ref : sequence of str
        Token lists.

    Returns
    -------
    int
        The minimum number of single-token edits that turn ``hyp`` into ``ref``.
    """
    # one DP row over ref, updated per hyp token: O(len(hyp) * len(ref)) time, O(len(ref)) memory
    prev = np.arange(len(ref) + 1)
    for i, token in enumerate(hyp, start=1):
        cur = np.empty_like(prev)
        cur[0] = i
        for j, ref_token in enumerate(ref, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (token != ref_token))
        prev = cur
    return int(prev[-1])


def token_error_rate(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus token error rate: total token edit distance over total reference tokens.

    Tokens are whitespace-separated (gloss tokens carry no attached punctuation to split). Like
    WER, it can exceed 1 when hypotheses are much longer than references.

    Parameters
    ----------
    hyps : sequence of str
    refs : sequence of str
        One reference per hypothesis; together they must hold at least one token.

    Returns
    -------
    float
        Sum of edit distances divided by the number of reference tokens; 0 means identical.
    """
    hyps, refs = _check_pairs(hyps, refs)
    ref_tokens = [r.split() for r in refs]
    total = sum(len(r) for r in ref_tokens)
    if total == 0:
        raise ValueError("the references hold no tokens, so the error rate is undefined")
    return sum(edit_distance(h.split(), r) for h, r in zip(hyps, ref_tokens, strict=True)) / total


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number_words(n: int) -> str:
    """0-999 as English words ("42" -> "forty two"); larger numbers stay digits."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number_words(rest))
    return str(n)


def normalize_words(text: str) -> list[str]:
    """Words of a transcript for WER: lower case, punctuation dropped (apostrophes inside words
    kept), hyphens split, whole numbers below 1000 spelled out, so "LZ 2." and "lz two" match."""
    words = []
    for raw in re.sub(r"[^\w'\s]|_", " ", text.lower().replace("-", " ")).split():
        raw = raw.strip("'")
        if raw.isdigit():
            words += _number_words(int(raw)).split()
        elif raw:
            words.append(raw)
    return words


def word_error_rate(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus word error rate of transcripts after :func:`normalize_words`.

    Returns
    -------
    float
        Total word edit distance over total reference words (can exceed 1).
    """
    hyps, refs = _check_pairs(hyps, refs)
    return token_error_rate([" ".join(normalize_words(h)) for h in hyps],
                            [" ".join(normalize_words(r)) for r in refs])
