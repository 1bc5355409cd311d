"""``python -m train.evaluate real-sounds`` on a small generated folder in the dev-set layout."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from bgtai.audio import SAMPLE_RATE, write_audio
from bgtai.data.world import WorldDataset
from bgtai.joint.heard import OpenSetCalibration
from train import evaluate
from train.eval_real import list_clips

N_WORLD = 22


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    """World test sounds in class folders (one as 44.1 kHz stereo FLAC), noises in other/, and a
    corrupt and a silent file that must be counted, not fatal."""
    d = tmp_path_factory.mktemp("real")
    ds = WorldDataset("test", N_WORLD, seed=0, kind="event")
    for i in range(N_WORLD):
        event, wave, _ = ds.event(i)
        (d / event.cls).mkdir(exist_ok=True)
        write_audio(d / event.cls / f"{i}.wav", wave)
    first = next(p for p in sorted(d.iterdir()) if p.is_dir())
    wave44 = np.interp(np.arange(0, len(wave), SAMPLE_RATE / 44100), np.arange(len(wave)), wave)
    sf.write(first / "stereo.flac", np.stack([wave44, wave44], 1), 44100)
    (d / "other").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        noise = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
        write_audio(d / "other" / f"noise{i}.wav", noise)
    (d / "other" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio" * 20)
    write_audio(first / "silent.wav", np.zeros(SAMPLE_RATE, np.float32))
    (d / "licences").mkdir()  # not a class: skipped
    (d / "licences" / "x.copyright").write_text("GPL")
    return d


def test_real_sounds_contract(real_dir, tiny_generator, tmp_path):
    out = tmp_path / "m.json"
    m = evaluate.main(["real-sounds", "--dir", str(real_dir), "--generator", str(tiny_generator),
                       "--n-sweep", "2", "--candidates", "1", "--json", str(out)])
    assert out.is_file()
    assert m["n_unreadable"] == 2  # the corrupt and the silent file
    assert m["n_clips"] == N_WORLD + 1 + 4 and m["n_other_clips"] == 4
    for key in ("real_zero_shot_acc", "real_open_set_auroc", "real_gain_monotonic_frac",
                "real_semitone_monotonic_frac", "real_zero_shot_macro_acc"):
        assert 0.0 <= m[key] <= 1.0, key
    # the bundled joint model knows the world's own sounds (0.986 on its test split)
    assert m["real_zero_shot_acc"] >= 0.8
    assert m["real_caption_class_acc"] >= 0.7  # and so does the bundled captioner
    assert m["n_gain_sweeps"] == 2 and m["n_semitone_sweeps"] == 2
    assert "real_in_world_accept_frac" not in m or 0 <= m["real_in_world_accept_frac"] <= 1


def test_calibrated_threshold_gives_accept_and_reject_rates(real_dir, tmp_path):
    cal = OpenSetCalibration("max_cosine", -1.0).save(tmp_path / "cal.json")  # accepts all
    m = evaluate.main(["real-sounds", "--dir", str(real_dir), "--calibration", str(cal),
                       "--n-sweep", "0"])
    assert m["real_in_world_accept_frac"] == 1.0 and m["real_other_reject_frac"] == 0.0
    assert "real_gain_monotonic_frac" not in m


def test_bad_folders_get_clear_messages(tmp_path):
    with pytest.raises(ValueError, match="no folder"):
        list_clips(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match="no class folder"):
        list_clips(tmp_path)
    (tmp_path / "bell").mkdir()
    (tmp_path / "bell" / "x.wav").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no readable recording"):
        evaluate.main(["real-sounds", "--dir", str(tmp_path), "--n-sweep", "0"])


def test_calibration_writes_a_threshold_that_the_evaluation_uses(real_dir, tmp_path):
    from train import calibrate_open_set

    out = tmp_path / "open_set.json"
    m = calibrate_open_set.main(["--dir", str(real_dir), "--out", str(out), "--world-val", "4",
                                 "--score", "max_cosine"])
    cal = OpenSetCalibration.load(out)
    assert cal.score == "max_cosine" and cal.threshold == m["threshold"]
    assert "world val sounds" in cal.chosen_on
    for key in ("dev_in_world_accept_frac", "dev_other_reject_frac", "world_val_accept_frac"):
        assert 0.0 <= m[key] <= 1.0
        assert 0.0 <= m[f"{key}_without_frontend"] <= 1.0  # the bundle has a front-end
    assert cal.threshold_without_frontend == m["threshold_without_frontend"]
    e = evaluate.main(["real-sounds", "--dir", str(real_dir), "--calibration", str(out),
                       "--n-sweep", "0"])
    assert e["real_in_world_accept_frac"] == m["dev_in_world_accept_frac"]
    assert e["real_other_reject_frac"] == m["dev_other_reject_frac"]
