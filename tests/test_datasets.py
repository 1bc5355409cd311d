"""Real data sets end to end on the mini sets (scripts/make_mini_datasets.py): official layouts,
folds and splits; every protocol of ``train.evaluate``; every trainer's ``--data`` path; the
pretrained projector's frame-embedding cache and its 2-process run."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from bgtai.data.adapters import (
    parse_data_spec,
    read_audiocaps,
    read_clotho,
    read_esc50,
    read_how2,
    read_urbansound8k,
    read_vggsound,
)
from bgtai.eval import fold_probe_accuracy, linear_probe_accuracy, map_at_k
from train.evaluate import main as evaluate

ROOT = Path(__file__).resolve().parents[1]
JOINT_TINY = ["--cpu", "--torch-threads", "1", "--eval-events", "0", "--vocab-captions", "50",
              "--warmup-steps", "1", "--real-seconds", "2"]
PRETRAINED = ["--profile", "pretrained", "--batch-size", "0", "--real-batch-size", "4",
              "--projector-width", "16", "--projector-layers", "1", "--epochs", "1"]


def _run(args: list[str], timeout: int = 400) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _train_joint(out: Path, *extra: str, launcher: tuple[str, ...] = (sys.executable,)):
    done = _run([*launcher, "-m", "train.train_joint", "--output-dir", str(out), *JOINT_TINY,
                 *extra])
    return done


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        image_size=32, patch_size=8, projection_dim=24)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_captioner(tmp_path_factory, tiny_joint_model):
    from bgtai.caption.model import AudioCaptioner, CaptionerConfig
    from bgtai.caption.words import caption_vocab
    from bgtai.joint.model import JointModel

    joint = JointModel.from_pretrained(tiny_joint_model)
    c = joint.config
    torch.manual_seed(0)
    model = AudioCaptioner.from_joint(joint, CaptionerConfig(
        vocab=caption_vocab(n=50), audio_width=c.audio_width, audio_layers=c.audio_layers,
        audio_dim=c.dim, d_model=32, n_heads=2, enc_layers=1, dec_layers=1, ff_dim=64))
    folder = tmp_path_factory.mktemp("captioner")
    model.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------- layouts, folds, splits
def test_mini_sets_are_in_the_official_layouts(mini_sets):
    esc = read_esc50(mini_sets / "ESC-50-master")
    assert len(esc) == 50 and {r.fold for r in esc} == {1, 2, 3, 4, 5}
    for r in esc:  # {fold}-{source}-{take}-{target}.wav, as the release names its clips
        assert r.path.name == f"{r.fold}-{r.src_file}-{r.take}-{r.target}.wav"
        assert sf.info(r.path).samplerate == 44100 and sf.info(r.path).duration == 5.0
    for src in {r.src_file for r in esc}:  # one source recording never spans two folds
        assert len({r.fold for r in esc if r.src_file == src}) == 1
    assert all({r.label for r in esc if r.fold == f} == {r.label for r in esc} for f in range(1, 6))

    us = read_urbansound8k(mini_sets / "UrbanSound8K")
    assert len(us) == 40 and {r.fold for r in us} == set(range(1, 11))
    assert all(r.path.parent.name == f"fold{r.fold}" for r in us)
    assert len({sf.info(r.path).samplerate for r in us}) > 1  # files keep their own rates

    index = (mini_sets / "VGGSound" / "vggsound.csv").read_text()
    assert not index.startswith("youtube_id") and '"bird chirping, tweeting"' in index
    vgg = read_vggsound(mini_sets / "VGGSound", require_frames=True)
    assert {r.split for r in vgg} == {"train", "test"} and len(vgg) == 32
    assert all(r.path.stem == f"{r.youtube_id}_{r.start:06d}" and r.frame_paths() for r in vgg)

    caps = {s: read_audiocaps(mini_sets / "AudioCaps", s) for s in ("train", "val", "test")}
    assert {len(r.captions) for r in caps["train"]} == {1}
    assert {len(r.captions) for s in ("val", "test") for r in caps[s]} == {5}
    clotho = read_clotho(mini_sets / "Clotho", "evaluation")
    assert {len(r.captions) for r in clotho} == {5} and all(", " in r.path.name for r in clotho)
    assert read_how2(mini_sets / "how2", "devtest")
    with (mini_sets / "SOURCES.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert all(row["licence"] for row in rows) and (mini_sets / "licences").is_dir()
    assert not {row["package"] for row in rows} & {"scratch", "sound-theme-freedesktop"}


def test_fold_probe_holds_each_official_fold_out():
    # every clip has a twin in its own fold: shuffled k-fold leaks the twin into training
    # and looks perfect, the official folds cannot (random features, random labels)
    rng = np.random.default_rng(0)
    x = np.repeat(rng.normal(size=(60, 200)), 2, axis=0)
    y = np.repeat(rng.integers(0, 3, 60), 2)
    folds = np.repeat(np.arange(60) % 5 + 1, 2)
    per_fold = fold_probe_accuracy(x, y, folds)
    assert sorted(per_fold) == [1, 2, 3, 4, 5]
    assert np.mean(list(per_fold.values())) < 0.6 < 0.85 < linear_probe_accuracy(x, y, k=5)


def test_map_at_10_counts_every_relevant_item():
    q = np.eye(3)
    gallery = np.array([[0.9, 0.1, 0], [0.8, 0.0, 0.2], [0.0, 1.0, 0.0], [0.1, 0, 0.9]])
    relevant = np.array([[True, False, False, True], [False, False, True, False],
                         [False, True, False, True]])
    # q0 finds 0 (rank 1) and 3 (rank 3): (1 + 2/3) / 2; q1 finds 2 at rank 1;
    # q2 finds 3 (rank 1) and 1 (rank 2): (1 + 1) / 2
    assert map_at_k(q, gallery, 10, targets=relevant) == pytest.approx((5 / 6 + 1 + 1) / 3)
    assert map_at_k(q, gallery, 1, targets=relevant) == pytest.approx(1.0)


# ------------------------------------------------------------------------------- protocols
def test_classification_protocols_use_the_official_folds(mini_sets, tiny_joint_model, tmp_path):
    for task, folder, n, folds in (("esc50", "ESC-50-master", 50, 5),
                                   ("urbansound8k", "UrbanSound8K", 40, 10)):
        out = tmp_path / f"{task}.json"
        m = evaluate([task, "--root", str(mini_sets / folder), "--joint", str(tiny_joint_model),
                      "--json", str(out)])
        assert m["n_clips"] == n and m["n_unreadable"] == 0 and m["n_folds"] == folds
        assert sorted(k for k in m if k.startswith("linear_probe_acc_fold")) == sorted(
            f"linear_probe_acc_fold{f}" for f in range(1, folds + 1))
        assert 0 <= m["zero_shot_acc"] <= 1 and 0 <= m["linear_probe_acc"] <= 1
        assert json.loads(out.read_text()) == pytest.approx(m)
        assert "BGTAI, paper Table 2" in out.with_suffix(".md").read_text()
    # the runs' JSON files laid out as the paper's tables, missing sets as "-"
    esc, us = (json.loads((tmp_path / f"{t}.json").read_text()) for t in ("esc50", "urbansound8k"))
    t = evaluate(["paper-tables", "--results", str(tmp_path)])
    assert t["n_sets"] == 2 and t["esc50_zero_shot_acc"] == esc["zero_shot_acc"]
    tables = (tmp_path / "paper_tables.md").read_text()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in tables.splitlines()]
    rows = {c[0]: c[1:] for c in cells if c[0].startswith("this run")}
    (lp,) = (v for k, v in rows.items() if k.startswith("this run (esc50 50, urbansound8k 40"))
    assert lp == [f"{esc['linear_probe_acc']:.4f}", f"{us['linear_probe_acc']:.4f}", "-", "-"]
    assert rows["this run (ZS)"][:2] == [f"{esc['zero_shot_acc']:.4f}",
                                         f"{us['zero_shot_acc']:.4f}"]
    assert rows["this run"] == ["-"] * 5  # Table 3: no Clotho run
    (t5,) = (v for k, v in rows.items() if k == "this run (esc50 50 clips)")
    assert t5 == ["-"] * 4 + [f"{100 * esc['zero_shot_acc']:.1f}"]
    assert "| BGTAI (paper) | 0.9455 | 0.8911 | 0.0622 | 0.0745 |" in tables
    with pytest.raises(SystemExit, match="no protocol results"):
        evaluate(["paper-tables", "--results", str(tmp_path / "none")])


def test_an_unreadable_clip_is_counted_not_fatal(mini_sets, tiny_joint_model, tmp_path, capsys):
    root = shutil.copytree(mini_sets / "ESC-50-master", tmp_path / "esc")
    broken = sorted((root / "audio").iterdir())[3]
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio" * 10)
    m = evaluate(["esc50", "--root", str(root), "--joint", str(tiny_joint_model)])
    assert m["n_unreadable"] == 1 and m["n_clips"] == 49
    assert broken.name in capsys.readouterr().err


def test_caption_protocols_score_the_test_splits(mini_sets, tiny_joint_model, tiny_captioner):
    for task, folder, split in (("audiocaps", "AudioCaps", "test"),
                                ("clotho", "Clotho", "evaluation")):
        m = evaluate([task, "--root", str(mini_sets / folder), "--joint", str(tiny_joint_model),
                      "--captioner", str(tiny_captioner), "--no-meteor"])
        reader = read_audiocaps if task == "audiocaps" else read_clotho
        clips = reader(mini_sets / folder, split)
        assert m["n_clips"] == len(clips) and m["n_captions"] == 5 * len(clips)
        for d in ("text_to_audio", "audio_to_text"):
            assert all(0 <= m[f"{d}_{k}"] <= 1 for k in ("r1", "r5", "r10", "mrr", "map10"))
        # each caption has one clip: its AP@10 is its reciprocal rank cut at 10
        assert m["text_to_audio_map10"] <= m["text_to_audio_mrr"] + 1e-9
        assert {"caption_bleu1", "caption_bleu4", "caption_rouge_l", "caption_cider_d"} <= set(m)


def test_vggsound_protocol_with_joint_and_projector(mini_sets, tiny_joint_model, tiny_clip,
                                                    tmp_path):
    from bgtai.joint.pretrained import ClipAudioConfig, ClipAudioProjector

    n_test = len(read_vggsound(mini_sets / "VGGSound", "test"))
    m = evaluate(["vggsound", "--root", str(mini_sets / "VGGSound"), "--joint",
                  str(tiny_joint_model)])
    assert m["n_clips"] == n_test and 0 < m["audio_to_image_mrr"] <= 1
    torch.manual_seed(0)
    ClipAudioProjector(ClipAudioConfig(str(tiny_clip), dim=24, width=16, layers=1)
                       ).save_pretrained(tmp_path / "projector")
    m = evaluate(["vggsound", "--root", str(mini_sets / "VGGSound"), "--projector",
                  str(tmp_path / "projector")])
    assert m["n_clips"] == n_test and 0 < m["image_to_audio_mrr"] <= 1


def test_text_protocols_score_how2_devtest_and_aslg(mini_sets, tiny_gloss_model, tmp_path):
    from bgtai.data.adapters import read_aslg_tsv

    for task, root, n in (("how2", mini_sets / "how2", len(read_how2(mini_sets / "how2",
                                                                      "devtest"))),
                          ("aslg", mini_sets / "aslg_pc12.tsv",
                           len(read_aslg_tsv(mini_sets / "aslg_pc12.tsv")))):
        out = tmp_path / f"{task}.json"
        m = evaluate([task, "--root", str(root), "--model", str(tiny_gloss_model),
                      "--json", str(out)])
        assert m["n_pairs"] + m["n_unreadable"] == n and n > 1
        assert all(0 <= m[k] <= 100 + 1e-9 for k in ("model_bleu4", "rules_bleu4"))
        assert "model_bleu4" in out.with_suffix(".md").read_text()


# -------------------------------------------------------------------------------- trainers
def test_data_specs_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        parse_data_spec(f"nope:{tmp_path}")
    with pytest.raises(ValueError, match="no such folder"):
        parse_data_spec(f"vggsound:{tmp_path / 'missing'}")
    from train.train_gloss import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--output-dir", str(tmp_path), "--data", f"vggsound:{tmp_path}"])


def test_pair_losses_use_only_clips_with_pictures(tiny_joint_model):
    from bgtai.joint.model import JointModel

    model = JointModel.from_pretrained(tiny_joint_model)
    ids = model.vocab.batch(["three loud whistles"] * 4, "gloss")[0]
    batch = {"audio": torch.randn(4, 16000) * 0.1, "group": torch.tensor([0, 0, 1, 2]),
             "has_image": torch.tensor([True, True, False, False]),
             "image": torch.randint(0, 255, (4, 3, 64, 64), dtype=torch.uint8),
             "gloss_ids": ids, "text_ids": ids}
    losses = model(pairs=batch)
    assert {"real_audio_image", "real_audio_gloss", "real_audio_text"} <= set(losses)
    batch["has_image"] = torch.tensor([True, False, False, False])
    assert "real_audio_image" not in model(pairs=batch)


def test_a_corrupt_training_clip_is_named(mini_sets, tmp_path):
    from bgtai.joint.real_data import RealPairs

    root = shutil.copytree(mini_sets / "VGGSound", tmp_path / "vgg")
    records = read_vggsound(root, "train")
    records[0].path.write_bytes(b"not audio at all" * 50)
    items = RealPairs(records, seconds=1.0)
    assert items[1]["audio"].shape == (16000,) and items[1]["has_image"]
    with pytest.raises(ValueError, match=records[0].path.name):
        items[0]


def test_joint_trainer_takes_every_audio_set(mini_sets, tmp_path):
    out = tmp_path / "joint"
    data = [f"--data={n}:{mini_sets / f}" for n, f in (
        ("vggsound", "VGGSound"), ("audiocaps", "AudioCaps"), ("clotho", "Clotho"),
        ("esc50", "ESC-50-master"), ("urbansound8k", "UrbanSound8K"))]
    done = _train_joint(out, "--n-events", "8", "--batch-size", "4", "--clip-batch-size", "1",
                        "--duration", "1", "--real-batch-size", "6", "--max-steps", "2",
                        "--num-workers", "1", *data)
    assert done.returncode == 0, done.stderr[-3000:]
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all("loss/real_audio_text" in step for step in log)
    assert (out / "model" / "model.safetensors").is_file()


def test_stopped_and_resumed_run_on_a_real_set_matches_uninterrupted(mini_sets, tiny_clip,
                                                                    tmp_path):
    """The real loader's shuffle and the optimizer resume where a run stopped mid-epoch."""
    common = [*PRETRAINED, "--clip-model", str(tiny_clip), "--feature-cache", str(tmp_path),
              "--data", f"vggsound:{mini_sets / 'VGGSound'}", "--epochs", "2"]
    assert _train_joint(tmp_path / "full", *common).returncode == 0
    done = _train_joint(tmp_path / "part", *common, "--stop-at-step", "4")
    assert done.returncode == 0 and not (tmp_path / "part" / "model").exists()
    done = _train_joint(tmp_path / "part", *common, "--resume")
    assert done.returncode == 0, done.stderr[-3000:]
    full, part = (load_file(tmp_path / d / "model" / "model.safetensors") for d in ("full", "part"))
    assert full.keys() == part.keys()
    for name in full:
        torch.testing.assert_close(part[name], full[name], atol=1e-5, rtol=1e-4, msg=name)
    steps = [json.loads(line)["step"]
             for line in (tmp_path / "part" / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))  # 24 clips, 4 a step, 2 epochs; stopped inside epoch 1


