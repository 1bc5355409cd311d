"""Volume and pitch edits of the generator's sliders."""

import numpy as np
import pytest

from bgtai.audio import SAMPLE_RATE, rms_dbfs
from bgtai.generate import edits
from bgtai.generate.edits import (
    GAIN_RANGE_DB,
    SEMITONE_RANGE,
    apply_gain,
    clamp_semitones,
    edit_sound,
    pitch_shift,
)
from bgtai.readers import read_pitch


def tone(freq=440.0, seconds=0.6, level=0.2):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("gain", [-12.0, -3.5, 0.0, 6.0])
def test_gain_changes_level_by_gain(gain):
    w = tone(level=0.1)
    assert rms_dbfs(apply_gain(w, gain)) - rms_dbfs(w) == pytest.approx(gain, abs=1e-3)


def test_gain_clamped_and_limited_at_full_scale_without_distortion():
    w = tone(level=0.1)
    np.testing.assert_array_equal(apply_gain(w, 1e6), apply_gain(w, GAIN_RANGE_DB[1]))
    np.testing.assert_array_equal(apply_gain(w, -1e6), apply_gain(w, GAIN_RANGE_DB[0]))
    loud = apply_gain(w, GAIN_RANGE_DB[1])
    assert loud.dtype == np.float32 and loud.shape == w.shape
    assert np.abs(loud).max() == pytest.approx(1.0)  # no louder than full scale...
    np.testing.assert_allclose(loud, w / np.abs(w).max(), atol=1e-6)  # ...and not clipped
    np.testing.assert_allclose(apply_gain(w, 25.0), loud, atol=1e-6)  # beyond full scale: saturates


@pytest.mark.parametrize("semitones", [-12.0, -7.0, 3.0, 5.5, 12.0])
def test_pitch_shift_moves_pitch_and_keeps_duration(semitones):
    w = tone(440.0)
    out = pitch_shift(w, semitones)
    assert out.shape == w.shape and out.dtype == np.float32
    assert read_pitch(out) == pytest.approx(440.0 * 2 ** (semitones / 12), rel=0.01)


def _band_db(wave, lo_hz, hi_hz):
    power = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(len(wave), 1 / SAMPLE_RATE)
    return 10 * np.log10(power[(freqs > lo_hz) & (freqs < hi_hz)].mean() + 1e-30)


@pytest.mark.parametrize("semitones", [-24.0, -12.0, -5.0])
def test_downward_shift_keeps_the_noise_floor_of_the_emptied_band(semitones):
    # shifting down by r empties everything above r * 8 kHz; the recording's own hiss is put back
    noise = 0.003 * np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32)
    recording = tone(1000.0, seconds=1.0) + noise
    top = (8000 * 2 ** (semitones / 12) + 300, 7800)
    shifted = pitch_shift(recording, semitones)
    assert _band_db(shifted, *top) == pytest.approx(_band_db(recording, *top), abs=1.5)
    assert read_pitch(shifted) == pytest.approx(1000 * 2 ** (semitones / 12), rel=0.01)
    np.testing.assert_array_equal(shifted, pitch_shift(recording, semitones))  # deterministic
    # a clean tone had no floor there and gains none (what is left is the resampler's leakage)
    clean = pitch_shift(tone(1000.0, seconds=1.0), semitones)
    assert _band_db(clean, *top) < _band_db(shifted, *top) - 25


def test_refill_does_not_put_a_steady_partial_back():
    # a 6 kHz tone sounding through the whole recording is signal, not floor: shifted an octave
    # down it must not come back as noise at 6 kHz
    noise = 0.003 * np.random.default_rng(1).standard_normal(SAMPLE_RATE).astype(np.float32)
    shifted = pitch_shift(tone(6000.0, seconds=1.0) + noise, -12.0)
    assert _band_db(shifted, 5900, 6100) < _band_db(shifted, 6500, 7500) + 3
    assert _band_db(shifted, 2900, 3100) > _band_db(shifted, 6500, 7500) + 40


@pytest.mark.parametrize("semitones", [-24.0, -0.1, 24.0])
def test_pitch_shift_of_the_shortest_sound(semitones):
    out = pitch_shift(tone(seconds=1024 / SAMPLE_RATE), semitones)
    assert out.shape == (1024,) and np.isfinite(out).all()


def test_pitch_shift_zero_and_clamping():
    w = tone(300.0)
    same = pitch_shift(w, 0.0)
    np.testing.assert_array_equal(same, w)
    assert same is not w
    np.testing.assert_array_equal(pitch_shift(w, 99.0), pitch_shift(w, SEMITONE_RANGE[1]))
    assert clamp_semitones(0.04) == 0.0 and clamp_semitones(1.26) == pytest.approx(1.3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "loud", None, True])
