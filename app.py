"""Entry point of the BGTAI demo (Hugging Face Spaces ``app_file``): ``python app.py``."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

# Idle OpenMP threads sleep rather than spin: handlers run in parallel threads on few cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if os.environ.get("SPACE_ID") and importlib.util.find_spec("aisfx") is None:
    # Spaces installs requirements.txt only; these packages must come without their
    # dependencies (see requirements-nodeps.txt), as scripts/install.sh installs them.
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-r",
                    str(Path(__file__).with_name("requirements-nodeps.txt"))], check=True)

from app import cli  # noqa: E402

if __name__ == "__main__":
    cli.main()
