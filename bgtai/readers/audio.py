"""Measure pitch, loudness and repetition count of a sound with signal processing.

* **loudness**: :func:`bgtai.data.sounds.active_level_dbfs`, the very definition the synthesizer
  uses (mean 20 ms sliding power where it is within 20 dB of its maximum).
* **repetitions**: runs of that active mask, after bridging dips shorter than 80 ms; the world
  puts at least 150 ms of silence between repetitions, and a single sound never dips 20 dB for
  that long.
* **pitch**: every 5 ms of the active part, the strongest spectral peak between 60 Hz and 7 kHz
  of a 64 ms Hann frame, refined by parabolic interpolation on a zero-padded (16384-point) FFT;
  if a peak near half that frequency is at least half as strong, the octave below is taken (a
  voice's 2nd harmonic can outweigh its fundamental). The result is the median over frames,
  which is the centre of a sweep that is symmetric in log-frequency.
* **pitch shift** between two versions of one sound: the lag that best lines up their mean
  log-power spectra on a log-frequency axis. It reads the whole spectrum, not a fundamental, so
  it holds for sounds whose pitch :func:`read_pitch` misreads by an octave or cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bgtai.audio import SAMPLE_RATE, validate_waveform
from bgtai.data.sounds import WINDOW_S, active_level_dbfs, active_mask

BRIDGE_S = 0.08
"""Dips in the active mask shorter than this are bridged when counting repetitions."""
PITCH_FMIN, PITCH_FMAX = 60.0, 7000.0
PITCH_HOP_S = 0.005
_PITCH_FRAME_S = 0.064
_PITCH_NFFT = 16384
_OCTAVE_RATIO = 0.5
"""A sub-octave peak at least this fraction of the main peak's magnitude wins."""


@dataclass(frozen=True)
class AudioReading:
    """What the audio readers measured from one sound."""

    pitch_hz: float | None
    loudness_dbfs: float
    repetitions: int


def _prepare(wave: np.ndarray, sr: int) -> np.ndarray:
    return validate_waveform(wave, sr).astype(np.float64)


