"""Build what the speech recognisers need before the first request: Moonshine base's float32
copy (:mod:`bgtai.gloss.asr_models`; a few seconds, once). Run by ``bash scripts/install.sh``::

    python -m scripts.prepare_recogniser
"""

from __future__ import annotations

from bgtai.gloss.asr_models import MODELS, model_folder


def main() -> None:
    for name in MODELS:
        print(f"Moonshine {name}: {model_folder(name)}")


if __name__ == "__main__":
    main()
