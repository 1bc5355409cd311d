"""Sound-to-image generation with volume and frequency control (the paper's Fig. 3).

- :mod:`bgtai.generate.pipeline`    :class:`SoundToImage`, the one front: sound / text / speech
- :mod:`bgtai.generate.backend`     the :class:`Backend` interface, the embedded decoder's backend
- :mod:`bgtai.generate.pretrained`  :class:`UnclipBackend`: Stable unCLIP, the pretrained profile
- :mod:`bgtai.generate.edits`       the sliders: ``apply_gain``, ``pitch_shift`` (duration kept)
- :mod:`bgtai.generate.embedders`   the ``Embedder`` protocol, the joint space (``JointEmbedder``)
- :mod:`bgtai.generate.mapping`     ``EmbeddingMapper``: audio / gloss embeddings into image space
- :mod:`bgtai.generate.attributes`  the world attribute embedding (the fallback's image space)
- :mod:`bgtai.generate.attribute_encoders`  the fallback's encoders and ``WorldAttributeEmbedder``
- :mod:`bgtai.generate.unet`        the diffusion decoder (a small diffusers ``UNet2DConditionModel``)
"""

from bgtai.generate.attribute_encoders import WorldAttributeEmbedder
from bgtai.generate.backend import Backend, EmbeddedBackend
from bgtai.generate.edits import apply_gain, pitch_shift
from bgtai.generate.embedders import Embedder, JointEmbedder
from bgtai.generate.pipeline import GenerationResult, SoundToImage
from bgtai.generate.pretrained import UnclipBackend
from bgtai.generate.unet import DecoderConfig, ImageDecoder

__all__ = [
    "Backend",
    "DecoderConfig",
    "EmbeddedBackend",
    "Embedder",
    "GenerationResult",
    "ImageDecoder",
    "JointEmbedder",
    "SoundToImage",
    "UnclipBackend",
    "WorldAttributeEmbedder",
    "apply_gain",
    "pitch_shift",
]
