"""Word lists and the part-of-speech lexicon behind the gloss rules.

Closed-class words (articles, pronouns, auxiliaries, prepositions ...) are listed here from
English grammar. Open-class words (nouns, verbs, adjectives, adverbs) are looked up in two
offline resources:

- ``lemminflect`` (a PyPI package that ships its lexicon) for the parts of speech an
  inflected form can have and its lemma for each;
- WordNet from Debian's ``wordnet-base`` package (``/usr/share/wordnet``, or the folder in
  ``$BGTAI_WORDNET_DIR``): ``index.*`` for the parts of speech of base forms, ``cntlist.rev``
  for how often each part of speech of a lemma occurs in the sense-tagged SemCor corpus (the
  prior when context does not decide; without that file every reading weighs the same), and
  ``data.adj`` for the adjectives written with a capital.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

from lemminflect import getAllLemmas

WORDNET_DIRS = ("/usr/share/wordnet", "/usr/share/wordnet/dict", "/usr/local/share/wordnet")
"""Where WordNet's ``index.*`` files are looked for when ``$BGTAI_WORDNET_DIR`` is unset."""

OPEN_POS = ("NOUN", "VERB", "ADJ", "ADV")

# --- closed classes ---------------------------------------------------------------------------

ARTICLES_AND_OF = frozenset({"a", "an", "the", "of"})
"""Dropped: ASLG-PC12 glosses carry no articles and no "of" ("issue of proportionality" ->
``ISSUE PROPORTIONALITY``)."""

# Pronoun -> the gloss stem after ``X-``. ASLG-PC12 folds case and possessive forms onto the
# subject pronoun ("us", "our" -> X-WE; "me" -> X-I; "them", "their" -> X-THEY, which the corpus'
# THE-deletion turns into X-Y). Reflexives and "its", "my" keep their own form, as in the corpus.
PRONOUNS = {
    "i": "I", "me": "I", "we": "WE", "us": "WE", "our": "WE", "you": "YOU", "your": "YOU",
    "he": "HE", "him": "HE", "his": "HE", "she": "SHE", "her": "SHE", "it": "IT", "its": "ITS",
    "they": "THEY", "them": "THEY", "their": "THEY", "my": "MY",
    "myself": "MYSELF", "yourself": "YOURSELF", "himself": "HIMSELF", "herself": "HERSELF",
    "itself": "ITSELF", "ourselves": "OURSELVES", "yourselves": "YOURSELVES",
    "themselves": "THEMSELVES", "oneself": "ONESELF",
}
POSSESSIVE_PRONOUNS = frozenset({"our", "your", "their", "my", "its", "his", "her"})
SUBJECT_PRONOUNS = frozenset({"i", "we", "you", "he", "she", "it", "they"})
POSSESSIVE_MARKERS = frozenset({"'s", "'"})
"""Possessive clitics, glossed ``X-POSS`` after their owner ("Europe's" -> ``EUROPE X-POSS``)."""

# Auxiliaries, lemmatised like verbs; clitic forms included ("'re" -> BE, "'ve" -> HAVE).
BE_FORMS = frozenset({"be", "is", "are", "was", "were", "am", "been", "being", "'re", "'m"})
HAVE_FORMS = frozenset({"have", "has", "had", "having", "'ve"})
DO_FORMS = frozenset({"do", "does", "did"})
MODALS = {
    "can": "can", "ca": "can", "could": "could", "will": "will", "wo": "will", "'ll": "will",
    "would": "would", "'d": "would", "shall": "shall", "should": "should", "may": "may",
    "might": "might", "must": "must", "ought": "ought",
}
"""Modal -> lemma; "ca" and "wo" are what is left of "can't" and "won't" after the split."""
NEGATIONS = frozenset({"not", "n't"})
"""Glossed ``DESC-NOT``: the corpus' tagger reads "not" as an adverb."""

