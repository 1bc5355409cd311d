"""Inference speed of the bundled audio captioner (``assets/caption``) on the CPU.

Times :func:`bgtai.caption.model.caption_waveform` on a 10 s world clip (three events) with 1
and 2 torch threads, 5 warm-up and 30 timed calls; the baseline is the joint model's clip
embedding of the same waveform (``JointModel.embed_waveform``, the Sound -> Image path's
first step), timed in the same process. Wall-clock and process CPU time are both reported,
since the 2 cores are shared with other jobs::

    python -m benchmarks.caption_speed [--json OUT] [--threads 1 2]
"""

from __future__ import annotations

import os

# Spinning OpenMP threads collapse when other processes share the cores (see benchmarks/dtw.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

from benchmarks.gloss_speed import timings
from bgtai.caption.model import AudioCaptioner, caption_waveform
from bgtai.data.clips import sample_clip
from bgtai.data.world import split_combos
from bgtai.joint.model import JointModel

ROOT = Path(__file__).resolve().parents[1]


def ten_second_clip() -> tuple[np.ndarray, str]:
    """A 10 s test-split clip with three events, and what it holds."""
    rng = np.random.default_rng(10)
    clip = sample_clip(rng, duration_s=10.0, n_events=3, image_size=32,
                       combos=split_combos("test"))
    return clip.audio, "; ".join(f"{e.repetitions} {e.loudness_level} {e.pitch_level} {e.cls}"
                                 for e in clip.events)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print and return its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch threads")
    parser.add_argument("--model", default=str(ROOT / "assets" / "caption"))
    args = parser.parse_args(argv)

    captioner = AudioCaptioner.from_pretrained(args.model).eval()
    joint = JointModel.from_pretrained(ROOT / "assets" / "joint").eval()
    wave, truth = ten_second_clip()
    figures: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
                   f"Python {platform.python_version()}, torch {torch.__version__}",
        "load_average_start": os.getloadavg(),
        "clip": truth, "caption": caption_waveform(captioner, wave).gloss,
    }
    for threads in args.threads:
        torch.set_num_threads(threads)
        suffix = f"{threads}_thread{'s' if threads > 1 else ''}"
        base = timings(lambda: joint.embed_waveform(wave))
        result = timings(lambda: caption_waveform(captioner, wave))
        result["vs_joint_embedding"] = result["wall_median_ms"] / base["wall_median_ms"]
        figures[f"joint_embedding_{suffix}"] = base
        figures[f"caption_{suffix}"] = result
    figures["load_average_end"] = os.getloadavg()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
