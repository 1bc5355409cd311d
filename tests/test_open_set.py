"""The open-set score, its calibration and the recogniser the app calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import CLASSES
from bgtai.eval.open_set import auroc
from bgtai.joint import JointModel
from bgtai.joint.open_set import (OpenSetCalibration, OpenSetRecogniser, Recognition,
                                  choose_threshold, open_set_scores)


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


def test_scores_rank_a_peaked_row_above_a_flat_one():
    peaked = [0.9] + [0.0] * 10
    flat = [0.3] * 11
    cos = torch.tensor([peaked, flat])
    for score in ("max_cosine", "max_softmax", "energy"):
        s = open_set_scores(cos, 10.0, score)
        assert s.shape == (2,) and s[0] > s[1], score
    assert torch.allclose(open_set_scores(cos, 10.0, "max_cosine"), torch.tensor([0.9, 0.3]))
    soft = open_set_scores(cos, 10.0, "max_softmax")
    assert ((soft > 0) & (soft <= 1)).all()
    with pytest.raises(ValueError, match="unknown open-set score"):
        open_set_scores(cos, 10.0, "entropy")
    with pytest.raises(ValueError, match="classes"):
        open_set_scores(torch.zeros(3), 10.0)


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


def _tone(seconds=1.0, hz=440.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_recogniser_verdict_follows_the_threshold(tiny_joint_model, tmp_path):
    low = OpenSetCalibration("max_cosine", -2.0).save(tmp_path / "low.json")
    high = OpenSetCalibration("max_cosine", 2.0).save(tmp_path / "high.json")
    accept = OpenSetRecogniser.from_pretrained(tiny_joint_model, low)
    heard = accept((SAMPLE_RATE, _tone()))
    assert isinstance(heard, Recognition) and heard.cls in CLASSES
    assert 1 / len(CLASSES) <= heard.confidence <= 1 and -1 <= heard.score <= 1
    assert heard.in_world
    refuse = OpenSetRecogniser.from_pretrained(tiny_joint_model, high)
    again = refuse((SAMPLE_RATE, _tone()))
    assert not again.in_world and (again.cls, again.score) == (heard.cls, heard.score)


def test_recogniser_bad_input_raises_readable_errors(tiny_joint_model, tmp_path, sound_files):
    rec = OpenSetRecogniser(JointModel.from_pretrained(tiny_joint_model),
                            OpenSetCalibration("energy", 0.0))
    with pytest.raises(ValueError, match="silent"):
        rec(sound_files["silent"])
    with pytest.raises(ValueError, match="could not decode"):
        rec(sound_files["corrupt"])
    assert rec(sound_files["stereo44k"]).cls in CLASSES  # any rate and channel count
    with pytest.raises(ValueError, match="no open-set calibration"):
        OpenSetRecogniser.from_pretrained(tiny_joint_model)  # the tiny folder has none
