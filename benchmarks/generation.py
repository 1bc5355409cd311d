"""Speed and memory of the embedded sound-to-image pipeline on the CPU.

Run ``python -m benchmarks.generation [--json PATH] [--model DIR] [--audio FILE] [--repeats 10]``.
It loads the whole embedded pipeline (decoder, audio and gloss encoders, world classifier), then
times complete calls ``pipe(sound, gain_db=..., semitones=...)`` (edit, embed, decode one 64x64
image at the default number of steps and candidates) on a world test sound or on ``--audio`` (a
real recording costs more: the steering of :mod:`bgtai.generate.steering` embeds it a second
time and measures it), the same with a single candidate (no re-ranking: the
ratio is what re-ranking costs) and the decoder alone, and reports the medians, plus the peak
resident memory of the process (``ru_maxrss``: Python, torch and every model, i.e. what the app needs).
The load average is recorded too: the numbers are only comparable on an idle machine.
"""

from __future__ import annotations

import os

# Spinning OpenMP threads collapse when other processes share the cores (see benchmarks/dtw.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

from bgtai.audio import SAMPLE_RATE, load_audio
from bgtai.data.world import WorldDataset
from bgtai.generate.pipeline import DEFAULT_CHECKPOINT, SoundToImage

THREADS = 2
TARGET_S = 1.0
TARGET_RSS_GB = 2.0


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> dict:
    """Run the benchmark; returns what it writes to ``--json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--model", type=Path, default=DEFAULT_CHECKPOINT)
    ap.add_argument("--audio", type=Path, default=None,
                    help="time this recording (any format libsndfile reads) instead of a world "
                         "sound")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    torch.set_num_threads(THREADS)
    pipe = SoundToImage.from_pretrained(args.model)
    if args.audio is None:
        _, wave, _ = WorldDataset("test", 1, kind="event").event(0)
    else:
        wave = load_audio(args.audio)
    emb = pipe.backend.embed_audio([wave])
    seeds = iter(range(10**6))

    def call(**kwargs):
        return pipe(wave, 16_000, gain_db=3.0, semitones=2.0, seed=next(seeds), **kwargs)

    full = _median_time(call, args.repeats)
    single = _median_time(lambda: call(candidates=1), args.repeats)
    decode = _median_time(lambda: pipe.generate(emb, seed=next(seeds), candidates=1), args.repeats)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    data = {
        "median_s_per_image": full,
        "median_s_one_candidate": single,
        "reranking_cost_ratio": full / single,
        "median_s_decoder_only": decode,
        "steps": pipe.backend.decoder.config.default_steps,
        "candidates": pipe.candidates,
        "peak_rss_gb": rss_gb,
        "meets_time_target": full < TARGET_S,
        "meets_memory_target": rss_gb < TARGET_RSS_GB,
        "threads": THREADS,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "decoder_parameters": sum(p.numel() for p in pipe.backend.decoder.parameters()),
        "sound": "world test sound 0" if args.audio is None else str(args.audio),
        "sound_seconds": len(wave) / SAMPLE_RATE,
    }
    print(json.dumps(data, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1))
    return data


if __name__ == "__main__":
    main()
