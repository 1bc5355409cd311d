"""The Langue2Gloss trainer end to end on a tiny corpus: outputs, evaluation, exact resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from train import train_gloss

TINY = ["--max-pairs", "64", "--eval-pairs", "8", "--speech-pairs", "8", "--batch-size", "8",
        "--epochs", "2", "--d-model", "32", "--heads", "2", "--ff-dim", "64", "--enc-layers", "1",
        "--dec-layers", "1", "--vocab-size", "300", "--n-world", "300", "--warmup-steps", "2",
        "--dropout", "0.1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("gloss_a")
    metrics = train_gloss.main(["--output-dir", str(out)] + TINY)
    return out, metrics


def test_writes_model_metrics_logs_and_checkpoints(uninterrupted):
    out, metrics = uninterrupted
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in (out / "model").iterdir()}
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("val_text_bleu4", "val_text_ter", "val_speech_bleu4", "val_speech_ter"):
        assert key in saved and 0 <= saved[key] <= (100 if "bleu" in key else 10)
    assert saved["epoch"] == 2
    assert list((out / "logs").rglob("events.out.tfevents.*")), "TensorBoard logs expected"
    assert list((out / "checkpoints").glob("checkpoint_*"))


def test_interrupted_and_resumed_run_ends_identical(uninterrupted, tmp_path):
    out_a, _ = uninterrupted
    out_b = tmp_path / "gloss_b"
    stopped = train_gloss.main(["--output-dir", str(out_b), "--stop-at-step", "5"] + TINY)
    assert stopped == {"stopped_at_step": 5}
    assert not (out_b / "model").exists()
    train_gloss.main(["--output-dir", str(out_b), "--resume"] + TINY)
    a = load_file(out_a / "model" / "model.safetensors")
    b = load_file(out_b / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:  # same data order, dropout masks and optimizer state: bit-identical
        assert torch.equal(a[key], b[key]), key


def test_init_fine_tunes_a_trained_model_with_its_vocabulary(uninterrupted, tmp_path):
    out_a, _ = uninterrupted
    start = out_a / "model"
    # other model sizes given on the command line are ignored: the folder's architecture rules
    args = [a if a != "32" else "48" for a in TINY] + ["--speech-pairs", "0", "--epochs", "1"]
    train_gloss.main(["--output-dir", str(tmp_path), "--init", str(start), *args])
    tuned = tmp_path / "model"
    assert (tuned / "tokenizer.json").read_text() == (start / "tokenizer.json").read_text()
    assert (json.loads((tuned / "config.json").read_text())["d_model"]
            == json.loads((start / "config.json").read_text())["d_model"] == 32)
    a, b = load_file(start / "model.safetensors"), load_file(tuned / "model.safetensors")
    assert a.keys() == b.keys()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # trained further
