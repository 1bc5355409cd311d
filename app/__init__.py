"""The BGTAI Gradio demo: UI only (validation, plots, formatting); the math lives in ``bgtai``.

``import app`` exposes ``demo`` lazily, so ``gradio app.py`` reload mode (which imports this
package, since it shadows ``app.py``) finds it without building the UI on every import.
"""

from __future__ import annotations

import sys

import gradio as gr

from . import tab_about, tab_alignment, tab_gloss, tab_image
from .models import profile_notice

TITLE = "BGTAI: text, audio, image and any sequence, through gloss"

INTRO = """
# BGTAI
Language becomes **sign-language gloss**, sequences are **aligned** by DTW and by the learned
DS-Net, and **sounds become images**. The default profile runs the small embedded models bundled
with this app, with no network; the About tab says what they can and cannot do.
"""

MAX_FILE_SIZE = "10mb"
"""Uploads beyond this are refused by the server before any handler runs."""


def build_demo() -> gr.Blocks:
    """Build the whole UI (no model math happens here)."""
    notice = profile_notice()
    if notice:  # the pretrained profile fell back: say so in the log and on the page
        print(notice, file=sys.stderr)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        if notice:
            gr.Markdown(f"**{notice}**", elem_id="profile-notice")
        tab_gloss.build()
        tab_alignment.build()
        tab_image.build()
        tab_about.build()
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def __getattr__(name: str):
    if name == "demo":
        globals()["demo"] = build_demo()
        return globals()["demo"]
    raise AttributeError(name)