def read_loudness(wave: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Loudness (dBFS) of the active part: :func:`~bgtai.data.sounds.active_level_dbfs`."""
    return active_level_dbfs(_prepare(wave, sr), sr)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of a boolean mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def read_repetitions(wave: np.ndarray, sr: int = SAMPLE_RATE) -> int:
    """Number of separate sounds: runs of active frames once short dips are bridged."""
    runs = _runs(active_mask(_prepare(wave, sr), sr))
    bridge = int(round(BRIDGE_S * sr))
    return len(runs) - sum(start - stop < bridge for (_, stop), (start, _) in zip(runs, runs[1:]))


def _frame_pitches(frames: np.ndarray, sr: int) -> np.ndarray:
    """Fundamental estimate (Hz) of each row of ``frames``."""
    freqs = np.fft.rfftfreq(_PITCH_NFFT, 1 / sr)
    lo, hi = np.searchsorted(freqs, [PITCH_FMIN, PITCH_FMAX])
    window = np.hanning(frames.shape[1])
    out = np.empty(len(frames))
    for i, frame in enumerate(frames):  # one FFT at a time: 16k-point spectra of long sounds
        m = np.abs(np.fft.rfft(frame * window, _PITCH_NFFT))
        k = lo + int(np.argmax(m[lo:hi]))
        half = int(round(k / 2))
        win = max(2, int(round(k * 0.02)))  # +-2 % around the sub-octave
        if freqs[half] >= PITCH_FMIN:
            k_sub = half - win + int(np.argmax(m[half - win : half + win + 1]))
            if m[k_sub] >= _OCTAVE_RATIO * m[k]:
                k = k_sub
        a, b, c = np.log(m[k - 1 : k + 2] + 1e-12)
        denom = a - 2 * b + c
        out[i] = (k + (0.5 * (a - c) / denom if denom < 0 else 0.0)) * sr / _PITCH_NFFT
    return out


def read_pitch(wave: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Pitch in Hz: median of the per-frame fundamental over the active part (every 5 ms)."""
    wave = _prepare(wave, sr)
    # Envelope value j averages samples j-w+1..j: its centre is j - w/2 in the signal.
    centres = np.flatnonzero(active_mask(wave, sr)) - int(round(WINDOW_S * sr / 2))
    hop, frame = int(round(PITCH_HOP_S * sr)), int(round(_PITCH_FRAME_S * sr))
    centres = centres[::hop]
    padded = np.concatenate([np.zeros(frame), wave, np.zeros(frame)])
    idx = (centres + frame - frame // 2)[:, None] + np.arange(frame)[None, :]
    return float(np.median(_frame_pitches(padded[idx], sr)))


SHIFT_STEP = 0.1
"""Resolution of :func:`read_pitch_shift` in semitones (the sliders' own step)."""
_SHIFT_NFFT, _SHIFT_HOP = 4096, 1024


def _log_frequency_spectrum(wave: np.ndarray, sr: int) -> np.ndarray:
    """Mean power spectrum in dB on a log-frequency grid of :data:`SHIFT_STEP` semitones,
    from :data:`PITCH_FMIN` to :data:`PITCH_FMAX`, standardised."""
    if len(wave) < _SHIFT_NFFT:
        wave = np.pad(wave, (0, _SHIFT_NFFT - len(wave)))
    frames = np.lib.stride_tricks.sliding_window_view(wave, _SHIFT_NFFT)[::_SHIFT_HOP]
    power = (np.abs(np.fft.rfft(frames * np.hanning(_SHIFT_NFFT), axis=1)) ** 2).mean(0)
    grid = PITCH_FMIN * 2 ** (np.arange(0, 12 * np.log2(PITCH_FMAX / PITCH_FMIN), SHIFT_STEP) / 12)
    freqs = np.fft.rfftfreq(_SHIFT_NFFT, 1 / sr)
    # a floor 80 dB under the peak, so that empty bands (a shifted sound's) do not dominate
    db = 10 * np.log10(np.interp(grid, freqs, power) + power.max() * 1e-8)
    return (db - db.mean()) / max(db.std(), 1e-9)


def read_pitch_shift(wave: np.ndarray, reference: np.ndarray, sr: int = SAMPLE_RATE, *,
                     max_semitones: float = 24.0) -> float:
    """Semitones by which ``wave`` sounds higher than ``reference`` (another version of the
    same sound), within +-``max_semitones``, to :data:`SHIFT_STEP`.

    The lag with the highest correlation between their log-frequency spectra, over the overlap
    of the two at that lag (at least two thirds of the grid at the largest lags). Like the other
    readers, it refuses a silent sound (``ValueError``).
    """
    if not 0 < max_semitones <= 24:
        raise ValueError(f"max_semitones must be in (0, 24], got {max_semitones}")
    a = _log_frequency_spectrum(_prepare(wave, sr), sr)
    b = _log_frequency_spectrum(_prepare(reference, sr), sr)
    max_lag = int(round(max_semitones / SHIFT_STEP))
    best, best_lag = -np.inf, 0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b[: len(b) - lag]) if lag >= 0 else (a[:lag], b[-lag:])
        r = float(np.corrcoef(x, y)[0, 1])
        # ties (a flat overlap) go to the smallest shift
        if r > best + 1e-9 or (abs(r - best) <= 1e-9 and abs(lag) < abs(best_lag)):
            best, best_lag = r, lag
    return best_lag * SHIFT_STEP


def read_audio(wave: np.ndarray, sr: int = SAMPLE_RATE, *, pitched: bool = True) -> AudioReading:
    """Measure pitch (when ``pitched``), loudness and repetition count of one sound event."""
    return AudioReading(
        read_pitch(wave, sr) if pitched else None,
        read_loudness(wave, sr),
        read_repetitions(wave, sr),
    )
