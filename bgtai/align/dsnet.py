"""DS-Net / Result Filter: predict a sparse monotonic alignment between two sequences.

DS-Net (paper sec. 2.2.2, eq. 3) maps a short sequence (``Q`` elements: glosses, a
summary, audio segments) and a long one (``T`` elements: words, frames) to a binary
``Q x T`` decision matrix, a monotonic path whose cells are the data pairs training keeps.
Supervised by a precomputed DTW path it is the paper's Result Filter (sec. 2.2.3); the
network is the same, only the supervision differs, so this module serves both roles and
is generic over the feature sizes of the two sequences.

Architecture (the paper gives none; FS-Net, its ancestor, has no public code):

1. each sequence is projected to ``d_model``, given an encoding of its *relative*
   position ``(i + 0.5) / length`` (shared by both sides, so equal relative positions get
   equal codes: a monotonic alignment stays near the ``i/Q = j/T`` diagonal) and encoded
   by a small pre-norm transformer;
2. every cell ``(i, j)`` gets channels from the pair interaction: per-channel bilinear
   scores ``<W_k a_i, V_k b_j>`` (dot products, enough to express a squared distance
   together with the unary terms ``u_k . a_i`` and ``v_k . b_j``) and the signed and
   absolute relative offset ``i/Q - j/T``;
3. residual 2-D convolutions over the ``Q x T`` map let neighbouring cells agree, so
   the scores become path-shaped; a 1x1 convolution gives one logit per cell.
   With the defaults (kernel 3, three blocks) the receptive field is 13 x 13 cells.

Padding is zeroed before every convolution and excluded from attention, so a padded pair
scores exactly like the same pair alone (up to float rounding).

``sigmoid(logits)`` is trained (:func:`bgtai.align.losses.alignment_bce`) as the
probability that a cell lies on the path. Decoding (:meth:`DSNet.predict_path`) runs the
project's exact DTW on the cost ``-logit = -log(p / (1 - p))``: under independent
per-cell Bernoulli probabilities the log-likelihood of a binary matrix ``A`` is
``const + sum_{A=1} log(p / (1 - p))``, so the minimum-cost path is the most likely
*valid* path. A cost of ``-log p`` alone is always positive and favours the shortest
(diagonal) path; the log-odds cost rewards every likely cell the path takes.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hub import SafeModelHubMixin
from .dtw import dtw_batch
from .losses import alignment_masks

__all__ = ["MASK_VALUE", "DSNet", "DSNetConfig", "DSNetPrediction", "alignment_f1",
           "decode_alignment"]

MASK_VALUE = -1.0e4
"""Logit given to padded cells: sigmoid underflows to 0, and it stays finite in float16."""


@dataclass
class DSNetConfig:
    """Hyper-parameters of :class:`DSNet` (saved as ``config.json``).

    Attributes
    ----------
    d_in_short, d_in_long : int
        Feature sizes of the short (``Q``) and long (``T``) input sequences.
    d_model : int
        Width of the sequence encoders.
    layers : int
        Transformer layers in each sequence encoder (0 = projection + position only).
    heads : int
        Attention heads; must divide ``d_model``.
    ff_mult : int
        Feed-forward width of the transformer layers, as a multiple of ``d_model``.
    pos_freqs : int
        Sine/cosine frequency pairs encoding the relative position.
    pair_channels : int
        Bilinear interaction channels per cell.
    conv_channels : int
        Channels of the 2-D convolution stack.
    conv_layers : int
        Residual 2-D blocks (two convolutions each).
    conv_kernel : int
        Odd kernel size of the 2-D convolutions.
    dropout : float
        Dropout in the transformer layers.
    """

    d_in_short: int
    d_in_long: int
    d_model: int = 64
    layers: int = 2
    heads: int = 4
    ff_mult: int = 2
    pos_freqs: int = 8
    pair_channels: int = 16
    conv_channels: int = 32
    conv_layers: int = 3
    conv_kernel: int = 3
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("d_in_short", "d_in_long", "d_model", "heads", "ff_mult", "pos_freqs",
                     "pair_channels", "conv_channels", "conv_kernel"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"DSNetConfig.{name} must be a positive int, got {value!r}")
        for name in ("layers", "conv_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"DSNetConfig.{name} must be a non-negative int, got {value!r}")
        if self.d_model % self.heads:
            raise ValueError(f"DSNetConfig.heads ({self.heads}) must divide d_model "
                             f"({self.d_model})")
        if self.conv_kernel % 2 == 0:
            raise ValueError(f"DSNetConfig.conv_kernel must be odd, got {self.conv_kernel}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"DSNetConfig.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class DSNetPrediction:
    """Decoded output of :meth:`DSNet.predict_path`.

    Attributes
    ----------
    alignment : torch.Tensor
        ``(B, Q, T)`` bool; each pair's valid block holds one monotonic path from
        ``(0, 0)`` to ``(Q_b - 1, T_b - 1)``, padding is False.
    paths : bgtai.align.dtw.PackedPaths
        Per pair, the ``(K_b, 2)`` int64 path as returned by
        :func:`bgtai.align.dtw.dtw_batch` (a sequence).
    probabilities : torch.Tensor
        ``(B, Q, T)`` per-cell on-path probabilities ``sigmoid(logits)``, 0 on padding.
    """

    alignment: torch.Tensor
    paths: Sequence
    probabilities: torch.Tensor


def _relative_positions(mask: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` cell-centre positions ``(i + 0.5) / length`` in (0, 1); 0 on padding.

    Cell centres rather than ``i / (length - 1)`` so a length-1 sequence sits at 0.5,
    halfway along any partner, and the two sequences' diagonals coincide.
    """
    lengths = mask.sum(dim=1, keepdim=True).to(torch.float32)
    index = torch.arange(mask.shape[1], device=mask.device, dtype=torch.float32)
    return ((index + 0.5) / lengths) * mask


