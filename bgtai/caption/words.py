"""The captioner's words: its gloss vocabulary, reading a gloss caption back into events, and
the plain English a gloss caption stands for.

A world caption names, for every event in onset order, its class, loudness level, pitch level
(pitched classes only) and number of repetitions (:mod:`bgtai.data.language`). Reading those
back from a gloss is what turns a caption into something checkable (``attribute_acc``) and
into one canonical English sentence. The phrase tables are not written by hand: they are the
project's own rules (:func:`bgtai.gloss.english_to_gloss`) applied to the description
vocabulary, so they follow the rules if those change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bgtai.data.clips import sample_events
from bgtai.data.events import CLASSES, Event
from bgtai.data.language import (
    CLASS_NOUNS,
    LOUDNESS_WORDS,
    NUMBER_WORDS,
    PITCH_WORDS,
    TIMES_WORDS,
    describe_events,
)
from bgtai.data.world import SPLITS, split_combos
from bgtai.gloss import english_to_gloss

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
"""Ids 0-3; the order Langue2Gloss's decoder expects (pad 0, bos 1, eos 2)."""

_NEUTRAL = frozenset({",", "AND", "TIME"})
"""Tokens that neither describe an event nor move on to the next one ("loud AND high",
"two TIME")."""


@dataclass(frozen=True)
class HeardEvent:
    """One event as a caption names it (``None`` where the caption names nothing)."""

    cls: str
    count: int | None = None
    loudness: str | None = None
    pitch: str | None = None
    with_previous: bool = False
    """Joined to the previous event by a simultaneity phrase ("together with")."""

    @classmethod
    def of(cls, event: Event) -> HeardEvent:
        """What an exact caption of ``event`` names."""
        return cls(event.cls, int(event.repetitions), event.loudness_level, event.pitch_level)


def _gloss_tokens(phrase: str, context: str) -> tuple[str, ...]:
    """Gloss of ``phrase`` as it reads inside ``context`` (``{}`` marks its place): the rules
    look at neighbours (e.g. a noun after a number), so phrases are glossed in a caption-like
    frame and the frame's own tokens are removed."""
    frame = english_to_gloss(context.format("")).split()
    tokens = english_to_gloss(context.format(phrase)).split()
    for t in frame:
        if t in tokens:
            tokens.remove(t)
    return tuple(tokens)


@lru_cache(maxsize=1)
def phrase_table() -> dict[tuple[str, ...], tuple[str, object]]:
    """Gloss token sequences -> ``(kind, value)``: kind is class, pitch, loudness, count or
    overlap (a simultaneity joiner)."""
    table: dict[tuple[str, ...], tuple[str, object]] = {}
    for cls in CLASSES:
        for singular, plural in CLASS_NOUNS[cls]:
            table[_gloss_tokens(singular, "a loud {}")] = ("class", cls)
            table[_gloss_tokens(plural, "three loud {}")] = ("class", cls)
    for level, words in PITCH_WORDS.items():
        for w in words:
            table[_gloss_tokens(w, "a {} whistle")] = ("pitch", level)
    for level, words in LOUDNESS_WORDS.items():
        for w in words:
            table[_gloss_tokens(w, "a {} clap")] = ("loudness", level)
    for n, word in enumerate(NUMBER_WORDS, 1):
        table[_gloss_tokens(word, "{} claps")] = ("count", n)
    for n, words in TIMES_WORDS.items():
        for w in words:
            table.setdefault(_gloss_tokens(w, "a clap {}"), ("count", n))
    table[_gloss_tokens("a single", "{} clap")] = ("count", 1)
    for joiner, context in (("together", "a clap {} with a bell"),
                            ("along", "a clap {} with a bell"),
                            ("same", "a clap and at the {} time a bell")):
        table[_gloss_tokens(joiner, context)] = ("overlap", True)
    table.pop((), None)
    # The rules mark an adjective DESC- only in some positions ("QUIET DESC-SHRILL BUZZ"), and
    # gloss "hissing sound" as HISS SOUND after some words: both forms name the same thing.
    for key, hit in list(table.items()):
        table.setdefault(tuple(t.removeprefix("DESC-") for t in key), hit)
        if hit[0] == "class" and len(key) == 2 and key[1] == "SOUND":
            stem = _gloss_tokens(CLASS_NOUNS[hit[1]][0][0], "a loud {}")
            table.setdefault(stem + ("SOUND",), hit)
    return table


def attribute_words(vocab: CaptionVocab, kind: str, value: object) -> np.ndarray:
    """``(len(vocab),)``: the mean one-hot of the tokens of every phrasing of one attribute
    value (``kind`` class, pitch, loudness or count, as in :func:`phrase_table`); zeros if no
    phrasing's token is in ``vocab``."""
    out = np.zeros(len(vocab), dtype=np.float32)
    ids = [vocab.id(t) for key, hit in phrase_table().items() if hit == (kind, value)
           for t in key if vocab.id(t) is not None]
    for i in ids:
        out[i] += 1.0 / len(ids)
    return out


