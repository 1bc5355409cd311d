"""The two sliders of the paper's Fig. 3 as waveform edits: volume (gain) and frequency (pitch).

Both act on the *sound*, before it is embedded: the picture changes because the sound did.

Clamping (documented behaviour, not an error): slider values beyond :data:`GAIN_RANGE_DB` or
:data:`SEMITONE_RANGE` are clamped to the range, because a UI slider or a script can overshoot and
a louder-than-loud request has an obvious nearest meaning. A gain that would push samples beyond
full scale stops at full scale instead: the whole sound is scaled so that its peak is 1 (a
brick-wall peak normaliser, no clipping), so the sound gets no louder but keeps its waveform;
clipping would add harmonics, which the model hears as a higher pitch and another timbre.
Non-finite slider values raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import CLASSES, LOUDNESS_RANGE, PITCH_RANGES, PITCHED
from bgtai.readers.audio import read_loudness, read_pitch

GAIN_RANGE_DB = (-30.0, 30.0)
"""Accepted gain; wider than the world's 22 dB loudness span, so the slider can saturate it."""

SEMITONE_RANGE = (-24.0, 24.0)
"""Accepted pitch shift: two octaves either way (beyond that the phase vocoder smears badly)."""

SEMITONE_RESOLUTION = 10
"""Steps per semitone (0.1-semitone resolution: finer shifts are inaudible)."""

_RATE_QUANTUM_HZ = 50

_N_FFT, _HOP = 1024, 256
"""Phase-vocoder frame: 64 ms resolves the 90 Hz hum's partials; 16 ms hop keeps clicks sharp."""

_FLOOR_QUANTILE = 0.25
"""Per frequency bin, the quantile of the power over frames that measures the noise floor."""

_FLOOR_SMOOTHING_HZ = 1000.0
"""Width of the running median across frequency that keeps steady partials out of the floor."""


