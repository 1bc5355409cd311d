"""The audio captioner: the joint model's audio encoder feeding Langue2Gloss's gloss decoder.

Memory the decoder attends over, for one clip: the joint audio encoder's frame features
(40 ms each, :meth:`bgtai.joint.encoders.AudioEncoder.frames`) projected to ``d_model``, with
the clip's pooled joint embedding prepended as one extra position, then Langue2Gloss's shared
transformer encoder (:meth:`bgtai.gloss.model.Langue2Gloss.encode_features`). The frames say
*when* and in what order things sound, which a caption of several events needs ("... DESC-THEN
..."); the pooled embedding carries what the joint training made explicit (class, count via
its rate-normalised sum, loudness, pitch). The gloss decoder, its incremental greedy search and
its cross-attention are Langue2Gloss's own; this module writes no decoder.

The audio encoder is **frozen** (a copy of the bundled joint checkpoint's, kept in eval mode):
its loudness- and pitch-keeping features are exactly the ones the Sound -> Image sliders move,
so a caption reads the same evidence the picture is drawn from; it was trained on far more
world audio than a captioning run sees; and a frozen encoder lets the trainer compute each
clip's features once instead of at every step, which is what makes a CPU recipe possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bgtai.audio import SAMPLE_RATE, validate_waveform
from bgtai.caption.words import SPECIALS, CaptionVocab, HeardEvent, english, parse_gloss
from bgtai.data.events import CLASSES, LOUDNESS_LEVELS, MAX_REPETITIONS, PITCH_LEVELS
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
from bgtai.hub import SafeModelHubMixin
from bgtai.joint.encoders import AUDIO_HOP_MS, AUDIO_STRIDE, AudioEncoder

MAX_SECONDS = 10.0
"""Longest clip captioned (the world's clips are 1-10 s)."""

FRAME_TARGETS = {"cls": 1 + len(CLASSES), "count": MAX_REPETITIONS,
                 "loudness": len(LOUDNESS_LEVELS), "pitch": len(PITCH_LEVELS)}
"""The frame heads' outputs: the class sounding (0: none), its event's repetitions - 1,
loudness level and pitch level."""


@dataclass
class CaptionerConfig:
    """Sizes of :class:`AudioCaptioner` (saved as ``config.json``).

    ``vocab``: the gloss tokens (:func:`bgtai.caption.words.caption_vocab`); ``audio_*`` and
    ``audio_dim`` must match the joint model the audio encoder is copied from.
    """

    vocab: list[str] = field(default_factory=lambda: ["<unk-world>"])
    audio_width: int = 96
    audio_layers: int = 4
    audio_dim: int = 128
    d_model: int = 128
    n_heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    ff_dim: int = 256
    dropout: float = 0.1
    max_len: int = 40
    """Longest caption in gloss tokens (three events' captions stay under 30)."""
    cumulative: bool = True
    """Add each frame's running sum of the frames so far (per second) to its memory input."""


@dataclass
class Caption:
    """One clip's caption.

    ``attention`` and ``alignment`` (``(tokens, memory)``, only when asked for) are the
    decoder's last-layer cross-attention and DS-Net's monotonic alignment of the caption's
    words with the audio (which frames each word speaks of); column 0 is the pooled clip
    position, column ``1 + k`` the frame starting at ``k * frame_seconds``.
    """

    gloss: str
    text: str
    events: list[HeardEvent]
    tokens: list[str]
    attention: np.ndarray | None = None
    alignment: np.ndarray | None = None
    frame_seconds: float = AUDIO_HOP_MS * AUDIO_STRIDE / 1000.0


class AudioCaptioner(nn.Module, SafeModelHubMixin, library_name="bgtai",
                     tags=["bgtai", "audio-captioning", "gloss"]):
    """Frozen joint audio encoder -> projection -> Langue2Gloss encoder and gloss decoder."""

    def __init__(self, config: CaptionerConfig | dict):
        super().__init__()
        if isinstance(config, dict):
            config = CaptionerConfig(**config)
        if not isinstance(config, CaptionerConfig):
            raise ValueError(f"config must be a CaptionerConfig, got {type(config).__name__}")
        self.config = c = config
        self.vocab = CaptionVocab(c.vocab)
        self.audio = AudioEncoder(width=c.audio_width, layers=c.audio_layers, out_dim=c.audio_dim)
        self.audio.requires_grad_(False).eval()
        self.frame_proj = nn.Linear(c.audio_width + 1, c.d_model)
        self.clip_proj = nn.Linear(c.audio_dim, c.d_model)
        self.cum_proj = nn.Linear(c.audio_width + 1, c.d_model) if c.cumulative else None
        # per-frame auxiliary heads over the encoder outputs (training only): what sounds at
        # each frame, and that event's count, loudness and pitch levels
        self.frame_head = nn.Linear(c.d_model, sum(FRAME_TARGETS.values()))
        self.event_proj = nn.Linear(c.audio_dim + 2, c.d_model)
        # 250 frames for 10 s plus the clip position; positions beyond are never used
        self.gloss = Langue2Gloss(Langue2GlossConfig(
            vocab_size=len(self.vocab), d_model=c.d_model, n_heads=c.n_heads,
            enc_layers=c.enc_layers, dec_layers=c.dec_layers, ff_dim=c.ff_dim,
            dropout=c.dropout, max_positions=272, align_d_model=16))
        # Langue2Gloss's own speech pre-net is replaced by the joint audio encoder: it stays
        # frozen at its initial values so optimizers and DDP leave it alone.
        self.gloss.speech.requires_grad_(False)

    @classmethod
    def from_joint(cls, joint, config: CaptionerConfig) -> AudioCaptioner:
        """A new captioner whose audio encoder is a copy of ``joint.audio`` (a JointModel)."""
        model = cls(config)
        model.audio.load_state_dict(joint.audio.state_dict())
        return model

    def train(self, mode: bool = True) -> AudioCaptioner:
        """As ``nn.Module.train``, but the frozen audio encoder stays in eval mode (its batch
        norms must keep the joint model's statistics)."""
        super().train(mode)
        self.audio.eval()
        return self

    @torch.no_grad()
    def audio_features(self, wave: torch.Tensor, lengths: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frozen features of ``(B, samples)`` 16 kHz waveforms: ``frames (B, F, width + 1)``
        (the encoder's frame features and each frame's level, :func:`frame_levels`), their
        ``mask (B, F)`` and the pooled clip embedding ``(B, audio_dim)``."""
        frames, mask = self.audio.frames(wave, lengths)
        clip = self.audio.pool(frames, mask[:, None, :])[:, 0]
        hop = self.audio.logmel.hop_length * AUDIO_STRIDE
        levels = frame_levels(wave, frames.shape[1], hop) * mask.to(frames.dtype)
        return torch.cat([frames, levels[..., None]], -1), mask, clip

    def _encode(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Langue2Gloss's encoder over the clip position and the frames: ``(B, 1 + F, d)`` and
        the padding mask (True = padding)."""
        x = self.frame_proj(frames)
        if self.cum_proj is not None:
            kept = frames * mask[..., None].to(frames.dtype)
            x = x + self.cum_proj(torch.cumsum(kept, 1) / self.audio.fps)
        x = torch.cat([self.clip_proj(clip)[:, None], x], 1)
        pad = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], 1)
        return self.gloss.encode_features(x, pad), pad

    def _add_events(self, encoded: torch.Tensor, frames: torch.Tensor, windows: torch.Tensor
                    ) -> torch.Tensor:
        """Add to every frame of an event that event's vector: the frozen joint pool over its
        frames (whose rate-normalised sum tells three claps from five, which attention, an
        average, cannot) and its mean and peak level. ``windows`` ``(B, E, F)`` bool."""
        w = windows.to(frames.dtype)
        pooled = self.audio.pool(frames[..., :-1], windows)
        n = w.sum(-1).clamp_min(1.0)
        level = frames[..., -1]
        peak = level[:, None].masked_fill(~windows, -5.0).amax(-1)
        events = self.event_proj(torch.cat(
            [pooled, ((w @ level[..., None])[..., 0] / n)[..., None], peak[..., None]], -1))
        per_frame = torch.einsum("bef,bed->bfd", w, events)
        return torch.cat([encoded[:, :1], encoded[:, 1:] + per_frame], 1)

    def heard_windows(self, encoded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The events the frame head hears, ``(B, E, F)`` bool (:func:`event_windows` of its
        per-frame class)."""
        classes = self.frame_head(encoded[:, 1:])[..., : FRAME_TARGETS["cls"]].argmax(-1)
        return event_windows((classes * mask).cpu()).to(mask.device)

    def memory(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
               windows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """What the decoder attends over: ``(B, 1 + F, d)`` (the clip position, then the
        frames with their event's vector added) and the padding mask (True = padding).
        ``windows`` ``(B, E, F)``: the events' frames; None reads them off the frame head."""
        encoded, pad = self._encode(frames, mask, clip)
        if windows is None:
            windows = self.heard_windows(encoded, mask)
        return self._add_events(encoded, frames, windows), pad

    def forward(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
                gloss_ids: torch.Tensor, label_smoothing: float = 0.1,
                frame_targets: torch.Tensor | None = None, token_events: torch.Tensor | None = None,
                frame_weight: float = 0.0, align_weight: float = 0.0) -> dict[str, torch.Tensor]:
        """Training losses: the teacher-forced caption loss of ``gloss_ids`` ``(B, L)``
        (``<s> ... </s> <pad>...``), plus, for world items (``frame_targets`` ``(B, F, 5)`` of
        :func:`bgtai.caption.data.frame_targets` and the tokens' ``token_events`` ``(B, L)``),
        ``frame_weight`` times the frame heads' loss and ``align_weight`` times the DS-Net's
        (each caption token against the frames of the event it speaks of; the aligner reads
        detached states, so it never steers the caption). Their sum is under ``"loss"``."""
        encoded, pad = self._encode(frames, mask, clip)
        # the true events' frames where known (teacher forcing), else the frame head's
        windows = (self.heard_windows(encoded, mask) if frame_targets is None
                   else event_windows(frame_targets[..., 4] + 1))
        memory = self._add_events(encoded, frames, windows)
        loss, hidden = self.gloss.loss(memory, pad, gloss_ids, label_smoothing)
        out = {"caption_loss": loss.detach()}
        if frame_targets is not None and frame_weight > 0:
            logits = self.frame_head(encoded[:, 1:]).split(list(FRAME_TARGETS.values()), -1)
            frame_loss = sum(F.cross_entropy(lg.reshape(-1, lg.shape[-1]),
                                             frame_targets[..., k].reshape(-1), ignore_index=-100)
                             for k, lg in enumerate(logits))
            out["frame_loss"] = frame_loss.detach()
            loss = loss + frame_weight * frame_loss
        if token_events is not None and frame_targets is not None and align_weight > 0:
            owner = token_events[:, 1:, None]
            target = F.pad((owner >= 0) & (owner == frame_targets[:, None, :, 4]), (1, 0))
            g_mask = self.gloss.gloss_mask(gloss_ids)
            # every token row needs an aligned frame; an item without (none in the world) is left out
            ok = (target.any(-1) | ~g_mask).all(1) & g_mask.any(1)
            if bool(ok.any()):
                logits = self.gloss.align_logits(hidden[ok], g_mask[ok], memory[ok], pad[ok])
                align_loss = self.gloss.align_loss(logits, target[ok], g_mask[ok], pad[ok])
                out["align_loss"] = align_loss.detach()
                loss = loss + align_weight * align_loss
        out["loss"] = loss
        return out

    @torch.no_grad()
    def generate(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
                 with_attention: bool = False) -> list[Caption]:
        """Greedy captions of a batch of features (eval mode); ``with_attention`` adds each
        caption's cross-attention and DS-Net alignment (:class:`Caption`)."""
        memory, pad = self.memory(frames, mask, clip)
        ids = self.gloss.greedy(memory, pad, max_len=self.config.max_len)
        views = self.gloss.inspect(ids, memory, pad) if with_attention else None
        out = []
        for row, seq in enumerate(ids.tolist()):
            tokens = self.vocab.decode(seq)
            events = parse_gloss(tokens)
            att = alignment = None
            if views is not None:  # the rows of the tokens kept (the decode drops specials)
                end = seq.index(self.gloss.config.eos_id) if self.gloss.config.eos_id in seq else len(seq)
                kept = [i for i in range(end) if self.vocab.tokens[seq[i]] not in SPECIALS]
                cols = int((~pad[row]).sum())
                att, alignment = (v[row, kept, :cols].cpu().numpy() for v in views[1:3])
                att = att.astype(np.float32)
            out.append(Caption(" ".join(tokens), english(events), events, tokens, att, alignment))
        return out

    @torch.no_grad()
    def caption_waveforms(self, waves: list[np.ndarray], with_attention: bool = False
                          ) -> list[Caption]:
        """Caption validated 16 kHz mono waveforms (each at most :data:`MAX_SECONDS`), batched."""
        device = self.frame_proj.weight.device
        lengths = torch.tensor([len(w) for w in waves])
        batch = torch.zeros(len(waves), int(lengths.max()))
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
        feats = self.audio_features(batch.to(device), lengths.to(device))
        return self.generate(*feats, with_attention=with_attention)


def event_windows(labels: torch.Tensor, min_frames: int = 3, max_gap: int = 3) -> torch.Tensor:
    """Events as ``(B, E, F)`` bool frame windows from per-frame labels ``(B, F)`` (0: nothing;
    equal labels: one event): each run of one label, after runs shorter than ``min_frames``
    are dropped and runs of one label at most ``max_gap`` frames apart are joined. With the
    true events' indices + 1 as labels this gives their frames exactly; with the frame head's
    class labels, what it heard."""
    rows = []
    for row in labels.tolist():
        runs: list[list[int]] = []  # [label, start, end)
        start = 0
        for f in range(1, len(row) + 1):
            if f == len(row) or row[f] != row[start]:
                if row[start] and f - start >= min_frames:
                    if runs and runs[-1][0] == row[start] and start - runs[-1][2] <= max_gap:
                        runs[-1][2] = f
                    else:
                        runs.append([row[start], start, f])
                start = f
        rows.append(runs)
    out = torch.zeros(labels.shape[0], max(1, max(map(len, rows))), labels.shape[1], dtype=torch.bool)
    for b, runs in enumerate(rows):
        for e, (_, start, end) in enumerate(runs):
            out[b, e, start:end] = True
    return out


def frame_levels(wave: torch.Tensor, n_frames: int, hop: int) -> torch.Tensor:
    """Level of each ``hop``-sample frame of ``(B, samples)`` waveforms, ``(B, n_frames)``:
    its mean power in dBFS (floor -100) divided by 20. The world's loudness words are levels
    in dB (RMS over a sound's active part), which the joint encoder's features keep only
    roughly (a probe on them reads the loudness level of 73 % of test events); the decoder
    gets the level itself."""
    wave = F.pad(wave, (0, max(0, n_frames * hop - wave.shape[1])))
    power = wave[:, : n_frames * hop].reshape(wave.shape[0], n_frames, hop).pow(2).mean(-1)
    return 10.0 * torch.log10(power.clamp_min(1e-10)) / 20.0


def caption_waveform(model: AudioCaptioner, wave, sr: int = SAMPLE_RATE, *,
                     with_attention: bool = False) -> Caption:
    """Caption one recording: what the model hears, as gloss and as English.

    ``wave`` is anything :func:`bgtai.audio.validate_waveform` takes (any rate, mono or
    channels, int or float); it must be 0.05-10 s long and not silent.

    Raises
    ------
    ValueError
        For input the audio paths refuse (empty, too short or long, silent, NaN, bad rate).
    """
    wave = validate_waveform(wave, sr, max_seconds=MAX_SECONDS)
    model.eval()
    return model.caption_waveforms([wave], with_attention=with_attention)[0]
