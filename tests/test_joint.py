"""The joint embedding: vocabulary, encoders, InfoNCE, pair selection, model, CLIP profile, eval."""

from __future__ import annotations

import math
from argparse import Namespace

import numpy as np
import pytest
import torch

from bgtai.align.dtw import dtw_batch
from bgtai.align.losses import result_filter_ce, sp_loss
from bgtai.audio import SAMPLE_RATE
from bgtai.joint import JointConfig, JointModel, StepSettings, TokenVocab, caption_tokens, info_nce
from bgtai.joint import selection as sel
from bgtai.joint.data import ClipPairs, EventPairs, collate_world
from bgtai.joint.encoders import AudioEncoder

VOCAB_CAPTIONS = ["three loud high whistles then a quiet bell", "a soft drum", "two claps",
                  "the sound of a bell", "a hum"]


@pytest.fixture(scope="module")
def vocab():
    return TokenVocab.from_captions(VOCAB_CAPTIONS)


@pytest.fixture(scope="module")
def tiny_model(vocab):
    torch.manual_seed(0)
    config = JointConfig(vocab=vocab.tokens[2:], dim=16, audio_width=16, audio_layers=2,
                         text_width=16, text_layers=1, heads=2, image_size=32,
                         image_widths=[8, 8, 8], dsnet_width=16)
    return JointModel(config)


@pytest.fixture(scope="module")
def batches(vocab):
    events = EventPairs("train", 6, vocab, image_size=32)
    clips = ClipPairs("train", 3, vocab, image_size=32, clip_seconds=(2.0, 4.0))
    return (collate_world([clips[i] for i in range(3)]),
            collate_world([events[i] for i in range(6)]))


# ---------------------------------------------------------------------------- vocabulary
def test_caption_forms_never_share_tokens(vocab):
    gloss = caption_tokens("three loud high whistles", "gloss")
    text = caption_tokens("three loud high whistles", "text")
    assert text == ["three", "loud", "high", "whistles"]
    assert all(t == t.upper() for t in gloss) and not set(gloss) & set(text)
    assert 1 not in vocab.ids(gloss + text)  # both forms are known words


def test_vocab_unknown_padding_and_errors(vocab):
    ids, lengths = vocab.batch(["a bell", "three loud high whistles"], "text")
    assert ids.shape == (2, 4) and lengths.tolist() == [2, 4] and ids[0, 2:].tolist() == [0, 0]
    assert vocab.encode("a zebra", "text").tolist()[1] == 1
    with pytest.raises(ValueError, match="form"):
        vocab.encode("a bell", "speech")
    with pytest.raises(ValueError, match="non-empty list"):
        vocab.batch("a bell", "text")
    with pytest.raises(ValueError):
        TokenVocab([])