def test_pretrained_profile_caches_clip_frame_embeddings(mini_sets, tiny_clip, tmp_path):
    cache = tmp_path / "cache"
    common = [*PRETRAINED, "--clip-model", str(tiny_clip), "--feature-cache", str(cache),
              "--data", f"vggsound:{mini_sets / 'VGGSound'}"]
    done = _train_joint(tmp_path / "a", *common)
    assert done.returncode == 0, done.stderr[-3000:]
    (cached,) = cache.iterdir()
    stamp = cached.stat().st_mtime_ns
    n_train = len(read_vggsound(mini_sets / "VGGSound", "train"))
    assert load_file(cached)["embeds"].shape == (n_train, 24)
    done = _train_joint(tmp_path / "b", *common)  # a second run reads the cache
    assert done.returncode == 0 and [p.stat().st_mtime_ns for p in cache.iterdir()] == [stamp]
    done = _train_joint(tmp_path / "c", *PRETRAINED, "--clip-model", str(tiny_clip),
                        "--data", f"audiocaps:{mini_sets / 'AudioCaps'}")
    assert done.returncode != 0 and "only vggsound has pictures, got audiocaps" in done.stderr


@pytest.mark.slow
def test_projector_on_two_processes_equals_one_with_the_doubled_batch(mini_sets, tiny_clip,
                                                                      tmp_path):
    """Two processes with 4 clips each train the projector as one process with 8: the InfoNCE
    loss gathers every process's clips as negatives and batch norm uses the whole step's
    statistics (bgtai.joint.distributed), so parameters *and* running statistics agree. A whole
    epoch, so that both runs size the schedule alike (Accelerate steps it once per process;
    ``--max-steps`` caps it in optimizer steps)."""
    common = [*PRETRAINED, "--clip-model", str(tiny_clip), "--feature-cache", str(tmp_path),
              "--data", f"vggsound:{mini_sets / 'VGGSound'}", "--param-hash"]
    done = _train_joint(tmp_path / "ddp", *common, launcher=(
        "accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no"))
    assert done.returncode == 0, done.stderr[-3000:]
    done = _train_joint(tmp_path / "one", *common, "--real-batch-size", "8")
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [(tmp_path / "ddp" / f"param_hash_rank{r}.txt").read_text() for r in (0, 1)]
    assert ranks[0] == ranks[1]
    two, one = (load_file(tmp_path / d / "model" / "model.safetensors") for d in ("ddp", "one"))
    steps = len((tmp_path / "one" / "train_log.jsonl").read_text().splitlines())
    assert steps == 3 and two.keys() == one.keys()  # 24 train clips, 8 a step
    assert sum(name.endswith("running_var") for name in two) >= 3
    # Not compared: the biases of the convolutions that feed batch norm, whose gradient is zero
    # up to rounding (the norm removes them) and which AdamW still moves by full-size steps of
    # that rounding noise (different sums, different noise), and the running means that carry
    # those biases along. Every other parameter and buffer must agree.
    noise = re.compile(r"audio\.(stem\.[03]\.bias|stem\.[14]\.running_mean|"
                       r"blocks\.\d+\.(conv\.bias|norm\.running_mean))$")
    kept = [name for name in two if not noise.match(name)]
    assert len(two) - len(kept) == 4 + 2 * sum(".conv.bias" in name for name in two)
    for name in kept:
        torch.testing.assert_close(two[name], one[name], atol=2e-5, rtol=1e-4)


