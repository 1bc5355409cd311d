"""A pretrained front-end for the audio tower: aiSFX's sound-effects CNN, frozen.

The world's audio tower has only heard the synthetic world; real rooms, microphones and sound
sources are outside it (docs/real_sounds.md). aiSFX (Ma & Lerch, *Representation Learning for
the Automatic Indexing of Sound Effects Libraries*, ISMIR 2022; the PyPI package ``aisfx``
0.1.2, CC BY 4.0, published by its authors with its weights inside) is a 9-layer CNN trained
to tell the categories of professional sound-effects libraries apart: exactly the real sounds
the world imitates. Its 512-d embedding of a sound, through a small trained head, is *added*
to the tower's normalised clip embedding (:meth:`bgtai.joint.model.JointModel.embed_audio`),
so that the head starts at zero (the model is the tower alone) and learns only a correction.

The CNN reads a peak-normalised log-mel spectrogram, so its part of the embedding ignores the
volume slider; the tower's part keeps the loudness the pictures' sizes follow. Segments (the
DS-Net's input) stay the tower's own.

The CNN's weights come from the installed package (never from this project's checkpoints):
``pip install --no-deps aisfx==0.1.2`` (its metadata pins numpy 1.23 and librosa 0.9, neither
of which the model needs). Its checkpoint is a pickle written by the authors; it is read with
``torch.load(weights_only=True)``, with only numpy's scalar type allowed beyond tensors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from bgtai.audio import SAMPLE_RATE

FRONTENDS = ("", "aisfx")
"""Values of ``JointConfig.audio_frontend``: none, or aiSFX's CNN."""

AISFX_VERSION = "0.1.2"
AISFX_RATE = 44100
AISFX_FFT, AISFX_HOP, AISFX_MELS = 2048, 1024, 96
AISFX_BLOCK, AISFX_BLOCK_HOP = 100, 50  # frames: about 2.3 s blocks every 1.2 s
AISFX_LOG_MAX = 9.457798957824707  # the package's "original" spectrogram normalisation
AISFX_DIM = 512


class FrontendUnavailable(ValueError):
    """The front-end's package is not installed (the message says how to install it)."""


def load_aisfx_net() -> nn.Module:
    """aiSFX's embedding CNN (``X-Sequential-CE``) with the package's weights, frozen, in eval mode.

    Raises :class:`FrontendUnavailable` with the install command when the package is missing.
    """
    try:
        from aisfx.inference import get_path_modelWeights
        from aisfx.models.cnn2d import EmbeddingNet
    except ImportError:
        raise FrontendUnavailable("this joint model needs the aiSFX front-end: "
                                  f"pip install --no-deps aisfx=={AISFX_VERSION}") from None
    # The checkpoint pickles (state_dict, {dataset: (index, classes)}), whose class counts are
    # numpy integers; nothing else beyond tensors is allowed to load.
    allowed = [(np._core.multiarray.scalar, "numpy.core.multiarray.scalar"), np.dtype,
               type(np.dtype(np.int64))]
    with torch.serialization.safe_globals(allowed):
        weights, _ = torch.load(get_path_modelWeights(), map_location="cpu", weights_only=True)
    net = EmbeddingNet("max", 3, 1, 64)  # the package's own load_bestModel settings
    prefix = "embedding_net."
    net.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    return net.requires_grad_(False).eval()


