"""Domain randomisation: make a clean world sound sound as if recorded in a real room.

The world is synthesised dry, noiseless and full-band; real recordings carry a room, a
microphone's colouration and band limits, background noise and sometimes clipping.
:func:`randomise` applies a random draw of those to one waveform, on torch tensors so a trainer
can run it on the fly:

* a synthetic room impulse response: a direct path plus exponentially decaying noise (RT60
  0.1-0.9 s), at a random direct-to-reverberant ratio (``torchaudio.functional.fftconvolve``);
* a microphone: random high-pass (40-400 Hz), low-pass (2.5-7.5 kHz) and a peaking band of
  +-9 dB (torchaudio's biquads);
* background noise: white, pink or brown at 5-40 dB signal-to-noise ratio;
* soft clipping (``tanh``) now and then.

The level is put back to the clean wave's RMS afterwards, so that loudness, which the volume
slider and the generator read from the embedding, still means what it did; a trainer that wants
random levels applies them itself (:func:`random_gain_db`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio.functional as AF

from bgtai.audio import SAMPLE_RATE


@dataclass(frozen=True)
class Randomisation:
    """Probabilities and ranges of :func:`randomise` (defaults as in the module docstring)."""

    p_room: float = 0.7
    rt60_s: tuple[float, float] = (0.1, 0.9)
    direct_to_reverb_db: tuple[float, float] = (-6.0, 15.0)
    p_mic: float = 0.8
    highpass_hz: tuple[float, float] = (40.0, 400.0)
    lowpass_hz: tuple[float, float] = (2500.0, 7500.0)
    peak_db: float = 9.0
    p_noise: float = 0.8
    snr_db: tuple[float, float] = (5.0, 40.0)
    p_clip: float = 0.15
    clip_drive: tuple[float, float] = (2.0, 8.0)

    def __post_init__(self):
        for name in ("p_room", "p_mic", "p_noise", "p_clip"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")


def _uniform(g: torch.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _log_uniform(g: torch.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(torch.exp(torch.log(torch.tensor(lo)) + torch.rand((), generator=g)
                           * (torch.log(torch.tensor(hi)) - torch.log(torch.tensor(lo)))))


def room_impulse_response(g: torch.Generator, rt60_s: float, direct_to_reverb_db: float,
                          sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """A synthetic RIR: a unit direct path, then Gaussian noise decaying 60 dB in ``rt60_s``,
    scaled so the direct path's energy exceeds the tail's by ``direct_to_reverb_db``."""
    n = max(2, int(rt60_s * sample_rate))
    t = torch.arange(n, dtype=torch.float32) / sample_rate
    tail = torch.randn(n, generator=g) * torch.exp(-6.9078 * t / rt60_s)  # ln(1000): -60 dB
    tail[0] = 0.0
    tail = tail * (10 ** (-direct_to_reverb_db / 20) / tail.norm().clamp_min(1e-8))
    tail[0] = 1.0
    return tail


def coloured_noise(g: torch.Generator, n: int, exponent: float) -> torch.Tensor:
    """Unit-RMS noise with power spectrum ~ ``1 / f**exponent`` (0 white, 1 pink, 2 brown)."""
    spectrum = torch.fft.rfft(torch.randn(n, generator=g))
    f = torch.arange(spectrum.shape[0], dtype=torch.float32).clamp_min(1.0)
    noise = torch.fft.irfft(spectrum / f ** (exponent / 2), n=n)
    return noise / noise.pow(2).mean().sqrt().clamp_min(1e-12)


def random_gain_db(g: torch.Generator, lo_hi: tuple[float, float]) -> float:
    """A uniform gain in dB from ``lo_hi``."""
    return _uniform(g, lo_hi)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean().sqrt()


def randomise(wave: torch.Tensor, g: torch.Generator, spec: Randomisation = Randomisation(),
              sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """One random room, microphone, noise and clipping draw applied to a 1-D ``wave``.

    Returns a wave of the same length with the same RMS level (see the module docstring).
    """
    if wave.ndim != 1 or wave.numel() == 0:
        raise ValueError(f"wave must be 1-D and not empty, got shape {tuple(wave.shape)}")
    x = wave.float()
    level = _rms(x)
    if float(torch.rand((), generator=g)) < spec.p_room:
        rir = room_impulse_response(g, _uniform(g, spec.rt60_s),
                                    _uniform(g, spec.direct_to_reverb_db), sample_rate)
        x = AF.fftconvolve(x, rir)[: x.numel()]
    if float(torch.rand((), generator=g)) < spec.p_mic:
        x = AF.highpass_biquad(x, sample_rate, _log_uniform(g, spec.highpass_hz))
        x = AF.lowpass_biquad(x, sample_rate, _log_uniform(g, spec.lowpass_hz))
        x = AF.equalizer_biquad(x, sample_rate, _log_uniform(g, (200.0, 5000.0)),
                                _uniform(g, (-spec.peak_db, spec.peak_db)), Q=1.0)
    if float(torch.rand((), generator=g)) < spec.p_noise:
        noise = coloured_noise(g, x.numel(), float(torch.randint(0, 3, (), generator=g)))
        x = x + noise * _rms(x) * 10 ** (-_uniform(g, spec.snr_db) / 20)
    x = x * (level / _rms(x).clamp_min(1e-12))
    if float(torch.rand((), generator=g)) < spec.p_clip:
        peak = x.abs().max().clamp_min(1e-8)
        drive = _uniform(g, spec.clip_drive)
        x = torch.tanh(drive * x / peak) * peak / drive
        x = x * (level / _rms(x).clamp_min(1e-12))
    return x.clamp(-1.0, 1.0)