def _slider(value, name: str, bounds: tuple[float, float]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")  # noqa: TRY004 (UI errors)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return min(max(value, bounds[0]), bounds[1])


def _wave(wave) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"expected a non-empty mono waveform (1-D), got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise ValueError("the waveform contains NaN or infinite samples")
    return wave


def clamp_gain(gain_db) -> float:
    """``gain_db`` validated and clamped to :data:`GAIN_RANGE_DB`."""
    return _slider(gain_db, "gain_db", GAIN_RANGE_DB)


def clamp_semitones(semitones) -> float:
    """``semitones`` validated, clamped to :data:`SEMITONE_RANGE` and rounded to 0.1."""
    value = _slider(semitones, "semitones", SEMITONE_RANGE)
    return round(value * SEMITONE_RESOLUTION) / SEMITONE_RESOLUTION


def apply_gain(wave, gain_db) -> np.ndarray:
    """Scale a waveform by ``gain_db`` decibels.

    Parameters
    ----------
    wave : array-like, shape (samples,)
        Mono waveform in [-1, 1].
    gain_db : float
        Gain; clamped to :data:`GAIN_RANGE_DB`.

    Returns
    -------
    np.ndarray
        float32, same length, peak at most 1 (a gain beyond full scale stops there, see above).
    """
    return _gain(_wave(wave), clamp_gain(gain_db))


def _gain(wave: np.ndarray, gain_db: float) -> np.ndarray:
    out = wave * np.float32(10.0 ** (gain_db / 20.0))
    peak = float(np.abs(out).max(initial=0.0))
    return out / np.float32(peak) if peak > 1.0 else out


def pitch_shift(wave, semitones, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Shift the pitch of a waveform by ``semitones`` keeping its duration.

    The recipe of ``torchaudio.functional.pitch_shift`` built from torchaudio's pieces: a phase
    vocoder (``torchaudio.functional.phase_vocoder``) stretches the sound by the pitch ratio, and
    ``torchaudio.functional.resample`` plays it back at the original duration. Two changes: the
    resampling rate is rounded to a multiple of :data:`_RATE_QUANTUM_HZ`, which keeps the
    polyphase filter short (an arbitrary ratio such as 2^(5/12) reduces to a huge fraction and
    took seconds); the pitch error this adds is below 0.06 semitone within an octave either
    way and 0.11 semitone at two octaves down (at 16 kHz). And a downward shift gets back the
    noise floor of the top band it empties (:func:`_refill_top_band`).

    Parameters
    ----------
    wave : array-like, shape (samples,)
        Mono waveform.
    semitones : float
        Shift; clamped to :data:`SEMITONE_RANGE`, rounded to 0.1. 0 returns an unchanged copy.
    sr : int
        Sample rate of ``wave``.

    Returns
    -------
    np.ndarray
        float32, the same number of samples, clipped to [-1, 1].
    """
    return _shift(_wave(wave), clamp_semitones(semitones), sr)


def edit_sound(wave, *, gain_db=0.0, semitones=0.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Both sliders, as the app and :class:`~bgtai.generate.pipeline.SoundToImage` apply them:
    :func:`pitch_shift` first (it resamples), then :func:`apply_gain`; the waveform and each
    slider value are checked (and clamped) once, before any work."""
    wave, gain_db, semitones = _wave(wave), clamp_gain(gain_db), clamp_semitones(semitones)
    return _gain(_shift(wave, semitones, sr), gain_db)


def _shift(wave: np.ndarray, semitones: float, sr: int) -> np.ndarray:
    """:func:`pitch_shift` of a checked waveform by clamped ``semitones``."""
    if semitones == 0.0:
        return wave.copy()
    if wave.size < _N_FFT:
        raise ValueError(f"the sound is too short to pitch-shift ({wave.size} samples, "
                         f"need at least {_N_FFT})")
    sr = int(sr)
    stretched_sr = max(_RATE_QUANTUM_HZ, round(sr * 2.0 ** (semitones / 12.0) / _RATE_QUANTUM_HZ)
                       * _RATE_QUANTUM_HZ)
    rate = sr / stretched_sr  # < 1 lengthens the sound for an upward shift
    with torch.no_grad():
        spec = _stft(wave)
        advance = torch.linspace(0, math.pi * _HOP, spec.shape[-2])[..., None]
        stretched = _istft(AF.phase_vocoder(spec, rate, advance), round(wave.size / rate))
        out = AF.resample(stretched, stretched_sr, sr)
    out = out.numpy()[: wave.size]
    out = np.pad(out, (0, wave.size - out.size))
    if stretched_sr < sr:
        out = _refill_top_band(out, spec, cutoff_hz=stretched_sr / 2, sr=sr)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _refill_top_band(shifted: np.ndarray, original: torch.Tensor, cutoff_hz: float,
                     sr: int) -> np.ndarray:
    """Give a downward-shifted sound back the noise floor its top band had.

    ``original`` is the unshifted sound's STFT (:func:`_stft`), which the shift computed already.

    Shifting down by a ratio r moves everything below ``sr / 2`` to below ``r * sr / 2``, so the
    band above is left empty, as no recording is: the joint audio encoder, which never heard such
    a hole, then misreads the pitch (docs/generation.md: 60 % of the world's own sounds
    low-passed this way get the right hue, against 100 % unfiltered). The band is refilled with
    noise at the original's noise floor there, like a codec's comfort noise: a clean tone gains
    nothing, a recording keeps its hiss. The floor is, per bin, a low quantile of the power over
    frames (the gaps between sounds; scaled so that for noise, whose power per bin and frame is
    exponentially distributed, it is the mean), then a running median across frequency, so that
    a partial sounding through the whole recording is not put back as a ghost at its old pitch.
    Deterministic (fixed noise seed), so the same edit gives the same sound.
    """
    with torch.no_grad():
        after = _stft(shifted)
        band = torch.fft.rfftfreq(_N_FFT, 1.0 / sr) > cutoff_hz
        power = original[band].abs() ** 2  # (bins, frames)
        quiet = torch.quantile(power, _FLOOR_QUANTILE, dim=1) / -math.log(1.0 - _FLOOR_QUANTILE)
        half = int(_FLOOR_SMOOTHING_HZ * _N_FFT / sr) // 2
        padded = torch.nn.functional.pad(quiet[None, None], (half, half), mode="replicate")[0, 0]
        floor = padded.unfold(0, 2 * half + 1, 1).median(dim=1).values.sqrt()[:, None]
        # White noise's STFT, shaped per bin: stays a consistent STFT, so the inverse keeps its power.
        white = torch.randn(shifted.size, generator=torch.Generator().manual_seed(0)).numpy()
        after[band] += _stft(white)[band] * floor / torch.hann_window(_N_FFT).pow(2).sum().sqrt()
        return _istft(after, shifted.size).numpy()


def _stft(wave: np.ndarray) -> torch.Tensor:
    return torch.stft(torch.tensor(wave, dtype=torch.float32), _N_FFT, _HOP,
                      window=torch.hann_window(_N_FFT), return_complex=True)


def _istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    return torch.istft(spec, _N_FFT, _HOP, window=torch.hann_window(_N_FFT), length=length)


@dataclass(frozen=True)
class WorldRange:
    """The part of each slider's range that keeps a sound inside the world (:func:`world_range`).

    Each interval contains 0 (the sound as it is): the picture follows a slider inside it and
    stays at its end beyond, as the world has no louder, quieter, higher or lower sound of the
    class to draw. The edited sound itself follows the whole slider.
    """

    gain_db: tuple[float, float]
    semitones: tuple[float, float]

    def clamp(self, gain_db, semitones) -> tuple[float, float]:
        """Slider values (validated as by :func:`edit_sound`) brought inside the range."""
        gain, shift = clamp_gain(gain_db), clamp_semitones(semitones)
        return (min(max(gain, self.gain_db[0]), self.gain_db[1]),
                min(max(shift, self.semitones[0]), self.semitones[1]))


def world_range(wave, cls: str) -> WorldRange:
    """How far the sliders can move ``wave``, a sound of world class ``cls``, before its loudness
    leaves :data:`~bgtai.data.events.LOUDNESS_RANGE` or its pitch the class's
    :data:`~bgtai.data.events.PITCH_RANGES` (measured by :mod:`bgtai.readers`).

    An unpitched class has one fixed hue in the world, so its frequency range is ``(0, 0)``; a
    pitch that cannot be measured leaves the frequency slider its whole range.
    """
    wave = _wave(wave)
    if cls not in CLASSES:
        raise ValueError(f"unknown world class {cls!r}")
    lo, hi = LOUDNESS_RANGE
    level = read_loudness(wave)
    gain = _around_zero(lo - level, hi - level, GAIN_RANGE_DB) if math.isfinite(level) else GAIN_RANGE_DB
    if cls not in PITCHED:
        return WorldRange(gain, (0.0, 0.0))
    pitch = read_pitch(wave)
    if not (math.isfinite(pitch) and pitch > 0):
        return WorldRange(gain, SEMITONE_RANGE)
    p_lo, p_hi = PITCH_RANGES[cls]
    return WorldRange(gain, _around_zero(12 * math.log2(p_lo / pitch), 12 * math.log2(p_hi / pitch),
                                         SEMITONE_RANGE))


def _around_zero(lo: float, hi: float, bounds: tuple[float, float]) -> tuple[float, float]:
    """``[lo, hi]`` widened to contain 0 and cut to the slider's ``bounds``."""
    return max(min(lo, 0.0), bounds[0]), min(max(hi, 0.0), bounds[1])
