"""Sound (or text, or speech) -> image, with the volume and frequency sliders and image mixing.

The one front of both profiles: the embedded decoder and Stable unCLIP are two
:class:`~bgtai.generate.backend.Backend` s behind the same :class:`SoundToImage`.

>>> pipe = SoundToImage.from_pretrained()                       # doctest: +SKIP
>>> out = pipe("clap.wav", gain_db=6, semitones=-2, seed=0)     # doctest: +SKIP
>>> out.image.shape                                             # doctest: +SKIP
(64, 64, 3)

The chain (paper Fig. 3), each step once: the sound is loaded (:func:`bgtai.audio.load_audio`),
edited (:mod:`bgtai.generate.edits`), embedded into the image-embedding space by the backend,
optionally mixed with the embedding of another image, and decoded by the backend from noise drawn
here (several candidates re-ranked: those showing the count asked for first, then by their own
embeddings). Text goes through gloss
(:func:`bgtai.gloss.english_to_gloss`); speech through the Langue2Gloss translator when its
checkpoint is available.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from bgtai.audio import AudioSource, load_audio
from bgtai.generate.attribute_encoders import (
    AttributeAudioEncoder,
    AttributeGlossEncoder,
    WorldAttributeEmbedder,
)
from bgtai.generate.backend import Backend, EmbeddedBackend
from bgtai.generate.counting import CountProbe
from bgtai.generate.edits import WorldRange, clamp_gain, clamp_semitones, edit_sound, world_range
from bgtai.generate.embedders import JointEmbedder
from bgtai.generate.mapping import EmbeddingMapper
from bgtai.generate.steering import Steering
from bgtai.generate.unet import ImageDecoder
from bgtai.gloss import english_to_gloss
from bgtai.gloss.speech import DEFAULT_SPEECH_PATH, gloss_speech
from bgtai.readers import load_world_classifier, read_count
from bgtai.text import validate_text

if TYPE_CHECKING:
    from bgtai.joint.heard import Heard, Listener

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
    original : np.ndarray or None
        The sound as loaded, before the sliders, for sound input, else ``None``.
    source_embedding : torch.Tensor
        ``(dim,)`` the sound's / gloss's embedding mapped into the image-embedding space.
    embedding : torch.Tensor
        ``(dim,)`` what the decoder was conditioned on (after mixing).
    gloss : str or None
        The gloss for text or speech input.
    heard : bgtai.joint.heard.Heard or None
        What the listener heard in the original sound (class, confidence, open-set verdict),
        for sound input to a pipeline with a listener.
    world_range : WorldRange or None
        The part of each slider the picture follows (:meth:`SoundToImage.edit`).
    transcript : str or None
        For speech input by the recogniser (the default path), what it heard: the transcript
        that was glossed.
    """

    image: np.ndarray
    wave: np.ndarray | None
    source_embedding: torch.Tensor
    embedding: torch.Tensor
    gloss: str | None = None
    original: np.ndarray | None = None
    heard: Heard | None = None
    world_range: WorldRange | None = None
    transcript: str | None = None


@dataclass
class EditedSound:
    """A sound with the sliders applied (:meth:`SoundToImage.edit`).

    Attributes
    ----------
    wave : np.ndarray
        The sound edited by the whole slider values: what a visitor hears.
    drawn : np.ndarray
        The sound the picture is drawn from: the sliders brought inside ``world_range``.
    heard : bgtai.joint.heard.Heard or None
        What the listener heard in the original sound (None without a listener).
    world_range : WorldRange or None
        How far each slider moves the picture for this sound (None without a listener).
    """

    wave: np.ndarray
    drawn: np.ndarray
    heard: Heard | None
    world_range: WorldRange | None


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
        raise ValueError("mix_weight > 0 needs a mix_image: add a reference picture to mix "
                         "with, or set the mix to 0")
    return weight


def check_candidates(candidates) -> int:
    """``candidates`` validated: an integer in 1-:data:`MAX_CANDIDATES`."""
    if (isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer))
            or not 1 <= candidates <= MAX_CANDIDATES):
        raise ValueError(f"candidates must be an integer in 1-{MAX_CANDIDATES}, got {candidates!r}")
    return int(candidates)


