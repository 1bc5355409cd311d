"""Shared fixtures: a launched demo app and small generated sounds."""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: torch, numba and the app's server threads
# share two cores here, and spinning workers starve each other (10x slower small DTW calls).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from bgtai.audio import SAMPLE_RATE, write_audio  # noqa: E402


def sweep(seconds: float, f0: float, f1: float, sr: int = SAMPLE_RATE, level: float = 0.3):
    """A linear sine sweep: a sound with an obvious time structure to align."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (level * np.sin(phase)).astype(np.float32)


@pytest.fixture(scope="session")
def sound_files(tmp_path_factory):
    """Two sweeps with the same shape at different speeds, a stereo 44.1 kHz file, bad files."""
    d = tmp_path_factory.mktemp("sounds")
    files = {
        "slow": write_audio(d / "slow.wav", sweep(1.5, 300, 2000)),
        "fast": write_audio(d / "fast.wav", sweep(1.0, 300, 2000)),
    }
    stereo = np.stack([sweep(1.2, 300, 2000, sr=44100), sweep(1.2, 300, 2000, sr=44100)], 1)
    import soundfile as sf

    sf.write(d / "stereo44k.wav", stereo, 44100)
    files["stereo44k"] = d / "stereo44k.wav"
    files["silent"] = write_audio(d / "silent.wav", np.zeros(SAMPLE_RATE, np.float32))
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEthis is not audio" * 20)
    files["corrupt"] = d / "corrupt.wav"
    (d / "notes.txt").write_text("definitely not a sound")
    files["text"] = d / "notes.txt"
    (d / "noise.mp3").write_bytes(np.random.default_rng(0).bytes(20_000))  # not an MP3 at all
    files["random_mp3"] = d / "noise.mp3"
    return files


@pytest.fixture(scope="session")
def tiny_gloss_model(tmp_path_factory):
    """A random, tiny Langue2Gloss checkpoint (structure, not quality): the app's tests must
    not depend on which bundled checkpoint is current."""
    from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
    from bgtai.gloss.subwords import SubwordVocab
    from bgtai.gloss.translator import GlossTranslator

    vocab = SubwordVocab.train(["the children are playing", "child be play", "x-i want coffee"] * 5,
                               vocab_size=120)
    torch.manual_seed(0)
    model = Langue2Gloss(Langue2GlossConfig(vocab_size=len(vocab), d_model=32, n_heads=2,
                                            enc_layers=1, dec_layers=1, ff_dim=64,
                                            align_d_model=16))
    return GlossTranslator(model, vocab).save_pretrained(tmp_path_factory.mktemp("gloss"))


TINY_VOCAB = ["THREE", "DESC-LOUD", "DESC-HIGH", "WHISTLE", "BELL", "three", "loud", "whistles"]


@pytest.fixture(scope="session")
def tiny_joint_model(tmp_path_factory):
    """A random, tiny UniBriVL joint model (64 px images, as the world's)."""
    from bgtai.joint import JointConfig, JointModel

    torch.manual_seed(0)
    model = JointModel(JointConfig(vocab=TINY_VOCAB, dim=16, audio_width=16, audio_layers=1,
                                   text_width=16, text_layers=1, heads=2, image_widths=[8, 8, 8],
                                   dsnet_width=16))
    folder = tmp_path_factory.mktemp("joint")
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory, tiny_joint_model):
    """A random, tiny sound-to-image pipeline folder on the tiny joint model's space."""
    import json

    from bgtai.generate.mapping import EmbeddingMapper, MapperConfig
    from bgtai.generate.unet import DecoderConfig, ImageDecoder

    folder = tmp_path_factory.mktemp("generator")
    torch.manual_seed(0)
    ImageDecoder(DecoderConfig(embed_dim=16, block_out_channels=[16, 16], norm_num_groups=8,
                               default_steps=2)).save_pretrained(folder / "decoder")
    for name in ("audio_mapper", "gloss_mapper"):
        EmbeddingMapper(MapperConfig(in_dim=16, out_dim=16, hidden=16)).save_pretrained(folder / name)
    (folder / "pipeline.json").write_text(json.dumps(
        {"embedder": "joint", "joint": os.path.relpath(tiny_joint_model, folder)}))
    return folder


@pytest.fixture(scope="session")
def app_url(tiny_gloss_model, tiny_joint_model, tiny_generator):
    """The demo launched in this process on a free local port; closed after the session."""
    # tiny random models, so the app's tests do not depend on which checkpoints are current;
    # BGTAI_TEST_MODELS=bundled serves assets/ instead (the README's screenshots)
    if os.environ.get("BGTAI_TEST_MODELS") != "bundled":
        os.environ.setdefault("BGTAI_GLOSS_MODEL", str(tiny_gloss_model))
        os.environ.setdefault("BGTAI_JOINT_MODEL", str(tiny_joint_model))
        os.environ.setdefault("BGTAI_GENERATOR_MODEL", str(tiny_generator))
    from app import MAX_FILE_SIZE, build_demo

    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                            quiet=True, max_file_size=MAX_FILE_SIZE)
    yield url
    demo.close()


@pytest.fixture(scope="session")
def mini_sets(tmp_path_factory):
    """Real-format mini ESC-50, UrbanSound8K, VGGSound, AudioCaps, Clotho, How2 and ASLG-PC12
    (scripts/make_mini_datasets.py: Debian recordings and pictures, fetched with apt-get)."""
    import shutil

    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        pytest.skip("the mini data sets are built from Debian packages (apt-get, dpkg)")
    from scripts.make_mini_datasets import build

    return build(tmp_path_factory.mktemp("mini_sets"))
