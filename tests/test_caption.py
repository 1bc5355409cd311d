"""Audio captioning: reading gloss captions back, the metrics, the model's input checks, the
trainer (tiny stand-ins, exact resume), the evaluation command and the bundled checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bgtai.caption.data import collate_captions, frame_targets, pick_references
from bgtai.caption.model import (
    AudioCaptioner,
    CaptionerConfig,
    caption_waveform,
    event_measures,
    onset_targets,
)
from bgtai.caption.words import (
    CaptionVocab,
    HeardEvent,
    attribute_hits,
    attribute_words,
    attribute_table,
    caption_vocab,
    english,
    parse_gloss,
    token_events,
)
from bgtai.data.clips import sample_events
from bgtai.data.events import CLASSES, Event
from bgtai.data.language import describe_events
from bgtai.data.world import WorldDataset
from bgtai.eval.captioning import caption_metrics
from bgtai.gloss import english_to_gloss

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "assets" / "caption"
TINY = ["--cpu", "--torch-threads", "1", "--n-clips", "6", "--n-events", "4", "--n-val", "3",
        "--batch-size", "4", "--references", "3", "--d-model", "32", "--ff-dim", "64",
        "--enc-layers", "1", "--dec-layers", "1", "--warmup-steps", "1"]


def test_every_world_description_reads_back_to_its_events():
    rng = np.random.default_rng(3)
    for _ in range(300):
        events = sample_events(rng, 10.0, int(rng.integers(1, 4)))
        gloss = english_to_gloss(describe_events(events, rng))
        heard = parse_gloss(gloss)
        assert [HeardEvent.of(e) for e in events] == heard, gloss
        assert attribute_hits(heard, events) == (attribute_hits(heard, events)[1],) * 2
        # the canonical English of a caption says the same thing again
        assert parse_gloss(english_to_gloss(english(heard))) == heard


def test_every_token_of_a_description_speaks_of_its_own_event():
    rng = np.random.default_rng(4)
    for _ in range(200):
        events = sample_events(rng, 10.0, int(rng.integers(1, 4)))
        tokens = english_to_gloss(describe_events(events, rng)).split()
        owners = token_events(tokens)
        assert len(owners) == len(tokens)
        # in order, every event named, starting at the first
        assert owners[0] == 0 and sorted(set(owners)) == list(range(len(events)))
        assert all(a <= b for a, b in zip(owners, owners[1:])), (tokens, owners)
        # each event's words read back to that event alone
        for k, event in enumerate(sorted(events, key=lambda e: e.onset_s)):
            own = [t for t, o in zip(tokens, owners) if o == k]
            assert parse_gloss(own)[0] == HeardEvent.of(event), (own, event)
    assert token_events("WHISTLE THREE TIME , DESC-THEN BELL DESC-LOUD") == [0, 0, 0, 0, 1, 1, 1]
    assert token_events("HELLO WORLD") == [-1, -1]


def test_frame_targets_mark_each_event_and_the_silence():
    clap = Event("clap", None, -10.0, 3, 0.2, 0.8)  # loud, 3 claps over 0.2-1.0 s
    whistle = Event("whistle", 300.0, -60.0, 1, 1.4, 0.4)  # quiet and low, 1.4-1.8 s
    got = frame_targets([whistle, clap], 50, 25.0)  # 2 s of 40 ms frames, given out of order
    assert got.shape == (50, 5)
    silent = got[:5]  # centres 0.02-0.18 s
    assert (silent[:, 0] == 0).all() and (silent[:, 1:4] == -100).all() and (silent[:, 4] == -1).all()
    assert got[10].tolist() == [1 + CLASSES.index("clap"), 2, 2, -100, 0]
    assert got[40].tolist() == [1 + CLASSES.index("whistle"), 0, 0, 0, 1]
    assert (got[25:35, 4] == -1).all() and (got[45:, 0] == 0).all()


def test_onset_targets_mark_each_events_first_frames():
    owner = torch.tensor([[-1, 0, 0, 0, -1, 1, 1, 2, 2, 2, -1, 2]])
    assert onset_targets(owner)[0].int().tolist() == [0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0]


def test_attribute_hits_count_wrong_and_missing_events():
    truth = [Event("whistle", 1800.0, -25.0, 3, 0.0, 1.0), Event("clap", None, -40.0, 1, 2.0, 0.5)]
    right = parse_gloss("THREE DESC-LOUD DESC-HIGH WHISTLE DESC-THEN DESC-QUIET CLAP")
    assert attribute_hits(right, truth) == (7, 7)
    # wrong count and pitch on the first event, the second left out: 2 of 4, then 0 of 3
    wrong = parse_gloss("TWO DESC-LOUD DESC-LOW WHISTLE")
    assert attribute_hits(wrong, truth) == (2, 7)
    assert attribute_table(wrong, truth) == {"cls": (1, 2), "count": (0, 2), "loudness": (1, 2),
                                             "pitch": (0, 1)}
    assert parse_gloss("") == [] and english([]) == ""


def test_caption_metrics_reward_the_right_caption():
    refs = [["THREE DESC-LOUD DESC-HIGH WHISTLE", "DESC-LOUD DESC-HIGH WHISTLE THREE TIME"],
            ["TWO DESC-QUIET CLAP , DESC-THEN DESC-SINGLE BELL",
             "TWO DESC-SOFT HANDCLAP DESC-THEN BELL"],
            ["FIVE DESC-MODERATE DRUMBEAT", "FIVE MEDIUM VOLUME DRUM HIT"]]
    right = caption_metrics([r[0] for r in refs], refs, meteor=False)
    wrong = caption_metrics(["TWO DESC-QUIET HUM", "SIREN", ""], refs, meteor=False)
    assert set(right) == {"bleu1", "bleu4", "rouge_l", "cider_d"}
    for key in right:
        assert right[key] > wrong[key], key
    assert right["bleu1"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="same length"):
        caption_metrics(["A"], refs)
    with pytest.raises(ValueError, match="non-empty"):
        caption_metrics(["A"], [[]])


def test_attribute_words_spread_over_every_phrasing_of_a_value():
    vocab = CaptionVocab(caption_vocab(n=200))
    loud = attribute_words(vocab, "loudness", "loud")
    named = {vocab.tokens[i] for i in np.flatnonzero(loud)}
    assert {"DESC-LOUD", "DESC-STRONG", "DESC-POWERFUL"} <= named and "DESC-QUIET" not in named
    assert loud.sum() == pytest.approx(1.0)
    three = attribute_words(vocab, "count", 3)
    assert {vocab.tokens[i] for i in np.flatnonzero(three)} == {"THREE"}
    assert not attribute_words(CaptionVocab(["X"]), "class", "clap").any()


def test_vocab_round_trip_and_unknown_tokens():
    vocab = CaptionVocab(caption_vocab(n=50))
    ids = vocab.encode("TWO DESC-LOUD WHISTLE ZEBRA")
    assert ids[0] == 1 and ids[-1] == 2 and ids[-2] == 3  # <s> ... <unk> </s>
    assert vocab.decode(ids[1:]) == ["TWO", "DESC-LOUD", "WHISTLE"]


@pytest.fixture(scope="module")
def tiny_model() -> AudioCaptioner:
    torch.manual_seed(0)
    return AudioCaptioner(CaptionerConfig(vocab=caption_vocab(n=50), d_model=32, ff_dim=64,
                                          enc_layers=1, dec_layers=1)).eval()


def test_features_of_a_clip_alone_equal_those_in_a_batch(tiny_model):
    rng = np.random.default_rng(0)
    a, b = (rng.normal(0, 0.1, n).astype(np.float32) for n in (16000, 40000))
    batch = torch.zeros(2, 40000)
    batch[0, :16000], batch[1] = torch.from_numpy(a), torch.from_numpy(b)
    frames, mask, clip = tiny_model.audio_features(batch, torch.tensor([16000, 40000]))
    alone = tiny_model.audio_features(torch.from_numpy(a)[None])
    n = int(mask[0].sum())
    assert int(alone[1].sum()) == n == 25
    torch.testing.assert_close(frames[0, :n], alone[0][0, :n], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(clip[0], alone[2][0], atol=1e-5, rtol=1e-4)


def test_memory_holds_one_slot_per_event_after_the_frames(tiny_model):
    wave = torch.from_numpy(np.random.default_rng(2).normal(0, 0.1, (2, 16000)).astype(np.float32))
    frames, mask, clip = tiny_model.audio_features(wave)
    n = frames.shape[1]
    windows = torch.zeros(2, 2, n, dtype=torch.bool)
    windows[0, 0, 2:8], windows[0, 1, 12:20], windows[1, 0, 5:9] = True, True, True
    memory, pad = tiny_model.memory(frames, mask, clip, windows)
    assert memory.shape[1] == pad.shape[1] == 1 + n + 2
    assert not pad[:, 0].any() and torch.equal(pad[:, 1 : 1 + n], ~mask)
    assert pad[:, 1 + n :].tolist() == [[False, False], [False, True]]
    # the slots carry the events: another level of event 0 changes its slot, not event 1's
    louder = frames.clone()
    louder[0, 2:8, -1] += 0.3  # +6 dB on event 0's frames
    moved = tiny_model.memory(louder, mask, clip, windows)[0]
    assert not torch.allclose(moved[0, 1 + n], memory[0, 1 + n])
    torch.testing.assert_close(moved[0, 2 + n], memory[0, 2 + n])


@pytest.mark.parametrize("wave, sr, message", [
    (np.zeros(0, np.float32), 16000, "empty"),
    (np.zeros(16000, np.float32), 16000, "silent"),
    (np.full(16000, np.nan, np.float32), 16000, "NaN"),
    (np.full(11 * 16000, 0.1, np.float32), 16000, "too long"),
    (np.full(16000, 0.1, np.float32), 10, "sample rate"),
])
def test_bad_audio_gets_a_clear_message(tiny_model, wave, sr, message):
    with pytest.raises(ValueError, match=message):
        caption_waveform(tiny_model, wave, sr)


def test_caption_waveform_returns_gloss_text_attention_and_alignment(tiny_model):
    wave = np.random.default_rng(1).normal(0, 0.1, 44100).astype(np.float32)
    cap = caption_waveform(tiny_model, (wave * 32767).astype(np.int16), 44100, with_attention=True)
    assert cap.gloss == " ".join(cap.tokens)
    assert cap.attention.shape[0] == len(cap.tokens)
    assert cap.attention.shape[1] == 1 + 25  # the clip position and 40 ms frames of 1 s
    assert cap.alignment.shape == cap.attention.shape and cap.alignment.dtype == bool
    cols = [np.flatnonzero(row) for row in cap.alignment]  # a monotonic path: every word
    assert all(len(c) for c in cols) and all(a[-1] <= b[0] for a, b in zip(cols, cols[1:]))


def test_frame_heads_and_dsnet_learn_from_world_items():
    from bgtai.caption.data import CaptionItems

    torch.manual_seed(0)
    model = AudioCaptioner(CaptionerConfig(vocab=caption_vocab(n=50), d_model=32, ff_dim=64,
                                           enc_layers=1, dec_layers=1))
    items = CaptionItems(model, "train", 3, references=2)
    batch = collate_captions([items[i] for i in range(3)])
    assert batch["frame_targets"].shape[:2] == batch["frames"].shape[:2]
    ids, owners = pick_references(batch)
    assert owners.shape == ids.shape and (owners[:, 0] == -1).all()
    plain = model(batch["frames"], batch["mask"], batch["clip"], ids)
    assert set(plain) == {"loss", "caption_loss"}
    out = model(batch["frames"], batch["mask"], batch["clip"], ids,
                frame_targets=batch["frame_targets"], token_events=owners, frame_weight=0.5,
                align_weight=1.0, event_weight=2.0)
    assert out["frame_loss"] > 0 and out["align_loss"] > 0 and out["event_loss"] > 0
    torch.testing.assert_close(out["loss"], out["caption_loss"] + 0.5 * out["frame_loss"]
                               + out["align_loss"] + 2.0 * out["event_loss"])
    out["loss"].backward()
    for part in (model.frame_head, model.onset_head, model.cum_proj, model.event_head,
                 model.event_proj, model.event_order, model.gloss.aligner):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())
    assert all(p.grad is None for p in model.audio.parameters())  # the audio encoder stays frozen


def _train(out: Path, *extra: str) -> dict:
    from train.train_caption import main

    return main(["--output-dir", str(out), *TINY, *extra])


def test_trainer_resumes_exactly_and_evaluate_reports_the_keys(tmp_path):
    metrics = _train(tmp_path / "full", "--epochs", "2")
    assert {"val_bleu4", "val_cider_d", "val_attribute_acc", "best_epoch"} <= set(metrics)
    assert _train(tmp_path / "part", "--epochs", "2", "--stop-at-step", "3") == {
        "stopped_at_step": 3}
    _train(tmp_path / "part", "--epochs", "2", "--resume")
    full = load_file(tmp_path / "full" / "model" / "model.safetensors")
    part = load_file(tmp_path / "part" / "model" / "model.safetensors")
    assert full.keys() == part.keys()
    for key in full:
        torch.testing.assert_close(part[key], full[key], atol=1e-5, rtol=1e-4, msg=key)
    history = json.loads((tmp_path / "part" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]

    from train.evaluate import main as evaluate

    out = tmp_path / "eval.json"
    got = evaluate(["caption", "--model", str(tmp_path / "full" / "model"), "--split", "val",
                    "--n-clips", "3", "--references", "3", "--no-meteor", "--json", str(out)])
    assert {"bleu1", "bleu4", "rouge_l", "cider_d", "attribute_acc"} <= set(got)
    assert json.loads(out.read_text())["n_clips"] == 3



def test_alignment_scores_count_the_tokens_placed_in_their_events_frames():
    from bgtai.caption.model import Caption
    from train.eval_caption import _place

    tokens = "TWO BELL , DESC-THEN WHISTLE".split()   # events 0 0 0 1 1
    event_of_frame = torch.tensor([0, 0, 0, -1, 1, 1, -100])  # padded past the clip's 6 frames
    alignment = np.zeros((5, 7), bool)
    for row, frame in enumerate([1, 2, 4, 5, 3]):  # ',' in event 1, the last token between
        alignment[row, 1 + frame] = True
    attention = np.zeros((5, 7), np.float32)
    attention[:, 0] = 1.0                             # the clip position is no frame
    attention[:, 1 + 4] = 0.5                         # every token weighs frame 4 (event 1) most
    cap = Caption(" ".join(tokens), "", parse_gloss(tokens), tokens, attention, alignment)
    placed = {"align": 0, "attention": 0, "tokens": 0}
    _place(cap, event_of_frame, placed)
    assert placed == {"align": 3, "attention": 2, "tokens": 5}

def test_event_measures_read_level_and_separate_sounds():
    # frames in dB: two sounds at -30 dB with a quiet gap, a faint -60 dB tail (more than 20 dB
    # down: not active), then a second event at -20/-26 dB sounding once
    db = torch.tensor([[-90., -30, -30, -90, -90, -30, -60, -90, -20, -26, -90]])
    windows = torch.zeros(1, 3, 11, dtype=torch.bool)
    windows[0, 0, 1:8] = True
    windows[0, 1, 8:10] = True
    level, sounds = event_measures(db / 20, windows)
    assert sounds.tolist() == [[2, 1, 0]]
    assert level[0, 0].item() == pytest.approx(-30.0, abs=1e-3)
    want = 10 * np.log10((10 ** -2.0 + 10 ** -2.6) / 2)
    assert level[0, 1].item() == pytest.approx(want, abs=1e-3)
    assert level[0, 2].item() == -100.0
    # a gain shifts the level by as many dB and leaves the count alone
    louder, same = event_measures((db + 6) / 20, windows)
    assert torch.allclose(louder[0, :2], level[0, :2] + 6, atol=1e-3) and torch.equal(same, sounds)


@pytest.mark.skipif(not (BUNDLED / "model.safetensors").is_file(), reason="no bundled captioner")
def test_bundled_captioner_names_the_class_of_test_clips():
    model = AudioCaptioner.from_pretrained(BUNDLED).eval()
    world = WorldDataset("test", 12, kind="event", image_size=32)
    right = 0
    for i in range(len(world)):
        event, audio, _ = world.event(i)
        heard = caption_waveform(model, audio).events
        right += bool(heard) and heard[0].cls == event.cls
    assert right >= 10, f"class right in {right} of 12 test events"
    assert (BUNDLED / "model.safetensors").stat().st_size <= 5 * 2**20