def _read(tokens: Sequence[str]) -> tuple[list[HeardEvent], list[int]]:
    """:func:`parse_gloss`'s events and, per token, the index of the event it belongs to."""
    table = phrase_table()
    longest = max(len(k) for k in table)
    events: list[dict] = []
    owners: list[int | None] = [None] * len(tokens)
    pending: dict = {}
    after_noun = False
    i = 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            hit = table.get(tuple(tokens[i: i + n]))
            if hit is not None:
                break
        else:
            hit, n = None, 1
        owner = None  # not known yet: the next event's, or the last one's at the end
        if hit is None:
            after_noun = after_noun and tokens[i] in _NEUTRAL
            owner = len(events) - 1 if after_noun else None
        elif hit[0] == "class":
            events.append({"cls": hit[1], **pending})
            pending, after_noun = {}, True
            owners = [len(events) - 1 if o is None else o for o in owners[:i]] + owners[i:]
            owner = len(events) - 1
        elif hit[0] == "overlap":
            pending["with_previous"], after_noun = True, False
        elif after_noun and hit[0] not in events[-1]:
            events[-1][hit[0]] = hit[1]
            owner = len(events) - 1
        else:
            pending[hit[0]], after_noun = hit[1], False
        owners[i: i + n] = [owner] * n
        i += n
    last = len(events) - 1
    heard = [HeardEvent(e["cls"], e.get("count", 1), e.get("loudness"), e.get("pitch"),
                        bool(e.get("with_previous", False)) and k > 0)
             for k, e in enumerate(events)]
    return heard, [last if o is None else o for o in owners]


def parse_gloss(gloss: str | Sequence[str]) -> list[HeardEvent]:
    """The events a gloss caption names, in order.

    Each class noun starts an event. Attributes before it belong to it; attributes after it
    ("a whistle THREE TIME", "bells, DESC-LOUD AND DESC-LOW") belong to it until a word that is
    neither an attribute nor glue (a joiner such as DESC-THEN) hands over to the next event.
    A missing count reads as one (articles are dropped in gloss: "a bell" is "BELL").
    """
    return _read(gloss.split() if isinstance(gloss, str) else list(gloss))[0]


def token_events(gloss: str | Sequence[str]) -> list[int]:
    """For each token of a gloss caption, the index of the event (in :func:`parse_gloss`'s
    order) it speaks of: a class noun and its attributes their event's, a joiner or other glue
    the event it leads into (the last event's at the very end), -1 for all in a caption that
    names no event. What the captioner's DS-Net learns to align with the audio."""
    return _read(gloss.split() if isinstance(gloss, str) else list(gloss))[1]


def english(events: Sequence[HeardEvent]) -> str:
    """One plain English sentence for ``events`` ("three loud high whistles, then a bell")."""
    if not events:
        return ""
    parts = []
    for k, e in enumerate(events):
        n = e.count or 1
        singular, plural = CLASS_NOUNS[e.cls][0]
        adjectives = [LOUDNESS_WORDS[e.loudness][0]] if e.loudness else []
        adjectives += [PITCH_WORDS[e.pitch][0]] if e.pitch else []
        words = adjectives + [singular if n == 1 else plural]
        lead = NUMBER_WORDS[n - 1] if n > 1 else ("an" if words[0][0] in "aeiou" else "a")
        joiner = "" if k == 0 else (" together with " if e.with_previous else ", then ")
        parts.append(joiner + " ".join([lead, *words]))
    return "".join(parts)


def attribute_table(predicted: Sequence[HeardEvent], truth: Sequence[Event]
                    ) -> dict[str, tuple[int, int]]:
    """``{attribute: (right, total)}`` event by event in onset order: class, count and loudness
    level for every true event, pitch level for pitched ones. A true event the caption leaves
    out gets all its attributes wrong; extra events in the caption cost nothing here
    (``event_count_acc`` measures those)."""
    table = {name: [0, 0] for name in ("cls", "count", "loudness", "pitch")}
    for k, event in enumerate(sorted(truth, key=lambda e: e.onset_s)):
        want = HeardEvent.of(event)
        got = predicted[k] if k < len(predicted) else None
        for name in ("cls", "count", "loudness") + (("pitch",) if want.pitch else ()):
            table[name][1] += 1
            table[name][0] += got is not None and getattr(got, name) == getattr(want, name)
    return {name: (right, total) for name, (right, total) in table.items()}


def attribute_hits(predicted: Sequence[HeardEvent], truth: Sequence[Event]) -> tuple[int, int]:
    """``(right, total)`` attribute words over all of :func:`attribute_table`."""
    table = attribute_table(predicted, truth).values()
    return sum(r for r, _ in table), sum(t for _, t in table)


def caption_vocab(seed: int = 0, n: int = 4000) -> list[str]:
    """The gloss tokens of the world's captions (without the special tokens), sorted.

    Read off ``n`` descriptions of train-split content plus every phrase of the tables; the
    wording (synonyms, counts, joiners) is the same in every split, so val and test captions
    are covered.
    """
    rng = np.random.default_rng([seed, SPLITS.index("train"), 19])
    combos = split_combos("train", seed)
    tokens = {t for key in phrase_table() for t in key}
    for _ in range(n):
        events = sample_events(rng, 10.0, int(rng.integers(1, 4)), combos)
        tokens.update(english_to_gloss(describe_events(events, rng)).split())
    return sorted(tokens - set(SPECIALS))


class CaptionVocab:
    """Gloss tokens <-> ids, with :data:`SPECIALS` first."""

    def __init__(self, tokens: Sequence[str]):
        tokens = [t for t in dict.fromkeys(tokens) if t not in SPECIALS]
        if not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("a caption vocabulary needs at least one non-empty token")
        self.tokens = [*SPECIALS, *tokens]
        self._index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int | None:
        """The id of ``token``, None if it is not in the vocabulary."""
        return self._index.get(token)

    def encode(self, gloss: str) -> list[int]:
        """``<s> tokens </s>`` ids of a gloss string (unknown tokens -> ``<unk>``)."""
        ids = [self._index.get(t, 3) for t in gloss.split()]
        return [1, *ids, 2]

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens of decoded ids, stopping at ``</s>`` and skipping the other specials."""
        out = []
        for i in ids:
            if i == 2:
                break
            if i > 3:
                out.append(self.tokens[i])
        return out
