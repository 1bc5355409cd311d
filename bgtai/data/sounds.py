"""Synthesizer for the world's sound events (16 kHz mono float32).

Each class has its own timbre; every rendering draws fresh timbre details (harmonic amplitudes,
vibrato, attack, noise colour, small per-repetition gain changes) and a fresh background noise,
so no two renderings of the same :class:`~bgtai.data.events.Event` are identical.

========  ===================================================================================
class     timbre
========  ===================================================================================
whistle   near-sine at the pitch with slow vibrato, a weak 2nd harmonic and breath noise
hum       voiced harmonic tone (fundamental strongest, 1/k^a roll-off) with gentle vibrato
clap      band-passed noise burst, sharp attack, ~20 ms decay
snap      very short bright burst: high-passed noise plus a damped 2-3 kHz ring
click     tongue click: damped 1-2.5 kHz sinusoid of a few milliseconds
bell      inharmonic partials (1, 2.76, 5.40, 8.93 x pitch) with exponential decay
siren     soft square-ish tone whose log-frequency sweeps +-22 % around the pitch (triangle)
drum      sine with a falling pitch (~150 -> 60 Hz) plus a noise hit, ~80 ms decay
buzz      sawtooth at the pitch with a 20-40 Hz wing flutter
chirp     bird-like sine glide from pitch/1.3 up to pitch*1.3
hiss      sustained high-passed noise ("sss")
========  ===================================================================================

Pitch of a sweeping class (siren, chirp) is the geometric centre of the sweep: the sweeps are
symmetric in log-frequency, so the median per-frame pitch equals ``pitch_hz``. In every pitched
class the fundamental is the strongest partial (our reading of "pitch" for the bell).

Loudness is defined by :func:`active_level_dbfs` and set exactly on the clean event before the
background noise (30-45 dB below the event level) is added.
"""

from __future__ import annotations

import math

import numpy as np

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import MIN_GAP_S, MIN_SOUND_S, Event

WINDOW_S = 0.02
"""Length of the moving power average behind the loudness definition (20 ms)."""
ACTIVE_RANGE_DB = 20.0
"""Where the 20 ms power is within this many dB of its maximum, a sound is *active*."""

_IMPULSIVE_S = {"clap": 0.12, "snap": 0.08, "click": 0.08, "drum": 0.3, "chirp": 0.25}
"""Longest single repetition of classes whose sound is short whatever the slot length."""


