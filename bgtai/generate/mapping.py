"""The learned map from an audio or gloss embedding into the decoder's image-embedding space.

The decoder (:mod:`bgtai.generate.unet`) draws an image from an **image embedding**, as unCLIP's
decoder does; audio and gloss reach it through this map (unCLIP's "prior", here a deterministic
regressor: one sound asks for one picture in the world, so there is no multi-modal posterior to
sample from).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bgtai.generate.attributes import ATTRIBUTE_DIM
from bgtai.hub import SafeModelHubMixin


@dataclass(frozen=True)
class MapperConfig:
    """An MLP from one embedding space into the image-embedding space."""

    in_dim: int = 64
    out_dim: int = ATTRIBUTE_DIM
    hidden: int = 128


class EmbeddingMapper(nn.Module, SafeModelHubMixin):
    """Two-layer MLP ``in_dim -> out_dim``: the map from audio/gloss embeddings into image space.

    With the joint space (``bgtai.joint``) it is trained on pairs (audio embedding, image
    embedding of the paired picture) with mean squared error; the contrastive space aligns
    directions only, while the decoder needs the image embeddings' actual values.
    """

    def __init__(self, config: MapperConfig | dict = MapperConfig()):
        super().__init__()
        self.config = MapperConfig(**config) if isinstance(config, dict) else config
        c = self.config
        self.net = nn.Sequential(nn.Linear(c.in_dim, c.hidden), nn.GELU(), nn.Linear(c.hidden, c.out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
