"""Which frames make an event: the captioner's events, from the truth or from what it hears.

A world event is one class sounding ``repetitions`` times (1-5) in equal slots, every sound of it
within about 1 dB of the others (:func:`bgtai.data.sounds.render_clean`); two events of one class
in a row differ in level, spacing or both. The frame head names the class sounding at each frame,
but a silence says little of whether it lies inside an event or between two: reading event
boundaries off the frame head's silences alone kept the clip's number of events for 0.84 of
val clips. So the heard events come in two steps:

1. :func:`class_path`: the frame head's classes decoded as a Viterbi path (a change of class
   costs :data:`SWITCH_PENALTY`), whose runs of one class up to :data:`CHAIN_GAP` frames apart
   form a *chain*;
2. :func:`split_chain`: each chain's separate sounds (frames above the clip's noise floor,
   :func:`sounds_in`) split into the fewest groups of at most five sounds whose levels agree
   within :data:`LEVEL_TOLERANCE_DB` and whose onsets are evenly spaced within
   :data:`SPACING_TOLERANCE` frames: one event each.

On 500 val clips this keeps the number of events for 0.90 of clips (docs/experiments.md); the
thresholds were chosen there.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from bgtai.data.events import MAX_REPETITIONS

SWITCH_PENALTY = 2.0
"""Log-probability (nats) a change of the heard class costs when the frame head's classes are
decoded (:func:`class_path`): a frame-by-frame argmax flickers between two classes inside one
sound and splits it into many events. Chosen on val clips (docs/experiments.md)."""

MIN_RUN = 3
"""Frames (40 ms) a run of one heard class needs to count (shorter ones are flicker)."""

CHAIN_GAP = 50
"""Frames of silence (2 s) up to which two runs of one heard class are split by their sounds
(:func:`split_chain`) rather than taken as two events: the pause between an event's
repetitions can be long (one drum hit per 1.4 s slot)."""

SOUND_FLOOR_DB = 15.0
"""A frame is part of a sound when its level is this far above the clip's noise floor (the
20th percentile of its frame levels; the world's background lies 30-45 dB under its quietest
event)..."""

SOUND_PEAK_DB = 20.0
"""...and no further than this below the chain's loudest frame (decay tails are not sounds)."""

BLEED_DB = 6.0
"""A one-frame sound at either end of a chain this far below the chain's median sound is the
neighbouring event's edge bleeding into the chain, not a sound of its own."""

LEVEL_TOLERANCE_DB = 6.0
"""Largest difference between the levels of two sounds of one event (:func:`sound_level`)."""

SPACING_TOLERANCE = 3
"""Largest difference (frames) between two intervals from one sound's onset to the next
within one event (its slots are equal)."""


def class_path(logp: torch.Tensor, mask: torch.Tensor, penalty: float = SWITCH_PENALTY
               ) -> torch.Tensor:
    """The most likely class sequence ``(B, F)`` under per-frame log-probabilities ``logp``
    ``(B, F, C)`` when every change of class costs ``penalty`` nats (Viterbi; frames outside
    ``mask`` ``(B, F)`` are free to follow)."""
    logp = logp * mask[..., None].to(logp.dtype)
    n_frames, n_classes = logp.shape[1:]
    score = logp[:, 0].clone()
    back = torch.zeros(logp.shape, dtype=torch.long)
    stay = torch.arange(n_classes).expand_as(score)
    for f in range(1, n_frames):
        best, arg = score.max(-1, keepdim=True)
        switch = (best - penalty) > score
        back[:, f] = torch.where(switch, arg.expand_as(score), stay)
        score = torch.where(switch, best - penalty, score) + logp[:, f]
    path = torch.zeros(logp.shape[:2], dtype=torch.long)
    path[:, -1] = score.argmax(-1)
    for f in range(n_frames - 1, 0, -1):
        path[:, f - 1] = back[:, f].gather(1, path[:, f:f + 1])[:, 0]
    return path


def label_runs(labels: list[int], min_frames: int = MIN_RUN) -> list[tuple[int, int, int]]:
    """``(label, start, end)`` of each run of one non-zero label at least ``min_frames`` long."""
    runs, start = [], 0
    for f in range(1, len(labels) + 1):
        if f == len(labels) or labels[f] != labels[start]:
            if labels[start] and f - start >= min_frames:
                runs.append((labels[start], start, f))
            start = f
    return runs


def spans_to_windows(spans: list[list[tuple[int, int, int]]], n_frames: int) -> torch.Tensor:
    """``(B, E, F)`` bool frame windows of each clip's ``(label, start, end)`` event spans."""
    out = torch.zeros(len(spans), max(1, max(map(len, spans), default=0)), n_frames,
                      dtype=torch.bool)
    for b, row in enumerate(spans):
        for e, (_, start, end) in enumerate(row):
            out[b, e, start:end] = True
    return out


