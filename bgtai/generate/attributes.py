"""The world attribute embedding: a picture described by what the world's readers see in it.

``[class probabilities (11, world classifier) | cos hue, sin hue | size | count one-hot (5)]``

(19 numbers). It is a function of the image alone, so mixing works on any picture, and it holds
exactly the attributes the faithfulness metrics ask about. It is the image-embedding space of the
fallback generator (:mod:`bgtai.generate.attribute_encoders`), written when the joint checkpoint
did not exist yet; the bundled generator uses the joint space (:mod:`bgtai.generate.embedders`).
"""

from __future__ import annotations

import math

import torch

from bgtai.data.events import CLASSES, MAX_REPETITIONS
from bgtai.data.images import SIZE_RANGE
from bgtai.readers.classifier import WorldClassifier
from bgtai.readers.image import read_image, to_uint8_batch

ATTRIBUTE_DIM = len(CLASSES) + 2 + 1 + MAX_REPETITIONS
"""Size of the world attribute embedding (class probs, hue cos/sin, size, count one-hot)."""


def attribute_embedding(images, classifier: WorldClassifier) -> torch.Tensor:
    """World attribute embedding of images (see the module docstring), ``(B, 19)`` float32.

    Without any object, hue, size and count are all zero (the "empty picture" point).
    """
    arr = to_uint8_batch(images)
    with torch.no_grad():
        probs = classifier(torch.from_numpy(arr).permute(0, 3, 1, 2)).softmax(-1).cpu()
    rest = torch.zeros(len(arr), ATTRIBUTE_DIM - len(CLASSES))
    lo, hi = SIZE_RANGE
    for i, image in enumerate(arr):
        reading = read_image(image)
        if reading.hue_deg is not None:
            rest[i, 0] = math.cos(math.radians(reading.hue_deg))
            rest[i, 1] = math.sin(math.radians(reading.hue_deg))
        if reading.size is not None:  # -1 .. 1 across the world's size range
            rest[i, 2] = (reading.size - (lo + hi) / 2) / ((hi - lo) / 2)
        if reading.count > 0:
            rest[i, 3 + min(reading.count, MAX_REPETITIONS) - 1] = 1.0
    return torch.cat([probs, rest], dim=1)


def split_attributes(embeds: torch.Tensor) -> dict[str, torch.Tensor]:
    """Decode attribute embeddings back into class index, hue (deg), size and count."""
    if embeds.ndim != 2 or embeds.shape[1] != ATTRIBUTE_DIM:
        raise ValueError(f"expected (B, {ATTRIBUTE_DIM}) attribute embeddings, got {tuple(embeds.shape)}")
    lo, hi = SIZE_RANGE
    n = len(CLASSES)
    return {
        "class": embeds[:, :n].argmax(1),
        "hue_deg": torch.rad2deg(torch.atan2(embeds[:, n + 1], embeds[:, n])) % 360.0,
        "size": (lo + hi) / 2 + embeds[:, n + 2] * (hi - lo) / 2,
        "count": embeds[:, n + 3:].argmax(1) + 1,
    }

