"""What the joint model hears: the open-set scores, their calibration and the listener the app calls."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import CLASSES
from bgtai.eval.open_set import auroc
from bgtai.joint import JointModel
from bgtai.joint.heard import SCORES, Heard, Listener, OpenSetCalibration, choose_threshold


def test_auroc_counts_ordered_pairs_and_ties():
    assert auroc([3, 4], [1, 2]) == 1.0
    assert auroc([1, 2], [3, 4]) == 0.0
    assert auroc([1, 1], [1, 1]) == 0.5
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 40), rng.normal(0, 1, 30)
    brute = np.mean([(x > y) + 0.5 * (x == y) for x in a for y in b])
    assert auroc(a, b) == pytest.approx(brute)
    with pytest.raises(ValueError):
        auroc([], [1.0])


def test_scores_rank_a_sound_on_a_class_above_one_between_classes(tiny_joint_model):
    listen = Listener(JointModel.from_pretrained(tiny_joint_model))
    listen.classes = torch.eye(len(CLASSES), listen.classes.shape[1])  # orthogonal classes
    listen.scale = 10.0
    on_bell = listen.classes[CLASSES.index("bell")]  # cosines 1, 0, 0...
    between = torch.nn.functional.normalize(listen.classes.sum(dim=0), dim=0)  # 0.3 to each
    scores = listen.scores(torch.stack([on_bell, between]), torch.zeros(2))
    assert set(scores) == set(SCORES)
    for name in ("max_cosine", "max_softmax", "energy"):
        assert scores[name].shape == (2,) and scores[name][0] > scores[name][1], name
    assert torch.allclose(scores["max_cosine"], torch.tensor([1.0, len(CLASSES) ** -0.5]))
    assert scores["energy"][1] == pytest.approx(len(CLASSES) ** -0.5 + math.log(len(CLASSES)) / 10)
    assert scores["max_softmax"][1] == pytest.approx(1 / len(CLASSES))  # even: no class stands out
    assert ((scores["familiarity"] >= 1 / len(CLASSES)) & (scores["familiarity"] <= 1)).all()
    # gated: the softmax for world-like sounds, the cosine for real ones, mixed by the gate
    torch.testing.assert_close(scores["gated"], scores["max_softmax"])
    mixed = listen.scores(torch.stack([on_bell, between]), torch.tensor([1.0, 0.25]))["gated"]
    torch.testing.assert_close(mixed, torch.tensor([
        1.0, 0.25 * len(CLASSES) ** -0.5 + 0.75 / len(CLASSES)]))


def test_the_listener_reads_the_front_ends_gate(tiny_joint_model, monkeypatch):
    listen = Listener(JointModel.from_pretrained(tiny_joint_model))
    torch.testing.assert_close(listen.real_weights([_tone(), _tone(0.5)]), torch.zeros(2))
    seen = []
    monkeypatch.setattr(listen.model, "real_weight",
                        lambda wave: seen.append(wave.shape) or torch.full((len(wave),), 0.5))
    torch.testing.assert_close(listen.real_weights([_tone(), _tone(0.5)]), torch.full((2,), 0.5))
    assert seen == [(1, SAMPLE_RATE), (1, SAMPLE_RATE // 2)]  # each sound alone, unpadded


def test_threshold_separates_separable_samples_and_balances_overlap():
    inside, outside = np.array([0.6, 0.7, 0.8]), np.array([0.1, 0.2, 0.55])
    t = choose_threshold(inside, outside)
    assert (inside >= t).all() and (outside < t).all()
    assert t not in np.concatenate([inside, outside])  # between points, not on one
    # overlapping: cutting at 0.25 keeps all inside and half of outside (J = 0.5); between
    # 0.35 and 0.4 keeps 4/5 inside and 1/4 outside (J = 0.55), the best
    t = choose_threshold([0.3, 0.4, 0.8, 0.9, 0.95], [0.1, 0.2, 0.35, 0.85])
    assert t == pytest.approx(0.375)
    with pytest.raises(ValueError, match="both"):
        choose_threshold([], [0.1])


def test_calibration_roundtrip_and_clear_errors(tmp_path):
    cal = OpenSetCalibration("energy", 0.42, "a dev set")
    assert OpenSetCalibration.load(cal.save(tmp_path)) == cal  # a folder gets open_set.json
    with pytest.raises(ValueError, match="no open-set calibration"):
        OpenSetCalibration.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"threshold": 1}')
    with pytest.raises(ValueError, match="not an open-set calibration"):
        OpenSetCalibration.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="unknown open-set score"):
        OpenSetCalibration("loudness", 0.1)
    with pytest.raises(ValueError, match="finite"):
        OpenSetCalibration("max_cosine", float("nan"))
    with pytest.raises(ValueError, match="finite"):
        OpenSetCalibration("gated", 0.5, threshold_without_frontend=float("inf"))
    both = OpenSetCalibration("gated", 0.5, "dev", threshold_without_frontend=0.85)
    assert OpenSetCalibration.load(both.save(tmp_path / "both.json")) == both
    alone = both.without_frontend()
    assert (alone.score, alone.threshold, alone.threshold_without_frontend) == ("gated", 0.85, None)
    assert cal.without_frontend() is cal  # no second threshold: the same calibration


def test_a_listener_on_the_tower_alone_uses_its_own_threshold(tiny_joint_model):
    both = OpenSetCalibration("gated", 0.5, "dev", threshold_without_frontend=0.85)
    model = JointModel.from_pretrained(tiny_joint_model)
    assert Listener(model, both).calibration.threshold == 0.5
    model.frontend_missing = "aisfx is not installed"
    assert Listener(model, both).calibration.threshold == 0.85


def _tone(seconds=1.0, hz=440.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_listener_verdict_follows_the_threshold(tiny_joint_model, tmp_path):
    low = OpenSetCalibration("max_cosine", -2.0).save(tmp_path / "low.json")
    high = OpenSetCalibration("max_cosine", 2.0).save(tmp_path / "high.json")
    heard = Listener.from_pretrained(tiny_joint_model, low)((SAMPLE_RATE, _tone()))
    assert isinstance(heard, Heard) and heard.cls in CLASSES
    assert sum(heard.probabilities.values()) == pytest.approx(1.0)
    assert heard.confidence == pytest.approx(max(heard.probabilities.values()))
    assert 1 / len(CLASSES) <= heard.confidence <= 1 and -1 <= heard.score <= 1
    assert heard.known is True
    again = Listener.from_pretrained(tiny_joint_model, high)(_tone())  # an array: 16 kHz
    assert again.known is False and (again.cls, again.score) == (heard.cls, heard.score)
    bare = Listener(JointModel.from_pretrained(tiny_joint_model))(_tone())
    assert bare.known is None and bare.cls == heard.cls  # no calibration: classes, no verdict


def test_familiarity_follows_the_attribute_head(tiny_joint_model, monkeypatch):
    # a sound embedded exactly on the "bell" prompts is heard as a bell; it is familiar when the
    # attribute head reads "bell" surely, unfamiliar when the head reads nothing (1/11 each)
    model = JointModel.from_pretrained(tiny_joint_model)
    listen = Listener(model, OpenSetCalibration("familiarity", 0.5))
    bell = CLASSES.index("bell")
    monkeypatch.setattr(model, "embed_waveform", lambda w: listen.classes[bell].clone())
    head = model.attributes.classes
    with torch.no_grad():
        head.weight.zero_(), head.bias.zero_()
        heard = listen(_tone())
        assert heard.cls == "bell" and not heard.known
        assert heard.score == pytest.approx(1 / len(CLASSES))
        head.bias[bell] = 10.0
    heard = listen(_tone())
    assert heard.cls == "bell" and heard.known and heard.score > 0.99


def test_listener_bad_input_raises_readable_errors(tiny_joint_model, sound_files):
    listen = Listener(JointModel.from_pretrained(tiny_joint_model),
                      OpenSetCalibration("energy", 0.0))
    with pytest.raises(ValueError, match="silent"):
        listen(sound_files["silent"])
    with pytest.raises(ValueError, match="could not decode"):
        listen(sound_files["corrupt"])
    with pytest.raises(ValueError):
        listen.hear([np.zeros(0, np.float32)])
    assert listen(sound_files["stereo44k"]).cls in CLASSES  # any rate and channel count
    with pytest.raises(ValueError, match="no open-set calibration"):
        Listener.from_pretrained(tiny_joint_model)  # the tiny folder has none


def test_synthesised_non_world_sounds_differ_per_split():
    from train.eval_heard import non_world_sounds

    val, test = non_world_sounds("val"), non_world_sounds("test")
    assert set(val) == set(test) == {"noise", "speech", "chords"}
    for kind in val:  # another draw per split, at world-like levels
        assert not any(np.array_equal(a, b) for a in val[kind] for b in test[kind])
        assert all(-40 < 10 * np.log10(np.mean(w**2)) < -10 for w in val[kind] + test[kind])
