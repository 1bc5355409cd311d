"""The "About" tab: the paper in a paragraph, the bundled models' cards, the two profiles.

The model cards are read from ``assets/*/README.md``, the files that ship with each checkpoint,
so what the app says about a model is what its checkpoint says about itself.
"""

from __future__ import annotations

import gradio as gr

from bgtai.data.events import CLASSES

from .models import ASSETS, profile, profile_notice

PAPER = """
## What this is

BGTAI implements *Bridging the Gap between Text, Audio, Image and Any Sequence: a Novel Approach
using Gloss-based Annotation* (Fang et al., arXiv 2410.03146). The paper's idea: spoken and
written language is turned into **sign-language gloss** (upper-case lemmas without articles or
inflection, `X-I WANT DESC-HOT COFFEE`) before it is aligned with sounds and pictures, because
gloss keeps what can be seen and heard and drops the grammar that has nothing to match. Audio,
gloss and images are trained into **one embedding space** (UniBriVL), and a small network,
**DS-Net**, chooses which audio segments and video frames belong together; it is supervised by
dynamic time warping paths (the *Result Filter*) with a cross-entropy and the paper's
**SP-Loss**. A diffusion model then draws pictures from sounds, and editing a sound's volume
and frequency changes the picture (the paper's Fig. 3).
"""

LIMITS = f"""
## What it can and cannot do

**It can**
- turn typed English into gloss, one sentence at a time, up to 500 words: the main gloss by
  whichever of its two text paths (hand-written rules, learned model) is the better on real
  English, the learned model's beside it;
- turn spoken English (recorded or uploaded, up to a minute) into gloss;
- align any two recordings or any two texts and show how they line up;
- draw a picture from a sound of its little world: {", ".join(CLASSES)}.
  Louder sounds give bigger objects, higher ones other colours, repeats more objects; it says
  which of its sounds it heard, and the sliders move the picture as far as its world has such
  sounds (the range is shown beside the picture; beyond it only the sound changes). For a real
  recording the picture's size follows the sound's measured level, and its colour the measured
  pitch shift, as they would for a world sound.

**It cannot (yet)**
- **hear every word you say**: spoken English goes through a small speech recogniser
  (Moonshine base) and then the rules; on real recordings it gets about 85 words in 100 right,
  fewer through a bad microphone or a noisy room, and it shows what it heard so you can tell;
- **recognise real sounds**: a dog, a car or music is drawn as whichever of the world's
  eleven sounds it is closest to, not as a dog, a car or a band (it says so when it can tell),
  and about a quarter of the real recordings even of its own eleven kinds are heard as the
  wrong kind (real drums, snaps, bells, birds and hisses mostly right; claps and clicks less
  often; real whistles and bees wrong);
- **use your photos**: it has only seen its own small drawings, so mixing with a photo gives
  an unpredictable picture;
- **gloss unusual English as well as the rules do**: on real parliament sentences the model
  is still right a little less often than the rules (87 against 89 BLEU), and it guesses at
  rare words;
- read any language other than English.
"""

PROFILE_NOTES = """
## Profiles

- **embedded** (this default): the small models above, trained on a 2-core CPU, no network
  needed. They know the app's built-in synthetic world (11 sound classes with exact ground
  truth) and, for gloss, English sentences glossed by rules; expect weak results outside that.
- **pretrained**: `python app.py --profile pretrained` (or `BGTAI_PROFILE=pretrained`) runs
  Sound -> Image with Stable unCLIP (`stabilityai/stable-diffusion-2-1-unclip`, downloaded on
  first use, a GPU strongly advised) fed by an audio projector into CLIP ViT-H/14 space that you
  train with `accelerate launch -m train.train_joint --profile pretrained` and name with
  `BGTAI_CLIP_PROJECTOR=runs/joint_clip/model`. Any model can be swapped with
  `BGTAI_GLOSS_MODEL`, `BGTAI_JOINT_MODEL` or `BGTAI_GENERATOR_MODEL` (folder or Hub id).

Code, training scripts and every measured number: the project's `docs/` folder.
"""


def model_cards() -> list[tuple[str, str]]:
    """``(folder name, card text)`` of every bundled checkpoint that has a card."""
    return [(card.parent.name, card.read_text(encoding="utf-8"))
            for card in sorted(ASSETS.glob("*/README.md"))]


def build() -> None:
    """Add the tab to the enclosing ``gr.Blocks``."""
    with gr.Tab("About"):
        gr.Markdown(LIMITS, elem_id="about-limits")
        gr.Markdown(PAPER)
        notice = profile_notice()
        if notice:
            gr.Markdown(f"**{notice}**", elem_id="about-profile-notice")
        gr.Markdown(f"## The bundled models (profile now: **{profile()}**)\n"
                    "What each was trained on and what it measured, from its model card:")
        for name, card in model_cards():
            with gr.Accordion(f"assets/{name}", open=False):
                gr.Markdown(card)
        gr.Markdown(PROFILE_NOTES)
