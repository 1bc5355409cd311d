"""English speech recognition with pretrained models that run offline: Moonshine base and tiny.

The models (encoder-decoders trained on real English speech by their authors, Moonshine AI, MIT
licence) ship *inside* official PyPI packages: tiny (27 M parameters) in ``moonshine-voice==0.1.0``
and base (61 M), the default (:data:`DEFAULT_MODEL`), in ``moonshine-cpp==0.1.4``
(:mod:`bgtai.gloss.asr_models` says where, and builds base's float32 copy). Both run in
``moonshine-voice``'s own C++ runtime (``libmoonshine``, which bundles ONNX Runtime and a
voice-activity detector). Later releases of ``moonshine-voice`` dropped the bundled model and
download it at run time, which cannot work here: the versions are pinned.

:class:`SpeechRecognizer` is the project's door to them. Audio enters through
:func:`bgtai.audio.load_audio` (any rate, any channel count, resampled to 16 kHz, validated) with
a longer limit than the core's, :data:`MAX_SPEECH_SECONDS`. The runtime's voice-activity
detector decides whether there is speech; audio up to :data:`WHOLE_UTTERANCE_SECONDS` with speech
in it is then read whole as one utterance, and longer audio is cut by the detector into
utterances, each transcribed on its own. What it does not hear as speech (music, steady tones,
most noise) comes back as an empty :class:`Transcript`; callers that need words raise
:func:`no_speech_error`.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, load_audio
from .asr_models import MODELS, has_model, model_folder

DEFAULT_MODEL = "base"
"""The Moonshine model the app uses (a key of :data:`bgtai.gloss.asr_models.MODELS`): base, chosen
on the real-speech dev set (WER 0.153 vs tiny's 0.228; docs/gloss.md)."""

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

WHOLE_UTTERANCE_SECONDS = 20.0
"""Audio up to this long is transcribed as one utterance, the voice-activity detector off, once
the detector has found speech in it: the detector's cut trims word onsets and ends and splits
sentences at their pauses (real-speech dev set, chosen on it: BLEU-4 65.88 -> 68.52, WER 0.255 ->
0.228). Longer audio keeps the detector's utterances: on dev clips joined into longer recordings,
one utterance was better up to 20 s (WER 0.052 vs 0.085), mixed at 25-30 s and far worse at 40 s
(0.32 vs 0.08). The detector still decides *whether* there is speech, so silence, noise and music
come back empty as before (docs/gloss.md)."""

RUNTIME_OPTIONS = {
    "identify_speakers": "false",  # costs time; the transcript does not use it
    "return_audio_data": "false",  # the runtime would copy every utterance's audio back
    "vad_threshold": "0.4",  # below the runtime's 0.5: fewer words lost (docs/gloss.md)
}
"""Options of ``libmoonshine``'s transcriber (``parse_transcriber_options`` in its C API)."""

INSTALL_HINT = "install it with `pip install -r requirements.txt` (bash scripts/install.sh does)"


@dataclass
class Transcript:
    """What the recogniser heard.

    Attributes
    ----------
    text : str
        The utterances joined by spaces, as the model writes them (cased, punctuated); empty
        when no speech was recognised.
    segments : list[tuple[float, float, str]]
        ``(start s, end s, text)`` of each utterance the voice-activity detector found; for
        audio transcribed whole (:data:`WHOLE_UTTERANCE_SECONDS`), one, from the detector's
        first start to its last end.
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
    """A Moonshine model in ``moonshine-voice``'s runtime, loaded once; thread-safe
    :meth:`transcribe`.

    Parameters
    ----------
    model : str
        ``"base"`` (:data:`DEFAULT_MODEL`) or ``"tiny"`` (:data:`bgtai.gloss.asr_models.MODELS`).
    model_dir : str or Path, optional
        A folder with the model's files (``encoder_model.ort``, ``decoder_model_merged.ort``,
        ``tokenizer.bin``); by default :func:`bgtai.gloss.asr_models.model_folder` ``(model)``.
    options : dict of str to str, optional
        Runtime options that replace those of :data:`RUNTIME_OPTIONS` (e.g.
        ``{"vad_threshold": "0.5"}``).
    edge_silence : float
        Seconds of silence put before and after the audio (:data:`EDGE_SILENCE_SECONDS`).
    whole_seconds : float
        Audio up to this long with speech in it is transcribed as one utterance
        (:data:`WHOLE_UTTERANCE_SECONDS`); 0 keeps the voice-activity detector's utterances.

    Raises
    ------
    ValueError
        For an unknown ``model``, a package that is not installed, a float32 copy that cannot be
        built (:func:`bgtai.gloss.asr_models.model_folder`) or a model that cannot be loaded.
    """

    def __init__(self, model: str = DEFAULT_MODEL, model_dir: str | Path | None = None,
                 options: dict | None = None, edge_silence: float = EDGE_SILENCE_SECONDS,
                 whole_seconds: float = WHOLE_UTTERANCE_SECONDS):
        if not 0.0 <= edge_silence <= 5.0:
            raise ValueError(f"edge_silence must be 0-5 seconds, got {edge_silence!r}")
        if not 0.0 <= whole_seconds <= MAX_SPEECH_SECONDS:
            raise ValueError(f"whole_seconds must be 0-{MAX_SPEECH_SECONDS:g} seconds, "
                             f"got {whole_seconds!r}")
        self.edge_silence = float(edge_silence)
        self.whole_seconds = float(whole_seconds)
        try:
            from moonshine_voice import ModelArch, Transcriber
        except ImportError as exc:
            raise ValueError(f"the speech recogniser needs the moonshine-voice package "
                             f"({exc}); {INSTALL_HINT}") from None
        if model not in MODELS:
            raise ValueError(f"unknown Moonshine model {model!r}; choose one of {sorted(MODELS)}")
        folder = Path(model_dir) if model_dir is not None else model_folder(model)
        if not has_model(folder):
            raise ValueError(f"no Moonshine model in {folder}; {INSTALL_HINT}")
        options = {**RUNTIME_OPTIONS, **(options or {})}
        self._options = {  # the runtime options of each role
            "detector": options,  # the detector's utterances, each read: audio over whole_seconds
            # speech or not: the detector alone, the model not run (docs/gloss.md)
            "gate": {**options, "skip_transcription": "true"},
            "whole": {**options, "vad_threshold": "0"},  # every sample speech: one utterance
        }
        self._new_runtime = functools.partial(Transcriber, str(folder),
                                              getattr(ModelArch, MODELS[model].arch))
        self._runtimes = {}
        self.model = model
        self.model_dir = folder
        self._lock = threading.Lock()  # native transcribers: the app's workers take turns
        # loaded now, so that a broken model fails here; the detector's own reading on first use
        for role in ("gate", "whole") if self.whole_seconds > 0 else ("detector",):
            self._runtime(role)

    def _runtime(self, role: str):
        """The native transcriber of ``role`` (a key of ``_options``), loaded on first use."""
        if role not in self._runtimes:
            try:
                self._runtimes[role] = self._new_runtime(options=self._options[role])
            except Exception as exc:  # the runtime reports load failures with its own error type
                raise ValueError(f"the Moonshine model in {self.model_dir} could not be loaded "
                                 f"({exc})") from None
        return self._runtimes[role]

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
        padded = np.concatenate([edge, wave, edge]).tolist()
        seconds = len(wave) / SAMPLE_RATE

        def in_audio(t: float) -> float:  # a time in the padded audio -> in the audio as given
            return float(min(max(t - self.edge_silence, 0.0), seconds))

        def utterances(transcriber, words: bool = True) -> list[tuple[float, float, str]]:
            """The runtime's utterances; with ``words``, only those with some (not "?", "♪♪")."""
            result = transcriber.transcribe_without_streaming(padded, SAMPLE_RATE)
            return [(in_audio(line.start_time), in_audio(line.start_time + line.duration),
                     line.text.strip()) for line in result.lines
                    if line.duration >= MIN_SEGMENT_SECONDS
                    and (not words or any(c.isalnum() for c in line.text))]

        with self._lock:
            if seconds > self.whole_seconds:
                segments = utterances(self._runtime("detector"))
            else:
                found = utterances(self._runtime("gate"), words=False)
                whole = (" ".join(text for _, _, text in utterances(self._runtime("whole")))
                         if found else "")
                # one utterance, from the detector's first start to its last end
                segments = [(found[0][0], found[-1][1], whole)] if whole else []
        return Transcript(" ".join(text for _, _, text in segments), segments, seconds)


_DEFAULT: list[SpeechRecognizer] = []
_DEFAULT_LOCK = threading.Lock()


def default_recognizer() -> SpeechRecognizer:
    """The :data:`DEFAULT_MODEL` recogniser, loaded on first use and shared by the process (one
    load even when the app's workers ask at the same time)."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(SpeechRecognizer())
        return _DEFAULT[0]