class AisfxFeatures(nn.Module):
    """``(B, samples)`` 16 kHz waves -> ``(B, 512)`` aiSFX embeddings (max over 2.3 s blocks).

    The spectrogram follows the package's librosa route (``aisfx.spectrogram``): 44.1 kHz,
    peak-normalised, 2048-point Hann STFT every 1024 samples with zero padding at the ends,
    96 HTK mel bands up to 22.05 kHz each of unit area, ``log10(1 + 10^4 x)`` divided by the
    package's maximum, blocks of 100 frames every 50 (a shorter sound is one zero-padded block;
    a partial last block is dropped, as the package does). Padding of a ragged batch does not
    change any item's features. The CNN is held outside the module tree, so that it is neither
    trained nor saved with a checkpoint; :meth:`_apply` still moves it with the module.

    The last batch's features are kept and given back when the same batch comes again: one
    slider call reads the same recording up to three times (its embedding, the front-end's gate
    and the steering of :mod:`bgtai.generate.steering`), and the CNN is most of the cost.
    """

    def __init__(self):
        super().__init__()
        self._net = (load_aisfx_net(),)
        mel = torchaudio.functional.melscale_fbanks(AISFX_FFT // 2 + 1, 0.0, AISFX_RATE / 2,
                                                    AISFX_MELS, AISFX_RATE, norm=None,
                                                    mel_scale="htk")
        mel = mel / mel.sum(0, keepdim=True).clamp_min(1e-10)  # librosa's norm=1.0: unit area
        self.register_buffer("mel", mel, persistent=False)
        self.register_buffer("window", torch.hann_window(AISFX_FFT), persistent=False)
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self._net[0]._apply(fn, recurse)
        self._last = None
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self._net[0].eval()  # batch norm statistics stay the authors'
        return self

    @torch.no_grad()
    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if wave.ndim != 2 or wave.shape[1] == 0:
            raise ValueError(f"wave must be (B, samples) with samples > 0, got {tuple(wave.shape)}")
        if lengths is None:
            lengths = torch.full((wave.shape[0],), wave.shape[1], device=wave.device)
        lengths = lengths.to(wave.device)
        last = self._last
        if (last is not None and last[0].shape == wave.shape and torch.equal(last[0], wave)
                and torch.equal(last[1], lengths)):
            return last[2].clone()
        features = self._features(wave, lengths)
        self._last = (wave.clone(), lengths.clone(), features.clone())
        return features

    def _features(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        valid = torch.arange(wave.shape[1], device=wave.device)[None, :] < lengths[:, None]
        x = wave.float() * valid
        x = x / x.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
        x = torchaudio.functional.resample(x, SAMPLE_RATE, AISFX_RATE)
        n_samples = torch.ceil(lengths * (AISFX_RATE / SAMPLE_RATE)).long()
        x = x * (torch.arange(x.shape[1], device=x.device)[None, :] < n_samples[:, None])
        spec = torch.stft(x, AISFX_FFT, AISFX_HOP, window=self.window, center=True,
                          pad_mode="constant", return_complex=True).abs().pow(2)
        logmel = torch.log10(spec.transpose(1, 2) @ self.mel * 1e4 + 1) / AISFX_LOG_MAX
        n_frames = 1 + torch.div(n_samples, AISFX_HOP, rounding_mode="floor")
        # frames past an item's end are zero (silence's log-mel), as the package's blocking pads
        frame_ok = torch.arange(logmel.shape[1], device=x.device)[None, :] < n_frames[:, None]
        logmel = logmel * frame_ok[..., None]
        if logmel.shape[1] < AISFX_BLOCK:
            logmel = F.pad(logmel, (0, 0, 0, AISFX_BLOCK - logmel.shape[1]))
        blocks = logmel.unfold(1, AISFX_BLOCK, AISFX_BLOCK_HOP).transpose(2, 3)  # (B, K, 100, 96)
        starts = torch.arange(blocks.shape[1], device=x.device) * AISFX_BLOCK_HOP
        # the first block always (zero-padded when short), later ones only when whole
        keep = (starts[None, :] == 0) | (starts[None, :] + AISFX_BLOCK <= n_frames[:, None])
        out = self._net[0](blocks[keep])  # (kept blocks, 512)
        full = out.new_full((*keep.shape, out.shape[1]), -math.inf)
        full[keep] = out
        return full.amax(dim=1)


GATE_NEIGHBOURS = 5
"""World sounds of the gate's bank that a sound's distance is averaged over."""


class FrontendHead(nn.Module):
    """Standardised front-end features -> MLP -> a ``dim`` correction, zero at initialisation.

    ``feature_mean`` / ``feature_std`` are set once from training features
    (:meth:`set_standardisation`) and saved with the checkpoint.

    With ``gate_bank`` > 0 the correction is weighted by :meth:`gate_weight`, which says how far
    a sound is from the world's own sounds: the mean cosine distance of its standardised
    features to their :data:`GATE_NEIGHBOURS` nearest in a bank of world sounds' features
    (``world_bank``, float16), mapped linearly from 0 at ``gate_range[0]`` to 1 at
    ``gate_range[1]`` (:meth:`fit_gate`). World sounds, which the tower already hears right,
    keep the tower's embedding, so the generator's maps and the sliders' pictures of them stay
    as they were; a real recording, however unlike the world's sounds it is, gets the whole
    correction. A distance, not a classifier, so that real sounds of kinds missing from the
    training recordings (bird song) still count as real.
    """

    def __init__(self, dim: int, hidden: int, features: int = AISFX_DIM, gate_bank: int = 0):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(features))
        self.register_buffer("feature_std", torch.ones(features))
        self.mlp = nn.Sequential(nn.Linear(features, hidden), nn.GELU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)
        self.gated = gate_bank > 0
        if self.gated:
            self.register_buffer("world_bank", torch.zeros(gate_bank, features,
                                                           dtype=torch.float16))
            self.register_buffer("gate_range", torch.tensor([0.0, 1.0]))

    @torch.no_grad()
    def set_standardisation(self, features: torch.Tensor) -> None:
        """Standardise by these ``(N, features)`` training features' mean and deviation."""
        self.feature_mean.copy_(features.mean(0))
        self.feature_std.copy_(features.std(0).clamp_min(1e-3))

    def _standardised(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def world_distance(self, features: torch.Tensor) -> torch.Tensor:
        """``(B,)`` mean cosine distance of standardised features to their nearest world sounds
        in the gate's bank."""
        sims = F.normalize(self._standardised(features), dim=-1) @ self.world_bank.to(
            features.dtype).T
        return 1 - sims.topk(min(GATE_NEIGHBOURS, len(self.world_bank)), dim=-1).values.mean(-1)

    def gate_weight(self, features: torch.Tensor) -> torch.Tensor:
        """``(B,)`` gate in [0, 1]: 0 for a sound as close to the world's sounds as they are
        to each other, 1 for one as far as a typical real recording."""
        if not self.gated:
            raise ValueError("this front-end head has no gate (JointConfig.frontend_gate)")
        low, high = self.gate_range
        return ((self.world_distance(features) - low) / (high - low)).clamp(0.0, 1.0)

    @torch.no_grad()
    def fit_gate(self, bank: torch.Tensor, held_out: torch.Tensor, real: torch.Tensor,
                 quantile: float = 0.99) -> dict[str, float]:
        """Set the gate from front-end features (all ``(N, features)``, after
        :meth:`set_standardisation`): ``bank`` (world sounds, as many as ``gate_bank``) is
        stored; the gate opens from the ``quantile`` of the distances of ``held_out`` world
        sounds (not in the bank) to the median distance of ``real`` recordings. Returns the
        range and how the fitting sounds fall."""
        if not self.gated:
            raise ValueError("this front-end head has no gate (JointConfig.frontend_gate)")
        if len(bank) != len(self.world_bank):
            raise ValueError(f"the gate's bank holds {len(self.world_bank)} sounds, "
                             f"got {len(bank)}")
        if not len(held_out) or not len(real):
            raise ValueError("fitting the gate needs held-out world sounds and real recordings")
        unit = F.normalize(self._standardised(bank.float()), dim=-1)
        self.world_bank.copy_(unit.half())
        low = torch.quantile(self.world_distance(held_out.float()), quantile)
        high = self.world_distance(real.float()).median()
        if not high > low:
            raise ValueError(f"real recordings are no further from the world's sounds than "
                             f"they are from each other (median {high:.3f} <= {low:.3f}): "
                             f"no gate can tell them apart")
        self.gate_range.copy_(torch.stack([low, high]))
        return {"gate_low": float(low), "gate_high": float(high),
                "held_out_closed": float((self.gate_weight(held_out.float()) == 0).float().mean()),
                "real_open_median": float(self.gate_weight(real.float()).median())}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.mlp(self._standardised(features))
        return out * self.gate_weight(features)[:, None] if self.gated else out


class AudioFrontend(nn.Module):
    """Frozen pretrained features and the trained head: ``(B, samples)`` -> ``(B, dim)``."""

    def __init__(self, name: str, dim: int, hidden: int, gate_bank: int = 0):
        super().__init__()
        if name != "aisfx":
            raise ValueError(f"unknown audio front-end {name!r}; known: {FRONTENDS[1:]}")
        self.features = AisfxFeatures()
        self.head = FrontendHead(dim, hidden, gate_bank=gate_bank)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(wave, lengths))
