"""BGTAI: bridging text, audio, image and any sequence through gloss annotation.

The library behind the demo app and the trainers. Subpackages:

- :mod:`bgtai.align`  exact DTW, DS-Net / Result Filter, CE and SP-Loss (paper eq. 3-6)
- :mod:`bgtai.audio`  loading, validation and loudness-keeping features for audio
- :mod:`bgtai.data`   the built-in audio-visual-language world and real-data adapters
- :mod:`bgtai.gloss`  English -> gloss conventions and rules
- :mod:`bgtai.eval`   evaluation metrics

Nothing here imports Gradio, argparse front-ends, ``app`` or ``train``.
"""

__version__ = "0.1.0"