# Determiners and quantifiers that the corpus writes plainly (no DESC-), though WordNet also
# lists some of them ("more", "most", "all") as adjectives.
DETERMINERS = frozenset({
    "this", "that", "these", "those", "all", "some", "any", "no", "each", "every", "both",
    "either", "neither", "another", "more", "most", "what", "which", "whose",
    "whatever", "whichever", "next", "one", "none",
})
PREPOSITIONS = frozenset({
    "to", "in", "on", "at", "for", "with", "from", "by", "about", "as", "like", "than", "into",
    "onto", "upon", "within", "without", "through", "throughout", "during", "between", "among",
    "amongst", "under", "over", "against", "before", "after", "since", "per", "via", "towards",
    "toward", "across", "around", "along", "beyond", "behind", "despite", "out", "off", "near",
    "unlike", "until", "till", "amid", "beside", "besides", "below", "above", "inside",
    "outside", "except", "versus", "whereas", "cf",
})
CONJUNCTIONS = frozenset({
    "and", "or", "but", "nor", "because", "if", "unless", "while", "whilst", "although",
    "though", "whether", "whereby", "lest",
})
WH_WORDS = frozenset({"who", "whom", "where", "when", "why", "how", "wherever", "whenever"})
INDEFINITE_PRONOUNS = frozenset({
    "everyone", "everybody", "everything", "someone", "somebody", "something", "anyone",
    "anybody", "anything", "nobody", "nothing", "noone", "others", "one", "ones", "mine",
    "yours", "ours", "theirs", "hers",
})
NUMBER_WORDS = frozenset({
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion", "trillion",
})
# Always adjectives or adverbs in the corpus (DESC-), though a lexicon also lists other readings.
DESC_WORDS = frozenset({
    "many", "much", "few", "fewer", "less", "least", "such", "other", "same", "own", "several",
    "first", "second", "third", "fourth", "fifth", "last", "now", "even", "well", "far", "yes",
    "up", "down", "forward", "here", "there", "then", "so", "too", "ago", "very", "also",
})
PLURALIA_TANTUM = frozenset({
    "rights", "means", "goods", "arms", "news", "series", "species", "headquarters", "clothes",
    "premises", "outskirts", "proceeds", "surroundings", "savings", "earnings", "belongings",
})
"""Plural nouns the corpus keeps plural (``HUMAN RIGHTS``, ``MEANS``, ``GOODS``)."""
TIME_NOUNS = frozenset({"today", "tomorrow", "yesterday", "tonight"})
"""Nouns to Penn-style taggers even where they act as adverbs ("we vote today" -> TODAY)."""
PREFIXES = frozenset({
    "non", "anti", "pro", "ex", "co", "pre", "post", "semi", "multi", "macro", "micro", "inter",
})
"""Prefixes left standing by a split hyphen ("non-industrial"), glossed plainly (``NON``)."""
TITLES = frozenset({"mr", "mrs", "ms", "dr", "madam", "sir", "mister", "miss"})


@functools.lru_cache(maxsize=1)
def wordnet_dir() -> Path:
    """The folder holding WordNet's ``index.noun`` etc.

    Raises
    ------
    FileNotFoundError
        If no WordNet index is found; install Debian's ``wordnet-base`` or set
        ``$BGTAI_WORDNET_DIR``.
    """
    override = os.environ.get("BGTAI_WORDNET_DIR")
    candidates = (override,) if override else WORDNET_DIRS
    for folder in candidates:
        if (Path(folder) / "index.noun").is_file():
            return Path(folder)
    raise FileNotFoundError(
        "WordNet index files not found in " + ", ".join(candidates)
        + ": install the Debian package wordnet-base (apt-get install wordnet-base) "
        "or point $BGTAI_WORDNET_DIR at a folder holding WordNet's index.* and data.adj files."
    )


_SS_TYPE_POS = {"1": "NOUN", "2": "VERB", "3": "ADJ", "4": "ADV", "5": "ADJ"}


