"""Embedding spaces of the generator and the learned maps into the image-embedding space.

The decoder (:mod:`bgtai.generate.unet`) draws an image from an **image embedding**, as unCLIP's
decoder does; audio and gloss reach it through a learned map into that space (unCLIP's "prior",
here a deterministic regressor: one sound asks for one picture in the world, so there is no
multi-modal posterior to sample from).

Which image embedding
---------------------
The generator is written against the small :class:`Embedder` protocol (audio -> embedding,
image -> embedding, gloss -> embedding) so that the joint UniBriVL space (``bgtai.joint``) can be
plugged in. The bundled checkpoint uses :class:`WorldAttributeEmbedder`, our own documented
choice made because the joint checkpoint did not exist when the generator had to be trained:
an image is embedded by what the world's readers see in it,

``[class probabilities (11, world classifier) | cos hue, sin hue | size | count one-hot (5)]``

(19 numbers). It is a function of the image alone, so ``mix_image`` works on any picture, and it
holds exactly the attributes the faithfulness metrics ask about. The audio and gloss encoders of
this fallback (:class:`AudioEncoder`, :class:`GlossEncoder`) are trained together with their
:class:`EmbeddingMapper` to regress the image embedding of the paired picture (mean squared
error), so their outputs live in the image-embedding space by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bgtai.audio import LogMel
from bgtai.data.events import CLASSES, MAX_REPETITIONS
from bgtai.data.images import SIZE_RANGE
from bgtai.hub import SafeModelHubMixin
from bgtai.readers.classifier import WorldClassifier
from bgtai.readers.image import read_image, to_uint8_rgb

SUM_POOL_SCALE = 64.0
"""GRU steps (40 ms each) that the sum pooling is divided by: about a 2.5 s event."""

ATTRIBUTE_DIM = len(CLASSES) + 2 + 1 + MAX_REPETITIONS
"""Size of the world attribute embedding (class probs, hue cos/sin, size, count one-hot)."""


@runtime_checkable
class Embedder(Protocol):
    """What the generator needs from an embedding model (the joint space or the fallback).

    Every method returns a float32 tensor ``(B, dim)`` already in the **image-embedding space**
    the decoder was trained on (apply an :class:`EmbeddingMapper` inside where the spaces differ).
    """

    dim: int

    def embed_images(self, images: np.ndarray) -> torch.Tensor:
        """``(B, H, W, 3)`` uint8 images -> ``(B, dim)``."""

    def embed_audio(self, waves: list[np.ndarray]) -> torch.Tensor:
        """Mono 16 kHz waveforms -> ``(B, dim)``."""

    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        """Gloss strings (``"THREE DESC-LOUD WHISTLE"``) -> ``(B, dim)``."""


def _images_array(images, size: int | None = None) -> np.ndarray:
    """A ``(B, H, W, 3)`` uint8 array from one image or a batch (array, list or PIL); with
    ``size``, pictures of another size are resized to ``size x size`` (any upload works)."""
    if isinstance(images, (list, tuple)):
        items = list(images)
    else:
        arr = np.asarray(images)
        if arr.ndim not in (3, 4):
            raise ValueError(f"expected (H, W, 3) or (B, H, W, 3) images, got shape {arr.shape}")
        items = [arr] if arr.ndim == 3 else list(arr)
    rgb = [to_uint8_rgb(im) for im in items]
    if size is not None:
        rgb = [im if im.shape[:2] == (size, size) else
               np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BICUBIC))
               for im in rgb]
    return np.stack(rgb)


def attribute_embedding(images, classifier: WorldClassifier) -> torch.Tensor:
    """World attribute embedding of images (see the module docstring), ``(B, 19)`` float32.

    Without any object, hue, size and count are all zero (the "empty picture" point).
    """
    arr = _images_array(images)
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


# ---------------------------------------------------------------------------------------------
# learned maps


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


@dataclass(frozen=True)
class AudioEncoderConfig:
    """Fallback audio encoder: log-mel -> strided 1-D convolutions -> bidirectional GRU."""

    n_mels: int = 64
    channels: int = 128
    gru_hidden: int = 96
    embed_dim: int = 64
    mapper: MapperConfig = field(default_factory=MapperConfig)


class AudioEncoder(nn.Module, SafeModelHubMixin):
    """Sound -> image-embedding space for the fallback (:class:`WorldAttributeEmbedder`).

    The loudness-keeping :class:`~bgtai.audio.LogMel` front-end lets the level reach the size
    attribute; the bidirectional GRU over 40 ms steps marks the repetitions; mean, max and
    (scaled) sum pooling over the valid steps feed the projection to a 64-d audio embedding, the
    sum because a count is a sum over time that mean pooling divides away (with mean and max
    only, the count was right for 32 % of test sounds after 4 epochs while class and hue were
    near perfect). :class:`EmbeddingMapper` takes the embedding into the image-embedding space.
    """

    def __init__(self, config: AudioEncoderConfig | dict = AudioEncoderConfig()):
        super().__init__()
        if isinstance(config, dict):
            config = AudioEncoderConfig(**{**config, "mapper": MapperConfig(**config.get("mapper", {}))})
        self.config = c = config
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
class GlossEncoderConfig:
    """Fallback gloss encoder: a bag of gloss words (order barely matters in world glosses)."""

    vocab: list[str] = field(default_factory=list)
    embed_dim: int = 64
    mapper: MapperConfig = field(default_factory=MapperConfig)


class GlossEncoder(nn.Module, SafeModelHubMixin):
    """Gloss -> image-embedding space for the fallback: mean of word vectors, then the mapper.

    Unknown words are ignored; a gloss with no known word is refused (``ValueError``) rather
    than turned into an arbitrary picture.
    """

    def __init__(self, config: GlossEncoderConfig | dict = GlossEncoderConfig()):
        super().__init__()
        if isinstance(config, dict):
            config = GlossEncoderConfig(**{**config, "mapper": MapperConfig(**config.get("mapper", {}))})
        self.config = c = config
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


def pad_waves(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad mono waves into ``(B, max_len)`` with their lengths."""
    lengths = torch.tensor([len(w) for w in waves])
    out = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        out[i, : len(w)] = torch.as_tensor(np.asarray(w, dtype=np.float32))
    return out, lengths


