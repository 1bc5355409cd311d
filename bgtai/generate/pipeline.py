"""Sound (or text, or speech) -> image, with the volume and frequency sliders and image mixing.

>>> pipe = SoundToImage.from_pretrained()                       # doctest: +SKIP
>>> out = pipe("clap.wav", gain_db=6, semitones=-2, seed=0)     # doctest: +SKIP
>>> out.image.shape                                             # doctest: +SKIP
(64, 64, 3)

The chain (paper Fig. 3): the waveform is edited (:mod:`bgtai.generate.edits`), embedded and
mapped into the image-embedding space (:mod:`bgtai.generate.mapping`), optionally mixed with the
embedding of another image, and decoded by diffusion (:mod:`bgtai.generate.unet`). Text goes
through gloss (:func:`bgtai.gloss.english_to_gloss`); speech through the Langue2Gloss translator
when its checkpoint is available.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bgtai.audio import AudioSource, load_audio
from bgtai.generate.edits import apply_gain, clamp_gain, clamp_semitones, pitch_shift
from bgtai.generate.mapping import (
    AudioEncoder,
    Embedder,
    EmbeddingMapper,
    GlossEncoder,
    JointEmbedder,
    WorldAttributeEmbedder,
)
from bgtai.generate.unet import ImageDecoder
from bgtai.gloss import english_to_gloss, validate_text
from bgtai.readers import load_world_classifier

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "generator"
DEFAULT_GLOSS_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "gloss"
MAX_CANDIDATES = 8
"""Most pictures drawn per request for re-ranking (each one more picture through the sampler)."""


@dataclass
class GenerationResult:
    """One generated picture and what led to it.

    Attributes
    ----------
    image : np.ndarray
        ``(H, W, 3)`` uint8.
    wave : np.ndarray or None
        The edited waveform (16 kHz mono float32) for sound input, else ``None``.
    source_embedding : torch.Tensor
        ``(dim,)`` the sound's / gloss's embedding mapped into the image-embedding space.
    embedding : torch.Tensor
        ``(dim,)`` what the decoder was conditioned on (after mixing).
    gloss : str or None
        The gloss for text or speech input.
    """

    image: np.ndarray
    wave: np.ndarray | None
    source_embedding: torch.Tensor
    embedding: torch.Tensor
    gloss: str | None = None


def check_seed(seed) -> int:
    """``seed`` validated: a non-negative integer below 2**63."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_mix(mix_image, mix_weight) -> float:
    """``mix_weight`` validated: a number in [0, 1], and > 0 only with a ``mix_image``."""
    if isinstance(mix_weight, bool) or not isinstance(mix_weight, (int, float, np.integer, np.floating)):
        raise ValueError(f"mix_weight must be a number in [0, 1], got {mix_weight!r}")  # noqa: TRY004
    weight = float(mix_weight)
    if not 0.0 <= weight <= 1.0:  # NaN fails this too
        raise ValueError(f"mix_weight must be within [0, 1], got {mix_weight}")
    if weight > 0 and mix_image is None:
        raise ValueError("mix_weight > 0 needs a mix_image")
    return weight


def check_candidates(candidates) -> int:
    """``candidates`` validated: an integer in 1-:data:`MAX_CANDIDATES`."""
    if (isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer))
            or not 1 <= candidates <= MAX_CANDIDATES):
        raise ValueError(f"candidates must be an integer in 1-{MAX_CANDIDATES}, got {candidates!r}")
    return int(candidates)


