"""Steering real recordings' pictures by their measured level and pitch shift."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import CLASSES, PITCH_RANGES, Event, loudness_position
from bgtai.generate.edits import edit_sound
from bgtai.generate.embedders import JointEmbedder
from bgtai.generate.mapping import EmbeddingMapper, MapperConfig
from bgtai.generate.steering import REFERENCE_DBFS, Steering, SteeringConfig
from bgtai.readers import read_loudness, read_pitch_shift

DIM = 8


def tone(freq=440.0, seconds=1.0, level=0.2):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    harmonics = sum(np.sin(2 * np.pi * k * freq * t) / k for k in (1, 2, 3))
    return (level * harmonics * np.hanning(len(t))).astype(np.float32)


@pytest.mark.parametrize("semitones", [-13.0, -2.5, 0.0, 4.0, 19.0])
def test_the_pitch_shift_reader_reads_the_sliders_shift(semitones):
    wave = tone(330.0)
    edited = edit_sound(wave, semitones=semitones, gain_db=-6.0)
    assert read_pitch_shift(edited, wave) == pytest.approx(semitones, abs=0.25)
    assert read_pitch_shift(wave, edited) == pytest.approx(-semitones, abs=0.25)


def test_the_pitch_shift_reader_on_silence_and_noise():
    noise = np.random.default_rng(0).normal(0, 0.05, SAMPLE_RATE).astype(np.float32)
    with pytest.raises(ValueError, match="silent"):
        read_pitch_shift(np.zeros(SAMPLE_RATE, np.float32), noise)
    assert read_pitch_shift(noise * 3, noise) == 0.0  # a level change is no shift
    with pytest.raises(ValueError, match="max_semitones"):
        read_pitch_shift(noise, noise, max_semitones=40)


def _events(n, rng):
    out = []
    for _ in range(n):
        cls = str(rng.choice(["whistle", "bell", "clap"]))
        pitch = float(rng.uniform(650, 1900) if cls == "whistle" else
                      rng.uniform(320, 1100)) if cls != "clap" else None
        out.append(Event(cls=cls, pitch_hz=pitch, loudness_dbfs=float(rng.uniform(-42, -20)),
                         repetitions=int(rng.integers(1, 4)), onset_s=0.0, duration_s=2.0))
    return out


def _world(n=300, seed=0):
    """Embeddings made of class and count offsets plus known loudness and octave directions."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    offsets = torch.randn(len(CLASSES) + 5, DIM, generator=g)
    loud, octave = torch.randn(DIM, generator=g), torch.randn(DIM, generator=g)
    events = _events(n, rng)
    rows = []
    for e in events:
        x = offsets[CLASSES.index(e.cls)] + offsets[len(CLASSES) + e.repetitions - 1]
        x = x + loudness_position(e.loudness_dbfs) * loud
        if e.pitch_hz is not None:
            x = x + np.log2(e.pitch_hz / PITCH_RANGES[e.cls][0]) * octave
        rows.append(x)
    noise = 0.01 * torch.randn(n, DIM, generator=g)
    return torch.stack(rows) + noise, events, loud, octave


def test_fit_finds_the_worlds_directions_and_reads_the_level():
    embeddings, events, loud, octave = _world()
    steering = Steering.fit(embeddings, events)
    assert F.cosine_similarity(steering.loudness, loud, dim=0) > 0.99
    assert F.cosine_similarity(steering.octave, octave, dim=0) > 0.99
    assert steering.loudness.norm() == pytest.approx(float(loud.norm()), rel=0.05)
    read = embeddings @ steering.reading + steering.reading_bias
    truth = torch.tensor([loudness_position(e.loudness_dbfs) for e in events])
    assert (read - truth).abs().mean() < 0.05
    same_level = [dataclasses.replace(e, loudness_dbfs=-30.0) for e in events]
    with pytest.raises(ValueError, match="vary in loudness"):
        Steering.fit(embeddings, same_level)
    with pytest.raises(ValueError, match="N events"):
        Steering.fit(embeddings[:5], events)


def test_forward_mixes_by_the_gate_and_sets_the_measured_level(tmp_path):
    embeddings, events, _, _ = _world()
    steering = Steering.fit(embeddings, events)
    drawn, at_reference = embeddings[:4], embeddings[4:8]
    positions = torch.tensor([0.1, 0.9, 0.3, 0.5])
    none = torch.zeros(4)
    torch.testing.assert_close(steering(drawn, at_reference, positions, none, none), drawn)
    moved = steering(drawn, at_reference, positions, none, torch.ones(4))
    read = moved @ steering.reading + steering.reading_bias
    torch.testing.assert_close(read, positions)
    higher = steering(drawn, at_reference, positions, torch.full((4,), 12.0), torch.ones(4))
    torch.testing.assert_close(higher - moved, steering.octave.expand(4, DIM))
    half = steering(drawn, at_reference, positions, none, torch.full((4,), 0.5))
    torch.testing.assert_close(half, (drawn + moved) / 2)
    steering.save_pretrained(tmp_path / "s")
    again = Steering.from_pretrained(tmp_path / "s")
    torch.testing.assert_close(again.reading, steering.reading)
    assert again.config == SteeringConfig(dim=DIM)


def test_measure_and_reference_level():
    steering = Steering(SteeringConfig(dim=DIM))
    wave = tone(500.0)
    assert read_loudness(steering.at_reference(wave)) == pytest.approx(REFERENCE_DBFS, abs=0.1)
    louder = edit_sound(wave, gain_db=6.0, semitones=3.0)
    position, semitones = steering.measure(louder, wave)
    assert position == pytest.approx(loudness_position(read_loudness(louder)))
    assert semitones == pytest.approx(3.0, abs=0.25)
    assert steering.measure(wave, wave)[1] == 0.0


class _Joint(torch.nn.Module):
    """A joint model stand-in: embeds by the sound's level, calls loud sounds real."""

    config = type("C", (), {"dim": DIM})()
    frontend = None

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.weights = []

    def embed_audio(self, wave, lengths=None, recorded=None):
        rms = wave.pow(2).mean(-1, keepdim=True).sqrt()
        return F.normalize(torch.cat([rms, torch.ones(len(wave), DIM - 1)], -1), dim=-1), None, None

    def real_weight(self, wave, lengths=None):
        return torch.tensor(self.weights[: len(wave)], dtype=torch.float32)


def test_the_embedder_steers_only_sounds_the_gate_calls_real():
    embeddings, events, _, _ = _world()
    steering = Steering.fit(embeddings, events)
    joint = _Joint()
    mapper = EmbeddingMapper(MapperConfig(in_dim=DIM, out_dim=DIM, hidden=4))
    plain = JointEmbedder(joint, mapper, mapper)
    steered = JointEmbedder(joint, mapper, mapper, steering)
    wave = tone(400.0)
    sweep = [edit_sound(wave, gain_db=g) for g in (-12.0, -6.0, 0.0, 6.0)]
    joint.weights = [0.0] * 4
    torch.testing.assert_close(steered.embed_audio(sweep, [wave] * 4),
                               plain.embed_audio(sweep, [wave] * 4))
    joint.weights = [1.0] * 4
    out = steered.embed_audio(sweep, [wave] * 4)
    read = out @ steering.reading + steering.reading_bias
    expected = torch.tensor([loudness_position(read_loudness(w)) for w in sweep])
    torch.testing.assert_close(read, expected)
    with pytest.raises(ValueError, match="steering's directions"):
        JointEmbedder(joint, mapper, mapper, Steering(SteeringConfig(dim=DIM + 1)))