class WorldAttributeEmbedder:
    """The fallback :class:`Embedder`: world attribute embeddings (see the module docstring)."""

    dim = ATTRIBUTE_DIM

    def __init__(self, classifier: WorldClassifier, audio: AudioEncoder,
                 gloss: GlossEncoder | None = None):
        self.classifier = classifier.eval()
        self.audio = audio.eval()
        self.gloss = None if gloss is None else gloss.eval()

    def embed_images(self, images) -> torch.Tensor:
        return attribute_embedding(images, self.classifier)

    @torch.no_grad()
    def embed_audio(self, waves: list[np.ndarray]) -> torch.Tensor:
        return self.audio(*pad_waves(waves))

    @torch.no_grad()
    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        if self.gloss is None:
            raise ValueError("this generator checkpoint has no gloss encoder: text/speech to image "
                             "is unavailable")
        return self.gloss(glosses)


class JointEmbedder:
    """The :class:`Embedder` over the UniBriVL joint space (:class:`bgtai.joint.JointModel`).

    Images are embedded by the joint image encoder (that *is* the image-embedding space the
    decoder is then trained on); audio and gloss embeddings go through their own
    :class:`EmbeddingMapper`, trained on paired data to land on the paired image's embedding:
    InfoNCE aligns directions and leaves a modality gap that the decoder would see otherwise.
    """

    def __init__(self, joint, audio_mapper: EmbeddingMapper, gloss_mapper: EmbeddingMapper):
        self.joint = joint.eval()
        self.dim = int(joint.config.dim)
        for name, m in (("audio", audio_mapper), ("gloss", gloss_mapper)):
            if (m.config.in_dim, m.config.out_dim) != (self.dim, self.dim):
                raise ValueError(f"the {name} mapper maps {m.config.in_dim} -> {m.config.out_dim}, "
                                 f"the joint space has {self.dim} dimensions")
        self.audio_mapper, self.gloss_mapper = audio_mapper.eval(), gloss_mapper.eval()

    @torch.no_grad()
    def embed_images(self, images) -> torch.Tensor:
        arr = _images_array(images, self.joint.config.image_size)
        device = next(self.joint.parameters()).device
        return self.joint.embed_image(torch.from_numpy(arr).to(device).permute(0, 3, 1, 2))

    @torch.no_grad()
    def audio_embeddings(self, waves: list[np.ndarray]) -> torch.Tensor:
        """Joint-space clip embeddings, before the mapping."""
        device = next(self.joint.parameters()).device
        return self.joint.embed_audio(*(t.to(device) for t in pad_waves(waves)))[0]

    @torch.no_grad()
    def gloss_embeddings(self, glosses: list[str]) -> torch.Tensor:
        """Joint-space embeddings of gloss strings, before the mapping."""
        seqs = [self.joint.vocab.ids(g.upper().split()) for g in glosses]
        if any(len(s) == 0 for s in seqs):
            raise ValueError("a gloss has no word the joint model knows")
        lengths = torch.tensor([len(s) for s in seqs])
        ids = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        device = next(self.joint.parameters()).device
        return self.joint.embed_tokens(ids.to(device), lengths.to(device))

    @torch.no_grad()
    def embed_audio(self, waves: list[np.ndarray]) -> torch.Tensor:
        return self.audio_mapper(self.audio_embeddings(waves))

    @torch.no_grad()
    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        return self.gloss_mapper(self.gloss_embeddings(glosses))
