"""Attribute readers: measure what a sound or a world image shows.

Signal processing only, except the class of an image (a small bundled CNN):

- :mod:`bgtai.readers.audio`: pitch (Hz), loudness (dBFS, the world's definition), the number
  of repetitions of a sound and the pitch shift between two versions of one;
- :mod:`bgtai.readers.image`: hue (deg), size (fraction of the image side) and count of objects;
- :mod:`bgtai.readers.classifier`: :class:`WorldClassifier`, the class of the objects, and the
  fixed feature encoder behind "world-FID".

They score generated images and edited sounds, so they are validated on the world's ground
truth in ``tests/test_readers.py``.
"""

from bgtai.readers.audio import (
    AudioReading,
    read_audio,
    read_loudness,
    read_pitch,
    read_pitch_shift,
    read_repetitions,
)
from bgtai.readers.classifier import WorldClassifier, WorldClassifierConfig, load_world_classifier
from bgtai.readers.image import ImageReading, read_count, read_hue, read_image, read_size

__all__ = [
    "AudioReading",
    "read_audio",
    "read_loudness",
    "read_pitch",
    "read_pitch_shift",
    "read_repetitions",
    "ImageReading",
    "read_count",
    "read_hue",
    "read_image",
    "read_size",
    "WorldClassifier",
    "WorldClassifierConfig",
    "load_world_classifier",
]
