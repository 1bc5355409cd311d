"""Spoken descriptions: espeak-ng rendering, voice splits and augmentation.

The speech side of Langue2Gloss needs utterances, and no speech corpus can be downloaded here,
so sentences are spoken by the formant synthesiser espeak-ng (``apt-get install espeak-ng``) in
several English accents and voice variants, at varied rate and pitch, and then corrupted with
reverberation, noise and gain so that the models do not learn one clean synthetic channel.

Voices
------
A voice is an espeak-ng accent plus an optional variant (``"en-gb-x-rp+f3"``). Test voices are
held out on both axes: their accents (New York City, West Midlands) and their variants
(``m7``, ``f5``) never occur in :data:`TRAIN_VOICES`, so a test score measures generalisation to
an unheard speaker, not to an unheard sentence only. The ``"val"`` split uses the training
voices: it tracks fitting on held-out sentences, the test split adds held-out speakers.

Augmentation (:func:`augment`)
------------------------------
Applied in the order a recording chain would: room reverberation (half of the draws), additive
noise at a random SNR, then a microphone gain. The room is a synthetic impulse response, a
unit direct path followed by white noise under an exponential envelope that falls by 60 dB in
``rt60_s``; its tail is scaled to a random direct-to-reverberant ratio. Noise is white, pink or
brown (spectral slope 0, -3 or -6 dB/octave). The gain is capped so the peak stays below full
scale: clipping is a different corruption from level change, and
:func:`bgtai.audio.validate_waveform` handles clipped input separately.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import soundfile as sf
import torch
import torchaudio
from tqdm.auto import tqdm

from bgtai.audio import SAMPLE_RATE, peak_dbfs, resample, validate_waveform

TRAIN_ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-029")
TRAIN_VARIANTS = ("", "m3", "f2", "f4")
TEST_ACCENTS = ("en-us-nyc", "en-gb-x-gbcwmd")
TEST_VARIANTS = ("m7", "f5")


def _voices(accents: tuple[str, ...], variants: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a + (f"+{v}" if v else "") for a in accents for v in variants)


TRAIN_VOICES: tuple[str, ...] = _voices(TRAIN_ACCENTS, TRAIN_VARIANTS)
"""Voices for the train and val splits: 6 accents x 4 variants (default male, m3, f2, f4)."""

TEST_VOICES: tuple[str, ...] = _voices(TEST_ACCENTS, TEST_VARIANTS)
"""Held-out voices for the test split: 2 unseen accents x 2 unseen variants (m7, f5)."""

SPLITS = ("train", "val", "test")

RATE_RANGE = (80, 450)
"""Speaking rates espeak-ng accepts, words per minute."""

PITCH_RANGE = (0, 99)
"""espeak-ng's pitch adjustment range (50 is the voice's default)."""

SPOKEN_RATE_RANGE = (130, 210)
SPOKEN_PITCH_RANGE = (25, 75)
"""Rate and pitch ranges that :func:`sample_spoken` draws from: natural-sounding speech."""

MAX_TEXT_CHARS = 4000
"""Longest text :func:`render_speech` accepts (about 600 words, beyond any gloss input)."""

_VOICE_PATTERN = re.compile(r"^([a-z]{2,3}(?:-[a-z0-9]+)*)(?:\+([A-Za-z0-9_-]+))?$")
_TIMEOUT_S = 60


@dataclass(frozen=True)
class AugmentParams:
    """One draw of :func:`augment`'s random settings.

    Attributes
    ----------
    rt60_s : float or None
        Reverberation time of the synthetic room, ``None`` for no reverberation.
    drr_db : float or None
        Direct-to-reverberant energy ratio of the impulse response.
    snr_db : float
        Signal-to-noise ratio of the added noise (powers over the whole signal).
    noise_slope : int
        Noise colour as the exponent of ``1/f``: 0 white, 1 pink, 2 brown.
    gain_db : float
        Requested gain; the applied one may be lower to keep the peak below full scale.
    """

    rt60_s: float | None
    drr_db: float | None
    snr_db: float
    noise_slope: int
    gain_db: float


def espeak_path() -> str:
    """Path of the ``espeak-ng`` executable.

    Raises
    ------
    RuntimeError
        If espeak-ng is not installed, with the command that installs it.
    """
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError("espeak-ng is not installed; spoken descriptions need it: "
                           "apt-get install espeak-ng (or brew install espeak-ng)")
    return path


@functools.lru_cache(maxsize=1)
def _installed_voices() -> tuple[frozenset[str], frozenset[str]]:
    """(voice file names, variant names) of the installed espeak-ng, lowercase."""
    def listing(*args: str) -> list[list[str]]:
        out = subprocess.run([espeak_path(), *args], capture_output=True, text=True, check=True,
                             timeout=_TIMEOUT_S).stdout
        return [line.split() for line in out.splitlines()[1:] if line.strip()]

    # Columns: Pty Language Age/Gender VoiceName File [Other Languages].
    def files(rows: list[list[str]]) -> frozenset[str]:
        return frozenset(row[4].rsplit("/", 1)[-1].lower() for row in rows)

    return files(listing("--voices")), files(listing("--voices=variant"))


def _check_voice(voice: str) -> None:
    match = _VOICE_PATTERN.match(voice) if isinstance(voice, str) else None
    if match is None:
        raise ValueError(f"voice must look like 'en-us' or 'en-us+f3', got {voice!r}")
    # espeak-ng silently falls back to its default voice for an unknown name, and ignores the
    # variant when the name is a language code rather than a voice file ("en-gb+f2" sounds
    # exactly like "en-gb"); either would quietly collapse the voice split, so only voice file
    # names (the File column of `espeak-ng --voices`, e.g. "en", "en-us") are accepted.
    files, variants = _installed_voices()
    language, variant = match.groups()
    if language.lower() not in files:
        raise ValueError(f"espeak-ng has no voice file {language!r}; use a name from the File "
                         "column of `espeak-ng --voices` (e.g. 'en', 'en-us', 'en-gb-x-rp')")
    if variant is not None and variant.lower() not in variants:
        raise ValueError(f"espeak-ng has no voice variant {variant!r}; "
                         "see `espeak-ng --voices=variant`")


def _check_int(name: str, value, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{name} must be within {bounds[0]}-{bounds[1]}, got {value}")
    return int(value)


def render_speech(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50) -> np.ndarray:
    """Speak ``text`` with espeak-ng.

    Parameters
    ----------
    text : str
        What to say. It is passed on standard input, never through a shell or the argument
        list, so no text can be read as an option.
    voice : str
        An installed espeak-ng voice, optionally with a variant: ``"en-gb-x-rp+f3"``.
    rate : int
        Speaking rate in words per minute, within :data:`RATE_RANGE`.
    pitch : int
        Pitch adjustment within :data:`PITCH_RANGE`; 50 is the voice's own.

    Returns
    -------
    np.ndarray
        Mono float32 waveform at :data:`bgtai.audio.SAMPLE_RATE`.

    Raises
    ------
    ValueError
        For empty or too long text, or an unknown voice or out-of-range rate or pitch.
    RuntimeError
        If espeak-ng is missing or fails.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text to speak must be a non-empty string")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text to speak is {len(text)} characters long; "
                         f"the limit is {MAX_TEXT_CHARS}")
    rate = _check_int("rate", rate, RATE_RANGE)
    pitch = _check_int("pitch", pitch, PITCH_RANGE)
    _check_voice(voice)
    # -b 1: the input is UTF-8; --stdin: read the whole text at once (not line by line).
    command = [espeak_path(), "-v", voice, "-s", str(rate), "-p", str(pitch), "-b", "1",
               "--stdin", "--stdout"]
    result = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                            timeout=_TIMEOUT_S, check=False)  # the exit status is checked below
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"espeak-ng failed (exit {result.returncode}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    # The WAV header written to a pipe holds a placeholder length; libsndfile reads to the end.
    wave, sr = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return resample(wave, sr, SAMPLE_RATE)


