"""UniBriVL-style joint embedding of audio, images and gloss/text, with data-pair selection.

:class:`JointModel` holds the three encoders (:mod:`bgtai.joint.encoders`), a DS-Net selector
(:class:`bgtai.align.dsnet.DSNet` on segment x frame embeddings) and the training objective,
so that a trainer makes one forward call per step through the (DDP-)prepared module.

Objective (one step, both parts optional)
-----------------------------------------
*event batch* (single events with their own image and caption, exact pairs):
    symmetric InfoNCE audio-image, gloss-image, text-image, audio-gloss, audio-text, where
    items of the same content cell (class, pitch level, loudness level, repetitions) count as
    positives of each other (their captions are interchangeable); plus an attribute head,
    shared by the audio and image embeddings, that reads class, repetitions, loudness and pitch
    position back from the embedding (train-split ground truth), which keeps the world's
    physics as directions of the space instead of letting the contrastive loss fold them.
*clip batch* (multi-event clips with distractor frames, :mod:`bgtai.joint.selection`):
    InfoNCE between the audio side and the frame of the pair selection chose (one per clip),
    audio-gloss and audio-text InfoNCE against the clip's caption, and DS-Net's losses.

Gloss and raw text captions go through the same text encoder with equal weights, so the
gloss-vs-text retrieval comparison measures the input form, not the training budget.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bgtai.align.dsnet import DSNet, DSNetConfig
from bgtai.align.losses import alignment_bce
from bgtai.audio import SAMPLE_RATE, validate_waveform
from bgtai.data.events import CLASSES, MAX_REPETITIONS
from bgtai.hub import SafeModelHubMixin
from bgtai.joint import selection as sel
from bgtai.joint.data import batch_lengths
from bgtai.joint.encoders import AudioEncoder, ImageEncoder, TextEncoder
from bgtai.joint.frontend import FRONTENDS, AudioFrontend, FrontendUnavailable
from bgtai.joint.tokens import TokenVocab

PAIRS = ("audio_image", "gloss_image", "audio_gloss")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")
"""``torch.compile`` modes that :meth:`JointModel.compile_encoders` takes."""


@dataclass
class JointConfig:
    """Hyper-parameters of :class:`JointModel` (saved as ``config.json``).

    Attributes
    ----------
    vocab : list of str
        Text-encoder tokens (without ``<pad>``/``<unk>``), see :class:`TokenVocab`.
    dim : int
        Size of the joint space.
    audio_width, audio_layers, text_width, text_layers, heads : int
        Encoder sizes (audio: width and dilated blocks; text: width, layers, heads).
    image_size : int
        Images are resized to this side before the image encoder.
    image_widths : list of int
        Channels of the image encoder's conv blocks.
    dsnet_width : int
        ``d_model`` of the DS-Net selector.
    audio_frontend : str
        A frozen pretrained front-end whose features, through a trained head of
        ``frontend_hidden`` units, are added to the audio tower's clip embedding: ``""`` (none)
        or ``"aisfx"`` (:mod:`bgtai.joint.frontend`).
    frontend_hidden : int
        Hidden units of that head.
    frontend_scale : float
        Weight of the head's output in the clip embedding (0-1), set after training: less
        than 1 keeps more of the tower's loudness and pitch cues that the sliders move,
        at some cost in what the front-end adds (chosen on val; docs/real_sounds.md).
    frontend_gate : int
        World sounds in the bank of the head's gate (0: no gate). With a gate, the head's
        output is weighted by how far a sound is from the world's own sounds
        (:class:`bgtai.joint.frontend.FrontendHead`), so that they keep the tower's embedding.
    """

    vocab: list[str] = field(default_factory=lambda: ["<unk-world>"])
    dim: int = 128
    audio_width: int = 96
    audio_layers: int = 4
    text_width: int = 96
    text_layers: int = 2
    heads: int = 4
    image_size: int = 64
    image_widths: list[int] = field(default_factory=lambda: [24, 48, 64])
    dsnet_width: int = 64
    audio_frontend: str = ""
    frontend_hidden: int = 256
    frontend_scale: float = 1.0
    frontend_gate: int = 0

    def __post_init__(self):
        if self.audio_frontend not in FRONTENDS:
            raise ValueError(f"JointConfig.audio_frontend must be one of {FRONTENDS}, "
                             f"got {self.audio_frontend!r}")
        for name in ("dim", "audio_width", "audio_layers", "text_width", "text_layers", "heads",
                     "image_size", "dsnet_width", "frontend_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"JointConfig.{name} must be a positive int, got {value!r}")
        scale = self.frontend_scale
        if (isinstance(scale, bool) or not isinstance(scale, (int, float))
                or not 0.0 <= scale <= 1.0):
            raise ValueError(f"JointConfig.frontend_scale must be a number in [0, 1], "
                             f"got {scale!r}")
        gate = self.frontend_gate
        if not isinstance(gate, int) or isinstance(gate, bool) or gate < 0:
            raise ValueError(f"JointConfig.frontend_gate must be an int >= 0, got {gate!r}")
        if self.frontend_gate and not self.audio_frontend:
            raise ValueError("JointConfig.frontend_gate needs an audio_frontend")
        if not 32 <= self.image_size <= 128:
            raise ValueError(f"JointConfig.image_size must be 32-128, got {self.image_size}")


@dataclass
class StepSettings:
    """What one training step does (the trainer's switches).

    Attributes
    ----------
    selection : str
        One of :data:`bgtai.joint.selection.SELECTIONS`.
    loss : str
        DS-Net's loss against the Result Filter path, one of ``("l2", "sp", "total")``.
    ce_weight, sp_weight : float
        ``a`` and ``b`` of ``L_total = contrastive + a CE + b SP``.
    aux_weight : float
        Weight of the attribute head on event batches.
    """

    selection: str = "ds_rf"
    loss: str = "total"
    ce_weight: float = 1.0
    sp_weight: float = 1.0
    aux_weight: float = 0.5

    def __post_init__(self):
        if self.selection not in sel.SELECTIONS:
            raise ValueError(f"selection must be one of {sel.SELECTIONS}, got {self.selection!r}")
        if self.loss not in sel.LOSSES:
            raise ValueError(f"loss must be one of {sel.LOSSES}, got {self.loss!r}")
        for name in ("ce_weight", "sp_weight", "aux_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def info_nce(a: torch.Tensor, b: torch.Tensor, log_scale: torch.Tensor,
             positives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE between L2-normalised ``(N, D)`` batches with a learned temperature.

    ``positives`` ``(N, N)`` bool marks extra matches (the diagonal always is one); the target
    distribution of each row spreads evenly over its positives.
    """
    logits = log_scale.exp().clamp(max=100.0) * a @ b.T
    eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
    pos = eye if positives is None else positives | eye
    target = pos.to(logits.dtype) / pos.sum(dim=1, keepdim=True)
    target_t = pos.T.to(logits.dtype) / pos.T.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target_t))


