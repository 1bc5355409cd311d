"""Command line for the demo: ``python app.py [--profile P] [--host H] [--port N] [--share]``."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from bgtai.gloss.asr import DEFAULT_MODEL
from bgtai.gloss.asr_models import model_folder

from . import MAX_FILE_SIZE, build_demo
from .models import PROFILES


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the BGTAI demo app.")
    parser.add_argument("--profile", choices=PROFILES,
                        default=os.environ.get("BGTAI_PROFILE", "embedded"),
                        help="embedded: the bundled CPU models, no network (default); "
                             "pretrained: Hugging Face backbones (see the About tab)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    return parser.parse_args(argv)


def prepare_recogniser() -> None:
    """Build the speech recogniser's files (Moonshine base's float32 copy, a few seconds, once)
    where the install script did not (Hugging Face Spaces installs requirements.txt only), so
    that the first speech request does not wait for them; the model itself loads on first use.
    A failure is reported and left to that request to explain."""
    try:
        model_folder(DEFAULT_MODEL)
    except ValueError as exc:
        print(f"[bgtai] the speech recogniser is not ready: {exc}", file=sys.stderr)


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ["BGTAI_PROFILE"] = args.profile  # read by app.models when models load
    threading.Thread(target=prepare_recogniser, name="prepare-recogniser", daemon=True).start()
    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                max_file_size=MAX_FILE_SIZE, show_error=True)