def sample_augmentation(rng: np.random.Generator) -> AugmentParams:
    """Draw augmentation settings (see the module notes for the ranges' meaning)."""
    reverb = rng.random() < 0.5
    return AugmentParams(
        rt60_s=float(rng.uniform(0.15, 0.8)) if reverb else None,
        drr_db=float(rng.uniform(0.0, 15.0)) if reverb else None,
        snr_db=float(rng.uniform(5.0, 40.0)),
        noise_slope=int(rng.integers(3)),
        gain_db=float(rng.uniform(-18.0, 6.0)),
    )


def room_impulse_response(rt60_s: float, drr_db: float, rng: np.random.Generator,
                          sr: int = SAMPLE_RATE) -> np.ndarray:
    """A synthetic room: a unit direct path then an exponentially decaying noise tail.

    The tail's amplitude envelope is ``exp(-6.91 t / rt60_s)`` (60 dB of energy decay over
    ``rt60_s``) and its energy is ``10 ** (-drr_db / 10)`` relative to the direct path.
    """
    if not 0.0 < rt60_s <= 5.0:
        raise ValueError(f"rt60_s must be within (0, 5] s, got {rt60_s}")
    t = np.arange(1, int(rt60_s * sr)) / sr
    tail = rng.standard_normal(t.size) * np.exp(-6.91 * t / rt60_s)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / max(float(np.sum(tail ** 2)), 1e-12))
    return np.concatenate([[1.0], tail]).astype(np.float32)


