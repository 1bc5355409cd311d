"""The "Sound -> Image" tab: a sound (or text, or speech through gloss) becomes a picture.

The volume and frequency sliders edit the *waveform*. While a slider moves, the cheap part
reruns at once (the edited sound and its plots, on ``.input``), and the picture follows every
change of a slider's value (``.change``: drag, click, a typed value, reset, an example), the
latest value winning (``trigger_mode="always_last"``). Beside the picture: the world class the
joint model hears in the sound, a note when the sound is probably not one of the world's, and the
world's 11 objects (click one to mix it in).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import numpy as np

from bgtai.audio import SAMPLE_RATE, load_audio
from bgtai.caption.model import MAX_SECONDS as CAPTION_SECONDS
from bgtai.caption.model import caption_waveform
from bgtai.data.events import CLASSES, PITCHED, sample_event
from bgtai.data.images import render_event_image
from bgtai.generate.edits import GAIN_RANGE_DB, SEMITONE_RANGE, edit_sound
from bgtai.generate.embedders import UnknownWordsError
from bgtai.generate.unet import MAX_STEPS

from .errors import clear_on_failure, user_errors
from .gpu import gpu
from .models import MODEL_QUEUE, audio_captioner, sound_to_image
from .plots import edit_figure
from .tab_gloss import DEFAULT_SPEECH_CHOICE, SPEECH_PATHS, heard_line, speech_path_of

SHARED_CHOICE = next(k for k, v in SPEECH_PATHS.items() if v == "shared")

if TYPE_CHECKING:  # the pipeline loads with its models, on first use
    from bgtai.generate.pipeline import GenerationResult
    from bgtai.joint.heard import OpenSetCalibration

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"

EXPLAIN = """
The sound is embedded, mapped into the space of picture embeddings and drawn by a small
diffusion model (paper Fig. 3). The sliders change the **sound itself**: louder sounds give
bigger objects, higher pitches other hues, and the number of repetitions the number of objects.
The picture follows a slider only as far as the world has such sounds: within the world's
loudness range and the pitch range of the class the model hears (shown beside the picture);
beyond, the sound still changes and the picture stays at the range's end. Mixing moves the embedding
towards a reference picture's. The embedded model draws three pictures and shows one with as many
objects as the sound (before the sliders) asks for, the one closest to the sound's embedding among
those (re-ranking). It knows the app's built-in world of 11 sound classes; other sounds give
pictures of whatever they resemble most.
"""

UNFAMILIAR = ("This sound is probably **not one of the world's 11 kinds** (open-set score "
              "{score:.2f}, below {threshold:.2f}), so the picture shows whatever it resembles "
              "most. The check is imperfect: it was tuned on a small set of real recordings, and "
              "it also turns away about a third of real recordings of the world's own kinds.")
NO_FRONTEND = ("Real recordings are heard by the audio tower alone here: the pretrained "
               "front-end that corrects it for real rooms, microphones and sources is not "
               "installed ({why}), so real sounds are recognised less often and their "
               "pictures follow the sliders less reliably; the world's own sounds are heard "
               "as usual.")
UNCALIBRATED = ("This joint model has no open-set calibration (`open_set.json`), so the app "
                "cannot tell whether the sound is one of the world's.")

PHOTO_NOTE = ("**Note:** the image encoder only knows the world's own pictures (the objects "
              "above on plain backgrounds); a photo is mapped to whatever world picture it "
              "resembles, which may look nothing like it.")

RANGE_NOTE = ("The picture follows the volume slider from {gain[0]:+.0f} to {gain[1]:+.0f} dB "
              "and {pitch}: within the world's loudness and pitch ranges for a {cls}. Beyond "
              "them the sound still changes, the picture stays at the range's end.")

NO_SOUND = "Record or upload a sound first, or pick one of the examples."
DEFAULT_STEPS = 15


def _enlarged(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """The 64 px picture enlarged with square pixels for the screen (no invented detail)."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def _pcm16(wave: np.ndarray) -> tuple[int, np.ndarray]:
    """A playable ``(rate, int16)`` pair: Gradio would convert floats with a warning."""
    return SAMPLE_RATE, np.round(np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16)