@functools.lru_cache(maxsize=1)
def _wordnet_counts() -> dict[str, dict[str, int]]:
    """``{pos: {lemma: 1 + times tagged in SemCor}}`` for the one-word lemmas of WordNet.

    Presence comes from ``index.*``; frequencies from ``cntlist.rev`` (sense key, sense
    number, tag count), summed over a lemma's senses of one part of speech.
    """
    files = {"NOUN": "index.noun", "VERB": "index.verb", "ADJ": "index.adj", "ADV": "index.adv"}
    counts: dict[str, dict[str, int]] = {}
    folder = wordnet_dir()
    for pos, name in files.items():
        with open(folder / name, encoding="utf-8", errors="replace") as fh:
            lemmas = (line.split(" ", 1)[0] for line in fh if not line.startswith(" "))
            counts[pos] = {lemma: 1 for lemma in lemmas if "_" not in lemma}
    if (folder / "cntlist.rev").is_file():
        with open(folder / "cntlist.rev", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, count = line.split()
                lemma, _, rest = key.partition("%")
                table = counts[_SS_TYPE_POS[rest[0]]]
                if lemma in table:
                    table[lemma] += int(count)
    return counts


@functools.lru_cache(maxsize=1)
def proper_adjectives() -> frozenset[str]:
    """Adjectives WordNet spells only with a capital ("European", "Czech", "Catholic").

    ASLG-PC12 glosses these like names, without ``DESC-`` (``EUROPEAN UNION``): the corpus
    was tagged on cased text, where they are proper adjectives (NNP/NNPS to most taggers).
    """
    capital, lower = set(), set()
    with open(wordnet_dir() / "data.adj", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(" "):
                continue
            fields = line.split(" ")
            for k in range(int(fields[3], 16)):
                word = fields[4 + 2 * k].split("(", 1)[0]  # drop markers like "(a)"
                (capital if word[0].isupper() else lower).add(word.lower())
    return frozenset(capital - lower)


def wordnet_count(lemma: str, pos: str) -> int:
    """How common ``lemma`` is as ``pos``: 0 if WordNet lacks it, else 1 + its SemCor count."""
    return _wordnet_counts()[pos].get(lemma.lower(), 0)


@functools.lru_cache(maxsize=65536)
def analyses(word: str) -> dict[str, str]:
    """The open-class readings of a lower-case word: ``{pos: lemma}``.

    lemminflect's lexicon gives the readings of inflected forms; WordNet adds readings of base
    forms that lemminflect lacks. Where lemminflect offers several lemmas, the one that differs
    from the word is taken ("minutes" -> "minute", "media" -> "medium"), following the corpus'
    habit of always reducing plurals.
    """
    found: dict[str, str] = {}
    for upos, lemmas in getAllLemmas(word).items():
        pos = "VERB" if upos == "AUX" else upos
        # "over-come" is a spelling variant of "overcome", not a lemma of its own
        lemmas = [lem for lem in lemmas if "-" not in lem] or list(lemmas)
        if pos in OPEN_POS and pos not in found:
            # a plural reduces ("minutes" -> minute); a verb keeps its own spelling if listed
            # ("fulfil", not "fulfill")
            if pos == "NOUN" or word not in lemmas:
                found[pos] = next((lem for lem in lemmas if lem != word), lemmas[0])
            else:
                found[pos] = word
    for pos in OPEN_POS:
        if pos not in found and wordnet_count(word, pos):
            found[pos] = word
    return found


def prior(word: str, pos: str, lemma: str) -> float:
    """Log-frequency prior of reading ``word`` as ``pos`` (from WordNet's SemCor counts)."""
    return math.log1p(max(wordnet_count(lemma, pos), wordnet_count(word, pos)))


# British -> American endings, applied to noun and verb lemmas only when WordNet knows the
# result: the corpus writes FAVOR, DEFENSE, CENTER, PROGRAM, BEHAVIOR for common words. The
# -ise/-ize pair is left alone because the corpus keeps both (RECOGNIZE but EMPHASISE).
_AMERICAN = (("our", "or"), ("ence", "ense"), ("tre", "ter"), ("mme", "m"))


def american_spelling(lemma: str, pos: str) -> str:
    """The American spelling of a British-spelt lemma if WordNet lists it, else ``lemma``."""
    for british, american in _AMERICAN:
        if lemma.endswith(british):
            candidate = lemma[: -len(british)] + american
            if wordnet_count(candidate, pos):
                return candidate
    return lemma
