"""Sound-to-image generation with volume and frequency control (the paper's Fig. 3).

- :mod:`bgtai.generate.edits`       the sliders: ``apply_gain``, ``pitch_shift`` (duration kept)
- :mod:`bgtai.generate.mapping`     embedding spaces (``Embedder``) and the maps into image space
- :mod:`bgtai.generate.unet`        the diffusion decoder (a small diffusers ``UNet2DConditionModel``)
- :mod:`bgtai.generate.pipeline`    :class:`SoundToImage`: sound / text / speech -> picture
- :mod:`bgtai.generate.pretrained`  the Stable unCLIP backend of the pretrained profile
"""

from bgtai.generate.edits import apply_gain, pitch_shift
from bgtai.generate.mapping import Embedder, JointEmbedder, WorldAttributeEmbedder
from bgtai.generate.pipeline import GenerationResult, SoundToImage
from bgtai.generate.pretrained import PretrainedSoundToImage
from bgtai.generate.unet import DecoderConfig, ImageDecoder

__all__ = [
    "DecoderConfig",
    "Embedder",
    "GenerationResult",
    "ImageDecoder",
    "JointEmbedder",
    "PretrainedSoundToImage",
    "SoundToImage",
    "WorldAttributeEmbedder",
    "apply_gain",
    "pitch_shift",
]
