"""Audio input/output, validation and loudness-keeping features.

Everything inside BGTAI works on **mono float32 waveforms at** :data:`SAMPLE_RATE` (16 kHz).
:func:`load_audio` is the single door through which user audio enters: it accepts a path,
raw bytes, a ``(sample_rate, array)`` tuple as Gradio produces it, or an array with its rate,
and returns a validated waveform or raises :class:`ValueError` with a message a person can act on.

The feature front-end (:func:`log_mel`, :class:`LogMel`) deliberately keeps absolute level:
it is a log-mel power spectrogram on a fixed scale with no per-clip standardisation, so that
turning the volume up or down changes what the models see (the paper's volume slider would do
nothing otherwise).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import torch
import torchaudio
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000
"""The one sample rate used inside the core (Hz)."""

MAX_SECONDS = 30.0
"""Default longest input accepted, in seconds."""

MIN_SECONDS = 0.05
"""Shortest input accepted, in seconds (a few pitch periods of a low voice)."""

SILENCE_PEAK = 1e-4
"""Peak amplitude below which a signal counts as silent (-80 dBFS)."""

MAX_CHANNELS = 32
"""More channels than this is taken as a mis-shaped array rather than real audio."""

# libsndfile's answer when a file's name (.mp3) picks a decoder that then fails on its contents
_MISREPORTED = "does not exist or is not a regular file"

AudioSource = Union[str, Path, bytes, tuple, np.ndarray, torch.Tensor]


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Average the channels of ``wave`` into one.

    Parameters
    ----------
    wave : np.ndarray
        ``(samples,)``, ``(samples, channels)`` (soundfile's and Gradio's layout) or
        ``(channels, samples)`` (torchaudio's layout). The channel axis is taken to be the
        shorter one when it holds at most :data:`MAX_CHANNELS` entries.

    Returns
    -------
    np.ndarray
        ``(samples,)`` float32.
    """
    wave = np.asarray(wave)
    if wave.ndim == 1:
        return wave.astype(np.float32, copy=False)
    if wave.ndim != 2:
        raise ValueError(f"audio must be 1-D or 2-D (samples x channels), got shape {wave.shape}")
    channel_axis = int(np.argmin(wave.shape))
    if wave.shape[channel_axis] > MAX_CHANNELS:
        raise ValueError(
            f"audio array of shape {wave.shape} does not look like samples x channels "
            f"(more than {MAX_CHANNELS} channels)"
        )
    return wave.mean(axis=channel_axis, dtype=np.float64).astype(np.float32)


def _to_float(wave: np.ndarray) -> np.ndarray:
    """Integer PCM to float in [-1, 1]; floats pass through as float32."""
    if wave.dtype.kind == "f":
        return wave.astype(np.float32, copy=False)
    if wave.dtype.kind == "i":
        return (wave.astype(np.float64) / float(2 ** (8 * wave.dtype.itemsize - 1))).astype(np.float32)
    if wave.dtype.kind == "u":
        half = float(2 ** (8 * wave.dtype.itemsize - 1))
        return ((wave.astype(np.float64) - half) / half).astype(np.float32)
    if wave.dtype.kind == "b":
        raise ValueError("audio samples must be numbers, got booleans")
    raise ValueError(f"audio samples must be numbers, got dtype {wave.dtype}")


