"""Sound events of the built-in world: the classes, their parameter ranges and :class:`Event`.

This module is the contract shared by everything that builds the world (sounds, images, clips,
language, speech). An :class:`Event` is a pure description; :mod:`bgtai.data.sounds` renders it
as audio and :mod:`bgtai.data.images` draws it.

Parameters
----------
pitch_hz
    Fundamental frequency for pitched classes (for sweeping classes, the geometric centre of
    the sweep), ``None`` for unpitched ones. Sampled log-uniformly in the class's range.
loudness_dbfs
    RMS level of the event's *active part* in dBFS
    (:func:`bgtai.data.sounds.active_level_dbfs`): the power averaged over a sliding 20 ms
    window, then over the instants where it is within 20 dB of its maximum. Gaps between
    repetitions and the background noise do not count, so the number of repetitions does not
    change the level.
repetitions
    1-5 separate sounds with silent gaps of at least 150 ms between them.
onset_s, duration_s
    Start and total span (all repetitions and gaps) in seconds inside a clip.

Levels ("low/medium/high", "quiet/medium/loud") are thirds of the ranges; pitch thirds are taken
on a log-frequency scale, as pitch is perceived.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CLASSES: tuple[str, ...] = (
    "whistle",
    "hum",
    "clap",
    "snap",
    "hiss",
    "click",
    "bell",
    "siren",
    "drum",
    "buzz",
    "chirp",
)
"""Class names; the first six are sounds a person can make at a microphone."""

HUMAN_CLASSES: frozenset[str] = frozenset(CLASSES[:6])
"""Classes a person can produce (whistle, hum, clap, finger snap, "sss" hiss, tongue click)."""

PITCH_RANGES: dict[str, tuple[float, float]] = {
    "whistle": (600.0, 2000.0),
    "hum": (90.0, 300.0),
    "bell": (300.0, 1200.0),
    "siren": (400.0, 1200.0),
    "buzz": (100.0, 320.0),
    "chirp": (2000.0, 5000.0),
}
"""Pitch range (Hz) of each pitched class; the ranges are what people produce / hear for them."""

PITCHED: frozenset[str] = frozenset(PITCH_RANGES)
"""Classes with a pitch."""

LOUDNESS_RANGE: tuple[float, float] = (-42.0, -20.0)
"""Event level range in dBFS; the top leaves headroom for the ~19 dB crest factor of snaps."""

MAX_REPETITIONS = 5
MIN_GAP_S = 0.15
"""Shortest silent gap between repetitions: long enough that counting them is well posed."""

MIN_SOUND_S = 0.08
"""Shortest single repetition that still has room for the gap in each repetition slot."""

DURATION_RANGE: tuple[float, float] = (0.4, 3.0)
"""Total event span in seconds (an event with many repetitions is at least ``reps * 0.3`` s)."""

PITCH_LEVELS = ("low", "medium", "high")
LOUDNESS_LEVELS = ("quiet", "medium", "loud")


def _third(t: float) -> int:
    return min(2, max(0, int(math.floor(t * 3))))


def pitch_position(cls: str, pitch_hz: float) -> float:
    """Position of ``pitch_hz`` in the class's range on a log scale, 0 (lowest) to 1 (highest).

    Values outside the range are clipped; raises ``ValueError`` for an unpitched class.
    """
    if cls not in PITCHED:
        raise ValueError(f"class {cls!r} has no pitch")
    lo, hi = PITCH_RANGES[cls]
    return float(np.clip(math.log(pitch_hz / lo) / math.log(hi / lo), 0.0, 1.0))


def loudness_position(loudness_dbfs: float) -> float:
    """Position of a level in :data:`LOUDNESS_RANGE`, 0 (quietest) to 1 (loudest), clipped."""
    lo, hi = LOUDNESS_RANGE
    return float(np.clip((loudness_dbfs - lo) / (hi - lo), 0.0, 1.0))


@dataclass(frozen=True)
class Event:
    """One sound event: a class with its pitch, level, repetition count and time span."""

    cls: str
    pitch_hz: float | None
    loudness_dbfs: float
    repetitions: int
    onset_s: float
    duration_s: float

    def __post_init__(self):
        if self.cls not in CLASSES:
            raise ValueError(f"unknown class {self.cls!r}; expected one of {CLASSES}")
        if (self.pitch_hz is None) != (self.cls not in PITCHED):
            raise ValueError(
                f"class {self.cls!r} {'needs' if self.cls in PITCHED else 'has no'} "
                f"pitch_hz (got {self.pitch_hz})"
            )
        if self.pitch_hz is not None and not 20.0 <= self.pitch_hz <= 7000.0:
            raise ValueError(f"pitch_hz must be within 20-7000 Hz, got {self.pitch_hz}")
        if not -80.0 <= self.loudness_dbfs <= -3.0:
            raise ValueError(
                f"loudness_dbfs must be within -80 and -3 dBFS, got {self.loudness_dbfs}"
            )
        if not (
            isinstance(self.repetitions, (int, np.integer))
            and 1 <= self.repetitions <= MAX_REPETITIONS
        ):
            raise ValueError(
                f"repetitions must be an integer 1-{MAX_REPETITIONS}, got {self.repetitions!r}"
            )
        if self.onset_s < 0:
            raise ValueError(f"onset_s must be >= 0, got {self.onset_s}")
        if self.duration_s < self.repetitions * (MIN_SOUND_S + MIN_GAP_S) - 1e-9:
            raise ValueError(
                f"duration_s={self.duration_s} is too short for {self.repetitions} "
                f"repetitions (needs >= {self.repetitions * (MIN_SOUND_S + MIN_GAP_S):.2f} s)"
            )

    @property
    def offset_s(self) -> float:
        """End time of the event in seconds."""
        return self.onset_s + self.duration_s

    @property
    def pitch_level(self) -> str | None:
        """``"low"``, ``"medium"`` or ``"high"``: log-scale third of the class's pitch range."""
        if self.pitch_hz is None:
            return None
        return PITCH_LEVELS[_third(pitch_position(self.cls, self.pitch_hz))]

    @property
    def loudness_level(self) -> str:
        """``"quiet"``, ``"medium"`` or ``"loud"``: third of :data:`LOUDNESS_RANGE`."""
        return LOUDNESS_LEVELS[_third(loudness_position(self.loudness_dbfs))]


