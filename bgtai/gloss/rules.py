"""Rule-based English -> gloss conversion in the ASLG-PC12 style.

The conventions (see ``docs/gloss.md`` for examples and measured scores):

- every gloss token is upper case; punctuation and numbers are kept as they are;
- articles and "of" are dropped;
- nouns and verbs are lemmatised (``countries`` -> ``COUNTRY``, ``was given`` -> ``BE GIVE``);
- adjectives and adverbs keep their surface form behind ``DESC-`` (``DESC-IMPORTANT``,
  ``DESC-NOT``, ``DESC-LATER``);
- pronouns become ``X-`` plus the subject form (``our`` -> ``X-WE``), possessive "'s" becomes
  ``X-POSS``;
- with ``aslg_quirks=True`` two artefacts of how ASLG-PC12 was made are reproduced, for
  benchmarking against that corpus only: it deletes the letters "THE" wherever they occur
  inside a token (``there`` -> ``DESC-RE``, ``they`` -> ``X-Y``, ``themselves`` ->
  ``X-MSELVES``), and it singularises names as Latin plurals (``Russia`` -> ``RUSSIUM``,
  ``Monti`` -> ``MONTUS``). The default output keeps the words intact: a person reading the
  gloss (or the app) should see ``THERE``, not ``DESC-RE``.

Parts of speech come from a small left-to-right tagger: the readings a word can have
(:func:`bgtai.gloss.lexicon.analyses`), a frequency prior, and context rules from English
grammar (a word after "to" or a modal is a verb, after a determiner a noun or an adjective,
after "be" an adjective or a participle ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..text import tokenize_words
from . import lexicon as lx

# Coarse tags of closed-class words, used as context for the open-class decision.
_DET, _PRON, _POSSPRON, _MODAL, _TO = "DET", "PRON", "POSSPRON", "MD", "TO"
_BE, _HAVE, _DO, _NEG, _PREP, _CONJ = "BE", "HAVE", "DO", "NEG", "PREP", "CONJ"
_PUNCT, _NUM, _FUNC, _POSS = "PUNCT", "NUM", "FUNC", "POSS"
_NOUN, _VERB, _ADJ, _ADV = lx.OPEN_POS

_VERB_CONTEXT = frozenset({_MODAL, _DO})
_NOMINAL_CONTEXT = frozenset({_DET, _POSSPRON, _ADJ, _NUM, _POSS})


@dataclass(frozen=True)
class _Tagged:
    tag: str
    lemma: str


def _closed_class(word: str, prev: str | None, quirks: bool) -> _Tagged | None:
    """The tag of a closed-class word, or ``None`` for an open-class one."""
    if not any(ch.isalnum() for ch in word):
        return _Tagged(_PUNCT, word)
    if any(ch.isdigit() for ch in word):
        return _Tagged(_NUM, word)
    if word in lx.ARTICLES_AND_OF:
        return _Tagged(_DET if word != "of" else _PREP, "")
    if word in lx.POSSESSIVE_MARKERS:
        # "it's", "that's", "there's" contract "is"; "let's" is "let us"; after a noun the
        # clitic is a possessive.
        if prev == "let":
            return _Tagged(_PRON, "WE")
        if prev in lx.SUBJECT_PRONOUNS or prev in ("that", "there", "here", "what", "who", "where"):
            return _Tagged(_BE, "be")
        return _Tagged(_POSS, "")
    if word in lx.PRONOUNS:
        return _Tagged(_POSSPRON if word in lx.POSSESSIVE_PRONOUNS else _PRON, lx.PRONOUNS[word])
    if word in lx.NEGATIONS:
        return _Tagged(_NEG, "not")
    if word in lx.BE_FORMS:
        return _Tagged(_BE, "be")
    if word in lx.HAVE_FORMS:
        return _Tagged(_HAVE, "have")
    if word in lx.DO_FORMS:
        return _Tagged(_DO, "do")
    if word == "cannot":
        return _Tagged(_MODAL, "can")  # glossed CAN DESC-NOT
    if word in lx.MODALS:
        return _Tagged(_MODAL, lx.MODALS[word])
    if word == "to":
        return _Tagged(_TO, word)
    if word in lx.PREPOSITIONS:
        return _Tagged(_PREP, word)
    if word in lx.CONJUNCTIONS:
        return _Tagged(_CONJ, word)
    if word in lx.DETERMINERS:
        return _Tagged(_DET, word)
    if word in lx.NUMBER_WORDS:
        return _Tagged(_NUM, word)
    if word in lx.TITLES:
        # the corpus singularises "mrs" to "mr" like any plural
        return _Tagged(_FUNC, "mr" if word == "mrs" else word)
    if word in lx.DESC_WORDS:
        return _Tagged(_ADV, word)
    if word in lx.TIME_NOUNS or word in lx.PLURALIA_TANTUM:
        return _Tagged(_NOUN, word)
    if word in lx.proper_adjectives():
        return _Tagged(_NOUN, _singular_name(word) if quirks else word)
    if word in lx.WH_WORDS or word in lx.INDEFINITE_PRONOUNS or word in lx.PREFIXES:
        return _Tagged(_FUNC, word)
    return None


def _latin_singular(noun: str) -> str:
    """The corpus' singulariser reads any noun in -ia as a Latin plural ("Serbia" -> SERBIUM)."""
    return noun[:-1] + "um" if noun.endswith("ia") else noun


