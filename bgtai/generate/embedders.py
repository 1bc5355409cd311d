"""Embedding spaces the generator works in: the :class:`Embedder` protocol and the joint space.

The generator is written against the small :class:`Embedder` protocol (audio -> embedding,
image -> embedding, gloss -> embedding). The bundled checkpoint uses :class:`JointEmbedder`, the
UniBriVL joint space of :mod:`bgtai.joint` (``pipeline.json``: ``"embedder": "joint"``); the
fallback :class:`~bgtai.generate.attribute_encoders.WorldAttributeEmbedder` describes pictures by
the world's readers (``"world_attributes"``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from bgtai.data.events import CLASSES
from bgtai.generate.mapping import EmbeddingMapper
from bgtai.generate.steering import Steering
from bgtai.readers.image import to_uint8_batch


@runtime_checkable
class Embedder(Protocol):
    """What the generator needs from an embedding model (the joint space or the fallback).

    Every method returns a float32 tensor ``(B, dim)`` already in the **image-embedding space**
    the decoder was trained on (apply an :class:`EmbeddingMapper` inside where the spaces differ).
    """

    dim: int

    def embed_images(self, images: np.ndarray) -> torch.Tensor:
        """``(B, H, W, 3)`` uint8 images -> ``(B, dim)``."""

    def embed_audio(self, waves: list[np.ndarray],
                    recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        """Mono 16 kHz waveforms -> ``(B, dim)``; ``recorded``: for slider edits, the unedited
        sound of each, where the model reads what a sound is apart from how loud and high."""

    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        """Gloss strings (``"THREE DESC-LOUD WHISTLE"``) -> ``(B, dim)``."""



UNKNOWN_ID = 1
"""Id of unknown words in :class:`bgtai.joint.tokens.TokenVocab`."""


class UnknownWordsError(ValueError):
    """A gloss none of whose words the embedding model knows (``words``: the gloss's words)."""

    def __init__(self, words: list[str]):
        self.words = list(words)
        super().__init__(f"the model knows none of the words {' '.join(self.words) or '(none)'}: it "
                         f"only knows the built-in world's sounds ({', '.join(CLASSES)}) and "
                         "how loud, high and how many they are")


def pad_waves(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad mono waves into ``(B, max_len)`` with their lengths."""
    lengths = torch.tensor([len(w) for w in waves])
    out = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        out[i, : len(w)] = torch.as_tensor(np.asarray(w, dtype=np.float32))
    return out, lengths



class JointEmbedder:
    """The :class:`Embedder` over the UniBriVL joint space (:class:`bgtai.joint.JointModel`).

    Images are embedded by the joint image encoder (that *is* the image-embedding space the
    decoder is then trained on); audio and gloss embeddings go through their own
    :class:`EmbeddingMapper`, trained on paired data to land on the paired image's embedding:
    InfoNCE aligns directions and leaves a modality gap that the decoder would see otherwise.

    With a :class:`~bgtai.generate.steering.Steering`, the audio embeddings of sounds that the
    joint model's front-end gate calls real follow their measured level and pitch shift instead
    of the tower's reading (:mod:`bgtai.generate.steering`).
    """

    def __init__(self, joint, audio_mapper: EmbeddingMapper, gloss_mapper: EmbeddingMapper,
                 steering: Steering | None = None):
        self.joint = joint.eval()
        self.dim = int(joint.config.dim)
        for name, m in (("audio", audio_mapper), ("gloss", gloss_mapper)):
            if (m.config.in_dim, m.config.out_dim) != (self.dim, self.dim):
                raise ValueError(f"the {name} mapper maps {m.config.in_dim} -> {m.config.out_dim}, "
                                 f"the joint space has {self.dim} dimensions")
        self.audio_mapper, self.gloss_mapper = audio_mapper.eval(), gloss_mapper.eval()
        if steering is not None and steering.config.dim != self.dim:
            raise ValueError(f"the steering's directions have {steering.config.dim} dimensions, "
                             f"the decoder's space has {self.dim}")
        self.steering = steering

    @torch.no_grad()
    def embed_images(self, images) -> torch.Tensor:
        arr = to_uint8_batch(images, self.joint.config.image_size)
        device = next(self.joint.parameters()).device
        return self.joint.embed_image(torch.from_numpy(arr).to(device).permute(0, 3, 1, 2))

    @torch.no_grad()
    def audio_embeddings(self, waves: list[np.ndarray],
                         recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        """Joint-space clip embeddings, before the mapping (``recorded``: the unedited sounds
        that the joint model's front-end reads, :meth:`JointModel.embed_audio`)."""
        device = next(self.joint.parameters()).device
        if recorded is not None and len(recorded) != len(waves):
            raise ValueError(f"{len(recorded)} recorded sounds for {len(waves)} waves")
        rec = None  # only a front-end reads the recorded sounds
        if recorded is not None and self.joint.frontend is not None:
            rec = tuple(t.to(device) for t in pad_waves(recorded))
        return self.joint.embed_audio(*(t.to(device) for t in pad_waves(waves)), recorded=rec)[0]

    @torch.no_grad()
    def gloss_embeddings(self, glosses: list[str]) -> torch.Tensor:
        """Joint-space embeddings of gloss strings, before the mapping."""
        seqs = []
        for gloss in glosses:
            words = gloss.upper().split()
            ids = [i for i in self.joint.vocab.ids(words) if i != UNKNOWN_ID]  # unknown: ignored
            if not ids:
                raise UnknownWordsError(words)
            seqs.append(ids)
        lengths = torch.tensor([len(s) for s in seqs])
        ids = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        device = next(self.joint.parameters()).device
        return self.joint.embed_tokens(ids.to(device), lengths.to(device))

    @torch.no_grad()
    def embed_audio(self, waves: list[np.ndarray],
                    recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        embedded = self.audio_mapper(self.audio_embeddings(waves, recorded))
        if self.steering is None:
            return embedded
        recorded = waves if recorded is None else recorded
        device = next(self.joint.parameters()).device
        weight = self.joint.real_weight(*(t.to(device) for t in pad_waves(recorded)))
        real = torch.nonzero(weight > 0).flatten().tolist()
        if not real:  # world sounds keep their embedding
            return embedded
        kept = [recorded[i] for i in real]
        at_reference = self.audio_mapper(self.audio_embeddings(
            [self.steering.at_reference(w) for w in kept], kept))
        positions, semitones = torch.tensor(
            [self.steering.measure(waves[i], recorded[i]) for i in real], device=device).T
        embedded[real] = self.steering(embedded[real], at_reference, positions, semitones,
                                       weight[real])
        return embedded

    @torch.no_grad()
    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        return self.gloss_mapper(self.gloss_embeddings(glosses))
