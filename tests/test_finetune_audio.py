"""Fine-tuning the audio tower on randomised world sounds and real recordings."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from bgtai.joint.model import JointConfig, JointModel
from train import finetune_audio


@pytest.fixture(scope="module")
def tiny_joint(tmp_path_factory):
    torch.manual_seed(0)
    model = JointModel(JointConfig(vocab=["whistle", "clap", "drum", "bell"], dim=16,
                                   audio_width=16, audio_layers=1, text_width=16, text_layers=1,
                                   heads=2, image_widths=[8, 8, 8], dsnet_width=16))
    folder = tmp_path_factory.mktemp("joint") / "tiny"
    model.eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(0)
    for folder, f0 in (("whistle", 1200.0), ("clap", None), ("other", 200.0)):
        (root / folder).mkdir()
        for i in range(2):
            t = np.arange(8000) / 16000
            wave = (np.sin(2 * np.pi * f0 * t) if f0
                    else rng.standard_normal(8000) * np.exp(-t * 40))
            sf.write(root / folder / f"{i}.wav", (0.1 * wave).astype(np.float32), 16000)
    return root


def test_only_the_audio_tower_changes(tiny_joint, real_dir, tmp_path):
    out = tmp_path / "run"
    metrics = finetune_audio.main([
        "--output-dir", str(out), "--init", str(tiny_joint), "--real-dir", str(real_dir),
        "--cpu", "--n-events", "8", "--batch-size", "4", "--epochs", "1", "--lr", "1e-2",
        "--warmup-steps", "1", "--p-other", "0.5"])
    assert metrics["step"] == 2
    for key in ("loss/consistency", "loss/class_world", "loss/class_real", "loss/outlier"):
        assert np.isfinite(metrics[key])
    before = load_file(tiny_joint / "model.safetensors")
    after = load_file(out / "model" / "model.safetensors")
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("audio.") for k in changed)
    # batch norm running statistics are the original model's
    assert not any("running_" in k for k in changed)
    JointModel.from_pretrained(out / "model")  # loads strictly


def test_consistency_is_zero_at_the_start_for_clean_sounds(tiny_joint):
    module = finetune_audio.AudioFinetune(str(tiny_joint), {
        "consistency": 1.0, "class_world": 1.0, "class_real": 1.0, "outlier": 1.0}).train()
    wave = torch.randn(2, 8000) * 0.05
    losses = module({"clean": wave, "noisy": wave, "class": torch.tensor([0, 1])})
    assert float(losses["consistency"].detach()) == pytest.approx(0.0, abs=1e-5)
    assert set(losses) == {"consistency", "class_world", "loss"}
    assert not module.teacher.training


def test_slider_edits_stay_in_the_world_range():
    from bgtai.generate.edits import edit_sound

    data = finetune_audio.RandomisedWorld(6, 0, None, 0.0, p_edit=1.0)
    torch.manual_seed(0)
    for i in range(len(data)):
        item = data[i]
        clean, cls, sliders = data._clean[i]
        assert int(item["class"]) == cls  # edits inside the world range keep the class label
        assert sliders.gain_db[0] <= 0.0 <= sliders.gain_db[1]
        assert item["clean"].shape == clean.shape and not torch.equal(item["clean"], clean)
    # the edit is the app's own: an edit of 0 dB and 0 semitones gives the sound back
    np.testing.assert_allclose(edit_sound(clean.numpy()), clean.numpy())
    unedited = finetune_audio.RandomisedWorld(2, 0, None, 0.0)
    assert torch.equal(unedited[0]["clean"], unedited._clean[0][0])
    assert unedited._clean[0][2] is None  # no slider range is measured without --p-edit


def test_a_new_frontend_head_alone_learns(tiny_joint, real_dir, tmp_path):
    out = tmp_path / "run"
    metrics = finetune_audio.main([
        "--output-dir", str(out), "--init", str(tiny_joint), "--real-dir", str(real_dir),
        "--cpu", "--n-events", "8", "--batch-size", "4", "--epochs", "1", "--lr", "1e-2",
        "--warmup-steps", "1", "--frontend", "aisfx", "--train", "frontend",
        "--standardise-items", "4"])
    assert metrics["step"] == 2
    before = load_file(tiny_joint / "model.safetensors")
    after = load_file(out / "model" / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)  # the tower did not move
    new = set(after) - set(before)
    assert new and all(k.startswith("frontend.head.") for k in new)
    assert not torch.equal(after["frontend.head.feature_std"], torch.ones(512))
    assert after["frontend.head.mlp.2.weight"].abs().sum() > 0  # left its zero start
    model = JointModel.from_pretrained(out / "model")  # loads strictly, the CNN from the package
    assert model.config.audio_frontend == "aisfx"


def test_training_the_head_needs_a_frontend(tiny_joint):
    with pytest.raises(ValueError, match="--frontend"):
        finetune_audio.AudioFinetune(str(tiny_joint), {}, train="frontend")


def test_a_gated_head_is_set_before_training_and_then_held(tiny_joint, real_dir, tmp_path,
                                                          monkeypatch):
    from bgtai.joint.frontend import FrontendHead

    fitted = {}

    def recording_fit(head, bank, held_out, real):
        # the fixture's tones and bursts are as world-like as the tiny world, which the real
        # fit refuses (tests/test_frontend.py): a stand-in sets the gate
        head.world_bank.copy_(torch.nn.functional.normalize(bank, dim=-1).half())
        head.gate_range.copy_(torch.tensor([0.1, 0.9]))
        fitted.update(n=(len(bank), len(held_out), len(real)), bank=head.world_bank.clone())
        return {}

    monkeypatch.setattr(FrontendHead, "fit_gate", recording_fit)
    out = tmp_path / "run"
    finetune_audio.main([
        "--output-dir", str(out), "--init", str(tiny_joint), "--real-dir", str(real_dir),
        "--cpu", "--n-events", "8", "--batch-size", "4", "--epochs", "1", "--lr", "1e-2",
        "--warmup-steps", "1", "--frontend", "aisfx", "--train", "frontend",
        "--frontend-gate", "2", "--standardise-items", "6"])
    # the bank: clean and randomised sounds of 2 items; the other 4 clean ones and 6 real
    assert fitted["n"] == (4, 4, 6)
    after = load_file(out / "model" / "model.safetensors")
    torch.testing.assert_close(after["frontend.head.world_bank"], fitted["bank"])
    torch.testing.assert_close(after["frontend.head.gate_range"], torch.tensor([0.1, 0.9]))
    assert after["frontend.head.mlp.2.weight"].abs().sum() > 0
    assert JointModel.from_pretrained(out / "model").config.frontend_gate == 4


def test_a_gate_needs_a_new_frontend_and_real_recordings(tiny_joint):
    for argv in (["--frontend", "aisfx", "--frontend-gate", "2"],
                 ["--frontend", "aisfx", "--real-dir", "r", "--frontend-gate", "256"]):
        with pytest.raises(SystemExit):
            finetune_audio.parse_args(["--output-dir", "x", *argv])
    with pytest.raises(ValueError, match="new front-end"):
        finetune_audio.AudioFinetune(str(tiny_joint), {}, gate=2)
