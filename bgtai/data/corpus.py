"""The Langue2Gloss training corpus: real English sentences plus the world's descriptions.

The gloss model must see real English, not only the world's template language, and no corpus
can be downloaded here. Debian's ``wordnet-base`` package installs WordNet 3.0, whose synset
glosses carry about 48,000 quoted usage examples written by lexicographers ("she rubbed down
her child with a sponge"). Those examples, cleaned and deduplicated, and descriptions of random
world events (:mod:`bgtai.data.language`) are glossed by the project's rules
(:func:`bgtai.gloss.english_to_gloss`) into ``(text, gloss)`` pairs. Joins of 2-3 examples
(:func:`joined_sentences`) add the long inputs that real English has and the examples lack.

The evaluation pairs (``aslg_pc12_dev.tsv``) are never read here.

Splits are assigned by a keyed hash of each sentence's normalised text, so they are disjoint in
content (a sentence is in exactly one split), do not depend on the order or number of other
sentences, and change with the seed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import numpy as np

from bgtai.data.events import sample_event
from bgtai.data.language import describe_events
from bgtai.gloss import english_to_gloss
from bgtai.gloss.lexicon import wordnet_dir

WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")

SPLITS = ("train", "val", "test")

MIN_WORDS, MAX_WORDS = 3, 40
"""Examples shorter than this are bare collocations ("wild talk"); longer ones are rare."""

# After the clean-up below, an example may hold only these characters; the rest (formulas,
# percentages, parentheses, accented loan words) are too rare to learn a gloss for.
_ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;:'?!-]+$")
_QUOTED = re.compile(r'"([^"]+)"')
_BACKTICK_QUOTE = re.compile(r"`([^`']*)'")  # WordNet's `mention' quotes


def _clean(example: str) -> str | None:
    """One usage example in normal form, or ``None`` when it is unusable."""
    text = _BACKTICK_QUOTE.sub(r"\1", example)
    text = " ".join(text.split()).strip(" ;,:")
    if not _ALLOWED.match(text or "-") or not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
        return None
    return text


@functools.lru_cache(maxsize=4)
def _wordnet_sentences(directory: Path) -> tuple[str, ...]:
    files = [directory / name for name in WORDNET_FILES]
    missing = [path.name for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet data files {', '.join(missing)} not found in {directory}; install them "
            "with `apt-get install wordnet-base` or point $BGTAI_WORDNET_DIR at a WordNet 3.0 "
            "dict/ folder")
    seen: dict[str, str] = {}
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                # Licence header lines start with spaces; synset lines are
                # "offset lex_filenum ss_type ... | gloss; "example"; "example"".
                if line.startswith(" ") or " | " not in line:
                    continue
                for example in _QUOTED.findall(line.split(" | ", 1)[1]):
                    text = _clean(example)
                    if text is not None:
                        seen.setdefault(text.lower(), text)
    return tuple(seen.values())


def wordnet_sentences(directory: str | Path | None = None) -> list[str]:
    """The usage examples of WordNet 3.0, cleaned and deduplicated.

    Parameters
    ----------
    directory : str or Path, optional
        Folder holding ``data.noun`` etc.; default :func:`bgtai.gloss.lexicon.wordnet_dir`
        (``$BGTAI_WORDNET_DIR`` or Debian's ``/usr/share/wordnet``).

    Returns
    -------
    list of str
        Examples in file order (nouns, verbs, adjectives, adverbs), whitespace-normalised,
        WordNet's `` `word' `` quotes removed, :data:`MIN_WORDS`-:data:`MAX_WORDS` words, only
        plain ASCII letters, digits and punctuation; duplicates (ignoring case) dropped.

    Raises
    ------
    FileNotFoundError
        If the WordNet data files are not there, with the install command.
    """
    return list(_wordnet_sentences(Path(directory) if directory is not None else wordnet_dir()))


def split_of(text: str, seed: int, fractions: tuple[float, float] = (0.05, 0.05)) -> str:
    """The split (``"train"``, ``"val"`` or ``"test"``) a sentence belongs to under ``seed``.

    ``fractions`` are the (val, test) shares; the hash ignores case and spacing.
    """
    val, test = fractions
    if not (0.0 <= val and 0.0 <= test and val + test < 1.0):
        raise ValueError(f"val and test fractions must be >= 0 and sum below 1, got {fractions}")
    key = " ".join(text.lower().split()).encode("utf-8")
    digest = hashlib.blake2b(key, digest_size=8, key=str(int(seed)).encode()).digest()
    u = int.from_bytes(digest, "big") / 2.0 ** 64
    return "val" if u < val else "test" if u < val + test else "train"


def world_descriptions(n: int, seed: int) -> list[str]:
    """``n`` descriptions of random world clips (1-3 events each), deduplicated, in draw order."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    # A stream of its own, apart from other uses of the same seed.
    rng = np.random.default_rng([int(seed), 0xDE5C])
    texts: dict[str, None] = {}
    for _ in range(n):
        events = [sample_event(rng, onset_s=float(rng.uniform(0.0, 8.0)))
                  for _ in range(int(rng.integers(1, 4)))]
        texts[describe_events(events, rng)] = None
    return list(texts)


CLAUSE_LINKS = (" , ", " and ", " , but ", " ; ", " , so ", " because ", " while ")
"""How :func:`joined_sentences` links its sentences (the clause links parliamentary English uses)."""


def joined_sentences(texts: list[str], n: int, seed: int) -> list[str]:
    """``n`` longer inputs, each 2-3 of ``texts`` linked into one sentence ending in `` .``.

    WordNet's examples are short (6 words on average) while real English sentences run to 15-30
    words; a model trained on short inputs alone falls apart on long ones. Joining sentences
    shows it long inputs whose gloss is still exactly the rules' gloss of the joined text.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n and len(texts) < 3:
        raise ValueError("joining needs at least 3 sentences")
    rng = np.random.default_rng([int(seed), 0x701E])
    out = []
    for _ in range(n):
        parts = [texts[i] for i in rng.choice(len(texts), size=int(rng.integers(2, 4)), replace=False)]
        text = parts[0]
        for part in parts[1:]:
            text += CLAUSE_LINKS[int(rng.integers(len(CLAUSE_LINKS)))] + part
        out.append(text + " .")
    return out


def training_corpus(seed: int = 0, split: str = "train", *, n_world: int = 20_000,
                    fractions: tuple[float, float] = (0.05, 0.05),
                    wordnet_dir: str | Path | None = None,
                    limit: int | None = None, n_joined: int = 0) -> list[tuple[str, str]]:
    """``(text, gloss)`` pairs of one split of the Langue2Gloss training corpus.

    Parameters
    ----------
    seed : int
        Decides the world descriptions drawn and the split of every sentence.
    split : {"train", "val", "test"}
        Which split to return; the three are disjoint in text.
    n_world : int
        World descriptions drawn before splitting (duplicates are dropped, so a few fewer).
    fractions : (float, float)
        Shares of the val and test splits.
    wordnet_dir : str or Path, optional
        See :func:`wordnet_sentences`.
    limit : int, optional
        Keep only this many pairs, a random subset fixed by ``seed`` (taken before glossing,
        so small corpora for tests are cheap).
    n_joined : int
        Add this many :func:`joined_sentences` made of the split's own WordNet examples.

    Returns
    -------
    list of (str, str)
        WordNet examples first, then world descriptions, then the joined sentences, each with
        its rule-based gloss.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    examples = wordnet_sentences(wordnet_dir)
    texts = examples + world_descriptions(n_world, seed)
    chosen = [t for t in texts if split_of(t, seed, fractions) == split]
    if limit is not None and limit < len(chosen):
        keep = np.random.default_rng([int(seed), 0x5EED]).permutation(len(chosen))[:limit]
        chosen = [chosen[i] for i in sorted(keep)]
    if n_joined:
        mine = set(chosen)
        chosen += joined_sentences([t for t in examples if t in mine], n_joined, seed)
    return [(text, english_to_gloss(text)) for text in chosen]
