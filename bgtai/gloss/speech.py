"""Spoken English -> gloss, by either of Langue2Gloss's two speech paths.

- ``"cascade"`` (the default): a pretrained recogniser (:mod:`bgtai.gloss.asr`, Moonshine base)
  writes down what was said, then a text path glosses the transcript.
- ``"shared"``: the Langue2Gloss model's own speech side, whose pre-net feeds the encoder shared
  with text (the paper's SpeechLM role); it gives cross-attention and DS-Net's alignment over
  speech frames.

The cascade is the default because it measures far better on recorded human speech (the small
speech pre-net was trained on espeak-ng voices only; see ``docs/results.md``). Its text path is
the rule-based converter by default, for the same reason: on the real ASLG-PC12 dev pairs the
rules score 88.6 BLEU-4 and the bundled neural text model, as the app shows its gloss, 86.9
(``docs/results.md``); ``text_path="model"`` selects the neural model.

Between the two, :func:`clean_transcript` takes out what the recogniser writes that was not
said: commas around one- or two-word fragments (its pauses), ellipses, and acronyms spelled
letter by letter ("L. V."), which the rules would gloss as separate words and full stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .asr import SpeechRecognizer, Transcript, default_recognizer, no_speech_error
from .rules import english_to_gloss_tokens
from .translator import GlossResult, GlossTranslator

SPEECH_PATHS = ("cascade", "shared")
TEXT_PATHS = ("rules", "model")
DEFAULT_SPEECH_PATH = "cascade"
DEFAULT_TEXT_PATH = "rules"

MIN_CLAUSE_WORDS = 3
"""A recogniser's comma stays only between clauses of at least this many words each."""

_SPELLED = re.compile(r"\b(?:[A-Z]\.\s?){2,}")  # "L. V. " or "U.S."
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\u2026)\s*")
_BOUNDARY = re.compile(r"[.!?;:,]")


def clean_transcript(text: str) -> str:
    """A recogniser's transcript with the punctuation it invents taken out.

    Moonshine writes pauses as commas ("Production, cancelled.") and ellipses, and spells
    acronyms letter by letter ("Enemy L. V. detected."); glossed as they are, each becomes a
    gloss token that was not said. This joins spelled letters ("LV"), drops ellipses, drops
    every comma that has fewer than :data:`MIN_CLAUSE_WORDS` words on either side (up to the
    next punctuation mark) and turns a comma, colon or semicolon that ends the text into a full
    stop. Commas between real clauses stay ("Had he married a more amiable woman, he might
    ..."). On the real-speech dev set this lifts the cascade from 55.0 to 64.4 BLEU-4
    (``docs/gloss.md``).
    """
    text = _SPELLED.sub(lambda m: m.group(0).replace(".", "").replace(" ", "") + " ", text)
    text = _ELLIPSIS.sub(" ", text).strip()
    if text and text[-1] in ",;:":
        text = text[:-1] + "."
    parts = text.split(",")
    out = parts[0]
    for part in parts[1:]:
        left = _BOUNDARY.split(out)[-1].split()
        right = _BOUNDARY.split(part)[0].split()
        keep = min(len(left), len(right)) >= MIN_CLAUSE_WORDS
        out += ("," if keep else "") + part
    return " ".join(out.split())


@dataclass
class SpeechGloss:
    """The gloss of one utterance and how it was made.

    Attributes
    ----------
    tokens : list[str]
        Gloss words.
    path : str
        ``"cascade"`` or ``"shared"``.
    transcript : Transcript or None
        What the recogniser heard (cascade only), as it wrote it.
    heard : str
        The transcript that was glossed: :func:`clean_transcript` of ``transcript.text``
        (cascade only; empty for the shared path).
    result : GlossResult or None
        The neural model's decoding, with per-word probabilities, attention and DS-Net alignment,
        when the model made the gloss (shared path, or cascade with ``text_path="model"``).
    """

    tokens: list[str]
    path: str
    transcript: Transcript | None = None
    result: GlossResult | None = None
    heard: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def gloss_transcript(text: str, text_path: str = DEFAULT_TEXT_PATH,
                     translator: GlossTranslator | None = None,
                     beam_size: int = 1) -> tuple[list[str], GlossResult | None]:
    """Gloss of a transcript by the chosen text path: ``(tokens, model result or None)``."""
    if text_path == "rules":
        return english_to_gloss_tokens(text), None
    if text_path == "model":
        if translator is None:
            raise ValueError("the model text path needs a Langue2Gloss translator")
        result = translator.from_text(text, beam_size=beam_size)
        return result.tokens, result
    raise ValueError(f"text_path must be one of {TEXT_PATHS}, got {text_path!r}")


def gloss_speech(audio, sr: int | None = None, *, path: str = DEFAULT_SPEECH_PATH,
                 text_path: str = DEFAULT_TEXT_PATH, translator: GlossTranslator | None = None,
                 recognizer: SpeechRecognizer | None = None, beam_size: int = 1) -> SpeechGloss:
    """Gloss of spoken English by the chosen path.

    Parameters
    ----------
    audio, sr
        Any source :func:`bgtai.audio.load_audio` accepts; a bare array without ``sr`` is taken
        to be at 16 kHz. The cascade accepts up to 60 s, the shared path up to 30 s.
    path : {"cascade", "shared"}
    text_path : {"rules", "model"}
        The cascade's text path.
    translator : GlossTranslator, optional
        Needed by the shared path and by the model text path.
    recognizer : SpeechRecognizer, optional
        Defaults to :func:`bgtai.gloss.asr.default_recognizer`.
    beam_size : int
        Beam of the neural decoder (1 = greedy).

    Raises
    ------
    ValueError
        For unusable audio, audio in which no speech was recognised, a transcript the text path
        refuses (e.g. no Latin letters), or an unknown path.
    """
    if path == "shared":
        if translator is None:
            raise ValueError("the shared-encoder speech path needs a Langue2Gloss translator "
                             "(the assets/gloss checkpoint), which is not loaded")
        result = translator.from_speech(audio, sr, beam_size=beam_size)
        return SpeechGloss(result.tokens, path, None, result)
    if path != "cascade":
        raise ValueError(f"path must be one of {SPEECH_PATHS}, got {path!r}")
    if text_path not in TEXT_PATHS:  # checked before the costly recognition
        raise ValueError(f"text_path must be one of {TEXT_PATHS}, got {text_path!r}")
    transcript = (recognizer or default_recognizer()).transcribe(audio, sr)
    if transcript.is_empty:
        raise no_speech_error(transcript)
    heard = clean_transcript(transcript.text)
    tokens, result = gloss_transcript(heard, text_path, translator, beam_size)
    return SpeechGloss(tokens, path, transcript, result, heard)
