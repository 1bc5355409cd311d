"""The built-in world: events, sounds, images, clips, splits, datasets and the cache CLI."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from bgtai.audio import SAMPLE_RATE, log_mel, peak_dbfs
from bgtai.data import world
from bgtai.data.clips import FPS, MAX_EVENTS, SEGMENT_S, sample_clip
from bgtai.data.events import (
    CLASSES,
    HUMAN_CLASSES,
    LOUDNESS_RANGE,
    MIN_GAP_S,
    PITCH_RANGES,
    PITCHED,
    Event,
    all_combos,
    event_combo,
    sample_event,
)
from bgtai.data.images import (
    BACKGROUND_MAX_SATURATION,
    SIZE_RANGE,
    event_hue,
    event_objects,
    event_size,
    loudness_from_size,
    pitch_from_hue,
    render_background,
    render_event_image,
)
from bgtai.data.sounds import active_level_dbfs, render_clean, render_event
from bgtai.readers.image import read_count


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ events


def test_contract_classes():
    assert len(CLASSES) >= 10 and len(set(CLASSES)) == len(CLASSES)
    assert len(HUMAN_CLASSES) >= 5 and HUMAN_CLASSES <= set(CLASSES)
    assert set(CLASSES[: len(HUMAN_CLASSES)]) == HUMAN_CLASSES
    assert PITCHED <= set(CLASSES) and 0 < len(PITCHED) < len(CLASSES)


@pytest.mark.parametrize("level", ["low", "medium", "high"])
def test_sample_event_pitch_level_is_the_requested_third(level):
    r = rng(1)
    for cls in sorted(PITCHED):
        lo, hi = PITCH_RANGES[cls]
        for _ in range(5):
            e = sample_event(r, cls, pitch_level=level)
            third = math.log(e.pitch_hz / lo) / math.log(hi / lo) * 3
            assert e.pitch_level == level == ("low", "medium", "high")[int(third)]


def test_sample_event_loudness_and_reps():
    r = rng(2)
    for level in ("quiet", "medium", "loud"):
        e = sample_event(r, "clap", loudness_level=level, repetitions=4)
        lo, hi = LOUDNESS_RANGE
        k = ("quiet", "medium", "loud").index(level)
        assert lo + k * (hi - lo) / 3 <= e.loudness_dbfs <= lo + (k + 1) * (hi - lo) / 3
        assert e.repetitions == 4 and e.pitch_hz is None and e.pitch_level is None
        assert e.duration_s >= 4 * 0.3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cls="violin"), "unknown class"),
        (dict(pitch_hz=None), "needs"),
        (dict(repetitions=6), "repetitions"),
        (dict(repetitions=0), "repetitions"),
        (dict(loudness_dbfs=3.0), "loudness"),
        (dict(duration_s=0.3, repetitions=3), "too short"),
        (dict(onset_s=-1.0), "onset"),
    ],
)
def test_event_validation(kwargs, match):
    base = dict(
        cls="whistle",
        pitch_hz=1000.0,
        loudness_dbfs=-30.0,
        repetitions=1,
        onset_s=0.0,
        duration_s=1.0,
    )
    with pytest.raises(ValueError, match=match):
        Event(**(base | kwargs))
    with pytest.raises(ValueError, match="no pitch"):
        sample_event(rng(), "clap", pitch_level="high")


# ------------------------------------------------------------------ sounds


def test_level_definition_on_hand_computed_signals():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    # The RMS of the sine; the 20 ms window's ramps at the two edges pull it down < 0.1 dB.
    assert active_level_dbfs(sine) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.1)
    # Silence around it or a second copy after a gap leaves the level unchanged.
    gap = np.zeros(SAMPLE_RATE // 2)
    assert active_level_dbfs(np.concatenate([gap, sine, gap, sine, gap])) == pytest.approx(
        active_level_dbfs(sine), abs=0.05
    )
    assert active_level_dbfs(np.zeros(100)) == -math.inf


@pytest.mark.parametrize("cls", CLASSES)
def test_render_sets_level_without_clipping_and_keeps_gaps(cls):
    r = rng(3)
    e = sample_event(r, cls, loudness_level="loud", repetitions=3)
    clean = render_clean(e, r)
    assert clean.dtype == np.float32 and len(clean) == round(e.duration_s * SAMPLE_RATE)
    assert active_level_dbfs(clean) == pytest.approx(e.loudness_dbfs, abs=0.01)
    assert peak_dbfs(clean) < 0
    # Each repetition slot ends with >= MIN_GAP_S of true silence.
    silent = np.abs(clean) == 0
    slot = len(clean) // 3
    for k in range(3):
        tail = silent[(k + 1) * slot - int(MIN_GAP_S * SAMPLE_RATE) : (k + 1) * slot]
        assert tail.all()
        assert not silent[k * slot : k * slot + 10].all()


def test_renderings_differ_but_are_reproducible():
    e = sample_event(rng(4), "hum")
    a = render_event(e, rng(10))
    assert np.array_equal(a, render_event(e, rng(10)))
    assert not np.allclose(a, render_event(e, rng(11)))
    with pytest.raises(ValueError, match="pad_s"):
        render_event(e, rng(), pad_s=-1)


def test_timbres_are_distinct():
    """1-nearest-neighbour on crude features (active-part spectrum shape, per-band variation,
    active fraction) tells the classes apart: timbre, not loudness or pitch, carries the class."""
    r = rng(5)

    def feature(cls):
        lm = log_mel(render_event(sample_event(r, cls), r)).astype(np.float64)
        energy = lm.max(axis=1)
        active = lm[energy > energy.max() - 2]  # within 20 dB of the loudest frame
        spectrum = np.log10(np.mean(10**active, axis=0))
        return np.concatenate(
            [spectrum - spectrum.max(), active.std(axis=0), [np.mean(energy > energy.max() - 2)]]
        )

    known = [(c, feature(c)) for c in CLASSES for _ in range(8)]
    hits = [
        min(known, key=lambda kf: np.linalg.norm(kf[1] - f))[0] == cls
        for cls in CLASSES
        for f in [feature(cls) for _ in range(4)]
    ]
    assert np.mean(hits) >= 0.85


# ------------------------------------------------------------------ images


def hsv(image):
    return np.asarray(Image.fromarray(image).convert("HSV"), dtype=float) / 255


@pytest.mark.parametrize("size", [32, 64, 128])
def test_event_image_shape_and_background(size):
    r = rng(6)
    image = render_event_image(sample_event(r), r, size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    for _ in range(20):
        assert hsv(render_background(r, size))[..., 1].max() <= BACKGROUND_MAX_SATURATION + 0.01


@pytest.mark.parametrize("size", [16, 129, 64.0])
def test_image_size_validated(size):
    with pytest.raises(ValueError, match="image_size"):
        render_event_image(sample_event(rng()), rng(), size)


def test_physics_maps_are_monotone_and_invertible():
    for cls in PITCHED:
        lo, hi = PITCH_RANGES[cls]
        pitches = lo * (hi / lo) ** np.linspace(0, 1, 7)
        hues = [event_hue(Event(cls, p, -30.0, 1, 0.0, 1.0)) for p in pitches]
        assert np.all(np.diff(hues) > 0) and hues[0] == pytest.approx(0) and hues[-1] <= 270
        assert [pitch_from_hue(cls, h) for h in hues] == pytest.approx(list(pitches))
    levels = np.linspace(*LOUDNESS_RANGE, 7)
    sizes = [event_size(Event("clap", None, float(v), 1, 0.0, 1.0)) for v in levels]
    assert np.all(np.diff(sizes) > 0) and sizes[0] == SIZE_RANGE[0] and sizes[-1] == SIZE_RANGE[1]
    assert [loudness_from_size(s) for s in sizes] == pytest.approx(list(levels))
    unpitched = {event_hue(Event(c, None, -30.0, 1, 0.0, 1.0)) for c in CLASSES if c not in PITCHED}
    assert len(unpitched) == len(CLASSES) - len(PITCHED)


def test_objects_do_not_overlap_and_stay_inside():
    r = rng(7)
    for _ in range(50):
        size = int(r.choice([32, 64, 128]))
        objs = event_objects(sample_event(r, repetitions=5, loudness_level="loud"), r, size)
        assert len(objs) == 5
        for i, a in enumerate(objs):
            assert 0 <= a.left and a.left + a.side <= size and 0 <= a.top and a.top + a.side <= size
            for b in objs[i + 1 :]:
                apart_x = a.left + a.side < b.left or b.left + b.side < a.left
                apart_y = a.top + a.side < b.top or b.top + b.side < a.top
                assert apart_x or apart_y


# ------------------------------------------------------------------ clips


def test_clip_ground_truth_is_consistent():
    r = rng(8)
    for _ in range(12):
        clip = sample_clip(r)
        d = clip.duration_s
        n_frames = len(clip.frames)
        assert 1.0 <= d <= 10.0 and n_frames == round(d * FPS)
        assert len(clip.audio) == round(d * SAMPLE_RATE)
        assert 1 <= len(clip.events) <= MAX_EVENTS
        assert clip.frame_events.shape == (n_frames, MAX_EVENTS)
        assert clip.segment_events.shape == (math.ceil(d / SEGMENT_S), MAX_EVENTS)
        assert not clip.frame_events[:, len(clip.events) :].any()
        for a, b in zip(clip.events, clip.events[1:]):
            assert a.offset_s <= b.onset_s  # time order, no overlap
        assert clip.events[-1].offset_s <= d + 1e-3
        times = clip.frame_times
        for k, e in enumerate(clip.events):
            sounding = (times >= e.onset_s) & (times < e.offset_s)
            assert clip.frame_events[:, k].any()
            assert not (clip.frame_events[:, k] & ~sounding).any()
            overlap = (e.onset_s < np.arange(1, clip.segment_events.shape[0] + 1) * SEGMENT_S) & (
                e.offset_s > np.arange(clip.segment_events.shape[0]) * SEGMENT_S
            )
            assert np.array_equal(clip.segment_events[:, k], overlap)
        assert not (clip.frame_distractor & clip.frame_events.any(axis=1)).any()
        align = clip.alignment()
        assert align.shape == (clip.segment_events.shape[0], n_frames)
        assert np.array_equal(align.any(axis=0), clip.frame_events.any(axis=1))


def test_clip_frames_show_what_the_ground_truth_says():
    r = rng(9)
    clip = sample_clip(r, duration_s=8.0, n_events=3)
    for t, frame in enumerate(clip.frames):
        visible = np.flatnonzero(clip.frame_events[t])
        if len(visible):
            assert read_count(frame) == clip.events[visible[0]].repetitions
        elif not clip.frame_distractor[t]:
            assert read_count(frame) == 0
        else:
            assert read_count(frame) >= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration_s=0.5), "duration_s"),
        (dict(duration_s=11.0), "duration_s"),
        (dict(duration_s=1.0, n_events=3), "n_events"),
        (dict(n_events=0), "n_events"),
        (dict(image_size=20), "image_size"),
    ],
)
def test_clip_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_clip(rng(), **kwargs)


# ------------------------------------------------------------------ splits, datasets, cache


def test_splits_are_disjoint_complete_and_stratified():
    cells = {s: set(world.split_combos(s, seed=3)) for s in world.SPLITS}
    assert not (cells["train"] & cells["val"]) and not (cells["train"] & cells["test"])
    assert not (cells["val"] & cells["test"])
    assert set().union(*cells.values()) == set(all_combos())
    for s in world.SPLITS:
        assert {c[0] for c in cells[s]} == set(CLASSES)
    assert len(cells["train"]) > 0.75 * len(all_combos())
    assert world.split_combos("test", seed=3) == world.split_combos("test", seed=3)
    assert world.split_combos("test", seed=3) != world.split_combos("test", seed=4)
    assert world.combo_split(next(iter(cells["val"])), seed=3) == "val"
    with pytest.raises(ValueError, match="split"):
        world.split_combos("dev")
    with pytest.raises(ValueError, match="content cell"):
        world.combo_split(("violin", None, "loud", 1))


@pytest.mark.parametrize("split", world.SPLITS)
def test_dataset_items_stay_in_their_split(split):
    ds = world.WorldDataset(split, 6, seed=1, clip_seconds=(1.0, 4.0))
    allowed = set(world.split_combos(split, seed=1))
    for i in range(len(ds)):
        assert all(event_combo(e) in allowed for e in ds.clip(i).events)
        assert event_combo(ds.event(i, audio=False)[0]) in allowed


def test_dataset_items_are_deterministic_tensors():
    ds = world.WorldDataset("val", 4, seed=2, clip_seconds=(1.0, 3.0))
    a, b = ds[1], ds[1]
    assert a.keys() == b.keys()
    for key in a:
        assert isinstance(a[key], torch.Tensor)
        assert torch.equal(a[key].nan_to_num(), b[key].nan_to_num())
    assert a["frames"].dtype == torch.uint8 and a["frames"].shape[1:] == (3, 64, 64)
    assert a["event_class"].shape == (MAX_EVENTS,)
    n = int(a["n_events"])
    assert (a["event_class"][:n] >= 0).all() and (a["event_class"][n:] == -1).all()
    with pytest.raises(IndexError):
        ds[4]


def test_event_kind_and_image_kind_agree():
    ev = world.WorldDataset("train", 3, seed=0, kind="event", image_size=32)[2]
    im = world.WorldDataset("train", 3, seed=0, kind="image", image_size=32)[2]
    assert "audio" in ev and "audio" not in im
    assert torch.equal(ev["image"], im["image"]) and ev["image"].shape == (3, 32, 32)
    assert int(ev["class"]) == int(im["class"]) and 1 <= int(ev["repetitions"]) <= 5
    assert ev["audio"].shape[0] >= SAMPLE_RATE * (0.4 + 2 * world.EVENT_PAD_S) - 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(split="dev"), "split"),
        (dict(kind="movie"), "kind"),
        (dict(n=0), "n must"),
        (dict(clip_seconds=(0.5, 3.0)), "clip_seconds"),
        (dict(image_size=256), "image_size"),
    ],
)
def test_dataset_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        world.WorldDataset(**kwargs)


def test_collate_pads_ragged_items():
    ds = world.WorldDataset("train", 3, seed=5, clip_seconds=(1.0, 5.0))
    items = [ds[i] for i in range(3)]
    batch = world.collate_world(items)
    lengths = [it["audio"].shape[0] for it in items]
    assert batch["audio"].shape == (3, max(lengths))
    if len(set(lengths)) > 1:
        assert batch["audio_lengths"].tolist() == lengths
        assert batch["frames_lengths"].tolist() == [it["frames"].shape[0] for it in items]
    i = int(np.argmin(lengths))
    assert torch.equal(batch["audio"][i, : lengths[i]], items[i]["audio"])
    assert (batch["audio"][i, lengths[i] :] == 0).all()
    with pytest.raises(ValueError, match="empty"):
        world.collate_world([])


def test_collate_pads_to_multiples():
    ds = world.WorldDataset("train", 3, seed=5, clip_seconds=(1.0, 5.0))
    items = [ds[i] for i in range(3)]
    lengths = [it["audio"].shape[0] for it in items]
    batch = world.collate_world(items, multiples={"audio": 16000, "frames": 8})
    assert batch["audio"].shape[1] % 16000 == 0
    assert 0 <= batch["audio"].shape[1] - max(lengths) < 16000
    assert batch["audio_lengths"].tolist() == lengths  # padding added, so lengths are given
    assert batch["frames"].shape[1] % 8 == 0
    plain = world.collate_world(items)
    for key in ("audio", "frames"):
        width = plain[key].shape[1]
        assert torch.equal(batch[key][:, :width], plain[key])
        assert (batch[key][:, width:] == 0).all()
    # equal rows already at a multiple stay as they are, without lengths
    same = world.collate_world([{"x": torch.ones(4)}, {"x": torch.ones(4)}], {"x": 4})
    assert same.keys() == {"x"}
    # equal rows below a multiple are padded and get their lengths
    padded = world.collate_world([{"x": torch.ones(3)}, {"x": torch.ones(3)}], {"x": 4})
    assert padded["x"].shape == (2, 4) and padded["x_lengths"].tolist() == [3, 3]


def test_cache_cli_round_trip(tmp_path, capsys):
    from scripts.cache_world import main

    folder = main(
        [
            "--out",
            str(tmp_path),
            "--n",
            "3",
            "--split",
            "test",
            "--seed",
            "4",
            "--max-seconds",
            "3",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert (folder / "index.jsonl").is_file() and len(list(folder.glob("*.npz"))) == 3
    cached = world.CachedWorldDataset(tmp_path, "test")
    fresh = world.WorldDataset("test", 3, seed=4, clip_seconds=(1.0, 3.0))
    assert len(cached) == 3
    for i in range(3):
        a, b = cached[i], fresh[i]
        for key in b:
            assert torch.equal(a[key].nan_to_num(), b[key].nan_to_num()), key
    with pytest.raises(ValueError, match="index.jsonl"):
        world.CachedWorldDataset(tmp_path, "train")
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--n", "0", "--no-progress"])
    assert "n must be" in capsys.readouterr().err


@pytest.mark.slow
def test_cache_cli_parallel_workers(tmp_path):
    folder = world.cache_world(
        tmp_path, 4, split="val", workers=2, progress=False, clip_seconds=(1.0, 2.0)
    )
    fresh = world.WorldDataset("val", 4, clip_seconds=(1.0, 2.0))
    cached = world.CachedWorldDataset(tmp_path, "val")
    assert folder.name == "val"
    for i in range(4):
        assert torch.equal(cached[i]["audio"], fresh[i]["audio"])