class _ResidualConv2d(nn.Module):
    """Residual block of two 2-D convolutions, padding zeroed before each.

    No normalisation layer: BatchNorm/GroupNorm would mix padded cells into real ones, and
    a per-cell LayerNorm measured no better on the synthetic benchmark while costing time.
    """

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.gelu(x) * cells)
        return x + self.conv2(F.gelu(h) * cells) * cells


class DSNet(nn.Module, SafeModelHubMixin, library_name="bgtai", tags=["bgtai", "ds-net"]):
    """Data-pair Selection Network / Result Filter (paper eq. 3-5).

    Parameters
    ----------
    config : DSNetConfig
        Hyper-parameters, saved as ``config.json`` by ``save_pretrained``.

    Notes
    -----
    ``save_pretrained(dir)`` writes ``config.json`` and ``model.safetensors``;
    ``DSNet.from_pretrained(dir_or_hub_id)`` reads them back (strictly: every weight must
    match) and returns the model in eval mode. Pickled weights are refused.
    """

    def __init__(self, config: DSNetConfig):
        super().__init__()
        if not isinstance(config, DSNetConfig):
            raise ValueError(f"config must be a DSNetConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self.proj_short = nn.Linear(c.d_in_short, c.d_model)
        self.proj_long = nn.Linear(c.d_in_long, c.d_model)
        # One positional projection for both sides: equal relative positions, equal codes.
        self.proj_pos = nn.Linear(2 * c.pos_freqs, c.d_model)
        self.register_buffer("pos_freq", math.pi * torch.arange(1, c.pos_freqs + 1,
                                                                dtype=torch.float32),
                             persistent=False)
        self.enc_short = self._encoder(c)
        self.enc_long = self._encoder(c)
        self.pair_short = nn.Linear(c.d_model, c.pair_channels * c.d_model)
        self.pair_long = nn.Linear(c.d_model, c.pair_channels * c.d_model)
        self.unary_short = nn.Linear(c.d_model, c.conv_channels)
        self.unary_long = nn.Linear(c.d_model, c.conv_channels)
        self.pair_in = nn.Conv2d(c.pair_channels + 2, c.conv_channels, 1)
        self.blocks = nn.ModuleList(_ResidualConv2d(c.conv_channels, c.conv_kernel)
                                    for _ in range(c.conv_layers))
        self.head = nn.Conv2d(c.conv_channels, 1, 1)

    @staticmethod
    def _encoder(c: DSNetConfig) -> nn.Module:
        if c.layers == 0:
            return nn.LayerNorm(c.d_model)
        layer = nn.TransformerEncoderLayer(c.d_model, c.heads, c.ff_mult * c.d_model,
                                           c.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        # Nested tensors would drop padded positions on the fast path only in eval mode,
        # giving train/eval numerics that differ; keep one code path.
        return nn.TransformerEncoder(layer, c.layers, norm=nn.LayerNorm(c.d_model),
                                     enable_nested_tensor=False)

    def _check_inputs(self, short, long, short_mask, long_mask):
        c = self.config
        for name, x, d in (("short", short, c.d_in_short), ("long", long, c.d_in_long)):
            if not isinstance(x, torch.Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if x.ndim != 3 or x.shape[2] != d:
                raise ValueError(f"{name} must have shape (B, L, {d}), got {tuple(x.shape)}")
            if not x.is_floating_point():
                raise ValueError(f"{name} must be floating point, got {x.dtype}")
            if x.shape[1] == 0:
                raise ValueError(f"{name} is empty; sequences need length >= 1")
        if short.shape[0] != long.shape[0]:
            raise ValueError(f"batch sizes differ: short has {short.shape[0]}, "
                             f"long has {long.shape[0]}")
        return alignment_masks(short.shape[0], short.shape[1], long.shape[1], short_mask,
                               long_mask, device=short.device)

    def _embed(self, x, mask, proj, encoder):
        # Zero padding first: attention gives padded keys weight 0, but 0 * NaN is NaN.
        x = x.masked_fill(~mask[:, :, None], 0.0)
        rel = _relative_positions(mask)
        angles = rel[:, :, None] * self.pos_freq
        pos = self.proj_pos(torch.cat([angles.sin(), angles.cos()], dim=-1).to(x.dtype))
        h = proj(x) + pos
        if isinstance(encoder, nn.TransformerEncoder):
            h = encoder(h, src_key_padding_mask=~mask)
        else:
            h = encoder(h)
        return h, rel

    def forward(self, short: torch.Tensor, long: torch.Tensor,
                short_mask: torch.Tensor | None = None,
                long_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Score every cell of the ``Q x T`` alignment matrix.

        Parameters
        ----------
        short : torch.Tensor
            ``(B, Q, d_in_short)`` short sequences (float).
        long : torch.Tensor
            ``(B, T, d_in_long)`` long sequences (float).
        short_mask, long_mask : torch.Tensor or None
            ``(B, Q)`` / ``(B, T)`` left-aligned padding masks, True for real elements.

        Returns
        -------
        torch.Tensor
            ``(B, Q, T)`` logits; ``sigmoid`` gives the on-path probability. Cells in a
            padded row or column hold :data:`MASK_VALUE`.
        """
        short_mask, long_mask = self._check_inputs(short, long, short_mask, long_mask)
        cells = (short_mask[:, :, None] & long_mask[:, None, :])[:, None]  # (B, 1, Q, T)
        a, ra = self._embed(short, short_mask, self.proj_short, self.enc_short)
        b, rb = self._embed(long, long_mask, self.proj_long, self.enc_long)
        bsz, q, _ = a.shape
        t = b.shape[1]
        k, d = self.config.pair_channels, self.config.d_model
        wa = self.pair_short(a).view(bsz, q, k, d)
        wb = self.pair_long(b).view(bsz, t, k, d)
        bilinear = torch.einsum("bqkd,btkd->bkqt", wa, wb) / math.sqrt(d)
        offset = (ra[:, :, None] - rb[:, None, :]).to(a.dtype)[:, None]  # (B, 1, Q, T)
        x = self.pair_in(torch.cat([bilinear, offset, offset.abs()], dim=1) * cells)
        x = (x + self.unary_short(a).transpose(1, 2)[:, :, :, None]
             + self.unary_long(b).transpose(1, 2)[:, :, None, :]) * cells
        for block in self.blocks:
            x = block(x, cells)
        logits = self.head(F.gelu(x) * cells)[:, 0]
        return logits.masked_fill(~cells[:, 0], MASK_VALUE)

    @torch.no_grad()
    def predict_path(self, short: torch.Tensor, long: torch.Tensor,
                     short_mask: torch.Tensor | None = None,
                     long_mask: torch.Tensor | None = None) -> DSNetPrediction:
        """Score every cell and decode the most likely valid monotonic path of every pair.

        The model's train/eval mode is left as it is; models from ``from_pretrained`` are
        already in eval mode.

        Parameters
        ----------
        short, long, short_mask, long_mask
            As in :meth:`forward`.

        Returns
        -------
        DSNetPrediction
            Binary alignments, per-pair paths and per-cell probabilities.
        """
        logits = self(short, long, short_mask, long_mask)
        alignment, paths = decode_alignment(logits, short_mask, long_mask)
        cells = alignment_masks(*logits.shape, short_mask, long_mask, device=logits.device)
        cells = cells[0][:, :, None] & cells[1][:, None, :]
        return DSNetPrediction(alignment=alignment, paths=paths,
                               probabilities=torch.sigmoid(logits) * cells)


def decode_alignment(logits: torch.Tensor, short_mask: torch.Tensor | None = None,
                     long_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, list]:
    """Most likely valid monotonic path under per-cell on-path log-odds ``logits``.

    Runs exact DTW (:func:`bgtai.align.dtw.dtw_batch`, ``metric="precomputed"``) on the
    cost ``-logits``; see the module docstring for why negative log-odds and not ``-log p``.

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, Q, T)`` finite cell scores (padding may hold anything).
    short_mask, long_mask : torch.Tensor or None
        ``(B, Q)`` / ``(B, T)`` left-aligned padding masks, True for real elements.

    Returns
    -------
    alignment : torch.Tensor
        ``(B, Q, T)`` bool on the logits' device: one path per pair from ``(0, 0)`` to
        ``(Q_b - 1, T_b - 1)`` with steps ``(1, 0)``, ``(0, 1)``, ``(1, 1)``; False on padding.
    paths : bgtai.align.dtw.PackedPaths
        Per pair, the ``(K_b, 2)`` int64 cells of the path in order (a sequence, built on
        first use).
    """
    if not isinstance(logits, torch.Tensor) or logits.ndim != 3:
        raise ValueError("logits must be a (B, Q, T) torch.Tensor")
    short_mask, long_mask = alignment_masks(*logits.shape, short_mask, long_mask,
                                            device=logits.device)
    # float64 keeps the DP's sums exact enough that ties follow DTW's documented tie-break
    # rather than float32 rounding.
    result = dtw_batch(-logits.detach().double(), x_lengths=short_mask.sum(dim=1),
                       y_lengths=long_mask.sum(dim=1), metric="precomputed")
    return result.alignment, result.paths


def _as_bool_tensor(x) -> torch.Tensor:
    return x.bool() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x, bool))


def alignment_f1(predicted, target, short_mask: torch.Tensor | None = None,
                 long_mask: torch.Tensor | None = None) -> float:
    """Cell-level F1 of predicted binary alignments against target ones.

    Micro-averaged: true positives, false positives and false negatives are counted over
    every valid cell of the batch.

    Parameters
    ----------
    predicted, target : torch.Tensor or np.ndarray
        ``(B, Q, T)`` (or ``(Q, T)``) binary alignment matrices.
    short_mask, long_mask : torch.Tensor or None
        Padding masks as in :meth:`DSNet.forward`; padded cells are ignored.

    Returns
    -------
    float
        F1 in ``[0, 1]``; 1.0 when both alignments are empty.
    """
    predicted = _as_bool_tensor(predicted)
    target = _as_bool_tensor(target).to(predicted.device)
    if predicted.ndim == 2:
        predicted, target = predicted[None], target[None]
    if predicted.ndim != 3 or predicted.shape != target.shape:
        raise ValueError(f"predicted {tuple(predicted.shape)} and target {tuple(target.shape)} "
                         "must be matching (B, Q, T) or (Q, T) matrices")
    rows, cols = alignment_masks(*predicted.shape, short_mask, long_mask,
                                 device=predicted.device)
    cells = rows[:, :, None] & cols[:, None, :]
    predicted, target = predicted & cells, target & cells
    tp = int((predicted & target).sum())
    denom = int(predicted.sum()) + int(target.sum())
    return 1.0 if denom == 0 else 2.0 * tp / denom
