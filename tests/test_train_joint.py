"""The joint trainer: resume gives the same model, two gloo processes stay identical."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--cpu", "--torch-threads", "1", "--n-events", "8", "--batch-size", "4",
        "--clip-batch-size", "1", "--duration", "5", "--eval-events", "0",
        "--vocab-captions", "50", "--warmup-steps", "1", "--lr", "3e-3"]


def _run(args: list[str], timeout: int = 300) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def _train(out: Path, *extra: str) -> None:
    _run([sys.executable, "-m", "train.train_joint", "--output-dir", str(out), *TINY, *extra])


def test_stopped_and_resumed_run_matches_uninterrupted(tmp_path):
    _train(tmp_path / "full", "--epochs", "2")
    _train(tmp_path / "part", "--epochs", "2", "--stop-at-step", "2")
    assert not (tmp_path / "part" / "model").exists()
    _train(tmp_path / "part", "--epochs", "2", "--resume")
    full = load_file(tmp_path / "full" / "model" / "model.safetensors")
    part = load_file(tmp_path / "part" / "model" / "model.safetensors")
    assert full.keys() == part.keys()
    for key in full:
        torch.testing.assert_close(part[key], full[key], atol=1e-5, rtol=1e-4, msg=key)
    steps = [json.loads(line)["step"]
             for line in (tmp_path / "part" / "train_log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # the resumed run continued where it stopped


def test_two_gloo_processes_keep_identical_parameters(tmp_path):
    out = tmp_path / "ddp"
    # 8 events, 4 per process: one batch per process and epoch, seen again every epoch, so
    # the loss must fall within a few steps
    # `accelerate launch --cpu --num_processes 2` starts ONE process (accelerate 1.x spawns
    # several CPU processes only through mpirun); `--multi_gpu` makes it use torchrun, and the
    # trainer's own `--cpu` then gives Accelerate's MULTI_CPU mode with the gloo backend.
    _run(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
          "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "train.train_joint",
          "--output-dir", str(out), *TINY, "--epochs", "6", "--param-hash"], timeout=600)
    log = (out / "train_log.jsonl").read_text().splitlines()
    hashes = [(out / f"param_hash_rank{r}.txt").read_text().strip() for r in (0, 1)]
    assert hashes[0] == hashes[1]
    losses = [json.loads(line)["loss/loss"] for line in log]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    assert sum(losses[-2:]) < sum(losses[:2])


def test_cli_rejects_no_batches(tmp_path):
    from train.train_joint import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--output-dir", str(tmp_path), "--batch-size", "0", "--clip-batch-size", "0"])


def test_compile_pads_batches_to_fixed_multiples(tmp_path, capsys):
    from bgtai.joint.tokens import world_vocab
    from train.train_joint import STATIC_MULTIPLES, build_loaders, parse_args

    args = parse_args(["--output-dir", str(tmp_path), *TINY, "--no-cache", "--compile"])
    assert args.compile == "default"
    events, clips, _ = build_loaders(args, world_vocab(0, 50))
    for batch in (next(iter(events)), next(iter(clips))):
        for key, multiple in STATIC_MULTIPLES.items():
            if key in batch:
                assert batch[key].shape[1] % multiple == 0, key
    with pytest.raises(SystemExit):
        parse_args(["--output-dir", str(tmp_path), "--profile", "pretrained", "--compile"])
    with pytest.raises(SystemExit):
        parse_args(["--output-dir", str(tmp_path), "--compile", "fastest"])
    capsys.readouterr()


def test_step_benchmark_reports_its_settings(tmp_path, capsys):
    from benchmarks.joint_train import main

    out = main(["--events", "4", "--clips", "1", "--steps", "1", "--warmup", "1",
                "--threads", "1", "--device", "cpu", "--json", str(tmp_path / "b.json")])
    capsys.readouterr()
    assert json.loads((tmp_path / "b.json").read_text()) == out
    assert out["compile"] is None and out["fused_adamw"] is False
    assert out["first_step_s"] > 0 and out["events_per_s"] == pytest.approx(
        4 / out["seconds_per_step"])
    with pytest.raises(SystemExit):
        main(["--warmup", "0"])
