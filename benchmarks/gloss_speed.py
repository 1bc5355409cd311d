"""Inference speed of the bundled Langue2Gloss model (``assets/gloss``) on the CPU.

Times greedy :meth:`GlossTranslator.from_text` on a 10-word sentence and
:meth:`GlossTranslator.from_speech` on a 3 s utterance (the bundled ``align_speech_a.wav``
cut to 3 s), 5 warm-up and 30 timed calls each, with 1 and 2 torch threads; the rule-based
:func:`english_to_gloss` on the same sentence is the baseline. The app's default speech path,
the cascade (:func:`bgtai.gloss.speech.gloss_speech`: Moonshine base, then the rules), is timed
on the same 3 s utterance, with the recogniser alone beside it (its runtime picks its own
threads); the cascade with Moonshine tiny is the same-process baseline of ``cascade_vs_tiny``;
the same recogniser with the runtime's own options (``BEFORE_OPTIONS``, this
project's settings before its ``RUNTIME_OPTIONS``), without the silence put around the audio
(``edge_silence=0``) and without the second, whole-utterance pass (``whole_seconds=0``) is the
same-process baseline of ``cascade_vs_before``; ``cascade_vs_one_pass`` compares with today's
settings less the whole-utterance pass alone. Wall-clock and
process CPU time are both reported, since the 2 cores are shared with other jobs::

    python -m benchmarks.gloss_speed [--json OUT] [--threads 1 2]
"""

from __future__ import annotations

import os

# Spinning OpenMP threads collapse when other processes share the cores (see benchmarks/dtw.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.gloss_rules import TEN_WORDS
from bgtai.audio import SAMPLE_RATE, load_audio
from bgtai.gloss import english_to_gloss
from bgtai.gloss.asr import SpeechRecognizer, default_recognizer
from bgtai.gloss.speech import gloss_speech
from bgtai.gloss.translator import GlossTranslator

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "assets" / "gloss"
UTTERANCE = ROOT / "assets" / "examples" / "align_speech_a.wav"
WARMUP, RUNS = 5, 30
BEFORE_OPTIONS = {"return_audio_data": "true", "vad_threshold": "0.5"}  # the runtime's defaults


def three_seconds() -> np.ndarray:
    """The bundled utterance, cut (or zero-padded) to exactly 3 s at 16 kHz."""
    wave = load_audio(UTTERANCE)[: 3 * SAMPLE_RATE]
    return np.pad(wave, (0, 3 * SAMPLE_RATE - len(wave)))


def timings(fn) -> dict[str, float]:
    """Median and 90th percentile, in ms, of wall-clock and process CPU time per call."""
    for _ in range(WARMUP):
        fn()
    wall, cpu = [], []
    for _ in range(RUNS):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    out = {}
    for name, values in (("wall", wall), ("cpu", cpu)):
        out[f"{name}_median_ms"] = 1000.0 * float(np.median(values))
        out[f"{name}_p90_ms"] = 1000.0 * float(np.percentile(values, 90))
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print and return its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch threads")
    args = parser.parse_args(argv)

    translator = GlossTranslator.from_pretrained(MODEL)
    wave = three_seconds()
    figures: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
                   f"Python {platform.python_version()}, torch {torch.__version__}",
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_start": os.getloadavg(),
        "text": TEN_WORDS, "text_gloss": translator.from_text(TEN_WORDS).text,
        "speech_gloss": translator.from_speech(wave).text,
    }
    english_to_gloss(TEN_WORDS)  # load the lexicons before timing
    figures["rules"] = timings(lambda: english_to_gloss(TEN_WORDS))
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name, fn in (("text", lambda: translator.from_text(TEN_WORDS)),
                         ("speech", lambda: translator.from_speech(wave))):
            result = timings(fn)
            result["vs_rules"] = result["wall_median_ms"] / figures["rules"]["wall_median_ms"]
            figures[f"{name}_{threads}_thread{'s' if threads > 1 else ''}"] = result
    recognizer = default_recognizer()
    before = SpeechRecognizer(options=BEFORE_OPTIONS, edge_silence=0.0, whole_seconds=0.0)
    one_pass = SpeechRecognizer(whole_seconds=0.0)
    tiny = SpeechRecognizer("tiny")
    figures["cascade_transcript"] = recognizer.transcribe(wave).text
    figures["cascade_gloss"] = gloss_speech(wave, recognizer=recognizer).text
    for name, fn in (("recogniser", lambda: recognizer.transcribe(wave)),
                     ("cascade", lambda: gloss_speech(wave, recognizer=recognizer)),
                     ("cascade_before", lambda: gloss_speech(wave, recognizer=before)),
                     ("cascade_one_pass", lambda: gloss_speech(wave, recognizer=one_pass)),
                     ("cascade_tiny", lambda: gloss_speech(wave, recognizer=tiny))):
        result = timings(fn)
        result["vs_rules"] = result["wall_median_ms"] / figures["rules"]["wall_median_ms"]
        figures[name] = result
    figures["cascade_vs_before"] = (figures["cascade"]["wall_median_ms"]
                                    / figures["cascade_before"]["wall_median_ms"])
    figures["cascade_vs_one_pass"] = (figures["cascade"]["wall_median_ms"]
                                      / figures["cascade_one_pass"]["wall_median_ms"])
    figures["cascade_vs_tiny"] = (figures["cascade"]["wall_median_ms"]
                                  / figures["cascade_tiny"]["wall_median_ms"])
    figures["load_average_end"] = os.getloadavg()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
