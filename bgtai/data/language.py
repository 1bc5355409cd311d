"""English descriptions of the world's sound events, and the gloss of each description.

A clip holds one to three :class:`~bgtai.data.events.Event` objects; this module turns them into
varied English ("three loud high whistles", "first a siren, and after that two claps") from a
small, fixed vocabulary so that tests and the models' evaluations can read every attribute back.
Variety comes from synonyms, adjective order, count phrasings ("three whistles" / "a whistle
three times"), optional lead-ins ("you can hear ...") and ordering words; every choice is drawn
from the caller's ``numpy`` generator, so a description is deterministic for a seed.

Each description also carries a word-level record of what every word expresses (``class``,
``pitch``, ``loudness``, ``count``, ``order``, or ``None`` for glue words) and which event it
belongs to; the gloss comes from the project's rules (:func:`bgtai.gloss.english_to_gloss`).

Choices the paper leaves open, and how they are read here:

- Every description names every attribute the event has (class, loudness, pitch when the class
  is pitched, repetitions): the descriptions are the world's exact captions, and a caption that
  left attributes out could not supervise the sound -> image controls.
- Events are described in onset order. An event that starts before the previous one ends is
  joined with a simultaneity phrase ("together with") instead of a sequence word ("then").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bgtai.data.events import CLASSES, Event
from bgtai.gloss import english_to_gloss

TAGS = ("class", "pitch", "loudness", "count", "order")
"""What a word of a description can express; glue words carry ``None``."""

CLASS_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "whistle": (("whistle", "whistles"),),
    "hum": (("hum", "hums"), ("humming sound", "humming sounds")),
    "clap": (("clap", "claps"), ("handclap", "handclaps")),
    "snap": (("snap", "snaps"), ("finger snap", "finger snaps")),
    "hiss": (("hiss", "hisses"), ("hissing sound", "hissing sounds")),
    "click": (("click", "clicks"), ("tongue click", "tongue clicks")),
    "bell": (("bell", "bells"), ("bell ring", "bell rings")),
    "siren": (("siren", "sirens"), ("siren wail", "siren wails")),
    "drum": (("drum", "drums"), ("drum hit", "drum hits"), ("drumbeat", "drumbeats")),
    "buzz": (("buzz", "buzzes"), ("buzzing sound", "buzzing sounds")),
    "chirp": (("chirp", "chirps"), ("bird chirp", "bird chirps")),
}
"""(singular, plural) nouns for each class of :data:`bgtai.data.events.CLASSES`."""

PITCH_WORDS: dict[str, tuple[str, ...]] = {
    "low": ("low", "low-pitched", "deep"),
    "medium": ("mid-pitched", "medium-pitched"),
    "high": ("high", "high-pitched", "shrill"),
}
"""Adjectives for each pitch level. No word is shared with :data:`LOUDNESS_WORDS`."""

LOUDNESS_WORDS: dict[str, tuple[str, ...]] = {
    "quiet": ("quiet", "soft", "faint"),
    "medium": ("moderate", "medium-volume"),
    "loud": ("loud", "strong", "powerful"),
}
"""Adjectives for each loudness level."""

NUMBER_WORDS = ("one", "two", "three", "four", "five")
"""Cardinal numbers as words, ``NUMBER_WORDS[n - 1]`` for ``n`` repetitions."""

TIMES_WORDS = {1: ("once",), 2: ("twice", "two times")}
"""Adverbial counts; ``n`` above 2 is ``"<number> times"``."""

LEAD_INS = (("you", "can", "hear"), ("the", "sound", "of"), ("we", "hear"))
"""Openings that half of the descriptions start with."""

_SEQUENCE_JOINERS_2 = (
    ((), ("then",)),
    ((), (",", "then")),
    ((), ("followed", "by")),
    ((), ("and", "then")),
    (("first",), (",", "and", "after", "that")),
    (("first",), (",", "then")),
)
"""(before the first event, between two events) for two events in sequence."""

_SEQUENCE_JOINERS_N = (
    (("first",), (",", "then"), (",", "and", "finally")),
    ((), (",", "then"), (",", "then")),
    ((), (",", "followed", "by"), ("and", "then")),
    (("first",), (",", "next"), (",", "and", "last")),
)
"""(before the first, between middle events, before the last) for three or more events."""

_OVERLAP_JOINERS = (("together", "with"), ("along", "with"), ("and", "at", "the", "same", "time"))
"""Joiners for an event that starts before the previous one ends."""

# The tag of every fixed word the joiners and lead-ins use: sequence words carry "order" so the
# word-level record says where the description encodes time; everything else is glue.
_ORDER_WORDS = frozenset({"first", "then", "after", "that", "followed", "finally", "next",
                          "last", "together", "along", "same", "time"})

_Token = tuple[str, "str | None", "int | None"]  # (word or ",", tag, event index)


@dataclass(frozen=True)
class Description:
    """A description with a word-level record of what each word expresses.

    Attributes
    ----------
    text : str
        The English description, lowercase, commas attached to the preceding word.
    words : tuple of str
        The words of ``text`` in order, punctuation left out.
    tags : tuple of (str or None)
        For each word, one of :data:`TAGS` or ``None`` (article, lead-in, glue).
    event_index : tuple of (int or None)
        For each word, the index (into the caller's event sequence) of the event it describes.
    """

    text: str
    words: tuple[str, ...]
    tags: tuple[str | None, ...]
    event_index: tuple[int | None, ...]

    @property
    def gloss(self) -> str:
        """The gloss of :attr:`text` under the project's rules."""
        return english_to_gloss(self.text)


def _rng(rng) -> np.random.Generator:
    # default_rng returns a Generator unchanged and seeds a new one from an int.
    return np.random.default_rng(rng)


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def _nouns(cls: str) -> tuple[tuple[str, str], ...]:
    if cls not in CLASSES:
        raise ValueError(f"unknown sound class {cls!r}; "
                         f"the world's classes are {', '.join(CLASSES)}")
    return CLASS_NOUNS[cls]


def _words(phrase: str, tag: str | None, index: int | None) -> list[_Token]:
    return [(word, tag, index) for word in phrase.split()]


def _article(next_word: str) -> str:
    return "an" if next_word[0] in "aeiou" else "a"


def _event_tokens(event: Event, rng: np.random.Generator, index: int | None) -> list[_Token]:
    """The noun phrase for one event: count, adjectives and noun in one of three word orders."""
    n = int(event.repetitions)  # 1-5, checked by Event
    singular, plural = _pick(rng, _nouns(event.cls))
    noun = _words(singular if n == 1 else plural, "class", index)

    adjectives = [_words(_pick(rng, LOUDNESS_WORDS[event.loudness_level]), "loudness", index)]
    if event.pitch_level is not None:
        pitch = _words(_pick(rng, PITCH_WORDS[event.pitch_level]), "pitch", index)
        # Loudness-before-pitch ("loud high") is the usual English order; the reverse is kept
        # rarer so the text model still sees both.
        adjectives.insert(0 if rng.random() < 0.25 else 1, pitch)
    adjective_tokens = [token for adjective in adjectives for token in adjective]

    styles = ["prenominal"]
    if n > 1:
        styles.append("times")
    if len(adjectives) == 2:  # "a whistle, loud" alone reads badly: postpose only pairs
        styles.append("postposed")
    style = _pick(rng, styles)

    if style == "times":
        # "a loud high whistle three times"
        times = _pick(rng, TIMES_WORDS.get(n, (f"{NUMBER_WORDS[n - 1]} times",)))
        return ([(_article(adjective_tokens[0][0]), None, index)] + adjective_tokens
                + _words(singular, "class", index) + _words(times, "count", index))
    if n == 1:
        count = _pick(rng, ("a", "one", "a single"))
    else:
        count = NUMBER_WORDS[n - 1]
    if style == "prenominal":
        # "three loud high whistles", "a loud high whistle", "one quiet hum", "a single ..."
        if count == "a":
            count = _article(adjective_tokens[0][0])
        return _words(count, "count", index) + adjective_tokens + noun
    # "three whistles, loud and high"
    if count == "a":
        count = _article(noun[0][0])
    return (_words(count, "count", index) + noun + [(",", None, index)] + adjectives[0]
            + [("and", None, index)] + adjectives[1])


def _glue(words: Sequence[str]) -> list[_Token]:
    return [(w, "order" if w in _ORDER_WORDS else None, None) for w in words]


def _render(tokens: list[_Token]) -> Description:
    words = [t for t in tokens if t[0] != ","]
    text = " ".join(t[0] for t in tokens).replace(" ,", ",")
    return Description(
        text=text,
        words=tuple(t[0] for t in words),
        tags=tuple(t[1] for t in words),
        event_index=tuple(t[2] for t in words),
    )


def describe_event_tagged(event: Event, rng=None) -> Description:
    """Describe one event, with the word-level record; see :func:`describe_event`."""
    return _render(_event_tokens(event, _rng(rng), 0))


def describe_event(event: Event, rng=None) -> str:
    """Describe one event as an English noun phrase ("three loud high whistles").

    Parameters
    ----------
    event : Event
        The event; its class must be one of :data:`bgtai.data.events.CLASSES`.
    rng : numpy.random.Generator or int or None
        Source of every wording choice; the same seed gives the same text.

    Returns
    -------
    str
        The lowercase description.
    """
    return describe_event_tagged(event, rng).text


def describe_events_tagged(events: Sequence[Event], rng=None) -> Description:
    """Describe a clip's events in onset order, with the word-level record.

    See :func:`describe_events`; ``event_index`` in the result indexes the caller's ``events``.
    """
    if isinstance(events, Event):
        raise ValueError("describe_events takes a sequence of events; use describe_event for one")
    events = list(events)
    if not events:
        raise ValueError("cannot describe a clip without events")
    if not all(isinstance(e, Event) for e in events):
        raise ValueError("describe_events takes bgtai.data.events.Event objects")
    rng = _rng(rng)
    order = sorted(range(len(events)), key=lambda i: events[i].onset_s)
    lead_in = _glue(_pick(rng, LEAD_INS)) if rng.random() < 0.5 else []
    if len(order) == 1:
        return _render(lead_in + _event_tokens(events[order[0]], rng, order[0]))

    if len(order) == 2:
        before, middle = _pick(rng, _SEQUENCE_JOINERS_2)
        last = middle
    else:
        before, middle, last = _pick(rng, _SEQUENCE_JOINERS_N)
    # "we hear first ..." reads badly: a lead-in only opens joiners without their own opening.
    tokens = _glue(before) if before else lead_in
    latest_end = -np.inf
    for position, i in enumerate(order):
        event = events[i]
        if position:
            if event.onset_s < latest_end:
                joiner = _pick(rng, _OVERLAP_JOINERS)
            else:
                joiner = last if position == len(order) - 1 else middle
            # After "two whistles, loud and high" a bare "then"/"and" would bind to the adjectives.
            if joiner[0] != "," and tokens[-1][1] in ("pitch", "loudness") and any(
                    t[0] == "," and t[2] == order[position - 1] for t in tokens):
                joiner = (",",) + tuple(joiner)
            tokens += _glue(joiner)
        tokens += _event_tokens(event, rng, i)
        latest_end = max(latest_end, event.offset_s)
    return _render(tokens)


def describe_events(events: Sequence[Event], rng=None) -> str:
    """Describe a clip's events in English, in onset order.

    Parameters
    ----------
    events : sequence of Event
        One or more events (a clip holds 1-3).
    rng : numpy.random.Generator or int or None
        Source of every wording choice; the same seed gives the same text.

    Returns
    -------
    str
        For example ``"a quiet low hum then a bell"`` or
        ``"first a siren, and after that two loud claps"``.

    Raises
    ------
    ValueError
        For no events or a single Event passed instead of a sequence.
    """
    return describe_events_tagged(events, rng).text


def describe_with_gloss(events: Sequence[Event], rng=None) -> tuple[str, str]:
    """A description of ``events`` and its gloss, ``(text, gloss)``."""
    description = describe_events_tagged(events, rng)
    return description.text, description.gloss


_PROMPT_TEMPLATES = ("{a} {noun}", "the sound of {a} {noun}", "{a} {noun} sound",
                     "a recording of {a} {noun}", "{plural}", "the sound of {plural}")


def class_prompts(cls: str) -> list[str]:
    """Text prompts naming a class, for zero-shot classification ("the sound of a bell").

    Parameters
    ----------
    cls : str
        One of :data:`bgtai.data.events.CLASSES`.

    Returns
    -------
    list of str
        Distinct prompts built from every noun of the class; average their embeddings.
    """
    prompts = []
    for singular, plural in _nouns(cls):
        article = "an" if singular[0] in "aeiou" else "a"
        prompts += [t.format(a=article, noun=singular, plural=plural) for t in _PROMPT_TEMPLATES]
    return list(dict.fromkeys(prompts))


def label_prompts(label: str) -> list[str]:
    """Text prompts for a data set's class name, for zero-shot classification of real sets.

    A world class gets :func:`class_prompts`; any other label (``"dog_bark"``, VGGSound's
    ``"bird chirping, tweeting"``) is read as a noun phrase (underscores as spaces, first
    comma-separated variant) in the same templates, with a naive ``-s`` plural.
    """
    from bgtai.data.events import CLASSES

    if label in CLASSES:
        return class_prompts(label)
    noun = label.replace("_", " ").split(",")[0].strip().lower()
    if not noun:
        raise ValueError(f"a class label needs a word, got {label!r}")
    article = "an" if noun[0] in "aeiou" else "a"
    return list(dict.fromkeys(t.format(a=article, noun=noun, plural=noun + "s")
                              for t in _PROMPT_TEMPLATES))