# ---------------------------------------------------------------------------- encoders
def test_audio_encoder_keeps_loudness_and_segments():
    torch.manual_seed(0)
    enc = AudioEncoder(width=16, layers=2, out_dim=8).eval()
    t = torch.arange(int(2.5 * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (0.05 * torch.sin(2 * math.pi * 440 * t))[None]
    with torch.no_grad():
        clip, segments, mask = enc(wave)
        louder, _, _ = enc(4.0 * wave)
    assert segments.shape == (1, 3, 8) and mask.tolist() == [[True, True, True]]
    # +12 dB must move the embedding: no per-clip normalisation anywhere before pooling
    assert not torch.allclose(clip, louder, atol=1e-3)


def test_padded_batch_equals_single_items(tiny_model):
    tiny_model.eval()
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.normal(0, 0.05, SAMPLE_RATE).astype(np.float32))
    b = torch.from_numpy(rng.normal(0, 0.05, 3 * SAMPLE_RATE).astype(np.float32))
    padded = torch.zeros(2, len(b))
    padded[0, : len(a)], padded[1] = a, b
    with torch.no_grad():
        clip, seg, mask = tiny_model.embed_audio(padded, torch.tensor([len(a), len(b)]))
        alone, seg_alone, _ = tiny_model.embed_audio(a[None])
    assert mask.tolist() == [[True, False, False], [True, True, True]]
    torch.testing.assert_close(clip[0], alone[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(seg[0, 0], seg_alone[0, 0], atol=1e-4, rtol=1e-4)
    assert torch.allclose(clip.norm(dim=-1), torch.ones(2))


def test_image_encoder_rejects_bad_shapes(tiny_model):
    with pytest.raises(ValueError, match="images must be"):
        tiny_model.embed_image(torch.zeros(2, 1, 32, 32))


# ---------------------------------------------------------------------------- InfoNCE
def test_info_nce_hand_computed():
    a = torch.eye(2)
    # logits = I: each row's CE is log(1 + e^-1), in both directions
    loss = info_nce(a, a, torch.tensor(0.0))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    # with every pair a positive, the target is uniform: CE = log 2 + log(1 + e) - 1 ... per row
    both = info_nce(a, a, torch.tensor(0.0), torch.ones(2, 2, dtype=torch.bool))
    expected = -0.5 * (1 - math.log(math.e + 1)) - 0.5 * (0 - math.log(math.e + 1))
    assert both.item() == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------- selection
def test_selection_mode_switches():
    assert sel.selection_mode(False, False) == "base"
    assert sel.selection_mode(True, False) == "dsnet"
    assert sel.selection_mode(False, True) == "result_filter"
    assert sel.selection_mode(True, True) == "ds_rf"


def _planted(q=3, t=7, d=5, seed=0):
    """Segment embeddings and frames that copy them on a known monotone assignment."""
    g = torch.Generator().manual_seed(seed)
    seg = torch.randn(1, q, d, generator=g)
    owner = torch.tensor([0, 0, 1, 1, 1, 2, 2])[:t]
    return seg, seg[:, owner] + 0.01 * torch.randn(1, t, d, generator=g), owner


def test_result_filter_recovers_planted_assignment():
    seg, frames, owner = _planted()
    masks = torch.ones(1, 3, dtype=torch.bool), torch.ones(1, 7, dtype=torch.bool)
    path = sel.result_filter_path(seg, masks[0], frames, masks[1])
    expected = torch.zeros(1, 3, 7, dtype=torch.bool)
    expected[0, owner, torch.arange(7)] = True
    assert torch.equal(path, expected)
    kept = sel.filter_path(path, sel.cosine_cells(seg, frames))
    assert bool((kept <= path).all()) and int(kept.sum()) >= 4  # at least half the path


def test_sample_cells_only_picks_candidates():
    cand = torch.zeros(4, 3, 5, dtype=torch.bool)
    cand[0, 1, 2] = cand[1, 0, 4] = cand[2, 2, 0] = cand[3, 1, 1] = cand[3, 2, 3] = True
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        q, t = sel.sample_cells(cand, g)
        assert bool(cand[torch.arange(4), q, t].all())
    with pytest.raises(ValueError, match="candidate"):
        sel.sample_cells(torch.zeros(1, 2, 2, dtype=torch.bool))


def test_dsnet_candidates_lie_on_the_decoded_path():
    logits = torch.full((2, 3, 6), -3.0)
    logits[0, [0, 1, 2], [0, 2, 5]] = 3.0  # confident cells on a monotone path
    seg_mask = torch.tensor([[True] * 3, [True, True, False]])
    frame_mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    cand = sel.dsnet_candidates(logits, seg_mask, frame_mask)
    assert cand[0].nonzero().tolist() == [[0, 0], [1, 2], [2, 5]]
    # nothing confident in pair 1: exactly one fallback cell, inside its valid block
    assert int(cand[1].sum()) == 1 and not bool(cand[1, 2:].any() or cand[1, :, 4:].any())


def test_alignment_loss_kinds():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 4, generator=g)
    target = dtw_batch(torch.rand(2, 3, 4, generator=g).double(), metric="precomputed").alignment
    masks = torch.ones(2, 3, dtype=torch.bool), torch.ones(2, 4, dtype=torch.bool)
    l2 = sel.alignment_loss(logits, target, *masks, "l2")
    assert l2.item() == pytest.approx(((torch.sigmoid(logits) - target.float()) ** 2).mean().item())
    ce, sp = result_filter_ce(logits, target), sp_loss(logits, target)
    total = sel.alignment_loss(logits, target, *masks, "total", ce_weight=0.3, sp_weight=2.0)
    assert total.item() == pytest.approx((0.3 * ce + 2.0 * sp).item())
    with pytest.raises(ValueError, match="loss must be"):
        sel.alignment_loss(logits, target, *masks, "l1")


# ---------------------------------------------------------------------------- model
@pytest.mark.parametrize("mode", sel.SELECTIONS)
def test_every_selection_mode_trains(tiny_model, batches, mode):
    tiny_model.train()
    tiny_model.zero_grad()
    losses = tiny_model(*batches, StepSettings(selection=mode))
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    assert tiny_model.image.net[0].weight.grad.abs().sum() > 0
    assert tiny_model.audio.stem[0].weight.grad.abs().sum() > 0
    dsnet_grad = tiny_model.dsnet.head.weight.grad
    assert (dsnet_grad is not None and dsnet_grad.abs().sum() > 0) == mode.startswith("ds")
    if mode != "base":
        assert 0.0 <= losses["pair_precision"].item() <= 1.0
    if mode == "ds_rf":
        assert "dsnet_rf" in losses


@pytest.mark.slow  # Inductor compiles about 30 graphs on the CPU: 0.5-2.5 minutes
@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA device")])])
def test_compiled_encoders_train_as_eager_ones(tiny_model, batches, device):
    import copy

    eager = copy.deepcopy(tiny_model).to(device).train()
    compiled = copy.deepcopy(tiny_model).to(device).train()
    compiled.compile_encoders()
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
    # segment masks of clips that end in a vector loop's tail (where Inductor's CPU code got
    # `arange(F) // S` wrong): 82, 75 and 82 frames
    wave = 0.1 * torch.randn(3, 52000, device=device)
    lengths = torch.tensor([52000, 48000, 52000], device=device)
    with torch.no_grad():
        assert compiled.audio(wave, lengths)[2].tolist() == eager.audio(wave, lengths)[2].tolist()
    results = []
    for model in (eager, compiled):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(3)  # the same pair draws
        losses = model(*batches, StepSettings())
        losses["loss"].backward()
        results.append((losses, {n: p.grad for n, p in model.named_parameters()
                                 if p.grad is not None}))
    (le, ge), (lc, gc) = results
    assert le.keys() == lc.keys() and ge.keys() == gc.keys()
    for key in le:
        assert torch.allclose(le[key], lc[key], atol=1e-4), key
    for name in ge:
        assert torch.allclose(ge[name], gc[name], atol=1e-3, rtol=1e-3), name


def test_step_settings_and_forward_validate(tiny_model):
    with pytest.raises(ValueError, match="mode"):
        tiny_model.compile_encoders("fastest")  # checked before anything is compiled
    assert tiny_model.audio._compiled_call_impl is None
    with pytest.raises(ValueError, match="selection"):
        StepSettings(selection="oracle")
    with pytest.raises(ValueError, match="loss"):
        StepSettings(loss="l1")
    with pytest.raises(ValueError, match="image_size"):
        JointConfig(image_size=16)


def test_save_and_load_roundtrip(tiny_model, tmp_path, batches):
    tiny_model.eval()
    tiny_model.save_pretrained(tmp_path)
    loaded = JointModel.from_pretrained(tmp_path)
    assert not loaded.training and loaded.vocab.tokens == tiny_model.vocab.tokens
    with torch.no_grad():
        torch.testing.assert_close(loaded.embed_image(batches[1]["image"]),
                                   tiny_model.embed_image(batches[1]["image"]))
    torch.testing.assert_close(loaded.embed_captions(["a bell"]), tiny_model.embed_captions(["a bell"]))
    wave = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    assert loaded.embed_waveform(wave).shape == (16,)
    with pytest.raises(ValueError):
        loaded.embed_waveform(np.zeros(10, np.float32))


# ---------------------------------------------------------------------------- CLIP profile
def tiny_clip(tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, image_size=32, patch_size=8,
                              projection_dim=24)
    torch.manual_seed(0)
    CLIPVisionModelWithProjection(config).save_pretrained(tmp_path)
    return tmp_path


def test_audio_projector_learns_frozen_clip_space(tmp_path, batches):
    from bgtai.joint.pretrained import (
        ClipAudioConfig,
        ClipAudioProjector,
        clip_image_embeds,
        load_clip_vision,
    )

    vision = load_clip_vision(str(tiny_clip(tmp_path / "clip")))
    events = batches[1]
    targets = clip_image_embeds(vision, events["image"])
    assert targets.shape == (6, 24) and torch.allclose(targets.norm(dim=-1), torch.ones(6))
    assert not any(p.requires_grad for p in vision.parameters())
    torch.manual_seed(0)
    model = ClipAudioProjector(ClipAudioConfig(str(tmp_path / "clip"), dim=24, width=16, layers=2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        loss = model(events["audio"], events["audio_lengths"], targets, events["combo"])["loss"]
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.85 * first
    with pytest.raises(ValueError, match="projection_dim"):
        model(events["audio"], events["audio_lengths"], targets[:, :8])


# ---------------------------------------------------------------------------- evaluation
def test_eval_joint_metrics_and_run(tiny_model, tmp_path):
    from train.eval_joint import embed_events, joint_metrics, run

    tiny_model.save_pretrained(tmp_path / "m")
    data = EventPairs("test", 12, tiny_model.vocab, image_size=32)
    emb = embed_events(tiny_model, data, batch_size=5)
    assert emb["audio"].shape == (12, 16) and emb["combo"].shape == (12,)
    metrics = joint_metrics(tiny_model, emb, probe=False)
    for key in ("zero_shot_acc", "audio_to_image_r1", "text_to_image_r1_gloss",
                "text_to_image_r1_text"):  # hits counted over the 12 events
        assert metrics[key] * 12 == pytest.approx(round(metrics[key] * 12)), key
    # a mean reciprocal rank is at least 1/12: every relevant item ranks somewhere in 12
    assert 1 / 12 <= metrics["image_to_audio_mrr"] <= 1.0
    # cell-level relevance can only be easier than exact-item relevance
    assert metrics["audio_to_image_r1"] >= metrics["audio_to_image_r1_exact"]
    out = run(Namespace(model=str(tmp_path / "m"), split="test", n_events=12, seed=0,
                        batch_size=6))
    assert out["split"] == "test" and out["zero_shot_acc"] == pytest.approx(metrics["zero_shot_acc"])


def test_disk_cache_gives_the_same_items_and_is_keyed_by_the_world(vocab, tmp_path):
    """Items read back from the on-disk cache equal freshly synthesised ones; a different
    clip length range is another cache; filling with 2 processes writes every item."""
    fresh = ClipPairs("train", 3, vocab, seed=5)
    cached = ClipPairs("train", 3, vocab, seed=5, cache_dir=tmp_path)
    cached.fill_disk_cache(workers=2)
    assert sorted(p.name for p in cached.cache_dir.iterdir()) == [
        "0.safetensors", "1.safetensors", "2.safetensors"]
    again = ClipPairs("train", 3, vocab, seed=5, cache_dir=tmp_path)
    for i in (0, 2):
        a, b = fresh[i], again[i]
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
    other = ClipPairs("train", 3, vocab, seed=5, clip_seconds=(2.0, 2.0), cache_dir=tmp_path)
    assert other.cache_dir != cached.cache_dir
    events = EventPairs("val", 2, vocab, cache_dir=tmp_path)
    assert torch.equal(events[1]["image"], EventPairs("val", 2, vocab)[1]["image"])
    with pytest.raises(ValueError, match="cache_dir"):
        fresh.fill_disk_cache()
