"""The three encoders of the joint space: audio (clip and ~1 s segments), image, gloss/text.

All three end in a linear projection to the shared ``dim``; the joint model L2-normalises.

Loudness is kept on purpose (the app's volume slider and issue 6's size control depend on it):
the audio path has no per-clip or per-frame normalisation before pooling. The log-mel input is
only shifted and scaled by fixed constants, and batch norm becomes a fixed per-channel affine
map at inference, so a louder input still gives larger activations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bgtai.audio import LogMel
from bgtai.layers import sinusoids

AUDIO_HOP_MS = 10.0
AUDIO_STRIDE = 4
"""The conv stem's total stride: 40 ms per audio feature frame, 25 frames per second."""

TAIL_SAMPLES = 2048
"""Zeros appended to every waveform: more than the STFT half-window plus the stem's reach."""

LOG_MEL_SHIFT, LOG_MEL_SCALE = 5.0, 2.5
"""Fixed affine on log10 mel power (-10 = the floor, about -2 for loud events) to ~[-2, 2]."""


class _DilatedBlock(nn.Module):
    """Residual 1-D conv block (kernel 3, given dilation); padding frames are zeroed first."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.norm = nn.BatchNorm1d(width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x + F.gelu(self.norm(self.conv(x * mask)))


class WindowPool(nn.Module):
    """Pool frame features over windows: masked mean, max and a rate-normalised sum.

    The sum (divided by the frames per second, so it counts "per second of evidence" in
    absolute terms) is what lets an embedding tell three claps from five: a mean or a max
    is the same for both.
    """

    def __init__(self, width: int, out: int, frames_per_second: float):
        super().__init__()
        self.fps = frames_per_second
        self.proj = nn.Linear(3 * width, out)

    def forward(self, h: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
        """``h`` ``(B, F, C)``, ``windows`` ``(B, W, F)`` bool -> ``(B, W, out)``."""
        w = windows.to(h.dtype)
        total = torch.einsum("bwf,bfc->bwc", w, h)
        count = w.sum(dim=2, keepdim=True).clamp_min(1.0)
        peak = h[:, None].masked_fill(~windows[..., None], float("-inf")).amax(dim=2)
        peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
        return self.proj(torch.cat([total / count, peak, total / self.fps], dim=-1))


class AudioEncoder(nn.Module):
    """Waveform -> loudness-keeping log-mel -> conv stem -> dilated convs -> pooled windows.

    Dilated convolutions rather than self-attention: with ragged batches the attention
    padding mask sends PyTorch to its slow masked kernel (3x slower here), and a receptive
    field of ``2 * (2**layers - 1)`` frames (1.2 s at 4 layers) is enough context to tell one
    repetition from the next.

    Parameters
    ----------
    n_mels, width, layers, out_dim : int
        Mel bands, feature width, dilated blocks (dilations 1, 2, 4, ...), output size.
    segment_s : float
        Segment length for :meth:`forward`'s per-segment embeddings (the clips' 1 s segments).
    """

    def __init__(self, n_mels: int = 64, width: int = 96, layers: int = 4, out_dim: int = 128,
                 segment_s: float = 1.0):
        super().__init__()
        self.logmel = LogMel(n_mels=n_mels, hop_ms=AUDIO_HOP_MS)
        self.stem = nn.Sequential(
            nn.Conv1d(n_mels, width, 5, stride=2, padding=2), nn.BatchNorm1d(width), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.BatchNorm1d(width), nn.GELU(),
        )
        self.blocks = nn.ModuleList(_DilatedBlock(width, 2 ** k) for k in range(layers))
        self.fps = 1000.0 / (AUDIO_HOP_MS * AUDIO_STRIDE)
        self.segment_frames = round(segment_s * self.fps)
        self.pool = WindowPool(width, out_dim, self.fps)

    def frames(self, wave: torch.Tensor, lengths: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, S)`` waveforms -> ``(B, F, width)`` features and their ``(B, F)`` mask."""
        if wave.ndim != 2 or wave.shape[1] == 0:
            raise ValueError(f"wave must be (B, samples) with samples > 0, got {tuple(wave.shape)}")
        if lengths is None:
            lengths = torch.full((wave.shape[0],), wave.shape[1], device=wave.device)
        # Trailing silence, so the last valid frames see the same zeros (STFT window, stem
        # receptive field) whether a clip is padded in a batch or alone.
        wave = F.pad(wave, (0, TAIL_SAMPLES))
        x = (self.logmel(wave) + LOG_MEL_SHIFT) / LOG_MEL_SCALE  # (B, mel frames, n_mels)
        h = self.stem(x.transpose(1, 2))  # (B, width, F)
        hop = self.logmel.hop_length * AUDIO_STRIDE
        n = torch.div(lengths.to(h.device) + hop - 1, hop, rounding_mode="floor").clamp(1, h.shape[2])
        mask = torch.arange(h.shape[2], device=h.device)[None, :] < n[:, None]
        m = mask[:, None, :].to(h.dtype)
        for block in self.blocks:
            h = block(h, m)
        return (h * m).transpose(1, 2), mask

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clip and segment embeddings (not normalised).

        Returns
        -------
        clip : torch.Tensor
            ``(B, out_dim)``, pooled over the whole (unpadded) clip.
        segments : torch.Tensor
            ``(B, S, out_dim)``, pooled over consecutive ``segment_s`` windows; the last one
            may be shorter, as the world's last segment is.
        segment_mask : torch.Tensor
            ``(B, S)`` bool, True for segments that hold audio.
        """
        h, mask = self.frames(wave, lengths)
        n_seg = int(mask.sum(dim=1).max() - 1) // self.segment_frames + 1
        # Window k holds frames [k S, (k + 1) S). Compared, not divided: torch.compile's CPU
        # code (torch 2.11) gets `arange(F) // S` wrong in a vector loop's tail (lab notebook).
        frame = torch.arange(h.shape[1], device=h.device)[None, None, :]
        start = torch.arange(n_seg, device=h.device)[None, :, None] * self.segment_frames
        windows = (frame >= start) & (frame < start + self.segment_frames) & mask[:, None, :]
        pooled = self.pool(h, torch.cat([mask[:, None, :], windows], dim=1))
        return pooled[:, 0], pooled[:, 1:], windows.any(dim=2)


class ImageEncoder(nn.Module):
    """A small CNN: a 4x4 patch stem, conv blocks down to a 4x4 map, flattened.

    The patch stem (stride 4) keeps every pixel (16 per patch go into the channels) at a
    quarter of a stride-2 stem's cost.

    Flattening (rather than global pooling) keeps where and how big objects are, which is
    what separates "two big" from "four small" objects (size is loudness, count is repetitions).
    """

    def __init__(self, image_size: int = 64, widths: tuple[int, ...] = (32, 64, 96),
                 out_dim: int = 128):
        super().__init__()
        self.image_size = image_size
        layers, c_in = [nn.Conv2d(3, widths[0], 4, stride=4), nn.BatchNorm2d(widths[0]),
                        nn.GELU()], widths[0]
        for k, c_out in enumerate(widths):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.GELU()]
            if k < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * c_in, 2 * out_dim),
                   nn.GELU(), nn.Linear(2 * out_dim, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` uint8 or float in [0, 1] -> ``(B, out_dim)``."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              antialias=True, align_corners=False)
        return self.net(x)


class TextEncoder(nn.Module):
    """Token embeddings + sinusoidal positions -> transformer -> masked mean -> projection."""

    def __init__(self, vocab_size: int, width: int = 128, layers: int = 2, heads: int = 4,
                 out_dim: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.register_buffer("pos", sinusoids(256, width), persistent=False)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, 0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        # One code path in train and eval (nested tensors would change eval numerics).
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, out_dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids and ``(B,)`` lengths -> ``(B, out_dim)``."""
        if ids.ndim != 2 or ids.shape[1] > self.pos.shape[0]:
            raise ValueError(f"ids must be (B, L<= {self.pos.shape[0]}), got {tuple(ids.shape)}")
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None]
        h = self.encoder(self.embed(ids) + self.pos[: ids.shape[1]], src_key_padding_mask=~mask)
        h = self.norm(h) * mask[..., None]
        return self.proj(h.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1))
