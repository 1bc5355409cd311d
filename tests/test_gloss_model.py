"""Langue2Gloss: model mechanics, learning, decoding, bad input, and the trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bgtai.data.speech import render_speech
from bgtai.gloss import english_to_gloss
from bgtai.gloss.data import GlossPairs, piece_alignment
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig, repeated_ngram_tokens
from bgtai.gloss.subwords import SubwordVocab
from bgtai.gloss.translator import GlossTranslator

SENTENCES = [
    "the children are playing in the garden", "we must give every child a fair chance",
    "a loud whistle then two claps", "she answered the question quickly",
    "three quiet high bells", "they were working on their new budget",
    "a low hum together with a siren", "i want a hot coffee",
]
PAIRS = [(t, english_to_gloss(t)) for t in SENTENCES]


def tiny_model(vocab_size: int, **kw) -> Langue2Gloss:
    torch.manual_seed(0)
    cfg = dict(vocab_size=vocab_size, d_model=64, n_heads=4, enc_layers=2, dec_layers=2,
               ff_dim=128, dropout=0.0, align_d_model=32)
    cfg.update(kw)
    return Langue2Gloss(Langue2GlossConfig(**cfg))


@pytest.fixture(scope="module")
def vocab():
    return SubwordVocab.train([s.lower() for p in PAIRS for s in p] * 4, vocab_size=300)


@pytest.fixture(scope="module")
def trained(vocab):
    """A tiny model overfitted on PAIRS: the decoder must reproduce the glosses."""
    data = GlossPairs(vocab, PAIRS)
    batch = data.collate([data[i] for i in range(len(data))])
    model = tiny_model(len(vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(250):
        loss = model(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return GlossTranslator(model.eval(), vocab)


def test_piece_alignment_follows_words(vocab):
    text, gloss = PAIRS[0]  # CHILD BE PLAY IN GARDEN
    target = piece_alignment(vocab, text, gloss)
    assert target.shape[0] == len(vocab.encode_words(gloss.lower().split())[0])
    assert target.any(axis=1).all() and target.any(axis=0).all()  # a DTW path covers both


def test_overfits_and_decodes_the_glosses(trained):
    for text, gloss in PAIRS:
        assert trained.from_text(text).text == gloss
        assert trained.from_text(text, beam_size=3).text == gloss


def test_result_carries_probabilities_attention_and_alignment(trained):
    text, gloss = PAIRS[0]
    r = trained.from_text(text)
    n, m = len(r.tokens), len(r.sources)
    assert r.sources == text.split()
    assert r.probs.shape == (n,) and ((r.probs > 0) & (r.probs <= 1)).all()
    assert r.attention.shape == (n, m) and np.allclose(r.attention.sum(1), 1.0)
    assert r.alignment.shape == (n, m) and r.alignment.dtype == bool
    # DS-Net's alignment is a monotonic path over gloss words and input words
    rows = [np.flatnonzero(row) for row in r.alignment]
    assert all(len(cols) for cols in rows)
    assert all(later.min() >= earlier.max() for earlier, later in zip(rows, rows[1:]))


def full_prefix_greedy(model, memory, mem_pad, max_len):
    """Greedy decoding that re-runs :meth:`Langue2Gloss.decode` on the whole prefix each step:
    the reference for the cached incremental decoding."""
    seq = torch.full((memory.shape[0], 1), model.config.bos_id)
    done = torch.zeros(memory.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        nxt = model.decode(seq, memory, mem_pad)[0][:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, model.config.pad_id), nxt)
        seq = torch.cat([seq, nxt[:, None]], 1)
        done |= nxt == model.config.eos_id
        if bool(done.all()):
            break
    return seq[:, 1:]


def test_incremental_greedy_matches_the_full_prefix(trained, vocab):
    model = trained.model
    data = GlossPairs(vocab, PAIRS)
    batch = data.collate([data[i] for i in range(len(data))])  # padded memories
    with torch.no_grad():
        memory = model.encode_text(batch["text_ids"], batch["text_pad"])
        assert torch.equal(model.greedy(memory, batch["text_pad"], 30),
                           full_prefix_greedy(model, memory, batch["text_pad"], 30))
    # longer outputs: the bundled checkpoint (any weights do) on a long sentence, and on speech
    # frames (memory of another kind; its untrained speech side may stop after a few pieces)
    bundled = GlossTranslator.from_pretrained(Path(__file__).parents[1] / "assets" / "gloss")
    speech = bundled.encode_speech(render_speech("a loud whistle then two claps in the garden"))
    text = bundled.encode_text("Mr President, I would like to thank the rapporteur for his "
                               "excellent report on the budget of the coming year.")
    with torch.no_grad():
        for memory, pad in (speech[:2], text[:2]):
            ids = bundled.model.greedy(memory, pad, 40)
            assert torch.equal(ids, full_prefix_greedy(bundled.model, memory, pad, 40))
        assert ids.shape[1] > 5  # the sentence's gloss: a long output was compared


def test_corpus_artefacts_are_written_out_intact_unless_asked_for():
    from bgtai.gloss.rules import intact_forms

    bundled = GlossTranslator.from_pretrained(Path(__file__).parents[1] / "assets" / "gloss")
    text = "These people think they can go there with their friends from Russia."
    own = bundled.from_text(text, aslg_quirks=True)
    shown = bundled.from_text(text)
    forms = intact_forms(text)
    assert shown.tokens == [forms.get(t, t) for t in own.tokens]
    assert not set(forms) & set(shown.tokens)
    np.testing.assert_array_equal(shown.probs, own.probs)  # only the words' spelling changes


def test_repeated_ngram_tokens():
    assert repeated_ngram_tokens([5, 6, 7, 5, 6], 3) == [7]  # 5 6 7 would come again
    assert repeated_ngram_tokens([5, 6, 5, 6], 2) == [5]  # "6 5" is there already
    assert set(repeated_ngram_tokens([4, 4, 9], 1)) == {4, 9}
    assert repeated_ngram_tokens([5, 6], 3) == []  # nothing to repeat yet
    assert repeated_ngram_tokens([5, 5, 5], 0) == []  # the guard off


def _has_repeated_ngram(seq: list[int], n: int) -> bool:
    grams = [tuple(seq[i: i + n]) for i in range(len(seq) - n + 1)]
    return len(grams) != len(set(grams))


def test_repetition_guard_stops_a_looping_decoder(vocab):
    """An untrained decoder loops; with the guard no sequence repeats a piece n-gram."""
    model = tiny_model(len(vocab)).eval()
    torch.manual_seed(1)
    ids = torch.randint(4, len(vocab), (2, 12))
    pad = torch.zeros_like(ids, dtype=torch.bool)
    memory = model.encode_text(ids, pad)
    loops = model.greedy(memory, pad, 30)
    assert all(_has_repeated_ngram(row, 2) for row in loops.tolist())
    for n in (2, 3):
        guarded = model.greedy(memory, pad, 30, no_repeat_ngram=n)
        assert not any(_has_repeated_ngram(row, n) for row in guarded.tolist())
        beam = model.beam(memory[:1], pad[:1], beam_size=3, max_len=30, no_repeat_ngram=n)
        assert not _has_repeated_ngram(beam.tolist(), n)
    assert _has_repeated_ngram(model.beam(memory[:1], pad[:1], beam_size=3, max_len=30).tolist(), 2)


def test_text_is_glossed_sentence_by_sentence(trained):
    """Several sentences give each sentence's own gloss, and a gloss word attends (and is
    aligned) only to the words of its sentence."""
    (text_a, _), (text_b, _) = PAIRS[0], PAIRS[6]
    a, b = trained.from_text(text_a + " ."), trained.from_text(text_b + "!")
    both = trained.from_text(f"{text_a} . {text_b}!")
    assert both.text == f"{a.text} {b.text}"
    assert both.sources == a.sources + b.sources
    np.testing.assert_allclose(both.probs, np.concatenate([a.probs, b.probs]), rtol=1e-5)
    n, m = len(a.tokens), len(a.sources)
    np.testing.assert_allclose(both.attention[:n, :m], a.attention, atol=1e-6)
    np.testing.assert_allclose(both.attention[n:, m:], b.attention, atol=1e-6)
    assert not both.attention[:n, m:].any() and not both.attention[n:, :m].any()
    assert np.array_equal(both.alignment[n:, m:], b.alignment)
    assert not both.alignment[:n, m:].any() and not both.alignment[n:, :m].any()
    assert np.allclose(both.attention.sum(1), 1.0)


def test_save_and_load_round_trip(trained, tmp_path):
    trained.save_pretrained(tmp_path / "m")
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    loaded = GlossTranslator.from_pretrained(tmp_path / "m")
    for text, gloss in PAIRS:
        assert loaded.from_text(text).text == gloss  # float16 storage keeps the decisions


def test_speech_pull_moves_only_speech():
    model = tiny_model(50)
    speech = torch.randn(2, 7, 64, requires_grad=True)
    text = torch.randn(2, 5, 64, requires_grad=True)
    pad_s = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
    pad_t = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    loss, path = model.speech_text_pull(speech, pad_s, text, pad_t)
    loss.backward()
    assert torch.isfinite(loss) and text.grad is None and speech.grad.abs().sum() > 0
    assert not path[1, 4:].any() and not path[1, :, 3:].any()  # no cells in the padding
    # aligning identical encodings costs nothing
    same, _ = model.speech_text_pull(text.detach(), pad_t, text.detach(), pad_t)
    assert same.item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("bad,match", [
    ("", "empty"), ("   \n\t", "empty"), ("?!...", "punctuation"),
    ("word " * 600, "words"), ("日本語のテキスト", "Latin"),
])
def test_bad_text_is_a_value_error(trained, bad, match):
    with pytest.raises(ValueError, match=match):
        trained.from_text(bad)


def test_encode_text_validates_what_is_not_a_word_list(trained):
    with pytest.raises(ValueError, match="must be a string"):
        trained.encode_text(None)
    assert trained.encode_text(["the", "children"])[3] == ["the", "children"]


def test_hostile_text_is_normalised(trained):
    r = trained.from_text("the\u0000 children\u200f are \u202eplaying 🎉")
    assert r.sources == ["the", "children", "are", "playing"]


@pytest.mark.parametrize("wave,sr,match", [
    (np.zeros(16000, np.float32), 16000, "silent"),
    (np.full(16000, np.nan, np.float32), 16000, "NaN"),
    (np.zeros(0, np.float32), 16000, "empty"),
    (np.ones(16000 * 31, np.float32) * 0.1, 16000, "too long"),
])
def test_bad_audio_is_a_value_error(trained, wave, sr, match):
    with pytest.raises(ValueError, match=match):
        trained.from_speech(wave, sr)


def test_speech_any_rate_and_channels(trained):
    wave = render_speech("a loud whistle", "en-us")
    stereo_44k = np.stack([wave, wave], 1)  # the rate is declared wrong on purpose: still audio
    r = trained.from_speech((44100, stereo_44k))
    assert r.attention.shape[1] == len(r.sources) > 0
    clipped = trained.from_speech(np.clip(wave * 50, -1, 1), 16000)
    assert clipped.attention.shape[0] == len(clipped.tokens)
