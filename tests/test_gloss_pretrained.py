"""Langue2Gloss on Hugging Face backbones: tiny random BERT and WavLM written to tmp_path and
passed as ids, so nothing is downloaded."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from transformers import (
    AutoModel,
    BertConfig,
    BertModel,
    BertTokenizerFast,
    WavLMConfig,
    WavLMModel,
)

from bgtai.data.speech import render_speech
from bgtai.gloss import english_to_gloss
from bgtai.gloss.backbones import TOKENIZER_DIR, BackboneTokenizer
from bgtai.gloss.data import GlossPairs
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
from bgtai.gloss.subwords import SubwordVocab
from bgtai.gloss.translator import GlossTranslator
from train import train_gloss

SENTENCES = ["the children are playing in the garden", "i want a hot coffee",
             "a loud whistle then two claps", "she answered the question quickly"]
PAIRS = [(t, english_to_gloss(t)) for t in SENTENCES]


@pytest.fixture(autouse=True)
def one_thread():
    """The machine's cores are shared: one thread each."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def backbones(tmp_path_factory) -> tuple[str, str]:
    """Folders of a tiny random BERT (with its tokenizer) and a tiny random WavLM."""
    root = tmp_path_factory.mktemp("backbones")
    words = sorted({w for t in SENTENCES for w in t.split()} | {"hello", "world", "##s"})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (root / "vocab.txt").write_text("\n".join(specials + words))
    torch.manual_seed(0)
    BertTokenizerFast(str(root / "vocab.txt")).save_pretrained(root / "bert")
    BertModel(BertConfig(vocab_size=len(specials + words), hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64,
                         max_position_embeddings=64)).save_pretrained(root / "bert")
    # 5 * 8 * 8 = 320 samples a frame, 20 ms as in the real WavLM
    WavLMModel(WavLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, conv_dim=(16, 16, 16), conv_stride=(5, 8, 8),
                           conv_kernel=(10, 8, 8), num_conv_pos_embeddings=16,
                           num_conv_pos_embedding_groups=4, num_buckets=32,
                           max_bucket_distance=64)).save_pretrained(root / "wavlm")
    return str(root / "bert"), str(root / "wavlm")


@pytest.fixture(scope="module")
def vocab():
    return SubwordVocab.train([s.lower() for p in PAIRS for s in p] * 4, vocab_size=200)


@pytest.fixture(scope="module")
def waves():
    return [render_speech(t, "en-us") for t in SENTENCES[:2]]


@pytest.fixture(scope="module")
def translator(backbones, vocab):
    torch.manual_seed(0)
    config = Langue2GlossConfig(vocab_size=len(vocab), d_model=32, n_heads=2, enc_layers=1,
                                dec_layers=1, ff_dim=64, dropout=0.0, align_d_model=16,
                                text_backbone=backbones[0], speech_backbone=backbones[1])
    text_tokenizer = BackboneTokenizer.from_pretrained(backbones[0])
    return GlossTranslator(Langue2Gloss(config), vocab, text_tokenizer)


def no_hub(monkeypatch) -> None:
    """Make every download function of huggingface_hub and transformers, and loading a
    backbone by id, raise."""
    def refuse(*args, **kwargs):
        raise AssertionError("network or backbone id used")

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("huggingface_hub", "transformers"):
            for fn in ("hf_hub_download", "snapshot_download"):
                if fn in vars(module):
                    monkeypatch.setattr(module, fn, refuse)
    monkeypatch.setattr(AutoModel, "from_pretrained", refuse)


def test_tokenizer_maps_every_token_to_a_word(translator):
    ids, word_ids = translator.text_tokenizer.encode_words(["the", "children", "hellos"])
    tok = translator.text_tokenizer.tok
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "the", "children", "hello", "##s", "[SEP]"]
    assert word_ids == [0, 0, 1, 2, 2, 2]  # [CLS] joins the first word, [SEP] the last


