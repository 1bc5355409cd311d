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
from torch import nn

from bgtai.audio import SAMPLE_RATE, validate_waveform
from bgtai.caption.words import CaptionVocab, HeardEvent, english, parse_gloss
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
from bgtai.hub import SafeModelHubMixin
from bgtai.joint.encoders import AUDIO_HOP_MS, AUDIO_STRIDE, AudioEncoder

MAX_SECONDS = 10.0
"""Longest clip captioned (the world's clips are 1-10 s)."""


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


@dataclass
class Caption:
    """One clip's caption.

    ``attention`` (``(tokens, memory)``, only when asked for) is the decoder's last-layer
    cross-attention; column 0 is the pooled clip position, column ``1 + k`` the frame starting
    at ``k * frame_seconds``.
    """

    gloss: str
    text: str
    events: list[HeardEvent]
    tokens: list[str]
    attention: np.ndarray | None = None
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
        self.frame_proj = nn.Linear(c.audio_width, c.d_model)
        self.clip_proj = nn.Linear(c.audio_dim, c.d_model)
        # 250 frames for 10 s plus the clip position; positions beyond are never used
        self.gloss = Langue2Gloss(Langue2GlossConfig(
            vocab_size=len(self.vocab), d_model=c.d_model, n_heads=c.n_heads,
            enc_layers=c.enc_layers, dec_layers=c.dec_layers, ff_dim=c.ff_dim,
            dropout=c.dropout, max_positions=272, align_d_model=16))
        # Langue2Gloss's own speech pre-net is replaced by the joint audio encoder, and its
        # DS-Net aligner is not trained here (no word-level timing supervision yet): both stay
        # frozen at their initial values so optimizers and DDP leave them alone.
        self.gloss.speech.requires_grad_(False)
        self.gloss.aligner.requires_grad_(False)

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
        """Frozen features of ``(B, samples)`` 16 kHz waveforms: ``frames (B, F, width)``,
        their ``mask (B, F)`` and the pooled clip embedding ``(B, audio_dim)``."""
        frames, mask = self.audio.frames(wave, lengths)
        clip = self.audio.pool(frames, mask[:, None, :])[:, 0]
        return frames, mask, clip

    def memory(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder outputs ``(B, 1 + F, d)`` and their padding mask (True = padding)."""
        x = torch.cat([self.clip_proj(clip)[:, None], self.frame_proj(frames)], 1)
        pad = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], 1)
        return self.gloss.encode_features(x, pad), pad

    def forward(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
                gloss_ids: torch.Tensor, label_smoothing: float = 0.1) -> dict[str, torch.Tensor]:
        """Teacher-forced loss of ``gloss_ids`` ``(B, L)`` (``<s> ... </s> <pad>...``)."""
        memory, pad = self.memory(frames, mask, clip)
        loss, _ = self.gloss.loss(memory, pad, gloss_ids, label_smoothing)
        return {"loss": loss}

    @torch.no_grad()
    def generate(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
                 with_attention: bool = False) -> list[Caption]:
        """Greedy captions of a batch of features (eval mode)."""
        memory, pad = self.memory(frames, mask, clip)
        ids = self.gloss.greedy(memory, pad, max_len=self.config.max_len)
        attention = None
        if with_attention:  # the decoder's own teacher-forced pass over what it emitted
            bos = torch.full_like(ids[:, :1], self.gloss.config.bos_id)
            prev = torch.cat([bos, ids[:, :-1]], 1)
            attention = self.gloss.decode(prev, memory, pad, need_weights=True)[1]
        out = []
        for row, seq in enumerate(ids.tolist()):
            tokens = self.vocab.decode(seq)
            events = parse_gloss(tokens)
            att = None
            if attention is not None:
                att = attention[row, : len(tokens), : int((~pad[row]).sum())].float().cpu().numpy()
            out.append(Caption(" ".join(tokens), english(events), events, tokens, att))
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
