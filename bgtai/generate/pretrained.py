"""The pretrained profile: sound -> image with Stable unCLIP fed by an audio projector.

``StableUnCLIPImg2ImgPipeline`` (``stabilityai/stable-diffusion-2-1-unclip``) is an image
*variation* model: it takes a CLIP ViT-H/14 image embedding (1024-d) as ``image_embeds`` and
decodes a picture from it. An audio projector trained into that space (the joint embedding's
pretrained profile) stands in for the image encoder, which is the paper's Fig. 3 on real data.

Norm rescaling: a projector trained with a contrastive or cosine loss fixes the *direction* of
its output but not its length, while the unCLIP UNet was trained on raw image embeddings of a
typical length (its noise augmentation and normaliser assume that scale). So the audio embedding
is rescaled to the mean norm of the pipeline's own image embeddings, measured once with the
pipeline's image encoder on calibration images (:meth:`PretrainedSoundToImage.calibrate`).

Nothing is downloaded unless :meth:`PretrainedSoundToImage.from_pretrained` is called with a hub
id; the tests build tiny random components instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bgtai.audio import AudioSource, load_audio
from bgtai.generate.edits import apply_gain, pitch_shift
from bgtai.generate.pipeline import GenerationResult, check_mix, check_seed
from bgtai.generate.unet import MAX_STEPS

UNCLIP_MODEL_ID = "stabilityai/stable-diffusion-2-1-unclip"
"""Hub id of the pretrained decoder (CLIP ViT-H/14 image embeddings, 1024-d)."""

AudioProjector = Callable[[np.ndarray], torch.Tensor]
"""Mono 16 kHz waveform -> ``(dim,)`` embedding in the unCLIP image-embedding space."""


class PretrainedSoundToImage:
    """Sound -> image with a Stable unCLIP pipeline and an audio projector.

    Parameters
    ----------
    pipe : diffusers.StableUnCLIPImg2ImgPipeline
        The decoder (any size; the tests use a tiny random one).
    audio_projector : callable
        Waveform -> ``(dim,)`` tensor, ``dim`` equal to the pipeline's image-embedding size.
    image_embed_norm : float, optional
        Target L2 norm of the embeddings fed to the pipeline; call :meth:`calibrate` to measure
        it (required before generating when not given).
    """

    def __init__(self, pipe, audio_projector: AudioProjector, *, image_embed_norm: float | None = None):
        if image_embed_norm is not None and not (np.isfinite(image_embed_norm) and image_embed_norm > 0):
            raise ValueError(f"image_embed_norm must be a positive number, got {image_embed_norm}")
        self.pipe = pipe
        self.audio_projector = audio_projector
        self.image_embed_norm = image_embed_norm

    @classmethod
    def from_pretrained(cls, audio_projector: AudioProjector, model_id: str = UNCLIP_MODEL_ID,
                        **kwargs) -> PretrainedSoundToImage:
        """Load the Stable unCLIP pipeline by hub id or folder (``kwargs`` go to diffusers)."""
        from diffusers import StableUnCLIPImg2ImgPipeline

        return cls(StableUnCLIPImg2ImgPipeline.from_pretrained(model_id, **kwargs), audio_projector)

    @classmethod
    def from_projector(cls, projector: str, model_id: str = UNCLIP_MODEL_ID, *, device: str = "cpu",
                       n_calibration: int = 16, **kwargs) -> PretrainedSoundToImage:
        """The whole pretrained profile: a :class:`~bgtai.joint.pretrained.ClipAudioProjector`
        checkpoint (folder or hub id) and the unCLIP pipeline on ``device``, calibrated on
        ``n_calibration`` world pictures (val split)."""
        from bgtai.data.world import WorldDataset
        from bgtai.joint.pretrained import ClipAudioProjector

        audio = ClipAudioProjector.from_pretrained(projector).to(device).eval()

        @torch.no_grad()
        def project(wave: np.ndarray) -> torch.Tensor:
            return audio.embed_audio(torch.from_numpy(wave)[None].to(device))[0].float().cpu()

        generator = cls.from_pretrained(project, model_id, **kwargs)
        generator.pipe.to(device)
        pictures = WorldDataset("val", n_calibration, kind="image")
        generator.calibrate([pictures.event(i, audio=False)[2] for i in range(n_calibration)])
        return generator

    @property
    def embed_dim(self) -> int:
        return int(self.pipe.image_encoder.config.projection_dim)

    @torch.no_grad()
    def calibrate(self, images) -> float:
        """Set :attr:`image_embed_norm` to the mean norm of the pipeline's embeddings of ``images``.

        Parameters
        ----------
        images : sequence of PIL images or ``(H, W, 3)`` uint8 arrays
            Pictures typical of the domain (e.g. world test images).
        """
        if len(images) == 0:
            raise ValueError("calibration needs at least one image")
        self.image_embed_norm = float(self.embed_images(images).norm(dim=-1).mean())
        return self.image_embed_norm

    @torch.no_grad()
    def embed_images(self, images) -> torch.Tensor:
        """``(N, dim)`` float32 embeddings of pictures by the pipeline's own image encoder."""
        pixels = self.pipe.feature_extractor(images=list(images), return_tensors="pt").pixel_values
        encoder = self.pipe.image_encoder
        return encoder(pixels.to(encoder.device, encoder.dtype)).image_embeds.float().cpu()

    def embed_audio(self, wave: np.ndarray) -> torch.Tensor:
        """The projector's embedding of ``wave``, rescaled to :attr:`image_embed_norm`."""
        if self.image_embed_norm is None:
            raise ValueError("call calibrate(images) or pass image_embed_norm before generating")
        emb = torch.as_tensor(self.audio_projector(wave)).float().reshape(-1)
        if emb.numel() != self.embed_dim:
            raise ValueError(f"the audio projector gives {emb.numel()}-d embeddings, the pipeline "
                             f"expects {self.embed_dim}")
        norm = emb.norm()
        if not torch.isfinite(norm) or norm == 0:
            raise ValueError("the audio projector returned a zero or non-finite embedding")
        return emb * (self.image_embed_norm / norm)

    def __call__(self, audio: AudioSource, sr: int | None = None, *, gain_db: float = 0.0,
                 semitones: float = 0.0, mix_image=None, mix_weight: float = 0.0,
                 prompt: str = "", steps: int = 20, seed: int = 0,
                 guidance_scale: float = 10.0, noise_level: int = 0) -> GenerationResult:
        """Generate a picture from a sound (sliders and mixing as in
        :class:`~bgtai.generate.SoundToImage`; the mix picture is embedded by the pipeline's
        image encoder).

        ``prompt`` optionally steers the picture with text, as Stable unCLIP allows;
        ``noise_level`` is unCLIP's noise augmentation of the embedding (0 = follow it closely).
        """
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be an integer in 1-{MAX_STEPS}, got {steps!r}")
        weight = check_mix(mix_image, mix_weight)
        wave = apply_gain(pitch_shift(load_audio(audio, sr), semitones), gain_db)
        source = self.embed_audio(wave)
        emb = source if weight == 0 else (1 - weight) * source + weight * self.embed_images([mix_image])[0]
        encoder = self.pipe.image_encoder
        generator = torch.Generator().manual_seed(check_seed(seed))
        out = self.pipe(prompt=prompt, image_embeds=emb[None].to(encoder.device, encoder.dtype),
                        num_inference_steps=int(steps), guidance_scale=float(guidance_scale),
                        noise_level=int(noise_level), generator=generator, output_type="np")
        image = (np.clip(out.images[0], 0.0, 1.0) * 255).round().astype(np.uint8)
        return GenerationResult(image, wave, source, emb)
