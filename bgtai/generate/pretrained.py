"""The pretrained profile's backend: Stable unCLIP fed by an audio projector.

``StableUnCLIPImg2ImgPipeline`` (``stabilityai/stable-diffusion-2-1-unclip``) is an image
*variation* model: it takes a CLIP ViT-H/14 image embedding (1024-d) as ``image_embeds`` and
decodes a picture from it. An audio projector trained into that space (the joint embedding's
pretrained profile) stands in for the image encoder, which is the paper's Fig. 3 on real data.
:class:`UnclipBackend` is a :class:`~bgtai.generate.backend.Backend`: the sliders, mixing, seeds
and re-ranking are :class:`~bgtai.generate.pipeline.SoundToImage`'s, as for the embedded decoder.

Norm rescaling: a projector trained with a contrastive or cosine loss fixes the *direction* of
its output but not its length, while the unCLIP UNet was trained on raw image embeddings of a
typical length (its noise augmentation and normaliser assume that scale). So the audio embedding
is rescaled to the mean norm of the pipeline's own image embeddings, measured once with the
pipeline's image encoder on calibration images (:meth:`UnclipBackend.calibrate`).

Nothing is downloaded unless :meth:`UnclipBackend.from_pretrained` is called with a hub
id; the tests build tiny random components instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bgtai.generate.unet import check_steps

UNCLIP_MODEL_ID = "stabilityai/stable-diffusion-2-1-unclip"
"""Hub id of the pretrained decoder (CLIP ViT-H/14 image embeddings, 1024-d)."""

UNCLIP_STEPS = 20
UNCLIP_GUIDANCE = 10.0
"""Sampler steps and text guidance when the caller gives none (the pipeline's own defaults)."""

AudioProjector = Callable[[np.ndarray], torch.Tensor]
"""Mono 16 kHz waveform -> ``(dim,)`` embedding in the unCLIP image-embedding space."""


class UnclipBackend:
    """Sound -> image with a Stable unCLIP pipeline and an audio projector.

    Parameters
    ----------
    pipe : diffusers.StableUnCLIPImg2ImgPipeline
        The decoder (any size; the tests use a tiny random one).
    audio_projector : callable
        Waveform -> ``(dim,)`` tensor, ``dim`` equal to the pipeline's image-embedding size.
    image_embed_norm : float, optional
        Target L2 norm of the embeddings fed to the pipeline; call :meth:`calibrate` to measure
        it (required before embedding sounds when not given).
    prompt : str
        Optional text steering every picture, as Stable unCLIP allows.
    noise_level : int
        unCLIP's noise augmentation of the embedding (0 = follow it closely).
    """

    def __init__(self, pipe, audio_projector: AudioProjector, *,
                 image_embed_norm: float | None = None, prompt: str = "", noise_level: int = 0):
        if image_embed_norm is not None and not (np.isfinite(image_embed_norm) and image_embed_norm > 0):
            raise ValueError(f"image_embed_norm must be a positive number, got {image_embed_norm}")
        self.pipe = pipe
        self.audio_projector = audio_projector
        self.image_embed_norm = image_embed_norm
        self.prompt, self.noise_level = str(prompt), int(noise_level)

    @classmethod
    def from_pretrained(cls, audio_projector: AudioProjector, model_id: str = UNCLIP_MODEL_ID,
                        **kwargs) -> UnclipBackend:
        """Load the Stable unCLIP pipeline by hub id or folder (``kwargs`` go to diffusers)."""
        from diffusers import StableUnCLIPImg2ImgPipeline

        return cls(StableUnCLIPImg2ImgPipeline.from_pretrained(model_id, **kwargs), audio_projector)

    @classmethod
    def from_projector(cls, projector: str, model_id: str = UNCLIP_MODEL_ID, *, device: str = "cpu",
                       n_calibration: int = 16, **kwargs) -> UnclipBackend:
        """The whole pretrained profile: a :class:`~bgtai.joint.pretrained.ClipAudioProjector`
        checkpoint (folder or hub id) and the unCLIP pipeline on ``device``, calibrated on
        ``n_calibration`` world pictures (val split)."""
        from bgtai.data.world import WorldDataset
        from bgtai.joint.pretrained import ClipAudioProjector

        audio = ClipAudioProjector.from_pretrained(projector).to(device).eval()

        @torch.no_grad()
        def project(wave: np.ndarray) -> torch.Tensor:
            return audio.embed_audio(torch.from_numpy(wave)[None].to(device))[0].float().cpu()

        backend = cls.from_pretrained(project, model_id, **kwargs)
        backend.pipe.to(device)
        pictures = WorldDataset("val", n_calibration, kind="image")
        backend.calibrate([pictures.event(i, audio=False)[2] for i in range(n_calibration)])
        return backend

    @property
    def dim(self) -> int:
        return int(self.pipe.image_encoder.config.projection_dim)

    @property
    def noise_shape(self) -> tuple[int, int, int]:
        """The UNet's latent at the pipeline's default size (``height = sample_size * 8``)."""
        c = self.pipe.unet.config
        return c.in_channels, c.sample_size, c.sample_size

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

    def embed_audio(self, waves: list[np.ndarray],
                    recorded: list[np.ndarray] | None = None) -> torch.Tensor:
        """``(B, dim)``: the projector's embeddings of ``waves``, each rescaled to
        :attr:`image_embed_norm` (the projector reads the sound once: ``recorded`` unused)."""
        if self.image_embed_norm is None:
            raise ValueError("call calibrate(images) or pass image_embed_norm before generating")
        emb = torch.stack([torch.as_tensor(self.audio_projector(w)).float().reshape(-1)
                           for w in waves])
        if emb.shape[1] != self.dim:
            raise ValueError(f"the audio projector gives {emb.shape[1]}-d embeddings, the pipeline "
                             f"expects {self.dim}")
        norm = emb.norm(dim=1, keepdim=True)
        if not torch.isfinite(norm).all() or (norm == 0).any():
            raise ValueError("the audio projector returned a zero or non-finite embedding")
        return emb * (self.image_embed_norm / norm)

    def embed_gloss(self, glosses: list[str]) -> torch.Tensor:
        raise ValueError("Text and speech drive pictures in the embedded profile only: the "
                         "pretrained profile has no gloss route into the unCLIP space.")

    @torch.no_grad()
    def decode(self, embeddings: torch.Tensor, noise: torch.Tensor, *, steps: int | None = None,
               guidance_scale: float | None = None,
               generator: torch.Generator | None = None) -> np.ndarray:
        """Stable unCLIP from ``noise`` latents; ``generator`` draws its noise augmentation.

        ``steps`` defaults to :data:`UNCLIP_STEPS` (1-:data:`~bgtai.generate.unet.MAX_STEPS`),
        ``guidance_scale`` to :data:`UNCLIP_GUIDANCE`.
        """
        steps = UNCLIP_STEPS if steps is None else check_steps(steps)
        scale = UNCLIP_GUIDANCE if guidance_scale is None else float(guidance_scale)
        unet = self.pipe.unet
        out = self.pipe(prompt=[self.prompt] * len(embeddings),
                        image_embeds=embeddings.to(unet.device, unet.dtype),
                        latents=noise.to(unet.device, unet.dtype), num_inference_steps=steps,
                        guidance_scale=scale, noise_level=self.noise_level, generator=generator,
                        output_type="np")
        return (np.clip(out.images, 0.0, 1.0) * 255).round().astype(np.uint8)
