"""UniBriVL-style joint embedding of audio, images and gloss/text (paper sec. 2.2, UniBriVL).

- :mod:`bgtai.joint.encoders`   audio (clip + 1 s segments), image and gloss/text encoders
- :mod:`bgtai.joint.model`      :class:`JointModel`: the joint space, InfoNCE, DS-Net selection
- :mod:`bgtai.joint.selection`  data-pair selection: Base, DS-Net, Result Filter, DS&RF
- :mod:`bgtai.joint.tokens`     the gloss/raw-word vocabulary of the text encoder
- :mod:`bgtai.joint.data`       event and clip items built on the world
- :mod:`bgtai.joint.pretrained` the pretrained profile: audio into CLIP ViT-H/14 image space
"""

from bgtai.joint.model import JointConfig, JointModel, StepSettings, info_nce
from bgtai.joint.tokens import TokenVocab, caption_tokens, world_vocab

__all__ = ["JointConfig", "JointModel", "StepSettings", "TokenVocab", "caption_tokens",
           "info_nce", "world_vocab"]