def test_caption_trainer_takes_captioned_and_labelled_sets(mini_sets, tiny_joint_model, tmp_path):
    from train.train_caption import main

    data = [("audiocaps", "AudioCaps"), ("clotho", "Clotho"), ("urbansound8k", "UrbanSound8K")]
    m = main(["--output-dir", str(tmp_path), "--joint", str(tiny_joint_model), "--cpu",
              "--torch-threads", "1", "--n-clips", "0", "--n-events", "0", "--n-val", "2",
              "--batch-size", "8", "--references", "2", "--d-model", "32", "--heads", "2",
              "--ff-dim", "64", "--enc-layers", "1", "--dec-layers", "1", "--warmup-steps", "1",
              "--epochs", "1", "--max-steps", "2", "--num-workers", "1",
              *(f"--data={n}:{mini_sets / f}" for n, f in data)])
    expected = (len(read_audiocaps(mini_sets / "AudioCaps", "train"))
                + len(read_clotho(mini_sets / "Clotho", "development"))
                + len(read_urbansound8k(mini_sets / "UrbanSound8K")))
    assert m["n_real_clips"] == expected and m["steps"] == 2
    (cache,) = (tmp_path / "cache").glob("caption-features-*")  # the default --feature-cache
    assert sum(1 for _ in cache.glob("shard-*.safetensors")) >= 1


