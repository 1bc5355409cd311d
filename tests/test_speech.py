"""Spoken descriptions: espeak-ng rendering, voice splits and augmentation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bgtai.audio import SAMPLE_RATE, rms_dbfs
from bgtai.data import speech
from bgtai.data.speech import (
    TEST_VOICES,
    TRAIN_VOICES,
    AugmentParams,
    apply_augmentation,
    augment,
    colored_noise,
    render_speech,
    room_impulse_response,
    sample_spoken,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")

SENTENCE = "three loud high whistles then a bell"  # 7 words


def _speech_like(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a syllable-rate envelope: a stand-in for speech without espeak-ng."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    noise = np.random.default_rng(seed).standard_normal(t.size) * 1e-3
    return (0.1 * tone * envelope + noise).astype(np.float32)


# --- voices ------------------------------------------------------------------------------------

def test_voice_splits_are_disjoint_on_accent_and_variant():
    assert len(TRAIN_VOICES) + len(TEST_VOICES) >= 6 and len(TEST_VOICES) >= 2
    assert not set(TRAIN_VOICES) & set(TEST_VOICES)

    def parts(voice):
        accent, _, variant = voice.partition("+")
        return accent, variant

    train_accents, train_variants = zip(*map(parts, TRAIN_VOICES))
    for accent, variant in map(parts, TEST_VOICES):
        assert accent not in train_accents and variant not in train_variants


@needs_espeak
@pytest.mark.parametrize("voice", TRAIN_VOICES + TEST_VOICES)
def test_every_voice_renders_plausible_speech(voice):
    wave = render_speech(SENTENCE, voice, rate=175, pitch=50)
    assert wave.dtype == np.float32 and wave.ndim == 1
    seconds = wave.size / SAMPLE_RATE
    assert 1.0 < seconds < 5.0  # 7 words at 175 words/min is about 2.4 s
    assert rms_dbfs(wave) > -35.0 and np.abs(wave).max() <= 1.0


@needs_espeak
def test_voices_sound_different():
    renders = {voice: render_speech("hello there", voice) for voice in TRAIN_VOICES + TEST_VOICES}
    assert len({w.tobytes() for w in renders.values()}) == len(renders)


@needs_espeak
def test_rate_changes_duration():
    slow = render_speech(SENTENCE, "en-us", rate=100)
    fast = render_speech(SENTENCE, "en-us", rate=300)
    assert slow.size > 1.8 * fast.size


@needs_espeak
def test_text_is_never_read_as_an_option():
    version = render_speech("--version", "en")  # spoken, not espeak-ng's version banner
    assert version.size > 0.3 * SAMPLE_RATE and rms_dbfs(version) > -35.0
    assert render_speech('say "hi"; rm -rf / && echo $HOME', "en").size > SAMPLE_RATE


@needs_espeak
@pytest.mark.parametrize("kwargs, message", [
    ({"text": "   "}, "non-empty"),
    ({"text": "x" * 5000}, "limit"),
    ({"voice": "en-gb+f2"}, "voice file"),  # espeak-ng would ignore the variant silently
    ({"voice": "xx-klingon"}, "voice file"),
    ({"voice": "en+nosuchvariant"}, "variant"),
    ({"voice": "en; ls"}, "voice must look like"),
    ({"rate": 20}, "rate"),
    ({"rate": True}, "rate"),
    ({"pitch": 120}, "pitch"),
])
def test_bad_rendering_input(kwargs, message):
    args = {"text": "hello", "voice": "en-us", "rate": 175, "pitch": 50} | kwargs
    with pytest.raises(ValueError, match=message):
        render_speech(**args)


def test_missing_espeak_gives_install_hint(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        speech.espeak_path()


@needs_espeak
def test_sample_spoken_uses_the_split_voices_and_is_deterministic():
    for split, pool in (("train", TRAIN_VOICES), ("val", TRAIN_VOICES), ("test", TEST_VOICES)):
        wave, meta = sample_spoken(SENTENCE, np.random.default_rng(1), split)
        assert meta["voice"] in pool and meta["split"] == split
        assert np.isfinite(wave).all() and wave.size > SAMPLE_RATE
    a, meta_a = sample_spoken(SENTENCE, np.random.default_rng(2), "test")
    b, meta_b = sample_spoken(SENTENCE, np.random.default_rng(2), "test")
    assert meta_a == meta_b and np.array_equal(a, b)
    _, clean = sample_spoken(SENTENCE, np.random.default_rng(2), "test", augmented=False)
    assert clean["snr_db"] is None
    with pytest.raises(ValueError, match="split"):
        sample_spoken(SENTENCE, np.random.default_rng(0), "dev")


# --- augmentation ------------------------------------------------------------------------------

def test_augment_keeps_shape_and_finite_values():
    wave = _speech_like()
    for seed in range(20):
        out = augment(wave, np.random.default_rng(seed))
        assert out.shape == wave.shape and out.dtype == np.float32
        assert np.isfinite(out).all() and np.abs(out).max() < 1.0
        assert not np.allclose(out, wave)
    same = [augment(wave, np.random.default_rng(5)) for _ in range(2)]
    assert np.array_equal(*same)


def test_noise_is_added_at_the_requested_snr():
    wave = _speech_like()
    for snr in (5.0, 20.0):
        params = AugmentParams(rt60_s=None, drr_db=None, snr_db=snr, noise_slope=1, gain_db=0.0)
        out = apply_augmentation(wave, params, np.random.default_rng(0))
        noise = out.astype(np.float64) - wave
        measured = 10 * np.log10(np.mean(wave.astype(np.float64) ** 2) / np.mean(noise ** 2))
        assert measured == pytest.approx(snr, abs=0.1)


def test_gain_is_applied_and_capped_below_full_scale():
    wave = _speech_like()
    quiet = AugmentParams(rt60_s=None, drr_db=None, snr_db=60.0, noise_slope=0, gain_db=-12.0)
    out = apply_augmentation(wave, quiet, np.random.default_rng(0))
    assert rms_dbfs(out) - rms_dbfs(wave) == pytest.approx(-12.0, abs=0.05)
    hot = AugmentParams(rt60_s=None, drr_db=None, snr_db=60.0, noise_slope=0, gain_db=40.0)
    assert np.abs(apply_augmentation(wave, hot, np.random.default_rng(0))).max() < 1.0


def test_reverberation_keeps_level_and_smears_time():
    wave = np.zeros(SAMPLE_RATE, np.float32)
    wave[1000:1200] = 0.5  # a short burst followed by silence
    params = AugmentParams(rt60_s=0.5, drr_db=0.0, snr_db=80.0, noise_slope=0, gain_db=0.0)
    out = apply_augmentation(wave, params, np.random.default_rng(0))
    assert rms_dbfs(out) == pytest.approx(rms_dbfs(wave), abs=0.1)
    assert np.abs(out[4000:6000]).max() > 1e-3  # 0.2 s after the burst the room still rings


def test_impulse_response_decay_and_direct_to_reverberant_ratio():
    rt60, drr = 0.4, 6.0
    ir = room_impulse_response(rt60, drr, np.random.default_rng(0)).astype(np.float64)
    assert ir[0] == 1.0
    assert 10 * np.log10(1.0 / np.sum(ir[1:] ** 2)) == pytest.approx(drr, abs=0.01)
    # Schroeder backward integration; the -5 to -25 dB slope extrapolated to -60 dB is RT60.
    energy = np.cumsum(ir[1:][::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    t = np.arange(decay_db.size) / SAMPLE_RATE
    fit = (decay_db < -5) & (decay_db > -25)
    slope = np.polyfit(t[fit], decay_db[fit], 1)[0]
    assert -60.0 / slope == pytest.approx(rt60, rel=0.1)
    with pytest.raises(ValueError, match="rt60_s"):
        room_impulse_response(0.0, 5.0, np.random.default_rng(0))


@pytest.mark.parametrize("slope", [0, 1, 2])
def test_noise_colour(slope):
    noise = colored_noise(2 ** 16, slope, np.random.default_rng(0))
    assert np.mean(noise.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-3)
    power = np.abs(np.fft.rfft(noise)) ** 2
    f = np.arange(power.size)
    band = (f > 100) & (f < 20_000)
    fitted = np.polyfit(np.log(f[band]), np.log(power[band]), 1)[0]
    assert fitted == pytest.approx(-slope, abs=0.1)