def event_windows(labels: torch.Tensor) -> torch.Tensor:
    """The true events' frame windows ``(B, E, F)`` bool from each frame's event index + 1
    ``(B, F)`` (0: none), one window per run."""
    return spans_to_windows([label_runs(row) for row in labels.tolist()], labels.shape[1])


def sounds_in(levels_db: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of frames louder than ``threshold`` dB."""
    loud = np.concatenate([[False], levels_db > threshold, [False]])
    edges = np.flatnonzero(loud[1:] != loud[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def sound_level(levels_db: np.ndarray) -> float:
    """A sound's level (dB) from its frames' levels: the most power two neighbouring frames hold
    together, which takes all of a short sound however it falls across frames and twice the
    power of a long one."""
    power = 10.0 ** (levels_db / 10.0)
    if len(power) > 1:
        power = power[:-1] + power[1:]
    return 10.0 * math.log10(float(power.max()))


def split_chain(onsets: list[int], levels: list[float]) -> list[int]:
    """Where a chain of one class's sounds (onset frames and :func:`sound_level` s, in time order)
    splits into events: the indices of the sounds that start a new event (0 excluded), for the
    fewest groups of at most :data:`MAX_REPETITIONS` sounds whose levels agree within
    :data:`LEVEL_TOLERANCE_DB` and whose onset intervals agree within :data:`SPACING_TOLERANCE`."""
    n = len(onsets)

    def one_event(i: int, j: int) -> bool:  # sounds i .. j-1
        if j - i > MAX_REPETITIONS or max(levels[i:j]) - min(levels[i:j]) > LEVEL_TOLERANCE_DB:
            return False
        gaps = np.diff(onsets[i:j])
        return len(gaps) < 2 or gaps.max() - gaps.min() <= SPACING_TOLERANCE

    groups, first = [0] + [math.inf] * n, [0] * (n + 1)  # fewest groups of sounds[:j]
    for j in range(1, n + 1):
        for i in range(max(0, j - MAX_REPETITIONS), j):
            if groups[i] + 1 < groups[j] and one_event(i, j):
                groups[j], first[j] = groups[i] + 1, i
    starts, j = [], n
    while j > 0:
        starts.append(first[j])
        j = first[j]
    return sorted(starts)[1:]


def heard_events(classes: list[int], levels_db: np.ndarray) -> list[tuple[int, int, int]]:
    """``(class, start, end)`` of the events heard in one clip, from its decoded frame classes
    (:func:`class_path`, 0: nothing) and its frames' levels in dB (both over the clip's frames
    only). An event runs from its first sound to the next event of its chain (or the chain's
    end), so it holds the pauses after its sounds as the true events do."""
    chains: list[list[int]] = []
    for label, start, end in label_runs(classes):
        if chains and chains[-1][0] == label and start - chains[-1][2] <= CHAIN_GAP:
            chains[-1][2] = end
        else:
            chains.append([label, start, end])
    floor = float(np.percentile(levels_db, 20)) if len(levels_db) else 0.0
    events = []
    for label, start, end in chains:
        part = levels_db[start:end]
        found = sounds_in(part, max(floor + SOUND_FLOOR_DB, float(part.max()) - SOUND_PEAK_DB))
        levels = [sound_level(part[a:b]) for a, b in found]
        if levels:
            middle = float(np.median(levels))
            ends = (0, len(found) - 1)
            kept = [k for k, (a, b) in enumerate(found)
                    if b - a > 1 or levels[k] >= middle - BLEED_DB or k not in ends]
            found, levels = [found[k] for k in kept], [levels[k] for k in kept]
        cuts = split_chain([a for a, _ in found], levels) if len(found) > 1 else []
        bounds = [start] + [start + found[k][0] for k in cuts] + [end]
        events += [(label, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return events


def heard_windows(classes: torch.Tensor, levels_db: torch.Tensor, mask: torch.Tensor
                  ) -> torch.Tensor:
    """The heard events' frame windows ``(B, E, F)`` bool (:func:`heard_events` per clip) from
    decoded classes ``(B, F)``, frame levels in dB ``(B, F)`` and the frames' ``mask``."""
    lengths = mask.sum(-1).tolist()
    spans = [heard_events(row[:n], level[:n].numpy())
             for row, level, n in zip(classes.tolist(), levels_db.double().cpu(), lengths)]
    return spans_to_windows(spans, classes.shape[1])