def test_forward_loss_and_backward(translator, vocab, waves):
    model = translator.model.train()
    text_set = GlossPairs(vocab, PAIRS)
    train_gloss.use_text_tokenizer(text_set, SENTENCES, vocab, translator.text_tokenizer)
    speech_set = GlossPairs(vocab, PAIRS[:2], waves)
    train_gloss.use_text_tokenizer(speech_set, SENTENCES[:2], vocab, translator.text_tokenizer)
    text = text_set.collate([text_set[i] for i in range(len(text_set))])
    speech = speech_set.collate([speech_set[i] for i in range(2)])
    # targets are over the backbone's tokens, [CLS] and [SEP] included
    assert text["align_target"].shape[2] == text["text_ids"].shape[1]
    losses = model(text, speech)
    assert {"text", "align", "speech", "pull", "align_speech", "loss"} <= losses.keys()
    assert all(torch.isfinite(v) for v in losses.values())
    model.zero_grad()
    losses["loss"].backward()
    for backbone in (model.text.encoder, model.speech.encoder):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in backbone.parameters())
    model.zero_grad()
    model.eval()


def test_greedy_decoding_from_text_and_speech(translator, waves):
    r = translator.from_text("The children are playing.")
    assert r.sources == ["The", "children", "are", "playing", "."]
    n = len(r.tokens)
    for matrix in (r.attention, r.alignment, r.align_probs):
        assert matrix.shape == (n, len(r.sources))
    assert r.probs.shape == (n,)
    s = translator.from_speech(waves[0])
    frames = -(-len(waves[0]) // 320)  # WavLM: 20 ms frames (the last one partial)
    assert abs(len(s.sources) - frames) <= 1 and s.sources[1] == "0.02s"
    for matrix in (s.attention, s.alignment, s.align_probs):
        assert matrix.shape == (len(s.tokens), len(s.sources))


def test_save_and_load_without_the_hub(translator, waves, tmp_path, monkeypatch):
    folder = translator.save_pretrained(tmp_path / "m", half=False)
    assert (folder / TOKENIZER_DIR / "tokenizer.json").is_file()
    config = json.loads((folder / "config.json").read_text())
    assert config["text_backbone_config"]["model_type"] == "bert"
    assert config["speech_backbone_config"]["model_type"] == "wavlm"
    no_hub(monkeypatch)
    loaded = GlossTranslator.from_pretrained(folder)
    for text in SENTENCES:
        a, b = translator.from_text(text), loaded.from_text(text)
        assert a.tokens == b.tokens and np.array_equal(a.attention, b.attention)
        assert torch.equal(translator.encode_text(text)[0], loaded.encode_text(text)[0])
    a, b = translator.from_speech(waves[1]), loaded.from_speech(waves[1])
    assert a.tokens == b.tokens and np.array_equal(a.attention, b.attention)
    # the float16 copy is rebuilt from the saved configs too
    translator.save_pretrained(tmp_path / "half")


def test_trainer_with_backbones(backbones, tmp_path, monkeypatch):
    out = tmp_path / "run"
    metrics = train_gloss.main([
        "--output-dir", str(out), "--text-backbone", backbones[0],
        "--speech-backbone", backbones[1], "--max-steps", "2", "--epochs", "1",
        "--max-pairs", "32", "--eval-pairs", "4", "--speech-pairs", "8", "--speech-every", "1",
        "--batch-size", "8", "--d-model", "32", "--heads", "2", "--ff-dim", "64",
        "--enc-layers", "1", "--dec-layers", "1", "--vocab-size", "300", "--n-world", "300",
        "--warmup-steps", "1"])
    assert np.isfinite(metrics["val_text_bleu4"]) and np.isfinite(metrics["val_speech_bleu4"])
    no_hub(monkeypatch)
    loaded = GlossTranslator.from_pretrained(out / "model")
    assert loaded.model.config.text_backbone == backbones[0]
    assert len(loaded.from_text("a loud whistle").sources) == 3