def test_real_caption_features_are_cached_once_and_read_from_disk(
        mini_sets, tiny_captioner, tmp_path, monkeypatch):
    from bgtai.caption import data
    from bgtai.caption.model import AudioCaptioner

    model = AudioCaptioner.from_pretrained(tiny_captioner).eval()
    records = read_clotho(mini_sets / "Clotho", "development")
    monkeypatch.setattr(data, "SHARD_CLIPS", 3)  # several shards, the last one short
    items = data.RecordCaptionItems(model, records, tmp_path, max_seconds=2.0)
    assert len(items) == len(records) and len(list(items.folder.glob("shard-*"))) == math.ceil(
        len(records) / 3)
    for i, record in enumerate(records):
        (truth,) = data.frozen_features(
            model, [torch.from_numpy(record.load(max_seconds=600.0)[:32000].copy())])
        torch.testing.assert_close(items[i]["frames"], truth["frames"])
        torch.testing.assert_close(items[i]["clip"], truth["clip"])
        assert items[i]["gloss_ids"].shape[0] == len(items.references[i])

    def no_encoder(*_):
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(data, "frozen_features", no_encoder)
    again = data.RecordCaptionItems(model, records, tmp_path, max_seconds=2.0)
    assert again.folder == items.folder
    torch.testing.assert_close(again[len(records) - 1]["frames"], items[len(records) - 1]["frames"])
    with pytest.raises(AssertionError, match="cache"):  # other clip lengths: another cache
        data.RecordCaptionItems(model, records, tmp_path, max_seconds=1.0)
    monkeypatch.undo()
    root = shutil.copytree(mini_sets / "Clotho", tmp_path / "clotho")
    broken = read_clotho(root, "development")
    broken[2].path.write_bytes(b"not audio at all" * 50)
    with pytest.raises(ValueError, match=re.escape(broken[2].path.name)):
        data.RecordCaptionItems(model, broken, tmp_path / "c2", max_seconds=2.0)
    assert not any((tmp_path / "c2").iterdir())  # no half-written cache left behind


def test_gloss_trainer_takes_aslg_and_how2(mini_sets, tmp_path):
    from bgtai.data.adapters import read_aslg_tsv
    from train import train_gloss

    tiny = ["--max-pairs", "16", "--eval-pairs", "4", "--speech-pairs", "0", "--batch-size", "8",
            "--epochs", "1", "--max-steps", "2", "--d-model", "32", "--heads", "2", "--ff-dim",
            "64", "--enc-layers", "1", "--dec-layers", "1", "--vocab-size", "200", "--n-world",
            "100", "--warmup-steps", "1", "--cpu"]
    m = train_gloss.main(["--output-dir", str(tmp_path), *tiny,
                          "--data", f"aslg:{mini_sets / 'aslg_pc12.tsv'}",
                          "--data", f"how2:{mini_sets / 'how2'}"])
    n_real = (len(read_aslg_tsv(mini_sets / "aslg_pc12.tsv"))
              + len(read_how2(mini_sets / "how2", "train")))
    assert m["n_train_pairs"] == 16 + n_real
