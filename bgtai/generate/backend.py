"""The one interface :class:`~bgtai.generate.pipeline.SoundToImage` draws through.

A backend embeds sounds, pictures and glosses into the space its decoder reads (the
:class:`~bgtai.generate.embedders.Embedder` part) and decodes embeddings into pictures from the
starting noise it is given. Two implement it: :class:`EmbeddedBackend` (the bundled diffusion
decoder with its embedder) and :class:`~bgtai.generate.pretrained.UnclipBackend` (Stable unCLIP
fed by an audio projector). Seeds, the sliders, mixing and re-ranking live in the front, once
for both.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from bgtai.generate.embedders import Embedder
from bgtai.generate.unet import ImageDecoder


@runtime_checkable
class Backend(Embedder, Protocol):
    """An :class:`~bgtai.generate.embedders.Embedder` that can also draw pictures.

    ``embed_gloss`` raises ``ValueError`` on a backend without a gloss route.
    """

    @property
    def noise_shape(self) -> tuple[int, ...]:
        """Shape of one picture's starting noise (what :meth:`decode` takes per embedding)."""

    def decode(self, embeddings: torch.Tensor, noise: torch.Tensor, *, steps: int | None = None,
               guidance_scale: float | None = None,
               generator: torch.Generator | None = None) -> np.ndarray:
        """``(N, dim)`` embeddings and ``(N, *noise_shape)`` noise -> ``(N, H, W, 3)`` uint8.

        ``steps`` and ``guidance_scale`` default to the backend's own and are validated here;
        ``generator`` feeds any other randomness the decoder needs.
        """


class EmbeddedBackend:
    """The embedded profile: :class:`~bgtai.generate.unet.ImageDecoder` and its embedder.

    Parameters
    ----------
    decoder : ImageDecoder
        Diffusion decoder from image embeddings.
    embedder : Embedder
        Audio, image and gloss embeddings in the decoder's image-embedding space.
    """

    def __init__(self, decoder: ImageDecoder, embedder: Embedder):
        if embedder.dim != decoder.config.embed_dim:
            raise ValueError(f"the embedder's dimension {embedder.dim} does not match the decoder's "
                             f"{decoder.config.embed_dim}")
        self.decoder = decoder.eval()
        self.embedder = embedder
        self.dim = embedder.dim

    def embed_audio(self, waves: list[np.ndarray],
                    recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        return self.embedder.embed_audio(waves, recorded)

    def embed_images(self, images) -> torch.Tensor:
        return self.embedder.embed_images(images)

    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        return self.embedder.embed_gloss(glosses)

    @property
    def noise_shape(self) -> tuple[int, int, int]:
        c = self.decoder.config
        return c.channels, c.grid, c.grid

    def decode(self, embeddings: torch.Tensor, noise: torch.Tensor, *, steps: int | None = None,
               guidance_scale: float | None = None,
               generator: torch.Generator | None = None) -> np.ndarray:
        """The decoder's sampler from ``noise`` (it needs no other randomness: ``generator`` is
        unused)."""
        return self.decoder.sample(embeddings, steps=steps, guidance_scale=guidance_scale,
                                   noise=noise)
