"""Short "videos" of the world: an audio track of 1-10 s and a 4 frames/s picture sequence.

A clip holds 1-3 events at random onsets. Our reading of "at random onsets": the events do not
overlap in time (random gaps between them, including before the first and after the last), so
every instant has at most one sound and the ground truth of a frame or a segment is unambiguous;
the audio-to-frame alignment is then monotonic, which is the case DS-Net / the Result Filter model.

Frames (what a VGGSound-like video adds as noise for data-pair selection):

* frame ``t`` is taken at time ``(t + 0.5) / FPS``; while an event sounds, its objects are shown
  (a fixed layout per event on the clip's fixed background);
* frames with no sound are **distractors** with probability 1/2 (objects of a class not heard in
  the clip) and empty background otherwise;
* each frame during an event is also replaced by a distractor with probability
  :data:`OFF_SCREEN_PROB` ("the source is off screen"), never the event's only frame.

Ground truth: ``frame_events[t, k]`` (event ``k`` visible in frame ``t``), ``frame_distractor``,
``segment_events[s, k]`` (event ``k`` sounds during 1 s segment ``s``), and
:meth:`Clip.alignment`, the segment x frame matrix of shared visible events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import (
    CLASSES,
    DURATION_RANGE,
    MAX_REPETITIONS,
    MIN_GAP_S,
    MIN_SOUND_S,
    Combo,
    Event,
    sample_event,
)
from bgtai.data.images import (
    IMAGE_SIZE,
    DrawnObject,
    check_image_size,
    draw_objects,
    event_objects,
    render_background,
)
from bgtai.data.sounds import background_noise, render_clean

FPS = 4
SEGMENT_S = 1.0
MAX_EVENTS = 3
CLIP_SECONDS = (1.0, 10.0)
OFF_SCREEN_PROB = 0.1
_FRAME_S = 1.0 / FPS
_MIN_EVENT_S = DURATION_RANGE[0]


@dataclass(frozen=True)
class Clip:
    """One clip: audio, frames and their ground truth.

    Attributes
    ----------
    audio : numpy.ndarray
        ``(duration * 16000,)`` float32.
    frames : numpy.ndarray
        ``(F, H, W, 3)`` uint8, ``F = duration * FPS``.
    events : tuple of Event
        In time order, at most :data:`MAX_EVENTS`.
    frame_events : numpy.ndarray
        ``(F, MAX_EVENTS)`` bool, event ``k`` visible in frame ``t``.
    frame_distractor : numpy.ndarray
        ``(F,)`` bool, frame shows objects of a class not heard in the clip.
    segment_events : numpy.ndarray
        ``(S, MAX_EVENTS)`` bool, event ``k`` sounds in 1 s segment ``s``.
    """

    audio: np.ndarray
    frames: np.ndarray
    events: tuple[Event, ...]
    frame_events: np.ndarray
    frame_distractor: np.ndarray
    segment_events: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    @property
    def frame_times(self) -> np.ndarray:
        """Time (s) of each frame."""
        return (np.arange(len(self.frames)) + 0.5) / FPS

    def alignment(self) -> np.ndarray:
        """``(S, F)`` bool: segment ``s`` and frame ``t`` share an event that is seen and heard."""
        return (self.segment_events.astype(np.int32) @ self.frame_events.T.astype(np.int32)) > 0


def _event_in_budget(
    rng: np.random.Generator, budget_s: float, combos: Sequence[Combo] | None
) -> Event:
    """An event (from ``combos`` when given) whose span fits in ``budget_s`` seconds."""
    max_reps = max(1, int(min(MAX_REPETITIONS, budget_s // 0.3)))
    if combos is None:
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        pitch_level, loudness_level = None, None
        reps = int(rng.integers(1, max_reps + 1))
    else:
        fitting = [c for c in combos if c[3] <= max_reps]
        if not fitting:
            raise ValueError(f"no allowed event fits in {budget_s:.2f} s")
        cls, pitch_level, loudness_level, reps = fitting[int(rng.integers(len(fitting)))]
    lo = max(_MIN_EVENT_S, 0.3 * reps, reps * (MIN_SOUND_S + MIN_GAP_S))
    hi = max(lo, min(DURATION_RANGE[1], budget_s))
    return sample_event(
        rng,
        cls,
        pitch_level=pitch_level,
        loudness_level=loudness_level,
        repetitions=reps,
        duration_s=float(rng.uniform(lo, hi)),
    )


def sample_events(
    rng: np.random.Generator,
    duration_s: float,
    n_events: int,
    combos: Sequence[Combo] | None = None,
) -> tuple[Event, ...]:
    """Draw ``n_events`` non-overlapping events that fit in a clip of ``duration_s``."""
    share = duration_s / n_events
    events = [_event_in_budget(rng, share, combos) for _ in range(n_events)]
    spare = duration_s - sum(e.duration_s for e in events)
    gaps = rng.dirichlet(np.ones(n_events + 1)) * spare
    onset, out = 0.0, []
    for event, gap in zip(events, gaps):
        onset += float(gap)
        out.append(
            Event(
                event.cls,
                event.pitch_hz,
                event.loudness_dbfs,
                event.repetitions,
                round(onset, 4),
                event.duration_s,
            )
        )
        onset += event.duration_s
    return tuple(out)


def _distractor(rng: np.random.Generator, heard: set[str], image_size: int) -> list[DrawnObject]:
    others = [c for c in CLASSES if c not in heard]
    event = sample_event(rng, others[int(rng.integers(len(others)))])
    return event_objects(event, rng, image_size)


def sample_clip(
    rng: np.random.Generator,
    *,
    duration_s: float | None = None,
    n_events: int | None = None,
    image_size: int = IMAGE_SIZE,
    combos: Sequence[Combo] | None = None,
) -> Clip:
    """Generate a clip.

    Parameters
    ----------
    rng
        ``numpy.random.Generator``: the only randomness, so a seed fixes the clip.
    duration_s
        1-10 s, rounded to whole frames (0.25 s); ``None`` draws it uniformly.
    n_events
        1-3; ``None`` draws it (never more than the duration holds at 0.4 s per event).
    image_size
        Frame side in pixels (32-128).
    combos
        Allowed event content cells (see :func:`bgtai.data.events.all_combos`), e.g. one split's.

    Returns
    -------
    Clip
    """
    check_image_size(image_size)
    if duration_s is None:
        duration_s = float(rng.uniform(*CLIP_SECONDS))
    if not CLIP_SECONDS[0] <= duration_s <= CLIP_SECONDS[1]:
        raise ValueError(f"duration_s must be within {CLIP_SECONDS} s, got {duration_s}")
    n_frames = max(FPS, int(round(duration_s * FPS)))
    duration_s = n_frames / FPS
    fit = min(MAX_EVENTS, int(duration_s // (_MIN_EVENT_S + 0.05)))
    if n_events is None:
        n_events = int(rng.integers(1, fit + 1))
    if not 1 <= n_events <= fit:
        raise ValueError(
            f"n_events must be within 1-{fit} for a {duration_s} s clip, got {n_events}"
        )
    events = sample_events(rng, duration_s, n_events, combos)
    audio = _mix_audio(events, int(round(duration_s * SAMPLE_RATE)), rng)
    visible, distractor = _frame_truth(events, n_frames, rng)
    frames = _render_frames(events, visible, distractor, image_size, rng)
    return Clip(audio, frames, events, visible, distractor, _segment_truth(events, duration_s))


def _mix_audio(events: tuple[Event, ...], n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Events at their onsets over background noise 30-45 dB below the quietest event."""
    audio = np.zeros(n_samples, dtype=np.float64)
    for event in events:
        sound = render_clean(event, rng)
        start = int(round(event.onset_s * SAMPLE_RATE))
        audio[start : start + len(sound)] += sound[: n_samples - start]
    quietest = min(e.loudness_dbfs for e in events)
    audio += background_noise(n_samples, quietest - float(rng.uniform(30.0, 45.0)), rng)
    return audio.astype(np.float32)