class AttributeHead(nn.Module):
    """Reads the world's attributes off a joint embedding (shared by audio and image)."""

    def __init__(self, dim: int):
        super().__init__()
        self.classes = nn.Linear(dim, len(CLASSES))
        self.repetitions = nn.Linear(dim, MAX_REPETITIONS)
        self.levels = nn.Linear(dim, 2)  # loudness position, pitch position (both 0-1)

    def loss(self, emb: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        levels = self.levels(emb)
        pitched = torch.isfinite(batch["pitch_pos"])
        pitch_err = (levels[:, 1] - torch.nan_to_num(batch["pitch_pos"])) ** 2 * pitched
        return (F.cross_entropy(self.classes(emb), batch["class"])
                + F.cross_entropy(self.repetitions(emb), batch["repetitions"] - 1)
                + 4.0 * F.mse_loss(levels[:, 0], batch["loudness_pos"])
                + 4.0 * pitch_err.sum() / pitched.sum().clamp_min(1))


class JointModel(nn.Module, SafeModelHubMixin, library_name="bgtai",
                 tags=["bgtai", "unibrivl", "joint-embedding"]):
    """Audio, image and gloss/text encoders into one L2-normalised space, plus DS-Net.

    Parameters
    ----------
    config : JointConfig

    Notes
    -----
    ``save_pretrained(dir)`` writes ``config.json`` (vocabulary included) and
    ``model.safetensors``; ``JointModel.from_pretrained(dir_or_hub_id)`` loads them strictly
    and returns the model in eval mode. Pickled weights are refused.
    """

    def __init__(self, config: JointConfig):
        super().__init__()
        if isinstance(config, dict):
            config = JointConfig(**config)
        if not isinstance(config, JointConfig):
            raise ValueError(f"config must be a JointConfig, got {type(config).__name__}")
        self.config = c = config
        self.vocab = TokenVocab(c.vocab)
        self.audio = AudioEncoder(width=c.audio_width, layers=c.audio_layers, out_dim=c.dim)
        self.frontend = None
        self.frontend_missing = ""
        """Why the config's front-end is not there (its package is not installed), or ``""``."""
        if c.audio_frontend:
            try:
                self.frontend = AudioFrontend(c.audio_frontend, c.dim, c.frontend_hidden,
                                              gate_bank=c.frontend_gate)
            except FrontendUnavailable as err:
                if not c.frontend_gate:
                    raise
                # A gated front-end only corrects real recordings (world sounds keep the
                # tower's embedding), so the tower alone still serves: Hugging Face Spaces
                # cannot install aiSFX (its metadata pins numpy 1.23; requirements-nodeps.txt).
                self.frontend_missing = str(err)
                warnings.warn(f"{err}; without it, real recordings are heard by the audio "
                              "tower alone", stacklevel=2)
        self.image = ImageEncoder(c.image_size, tuple(c.image_widths), c.dim)
        self.text = TextEncoder(len(self.vocab), c.text_width, c.text_layers, c.heads, c.dim)
        self.log_scales = nn.Parameter(torch.full((len(PAIRS),), math.log(1 / 0.07)))
        self.attributes = AttributeHead(c.dim)
        self.dsnet = DSNet(DSNetConfig(d_in_short=c.dim, d_in_long=c.dim, d_model=c.dsnet_width,
                                       layers=1, heads=4, pair_channels=8, conv_channels=16,
                                       conv_layers=2))

    @classmethod
    def _load_as_safetensor(cls, model, model_file, map_location, strict):
        if not model.frontend_missing:
            return super()._load_as_safetensor(model, model_file, map_location, strict)
        from safetensors.torch import load_file

        state = {k: v for k, v in load_file(model_file, device=str(map_location)).items()
                 if not k.startswith("frontend.")}
        model.load_state_dict(state, strict=True)  # every other weight, strictly
        return model.eval()

    def _save_pretrained(self, save_directory) -> None:
        if self.frontend_missing:  # the head's weights are not here to save
            raise ValueError(f"cannot save a joint model whose front-end did not load: "
                             f"{self.frontend_missing}")
        super()._save_pretrained(save_directory)

    # ------------------------------------------------------------------ embeddings
    def embed_audio(self, wave: torch.Tensor, lengths: torch.Tensor | None = None,
                    recorded: tuple[torch.Tensor, torch.Tensor | None] | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised ``(B, dim)`` clip and ``(B, S, dim)`` 1 s segment embeddings, and the
        ``(B, S)`` segment mask, of ``(B, samples)`` 16 kHz waveforms.

        With a pretrained front-end, its head's output is added to the tower's normalised clip
        embedding (the segments stay the tower's). ``recorded`` (``(wave, lengths)``, one per
        item) is what the front-end reads instead, for slider edits: what a sound *is* comes
        from the sound as recorded, how loud and high it is from the edited sound, which the
        tower reads as the original model did (the front-end's features are not those of the
        world's pitch-shifted sounds; docs/real_sounds.md)."""
        clip, segments, mask = self.audio(wave, lengths)
        clip = F.normalize(clip, dim=-1)
        if self.frontend is not None:
            added = self.frontend(*(recorded or (wave, lengths)))
            clip = F.normalize(clip + self.config.frontend_scale * added, dim=-1)
        return clip, F.normalize(segments, dim=-1), mask

    def real_weight(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B,)`` front-end gate of ``(B, samples)`` 16 kHz waveforms: 0 for a sound like the
        world's own, 1 for one as far from them as a typical real recording
        (:meth:`~bgtai.joint.frontend.FrontendHead.gate_weight`); all 0 without a gated
        front-end (none configured, or its package not installed)."""
        if self.frontend is None or not self.frontend.head.gated:
            return torch.zeros(len(wave), device=wave.device)
        return self.frontend.head.gate_weight(self.frontend.features(wave, lengths))

    def embed_image(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised ``(B, dim)`` embeddings of ``(B, 3, H, W)`` images (uint8 or [0, 1])."""
        return F.normalize(self.image(images), dim=-1)

    def _embed_some_images(self, images: torch.Tensor) -> torch.Tensor:
        """:meth:`embed_image` of a batch whose size changes from step to step (a clip batch's
        valid frames, the real clips that have a picture). It takes the image encoder's plain
        ``forward``: a compiled encoder (:meth:`compile_encoders`) would compile again for every
        new size."""
        return F.normalize(self.image.forward(images), dim=-1)

    def compile_encoders(self, mode: str = "default") -> None:
        """Compile the audio, image and text encoders and DS-Net in place with
        ``torch.compile(dynamic=False, mode=mode)``, ``mode`` one of :data:`COMPILE_MODES`
        (weights, names and outputs unchanged).

        Fewer, fused kernels per step, for a GPU step that is bound by kernel launches
        (docs/joint.md). Shapes are static, so batches should come in a few fixed shapes
        (:func:`bgtai.data.world.collate_world`'s ``multiples``); each new shape compiles
        once, and past dynamo's recompile limit a module runs uncompiled for new shapes.
        ``mode="reduce-overhead"`` adds CUDA graphs on a GPU. The front-end is left as is.
        """
        if mode not in COMPILE_MODES:
            raise ValueError(f"mode must be one of {COMPILE_MODES}, got {mode!r}")
        for module in (self.audio, self.image, self.text, self.dsnet):
            module.compile(dynamic=False, mode=mode)

    def embed_tokens(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Normalised ``(B, dim)`` embeddings of padded token ids."""
        return F.normalize(self.text(ids, lengths), dim=-1)

    @torch.no_grad()
    def embed_captions(self, texts: list[str], form: str = "gloss") -> torch.Tensor:
        """Normalised embeddings of English captions read as gloss (rules) or as raw words."""
        ids, lengths = self.vocab.batch(texts, form)
        device = self.log_scales.device
        return self.embed_tokens(ids.to(device), lengths.to(device))

    @torch.no_grad()
    def embed_waveform(self, wave: np.ndarray) -> torch.Tensor:
        """Normalised ``(dim,)`` clip embedding of one mono 16 kHz waveform (validated)."""
        wave = validate_waveform(wave, SAMPLE_RATE)
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        return self.embed_audio(x.to(self.log_scales.device))[0][0]

    # ------------------------------------------------------------------ training
    def _caption_losses(self, audio: torch.Tensor, batch: dict, positives) -> dict:
        out = {}
        for form in ("gloss", "text"):
            emb = self.embed_tokens(batch[f"{form}_ids"], batch_lengths(batch, f"{form}_ids"))
            out[form] = emb
            out[f"audio_{form}"] = info_nce(audio, emb, self.log_scales[2], positives)
        return out

    def event_losses(self, batch: dict, settings: StepSettings) -> dict[str, torch.Tensor]:
        """Losses of a batch of single events (see the module docstring)."""
        audio, _, _ = self.embed_audio(batch["audio"], batch_lengths(batch, "audio"))
        image = self.embed_image(batch["image"])
        same = batch["combo"][:, None] == batch["combo"][None, :]
        cap = self._caption_losses(audio, batch, same)
        losses = {
            "event_audio_image": info_nce(audio, image, self.log_scales[0], same),
            "event_gloss_image": 0.5 * info_nce(cap["gloss"], image, self.log_scales[1], same),
            "event_text_image": 0.5 * info_nce(cap["text"], image, self.log_scales[1], same),
            "event_audio_gloss": 0.5 * cap["audio_gloss"],
            "event_audio_text": 0.5 * cap["audio_text"],
        }
        if settings.aux_weight > 0:
            losses["event_attributes"] = settings.aux_weight * 0.5 * (
                self.attributes.loss(audio, batch) + self.attributes.loss(image, batch))
        return losses

    def clip_losses(self, batch: dict, settings: StepSettings) -> dict[str, torch.Tensor]:
        """Losses of a batch of clips with data-pair selection (see :mod:`.selection`)."""
        clip, segments, seg_mask = self.embed_audio(batch["audio"], batch_lengths(batch, "audio"))
        frames = batch["frames"]
        frame_mask = (torch.arange(frames.shape[1], device=frames.device)[None, :]
                      < batch_lengths(batch, "frames")[:, None])
        truth = batch["alignment"][:, : seg_mask.shape[1], : frames.shape[1]]
        truth = truth & seg_mask[:, :, None] & frame_mask[:, None, :]
        rows = torch.arange(len(clip), device=clip.device)
        losses: dict[str, torch.Tensor] = {}
        if settings.selection == "base":
            audio_side, frame_idx = clip, sel.random_frames(frame_mask)
        else:
            with torch.no_grad():  # the selector sees every frame; only chosen ones get gradients
                all_frames = torch.zeros(*frame_mask.shape, clip.shape[1], device=clip.device)
                all_frames[frame_mask] = self._embed_some_images(frames[frame_mask])
            seg_d = segments.detach()
            if settings.selection == "result_filter":
                path = sel.result_filter_path(seg_d, seg_mask, all_frames, frame_mask)
                candidates = sel.filter_path(path, sel.cosine_cells(seg_d, all_frames))
            else:
                logits = self.dsnet(seg_d, all_frames, seg_mask, frame_mask)
                losses["dsnet_bce"] = alignment_bce(logits, truth, seg_mask, frame_mask)
                if settings.selection == "ds_rf":
                    path = sel.result_filter_path(seg_d, seg_mask, all_frames, frame_mask)
                    losses["dsnet_rf"] = sel.alignment_loss(
                        logits, path, seg_mask, frame_mask, settings.loss,
                        ce_weight=settings.ce_weight, sp_weight=settings.sp_weight)
                candidates = sel.dsnet_candidates(logits.detach(), seg_mask, frame_mask)
            seg_idx, frame_idx = sel.sample_cells(candidates)
            audio_side = segments[rows, seg_idx]
            # How often the chosen pair really shares a visible, audible event (a diagnostic).
            losses["pair_precision"] = truth[rows, seg_idx, frame_idx].float().mean().detach()
        image = self.embed_image(frames[rows, frame_idx])
        losses["clip_audio_image"] = info_nce(audio_side, image, self.log_scales[0])
        cap = self._caption_losses(clip, batch, None)
        losses["clip_audio_gloss"] = 0.5 * cap["audio_gloss"]
        losses["clip_audio_text"] = 0.5 * cap["audio_text"]
        return losses

    def pair_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        """Losses of a batch of real clips (:class:`bgtai.joint.real_data.RealPairs`): audio-
        image InfoNCE over the clips that have a picture, audio-gloss and audio-text InfoNCE
        against one text of each; clips of one ``group`` (class label) are positives."""
        audio, _, _ = self.embed_audio(batch["audio"], batch_lengths(batch, "audio"))
        same = batch["group"][:, None] == batch["group"][None, :]
        cap = self._caption_losses(audio, batch, same)
        losses = {"real_audio_gloss": 0.5 * cap["audio_gloss"],
                  "real_audio_text": 0.5 * cap["audio_text"]}
        seen = batch["has_image"]
        if int(seen.sum()) >= 2:  # (the trainer tells DDP that the image side may idle)
            image = self._embed_some_images(batch["image"][seen])
            losses["real_audio_image"] = info_nce(audio[seen], image, self.log_scales[0],
                                                  same[seen][:, seen])
        return losses

    def forward(self, clips: dict | None = None, events: dict | None = None,
                settings: StepSettings | None = None, pairs: dict | None = None
                ) -> dict[str, torch.Tensor]:
        """One training step's losses; ``"loss"`` is their sum (diagnostics excluded).

        Parameters
        ----------
        clips, events : dict or None
            Collated batches from :class:`bgtai.joint.data.ClipPairs` and
            :class:`bgtai.joint.data.EventPairs`; at least one is needed.
        settings : StepSettings
        """
        settings = settings or StepSettings()
        if clips is None and events is None and pairs is None:
            raise ValueError("a step needs a clip, event or real-pair batch")
        losses: dict[str, torch.Tensor] = {}
        if events is not None:
            losses |= self.event_losses(events, settings)
        if clips is not None:
            losses |= self.clip_losses(clips, settings)
        if pairs is not None:
            losses |= self.pair_losses(pairs)
        losses["loss"] = sum(v for k, v in losses.items() if k != "pair_precision")
        return losses


