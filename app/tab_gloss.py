"""The "Language -> Gloss" tab: typed or spoken English to sign-language gloss."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from bgtai.gloss import english_to_gloss, sanitize_text, sentence_spans, tokenize_words
from bgtai.gloss.speech import gloss_speech as speech_to_gloss

from .errors import clear_on_failure, user_errors
from .models import MODEL_QUEUE, gloss_translator
from .plots import ATTENTION_ROWS, attention_figure

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"

CONFIDENCE = (  # (lowest probability, legend label, colour): yellow-green, darker = surer
    (0.9, "sure (90 % or more)", "#31a354"),
    (0.7, "fairly sure (70-90 %)", "#78c679"),
    (0.4, "unsure (40-70 %)", "#c2e699"),
    (0.0, "guessing (under 40 %)", "#ffffcc"),
)
UNSURE = 0.4
"""Gloss words below this probability are listed in the note."""

EXPLAIN = """
Gloss is how sign-language corpora write signs down: upper-case lemmas, `DESC-` before
adjectives and adverbs, `X-` before pronouns, no articles. The colours show how sure the model
is of each gloss word (legend above the gloss). Long text is glossed one sentence at a time.
The heatmap shows which input words (or 40 ms speech frames) the decoder attended to for each
gloss word; the red squares are DS-Net's monotonic alignment, the input each word came from.
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


def confidence_label(p: float) -> str:
    """The legend entry of a gloss word's probability ``p``."""
    return next(label for low, label, _ in CONFIDENCE if p >= low)


def _outputs(result, rules: str, col_title: str, notes: list[str]):
    highlighted = []
    for token, p in zip(result.tokens, result.probs):
        highlighted += [(token, confidence_label(float(p))), (" ", None)]
    figure = attention_figure(result.attention, result.alignment, result.tokens, result.sources,
                              col_title) if result.tokens else None
    unsure = [t for t, p in zip(result.tokens, result.probs) if p < UNSURE]
    if unsure:
        listed = ", ".join(f"`{t}`" for t in unsure[:8]) + (", ..." if len(unsure) > 8 else "")
        notes.append(f"The model is guessing at {len(unsure)} of {len(result.tokens)} gloss words "
                     f"({listed}): it knows the built-in world's sentences and short English "
                     "sentences best.")
    if len(result.tokens) > ATTENTION_ROWS:
        notes.append(f"The heatmap shows the first {ATTENTION_ROWS} of {len(result.tokens)} gloss "
                     "words.")
    note = "\n".join(f"- {n}" for n in notes)
    return highlighted, figure, f"**Rules:** `{rules}`" if rules else "", note


def _text_notes(text: str) -> list[str]:
    notes = []
    if sanitize_text(text) != "".join(" " if ch.isspace() else ch for ch in text):
        notes.append("Control characters and terminal escape sequences (such as colour codes) "
                     "were removed from the text.")
    sentences = len(sentence_spans(tokenize_words(text)))
    if sentences > 1:
        notes.append(f"The text was glossed sentence by sentence ({sentences} parts).")
    return notes


@user_errors
def gloss_text(text: str, beam_size: float):
    """Handler: English text -> gloss tokens with confidences, attention figure, rule gloss,
    notes (removed characters, sentences, words the model is unsure of)."""
    result = gloss_translator().from_text(text, beam_size=int(beam_size))
    return _outputs(result, english_to_gloss(text), "input word", _text_notes(text))


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
        return _outputs(glossed.result, "", "speech time", [])
    heard = glossed.heard.replace("`", "'")
    highlighted = [part for token in glossed.tokens for part in ((token, None), (" ", None))]
    return highlighted, None, f"**Heard:** `{heard}`", ""


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("Language -> Gloss"):
        gr.Markdown("Type or say an English sentence and see it as sign-language gloss.")
        with gr.Row():
            with gr.Column(scale=1):
                # one line that grows: Enter glosses (a multi-line box wants Shift+Enter)
                text = gr.Textbox(label="English text", lines=1, max_lines=12, max_length=5000,
                                  value="I want a hot coffee.", elem_id="gloss-text",
                                  info="Press Enter or the button to gloss; paragraphs welcome.")
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
                tokens = gr.HighlightedText(
                    label="Gloss (colour = how sure the model is)", elem_id="gloss-tokens",
                    color_map={label: colour for _, label, colour in CONFIDENCE},
                    show_legend=True)
                rules = gr.Markdown(label="Rule-based gloss", elem_id="gloss-rules")
                note = gr.Markdown(label="Notes", elem_id="gloss-note")
                figure = gr.Plot(label="Attention and DS-Net alignment")
                gr.Markdown(EXPLAIN)
        outputs = [tokens, figure, rules, note]
        for event in (go_text.click(gloss_text, [text, beam], outputs, api_name="gloss_text",
                                    **MODEL_QUEUE),
                      text.submit(gloss_text, [text, beam], outputs, api_name=False,
                                  **MODEL_QUEUE),
                      go_speech.click(gloss_speech, [speech, beam, speech_path], outputs,
                                      api_name="gloss_speech", **MODEL_QUEUE)):
            clear_on_failure(event, outputs)