@user_errors
def preview_edit(sound, gain_db: float, semitones: float):
    """Handler for a moving slider: the edited sound and its before/after plots, no picture."""
    if sound is None:
        return None, None
    wave = load_audio(sound)
    edited = edit_sound(wave, gain_db=gain_db, semitones=semitones)
    return _pcm16(edited), edit_figure(wave, edited, SAMPLE_RATE)


@gpu
@user_errors
def make_image(sound, gain_db: float, semitones: float, mix_image, mix_weight: float,
               seed: float, steps: float, progress=gr.Progress()):
    """Handler: sound + sliders -> picture, edited sound, before/after plots."""
    if sound is None:
        raise gr.Error(NO_SOUND)
    progress(0.2, desc="drawing the picture")
    out = sound_to_image()(sound, gain_db=gain_db, semitones=semitones, mix_image=mix_image,
                           mix_weight=mix_weight, seed=int(seed or 0), steps=int(steps))
    listen = sound_to_image().listener
    heard = heard_markdown(out, listen.calibration if listen else None,
                           listen.model.frontend_missing if listen else "")
    return (_enlarged(out.image), "\n\n".join(filter(None, [heard, caption_markdown(out)])),
            _pcm16(out.wave), edit_figure(out.original, out.wave, SAMPLE_RATE))


def example_image(sound):
    """Handler of the example sounds (cached on first use): the picture at the default
    settings, with the sliders put back to 0 so what is shown matches them (errors and the GPU
    come from :func:`make_image`'s decorators)."""
    return *make_image(sound, 0.0, 0.0, None, 0.0, 0, DEFAULT_STEPS), 0, 0


def heard_markdown(out: GenerationResult, calibration: OpenSetCalibration | None,
                   frontend_missing: str = "") -> str:
    """What the model heard, for the visitor: the class, how sure, a note when the sound is
    probably not one of the world's or when the joint model's front-end is not installed
    (``frontend_missing``, :attr:`bgtai.joint.model.JointModel.frontend_missing`), and how far
    each slider moves the picture."""
    heard = out.heard
    if heard is None:  # a pipeline without a listener (the pretrained profile)
        return ""
    text = f"**Heard:** {heard.cls} ({heard.confidence:.0%} sure, among the world's 11 sounds)"
    if heard.known is None:
        text += "\n\n" + UNCALIBRATED
    elif not heard.known:
        text += "\n\n" + UNFAMILIAR.format(score=heard.score, threshold=calibration.threshold)
    if frontend_missing:
        text += "\n\n" + NO_FRONTEND.format(why=frontend_missing)
    gain, shift = out.world_range.gain_db, out.world_range.semitones
    pitch = (f"the frequency slider from {shift[0]:+.1f} to {shift[1]:+.1f} semitones"
             if shift != (0.0, 0.0) else f"not the frequency slider (a {heard.cls} has one colour)")
    return text + "\n\n" + RANGE_NOTE.format(gain=gain, pitch=pitch, cls=heard.cls)


def caption_markdown(out: GenerationResult) -> str:
    """The captioner's words for the *edited* sound (its first 10 s), so a louder edit reads
    louder; for a sound the open-set check turns away, only what it resembles."""
    try:
        caption = caption_waveform(audio_captioner(), out.wave[: int(CAPTION_SECONDS * SAMPLE_RATE)])
    except ValueError as exc:  # no captioner, or a sound it refuses: the picture still stands
        return f"*No caption: {exc}*"
    words = f"`{caption.gloss}` ({caption.text or 'no event named'})"
    if out.heard is not None and out.heard.known is False:
        return f"**Caption:** not one of the world's sounds; the nearest world caption is {words}"
    return f"**Caption of the edited sound:** {words}"


