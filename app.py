"""Entry point of the BGTAI demo (Hugging Face Spaces ``app_file``): ``python app.py``."""

import os

# Idle OpenMP threads sleep rather than spin: handlers run in parallel threads on few cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from app import cli  # noqa: E402

if __name__ == "__main__":
    cli.main()