def colored_noise(n: int, slope: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise with power spectrum ``1 / f ** slope`` (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0  # keep DC finite; it is removed below
    spectrum /= f ** (slope / 2.0)
    noise = np.fft.irfft(spectrum, n)
    noise -= noise.mean()
    return (noise / max(float(np.sqrt(np.mean(noise ** 2))), 1e-12)).astype(np.float32)


def apply_augmentation(wave: np.ndarray, params: AugmentParams,
                       rng: np.random.Generator) -> np.ndarray:
    """Apply ``params`` to a mono waveform at :data:`SAMPLE_RATE`; same length, float32.

    ``rng`` draws the impulse response and noise samples only, so the same ``params`` with the
    same seed give the same output.
    """
    wave = validate_waveform(wave, SAMPLE_RATE, max_seconds=float("inf"), allow_silent=True)
    length = wave.shape[0]
    power = float(np.mean(np.square(wave, dtype=np.float64)))
    if params.rt60_s is not None:
        ir = room_impulse_response(params.rt60_s, params.drr_db, rng)
        wave = torchaudio.functional.fftconvolve(torch.from_numpy(wave), torch.from_numpy(ir))
        wave = wave[:length].numpy()
        # Keep the level of the dry signal: reverberation should not act as a gain.
        wave *= np.sqrt(power / max(float(np.mean(np.square(wave, dtype=np.float64))), 1e-20))
    noise_power = max(power, 1e-10) / 10.0 ** (params.snr_db / 10.0)
    wave = wave + np.sqrt(noise_power) * colored_noise(length, params.noise_slope, rng)
    gain_db = min(params.gain_db, -peak_dbfs(wave) - 0.1)  # peak at most -0.1 dBFS
    return (wave * 10.0 ** (gain_db / 20.0)).astype(np.float32)


def augment(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly reverberate, add noise to and change the gain of a waveform.

    Parameters
    ----------
    wave : np.ndarray
        Mono waveform at :data:`SAMPLE_RATE`.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    np.ndarray
        float32, the same shape as ``wave``, finite, peak below full scale.

    Raises
    ------
    ValueError
        If ``wave`` fails :func:`bgtai.audio.validate_waveform` (empty, shorter than 50 ms, NaN).
    """
    return apply_augmentation(wave, sample_augmentation(rng), rng)


def voices_for(split: str) -> tuple[str, ...]:
    """The voices of a split: :data:`TRAIN_VOICES` for train and val, :data:`TEST_VOICES` for
    test."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return TEST_VOICES if split == "test" else TRAIN_VOICES


def sample_spoken(text: str, rng: np.random.Generator, split: str = "train", *,
                  augmented: bool = True) -> tuple[np.ndarray, dict]:
    """Speak ``text`` in a random voice of ``split`` at a random rate and pitch.

    Parameters
    ----------
    text : str
        What to say.
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives the same waveform.
    split : {"train", "val", "test"}
        Picks the voice pool (see :func:`voices_for`).
    augmented : bool
        Apply :func:`augment` settings (drawn with ``rng``) after rendering.

    Returns
    -------
    wave : np.ndarray
        Mono float32 at :data:`SAMPLE_RATE`.
    meta : dict
        ``voice``, ``rate``, ``pitch``, ``split`` and, when augmented, the
        :class:`AugmentParams` fields (``None`` values when not).
    """
    voices = voices_for(split)
    voice = voices[int(rng.integers(len(voices)))]
    rate = int(rng.integers(SPOKEN_RATE_RANGE[0], SPOKEN_RATE_RANGE[1] + 1))
    pitch = int(rng.integers(SPOKEN_PITCH_RANGE[0], SPOKEN_PITCH_RANGE[1] + 1))
    wave = render_speech(text, voice, rate, pitch)
    meta = {"voice": voice, "rate": rate, "pitch": pitch, "split": split}
    if augmented:
        params = sample_augmentation(rng)
        wave = apply_augmentation(wave, params, rng)
        meta.update(asdict(params))
    else:
        meta.update(dict.fromkeys(AugmentParams.__dataclass_fields__))
    return wave, meta


def _speak_one(job: tuple[str, int, int, str, bool]) -> np.ndarray:
    text, seed, index, split, augmented = job
    return sample_spoken(text, np.random.default_rng([seed, index]), split, augmented=augmented)[0]


def speak_many(texts: Sequence[str], *, split: str = "train", seed: int = 0,
               augmented: bool = True, workers: int = 0, progress: bool = False) -> list[np.ndarray]:
    """Speak many texts with :func:`sample_spoken`, optionally in parallel processes.

    Text ``i`` always gets the random stream ``(seed, i)``, so the result does not depend on
    ``workers``. ``progress`` shows a tqdm bar.
    """
    jobs = [(text, int(seed), i, split, augmented) for i, text in enumerate(texts)]
    if workers > 1:
        # spawn, not fork: a process that already ran torch/numba thread pools can deadlock
        # its forked children
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = pool.imap(_speak_one, jobs, chunksize=16)
            return list(tqdm(results, total=len(jobs), desc=f"speaking ({split})", disable=not progress))
    return [_speak_one(job) for job in tqdm(jobs, desc=f"speaking ({split})", disable=not progress)]