def _frame_truth(
    events: tuple[Event, ...], n_frames: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(visible (F, MAX_EVENTS), distractor (F,))`` following the module docstring's rules."""
    times = (np.arange(n_frames) + 0.5) / FPS
    sounding = np.zeros((n_frames, MAX_EVENTS), dtype=bool)
    for k, e in enumerate(events):
        sounding[:, k] = (times >= e.onset_s) & (times < e.offset_s)
    visible = sounding.copy()
    for k in range(len(events)):
        frames_k = np.flatnonzero(sounding[:, k])
        off = frames_k[rng.uniform(size=len(frames_k)) < OFF_SCREEN_PROB]
        if len(off) < len(frames_k):  # an event always keeps at least one frame
            visible[off, k] = False
    silent = ~sounding.any(axis=1)
    distractor = ~visible.any(axis=1) & (~silent | (rng.uniform(size=n_frames) < 0.5))
    return visible, distractor


def _render_frames(
    events: tuple[Event, ...],
    visible: np.ndarray,
    distractor: np.ndarray,
    image_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(F, H, W, 3)`` uint8: one background and one layout per event for the whole clip."""
    background = render_background(rng, image_size)
    layouts = [event_objects(e, rng, image_size) for e in events]
    heard = {e.cls for e in events}
    frames = np.empty((len(visible), image_size, image_size, 3), dtype=np.uint8)
    for t in range(len(visible)):
        if distractor[t]:
            objects = _distractor(rng, heard, image_size)
        else:
            objects = [obj for k in np.flatnonzero(visible[t]) for obj in layouts[k]]
        frames[t] = draw_objects(background, objects)
    return frames


def _segment_truth(events: tuple[Event, ...], duration_s: float) -> np.ndarray:
    """``(S, MAX_EVENTS)``: event ``k`` sounds during some part of 1 s segment ``s``."""
    n_segments = int(np.ceil(duration_s / SEGMENT_S - 1e-9))
    starts = np.arange(n_segments) * SEGMENT_S
    segments = np.zeros((n_segments, MAX_EVENTS), dtype=bool)
    for k, e in enumerate(events):
        segments[:, k] = (e.onset_s < starts + SEGMENT_S) & (e.offset_s > starts)
    return segments