class SoundToImage:
    """The sound-to-image front: load -> edit -> embed -> mix -> decode, each once.

    Parameters
    ----------
    backend : Backend
        What embeds and draws: :class:`~bgtai.generate.backend.EmbeddedBackend` (the bundled
        decoder) or :class:`~bgtai.generate.pretrained.UnclipBackend` (Stable unCLIP).
    translator : bgtai.gloss.translator.GlossTranslator, optional
        Langue2Gloss, for :meth:`speech_to_image`'s shared path (the default path, the
        recogniser and the rules, needs none).
    candidates : int
        Pictures drawn per request, the best kept (:meth:`generate`). ``pipeline.json`` sets it
        for a trained folder.
    listener : bgtai.joint.heard.Listener, optional
        Hears which world class a sound is, so that the sliders move its picture only within the
        world's loudness and pitch ranges for that class (:meth:`edit`); without one the
        picture follows the whole slider ranges.
    count_probe : bgtai.generate.counting.CountProbe, optional
        Reads how many objects an embedding asks for, so that among the candidates those
        showing as many objects are kept first (:meth:`generate`); only for a backend that
        draws world pictures, which :func:`bgtai.readers.read_count` can count.
    """

    def __init__(self, backend: Backend, translator=None, candidates: int = 1,
                 listener: Listener | None = None, count_probe: CountProbe | None = None):
        self.backend = backend
        self.translator = translator
        self.candidates = check_candidates(candidates)
        self.listener = listener
        self.count_probe = count_probe

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, classifier: str | Path | None = None,
                        gloss_translator=None) -> SoundToImage:
        """Load the embedded profile from a folder written by ``train/train_generator.py --assemble``.

        ``pipeline.json`` names the embedding space: ``"world_attributes"`` (the fallback:
        ``audio_encoder/``, ``gloss_encoder/``) or ``"joint"`` (``audio_mapper/``,
        ``gloss_mapper/`` and the path of the JointModel checkpoint, relative to the folder),
        and optionally ``"candidates"`` (default 1), ``"count_probe"`` (a
        :class:`~bgtai.generate.counting.CountProbe` folder inside it) and, for the joint space,
        ``"steering"`` (a :class:`~bgtai.generate.steering.Steering` folder inside it,
        ``python -m train.train_generator --steering``).

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
                AttributeAudioEncoder.from_pretrained(path / "audio_encoder"),
                AttributeGlossEncoder.from_pretrained(gloss_dir) if gloss_dir.is_dir() else None,
            )
            listener = None
        elif spec.get("embedder") == "joint":
            from bgtai.joint import JointModel  # only this profile needs the joint package
            from bgtai.joint.heard import Listener, OpenSetCalibration

            joint = JointModel.from_pretrained(path / spec["joint"])
            steering = (Steering.from_pretrained(path / spec["steering"]) if "steering" in spec
                        else None)
            embedder = JointEmbedder(joint, EmbeddingMapper.from_pretrained(path / "audio_mapper"),
                                     EmbeddingMapper.from_pretrained(path / "gloss_mapper"),
                                     steering)
            try:  # the open-set calibration beside the joint checkpoint, when it has one
                calibration = OpenSetCalibration.load(path / spec["joint"])
            except ValueError:
                calibration = None
            listener = Listener(joint, calibration)
        else:
            raise ValueError(f"unsupported embedder {spec.get('embedder')!r} in {manifest}")
        backend = EmbeddedBackend(ImageDecoder.from_pretrained(path / "decoder"), embedder)
        try:
            candidates = check_candidates(spec.get("candidates", 1))
        except ValueError as err:
            raise ValueError(f"{manifest}: {err}") from None
        probe = None
        if "count_probe" in spec:
            probe = CountProbe.from_pretrained(path / spec["count_probe"])
            if probe.config.dim != backend.dim:
                raise ValueError(f"{manifest}: the count probe reads {probe.config.dim}-d "
                                 f"embeddings, the decoder's space has {backend.dim}")
        return cls(backend, load_translator(gloss_translator), candidates, listener, probe)

    # -- building blocks -----------------------------------------------------------------------

    def count_of(self, embeddings: torch.Tensor) -> list[int] | None:
        """How many objects each of ``(B, dim)`` embeddings asks for (the count probe), or
        ``None`` for a pipeline without one."""
        return None if self.count_probe is None else self.count_probe.predict(embeddings)

    def generate(self, embeddings: torch.Tensor, *, steps: int | None = None, seed: int = 0,
                 guidance_scale: float | None = None, same_noise: bool = False,
                 candidates: int | None = None, counts: list[int] | None = None) -> np.ndarray:
        """Decode ``(B, dim)`` image embeddings into ``(B, H, W, 3)`` uint8 images.

        With ``candidates`` k > 1 (default: the pipeline's), k pictures are drawn per embedding
        from different noise and the one whose own embedding (``backend.embed_images``) has the
        highest cosine similarity to the asked embedding is kept: re-ranking, as DALL-E re-ranked
        its samples with CLIP. The decoder alone gets the number of objects wrong more often
        than the embedding does, and the cosine hardly sees an object more or less
        (docs/generation.md), so with ``counts`` (default: :meth:`count_of` the embeddings) the
        choice is made among the candidates in which :func:`bgtai.readers.read_count` counts as
        many objects as asked, where there are any. The k pictures go through the sampler as
        one batch (three cost 1.4-1.8x the time of one on two CPU cores).
        ``same_noise`` starts every embedding from the same k noise draws (the first of
        ``seed``), so that a batch of slider settings differs in what the sliders changed and,
        with k > 1, in which of the k draws each setting keeps.
        """
        if embeddings.ndim != 2:
            raise ValueError(f"expected (B, dim) embeddings, got {tuple(embeddings.shape)}")
        k = self.candidates if candidates is None else check_candidates(candidates)
        if counts is not None and len(counts) != len(embeddings):
            raise ValueError(f"{len(counts)} counts for {len(embeddings)} embeddings")
        shape = tuple(self.backend.noise_shape)
        generator = torch.Generator().manual_seed(check_seed(seed))
        # (B, k) draws in this order keep k = 1 identical to drawing one noise per image.
        noise = torch.randn((1 if same_noise else len(embeddings), k, *shape),
                            generator=generator).expand(len(embeddings), -1, *shape)
        wanted = embeddings.repeat_interleave(k, dim=0)
        images = self.backend.decode(wanted, noise.reshape(-1, *shape), steps=steps,
                                     guidance_scale=guidance_scale, generator=generator)
        if k == 1:
            return images
        drawn = self.backend.embed_images(images).to(wanted.device, torch.float32)
        cosine = torch.nn.functional.cosine_similarity(drawn, wanted.float(), dim=-1)
        cosine = cosine.view(-1, k).cpu()
        score = cosine.nan_to_num(nan=-2.0)  # below any cosine
        counts = self.count_of(embeddings) if counts is None else counts
        if counts is not None:
            shown = torch.tensor([read_count(im) for im in images]).view(-1, k)
            right = (shown == torch.tensor(counts)[:, None]) & cosine.isfinite()
            # where some candidate shows the count asked for, the choice is among those only
            score = score.masked_fill(right.any(dim=1, keepdim=True) & ~right, -torch.inf)
        best = score.argmax(dim=1).numpy()
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
            Sampler steps and guidance scale (defaults and ranges are the backend's), noise seed
            (same seed, same image) and pictures drawn to keep the best (:meth:`generate`).
        """
        weight = check_mix(mix_image, mix_weight)
        wave = load_audio(audio, sr)
        edited = self.edit(wave, gain_db=gain_db, semitones=semitones)
        source = self.backend.embed_audio([edited.drawn], recorded=[wave])[0]
        counts = None
        if weight == 0.0 and (gain_db or semitones) and self.count_probe is not None:
            # sliders change only what they say: as many objects as the unedited sound asks for
            counts = self.count_of(self.backend.embed_audio([wave]))
        embedding, image = self._draw(source, mix_image, weight, steps=steps, seed=seed,
                                      guidance_scale=guidance_scale, candidates=candidates,
                                      counts=counts)
        return GenerationResult(image, edited.wave, source, embedding, original=wave,
                                heard=edited.heard, world_range=edited.world_range)

    def edit(self, wave: np.ndarray, *, gain_db: float = 0.0, semitones: float = 0.0) -> EditedSound:
        """The sliders on a mono 16 kHz sound: the edited sound, and the one to draw.

        Sliders change only what they say: with a listener, the sound is heard as a world class
        (before any edit) and the picture follows each slider only while the edited sound stays
        within the world's loudness range and the class's pitch range (:func:`world_range`);
        beyond, it stays at the range's end instead of drawing a sound the world has not got
        (another object, another count). An unpitched class has one hue, so its picture ignores
        the frequency slider. The edited sound follows the whole slider.
        """
        edited = edit_sound(wave, gain_db=gain_db, semitones=semitones)
        if self.listener is None:
            return EditedSound(edited, edited, None, None)
        heard = self.listener.hear([wave])[0]
        limits = world_range(wave, heard.cls)
        asked = clamp_gain(gain_db), clamp_semitones(semitones)
        inside = limits.clamp(*asked)
        drawn = edited if inside == asked else edit_sound(wave, gain_db=inside[0], semitones=inside[1])
        return EditedSound(edited, drawn, heard, limits)

    def text_to_image(self, text: str, **kwargs) -> GenerationResult:
        """Generate a picture from English text, through its gloss (rule-based).

        Keyword arguments (``mix_image``, ``mix_weight``, ``steps``, ``seed``,
        ``guidance_scale``, ``candidates``) as for :meth:`gloss_to_image`.
        """
        return self.gloss_to_image(english_to_gloss(validate_text(text)), **kwargs)

    def speech_to_image(self, audio: AudioSource, sr: int | None = None, *,
                        path: str = DEFAULT_SPEECH_PATH, **kwargs) -> GenerationResult:
        """Generate a picture from spoken English: speech -> gloss -> picture.

        The gloss comes from :func:`bgtai.gloss.speech.gloss_speech` by ``path``: the app's
        default, the recogniser and the rules (``"cascade"``; the result's ``transcript`` says
        what was heard), or Langue2Gloss's own speech side (``"shared"``, which needs the
        pipeline's translator). Other keyword arguments as for :meth:`gloss_to_image`.

        Raises
        ------
        ValueError
            For unusable audio, audio with no speech recognised, or the shared path without a
            translator.
        """
        spoken = gloss_speech(audio, sr, path=path, translator=self.translator)
        result = self.gloss_to_image(spoken.text, **kwargs)
        result.transcript = spoken.heard or None
        return result

    def gloss_to_image(self, gloss: str, *, mix_image=None, mix_weight: float = 0.0,
                       steps: int | None = None, seed: int = 0, guidance_scale: float | None = None,
                       candidates: int | None = None) -> GenerationResult:
        """Generate a picture from a gloss string (mixing and sampling as for :meth:`__call__`)."""
        if not isinstance(gloss, str) or not gloss.strip():
            raise ValueError("the gloss is empty")
        weight = check_mix(mix_image, mix_weight)
        source = self.backend.embed_gloss([gloss])[0]
        embedding, image = self._draw(source, mix_image, weight, steps=steps, seed=seed,
                                      guidance_scale=guidance_scale, candidates=candidates)
        return GenerationResult(image, None, source, embedding, gloss)

    def _draw(self, source: torch.Tensor, mix_image, weight: float,
              **sampling) -> tuple[torch.Tensor, np.ndarray]:
        """Mix (linear interpolation towards ``mix_image``'s embedding, Fig. 3 right) and draw:
        the embedding the picture was drawn from, and the picture. ``sampling``: the keyword
        arguments of :meth:`generate` (``counts`` for one embedding)."""
        embedding = source
        if weight > 0.0:
            target = self.backend.embed_images([mix_image])[0]
            embedding = (1.0 - weight) * source + weight * target
        return embedding, self.generate(embedding[None], **sampling)[0]


def load_translator(gloss_translator=None):
    """The Langue2Gloss translator for speech input, or ``None`` where there is none.

    ``gloss_translator`` is a checkpoint folder or an already loaded translator (shared as it
    is); by default ``assets/gloss`` is used when it holds a checkpoint. A folder that was asked
    for and holds none is an error.
    """
    if hasattr(gloss_translator, "from_speech"):  # loaded already
        return gloss_translator
    gloss_path = Path(gloss_translator) if gloss_translator is not None else DEFAULT_GLOSS_CHECKPOINT
    if gloss_path.is_dir() and any(gloss_path.glob("*.safetensors")):
        from bgtai.gloss.translator import GlossTranslator

        return GlossTranslator.from_pretrained(gloss_path)
    if gloss_translator is not None:
        raise ValueError(f"no gloss translator checkpoint at {gloss_path}")
    return None