class SoundToImage:
    """The sound-to-image pipeline.

    Parameters
    ----------
    decoder : ImageDecoder
        Diffusion decoder from image embeddings.
    embedder : Embedder
        Audio, image and gloss embeddings in the decoder's image-embedding space.
    translator : bgtai.gloss.translator.GlossTranslator, optional
        Speech -> gloss; without it :meth:`speech_to_image` raises ``ValueError``.
    candidates : int
        Pictures drawn per request; the one whose own embedding is closest to the asked one is
        kept (:meth:`generate`). ``pipeline.json`` sets it for a trained folder.
    """

    def __init__(self, decoder: ImageDecoder, embedder: Embedder, translator=None, candidates: int = 1):
        if embedder.dim != decoder.config.embed_dim:
            raise ValueError(f"the embedder's dimension {embedder.dim} does not match the decoder's "
                             f"{decoder.config.embed_dim}")
        self.decoder = decoder.eval()
        self.embedder = embedder
        self.translator = translator
        self.candidates = check_candidates(candidates)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, classifier: str | Path | None = None,
                        gloss_translator=None) -> SoundToImage:
        """Load a pipeline folder written by ``train/train_generator.py --assemble``.

        ``pipeline.json`` names the embedding space: ``"world_attributes"`` (the fallback:
        ``audio_encoder/``, ``gloss_encoder/``) or ``"joint"`` (``audio_mapper/``,
        ``gloss_mapper/`` and the path of the JointModel checkpoint, relative to the folder),
        and optionally ``"candidates"`` (default 1).

        Parameters
        ----------
        path : str or Path, optional
            The folder (default: the bundled ``assets/generator``).
        classifier : str or Path, optional
            World classifier behind the attribute embedding (default: the bundled one).
        gloss_translator : str, Path or GlossTranslator, optional
            Langue2Gloss checkpoint (or an already loaded translator, to share it) for speech
            input; by default ``assets/gloss`` is used when it exists, and speech input is
            unavailable otherwise.
        """
        path = Path(path) if path is not None else DEFAULT_CHECKPOINT
        manifest = path / "pipeline.json"
        if not manifest.is_file():
            raise ValueError(f"no generator at {path} (missing pipeline.json); train one with "
                             "`python -m train.train_generator`")
        spec = json.loads(manifest.read_text())
        if spec.get("embedder") == "world_attributes":
            gloss_dir = path / "gloss_encoder"
            embedder = WorldAttributeEmbedder(
                load_world_classifier(classifier),
                AudioEncoder.from_pretrained(path / "audio_encoder"),
                GlossEncoder.from_pretrained(gloss_dir) if gloss_dir.is_dir() else None,
            )
        elif spec.get("embedder") == "joint":
            from bgtai.joint import JointModel  # only this profile needs the joint package

            embedder = JointEmbedder(JointModel.from_pretrained(path / spec["joint"]),
                                     EmbeddingMapper.from_pretrained(path / "audio_mapper"),
                                     EmbeddingMapper.from_pretrained(path / "gloss_mapper"))
        else:
            raise ValueError(f"unsupported embedder {spec.get('embedder')!r} in {manifest}")
        decoder = ImageDecoder.from_pretrained(path / "decoder")
        try:
            candidates = check_candidates(spec.get("candidates", 1))
        except ValueError as err:
            raise ValueError(f"{manifest}: {err}") from None
        if hasattr(gloss_translator, "from_speech"):  # loaded already
            return cls(decoder, embedder, gloss_translator, candidates)
        translator = None
        gloss_path = Path(gloss_translator) if gloss_translator is not None else DEFAULT_GLOSS_CHECKPOINT
        if gloss_path.is_dir() and any(gloss_path.glob("*.safetensors")):
            from bgtai.gloss.translator import GlossTranslator

            translator = GlossTranslator.from_pretrained(gloss_path)
        elif gloss_translator is not None:
            raise ValueError(f"no gloss translator checkpoint at {gloss_path}")
        return cls(decoder, embedder, translator, candidates)

    # -- building blocks -----------------------------------------------------------------------

    @staticmethod
    def edit(wave: np.ndarray, *, gain_db: float = 0.0, semitones: float = 0.0) -> np.ndarray:
        """Apply the sliders: pitch shift first (it resamples), then the gain."""
        return apply_gain(pitch_shift(wave, semitones), gain_db)

    def mix(self, embedding: torch.Tensor, mix_image=None, mix_weight: float = 0.0) -> torch.Tensor:
        """Linear interpolation towards ``mix_image``'s embedding (Fig. 3, right)."""
        weight = check_mix(mix_image, mix_weight)
        if weight == 0.0:
            return embedding
        target = self.embedder.embed_images(mix_image)[0]
        return (1.0 - weight) * embedding + weight * target

    def generate(self, embeddings: torch.Tensor, *, steps: int | None = None, seed: int = 0,
                 guidance_scale: float | None = None, same_noise: bool = False,
                 candidates: int | None = None) -> np.ndarray:
        """Decode ``(B, dim)`` image embeddings into ``(B, H, W, 3)`` uint8 images.

        With ``candidates`` k > 1 (default: the pipeline's), k pictures are drawn per embedding
        from different noise and the one whose own embedding (``embedder.embed_images``) has the
        highest cosine similarity to the asked embedding is kept: re-ranking, as DALL-E re-ranked
        its samples with CLIP. The decoder alone gets the number of objects wrong more often
        than the embedding does (docs/generation.md). The k pictures go through the sampler as one
        batch (three cost about 1.5x the time of one on two CPU cores).
        ``same_noise`` starts every embedding from the same k noise draws (the first of
        ``seed``), so that a batch of slider settings differs in what the sliders changed and,
        with k > 1, in which of the k draws each setting keeps.
        """
        if embeddings.ndim != 2:
            raise ValueError(f"expected (B, dim) embeddings, got {tuple(embeddings.shape)}")
        k = self.candidates if candidates is None else check_candidates(candidates)
        c = self.decoder.config
        generator = torch.Generator().manual_seed(check_seed(seed))
        # (B, k) draws in this order keep k = 1 identical to drawing one noise per image.
        noise = torch.randn((1 if same_noise else len(embeddings), k, c.channels, c.grid, c.grid),
                            generator=generator).expand(len(embeddings), -1, -1, -1, -1)
        wanted = embeddings.repeat_interleave(k, dim=0)
        images = self.decoder.sample(wanted, steps=steps, guidance_scale=guidance_scale,
                                     noise=noise.reshape(-1, *noise.shape[2:]))
        if k == 1:
            return images
        drawn = self.embedder.embed_images(images).to(wanted.device, torch.float32)
        score = torch.nn.functional.cosine_similarity(drawn, wanted.float(), dim=-1).view(-1, k)
        best = score.nan_to_num(nan=-2.0).argmax(dim=1).cpu().numpy()  # below any cosine
        return images.reshape(len(embeddings), k, *images.shape[1:])[np.arange(len(embeddings)), best]

    # -- entry points ---------------------------------------------------------------------------

    def __call__(self, audio: AudioSource, sr: int | None = None, *, gain_db: float = 0.0,
                 semitones: float = 0.0, mix_image=None, mix_weight: float = 0.0,
                 steps: int | None = None, seed: int = 0, guidance_scale: float | None = None,
                 candidates: int | None = None) -> GenerationResult:
        """Generate a picture from a sound.

        Parameters
        ----------
        audio, sr
            Anything :func:`bgtai.audio.load_audio` accepts (path, bytes, ``(sr, array)``, array
            with ``sr``); silent, non-finite, too short or too long input raises ``ValueError``.
        gain_db, semitones : float
            Volume and pitch sliders, clamped to the ranges of :mod:`bgtai.generate.edits`.
        mix_image, mix_weight
            Optional picture whose embedding is mixed in with weight 0-1.
        steps, seed, guidance_scale, candidates
            Sampler steps (default from the decoder config), noise seed (same seed, same image),
            classifier-free guidance scale and pictures drawn to keep the best (:meth:`generate`).
        """
        wave = load_audio(audio, sr)
        gain_db, semitones = clamp_gain(gain_db), clamp_semitones(semitones)
        check_mix(mix_image, mix_weight)
        edited = self.edit(wave, gain_db=gain_db, semitones=semitones)
        source = self.embedder.embed_audio([edited])[0]
        return self._finish(source, edited, None, mix_image, mix_weight, steps=steps, seed=seed,
                            guidance_scale=guidance_scale, candidates=candidates)

    def text_to_image(self, text: str, **kwargs) -> GenerationResult:
        """Generate a picture from English text, through its gloss (rule-based).

        Keyword arguments (``mix_image``, ``mix_weight``, ``steps``, ``seed``,
        ``guidance_scale``, ``candidates``) as for :meth:`gloss_to_image`.
        """
        return self.gloss_to_image(english_to_gloss(validate_text(text)), **kwargs)

    def speech_to_image(self, audio: AudioSource, sr: int | None = None, **kwargs) -> GenerationResult:
        """Generate a picture from spoken English: speech -> gloss (Langue2Gloss) -> picture."""
        if self.translator is None:
            raise ValueError("speech input needs the Langue2Gloss checkpoint (assets/gloss), "
                             "which is not available")
        gloss = self.translator.from_speech(load_audio(audio, sr)).text
        return self.gloss_to_image(gloss, **kwargs)

    def gloss_to_image(self, gloss: str, *, mix_image=None, mix_weight: float = 0.0,
                       steps: int | None = None, seed: int = 0, guidance_scale: float | None = None,
                       candidates: int | None = None) -> GenerationResult:
        """Generate a picture from a gloss string (mixing and sampling as for :meth:`__call__`)."""
        if not isinstance(gloss, str) or not gloss.strip():
            raise ValueError("the gloss is empty")
        check_mix(mix_image, mix_weight)
        source = self.embedder.embed_gloss([gloss])[0]
        return self._finish(source, None, gloss, mix_image, mix_weight, steps=steps, seed=seed,
                            guidance_scale=guidance_scale, candidates=candidates)

    def _finish(self, source, wave, gloss, mix_image, mix_weight, **sampling) -> GenerationResult:
        embedding = self.mix(source, mix_image, mix_weight)
        image = self.generate(embedding[None], **sampling)[0]
        return GenerationResult(image, wave, source, embedding, gloss)
