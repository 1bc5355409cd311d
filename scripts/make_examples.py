"""Write the app's bundled example inputs into assets/examples/ (small 16-bit mono WAVs).

- ``align_<name>_a.wav`` / ``_b.wav``: pairs for the Alignment tab (the same sentence spoken
  fast and slow by two voices; the same whistle melody at two tempos);
- ``sound_<class>.wav``: single world sound events for the sound-driven tabs. The Sound -> Image
  tab shows each one's picture (sliders at 0, seed 0), so each is the first drawn event whose
  picture, by the bundled generator, the readers grade right (the class by the world classifier,
  the number of objects by the image reader): a visitor's first clicks show correct pictures,
  chosen by the readers, not by hand;
- ``speech_<n>.wav``: spoken descriptions for the language tab.

Deterministic: ``python -m scripts.make_examples`` rewrites identical files (for the same
bundled generator).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import torch

from bgtai.audio import write_audio
from bgtai.data.events import sample_event
from bgtai.data.sounds import render_event
from bgtai.data.speech import render_speech
from bgtai.generate.pipeline import SoundToImage
from bgtai.readers import load_world_classifier, read_image

OUT = Path(__file__).resolve().parents[1] / "assets" / "examples"
SENTENCE = "The children are playing happily in the garden."
SOUNDS = {"whistle": dict(pitch_level="high", repetitions=3), "bell": dict(repetitions=2),
          "clap": dict(repetitions=4), "hum": dict(pitch_level="low", repetitions=1),
          "siren": dict(repetitions=1), "chirp": dict(repetitions=5)}
SPOKEN = ["three loud high whistles", "a quiet low hum then a bell"]
TRIES = 20
"""Events drawn per example at most before giving up."""


def drawn_right(path: Path, event, pipe: SoundToImage, classifier) -> bool:
    """Whether the picture the app shows for the sound file at ``path`` (sliders at 0, seed 0,
    the app's 15 steps) has ``event``'s class and number of objects, by the readers."""
    picture = pipe(path, seed=0, steps=15).image
    cls = classifier.predict(torch.from_numpy(picture[None]).permute(0, 3, 1, 2))[0]
    return cls == event.cls and read_image(picture).count == event.repetitions


def write_sound(name: str, kwargs: dict, rng, pipe: SoundToImage, classifier) -> Path:
    """The first of up to :data:`TRIES` events of class ``name`` whose picture is right."""
    path = OUT / f"sound_{name}.wav"
    for _ in range(TRIES):
        event = sample_event(rng, name, duration_s=2.0, **kwargs)
        write_audio(path, render_event(event, rng, pad_s=0.2))
        if drawn_right(path, event, pipe, classifier):
            return path
    raise RuntimeError(f"no {name} among {TRIES} events gets a right picture")


def main() -> list[Path]:
    written = [
        write_audio(OUT / "align_speech_a.wav", render_speech(SENTENCE, "en-us", rate=130, pitch=40)),
        write_audio(OUT / "align_speech_b.wav", render_speech(SENTENCE, "en-gb-x-rp", rate=210, pitch=60)),
    ]
    rng = np.random.default_rng(7)
    pipe, classifier = SoundToImage.from_pretrained(), load_world_classifier()
    for name, kwargs in SOUNDS.items():
        written.append(write_sound(name, kwargs, rng, pipe, classifier))
    for k, text in enumerate(SPOKEN):
        written.append(write_audio(OUT / f"speech_{k}.wav", render_speech(text, "en-us", rate=150)))
    return written


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(OUT.parent.parent), f"{path.stat().st_size // 1024} KB")
