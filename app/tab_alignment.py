"""The "Alignment" tab: exact DTW between two sounds or two texts."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from bgtai.align.sequences import align_sounds, align_texts
from bgtai.audio import load_audio
from bgtai.gloss import english_to_gloss

from .errors import user_errors
from .plots import cost_path_figure, spectrogram_figure

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
METRICS = {"cosine distance": "cosine", "squared Euclidean": "sqeuclidean"}

EXPLAIN = """
**What you see.** Each cell of the matrix is how different moment *i* of A is from moment *j*
of B (dark = similar). Dynamic time warping finds the cheapest monotonic path from the
bottom-left to the top-right corner: it pairs every part of A with the part of B it matches,
stretching or squeezing time as needed. A diagonal path means both go at the same pace; a flat
stretch means B lingers where A moves on.
"""


def _summary(pair, name_a: str, name_b: str) -> str:
    n, m = pair.cost.shape
    return (f"| quantity | value |\n|---|---|\n| {name_a} length | {n} |\n| {name_b} length | {m} |\n"
            f"| DTW cost (sum along the path) | {pair.result.cost:.4g} |\n"
            f"| path length | {len(pair.result.path)} |\n"
            f"| mean cost per step | {pair.mean_cost:.4g} |")


def _band(width: float) -> int | None:
    return int(width) if width and width > 0 else None


@user_errors
def compare_sounds(sound_a, sound_b, metric_label: str, band: float):
    """Handler: two audio files -> spectrograms, (no tokens), cost matrix with path, summary."""
    if sound_a is None or sound_b is None:
        raise gr.Error("Give two sounds: record them with the microphone, upload files, "
                       "or pick an example below.")
    wave_a, wave_b = load_audio(sound_a), load_audio(sound_b)
    pair = align_sounds(wave_a, wave_b, metric=METRICS.get(metric_label, "cosine"), band=_band(band))
    return (gr.Plot(spectrogram_figure(pair.a, "sound A"), visible=True),
            gr.Plot(spectrogram_figure(pair.b, "sound B"), visible=True), "",
            cost_path_figure(pair.cost, pair.result.path, name_a="sound A frames",
                             name_b="sound B frames"),
            _summary(pair, "sound A frames", "sound B frames"))


@user_errors
def compare_texts(text_a: str, text_b: str, band: float):
    """Handler: two texts -> (hidden spectrograms), tokens, text B, cost matrix, summary.

    An empty second text is replaced by the gloss of the first, the classic teaching pair.
    """
    if not (text_b or "").strip():
        text_b = english_to_gloss(text_a)
    pair = align_texts(text_a, text_b, band=_band(band))
    tokens = f"**A:** {' · '.join(pair.labels_a)}\n\n**B:** {' · '.join(pair.labels_b)}"
    return (gr.Plot(None, visible=False), gr.Plot(None, visible=False), tokens, text_b,
            cost_path_figure(pair.cost, pair.result.path, labels_a=pair.labels_a,
                             labels_b=pair.labels_b, name_a="text A words",
                             name_b="text B words"),
            _summary(pair, "text A words", "text B words"))


def _sound_examples() -> list[list[str]]:
    pairs = sorted(EXAMPLES.glob("align_*_a.wav"))
    return [[str(a), str(a.with_name(a.name.replace("_a.wav", "_b.wav")))] for a in pairs
            if a.with_name(a.name.replace("_a.wav", "_b.wav")).exists()]


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("Alignment"):
        gr.Markdown("Compare two sequences with exact dynamic time warping (DTW).")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Tab("Two sounds"):
                    sound_a = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                       label="Sound A", elem_id="align-sound-a")
                    sound_b = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                       label="Sound B", elem_id="align-sound-b")
                    metric = gr.Dropdown(list(METRICS), value="cosine distance",
                                         label="How to compare frames")
                    band_s = gr.Slider(0, 500, value=0, step=1,
                                       label="Sakoe-Chiba band (frames, 0 = no limit)")
                    go_s = gr.Button("Align the sounds", variant="primary")
                    examples = _sound_examples()
                    if examples:
                        gr.Examples(examples, [sound_a, sound_b], label="Example pairs")
                with gr.Tab("Two texts"):
                    text_a = gr.Textbox(label="Text A", lines=2, max_length=5000,
                                        value="The children are playing happily in the garden.")
                    text_b = gr.Textbox(label="Text B (leave empty to use the gloss of A)",
                                        lines=2, max_length=5000)
                    band_t = gr.Slider(0, 50, value=0, step=1,
                                       label="Sakoe-Chiba band (words, 0 = no limit)")
                    go_t = gr.Button("Align the texts", variant="primary")
            with gr.Column(scale=2):
                spec_a = gr.Plot(label="Sound A: log-mel spectrogram")
                spec_b = gr.Plot(label="Sound B: log-mel spectrogram")
                tokens = gr.Markdown()
                matrix = gr.Plot(label="Cost matrix and DTW path")
                summary = gr.Markdown(elem_id="align-summary")
                gr.Markdown(EXPLAIN)
        go_s.click(compare_sounds, [sound_a, sound_b, metric, band_s],
                   [spec_a, spec_b, tokens, matrix, summary], api_name="align_sounds")
        go_t.click(compare_texts, [text_a, text_b, band_t],
                   [spec_a, spec_b, tokens, text_b, matrix, summary], api_name="align_texts")