def power_envelope(wave: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Power averaged over a sliding 20 ms window, at every sample.

    The window slides one sample at a time over the zero-extended signal (``len(wave) + w - 1``
    values; value ``j`` averages samples ``j-w+1 .. j``), so the result does not depend on where
    a sound starts relative to any frame grid, which matters for 5 ms clicks.
    """
    wave = np.asarray(wave, dtype=np.float64)
    w = int(round(WINDOW_S * sr))
    csum = np.concatenate([[0.0], np.cumsum(np.concatenate([wave**2, np.zeros(w - 1)]))])
    idx = np.arange(1, len(wave) + w)
    return (csum[idx] - csum[np.maximum(idx - w, 0)]) / w


def active_mask(wave: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Boolean mask over :func:`power_envelope`: within 20 dB of its maximum."""
    power = power_envelope(wave, sr)
    peak = float(power.max()) if power.size else 0.0
    if peak <= 0:
        return np.zeros(len(power), dtype=bool)
    return power >= peak * 10 ** (-ACTIVE_RANGE_DB / 10)


def active_level_dbfs(wave: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Loudness of a sound event in dBFS: RMS over its active part.

    The 20 ms sliding power (:func:`power_envelope`) is averaged over the instants where it is
    within 20 dB of its maximum: ``10 log10(mean power there)``. Gaps between repetitions and
    the quiet background do not count, so a sound repeated five times is as loud as the same
    sound played once, and padding a sound with silence does not change its level.
    Silence is ``-inf``.
    """
    power = power_envelope(wave, sr)
    mask = active_mask(wave, sr)
    if not mask.any():
        return float("-inf")
    return 10.0 * math.log10(float(power[mask].mean()))


def colored_noise(n: int, rng: np.random.Generator, alpha: float = 0.0) -> np.ndarray:
    """Unit-RMS noise with a ``1/f^alpha`` power spectrum (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    noise = np.fft.irfft(spec / f ** (alpha / 2), n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def background_noise(n: int, level_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Background noise of random colour (alpha 0-2) at ``level_dbfs`` RMS."""
    return colored_noise(n, rng, float(rng.uniform(0.0, 2.0))) * 10 ** (level_dbfs / 20)


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int) -> np.ndarray:
    """Brick-wall FFT band-pass: fine for noise sources, where ringing is inaudible."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / sr)
    spec[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spec, len(x))


def _harmonics(phase: np.ndarray, amps: np.ndarray, f0_max: float, sr: int) -> np.ndarray:
    """Sum of harmonics of a phase track, dropping those that would alias."""
    out = np.zeros_like(phase)
    for k, a in enumerate(amps, start=1):
        if k * f0_max < 0.45 * sr:
            out += a * np.sin(k * phase)
    return out


def _phase(freq: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    return 2 * np.pi * np.cumsum(freq) / sr + rng.uniform(0, 2 * np.pi)


def _vibrato(n: int, sr: int, rng: np.random.Generator, depth: float) -> np.ndarray:
    t = np.arange(n) / sr
    return 1 + depth * np.sin(2 * np.pi * rng.uniform(4.0, 6.5) * t + rng.uniform(0, 2 * np.pi))


def _whistle(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Near-sine with vibrato, a weak 2nd harmonic and breath noise around the pitch."""
    freq = pitch * _vibrato(n, sr, rng, rng.uniform(0.003, 0.012))
    ph = _phase(freq, sr, rng)
    tone = np.sin(ph) + rng.uniform(0.02, 0.08) * np.sin(2 * ph)
    breath = _bandpass(rng.standard_normal(n), 0.7 * pitch, 1.4 * pitch, sr)
    return tone + rng.uniform(0.05, 0.15) * breath / (np.std(breath) + 1e-12)


def _hum(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Voiced harmonics, fundamental strongest, 1/k^a roll-off, gentle vibrato."""
    freq = pitch * _vibrato(n, sr, rng, rng.uniform(0.002, 0.008))
    amps = np.arange(1, 13, dtype=float) ** -rng.uniform(1.0, 1.8) * rng.uniform(0.7, 1.0, 12)
    amps[0] = 1.0
    return _harmonics(_phase(freq, sr, rng), amps, pitch * 1.01, sr)


def _buzz(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Sawtooth with a 20-40 Hz wing flutter."""
    t = np.arange(n) / sr
    flutter = 1 + rng.uniform(0.1, 0.25) * np.sin(2 * np.pi * rng.uniform(20, 40) * t)
    freq = pitch * (1 + 0.004 * np.sin(2 * np.pi * rng.uniform(5, 9) * t))
    amps = 1 / np.arange(1, 40) * rng.uniform(0.8, 1.0, 39)
    amps[0] = 1.0
    return flutter * _harmonics(_phase(freq, sr, rng), amps, pitch * 1.005, sr)


def _siren(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Soft square-ish tone sweeping +-22 % around the pitch."""
    t = np.arange(n) / sr
    # Triangle in log-frequency over a whole number of periods: symmetric, so the median
    # frame pitch is exactly the centre.
    periods = max(1, round(n / sr / rng.uniform(0.35, 0.7)))
    tri = 2 * np.abs(2 * ((t * periods * sr / n) % 1.0) - 1) - 1
    freq = pitch * 1.22**tri
    amps = np.array([1.0, 0.0, rng.uniform(0.1, 0.3), 0.0, rng.uniform(0.05, 0.15)])
    return _harmonics(_phase(freq, sr, rng), amps, pitch * 1.22, sr)


def _chirp(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Sine glide from pitch/1.3 to pitch*1.3."""
    freq = pitch * 1.3 ** np.linspace(-1, 1, n)
    ph = _phase(freq, sr, rng)
    return np.sin(ph) + rng.uniform(0.0, 0.1) * np.sin(2 * ph) * (2 * pitch * 1.3 < 0.45 * sr)


def _bell(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Inharmonic partials with exponential decay, higher partials faster."""
    t = np.arange(n) / sr
    ratios = np.array([1.0, 2.76, 5.40, 8.93])
    amps = np.array([1.0, *rng.uniform([0.3, 0.15, 0.05], [0.6, 0.35, 0.2])])
    tau = rng.uniform(0.25, 0.6) * min(1.0, n / sr)
    out = np.zeros(n)
    for r, a in zip(ratios, amps):
        if r * pitch < 0.45 * sr:
            detune = 1 + rng.uniform(-0.002, 0.002) * (r > 1)
            out += (
                a
                * np.exp(-t * r**0.5 / tau)
                * np.sin(2 * np.pi * r * pitch * detune * t + rng.uniform(0, 2 * np.pi))
            )
    return out


def _hiss(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """High-passed noise."""
    lo = rng.uniform(2500, 4000)
    return _bandpass(colored_noise(n, rng, rng.uniform(0, 0.5)), lo, rng.uniform(6500, 7800), sr)


def _clap(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Band-passed noise burst with a ~20 ms decay."""
    t = np.arange(n) / sr
    lo = rng.uniform(600, 1200)
    burst = _bandpass(rng.standard_normal(n), lo, lo * rng.uniform(2.5, 4.0), sr)
    return burst * np.exp(-t / rng.uniform(0.012, 0.025))


def _snap(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Very short bright burst plus a damped 2-3 kHz ring."""
    t = np.arange(n) / sr
    noise = _bandpass(rng.standard_normal(n), 2000, 7500, sr) * np.exp(
        -t / rng.uniform(0.004, 0.008)
    )
    ring = np.sin(2 * np.pi * rng.uniform(2000, 3000) * t) * np.exp(-t / rng.uniform(0.006, 0.012))
    return noise / (np.std(noise) + 1e-12) + rng.uniform(0.5, 1.5) * ring / (np.std(ring) + 1e-12)


def _click(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Damped 1-2.5 kHz sinusoid of a few milliseconds."""
    t = np.arange(n) / sr
    f = rng.uniform(1000, 2500)
    return np.sin(2 * np.pi * f * t) * np.exp(
        -t / rng.uniform(0.002, 0.005)
    ) + 0.05 * rng.standard_normal(n) * np.exp(-t / 0.002)


def _drum(n: int, pitch: float | None, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Falling-pitch sine body plus a noise hit."""
    t = np.arange(n) / sr
    f_hi, f_lo = rng.uniform(120, 180), rng.uniform(45, 70)
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.05))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / rng.uniform(0.06, 0.12))
    hit = _bandpass(rng.standard_normal(n), 200, 4000, sr) * np.exp(-t / 0.01)
    return body + rng.uniform(0.1, 0.3) * hit


_TIMBRES = {
    "whistle": _whistle,
    "hum": _hum,
    "buzz": _buzz,
    "siren": _siren,
    "chirp": _chirp,
    "bell": _bell,
    "hiss": _hiss,
    "clap": _clap,
    "snap": _snap,
    "click": _click,
    "drum": _drum,
}
"""One repetition of each class, ``n`` samples long, before the attack/release envelope."""


def _envelope(n: int, cls: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Attack/release ramps; impulsive classes get a near-instant attack."""
    attack = (
        rng.uniform(0.0005, 0.002)
        if cls in _IMPULSIVE_S or cls == "bell"
        else rng.uniform(0.005, 0.04)
    )
    n_att = min(n // 2, max(1, int(attack * sr)))
    n_rel = min(n // 2, max(1, int(0.015 * sr)))
    env = np.ones(n)
    env[:n_att] = np.linspace(0, 1, n_att)
    env[n - n_rel :] *= np.linspace(1, 0, n_rel)
    return env


def render_clean(event: Event, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Render an event without background noise, ``duration_s`` long, at its exact level.

    The span is cut into ``repetitions`` equal slots; each slot holds one sound at its start
    followed by at least :data:`~bgtai.data.events.MIN_GAP_S` of silence.
    """
    n_total = int(round(event.duration_s * sr))
    slot = n_total // event.repetitions
    max_sound = slot - int(math.ceil(MIN_GAP_S * sr))
    out = np.zeros(n_total)
    for k in range(event.repetitions):
        if event.cls in _IMPULSIVE_S:
            length = min(max_sound, int(_IMPULSIVE_S[event.cls] * sr * rng.uniform(0.8, 1.0)))
        else:
            length = int(max_sound * rng.uniform(0.75, 1.0))
        length = max(length, int(MIN_SOUND_S * sr * 0.9))
        gain = 10 ** (rng.uniform(-0.5, 0.5) / 20)
        sound = _TIMBRES[event.cls](length, event.pitch_hz, rng, sr) * _envelope(
            length, event.cls, rng, sr
        )
        out[k * slot : k * slot + length] = gain * sound / (np.max(np.abs(sound)) + 1e-12)
    out *= 10 ** ((event.loudness_dbfs - active_level_dbfs(out, sr)) / 20)
    return out.astype(np.float32)


def noise_level_dbfs(event: Event, rng: np.random.Generator) -> float:
    """Background level for an event: 30-45 dB below it, so its active part stays unambiguous."""
    return event.loudness_dbfs - float(rng.uniform(30.0, 45.0))


def render_event(
    event: Event, rng: np.random.Generator, *, sr: int = SAMPLE_RATE, pad_s: float = 0.0
) -> np.ndarray:
    """Render an event with background noise (``pad_s`` of noise before and after it).

    Parameters
    ----------
    event
        What to render; its ``onset_s`` is ignored (clips place events:
        :mod:`bgtai.data.clips`).
    rng
        ``numpy.random.Generator``; the same generator state gives the same waveform.
    sr
        Sample rate.
    pad_s
        Seconds of background before and after the event.

    Returns
    -------
    numpy.ndarray
        float32 mono waveform of ``duration_s + 2 * pad_s`` seconds.
    """
    if pad_s < 0:
        raise ValueError(f"pad_s must be >= 0, got {pad_s}")
    clean = render_clean(event, rng, sr)
    pad = int(round(pad_s * sr))
    out = np.zeros(len(clean) + 2 * pad, dtype=np.float32)
    out[pad : pad + len(clean)] = clean
    out += background_noise(len(out), noise_level_dbfs(event, rng), rng).astype(np.float32)
    return out
