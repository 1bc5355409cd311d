"""The audio captioner: the joint model's audio encoder feeding Langue2Gloss's gloss decoder.

Memory the decoder attends over, for one clip: the joint audio encoder's frame features
(40 ms each, :meth:`bgtai.joint.encoders.AudioEncoder.frames`) projected to ``d_model``, with
the clip's pooled joint embedding prepended as one extra position, then Langue2Gloss's shared
transformer encoder (:meth:`bgtai.gloss.model.Langue2Gloss.encode_features`). The frames say
*when* and in what order things sound, which a caption of several events needs ("... DESC-THEN
..."); the pooled embedding carries what the joint training made explicit (class, count via
its rate-normalised sum, loudness, pitch). The gloss decoder, its incremental greedy search and
its cross-attention are Langue2Gloss's own; this module writes no decoder.

Each event heard (:mod:`bgtai.caption.segment`; the true ones in training) also gets
one memory position of its own after the frames, its *slot*: the event's pooled features,
measured level and number of sounds, what its event heads make of them (class, count,
loudness and pitch level) with the decoder's own embeddings of those words, and its place in
the order. A word about one event can read it there undiluted, where attention spread over
frames of silence and other events would average it.

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
from bgtai.caption import segment
from bgtai.caption.words import (
    SPECIALS,
    CaptionVocab,
    HeardEvent,
    attribute_words,
    english,
    parse_gloss,
)
from bgtai.data.events import CLASSES, LOUDNESS_LEVELS, MAX_REPETITIONS, PITCH_LEVELS
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
from bgtai.hub import SafeModelHubMixin
from bgtai.joint.encoders import AUDIO_HOP_MS, AUDIO_STRIDE, AudioEncoder

MAX_SECONDS = 10.0
"""Longest clip captioned (the world's clips are 1-10 s)."""

HEAD_VALUES: dict[str, list[tuple[str, object]]] = {
    "cls": [("none", None)] + [("class", c) for c in CLASSES],
    "count": [("count", n) for n in range(1, MAX_REPETITIONS + 1)],
    "loudness": [("loudness", v) for v in LOUDNESS_LEVELS],
    "pitch": [("pitch", v) for v in PITCH_LEVELS],
}
"""What each output of the frame and event heads stands for, as ``(kind, value)`` of
:func:`bgtai.caption.words.phrase_table`: the class sounding (``"none"``: nothing), its
event's repetitions, loudness level and pitch level."""

FRAME_TARGETS = {name: len(values) for name, values in HEAD_VALUES.items()}
"""The heads' output sizes, in the order of their logits."""

LEVEL_RAMP_DB = tuple(range(-60, -5, 3))
"""Thresholds (dBFS) of the level ramps an event vector carries: ``sigmoid((level - t) / 2 dB)``
for each, so any loudness band is a difference of two inputs."""

EVENT_SLOTS = 8
"""Order embeddings of the event slots; a later event shares the last one."""

ONSET_FRAMES = 2
"""The first frames of each event, the onset head's positives."""

ACTIVE_DB = 20.0
"""An event's active frames are those within this many dB of its loudest frame, as the world's
loudness (:func:`bgtai.data.sounds.active_level_dbfs`) counts them."""


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
    position, column ``1 + k`` the frame starting at ``k * frame_seconds`` (the attention on
    the event slots that follow the frames in the memory is left out).
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
        # per-frame heads over the encoder outputs (auxiliary losses in training; at inference
        # the class head's path says where the events are): what sounds at each frame, and
        # that event's count, loudness and pitch levels
        self.frame_head = nn.Linear(c.d_model, sum(FRAME_TARGETS.values()))
        # ... and whether a new event starts there: an auxiliary loss only (the bundle was
        # trained with it); splitting the heard events at its onsets lost more val clips'
        # event counts than the sounds' levels and spacing do (docs/experiments.md)
        self.onset_head = nn.Linear(c.d_model, 1)
        n_event = c.audio_dim + len(LEVEL_RAMP_DB) + MAX_REPETITIONS
        # per-event heads (the frame heads' outputs, for a whole event), trained on the true
        # events' attributes; their probabilities go into the event's slot
        self.event_head = nn.Sequential(nn.Linear(n_event, c.d_model), nn.GELU(),
                                        nn.Linear(c.d_model, sum(FRAME_TARGETS.values())))
        self.event_proj = nn.Linear(n_event + sum(FRAME_TARGETS.values()), c.d_model)
        self.event_order = nn.Embedding(EVENT_SLOTS, c.d_model)
        # each event head output -> the mean of its words' ids (derived from the vocabulary,
        # not saved): a slot also holds the decoder's own embeddings of the words it names
        self.register_buffer("head_words", torch.from_numpy(np.stack(
            [attribute_words(self.vocab, kind, value) for values in HEAD_VALUES.values()
             for kind, value in values])),
            persistent=False)
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

    def _event_features(self, frames: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
        """``(B, E, n)`` features of each event: the frozen joint pool over its frames (whose
        rate-normalised sum tells what sounds and how often, which attention, an average,
        cannot), unit-normalised as the joint model compares it, its measured level as ramps
        and its number of separate sounds one-hot (:func:`event_measures`; thresholds are then
        single inputs). Unnormalised, the pool (norm ~80) drowns the ramps: a probe on the
        loudness level read 0.72 of val events with it, 0.93 with it normalised."""
        pooled = F.normalize(self.audio.pool(frames[..., :-1], windows), dim=-1)
        level, sounds = event_measures(frames[..., -1], windows)
        ramp = torch.sigmoid((level[..., None] - level.new_tensor(LEVEL_RAMP_DB)) / 2.0)
        count = F.one_hot(sounds.clamp(1, MAX_REPETITIONS) - 1, MAX_REPETITIONS).to(ramp.dtype)
        return torch.cat([pooled, ramp, count], -1)

    def _add_events(self, encoded: torch.Tensor, pad: torch.Tensor, frames: torch.Tensor,
                    windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The memory with the events: each event's vector (its features and its event heads'
        probabilities, projected) is added to every frame of the event and, with the event's
        order embedding, appended as the event's slot. ``windows`` ``(B, E, F)`` bool; returns
        ``(B, 1 + F + E, d)``, the padding mask (slots of no event padded) and the event heads'
        logits ``(B, E, sum(FRAME_TARGETS))``."""
        features = self._event_features(frames, windows)
        logits = self.event_head(features)
        groups = logits.split(list(FRAME_TARGETS.values()), -1)
        probs = torch.cat([g.softmax(-1) for g in groups], -1)
        events = self.event_proj(torch.cat([features, probs], -1))
        # scaled as the decoder scales its input embeddings
        words = probs @ self.head_words @ self.gloss.embed.weight * self.config.d_model ** 0.5
        per_frame = torch.einsum("bef,bed->bfd", windows.to(frames.dtype), events)
        order = torch.arange(events.shape[1], device=events.device).clamp_max(EVENT_SLOTS - 1)
        memory = torch.cat([encoded[:, :1], encoded[:, 1:] + per_frame,
                            events + words + self.event_order(order)], 1)
        return memory, torch.cat([pad, ~windows.any(-1)], 1), logits

    def heard_windows(self, encoded: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor
                      ) -> torch.Tensor:
        """The events heard, ``(B, E, F)`` bool: the frame head's classes decoded as a path and
        split into events by their sounds' levels and spacing
        (:func:`bgtai.caption.segment.heard_windows`)."""
        kept = mask.cpu()
        logp = self.frame_head(encoded[:, 1:])[..., : FRAME_TARGETS["cls"]].log_softmax(-1)
        classes = segment.class_path(logp.float().cpu(), kept) * kept
        return segment.heard_windows(classes, 20.0 * frames[..., -1].cpu(), kept).to(mask.device)

    def memory(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
               windows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """What the decoder attends over: ``(B, 1 + F + E, d)`` (the clip position, the frames
        with their event's vector added, the events' slots) and the padding mask (True =
        padding). ``windows`` ``(B, E, F)``: the events' frames; None reads them off the frame
        head."""
        encoded, pad = self._encode(frames, mask, clip)
        if windows is None:
            windows = self.heard_windows(encoded, frames, mask)
        return self._add_events(encoded, pad, frames, windows)[:2]

    def forward(self, frames: torch.Tensor, mask: torch.Tensor, clip: torch.Tensor,
                gloss_ids: torch.Tensor, label_smoothing: float = 0.1,
                frame_targets: torch.Tensor | None = None, token_events: torch.Tensor | None = None,
                frame_weight: float = 0.0, align_weight: float = 0.0, event_weight: float = 0.0
                ) -> dict[str, torch.Tensor]:
        """Training losses: the teacher-forced caption loss of ``gloss_ids`` ``(B, L)``
        (``<s> ... </s> <pad>...``), plus, for world items (``frame_targets`` ``(B, F, 5)`` of
        :func:`bgtai.caption.data.frame_targets` and the tokens' ``token_events`` ``(B, L)``),
        ``frame_weight`` times the frame heads' loss, ``event_weight`` times the event heads'
        (each true event's class, count, loudness and pitch level) and ``align_weight`` times
        the DS-Net's (each caption token against the frames of the event it speaks of; the
        aligner reads detached states, so it never steers the caption). Their sum is under
        ``"loss"``."""
        encoded, pad = self._encode(frames, mask, clip)
        # the true events' frames where known (teacher forcing), else the frame head's
        windows = (self.heard_windows(encoded, frames, mask) if frame_targets is None
                   else segment.event_windows(frame_targets[..., 4] + 1))
        memory, mem_pad, event_logits = self._add_events(encoded, pad, frames, windows)
        loss, hidden = self.gloss.loss(memory, mem_pad, gloss_ids, label_smoothing)
        out = {"caption_loss": loss.detach()}
        if frame_targets is not None and frame_weight > 0:
            frame_loss = _heads_loss(self.frame_head(encoded[:, 1:]), frame_targets)
            frame_loss = frame_loss + F.binary_cross_entropy_with_logits(
                self.onset_head(encoded[:, 1:])[..., 0][mask],
                onset_targets(frame_targets[..., 4])[mask].to(encoded.dtype))
            out["frame_loss"] = frame_loss.detach()
            loss = loss + frame_weight * frame_loss
        if frame_targets is not None and event_weight > 0:
            # each true event's attributes, read at its first frame; no event: ignored
            first = windows.to(torch.int8).argmax(-1)
            targets = frame_targets.gather(1, first[..., None].expand(-1, -1, 5))
            targets = targets.masked_fill(~windows.any(-1, keepdim=True), -100)
            event_loss = _heads_loss(event_logits, targets)
            out["event_loss"] = event_loss.detach()
            loss = loss + event_weight * event_loss
        if token_events is not None and frame_targets is not None and align_weight > 0:
            owner = token_events[:, 1:, None]
            target = F.pad((owner >= 0) & (owner == frame_targets[:, None, :, 4]), (1, 0))
            g_mask = self.gloss.gloss_mask(gloss_ids)
            # every token row needs an aligned frame; an item without (none in the world) is left out
            ok = (target.any(-1) | ~g_mask).all(1) & g_mask.any(1)
            if bool(ok.any()):  # over the ordered positions: the clip's and the frames
                n = pad.shape[1]
                logits = self.gloss.align_logits(hidden[ok], g_mask[ok], memory[ok, :n],
                                                 pad[ok])
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
        n = 1 + frames.shape[1]  # the clip's and the frames' positions; the slots follow
        views = self.gloss.inspect(ids, memory, pad, aligned=n) if with_attention else None
        out = []
        for row, seq in enumerate(ids.tolist()):
            tokens = self.vocab.decode(seq)
            events = parse_gloss(tokens)
            att = alignment = None
            if views is not None:  # the rows of the tokens kept (the decode drops specials)
                end = seq.index(self.gloss.config.eos_id) if self.gloss.config.eos_id in seq else len(seq)
                kept = [i for i in range(end) if self.vocab.tokens[seq[i]] not in SPECIALS]
                cols = 1 + int(mask[row].sum())
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


def _heads_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of the heads' ``(..., sum(FRAME_TARGETS))`` logits against the
    first four columns of ``targets`` ``(..., 5)`` (-100 ignored)."""
    groups = logits.split(list(FRAME_TARGETS.values()), -1)
    return sum(F.cross_entropy(g.reshape(-1, g.shape[-1]), targets[..., k].reshape(-1),
                               ignore_index=-100) for k, g in enumerate(groups))


def onset_targets(event_of_frame: torch.Tensor) -> torch.Tensor:
    """The onset head's targets ``(B, F)`` bool from each frame's event index in onset order
    ``(B, F)`` (-1: none): the first :data:`ONSET_FRAMES` frames of every event."""
    seen = F.pad(event_of_frame.cummax(1).values[:, :-1], (1, 0), value=-1)
    first = event_of_frame > seen
    out = first.clone()
    for k in range(1, ONSET_FRAMES):
        out[:, k:] |= first[:, :-k]
    return out & (event_of_frame >= 0)


def frame_levels(wave: torch.Tensor, n_frames: int, hop: int) -> torch.Tensor:
    """Level of each ``hop``-sample frame of ``(B, samples)`` waveforms, ``(B, n_frames)``:
    its mean power in dBFS (floor -100) divided by 20. The world's loudness words are levels
    in dB (RMS over a sound's active part), which the joint encoder's features keep only
    roughly (a probe on them reads the loudness level of 73 % of test events); the decoder
    gets the level itself."""
    wave = F.pad(wave, (0, max(0, n_frames * hop - wave.shape[1])))
    power = wave[:, : n_frames * hop].reshape(wave.shape[0], n_frames, hop).pow(2).mean(-1)
    return 10.0 * torch.log10(power.clamp_min(1e-10)) / 20.0


def event_measures(levels: torch.Tensor, windows: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """What the signal says of each event, from frame ``levels`` ``(B, F)`` (dBFS / 20,
    :func:`frame_levels`) and event ``windows`` ``(B, E, F)``: its active level in dBFS (mean
    power over the frames within :data:`ACTIVE_DB` of its loudest, the world's loudness measure
    at the frames' 40 ms resolution) and its number of separate sounds (runs of those frames),
    each ``(B, E)``. An empty window gets -100 dBFS and 0 sounds.

    On true windows of val clips these read the loudness third of 97 % of events and the
    repetitions of 99 % (docs/experiments.md); the decoder gets them rather than having to
    learn a power average and a run count from 40 ms features.
    """
    db = 20.0 * levels[:, None, :].expand(windows.shape)
    peak = db.masked_fill(~windows, -200.0).amax(-1, keepdim=True)
    active = windows & (db >= peak - ACTIVE_DB)
    power = torch.where(active, 10.0 ** (db / 10.0), torch.zeros_like(db)).sum(-1)
    n = active.sum(-1)
    level = torch.where(n > 0, 10.0 * torch.log10(power.clamp_min(1e-10) / n.clamp_min(1)),
                        torch.full_like(power, -100.0))
    starts = active & ~F.pad(active[..., :-1], (1, 0))
    return level, starts.sum(-1)


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
