"""English speech recognition with a pretrained model that runs offline: Moonshine tiny.

The model (``tiny-en``: a 27 M-parameter encoder-decoder trained on real English speech by
its authors) ships *inside* the PyPI package ``moonshine-voice==0.1.0`` (MIT licence, published
by Moonshine AI), as ONNX Runtime files run by the package's own C++ runtime (``libmoonshine``,
which bundles ONNX Runtime and a voice-activity detector). Later releases of the package dropped
the bundled model and download it at run time, which cannot work here: the version is pinned.

:class:`SpeechRecognizer` is the project's door to it. Audio enters through
:func:`bgtai.audio.load_audio` (any rate, any channel count, resampled to 16 kHz, validated) with
a longer limit than the core's, :data:`MAX_SPEECH_SECONDS`; the runtime's voice-activity
detector cuts long audio into utterances, each transcribed on its own. What it does not hear as
speech (music, steady tones, most noise) comes back as an empty :class:`Transcript`; callers
that need words raise :func:`no_speech_error`.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, load_audio

MODEL_NAME = "tiny-en"
"""The model folder inside ``moonshine_voice/assets``."""

MAX_SPEECH_SECONDS = 60.0
"""Longest speech accepted by the recogniser, in seconds (the core's other inputs stop at 30)."""

MIN_SEGMENT_SECONDS = 0.2
"""Utterances the voice-activity detector cuts shorter than this are dropped: on real recordings
such slivers (a breath or a click before the speech) come back as a hallucinated "You" or "I"."""

EDGE_SILENCE_SECONDS = 0.5
"""Silence put before and after the audio for the recogniser: on recordings whose speech starts
or ends at the first or last sample its voice-activity detector lost words (real-speech dev set,
chosen on it: WER 0.281 -> 0.255 with 0.5 s; 0.75 s and 1 s about as good, 0.25 s worse than
none; docs/experiments.md). Segment times stay those of the audio as given."""

RUNTIME_OPTIONS = {
    "identify_speakers": "false",  # costs time; the transcript does not use it
    "return_audio_data": "false",  # the runtime would copy every utterance's audio back
    "vad_threshold": "0.4",  # below the runtime's 0.5: fewer words lost (docs/gloss.md)
}
"""Options of ``libmoonshine``'s transcriber (``parse_transcriber_options`` in its C API)."""

INSTALL_HINT = "install it with `pip install moonshine-voice==0.1.0` (bash scripts/install.sh does)"


@dataclass
class Transcript:
    """What the recogniser heard.

    Attributes
    ----------
    text : str
        The utterances joined by spaces, as the model writes them (cased, punctuated); empty
        when no speech was recognised.
    segments : list[tuple[float, float, str]]
        ``(start s, end s, text)`` of each utterance the voice-activity detector found.
    seconds : float
        Duration of the audio that was transcribed.
    """

    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


def no_speech_error(transcript: Transcript) -> ValueError:
    """The error to raise when a :class:`Transcript` holds no words."""
    return ValueError(f"no English speech was recognised in the {transcript.seconds:.1f} s of "
                      "audio (silence, noise or music?): speak closer to the microphone or "
                      "upload a recording of English speech")


class SpeechRecognizer:
    """Moonshine tiny from ``moonshine-voice``, loaded once; thread-safe :meth:`transcribe`.

    Parameters
    ----------
    model_dir : str or Path, optional
        A folder with Moonshine tiny's files (``encoder_model.ort``,
        ``decoder_model_merged.ort``, ``tokenizer.bin``); by default the one inside the
        installed package.
    options : dict of str to str, optional
        Runtime options that replace those of :data:`RUNTIME_OPTIONS` (e.g.
        ``{"vad_threshold": "0.5"}``).
    edge_silence : float
        Seconds of silence put before and after the audio (:data:`EDGE_SILENCE_SECONDS`).

    Raises
    ------
    ValueError
        When the package is not installed or the model cannot be loaded.
    """

    def __init__(self, model_dir: str | Path | None = None, options: dict | None = None,
                 edge_silence: float = EDGE_SILENCE_SECONDS):
        if not 0.0 <= edge_silence <= 5.0:
            raise ValueError(f"edge_silence must be 0-5 seconds, got {edge_silence!r}")
        self.edge_silence = float(edge_silence)
        try:
            from moonshine_voice import ModelArch, Transcriber, get_model_path
        except ImportError as exc:
            raise ValueError(f"the speech recogniser needs the moonshine-voice package "
                             f"({exc}); {INSTALL_HINT}") from None
        folder = Path(model_dir) if model_dir is not None else Path(get_model_path(MODEL_NAME))
        if not (folder / "encoder_model.ort").is_file():
            raise ValueError(f"no Moonshine model in {folder}; {INSTALL_HINT}")
        try:
            self._transcriber = Transcriber(str(folder), ModelArch.TINY,
                                            options={**RUNTIME_OPTIONS, **(options or {})})
        except Exception as exc:  # the runtime reports load failures with its own error type
            raise ValueError(f"the Moonshine model in {folder} could not be loaded "
                             f"({exc})") from None
        self.model_dir = folder
        self._lock = threading.Lock()  # one native transcriber: the app's workers take turns

    def transcribe(self, audio, sr: int | None = None) -> Transcript:
        """Transcribe English speech.

        Parameters
        ----------
        audio
            Anything :func:`bgtai.audio.load_audio` accepts (path, bytes, ``(sr, array)``
            tuple, array with ``sr``); a bare array without ``sr`` is taken to be at 16 kHz.
        sr : int, optional
            Sample rate of an array.

        Returns
        -------
        Transcript
            Empty (``is_empty``) when nothing was recognised as speech.

        Raises
        ------
        ValueError
            For audio :func:`~bgtai.audio.load_audio` refuses (empty, silent, NaN, corrupt,
            longer than :data:`MAX_SPEECH_SECONDS`...).
        """
        if isinstance(audio, np.ndarray) and sr is None:
            sr = SAMPLE_RATE
        wave = load_audio(audio, sr, max_seconds=MAX_SPEECH_SECONDS)
        edge = np.zeros(round(self.edge_silence * SAMPLE_RATE), np.float32)
        with self._lock:
            result = self._transcriber.transcribe_without_streaming(
                np.concatenate([edge, wave, edge]).tolist(), SAMPLE_RATE)
        seconds = len(wave) / SAMPLE_RATE

        def in_audio(t: float) -> float:  # a time in the padded audio -> in the audio as given
            return float(min(max(t - self.edge_silence, 0.0), seconds))

        segments = [(in_audio(line.start_time), in_audio(line.start_time + line.duration),
                     line.text.strip()) for line in result.lines
                    if line.duration >= MIN_SEGMENT_SECONDS
                    and any(c.isalnum() for c in line.text)]  # not "?" or "♪♪"
        return Transcript(" ".join(text for _, _, text in segments), segments, seconds)


@functools.cache
def default_recognizer() -> SpeechRecognizer:
    """The package's Moonshine tiny, loaded on first use and shared by the process."""
    return SpeechRecognizer()
