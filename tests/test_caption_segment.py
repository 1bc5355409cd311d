"""The captioner's events: true windows, the decoded class path and the heard events split by
their sounds' levels and spacing (bgtai.caption.segment), on hand-made frames and world audio."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bgtai.audio import SAMPLE_RATE
from bgtai.caption.data import frame_targets
from bgtai.caption.model import frame_levels
from bgtai.caption.segment import (
    class_path,
    event_windows,
    heard_events,
    heard_windows,
    label_runs,
    sound_level,
    sounds_in,
    split_chain,
)
from bgtai.data.events import CLASSES, Event
from bgtai.data.sounds import background_noise, render_clean

FPS = 25  # the captioner's frames are 40 ms
HOP = SAMPLE_RATE // FPS


def test_event_windows_give_one_window_per_true_event():
    true = torch.tensor([[0, 1, 1, 1, 0, 0, 2, 2, 2, 2], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]])
    got = event_windows(true)
    assert got.shape == (2, 2, 10)
    assert got[0, 0].tolist() == [False, True, True, True] + [False] * 6
    assert got[0, 1].nonzero()[:, 0].tolist() == [6, 7, 8, 9]
    assert got[1, 0].nonzero()[:, 0].tolist() == [2, 3, 4, 5] and not got[1, 1].any()
    assert not event_windows(torch.zeros(1, 5, dtype=torch.long)).any()
    # runs shorter than three frames are flicker
    assert label_runs([5, 0, 3, 3, 3, 0, 3, 3]) == [(3, 2, 5)]


def test_class_path_smooths_flicker_and_keeps_clear_changes():
    probs = torch.full((1, 12, 3), 0.05)
    probs[0, :6, 1] = 0.9  # class 1 for six frames, then class 2...
    probs[0, 6:, 2] = 0.9
    probs[0, 2, 1], probs[0, 2, 2] = 0.4, 0.55  # ...with one frame that leans to 2
    logp = probs.log()
    mask = torch.ones(1, 12, dtype=torch.bool)
    assert class_path(logp, mask, 0.0)[0].tolist() == logp[0].argmax(-1).tolist()
    assert class_path(logp, mask, 4.0)[0].tolist() == [1] * 6 + [2] * 6
    # no change pays: the one class likelier over all frames (frame 2 tips it)
    assert class_path(logp, mask, 100.0)[0].tolist() == [2] * 12
    # padding frames do not move the decoded part
    short = mask.clone()
    short[0, 8:] = False
    noisy = logp.clone()
    noisy[0, 8:] = torch.tensor([0.0, -50.0, -50.0])
    assert class_path(noisy, short, 4.0)[0, :8].tolist() == [1] * 6 + [2] * 2


def test_sounds_and_their_level_however_they_fall_across_frames():
    db = np.array([-80.0, -30, -30, -80, -80, -20, -80])
    assert sounds_in(db, -50.0) == [(1, 3), (5, 6)]
    assert sounds_in(np.full(4, -10.0), -50.0) == [(0, 4)]
    # a short sound split over two frames has the level of the same sound in one
    whole = sound_level(np.array([-30.0]))
    halves = sound_level(np.array([-30.0 - 10 * np.log10(2)] * 2))
    assert halves == pytest.approx(whole, abs=1e-9)


def test_split_chain_keeps_an_even_steady_event_and_splits_at_a_level_or_rhythm_change():
    assert split_chain([0, 10, 20, 30], [-20.0, -21, -20, -19]) == []
    # the same rhythm 12 dB quieter from the third sound on: two events
    assert split_chain([0, 10, 20, 30], [-20.0, -20, -32, -32]) == [2]
    # one level, but the spacing changes from 10 to 4 frames
    assert split_chain([0, 10, 20, 24, 28], [-20.0] * 5) in ([3], [2])
    # at most five sounds to an event
    assert len(split_chain(list(range(0, 70, 10)), [-20.0] * 7)) == 1


def _clip(events: list[Event], seconds: float, seed: int = 0) -> tuple[np.ndarray, int]:
    """World audio of ``events`` over background noise 35 dB below the quietest."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    audio = np.zeros(n)
    for e in events:
        start = int(e.onset_s * SAMPLE_RATE)
        sound = render_clean(e, rng)
        audio[start:start + len(sound)] += sound[: n - start]
    audio += background_noise(n, min(e.loudness_dbfs for e in events) - 35.0, rng)
    return audio.astype(np.float32), int(seconds * FPS)


def _heard(events: list[Event], seconds: float, silences_heard: bool) -> list[tuple[int, int, int]]:
    """The heard events of a rendered clip whose frame classes are the true ones, or the true
    ones only where something is loud (the frame head's way of losing an event in its pauses)."""
    audio, n_frames = _clip(events, seconds)
    db = 20.0 * frame_levels(torch.from_numpy(audio)[None], n_frames, HOP)[0].double().numpy()
    classes = frame_targets(events, n_frames, FPS)[:, 0].numpy()
    if not silences_heard:
        classes = np.where(db > np.percentile(db, 20) + 15.0, classes, 0)
    return heard_events(classes.tolist(), db)


def test_heard_events_split_one_class_by_level_and_join_an_events_long_pauses():
    clap = 1 + CLASSES.index("clap")
    # two clap events in a row, 12 dB apart, 0.1 s between them: the class path is one run
    loud = Event("clap", None, -20.0, 3, 0.5, 1.5)
    soft = Event("clap", None, -32.0, 2, 2.1, 1.0)
    got = _heard([loud, soft], 4.0, silences_heard=True)
    assert [label for label, _, _ in got] == [clap, clap]
    assert got[1][1] == pytest.approx(2.1 * FPS, abs=2)  # the second starts at its first clap
    # a drum hit every 1.5 s heard as separate runs is still one event...
    drum = Event("drum", None, -25.0, 2, 0.5, 3.0)
    whistle = Event("whistle", 1000.0, -30.0, 3, 4.0, 1.5)
    got = _heard([drum, whistle], 6.0, silences_heard=False)
    assert [label for label, _, _ in got] == [1 + CLASSES.index("drum"),
                                            1 + CLASSES.index("whistle")]
    # ...and so are a steady event's repetitions
    hiss = Event("hiss", None, -30.0, 4, 0.4, 2.4)
    assert len(_heard([hiss], 3.0, silences_heard=False)) == 1


def test_heard_windows_cover_each_clips_own_frames_only():
    classes = torch.tensor([[0, 2, 2, 2, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3, 0, 0]])
    db = torch.tensor([[-90.0, -30, -30, -30, -90, -90, -90, -90],
                       [-20.0, -80, -20, -80, -20, -80, 0, 0]])
    mask = torch.tensor([[True] * 8, [True] * 6 + [False] * 2])
    got = heard_windows(classes, db, mask)
    assert got.shape == (2, 1, 8)
    assert got[0, 0].nonzero()[:, 0].tolist() == [1, 2, 3]
    assert got[1, 0].nonzero()[:, 0].tolist() == list(range(6))
