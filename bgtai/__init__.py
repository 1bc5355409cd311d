"""BGTAI: bridging text, audio, image and any sequence through gloss annotation.

The library behind the demo app and the trainers. Subpackages:

- :mod:`bgtai.align`     exact DTW, DS-Net / Result Filter, CE and SP-Loss (paper eq. 3-6)
- :mod:`bgtai.audio`     loading, validation and loudness-keeping features for audio
- :mod:`bgtai.data`      the built-in audio-visual-language world and real-data adapters
- :mod:`bgtai.readers`   attribute readers that measure sounds and world images
- :mod:`bgtai.gloss`     gloss conventions, the rule converter and Langue2Gloss (eq. 1-2)
- :mod:`bgtai.joint`     the UniBriVL joint embedding with DS-Net pair selection
- :mod:`bgtai.generate`  sound -> image with volume and pitch edits
- :mod:`bgtai.eval`      evaluation metrics
- :mod:`bgtai.hub`       safetensors-only ``save_pretrained`` / ``from_pretrained``
- :mod:`bgtai.text`      validation and word tokenisation of user text
- :mod:`bgtai.layers`    neural building blocks shared by several packages

Nothing here imports Gradio, argparse front-ends, ``app`` or ``train``.
"""

__version__ = "0.1.0"
