"""What every BGTAI trainer shares: arguments, the Accelerator, resume and progress bars.

Each trainer is ``main(argv) -> dict`` so tests can call it in-process on tiny settings, and
``accelerate launch train/train_X.py ...`` runs the same code on one or many GPUs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration, set_seed
from tqdm.auto import tqdm


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options all trainers take."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--output-dir", type=Path, required=True,
                   help="run folder: checkpoints/, logs/, the final model and metrics.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many optimizer steps in total (smoke tests)")
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint in --output-dir")
    p.add_argument("--stop-at-step", type=int, default=None,
                   help="save the state and exit after this many steps, as if interrupted "
                        "(the schedule still follows --epochs / --max-steps)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU is present")
    p.add_argument("--num-workers", type=int, default=0, help="data loader worker processes")
    return p


@dataclass
class Progress:
    """Where training stands; saved with every checkpoint so a resumed run continues exactly."""

    epoch: int = 0
    step: int = 0  # optimizer steps done in total
    batch_in_epoch: int = 0  # batches consumed in the current epoch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.batch_in_epoch = int(state["batch_in_epoch"])


def make_accelerator(args: argparse.Namespace, project: str, *,
                     find_unused_parameters: bool = False) -> tuple[Accelerator, Progress]:
    """The run's Accelerator (TensorBoard logs, numbered checkpoints) and its progress record.

    ``find_unused_parameters`` is for models whose steps use different parts (text-only
    steps leave the speech pre-net idle), which DDP must be told about.

    With ``--resume`` the newest checkpoint in ``output_dir/checkpoints`` is loaded: model,
    optimizer, scheduler, RNG states and the :class:`Progress` (call after ``prepare``; see
    :func:`resume`).
    """
    args.output_dir.mkdir(parents=True, exist_ok=True)
    config = ProjectConfiguration(project_dir=str(args.output_dir), logging_dir=str(args.output_dir / "logs"),
                                  automatic_checkpoint_naming=True, total_limit=2)
    accelerator = Accelerator(mixed_precision=args.mixed_precision, cpu=args.cpu,
                              gradient_accumulation_steps=args.grad_accum,
                              log_with="tensorboard", project_config=config,
                              kwargs_handlers=[DistributedDataParallelKwargs(
                                  find_unused_parameters=find_unused_parameters)])
    set_seed(args.seed, device_specific=True)
    progress = Progress()
    accelerator.register_for_checkpointing(progress)
    hparams = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
               if isinstance(v, (int, float, str, bool, Path))}
    accelerator.init_trackers(project, config=hparams)
    return accelerator, progress


def resume(accelerator: Accelerator, args: argparse.Namespace) -> bool:
    """Load the newest checkpoint when ``--resume`` is given and one exists."""
    folder = args.output_dir / "checkpoints"
    if not args.resume or not folder.is_dir():
        return False
    found = sorted(folder.glob("checkpoint_*"), key=lambda p: int(p.name.split("_")[-1]))
    if not found:
        return False
    accelerator.load_state(str(found[-1]))
    # the next automatic checkpoint must get a new number, not overwrite the loaded one
    accelerator.project_configuration.iteration = int(found[-1].name.split("_")[-1]) + 1
    accelerator.print(f"resumed from {found[-1]}")
    return True


def bar(accelerator: Accelerator, total: int, desc: str, initial: int = 0) -> tqdm:
    """A tqdm bar shown on the main process only."""
    return tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True,
                disable=not accelerator.is_local_main_process)


def write_metrics(path: Path, metrics: dict) -> None:
    """Write a flat metrics dict as pretty JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
