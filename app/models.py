"""The models the app serves, loaded once on first use and shared by all sessions.

Two profiles (``BGTAI_PROFILE``, set by ``python app.py --profile``):

- ``embedded`` (default): the small checkpoints bundled in ``assets/``, CPU, no network.
- ``pretrained``: Sound -> Image runs Stable unCLIP (``BGTAI_UNCLIP_MODEL``, default
  ``stabilityai/stable-diffusion-2-1-unclip``) fed by an audio projector trained into CLIP
  ViT-H/14 space (``BGTAI_CLIP_PROJECTOR``: a folder written by
  ``train_joint --profile pretrained``, or its Hub id); a GPU is used when there is one.
  Without a projector that loads, the app starts on ``embedded`` and says why
  (:func:`profile_notice`).

Any checkpoint can be replaced with an environment variable naming a local folder or a Hugging
Face Hub id: ``BGTAI_GLOSS_MODEL``, ``BGTAI_JOINT_MODEL``, ``BGTAI_GENERATOR_MODEL``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use, not at import
    from bgtai.generate.pipeline import SoundToImage
    from bgtai.generate.pretrained import UnclipBackend

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PROFILES = ("embedded", "pretrained")

MODEL_QUEUE = {"concurrency_id": "models", "concurrency_limit": 2}
"""Event settings of every handler that runs a model: one shared queue with two workers (the
cores of the machine the app is sized for), instead of Gradio's 2 per event (7 events x 2
thrash two cores)."""


def profile() -> str:
    """The active profile: ``BGTAI_PROFILE``, except that ``pretrained`` without a loadable
    audio projector runs ``embedded`` (:func:`profile_notice` says why). An unknown value is an
    error at start-up, not a silent default."""
    name = os.environ.get("BGTAI_PROFILE", "embedded")
    if name not in PROFILES:
        raise SystemExit(f"BGTAI_PROFILE must be one of {PROFILES}, got {name!r}")
    if name == "pretrained" and _projector_problem(os.environ.get("BGTAI_CLIP_PROJECTOR", "")):
        return "embedded"
    return name


def profile_notice() -> str | None:
    """Why the app runs the embedded profile although the pretrained one was asked for, or
    ``None`` when it runs the profile asked for."""
    if os.environ.get("BGTAI_PROFILE") != "pretrained":
        return None
    problem = _projector_problem(os.environ.get("BGTAI_CLIP_PROJECTOR", ""))
    if problem is None:
        return None
    return (f"The pretrained profile was asked for, but {problem}, so the app runs the embedded "
            "profile. Train a projector with `train_joint --profile pretrained --data "
            "vggsound:FOLDER` and set BGTAI_CLIP_PROJECTOR to its folder or Hub id "
            "(docs/app.md).")


@functools.cache
def _projector_problem(where: str) -> str | None:
    """What keeps the audio projector at ``where`` from loading (loaded once to find out; it is
    a few megabytes), or ``None``."""
    if not where:
        return "BGTAI_CLIP_PROJECTOR is not set"
    from bgtai.joint.pretrained import ClipAudioProjector

    try:
        ClipAudioProjector.from_pretrained(where)
    except Exception as exc:  # missing folder, offline or unknown hub id, other files
        return f"the audio projector BGTAI_CLIP_PROJECTOR={where} could not be loaded ({exc})"
    return None


def _location(env: str, default: str | Path) -> str:
    return os.environ.get(env) or str(default)


def _load(what: str, env: str, default: str | Path, loader, how: str):
    where = _location(env, default)
    try:
        return loader(where)
    except Exception as exc:  # missing folder, offline hub id, incompatible files
        raise ValueError(f"The {what} could not be loaded from {where} ({exc}). {how} "
                         f"and set {env} to its folder.") from None


@functools.cache
def gloss_translator():
    """The Langue2Gloss model; a ``ValueError`` the UI can show when it is not available."""
    from bgtai.gloss.translator import GlossTranslator

    return _load("Language -> Gloss model", "BGTAI_GLOSS_MODEL", ASSETS / "gloss",
                 GlossTranslator.from_pretrained,
                 "Train it with `python -m train.train_gloss --output-dir runs/gloss`")


@functools.cache
def joint_model():
    """The UniBriVL joint embedding (Alignment lab's world clips)."""
    from bgtai.joint import JointModel

    return _load("joint embedding model", "BGTAI_JOINT_MODEL", ASSETS / "joint",
                 JointModel.from_pretrained,
                 "Train it with `python -m train.train_joint --output-dir runs/joint`")


@functools.cache
def audio_captioner():
    """The audio captioner (sound -> gloss caption), :mod:`bgtai.caption`."""
    from bgtai.caption.model import AudioCaptioner

    return _load("audio captioner", "BGTAI_CAPTION_MODEL", ASSETS / "caption",
                 lambda where: AudioCaptioner.from_pretrained(where).eval(),
                 "Train it with `python -m train.train_caption --output-dir runs/caption`")


@functools.cache
def sound_to_image() -> SoundToImage:
    """The Sound -> Image pipeline (:class:`bgtai.generate.SoundToImage`) over the active
    profile's backend."""
    from bgtai.generate.pipeline import SoundToImage

    try:  # speech -> picture's shared path shares the Language -> Gloss tab's model
        translator = gloss_translator()
    except ValueError:
        translator = None  # then that path says it is unavailable (the recogniser's path works)
    if profile() == "pretrained":
        return SoundToImage(_unclip_backend(), translator)
    return _load("Sound -> Image generator", "BGTAI_GENERATOR_MODEL", ASSETS / "generator",
                 lambda where: SoundToImage.from_pretrained(where, gloss_translator=translator),
                 "Train it with `python -m train.train_generator` (see docs/generation.md)")


def _unclip_backend() -> UnclipBackend:
    import torch

    from bgtai.generate.pretrained import UNCLIP_MODEL_ID, UnclipBackend

    projector = os.environ.get("BGTAI_CLIP_PROJECTOR")
    if not projector:
        raise ValueError("The pretrained profile needs BGTAI_CLIP_PROJECTOR: the folder of an "
                         "audio projector trained with `train_joint --profile pretrained`.")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    return _load("Stable unCLIP pipeline", "BGTAI_UNCLIP_MODEL", UNCLIP_MODEL_ID,
                 lambda where: UnclipBackend.from_projector(
                     projector, where, device=device, torch_dtype=dtype),
                 "Check the hub id or download the model first")
