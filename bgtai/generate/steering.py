"""The sliders on real recordings: the picture's size and hue follow the measured sound.

The joint audio tower learned loudness and pitch on the world's clean sounds. On a real
recording its reading of either is unreliable: before this, 3 of 20 real gain sweeps of the
dev set grew the picture (docs/real_sounds.md). For a sound that the joint model's front-end
gate calls real (:meth:`bgtai.joint.JointModel.real_weight`), the decoder's embedding is
built instead from what a level meter and a pitch-shift reader measure, which real rooms and
microphones do not fool:

* the embedding of the recording as recorded, brought to a reference level, so that what the
  sound *is* does not move with the sliders;
* moved along the direction in which the world's own embeddings move with loudness until a
  linear reading of loudness off the embedding gives the drawn sound's measured level
  (:func:`~bgtai.readers.read_loudness`), so that its picture is as large as a world sound's of
  that level; and along the direction in which they move with pitch, by the drawn sound's
  measured shift from the recording (:func:`~bgtai.readers.read_pitch_shift`).

The directions are least-squares slopes of the decoder-space embeddings of world training
sounds, with class and count held apart, and the reading a least-squares fit of the same
sounds' loudness on their embeddings (:meth:`Steering.fit`). World sounds (gate 0) keep
their embedding, so every world figure stays as it was; between 0 and 1 the two embeddings are
mixed by the gate's weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bgtai.data.events import (
    CLASSES,
    LOUDNESS_RANGE,
    MAX_REPETITIONS,
    PITCH_RANGES,
    Event,
    loudness_position,
)
from bgtai.hub import SafeModelHubMixin
from bgtai.readers import read_loudness, read_pitch_shift

REFERENCE_DBFS = sum(LOUDNESS_RANGE) / 2
"""The level a recording is brought to before it is embedded: the middle of the world's range."""


@dataclass(frozen=True)
class SteeringConfig:
    """Directions in a ``dim``-d decoder embedding space; the reference level in dBFS."""

    dim: int
    reference_dbfs: float = REFERENCE_DBFS


class Steering(nn.Module, SafeModelHubMixin):
    """The world's loudness and pitch directions in the decoder's embedding space (see the
    module docstring): ``loudness`` per unit of :func:`~bgtai.data.events.loudness_position`
    (the world's whole range), ``octave`` per octave; ``reading`` and ``reading_bias``: the
    linear reading of that position off an embedding."""

    def __init__(self, config: SteeringConfig | dict):
        super().__init__()
        self.config = SteeringConfig(**config) if isinstance(config, dict) else config
        self.register_buffer("loudness", torch.zeros(self.config.dim))
        self.register_buffer("octave", torch.zeros(self.config.dim))
        self.register_buffer("reading", torch.zeros(self.config.dim))
        self.register_buffer("reading_bias", torch.zeros(()))

    @classmethod
    def fit(cls, embeddings: torch.Tensor, events: list[Event]) -> Steering:
        """Least-squares slopes of ``(N, dim)`` decoder-space embeddings of world sounds on
        their loudness position and on their pitch in octaves above their class's lowest,
        beside one offset per class and per count, and the least-squares reading of the
        loudness position off the embeddings (``events``: the sounds' ground truth)."""
        if embeddings.ndim != 2 or len(embeddings) != len(events):
            raise ValueError("expected (N, dim) embeddings of N events")
        n_cls = len(CLASSES)
        design = np.zeros((len(events), n_cls + MAX_REPETITIONS + 2))
        for row, e in zip(design, events):
            row[CLASSES.index(e.cls)] = 1.0
            row[n_cls + e.repetitions - 1] = 1.0
            row[-2] = loudness_position(e.loudness_dbfs)
            if e.pitch_hz is not None:
                row[-1] = math.log2(e.pitch_hz / PITCH_RANGES[e.cls][0])
        # offsets of the classes and counts present; the counts' span the constant, so one
        # class offset less
        used = np.flatnonzero(design[:, :-2].any(0))
        design = np.hstack([design[:, used[1:]], design[:, -2:]])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise ValueError("the fitting sounds must vary in loudness and in pitch within "
                             "their classes and counts")
        beta, *_ = np.linalg.lstsq(design, embeddings.double().numpy(), rcond=None)
        steering = cls(SteeringConfig(dim=int(embeddings.shape[1])))
        steering.loudness.copy_(torch.from_numpy(beta[-2]))
        steering.octave.copy_(torch.from_numpy(beta[-1]))
        x = np.hstack([embeddings.double().numpy(), np.ones((len(events), 1))])
        reading, *_ = np.linalg.lstsq(x, design[:, -2], rcond=None)
        steering.reading.copy_(torch.from_numpy(reading[:-1]))
        steering.reading_bias.fill_(float(reading[-1]))
        return steering

    def at_reference(self, wave: np.ndarray) -> np.ndarray:
        """``wave`` scaled to the reference level."""
        scaled = wave * 10 ** ((self.config.reference_dbfs - read_loudness(wave)) / 20)
        return np.clip(scaled, -1.0, 1.0).astype(np.float32)

    def measure(self, drawn: np.ndarray, recorded: np.ndarray) -> tuple[float, float]:
        """The drawn sound's loudness position and its pitch shift from the recording in
        semitones."""
        semitones = 0.0 if drawn is recorded else read_pitch_shift(drawn, recorded)
        return loudness_position(read_loudness(drawn)), semitones

    def forward(self, embedded: torch.Tensor, at_reference: torch.Tensor, positions: torch.Tensor,
                semitones: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Mix ``(B, dim)`` embeddings of the drawn sounds, by ``(B,)`` ``weight`` in [0, 1],
        with those of the recordings at the reference level moved to the drawn sounds' measured
        loudness ``positions`` and pitch shifts (:meth:`measure`)."""
        read = at_reference @ self.reading + self.reading_bias
        to_level = (positions - read) / (self.loudness @ self.reading)
        moved = (at_reference + to_level[:, None] * self.loudness
                 + (semitones / 12.0)[:, None] * self.octave)
        w = weight[:, None].to(embedded.dtype)
        return (1 - w) * embedded + w * moved
