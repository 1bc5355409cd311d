"""The pretrained aiSFX front-end: features from the installed package, the head, checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from bgtai.joint.frontend import AISFX_DIM, AisfxFeatures
from bgtai.joint.model import JointConfig, JointModel


@pytest.fixture(scope="module")
def features():
    return AisfxFeatures()


def _config(**kwargs) -> JointConfig:
    return JointConfig(vocab=["bell", "drum"], dim=16, audio_width=16, audio_layers=1,
                       text_width=16, text_layers=1, heads=2, image_widths=[8, 8, 8],
                       dsnet_width=16, **kwargs)


def test_a_ragged_batch_gives_each_item_its_own_features(features):
    g = torch.Generator().manual_seed(0)
    # shorter than one 2.3 s block, two blocks and a partial one, several blocks
    waves = [torch.randn(n, generator=g) * 0.1 for n in (8000, 16000 * 3 + 77, 16000 * 6)]
    alone = torch.cat([features(w[None]) for w in waves])
    batch = torch.zeros(3, max(len(w) for w in waves))
    for i, w in enumerate(waves):
        batch[i, :len(w)] = w
    together = features(batch, torch.tensor([len(w) for w in waves]))
    assert together.shape == (3, AISFX_DIM) and torch.isfinite(together).all()
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(alone[0], alone[1])


def test_the_same_batch_again_is_read_once(features):
    net = features._net[0]
    calls = []
    features._net = (lambda blocks: calls.append(len(blocks)) or net(blocks),)
    try:
        wave = torch.randn(2, 20000, generator=torch.Generator().manual_seed(1)) * 0.1
        first = features(wave)
        again = features(wave.clone())
        assert len(calls) == 1
        torch.testing.assert_close(again, first)
        features(wave[:1])  # another batch is read again
        features(wave, torch.tensor([20000, 15000]))  # as are other lengths
        assert len(calls) == 3
    finally:
        features._net = (net,)


def test_features_ignore_the_level_but_not_the_sound(features):
    t = torch.arange(16000) / 16000
    tone = 0.3 * torch.sin(2 * torch.pi * 440 * t)
    noise = 0.3 * torch.randn(16000, generator=torch.Generator().manual_seed(1))
    a, quiet, b = features(torch.stack([tone, tone * 0.01, noise]))
    torch.testing.assert_close(a, quiet, atol=1e-4, rtol=1e-4)  # peak-normalised input
    assert torch.nn.functional.cosine_similarity(a, b, dim=0) < 0.99


def test_a_new_head_leaves_the_embedding_as_the_tower_gives_it():
    torch.manual_seed(0)
    plain = JointModel(_config()).eval()
    fronted = JointModel(_config(audio_frontend="aisfx")).eval()
    fronted.load_state_dict(plain.state_dict(), strict=False)
    wave = torch.randn(2, 12000) * 0.05
    lengths = torch.tensor([12000, 9000])
    for x, y in zip(plain.embed_audio(wave, lengths), fronted.embed_audio(wave, lengths)):
        torch.testing.assert_close(x, y)


def test_the_checkpoint_holds_the_head_not_the_package_weights(tmp_path):
    torch.manual_seed(0)
    model = JointModel(_config(audio_frontend="aisfx", frontend_hidden=8))
    with torch.no_grad():
        model.frontend.head.mlp[2].weight.normal_()
        model.frontend.head.set_standardisation(torch.randn(20, AISFX_DIM))
    model.eval().save_pretrained(tmp_path)
    keys = load_file(tmp_path / "model.safetensors").keys()
    assert {k for k in keys if k.startswith("frontend.")} == {
        "frontend.head.feature_mean", "frontend.head.feature_std", "frontend.head.mlp.0.weight",
        "frontend.head.mlp.0.bias", "frontend.head.mlp.2.weight", "frontend.head.mlp.2.bias"}
    loaded = JointModel.from_pretrained(tmp_path)
    wave = torch.randn(1, 16000) * 0.1
    torch.testing.assert_close(loaded.embed_audio(wave)[0], model.embed_audio(wave)[0])


def test_an_unknown_frontend_is_refused():
    with pytest.raises(ValueError, match="audio_frontend"):
        _config(audio_frontend="wav2vec")


@pytest.mark.parametrize("scale", [-0.1, 1.5, float("nan"), "0.5", True])
def test_a_frontend_scale_outside_zero_to_one_is_refused(scale):
    with pytest.raises(ValueError, match="frontend_scale"):
        _config(audio_frontend="aisfx", frontend_scale=scale)


def test_the_frontend_scale_weights_the_heads_output():
    torch.manual_seed(0)
    full = JointModel(_config(audio_frontend="aisfx", frontend_hidden=8)).eval()
    with torch.no_grad():
        full.frontend.head.mlp[2].weight.normal_()
    wave = torch.randn(1, 16000) * 0.1
    tower = F.normalize(full.audio(wave)[0], dim=-1)
    for scale in (0.0, 0.5):
        scaled = JointModel(_config(audio_frontend="aisfx", frontend_hidden=8,
                                    frontend_scale=scale)).eval()
        scaled.load_state_dict(full.state_dict())
        expected = F.normalize(tower + scale * full.frontend(wave, None), dim=-1)
        torch.testing.assert_close(scaled.embed_audio(wave)[0], expected)
    assert not torch.allclose(scaled.embed_audio(wave)[0], full.embed_audio(wave)[0])


def test_the_frontend_can_read_the_recorded_sound_while_the_tower_reads_the_edit():
    torch.manual_seed(0)
    model = JointModel(_config(audio_frontend="aisfx", frontend_hidden=8)).eval()
    with torch.no_grad():
        model.frontend.head.mlp[2].weight.normal_()
    plain = JointModel(_config()).eval()
    plain.load_state_dict(model.state_dict(), strict=False)
    t = torch.arange(16000) / 16000
    recorded = (0.3 * torch.sin(2 * torch.pi * 440 * t))[None]
    edited = (0.1 * torch.sin(2 * torch.pi * 660 * t))[None]
    held = model.embed_audio(edited, recorded=(recorded, None))[0]
    # the tower's part from the edit, the front-end's from the recording
    expected = torch.nn.functional.normalize(
        plain.embed_audio(edited)[0] + model.frontend(recorded), dim=-1)
    torch.testing.assert_close(held, expected)
    assert not torch.allclose(held, model.embed_audio(edited)[0])
    torch.testing.assert_close(model.embed_audio(recorded, recorded=(recorded, None))[0],
                               model.embed_audio(recorded)[0])


def test_the_gate_closes_for_world_sounds_and_opens_for_real_recordings():
    from bgtai.joint.frontend import FrontendHead

    torch.manual_seed(0)
    head = FrontendHead(dim=4, hidden=8, features=6, gate_bank=100)
    with torch.no_grad():
        head.mlp[2].weight.normal_()
        head.mlp[2].bias.normal_()
    centres = torch.eye(6)[:3] * 5  # the world: three tight kinds of sound
    world = centres[torch.randint(3, (300,))] + 0.3 * torch.randn(300, 6)
    real = 3 * torch.randn(100, 6)  # real recordings: anywhere
    head.set_standardisation(torch.cat([world, real]))
    fit = head.fit_gate(world[:100], world[100:200], real)
    assert fit["gate_low"] < fit["gate_high"] and fit["held_out_closed"] >= 0.98
    unseen = world[200:]
    assert (head.gate_weight(unseen) == 0).float().mean() > 0.9
    assert head.gate_weight(real).median() == pytest.approx(1.0)
    ungated = head.mlp(head._standardised(real))
    # the correction is the head's output weighted by the gate, item by item
    torch.testing.assert_close(head(real), ungated * head.gate_weight(real)[:, None])
    assert head(unseen).abs().median() == 0
    with pytest.raises(ValueError, match="holds 100"):
        head.fit_gate(world[:50], world[100:200], real)
    with pytest.raises(ValueError, match="no further"):
        head.fit_gate(world[:100], world[100:200], world[200:])


def test_the_joint_models_real_weight_is_its_front_ends_gate():
    wave = torch.randn(2, 12000) * 0.05
    for config in (_config(), _config(audio_frontend="aisfx")):  # no gate: every sound is world
        torch.testing.assert_close(JointModel(config).eval().real_weight(wave), torch.zeros(2))
    gated = JointModel(_config(audio_frontend="aisfx", frontend_gate=8)).eval()
    head = gated.frontend.head
    with torch.no_grad():
        head.world_bank.copy_(F.normalize(torch.randn(8, head.feature_mean.numel()), dim=-1))
        head.gate_range.copy_(torch.tensor([0.5, 1.0]))
        expected = head.gate_weight(gated.frontend.features(wave))
    torch.testing.assert_close(gated.real_weight(wave), expected)


def test_a_gate_needs_a_frontend_and_a_gated_head_saves_it(tmp_path):
    with pytest.raises(ValueError, match="frontend_gate needs"):
        _config(frontend_gate=8)
    with pytest.raises(ValueError, match="frontend_gate must be"):
        _config(audio_frontend="aisfx", frontend_gate=True)
    model = JointModel(_config(audio_frontend="aisfx", frontend_gate=8))
    model.save_pretrained(tmp_path / "gated")
    saved = load_file(tmp_path / "gated" / "model.safetensors")
    assert saved["frontend.head.world_bank"].shape == (8, 512)
    assert saved["frontend.head.world_bank"].dtype == torch.float16
    assert JointModel.from_pretrained(tmp_path / "gated").config.frontend_gate == 8
    with pytest.raises(ValueError, match="no gate"):
        JointModel(_config(audio_frontend="aisfx")).frontend.head.gate_weight(torch.zeros(1, 512))


def test_without_the_package_a_gated_model_runs_on_the_tower_alone(tmp_path, monkeypatch):
    from bgtai.joint import frontend

    torch.manual_seed(0)
    gated = JointModel(_config(audio_frontend="aisfx", frontend_gate=8)).eval()
    gated.save_pretrained(tmp_path / "gated")
    JointModel(_config(audio_frontend="aisfx")).save_pretrained(tmp_path / "plain")

    def missing():
        raise frontend.FrontendUnavailable("this joint model needs the aiSFX front-end: pip ...")

    monkeypatch.setattr(frontend, "load_aisfx_net", missing)
    with pytest.warns(UserWarning, match="tower alone"):
        alone = JointModel.from_pretrained(tmp_path / "gated")
    assert alone.frontend is None and "pip" in alone.frontend_missing
    wave = torch.randn(2, 12000) * 0.05
    tower = F.normalize(gated.audio(wave)[0], dim=-1)
    torch.testing.assert_close(alone.embed_audio(wave)[0], tower)
    assert not alone.training
    with pytest.raises(ValueError, match="did not load"):
        alone.save_pretrained(tmp_path / "again")
    with pytest.raises(ValueError, match="needs the aiSFX front-end"):  # ungated: it is needed
        JointModel.from_pretrained(tmp_path / "plain")
