"""The "Language -> Gloss" tab: typed or spoken English to sign-language gloss."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from bgtai.gloss import english_to_gloss
from bgtai.gloss.speech import gloss_speech as speech_to_gloss

from .errors import user_errors
from .models import MODEL_QUEUE, gloss_translator
from .plots import attention_figure

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"

EXPLAIN = """
Gloss is how sign-language corpora write signs down: upper-case lemmas, `DESC-` before
adjectives and adverbs, `X-` before pronouns, no articles. Colours show how sure the model is of
each token. The heatmap shows which input words (or 40 ms speech frames) the decoder attended to
for each token; the red squares are DS-Net's monotonic alignment, the input each token came from.
The rule-based converter's gloss is shown for comparison.

Speech takes one of two paths. **Recogniser + rules** (the default, and much the better on real
voices): Moonshine tiny, a pretrained English recogniser, writes down what it heard (shown as
*Heard*), and the rules gloss that transcript. **Langue2Gloss speech side**: the model's own
speech encoder, trained on synthetic voices only, glosses the sound directly; its heatmap shows
attention over 40 ms speech frames.
"""

SPEECH_PATHS = {"Recogniser + rules (cascade)": "cascade",
                "Langue2Gloss speech side (shared encoder)": "shared"}
DEFAULT_SPEECH_CHOICE = next(iter(SPEECH_PATHS))


def _outputs(result, rules: str, col_title: str):
    highlighted = []
    for token, p in zip(result.tokens, result.probs):
        highlighted += [(token, float(p)), (" ", None)]
    figure = attention_figure(result.attention, result.alignment, result.tokens, result.sources,
                              col_title) if result.tokens else None
    return highlighted, figure, f"**Rules:** `{rules}`" if rules else ""


@user_errors
def gloss_text(text: str, beam_size: float):
    """Handler: English text -> gloss tokens with confidences, attention figure, rule gloss."""
    result = gloss_translator().from_text(text, beam_size=int(beam_size))
    return _outputs(result, english_to_gloss(text), "input word")


@user_errors
def gloss_speech(audio, beam_size: float, path: str = DEFAULT_SPEECH_CHOICE):
    """Handler: recorded or uploaded speech -> gloss tokens, the attention figure (shared
    path) and what the recogniser heard (cascade path)."""
    if audio is None:
        raise gr.Error("Record or upload some English speech first.")
    if path not in SPEECH_PATHS:
        raise gr.Error(f"Choose a speech path: {', '.join(SPEECH_PATHS)}.")
    shared = SPEECH_PATHS[path] == "shared"
    glossed = speech_to_gloss(audio, path=SPEECH_PATHS[path], beam_size=int(beam_size),
                              translator=gloss_translator() if shared else None)  # validates it
    if shared:
        return _outputs(glossed.result, "", "speech time")
    heard = glossed.transcript.text.replace("`", "'")
    highlighted = [part for token in glossed.tokens for part in ((token, None), (" ", None))]
    return highlighted, None, f"**Heard:** `{heard}`"


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("Language -> Gloss"):
        gr.Markdown("Type or say an English sentence and see it as sign-language gloss.")
        with gr.Row():
            with gr.Column(scale=1):
                text = gr.Textbox(label="English text", lines=2, max_length=5000,
                                  value="I want a hot coffee.", elem_id="gloss-text")
                go_text = gr.Button("Gloss the text", variant="primary")
                speech = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                  label="English speech", elem_id="gloss-speech")
                speech_path = gr.Radio(list(SPEECH_PATHS), value=DEFAULT_SPEECH_CHOICE,
                                       label="Speech path")
                go_speech = gr.Button("Gloss the speech", variant="primary")
                spoken = sorted(EXAMPLES.glob("speech_*.wav"))
                if spoken:
                    gr.Examples([[str(p)] for p in spoken], [speech], label="Spoken examples")
                gr.Examples([["The children are playing happily in the garden."],
                             ["We must give every child a fair chance."],
                             ["A quiet low hum then two loud bells."]], [text],
                            label="Text examples")
                with gr.Accordion("Advanced", open=False):
                    beam = gr.Slider(1, 8, value=1, step=1, label="Beam size (1 = greedy)")
            with gr.Column(scale=2):
                tokens = gr.HighlightedText(label="Gloss (colour = confidence)",
                                            elem_id="gloss-tokens")
                rules = gr.Markdown()
                figure = gr.Plot(label="Attention and DS-Net alignment")
                gr.Markdown(EXPLAIN)
        go_text.click(gloss_text, [text, beam], [tokens, figure, rules], api_name="gloss_text",
                      **MODEL_QUEUE)
        text.submit(gloss_text, [text, beam], [tokens, figure, rules], api_name=False, **MODEL_QUEUE)
        go_speech.click(gloss_speech, [speech, beam, speech_path], [tokens, figure, rules],
                        api_name="gloss_speech", **MODEL_QUEUE)
