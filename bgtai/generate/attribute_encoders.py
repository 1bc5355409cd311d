"""The fallback generator's encoders: sound and gloss regressed into the world attribute space.

The audio and gloss encoders of the fallback (:class:`AttributeAudioEncoder`,
:class:`AttributeGlossEncoder`) are trained together with their
:class:`~bgtai.generate.mapping.EmbeddingMapper` to regress the attribute embedding
(:mod:`bgtai.generate.attributes`) of the paired picture (mean squared error), so their outputs
live in the image-embedding space by construction. :class:`WorldAttributeEmbedder` is the
:class:`~bgtai.generate.embedders.Embedder` they make up (``pipeline.json``:
``"embedder": "world_attributes"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bgtai.audio import LogMel
from bgtai.generate.attributes import ATTRIBUTE_DIM, attribute_embedding
from bgtai.generate.embedders import pad_waves
from bgtai.generate.mapping import EmbeddingMapper, MapperConfig
from bgtai.hub import SafeModelHubMixin
from bgtai.readers.classifier import WorldClassifier

SUM_POOL_SCALE = 64.0
"""GRU steps (40 ms each) that the sum pooling is divided by: about a 2.5 s event."""


def _config(cls, config):
    """``config`` as a ``cls`` instance: a dict (a saved ``config.json``) is converted with its
    nested ``mapper``."""
    if isinstance(config, dict):
        return cls(**{**config, "mapper": MapperConfig(**config.get("mapper", {}))})
    return config


@dataclass(frozen=True)
class AttributeAudioEncoderConfig:
    """Fallback audio encoder: log-mel -> strided 1-D convolutions -> bidirectional GRU."""

    n_mels: int = 64
    channels: int = 128
    gru_hidden: int = 96
    embed_dim: int = 64
    mapper: MapperConfig = field(default_factory=MapperConfig)


class AttributeAudioEncoder(nn.Module, SafeModelHubMixin):
    """Sound -> image-embedding space for the fallback (:class:`WorldAttributeEmbedder`).

    The loudness-keeping :class:`~bgtai.audio.LogMel` front-end lets the level reach the size
    attribute; the bidirectional GRU over 40 ms steps marks the repetitions; mean, max and
    (scaled) sum pooling over the valid steps feed the projection to a 64-d audio embedding, the
    sum because a count is a sum over time that mean pooling divides away (with mean and max
    only, the count was right for 32 % of test sounds after 4 epochs while class and hue were
    near perfect). :class:`EmbeddingMapper` takes the embedding into the image-embedding space.
    """

    def __init__(self, config: AttributeAudioEncoderConfig | dict = AttributeAudioEncoderConfig()):
        super().__init__()
        self.config = c = _config(AttributeAudioEncoderConfig, config)
        self.mel = LogMel(c.n_mels)
        self.conv = nn.Sequential(
            nn.Conv1d(c.n_mels, c.channels, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c.channels, c.channels, 5, stride=2, padding=2), nn.GELU(),
        )
        self.gru = nn.GRU(c.channels, c.gru_hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(6 * c.gru_hidden, c.embed_dim)
        self.mapper = EmbeddingMapper(c.mapper)

    def audio_embedding(self, waves: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` zero-padded waves with their lengths -> ``(B, embed_dim)``."""
        # log10 mel of silence is -10; centre it so padding and quiet input sit near zero
        feats = (self.mel(waves) + 5.0) / 5.0  # (B, frames, mels)
        x = self.conv(feats.transpose(1, 2)).transpose(1, 2)  # (B, steps, channels)
        steps = ((lengths // self.mel.hop_length + 1 + 3) // 4).clamp(1, x.shape[1])
        packed = pack_padded_sequence(x, steps.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        valid = (torch.arange(x.shape[1], device=x.device)[None] < steps[:, None].to(x.device))
        total = (out * valid[..., None]).sum(1)
        mean = total / steps[:, None].to(out)
        peak = out.masked_fill(~valid[..., None], -1e4).amax(1)
        # the sum grows with the number of onsets the GRU marks: a direct route to the count
        return self.proj(torch.cat([mean, peak, total / SUM_POOL_SCALE], dim=1))

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Image-space embeddings ``(B, out_dim)``."""
        return self.mapper(self.audio_embedding(waves, lengths))


@dataclass(frozen=True)
class AttributeGlossEncoderConfig:
    """Fallback gloss encoder: a bag of gloss words (order barely matters in world glosses)."""

    vocab: list[str] = field(default_factory=list)
    embed_dim: int = 64
    mapper: MapperConfig = field(default_factory=MapperConfig)


class AttributeGlossEncoder(nn.Module, SafeModelHubMixin):
    """Gloss -> image-embedding space for the fallback: mean of word vectors, then the mapper.

    Unknown words are ignored; a gloss with no known word is refused (``ValueError``) rather
    than turned into an arbitrary picture.
    """

    def __init__(self, config: AttributeGlossEncoderConfig | dict = AttributeGlossEncoderConfig()):
        super().__init__()
        self.config = c = _config(AttributeGlossEncoderConfig, config)
        self.index = {w: i for i, w in enumerate(c.vocab)}
        self.words = nn.EmbeddingBag(max(1, len(c.vocab)), c.embed_dim, mode="mean")
        self.mapper = EmbeddingMapper(c.mapper)

    def token_ids(self, gloss: str) -> list[int]:
        return [self.index[w] for w in gloss.upper().split() if w in self.index]

    def forward(self, glosses: list[str]) -> torch.Tensor:
        ids, offsets = [], []
        for g in glosses:
            tok = self.token_ids(g)
            if not tok:
                raise ValueError(f"none of the gloss words in {g!r} is known to the generator; "
                                 "describe a sound of the world (e.g. 'three loud high whistles')")
            offsets.append(len(ids))
            ids.extend(tok)
        device = self.words.weight.device
        bag = self.words(torch.tensor(ids, device=device), torch.tensor(offsets, device=device))
        return self.mapper(bag)


class WorldAttributeEmbedder:
    """The fallback :class:`Embedder`: world attribute embeddings (see the module docstring)."""

    dim = ATTRIBUTE_DIM

    def __init__(self, classifier: WorldClassifier, audio: AttributeAudioEncoder,
                 gloss: AttributeGlossEncoder | None = None):
        self.classifier = classifier.eval()
        self.audio = audio.eval()
        self.gloss = None if gloss is None else gloss.eval()

    def embed_images(self, images) -> torch.Tensor:
        return attribute_embedding(images, self.classifier)

    @torch.no_grad()
    def embed_audio(self, waves: list[np.ndarray],
                    recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        return self.audio(*pad_waves(waves))  # one reading of the sound: ``recorded`` unused

    @torch.no_grad()
    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        if self.gloss is None:
            raise ValueError("this generator checkpoint has no gloss encoder: text/speech to image "
                             "is unavailable")
        return self.gloss(glosses)

