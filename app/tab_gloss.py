"""The "Language -> Gloss" tab: typed or spoken English to sign-language gloss."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from bgtai.gloss import english_to_gloss, sanitize_text, sentence_spans, tokenize_words
from bgtai.gloss.speech import DEFAULT_TEXT_PATH, gloss_transcript
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

TEXT_PATH_NAMES = {"rules": "the rule-based converter", "model": "the Langue2Gloss model"}
MADE_BY = {  # the line under the main gloss: which path made it
    "text": f"By {TEXT_PATH_NAMES[DEFAULT_TEXT_PATH]}, the better of the two text paths on real "
            "English; the model's gloss is below.",
    "cascade": f"Glossed by {TEXT_PATH_NAMES[DEFAULT_TEXT_PATH]}; the model's gloss of the same "
               "words is below.",
    "shared": "By the Langue2Gloss speech side.",
}

EXPLAIN = f"""
Gloss is how sign-language corpora write signs down: upper-case lemmas, `DESC-` before
adjectives and adverbs, `X-` before pronouns, no articles. The main gloss comes from
{TEXT_PATH_NAMES[DEFAULT_TEXT_PATH]}, whichever of the two text paths measures better on real
English sentences (the ASLG-PC12 pairs, About tab); the Langue2Gloss model's own gloss is shown
beside it, coloured by how sure the model is of each word (legend above it). Long text is
glossed one sentence at a time. The heatmap shows which input words (or 40 ms speech frames)
the model's decoder attended to for each gloss word; the red squares are DS-Net's monotonic
alignment, the input each word came from.

Speech takes one of two paths. **Recogniser + text** (the default, and much the better on real
voices): Moonshine base, a pretrained English recogniser, writes down what it heard (shown as
*Heard*), and the transcript is glossed as typed text is. **Langue2Gloss speech side**: the
model's own speech encoder, trained on synthetic voices only, glosses the sound directly; its
heatmap shows attention over 40 ms speech frames.
"""

SPEECH_PATHS = {"Recogniser + text (cascade)": "cascade",
                "Langue2Gloss speech side (shared encoder)": "shared"}
DEFAULT_SPEECH_CHOICE = next(iter(SPEECH_PATHS))


def speech_path_of(choice: str) -> str:
    """The speech path (``gloss_speech``'s ``path``) of a *Speech path* radio choice."""
    if choice not in SPEECH_PATHS:
        raise gr.Error(f"Choose a speech path: {', '.join(SPEECH_PATHS)}.")
    return SPEECH_PATHS[choice]


def heard_line(transcript: str) -> str:
    """The *Heard* line: what the recogniser heard, as code (a backtick in it would end that)."""
    safe = transcript.replace("`", "'")
    return f"**Heard:** `{safe}`"


def confidence_label(p: float) -> str:
    """The legend entry of a gloss word's probability ``p``."""
    return next(label for low, label, _ in CONFIDENCE if p >= low)


def _outputs(made_by: str, main: list[str], result, col_title: str, notes: list[str],
             heard: str = ""):
    """The tab's outputs: the main gloss, the model's gloss coloured by confidence, its attention
    figure, the lines under the main gloss (what the recogniser heard and which path made the
    gloss, ``MADE_BY[made_by]``) and the notes."""
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
    info = "\n\n".join(line for line in (heard, MADE_BY[made_by]) if line)
    return " ".join(main), highlighted, figure, info, note


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
    """Handler: English text -> the main gloss (the better text path), the model's gloss with
    confidences, its attention figure, which path made the gloss, notes (the rules' gloss when
    the model's is the main one, removed characters, sentences, words the model is unsure of)."""
    result = gloss_translator().from_text(text, beam_size=int(beam_size))
    main = result.tokens if DEFAULT_TEXT_PATH == "model" else gloss_transcript(text)[0]
    notes = _text_notes(text)
    if DEFAULT_TEXT_PATH == "model":  # the other path beside the main gloss
        notes.insert(0, f"The rules' gloss: `{english_to_gloss(text)}`")
    return _outputs("text", main, result, "input word", notes)


@user_errors
def gloss_speech(audio, beam_size: float, path: str = DEFAULT_SPEECH_CHOICE):
    """Handler: recorded or uploaded speech -> the main gloss, the model's gloss and attention
    figure (over speech frames on the shared path, over the transcript's words on the cascade)
    and what the recogniser heard (cascade)."""
    if audio is None:
        raise gr.Error("Record or upload some English speech first.")
    glossed = speech_to_gloss(audio, path=speech_path_of(path), beam_size=int(beam_size),
                              translator=gloss_translator())  # validates it
    if glossed.path == "shared":
        return _outputs("shared", glossed.tokens, glossed.result, "speech time", [])
    result = glossed.result or gloss_translator().from_text(glossed.heard,
                                                            beam_size=int(beam_size))
    return _outputs("cascade", glossed.tokens, result, "heard word", _text_notes(glossed.heard),
                    heard_line(glossed.heard))


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
                main = gr.Textbox(label="Gloss", elem_id="gloss-main", interactive=False,
                                  buttons=["copy"])
                info = gr.Markdown(label="How the gloss was made", elem_id="gloss-info")
                tokens = gr.HighlightedText(
                    label="The Langue2Gloss model's gloss (colour = how sure the model is)",
                    elem_id="gloss-tokens",
                    color_map={label: colour for _, label, colour in CONFIDENCE},
                    show_legend=True)
                note = gr.Markdown(label="Notes", elem_id="gloss-note")
                figure = gr.Plot(label="Attention and DS-Net alignment")
                gr.Markdown(EXPLAIN)
        outputs = [main, tokens, figure, info, note]
        for event in (go_text.click(gloss_text, [text, beam], outputs, api_name="gloss_text",
                                    **MODEL_QUEUE),
                      text.submit(gloss_text, [text, beam], outputs, api_name=False,
                                  **MODEL_QUEUE),
                      go_speech.click(gloss_speech, [speech, beam, speech_path], outputs,
                                      api_name="gloss_speech", **MODEL_QUEUE)):
            clear_on_failure(event, outputs)
