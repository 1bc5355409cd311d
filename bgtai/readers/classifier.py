"""A small CNN that names the class of the objects in a world image.

It is the one learned reader: hue, size and count are measured by signal processing
(:mod:`bgtai.readers.image`), the class is not. It also serves as the fixed image encoder of the
"world-FID" metric through :meth:`WorldClassifier.features` (the 64-d pooled activations).

The bundled checkpoint (``assets/world_classifier/``: ``model.safetensors`` + ``config.json``)
is trained by ``train/train_classifier.py`` on the train split of the world, with blur and noise
augmentation so that it keeps working on generated (softer) images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bgtai.data.events import CLASSES
from bgtai.hub import SafeModelHubMixin

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "world_classifier"


@dataclass(frozen=True)
class WorldClassifierConfig:
    """Architecture of :class:`WorldClassifier` (saved as ``config.json``)."""

    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    image_size: int = 64
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 64])


class WorldClassifier(nn.Module, SafeModelHubMixin):
    """A stride-2 4x4 stem, conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool), global
    average pooling and a linear head. The stem halves the resolution first: 2.5x cheaper than
    full-resolution blocks, and a 2-pixel step still resolves the smallest (8 px) icons.

    Inputs are ``(B, 3, H, W)`` images, uint8 or float in [0, 1]; other sizes are resized to
    ``config.image_size``.
    """

    # A (frozen) instance as default, not None: the hub mixin then records it in config.json
    # even when the model is built with no arguments.
    # from_pretrained hands the saved config back as a dict.
    def __init__(self, config: WorldClassifierConfig | dict = WorldClassifierConfig()):
        super().__init__()
        self.config = WorldClassifierConfig(**config) if isinstance(config, dict) else config
        c_in = self.config.widths[0]
        layers = [
            nn.Conv2d(3, c_in, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=True),
        ]
        for c_out in self.config.widths:
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, len(self.config.classes))

    @property
    def feature_dim(self) -> int:
        return self.config.widths[-1]

    def _prepare(self, images) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(x.shape)}")
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = x.to(self.head.weight.device)
        if x.shape[-1] != self.config.image_size or x.shape[-2] != self.config.image_size:
            size = (self.config.image_size, self.config.image_size)
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        return x - 0.5

    def features(self, images) -> torch.Tensor:
        """``(B, feature_dim)`` pooled activations: the fixed encoder behind "world-FID"."""
        return self.body(self._prepare(images)).mean(dim=(2, 3))

    def forward(self, images) -> torch.Tensor:
        """``(B, n_classes)`` logits."""
        return self.head(self.features(images))

    @torch.no_grad()
    def predict(self, images) -> list[str]:
        """Class name of each image (eval mode)."""
        was_training = self.training
        self.eval()
        names = [self.config.classes[i] for i in self(images).argmax(dim=1).tolist()]
        self.train(was_training)
        return names


def load_world_classifier(path: str | Path | None = None) -> WorldClassifier:
    """Load the bundled classifier, or the one saved by ``save_pretrained`` at ``path`` (eval)."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not (path / "model.safetensors").is_file():
        raise ValueError(
            f"no world classifier checkpoint at {path} "
            "(train one with `python -m train.train_classifier`)"
        )
    return WorldClassifier.from_pretrained(path).eval()
