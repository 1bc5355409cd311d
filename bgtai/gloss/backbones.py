"""Hugging Face encoders as Langue2Gloss pre-nets: the pretrained backend.

With ``Langue2GlossConfig.text_backbone`` / ``speech_backbone`` set to a Hub id or a folder,
the text pre-net is a BERT-class encoder and the speech pre-net a WavLM/HuBERT-class encoder,
each projected to ``d_model`` and fed to the same shared encoder, decoder and DS-Net aligner.
A fresh model downloads the backbone weights once (:func:`load_backbone`); its config then
keeps the backbone's own config, so a saved checkpoint rebuilds the architecture from it and
fills it from ``model.safetensors`` without touching the network.

``transformers`` is imported only when a backbone is used: the embedded model does not need it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from ..audio import SAMPLE_RATE

TOKENIZER_DIR = "text_tokenizer"
"""Sub-folder of a saved GlossTranslator that holds the text backbone's tokenizer."""


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """``(B, width)`` bool, True at the positions at or past each row's length."""
    return torch.arange(width, device=lengths.device)[None, :] >= lengths[:, None]


def load_backbone(name: str, saved_config: dict | None = None) -> nn.Module:
    """The encoder ``name`` (Hub id or folder) with its pretrained weights or, given the config
    saved with a checkpoint (``PretrainedConfig.to_dict()``), the same architecture with random
    weights for the checkpoint to overwrite: then nothing is read from ``name``."""
    from transformers import AutoConfig, AutoModel

    if saved_config is None:
        # float32 master weights whatever the Hub files hold (mixed precision casts on the fly)
        return AutoModel.from_pretrained(name, dtype=torch.float32)
    config = dict(saved_config)
    return AutoModel.from_config(AutoConfig.for_model(config.pop("model_type"), **config))


class TextBackbone(nn.Module):
    """A BERT-class encoder: its last hidden state projected to ``d_model``."""

    def __init__(self, encoder: nn.Module, d_model: int):
        super().__init__()
        self.encoder = encoder
        self.proj = nn.Linear(encoder.config.hidden_size, d_model)

    def forward(self, ids: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, N)`` of the backbone's tokenizer (``pad`` True at padding) ->
        ``(B, N, d_model)``."""
        limit = self.encoder.config.max_position_embeddings
        if ids.shape[1] > limit:
            raise ValueError(f"input of {ids.shape[1]} tokens exceeds the text backbone's {limit}")
        hidden = self.encoder(input_ids=ids, attention_mask=(~pad).long()).last_hidden_state
        return self.proj(hidden)


class SpeechBackbone(nn.Module):
    """A WavLM/HuBERT-class encoder of 16 kHz waveforms, projected to ``d_model``.

    The waveform goes in as it is (no per-clip normalisation), like the embedded pre-net's
    loudness-keeping input.
    """

    def __init__(self, encoder: nn.Module, d_model: int):
        super().__init__()
        self.encoder = encoder
        self.proj = nn.Linear(encoder.config.hidden_size, d_model)
        self.frame_seconds = math.prod(encoder.config.conv_stride) / SAMPLE_RATE
        """Duration of one output position (20 ms for WavLM and HuBERT)."""

    def forward(self, wave: torch.Tensor, n_samples: torch.Tensor):
        """Waveforms ``(B, S)`` with their lengths -> ``((B, N, d_model), pad (B, N))``."""
        keep = ~padding_mask(n_samples, wave.shape[1])
        hidden = self.encoder(wave, attention_mask=keep.long()).last_hidden_state
        lengths = self.encoder._get_feat_extract_output_lengths(n_samples)
        return self.proj(hidden), padding_mask(lengths.clamp(max=hidden.shape[1]), hidden.shape[1])


class BackboneTokenizer:
    """The text backbone's own fast tokenizer, with the text-side interface of
    :class:`~bgtai.gloss.subwords.SubwordVocab` (which stays the gloss output vocabulary)."""

    def __init__(self, tokenizer):
        if not tokenizer.is_fast:
            raise ValueError("the text backbone needs a fast tokenizer (for word_ids)")
        self.tok = tokenizer

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, subfolder: str = "") -> BackboneTokenizer:
        """Load the tokenizer of a backbone id or folder (or of a saved model's ``subfolder``)."""
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(name_or_path), subfolder=subfolder,
                                                 use_fast=True))

    def save(self, directory: str | Path) -> Path:
        """Write the tokenizer files into ``directory/text_tokenizer``."""
        path = Path(directory) / TOKENIZER_DIR
        self.tok.save_pretrained(path)
        return path

    def encode_words(self, words: list[str]) -> tuple[list[int], list[int]]:
        """Token ids of a word sequence and, for each token, the index of its word.

        Special tokens (``[CLS]``, ``[SEP]``) join the word before them (``[CLS]`` the first),
        so a word-level monotonic path spread onto tokens stays one.
        """
        enc = self.tok(words, is_split_into_words=True)
        word_ids, current = [], 0
        for w in enc.word_ids():
            current = current if w is None else w
            word_ids.append(current)
        return enc["input_ids"], word_ids