@functools.cache
def world_objects() -> list[tuple[np.ndarray, str]]:
    """One picture of each of the world's objects, drawn by the world's own renderer (one object,
    medium loudness and pitch; fixed seed), with its class name."""
    rng = np.random.default_rng(0)
    pictures = []
    for cls in CLASSES:
        pitch = "medium" if cls in PITCHED else None
        event = sample_event(rng, cls, pitch_level=pitch, loudness_level="loud", repetitions=1)
        pictures.append((render_event_image(event, rng), cls))
    return pictures


def pick_world_object(weight: float, evt: gr.SelectData):
    """Handler: a clicked world object becomes the mix picture (mixed in halfway if the mix was
    off), and the photo note goes."""
    return world_objects()[evt.index][0], weight or 0.5, ""


def _from_words(draw):
    """The picture and its gloss, or no picture and a note when the model knows none of the
    words (rather than a picture drawn from nothing)."""
    try:
        out = draw()
    except UnknownWordsError as err:
        return None, f"**Gloss:** `{' '.join(err.words)}`\n\n**No picture:** {err}."
    heard = f"{heard_line(out.transcript)}\n\n" if out.transcript else ""
    return _enlarged(out.image), f"{heard}**Gloss:** `{out.gloss}`"


@gpu
@user_errors
def text_image(text: str, mix_image, mix_weight: float, seed: float, steps: float):
    """Handler: English text -> gloss (rules) -> picture."""
    return _from_words(lambda: sound_to_image().text_to_image(
        text, mix_image=mix_image, mix_weight=mix_weight, seed=int(seed or 0), steps=int(steps)))