def resample(wave: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono float waveform with a polyphase anti-aliasing FIR filter.

    ``scipy.signal.resample_poly`` rather than torchaudio's sinc resampler: same quality class,
    but 22.05 -> 16 kHz takes ~2 ms instead of ~70 ms here, which matters for on-the-fly speech.
    """
    if sr_from == sr_to:
        return np.asarray(wave, dtype=np.float32)
    g = math.gcd(int(sr_from), int(sr_to))
    out = resample_poly(np.asarray(wave, dtype=np.float32), int(sr_to) // g, int(sr_from) // g)
    return out.astype(np.float32, copy=False)


def _check_rate(sr) -> int:
    if sr is None:
        raise ValueError("the sample rate is missing: pass sr= with a raw array")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float)) or not math.isfinite(sr):
        raise ValueError(f"sample rate must be a positive number, got {sr!r}")
    if not 1000 <= sr <= 384_000:
        raise ValueError(f"sample rate {sr} Hz is outside the supported 1 kHz - 384 kHz")
    return int(sr)


def validate_waveform(
    wave,
    sr: int,
    *,
    max_seconds: float = MAX_SECONDS,
    allow_silent: bool = False,
) -> np.ndarray:
    """Check and normalise a waveform to mono float32 at :data:`SAMPLE_RATE`.

    Samples beyond full scale (clipped or hot recordings) are clamped to [-1, 1]; this is the
    documented normalisation for clipped input, not an error.

    Raises
    ------
    ValueError
        For an empty, too short (< :data:`MIN_SECONDS`), too long, silent (peak below
        -80 dBFS, unless ``allow_silent``), non-finite (NaN/inf) or non-numeric signal, or a bad
        sample rate or shape.
    """
    sr = _check_rate(sr)
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    wave = np.asarray(wave)
    if wave.size == 0:
        raise ValueError("the audio is empty: record or upload a sound first")
    wave = to_mono(_to_float(wave))
    seconds = wave.shape[0] / sr
    if seconds < MIN_SECONDS:
        raise ValueError(f"the audio is too short ({seconds * 1000:.0f} ms); give at least "
                         f"{MIN_SECONDS * 1000:.0f} ms")
    if seconds > max_seconds:
        raise ValueError(f"the audio is too long ({seconds:.1f} s); the limit is {max_seconds:.0f} s, "
                         "trim it first")
    if not np.isfinite(wave).all():
        raise ValueError("the audio contains NaN or infinite samples")
    wave = np.clip(wave, -1.0, 1.0)
    if not allow_silent and float(np.abs(wave).max()) < SILENCE_PEAK:
        raise ValueError("the audio is silent (peak below -80 dBFS): check the microphone or the file")
    return resample(wave, sr, SAMPLE_RATE)


def load_audio(source: AudioSource, sr: int | None = None, *, max_seconds: float = MAX_SECONDS,
               allow_silent: bool = False) -> np.ndarray:
    """Load audio from any supported source as a validated mono float32 waveform at 16 kHz.

    Parameters
    ----------
    source
        A file path (any format libsndfile reads: WAV, FLAC, OGG, MP3...), raw file bytes,
        a ``(sample_rate, array)`` tuple (Gradio's numpy audio), or an array / tensor with ``sr``.
    sr
        Sample rate of an array source; ignored for files and tuples, which carry their own.
    max_seconds
        Longest accepted duration. Files are checked from their header before decoding, so a huge
        file is refused without being read.
    allow_silent
        Accept an all-silent signal instead of raising.

    Raises
    ------
    ValueError
        If the source cannot be read as audio or fails :func:`validate_waveform`.
    """
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("an audio tuple must be (sample_rate, samples)")
        sr, source = source
        if isinstance(sr, np.ndarray) and not isinstance(source, np.ndarray):
            source, sr = sr, source  # (array, sr) order, as some callers write it
        return validate_waveform(source, sr, max_seconds=max_seconds, allow_silent=allow_silent)
    if isinstance(source, (np.ndarray, torch.Tensor, list)):
        return validate_waveform(np.asarray(source) if isinstance(source, list) else source, sr,
                                 max_seconds=max_seconds, allow_silent=allow_silent)
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise ValueError("the audio file is empty")
        handle = io.BytesIO(source)
        label = "the uploaded data"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"no audio file at {path}")
        if path.stat().st_size == 0:
            raise ValueError(f"the audio file {path.name} is empty")
        handle, label = path, path.name
    else:
        raise ValueError(f"cannot read audio from a {type(source).__name__}")
    try:
        info = sf.info(handle)
        if info.samplerate > 0 and info.frames / info.samplerate > max_seconds:
            raise ValueError(f"the audio is too long ({info.frames / info.samplerate:.1f} s); the limit "
                             f"is {max_seconds:.0f} s, trim it first")
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        data, file_sr = sf.read(handle, dtype="float32", always_2d=True)
    except ValueError:
        raise
    except Exception as exc:  # libsndfile raises its own error types for corrupt or non-audio data
        reason = str(exc).rsplit(": ", 1)[-1].rstrip(".")  # drop "Error opening <object>:"
        if _MISREPORTED in reason:  # the file was checked to exist above: its contents are bad
            reason = "its contents are not in a known audio format"
        raise ValueError(f"could not decode {label} as audio ({reason}); use WAV, FLAC, OGG or MP3") from None
    return validate_waveform(data, file_sr, max_seconds=max_seconds, allow_silent=allow_silent)


def write_audio(path: str | Path, wave: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write a mono waveform as 16-bit PCM WAV (values are clamped to [-1, 1])."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0), int(sr), subtype="PCM_16")
    return path


def rms_dbfs(wave: np.ndarray) -> float:
    """RMS level in dBFS, ``20 log10(rms)``: a full-scale sine reads -3.01, silence ``-inf``."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(wave, dtype=np.float64)))))
    return 20.0 * math.log10(rms) if rms > 0 else float("-inf")


def peak_dbfs(wave: np.ndarray) -> float:
    """Peak level in dBFS, ``20 log10(max |x|)``; silence is ``-inf``."""
    peak = float(np.max(np.abs(wave))) if np.size(wave) else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")


LOG_FLOOR = 1e-10
"""Mel power floor: -100 dB, below any 16-bit signal, so silence maps to a constant."""


class LogMel(torch.nn.Module):
    """Loudness-keeping log-mel front-end: ``log10(max(mel power, 1e-10))``.

    No per-clip or per-channel normalisation: a +6 dB gain shifts every bin by +0.6, which is
    exactly what lets the models (and the app's volume slider) see loudness.

    Input ``(B, samples)`` or ``(samples,)`` at :data:`SAMPLE_RATE`; output
    ``(B, frames, n_mels)`` or ``(frames, n_mels)``, float32.
    """

    def __init__(self, n_mels: int = 64, hop_ms: float = 10.0, win_ms: float = 25.0):
        super().__init__()
        win = int(round(SAMPLE_RATE * win_ms / 1000))
        self.hop_length = int(round(SAMPLE_RATE * hop_ms / 1000))
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=1 << (win - 1).bit_length(), win_length=win,
            hop_length=self.hop_length, n_mels=n_mels, f_min=20.0, f_max=SAMPLE_RATE / 2,
            power=2.0, center=True,
        )
        # The window and filterbank follow from the arguments: keep them out of checkpoints
        # (and give each its own storage, which safetensors requires).
        for module in self.mel.modules():
            for name, buf in list(module.named_buffers(recurse=False)):
                module.register_buffer(name, buf.clone(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = self.mel(wave.float())  # (..., n_mels, frames)
        return torch.log10(spec.clamp_min(LOG_FLOOR)).transpose(-1, -2)


_LOG_MELS: dict[tuple, LogMel] = {}


def log_mel(wave: np.ndarray, *, n_mels: int = 64, hop_ms: float = 10.0,
            win_ms: float = 25.0) -> np.ndarray:
    """:class:`LogMel` on one mono waveform: ``(frames, n_mels)`` float32 numpy array."""
    key = (n_mels, hop_ms, win_ms)
    if key not in _LOG_MELS:
        _LOG_MELS[key] = LogMel(n_mels, hop_ms, win_ms)
    with torch.no_grad():
        return _LOG_MELS[key](torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))).numpy()
