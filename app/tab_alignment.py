"""The "Alignment lab" tab: exact DTW and DS-Net on two sounds, a sentence and its gloss, or a
world clip's audio segments and video frames."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from bgtai.align.dtw import path_to_matrix
from bgtai.align.losses import probability_losses
from bgtai.align.sequences import align_sounds, align_texts
from bgtai.audio import SAMPLE_RATE, load_audio
from bgtai.caption.model import caption_waveform
from bgtai.data.clips import FPS
from bgtai.data.world import WorldDataset
from bgtai.gloss import english_to_gloss
from bgtai.joint.inspect import inspect_clip

from .errors import clear_on_failure, user_errors
from .models import MODEL_QUEUE, audio_captioner, gloss_translator, joint_model
from .plots import attention_figure, cost_path_figure, selection_figure, spectrogram_figure

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
METRICS = {"cosine distance": "cosine", "squared Euclidean": "sqeuclidean"}
CLIP_SPLITS = ("test", "val")
N_CLIPS = 1000

EXPLAIN_DTW = """
**What you see.** Each cell of the matrix is how different moment *i* of A is from moment *j*
of B (dark = similar). Dynamic time warping finds the cheapest monotonic path from the
bottom-left to the top-right corner: it pairs every part of A with the part of B it matches,
stretching or squeezing time as needed. A diagonal path means both go at the same pace; a flat
stretch means B lingers where A moves on.
"""

EXPLAIN_GLOSS = """
**What you see.** The red line is the DTW path over word similarity (shared letter trigrams),
the white squares are what the Langue2Gloss model's **DS-Net** predicts: which words each gloss
token came from. The **CE** (paper eq. 5) and **SP-Loss** (eq. 6) measure how far DS-Net's
prediction is from the DTW path, the *Result Filter*'s supervision: 0 would be a perfect copy.
Where the two disagree, DS-Net has usually learnt something DTW's letter matching cannot see
(`I` -> `X-I`, `children` -> `CHILD`).
"""

EXPLAIN_CLIP = """
**What you see.** A clip of the built-in world: its sound is cut into 1 s segments (rows), its
video into frames (columns, 4 per second). The joint model embeds both; DTW over their cosine
distance gives the *Result Filter*'s path (red), and **DS-Net** scores every (segment, frame)
pair and selects the ones it trusts (white squares) for contrastive training. On the right, DS-Net's
probabilities with the true pairs outlined in green: frames showing an object that is not
heard (distractors) or nothing at all should stay pale. Below, the **captioner**'s words over
the clip's sound: its cross-attention (blue) and DS-Net's alignment (red squares), which frames
each word speaks of; a caption of several events should step from one event's sound to the next.
"""


def _summary(rows: list[tuple[str, str]]) -> str:
    return "| quantity | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _dtw_rows(pair, name_a: str, name_b: str) -> list[tuple[str, str]]:
    n, m = pair.cost.shape
    return [(f"{name_a} length", str(n)), (f"{name_b} length", str(m)),
            ("DTW cost (sum along the path)", f"{pair.result.cost:.4g}"),
            ("path length", str(len(pair.result.path))),
            ("mean cost per step", f"{pair.mean_cost:.4g}")]


def _band(width: float) -> int | None:
    return int(width) if width and width > 0 else None


@user_errors
def compare_sounds(sound_a, sound_b, metric_label: str, band: float):
    """Handler: two audio files -> both spectrograms, cost matrix with path, summary."""
    if sound_a is None or sound_b is None:
        raise gr.Error("Give two sounds: record them with the microphone, upload files, "
                       "or pick an example below.")
    wave_a, wave_b = load_audio(sound_a), load_audio(sound_b)
    pair = align_sounds(wave_a, wave_b, metric=METRICS.get(metric_label, "cosine"), band=_band(band))
    return (spectrogram_figure(pair.a, "sound A"), spectrogram_figure(pair.b, "sound B"),
            cost_path_figure(pair.cost, pair.result.path, name_a="sound A frames",
                             name_b="sound B frames"),
            _summary(_dtw_rows(pair, "sound A frames", "sound B frames")))


@user_errors
def compare_texts(text_a: str, text_b: str, band: float):
    """Handler: a sentence and its gloss (or any two texts) -> tokens, text B, cost matrix
    with the DTW path and DS-Net's alignment, summary with CE and SP-Loss.

    An empty text B is replaced by the rule-based gloss of A. DS-Net's alignment is the
    Langue2Gloss model's reading of B as a gloss of A, drawn when B is written in upper case
    as gloss is (its tokens are then its whitespace-separated words).
    """
    if not (text_b or "").strip():
        text_b = english_to_gloss(text_a)
    is_gloss = text_b == text_b.upper()  # gloss is written in upper case
    pair = align_texts(text_a, text_b, band=_band(band), gloss_b=is_gloss)
    rows = _dtw_rows(pair, "text A words", "text B words")
    overlay = None
    if is_gloss:
        forced = gloss_translator().force(text_a, text_b)
        overlay = forced.alignment.T
        ce, sp = probability_losses(forced.align_probs,
                                    path_to_matrix(pair.result.path, pair.cost.shape).T.copy())
        rows += [("DS-Net vs DTW path: CE (eq. 5)", f"{ce:.3f}"),
                 ("DS-Net vs DTW path: SP-Loss (eq. 6)", f"{sp:.3f}")]
    else:
        rows.append(("DS-Net", "shown when text B is a gloss (written in upper case)"))
    tokens = f"**A:** {' · '.join(pair.labels_a)}\n\n**B:** {' · '.join(pair.labels_b)}"
    return (tokens, text_b,
            cost_path_figure(pair.cost, pair.result.path, labels_a=pair.labels_a,
                             labels_b=pair.labels_b, name_a="text A words", name_b="text B words",
                             overlay=overlay, overlay_label="DS-Net (Langue2Gloss)"),
            _summary(rows))


def frame_strip(frames: np.ndarray, gap: int = 2) -> np.ndarray:
    """The clip's frames side by side, ``gap`` white pixels apart, in two rows if long."""
    n, h, w, _ = frames.shape
    per_row = n if n <= 20 else (n + 1) // 2
    strip = np.full((h * 2 + gap if n > per_row else h, per_row * (w + gap) - gap, 3), 255, np.uint8)
    for k, frame in enumerate(frames):
        r, c = divmod(k, per_row)
        strip[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = frame
    return strip


@user_errors
def inspect_world_clip(split: str, index: float):
    """Handler: a world clip -> its audio, its frames, the selection figure, the captioner's
    words over the sound (None without a captioner) and a summary."""
    if split not in CLIP_SPLITS:
        raise ValueError(f"split must be one of {CLIP_SPLITS}")
    index = int(index)
    if not 0 <= index < N_CLIPS:
        raise ValueError(f"clip number must be 0-{N_CLIPS - 1}")
    clip = WorldDataset(split, N_CLIPS, kind="clip").clip(index)
    view = inspect_clip(joint_model(), clip)
    true_pairs = int(view.truth.sum())
    chosen = int(view.selected.sum())
    right = int((view.selected & view.truth).sum())
    on_path = int((view.dtw_path & view.truth).sum())
    heard = ", ".join(f"{e.repetitions} x {e.cls}" for e in clip.events) or "nothing"
    words = None
    try:
        caption = caption_waveform(audio_captioner(), clip.audio, with_attention=True)
        said = f"`{caption.gloss}` ({caption.text or 'no event named'})"
        if caption.tokens:
            step = round(0.2 / caption.frame_seconds)  # a tick every 0.2 s
            times = [f"{k * caption.frame_seconds:.1f}" if k % step == 0 else ""
                     for k in range(caption.attention.shape[1] - 1)]
            words = attention_figure(caption.attention, caption.alignment, caption.tokens,
                                     ["clip"] + times,
                                     "the clip's sound: the pooled clip, then 40 ms frames (s)")
    except ValueError as exc:  # no captioner bundled: the rest of the view still works
        said = str(exc)
    summary = _summary([
        ("clip", f"{clip.duration_s:.2f} s, {len(clip.frames)} frames; heard: {heard}"),
        ("the captioner hears", said),
        ("true (segment, frame) pairs", str(true_pairs)),
        ("DTW path cells that are true pairs", f"{on_path} of {int(view.dtw_path.sum())}"),
        ("DS-Net selected pairs that are true", f"{right} of {chosen}"),
        ("DS-Net vs DTW path: CE (eq. 5)", f"{view.ce:.3f}"),
        ("DS-Net vs DTW path: SP-Loss (eq. 6)", f"{view.sp:.3f}"),
    ])
    audio = (SAMPLE_RATE, np.round(clip.audio * 32767).astype(np.int16))
    return audio, frame_strip(clip.frames), selection_figure(view, 1 / FPS), words, summary


def _sound_examples() -> list[list[str]]:
    pairs = sorted(EXAMPLES.glob("align_*_a.wav"))
    return [[str(a), str(a.with_name(a.name.replace("_a.wav", "_b.wav")))] for a in pairs
            if a.with_name(a.name.replace("_a.wav", "_b.wav")).exists()]


def _sounds_tab() -> None:
    with gr.Tab("Two sounds"), gr.Row():
        with gr.Column(scale=1):
            sound_a = gr.Audio(sources=["microphone", "upload"], type="filepath",
                               label="Sound A", elem_id="align-sound-a")
            sound_b = gr.Audio(sources=["microphone", "upload"], type="filepath",
                               label="Sound B", elem_id="align-sound-b")
            metric = gr.Dropdown(list(METRICS), value="cosine distance",
                                 label="How to compare frames")
            band = gr.Slider(0, 500, value=0, step=1, label="Sakoe-Chiba band (frames, 0 = no limit)")
            go = gr.Button("Align the sounds", variant="primary")
            examples = _sound_examples()
            if examples:
                gr.Examples(examples, [sound_a, sound_b], label="Example pairs")
        with gr.Column(scale=2):
            spec_a = gr.Plot(label="Sound A: log-mel spectrogram")
            spec_b = gr.Plot(label="Sound B: log-mel spectrogram")
            matrix = gr.Plot(label="Cost matrix and DTW path")
            summary = gr.Markdown(label="Summary", elem_id="align-summary")
            gr.Markdown(EXPLAIN_DTW)
    outputs = [spec_a, spec_b, matrix, summary]
    clear_on_failure(go.click(compare_sounds, [sound_a, sound_b, metric, band], outputs,
                              api_name="align_sounds", **MODEL_QUEUE), outputs)


def _texts_tab() -> None:
    with gr.Tab("Sentence and gloss"), gr.Row():
        with gr.Column(scale=1):
            text_a = gr.Textbox(label="Text A", lines=2, max_length=5000,
                                value="The children are playing happily in the garden.")
            text_b = gr.Textbox(label="Text B (leave empty to use the gloss of A)", lines=2,
                                info="Upper case is read as gloss: DS-Net then shows its alignment.",
                                max_length=5000)
            band = gr.Slider(0, 50, value=0, step=1, label="Sakoe-Chiba band (words, 0 = no limit)")
            go = gr.Button("Align the texts", variant="primary")
            gr.Examples([["I want a hot coffee.", ""],
                         ["We must give every child a fair chance.", ""],
                         ["The cat sat on the mat.", "The dog lay on the rug."]],
                        [text_a, text_b], label="Examples")
        with gr.Column(scale=2):
            tokens = gr.Markdown(label="Tokens")
            matrix = gr.Plot(label="Cost matrix, DTW path and DS-Net")
            summary = gr.Markdown(label="Summary", elem_id="align-text-summary")
            gr.Markdown(EXPLAIN_GLOSS)
    event = go.click(compare_texts, [text_a, text_b, band], [tokens, text_b, matrix, summary],
                     api_name="align_texts", **MODEL_QUEUE)
    clear_on_failure(event, [tokens, matrix, summary])  # text B is the visitor's input too


def _clip_tab() -> None:
    with gr.Tab("World clip: sound vs frames"), gr.Row():
        with gr.Column(scale=1):
            split = gr.Radio(list(CLIP_SPLITS), value="test", label="Split (never trained on)")
            index = gr.Slider(0, N_CLIPS - 1, value=3, step=1, label="Clip number")
            go = gr.Button("Show the clip", variant="primary")
            audio = gr.Audio(label="The clip's sound", type="numpy", interactive=False)
        with gr.Column(scale=2):
            frames = gr.Image(label="The clip's frames (4 per second)", type="numpy",
                              interactive=False, elem_id="clip-frames")
            figure = gr.Plot(label="Result Filter and DS-Net")
            words = gr.Plot(label="What the captioner hears: its words over the sound")
            summary = gr.Markdown(label="Summary", elem_id="clip-summary")
            gr.Markdown(EXPLAIN_CLIP)
    outputs = [audio, frames, figure, words, summary]
    clear_on_failure(go.click(inspect_world_clip, [split, index], outputs,
                              api_name="inspect_clip", **MODEL_QUEUE), outputs)


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("Alignment lab"):
        gr.Markdown("Align two sequences with exact dynamic time warping (DTW) and see what the "
                    "learned DS-Net makes of them.")
        _sounds_tab()
        _texts_tab()
        _clip_tab()
