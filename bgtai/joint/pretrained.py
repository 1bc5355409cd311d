"""The pretrained profile: an audio encoder projected into CLIP ViT-H/14 image-embedding space.

``StableUnCLIPImg2ImgPipeline`` (stable-diffusion-2-1-unclip) is conditioned on the 1024-d
``image_embeds`` of ``CLIPVisionModelWithProjection`` (laion/CLIP-ViT-H-14). An audio encoder
trained with InfoNCE against the *frozen* CLIP embeddings of the images that go with the sounds
lands in that space, so a sound can drive the pipeline (WavBriVL/UniBriVL's recipe). The CLIP
model is loaded by id with ``from_pretrained`` and never trained; only the audio side is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bgtai.hub import SafeModelHubMixin
from bgtai.joint.distributed import gather_rows, sync_batch_norm
from bgtai.joint.encoders import AudioEncoder
from bgtai.joint.model import info_nce

CLIP_VIT_H14 = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
"""CLIP's published image normalisation (the same for OpenAI and LAION ViT checkpoints)."""


def load_clip_vision(model_id: str = CLIP_VIT_H14, **kwargs):
    """A frozen ``CLIPVisionModelWithProjection`` in eval mode, loaded with ``from_pretrained``."""
    from transformers import CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection.from_pretrained(model_id, **kwargs)
    model.requires_grad_(False)
    return model.eval()


@torch.no_grad()
def clip_image_embeds(vision, images: torch.Tensor) -> torch.Tensor:
    """Normalised ``(B, projection_dim)`` CLIP image embeddings of ``(B, 3, H, W)`` images.

    Pre-processing follows CLIPImageProcessor (bicubic resize to the model's side, CLIP mean and
    std) in torch, so no processor files are needed.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    side = vision.config.image_size
    x = F.interpolate(x, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1)
    mean = torch.tensor(CLIP_MEAN, device=x.device)[:, None, None]
    std = torch.tensor(CLIP_STD, device=x.device)[:, None, None]
    x = ((x - mean) / std).to(next(vision.parameters()).dtype)
    return F.normalize(vision(pixel_values=x).image_embeds.float(), dim=-1)


@dataclass
class ClipAudioConfig:
    """Hyper-parameters of :class:`ClipAudioProjector` (saved as ``config.json``).

    Attributes
    ----------
    clip_model : str
        Id of the CLIP vision model whose space the audio is mapped into.
    dim : int
        That model's ``projection_dim`` (1024 for ViT-H/14).
    width, layers : int
        Audio encoder width and dilated blocks.
    """

    clip_model: str = CLIP_VIT_H14
    dim: int = 1024
    width: int = 256
    layers: int = 5

    def __post_init__(self):
        for name in ("dim", "width", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ClipAudioConfig.{name} must be a positive int, got {value!r}")


class ClipAudioProjector(nn.Module, SafeModelHubMixin, library_name="bgtai",
                         tags=["bgtai", "audio-to-clip"]):
    """Audio encoder whose normalised output lives in a CLIP image-embedding space.

    Parameters
    ----------
    config : ClipAudioConfig
    """

    def __init__(self, config: ClipAudioConfig):
        super().__init__()
        if isinstance(config, dict):
            config = ClipAudioConfig(**config)
        if not isinstance(config, ClipAudioConfig):
            raise ValueError(f"config must be a ClipAudioConfig, got {type(config).__name__}")
        self.config = config
        # trained on several processes, it sees the whole step's clips (distributed.py)
        self.audio = sync_batch_norm(AudioEncoder(width=config.width, layers=config.layers,
                                                  out_dim=config.dim))
        self.log_scale = nn.Parameter(torch.tensor(2.659))  # log(1 / 0.07), CLIP's start

    def embed_audio(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised ``(B, dim)`` embeddings of ``(B, samples)`` 16 kHz waveforms."""
        return F.normalize(self.audio(wave, lengths)[0], dim=-1)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None,
                image_embeds: torch.Tensor, combo: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """InfoNCE against frozen CLIP image embeddings (same content cell = positive), over the
        clips of every process when several train together (each one's are the others'
        negatives, as in one process with the whole batch)."""
        if image_embeds.shape[-1] != self.config.dim:
            raise ValueError(f"image_embeds have {image_embeds.shape[-1]} dims, the projector "
                             f"{self.config.dim}; set ClipAudioConfig.dim to the CLIP "
                             "projection_dim")
        audio = gather_rows(self.embed_audio(wave, lengths))
        image_embeds = gather_rows(image_embeds)
        combo = None if combo is None else gather_rows(combo)
        same = None if combo is None else combo[:, None] == combo[None, :]
        loss = info_nce(audio, image_embeds, self.log_scale, same)
        return {"loss": loss, "audio_clip": loss.detach()}