def test_bad_slider_values(bad):
    with pytest.raises(ValueError):
        apply_gain(tone(), bad)
    with pytest.raises(ValueError):
        pitch_shift(tone(), bad)


def test_bad_waves():
    with pytest.raises(ValueError, match="NaN"):
        apply_gain(np.array([0.1, np.nan, 0.2], np.float32), 3.0)
    with pytest.raises(ValueError, match="mono"):
        apply_gain(np.zeros((2, 100), np.float32), 3.0)
    with pytest.raises(ValueError, match="mono"):
        pitch_shift(np.array([], np.float32), 2.0)
    with pytest.raises(ValueError, match="too short"):
        pitch_shift(tone(seconds=0.02), 2.0)


def test_edit_sound_is_pitch_then_gain_and_checks_before_working(monkeypatch):
    w = tone(level=0.3)
    np.testing.assert_array_equal(edit_sound(w, gain_db=9.0, semitones=-3.0),
                                  apply_gain(pitch_shift(w, -3.0), 9.0))  # 9 dB limits: order shows
    assert not np.array_equal(edit_sound(w, gain_db=9.0, semitones=-3.0),
                              pitch_shift(apply_gain(w, 9.0), -3.0))
    def no_work(*args):
        raise AssertionError("a bad slider value must be refused before the pitch shift runs")

    monkeypatch.setattr(edits, "_shift", no_work)
    with pytest.raises(ValueError, match="gain_db"):
        edit_sound(w, gain_db=float("nan"), semitones=2.0)


def test_world_range_stops_where_the_world_ends():
    from bgtai.data.events import LOUDNESS_RANGE, PITCH_RANGES
    from bgtai.readers import read_loudness

    wave = tone(800.0, level=0.05)  # a whistle's pitch, inside the world's loudness range
    level, (lo, hi) = read_loudness(wave), LOUDNESS_RANGE
    assert lo < level < hi
    limits = edits.world_range(wave, "whistle")
    assert limits.gain_db == pytest.approx((lo - level, hi - level), abs=1e-6)
    p_lo, p_hi = PITCH_RANGES["whistle"]
    assert limits.semitones == pytest.approx((12 * np.log2(p_lo / 800), 12 * np.log2(p_hi / 800)),
                                             abs=0.1)
    # inside: unchanged (validated and rounded as the sliders are); beyond: the range's end
    assert limits.clamp(1.0, 2.04) == (1.0, 2.0)
    assert limits.clamp(30.0, -24.0) == (limits.gain_db[1], limits.semitones[0])
    # an unpitched class has one hue: no frequency range; 0 is always inside
    assert edits.world_range(wave, "clap").semitones == (0.0, 0.0)
    loud = edits.world_range(tone(800.0, level=0.9), "whistle")  # louder than any world sound
    assert loud.gain_db[1] == 0.0 and loud.gain_db[0] < 0
    with pytest.raises(ValueError, match="unknown world class"):
        edits.world_range(wave, "dog")


def test_pipeline_draws_the_sound_inside_the_world_range(monkeypatch):
    from types import SimpleNamespace

    from bgtai.generate.pipeline import SoundToImage

    wave = tone(800.0, level=0.05)
    heard = SimpleNamespace(cls="whistle")
    listener = SimpleNamespace(hear=lambda waves: [heard] * len(waves))
    pipe = SoundToImage(backend=None, listener=listener)
    limits = edits.world_range(wave, "whistle")
    inside = pipe.edit(wave, gain_db=1.0, semitones=1.0)
    assert np.array_equal(inside.drawn, inside.wave) and inside.heard is heard
    beyond = pipe.edit(wave, gain_db=30.0, semitones=24.0)  # the sound follows, the picture stops
    assert np.array_equal(beyond.wave, edit_sound(wave, gain_db=30.0, semitones=24.0))
    assert np.array_equal(beyond.drawn, edit_sound(wave, gain_db=limits.gain_db[1],
                                                   semitones=round(limits.semitones[1], 1)))
    heard.cls = "clap"  # unpitched: the picture ignores the frequency slider
    clap = pipe.edit(wave, gain_db=0.0, semitones=12.0)
    assert np.array_equal(clap.drawn, wave) and not np.array_equal(clap.wave, wave)
    plain = SoundToImage(backend=None).edit(wave, gain_db=30.0)  # no listener: the whole slider
    assert plain.heard is None and np.array_equal(plain.drawn, plain.wave)
