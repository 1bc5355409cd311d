"""Write the app's bundled example inputs into assets/examples/ (small 16-bit mono WAVs).

- ``align_<name>_a.wav`` / ``_b.wav``: pairs for the Alignment tab (the same sentence spoken
  fast and slow by two voices; the same whistle melody at two tempos);
- ``sound_<class>.wav``: single world sound events for the sound-driven tabs;
- ``speech_<n>.wav``: spoken descriptions for the language tab.

Deterministic: ``python -m scripts.make_examples`` rewrites identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bgtai.audio import write_audio
from bgtai.data.events import sample_event
from bgtai.data.sounds import render_event
from bgtai.data.speech import render_speech

OUT = Path(__file__).resolve().parents[1] / "assets" / "examples"
SENTENCE = "The children are playing happily in the garden."
SOUNDS = {"whistle": dict(pitch_level="high", repetitions=3), "bell": dict(repetitions=2),
          "clap": dict(repetitions=4), "hum": dict(pitch_level="low", repetitions=1),
          "siren": dict(repetitions=1), "chirp": dict(repetitions=5)}
SPOKEN = ["three loud high whistles", "a quiet low hum then a bell"]


def main() -> list[Path]:
    written = [
        write_audio(OUT / "align_speech_a.wav", render_speech(SENTENCE, "en-us", rate=130, pitch=40)),
        write_audio(OUT / "align_speech_b.wav", render_speech(SENTENCE, "en-gb-x-rp", rate=210, pitch=60)),
    ]
    rng = np.random.default_rng(7)
    for name, kwargs in SOUNDS.items():
        event = sample_event(rng, name, duration_s=2.0, **kwargs)
        written.append(write_audio(OUT / f"sound_{name}.wav", render_event(event, rng, pad_s=0.2)))
    for k, text in enumerate(SPOKEN):
        written.append(write_audio(OUT / f"speech_{k}.wav", render_speech(text, "en-us", rate=150)))
    return written


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(OUT.parent.parent), f"{path.stat().st_size // 1024} KB")
