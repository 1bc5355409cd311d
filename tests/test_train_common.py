"""The training loop written once in train/common.py: step checkpoints and resume from them."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from train.train_classifier import main

TINY = ["--n-train", "48", "--n-eval", "16", "--epochs", "2", "--batch-size", "8",
        "--num-workers", "0", "--cpu"]  # 6 steps per epoch, 12 in all


def _checkpoints(run) -> list:
    return sorted((run / "checkpoints").glob("checkpoint_*"),
                  key=lambda p: int(p.name.split("_")[-1]))


def test_resume_from_a_step_checkpoint_matches_the_uninterrupted_run(tmp_path):
    main(["--output-dir", str(tmp_path / "full"), *TINY])
    main(["--output-dir", str(tmp_path / "steps"), *TINY, "--checkpointing-steps", "4"])
    # saved at steps 4, 6 (epoch end), 8 and 12 (epoch end); the newest two are kept
    kept = _checkpoints(tmp_path / "steps")
    assert [p.name for p in kept] == ["checkpoint_2", "checkpoint_3"]
    # as if the run had died after step 8, in the middle of the second epoch
    shutil.rmtree(kept[-1])
    at_step_8 = load_file(kept[0] / "model.safetensors")
    main(["--output-dir", str(tmp_path / "steps"), *TINY, "--checkpointing-steps", "4", "--resume"])
    full = load_file(_checkpoints(tmp_path / "full")[-1] / "model.safetensors")
    resumed = load_file(_checkpoints(tmp_path / "steps")[-1] / "model.safetensors")
    assert full.keys() == resumed.keys()
    assert any(not torch.equal(at_step_8[k], full[k]) for k in full)  # 4 steps were left to do
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], msg=key)


def test_checkpointing_steps_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        main(["--output-dir", str(tmp_path), *TINY, "--checkpointing-steps", "0"])
