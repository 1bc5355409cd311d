"""The models the app serves, loaded once on first use and shared by all sessions.

Paths default to the bundled ``assets/`` checkpoints; environment variables point elsewhere
(a local folder or a Hugging Face Hub id), e.g. ``BGTAI_GLOSS_MODEL=runs/gloss/model``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from bgtai.gloss.translator import GlossTranslator

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _location(env: str, default: Path) -> str:
    return os.environ.get(env) or str(default)


@functools.cache
def gloss_translator() -> GlossTranslator:
    """The Langue2Gloss model; a ``ValueError`` the UI can show when it is not available."""
    where = _location("BGTAI_GLOSS_MODEL", ASSETS / "gloss")
    try:
        return GlossTranslator.from_pretrained(where)
    except Exception as exc:  # missing folder, offline hub id, incompatible files
        raise ValueError(f"The Language -> Gloss model could not be loaded from {where} ({exc}). "
                         "Train it with `python -m train.train_gloss --output-dir runs/gloss` and "
                         "set BGTAI_GLOSS_MODEL=runs/gloss/model.") from None