def _in_third(rng: np.random.Generator, level: str | None, levels: tuple[str, ...]) -> float:
    """A uniform position in [0, 1), restricted to the third named ``level`` when given."""
    if level is None:
        return float(rng.uniform())
    if level not in levels:
        raise ValueError(f"level must be one of {levels}, got {level!r}")
    k = levels.index(level)
    # Stay a hair inside the third so that float rounding cannot move it to the neighbour.
    return float(rng.uniform(k / 3 + 1e-6, (k + 1) / 3 - 1e-6))


def sample_event(
    rng: np.random.Generator,
    cls: str | None = None,
    *,
    pitch_level: str | None = None,
    loudness_level: str | None = None,
    repetitions: int | None = None,
    duration_s: float | None = None,
    onset_s: float = 0.0,
) -> Event:
    """Draw a random event, optionally fixing its class, levels, repetitions or duration.

    Parameters
    ----------
    rng
        ``numpy.random.Generator``; the only source of randomness (determinism from a seed).
    cls
        Class name, or ``None`` for a uniform choice among :data:`CLASSES`.
    pitch_level, loudness_level
        Restrict pitch / loudness to one third of the range (ignored pitch for unpitched classes).
    repetitions
        1-5, or ``None`` for uniform.
    duration_s
        Total span, or ``None`` to draw it within :data:`DURATION_RANGE` (at least 0.3 s per
        repetition).
    onset_s
        Start time inside a clip.

    Returns
    -------
    Event
    """
    if cls is None:
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
    elif cls not in CLASSES:
        raise ValueError(f"unknown class {cls!r}; expected one of {CLASSES}")
    pitch = None
    if cls in PITCHED:
        lo, hi = PITCH_RANGES[cls]
        pitch = lo * (hi / lo) ** _in_third(rng, pitch_level, PITCH_LEVELS)
    elif pitch_level is not None:
        raise ValueError(f"class {cls!r} has no pitch, cannot set pitch_level={pitch_level!r}")
    lo, hi = LOUDNESS_RANGE
    loud = lo + (hi - lo) * _in_third(rng, loudness_level, LOUDNESS_LEVELS)
    reps = int(rng.integers(1, MAX_REPETITIONS + 1)) if repetitions is None else repetitions
    if duration_s is None:
        d_lo = max(DURATION_RANGE[0], 0.3 * reps)
        duration_s = float(rng.uniform(d_lo, max(d_lo, DURATION_RANGE[1])))
    return Event(cls, pitch, loud, reps, float(onset_s), float(duration_s))


Combo = tuple[str, "str | None", str, int]
"""(class, pitch level or None, loudness level, repetitions): one cell of the content space."""


def event_combo(event: Event) -> Combo:
    """The content cell of an event; splits are disjoint in these cells."""
    return (event.cls, event.pitch_level, event.loudness_level, int(event.repetitions))


def all_combos() -> list[Combo]:
    """Every content cell: 6 pitched classes x 3 x 3 x 5 plus 5 unpitched classes x 3 x 5."""
    return [
        (c, p, loud, r)
        for c in CLASSES
        for p in (PITCH_LEVELS if c in PITCHED else (None,))
        for loud in LOUDNESS_LEVELS
        for r in range(1, MAX_REPETITIONS + 1)
    ]
