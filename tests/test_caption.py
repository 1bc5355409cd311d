"""Audio captioning: reading gloss captions back, the metrics, the model's input checks, the
trainer (tiny stand-ins, exact resume), the evaluation command and the bundled checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bgtai.caption.model import AudioCaptioner, CaptionerConfig, caption_waveform
from bgtai.caption.words import (
    CaptionVocab,
    HeardEvent,
    attribute_hits,
    attribute_table,
    caption_vocab,
    english,
    parse_gloss,
)
from bgtai.data.clips import sample_events
from bgtai.data.events import Event
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


def test_caption_waveform_returns_gloss_text_and_attention(tiny_model):
    wave = np.random.default_rng(1).normal(0, 0.1, 44100).astype(np.float32)
    cap = caption_waveform(tiny_model, (wave * 32767).astype(np.int16), 44100, with_attention=True)
    assert cap.gloss == " ".join(cap.tokens)
    assert cap.attention.shape[0] == len(cap.tokens)
    assert cap.attention.shape[1] == 1 + 25  # the clip position and 40 ms frames of 1 s


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