@gpu
@user_errors
def speech_image(speech, mix_image, mix_weight: float, seed: float, steps: float,
                 path: str = DEFAULT_SPEECH_CHOICE):
    """Handler: spoken English -> gloss by the chosen speech path (by default the recogniser and
    the rules, as in the gloss tab) -> picture."""
    if speech is None:
        raise gr.Error("Record or upload some English speech first.")
    path = speech_path_of(path)
    return _from_words(lambda: sound_to_image().speech_to_image(
        speech, path=path, mix_image=mix_image, mix_weight=mix_weight,
        seed=int(seed or 0), steps=int(steps)))


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("Sound -> Image"):
        gr.Markdown("Turn a sound into a picture; change its volume and pitch and watch the "
                    "picture follow.")
        # outputs first (rendered in the right column), so the cached examples can name them
        image = gr.Image(label="Picture (shown 4x enlarged)", type="numpy", format="png",
                         elem_id="image-output", render=False)
        heard = gr.Markdown(label="What the model heard", elem_id="image-heard", render=False)
        edited = gr.Audio(label="Edited sound", type="numpy", interactive=False, render=False)
        plots = gr.Plot(label="Before and after the sliders", elem_id="image-plots", render=False)
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Tab("From a sound"):
                    sound = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                     label="Sound", elem_id="image-sound")
                    gain = gr.Slider(*GAIN_RANGE_DB, value=0, step=1, label="Volume change (dB)",
                                     elem_id="image-gain")
                    semitones = gr.Slider(*SEMITONE_RANGE, value=0, step=0.5,
                                          label="Frequency change (semitones)",
                                          elem_id="image-semitones")
                    go = gr.Button("Make the picture", variant="primary")
                    examples = sorted(EXAMPLES.glob("sound_*.wav"))
                    if examples:
                        gr.Examples([[str(p)] for p in examples], [sound],
                                    [image, heard, edited, plots, gain, semitones], example_image,
                                    cache_examples=True, cache_mode="lazy",
                                    label="Example sounds (each picture is kept after its first run)")
                with gr.Tab("From words"):
                    text = gr.Textbox(label="English text", lines=2, max_length=5000,
                                      value="three loud high whistles", elem_id="image-text")
                    go_text = gr.Button("Picture from the text", variant="primary")
                    speech = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                      label="English speech", elem_id="image-speech")
                    speech_path = gr.Radio(list(SPEECH_PATHS), value=DEFAULT_SPEECH_CHOICE,
                                           label="Speech path", elem_id="image-speech-path")
                    go_speech = gr.Button("Picture from the speech", variant="primary")
                    spoken = sorted(EXAMPLES.glob("speech_*.wav"))
                    if spoken:  # synthetic voices: the path that learned such voices reads them
                        gr.Examples([[str(p), SHARED_CHOICE] for p in spoken],
                                    [speech, speech_path],
                                    label="Spoken examples (espeak-ng voices, read by "
                                          "Langue2Gloss's own speech side, which learned them)")
                with gr.Accordion("Mix with a picture", open=False):
                    mix_image = gr.Image(type="numpy", image_mode="RGB", sources=["upload"],
                                         label="Reference picture (click a world object on the "
                                               "right, or upload one)", elem_id="image-mix")
                    mix_note = gr.Markdown(label="About the reference picture",
                                           elem_id="image-mix-note")
                    mix_weight = gr.Slider(0, 1, value=0, step=0.05,
                                           label="Mix (0 = only the sound, 1 = only the picture)")
                with gr.Accordion("Advanced", open=False):
                    seed = gr.Number(0, precision=0, minimum=0, label="Seed (same seed, same picture)")
                    steps = gr.Slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, label="Diffusion steps")
            with gr.Column(scale=1):
                image.render()
                heard.render()
                gloss = gr.Markdown(label="Gloss", elem_id="image-gloss")
                objects = gr.Gallery(world_objects(), label="The 11 things the world knows "
                                     "(click one to mix it into the picture)", columns=11,
                                     height="auto", allow_preview=False, interactive=False,
                                     elem_id="image-world")
                edited.render()
                plots.render()
                gr.Markdown(EXPLAIN)
        generate_inputs = [sound, gain, semitones, mix_image, mix_weight, seed, steps]
        generate_outputs = [image, heard, edited, plots]
        clear_on_failure(go.click(make_image, generate_inputs, generate_outputs,
                                  api_name="sound_to_image", **MODEL_QUEUE), generate_outputs)
        for slider in (gain, semitones):
            slider.input(preview_edit, [sound, gain, semitones], [edited, plots],
                         api_name=False, trigger_mode="always_last", show_progress="hidden")
            # .change, not .release: typing a value (+ Enter) and the arrow keys release nothing
            clear_on_failure(slider.change(make_image, generate_inputs, generate_outputs,
                                           api_name=False, trigger_mode="always_last",
                                           **MODEL_QUEUE), generate_outputs)
        sound.change(preview_edit, [sound, gain, semitones], [edited, plots],
                     api_name="preview_edit", show_progress="hidden")
        objects.select(pick_world_object, [mix_weight], [mix_image, mix_weight, mix_note],
                       api_name=False)
        # the examples choose the shared path; a visitor's own recording goes back to the default
        for event in (speech.upload, speech.stop_recording):
            event(lambda: DEFAULT_SPEECH_CHOICE, None, speech_path, api_name=False)
        mix_image.upload(lambda: PHOTO_NOTE, None, mix_note, api_name=False)
        mix_image.clear(lambda: "", None, mix_note, api_name=False)
        word_inputs = [mix_image, mix_weight, seed, steps]
        for button, handler, inputs, name in (
                (go_text, text_image, [text, *word_inputs], "text_to_image"),
                (go_speech, speech_image, [speech, *word_inputs, speech_path], "speech_to_image")):
            clear_on_failure(button.click(handler, inputs, [image, gloss],
                                          api_name=name, **MODEL_QUEUE), [image, gloss])