def _singular_name(word: str) -> str:
    """Lemma of a name or proper adjective: the corpus applies Latin plural rules to them too
    ("Monti" -> MONTUS, "Iraqi" -> IRAQUS, "Croatia" -> CROATIUM)."""
    if word.endswith("i") and len(word) > 3:
        return word[:-1] + "us"
    return _latin_singular(word)


def _oov_lemma(word: str, quirks: bool) -> str:
    """Lemma of a word no lexicon knows (mostly names), reduced like a regular plural noun."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return _singular_name(word) if quirks else word


def _open_lemma(pos: str, lemma: str, quirks: bool) -> str:
    """Final spelling of an open-class lemma (adjectives and adverbs are glossed by form)."""
    if pos == _NOUN:
        noun = lx.american_spelling(lemma, pos)
        return _latin_singular(noun) if quirks else noun
    if pos == _VERB:
        return lx.american_spelling(lemma, pos)
    return lemma


def _open_class(
    word: str, prev: str | None, prev2: str | None, next_readings: dict[str, str], quirks: bool
) -> _Tagged:
    """Choose noun, verb, adjective or adverb for an open-class word from its context."""
    readings = lx.analyses(word)
    if not readings:
        return _Tagged(_NOUN, _oov_lemma(word, quirks))
    if len(readings) == 1:
        pos, lemma = next(iter(readings.items()))
        return _Tagged(pos, _open_lemma(pos, lemma, quirks))
    # "made", "given", "working": inflected verb forms other than the 3rd person -s
    participle = readings.get(_VERB, word) != word and not word.endswith("s")
    score = {pos: lx.prior(word, pos, lemma) for pos, lemma in readings.items()}

    def bump(pos: str, amount: float) -> None:
        if pos in score:
            score[pos] += amount

    if prev in _VERB_CONTEXT or (prev == _NEG and prev2 in _VERB_CONTEXT):
        bump(_VERB, 5.0)
    elif prev == _TO:
        bump(_VERB, 3.0)
    elif prev == _PRON:
        bump(_VERB, 4.0)
    elif prev in _NOMINAL_CONTEXT:
        bump(_NOUN, 3.0)
        bump(_ADJ, 2.0 if _NOUN in next_readings else 1.0)
        bump(_VERB, -3.0)
        bump(_ADV, -2.0)
    elif prev == _BE or (prev == _NEG and prev2 == _BE):
        # a predicative adjective, or a passive participle, which the corpus lemmatises
        # ("was given" -> BE GIVE, "is concerned" -> BE CONCERN); letting an adjective
        # reading win over the participle ("is pleased") was tried on the dev half: -1 BLEU
        bump(_ADJ, 3.0)
        bump(_ADV, 1.0)
        bump(_VERB, 4.0 if participle else 0.0)
    elif prev == _HAVE:
        bump(_VERB, 4.0 if participle else 0.0)
    elif prev == _ADV:
        bump(_ADJ, 2.0)
    elif prev == _PREP:
        bump(_NOUN, 2.0)
    if word.endswith("ly"):
        bump(_ADV, 3.0)
    if participle:  # the corpus lemmatises participles almost everywhere
        bump(_VERB, 4.0)
    best = max(score, key=score.__getitem__)
    return _Tagged(best, _open_lemma(best, readings[best], quirks))


def _tag(words: list[str], quirks: bool) -> list[_Tagged]:
    """Tag lower-cased words left to right."""
    tagged: list[_Tagged] = []
    for i, word in enumerate(words):
        prev_word = words[i - 1] if i else None
        prev = tagged[i - 1].tag if i else None
        found = _closed_class(word, prev_word, quirks)
        if found is None:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            next_readings = {} if _closed_class(nxt, word, quirks) else lx.analyses(nxt)
            prev2 = tagged[i - 2].tag if i > 1 else None
            found = _open_class(word, prev, prev2, next_readings, quirks)
        tagged.append(found)
    return tagged


def _emit(word: str, tagged: _Tagged) -> list[str]:
    """The gloss tokens for one tagged word (before the THE-deletion)."""
    tag, lemma = tagged.tag, tagged.lemma
    if tag in (_PUNCT, _NUM):
        return [word.upper()]
    if word == "cannot":
        return ["CAN", "DESC-NOT"]
    if tag == _POSS:
        return ["X-POSS"]
    if tag in (_PRON, _POSSPRON):
        return ["X-" + lemma]
    if tag == _NEG:
        return ["DESC-NOT"]
    if tag in (_ADJ, _ADV):
        return ["DESC-" + word.upper()]
    return [lemma.upper()] if lemma else []


def _convert(text: str, quirks: bool) -> tuple[list[str], list[tuple[int, ...]]]:
    words = tokenize_words(text)
    lower = [w.lower() for w in words]
    tokens: list[str] = []
    sources: list[tuple[int, ...]] = []
    for i, (word, tagged) in enumerate(zip(lower, _tag(lower, quirks))):
        for token in _emit(word, tagged):
            if quirks:
                token = token.replace("THE", "")
            if token and token not in ("X-", "DESC-"):
                tokens.append(token)
                sources.append((i,))
    return tokens, sources


def intact_forms(text: str) -> dict[str, str]:
    """ASLG-PC12's artefact forms of the gloss words of ``text``, mapped to the intact words.

    A model trained on the corpus's real pairs learns its artefacts (``they`` -> ``X-Y``,
    ``Russia`` -> ``RUSSIUM``); this is what ``aslg_quirks=True`` changes in the rules' gloss
    of ``text``, word by word (``{"X-Y": "X-THEY", "RUSSIUM": "RUSSIA"}``), leaving out a form
    that is also an intact gloss word of the text. Used to write a learned gloss out intact.
    """
    lower = [w.lower() for w in tokenize_words(text)]
    pairs = [(intact, quirky.replace("THE", ""))
             for word, plain, quirk in zip(lower, _tag(lower, False), _tag(lower, True))
             for intact, quirky in zip(_emit(word, plain), _emit(word, quirk))]
    kept = {intact for intact, _ in pairs}
    forms: dict[str, str] = {}
    for intact, quirky in pairs:
        if quirky != intact and quirky not in kept and quirky not in ("", "X-", "DESC-"):
            forms.setdefault(quirky, intact)
    return forms


def english_to_gloss_tokens(text: str, *, aslg_quirks: bool = False) -> list[str]:
    """Convert English text to a list of ASLG-PC12-style gloss tokens.

    Parameters
    ----------
    text : str
        English text (validated with :func:`bgtai.gloss.validate_text`).
    aslg_quirks : bool, optional
        Reproduce ASLG-PC12's artefacts (THE-deletion inside words, Latin plurals of names)
        to score against that corpus; off by default.

    Returns
    -------
    list of str
        Gloss tokens, e.g. ``["X-WE", "MUST", "FOCUS", "ON", "DESC-REAL", "SOLUTION", "."]``
        for "We must focus on the real solutions."

    Raises
    ------
    ValueError
        If the text is empty, only punctuation, too long or not in a Latin script.
    """
    return _convert(text, aslg_quirks)[0]


def english_to_gloss(text: str, *, aslg_quirks: bool = False) -> str:
    """Convert English text to an ASLG-PC12-style gloss string (tokens joined by spaces).

    See :func:`english_to_gloss_tokens`.
    """
    return " ".join(english_to_gloss_tokens(text, aslg_quirks=aslg_quirks))


def gloss_alignment(text: str, *, aslg_quirks: bool = False) -> list[tuple[int, ...]]:
    """For each gloss token, the indices of the input words it came from.

    Indices refer to :func:`bgtai.text.tokenize_words` of the same text. The alignment is
    monotonic (indices never decrease along the gloss); input words that were dropped
    (articles, "of") appear in no tuple.

    Parameters
    ----------
    text : str
        English text.

    Returns
    -------
    list of tuple of int
        One tuple per gloss token, in gloss order.
    """
    return _convert(text, aslg_quirks)[1]
