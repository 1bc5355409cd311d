"""What every BGTAI trainer shares: arguments, the Accelerator, resume, the training loop.

Each trainer is ``main(argv) -> dict`` so tests can call it in-process on tiny settings, and
``accelerate launch train/train_X.py ...`` runs the same code on one or many GPUs.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration, set_seed
from torch.utils.data import Sampler
from tqdm.auto import tqdm


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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
    p.add_argument("--checkpointing-steps", type=positive_int, default=None,
                   help="also save the training state every N optimizer steps (besides each "
                        "epoch's end), so that --resume loses at most N steps")
    p.add_argument("--stop-at-step", type=int, default=None,
                   help="save the state and exit after this many steps, as if interrupted "
                        "(the schedule still follows --epochs / --max-steps)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU is present")
    p.add_argument("--num-workers", type=int, default=0, help="data loader worker processes")
    return p


def data_argument(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """Add the repeatable ``--data NAME:FOLDER`` option, limited to the data sets ``names``
    (:mod:`bgtai.data.adapters.catalog`); ``args.data`` is a list of ``DataSpec``."""
    from bgtai.data.adapters.catalog import parse_data_spec

    def spec(text: str):
        try:
            parsed = parse_data_spec(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        if parsed.name not in names:
            raise argparse.ArgumentTypeError(f"this trainer takes {', '.join(names)}; "
                                             f"got {parsed.name}")
        return parsed

    parser.add_argument("--data", type=spec, action="append", default=[], metavar="NAME:FOLDER",
                        help=f"train on a real data set too (repeatable): {', '.join(names)}")


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


class EpochShuffle(Sampler):
    """A permutation that depends only on (seed, epoch), so a resumed run sees the same order.

    Loaders using it call ``set_epoch`` at each epoch; Accelerate forwards the call to every
    process's shard.
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())


class StepBudget:
    """A run's length in optimizer steps, optionally cut to fit a wall-clock budget.

    With ``minutes``, the step rate is measured over the first ``probe`` steps of this invocation
    (timed from the end of the first one, which carries one-off costs such as CUDA warm-up) and
    ``total`` is lowered to what fits in the rest of the budget, so that a
    :func:`warmup_cosine` schedule reading it still ends where training does. The chosen total is
    recorded in the run's metrics; ``--max-steps`` with it replays the run without a clock.
    """

    def __init__(self, total: int, minutes: float | None = None, probe: int = 50):
        self.total, self.minutes, self.probe = total, minutes, max(2, probe)
        self._start: tuple[float, int] | None = None
        self._first: float | None = None  # when the first step of this invocation ended

    def start(self, step: int) -> None:
        """Start the clock at optimizer step ``step`` (0, or where a resumed run goes on)."""
        self._start, self._first = (time.monotonic(), step), None

    def observe(self, step: int) -> bool:
        """Call after each optimizer step; True at the step where ``total`` was fitted (the same
        step in every process: take the minimum across processes then)."""
        if self.minutes is None or self._start is None:
            return False
        began, first_step = self._start
        if step == first_step + 1:
            self._first = time.monotonic()
        if step != first_step + self.probe or self._first is None:
            return False
        now = time.monotonic()
        rate = (self.probe - 1) / max(now - self._first, 1e-9)
        fit = step + int((self.minutes * 60.0 - (now - began)) * rate)
        self.total = max(step, min(self.total, fit))
        return True


def warmup_cosine(optimizer: torch.optim.Optimizer, total: int | StepBudget, warmup: int):
    """Linear warm-up over ``min(warmup, total / 10)`` steps, then cosine decay to 5% of the
    peak learning rate at step ``total`` (read at every step when a :class:`StepBudget`)."""
    budget = total if isinstance(total, StepBudget) else StepBudget(total)
    warmup = min(warmup, max(1, budget.total // 10))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(
        (s + 1) / warmup,
        0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, budget.total))))))


def optimizer_step(accelerator: Accelerator, model, optimizer, scheduler, loss: torch.Tensor,
                   max_grad_norm: float = 1.0) -> None:
    """Backward, clip (when gradients are synchronised), step, schedule, zero the gradients.

    Call inside ``accelerator.accumulate(model)``; with gradient accumulation the optimizer
    and scheduler wrappers only act on the synchronising micro-batch.
    """
    accelerator.backward(loss)
    if accelerator.sync_gradients:
        accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def record_step(accelerator: Accelerator, progress: Progress, pbar: tqdm,
                losses: dict[str, torch.Tensor], scheduler) -> dict[str, float] | None:
    """Book-keeping after each batch: count it, and after a full optimizer step log the losses
    and the learning rate and advance the bar. Returns the logged values, or ``None`` while
    gradients are still being accumulated."""
    progress.batch_in_epoch += 1
    if not accelerator.sync_gradients:
        return None
    progress.step += 1
    # one host sync for all losses (each .item() would wait for the device on its own)
    values = torch.stack([v.detach().float() for v in losses.values()]).tolist()
    logs = {f"loss/{k}": v for k, v in zip(losses, values)}
    logs["lr"] = scheduler.get_last_lr()[0]
    accelerator.log(logs, step=progress.step)
    pbar.update(1)
    pbar.set_postfix(loss=f"{logs['loss/loss']:.4f}")
    return logs


def loader_epochs(accelerator: Accelerator, *loaders) -> Callable[[int, int], Iterable]:
    """``epoch_batches`` for :func:`train_loop` over prepared loaders with :class:`EpochShuffle`
    samplers: each epoch's order, the first ``skip`` batches left out, one tuple of batches
    (one per loader) per step, for as long as the shortest loader lasts."""

    def batches(epoch: int, skip: int) -> Iterable:
        for loader in loaders:  # before skip_first_batches, which reads the sampler's state
            loader.set_epoch(epoch)
        return zip(*(accelerator.skip_first_batches(x, skip) if skip else x for x in loaders))

    return batches


def train_loop(accelerator: Accelerator, args: argparse.Namespace, progress: Progress, *,
               model, optimizer, scheduler, epoch_batches: Callable[[int, int], Iterable],
               epoch_length: int, step_fn: Callable, total: int | StepBudget, desc: str,
               after_step: Callable[[dict], None] | None = None,
               after_epoch: Callable[[], None] | None = None) -> bool:
    """The loop every trainer runs, written once.

    Epochs of micro-batches under ``accelerator.accumulate``, continuing from ``progress`` (a
    resumed run skips the batches its epoch already used), until ``args.epochs`` or ``total``
    optimizer steps. The training state is saved at each epoch's end, every
    ``args.checkpointing_steps`` steps within an epoch, and at ``args.stop_at_step``.

    Parameters
    ----------
    epoch_batches : callable
        ``(epoch, skip) ->`` the batches of ``epoch`` after its first ``skip``
        (:func:`loader_epochs` for plain loaders).
    epoch_length : int
        Batches in a full epoch.
    step_fn : callable
        ``batch ->`` dict of loss tensors with ``"loss"``, the one that is optimised.
    total : int or StepBudget
        Optimizer steps of the whole run (a :class:`StepBudget` may lower it on the way).
    after_step : callable, optional
        Called with the logged values after each optimizer step.
    after_epoch : callable, optional
        Called after each epoch, before its checkpoint (validation, logs).

    Returns
    -------
    bool
        ``False`` when stopped at ``--stop-at-step`` (state saved, trackers ended), else
        ``True``.
    """
    budget = total if isinstance(total, StepBudget) else StepBudget(total)
    every = args.checkpointing_steps
    pbar = bar(accelerator, budget.total, desc, initial=progress.step)
    model.train()
    while progress.epoch < args.epochs and progress.step < budget.total:
        for batch in epoch_batches(progress.epoch, progress.batch_in_epoch):
            with accelerator.accumulate(model):
                losses = step_fn(batch)
                optimizer_step(accelerator, model, optimizer, scheduler, losses["loss"])
            logs = record_step(accelerator, progress, pbar, losses, scheduler)
            if logs is None:
                continue
            if after_step is not None:
                after_step(logs)
                pbar.total = budget.total
            if progress.step >= budget.total or progress.step == args.stop_at_step:
                break
            if every and progress.step % every == 0 and progress.batch_in_epoch < epoch_length:
                accelerator.save_state()  # (the epoch's end saves anyway)
        if progress.batch_in_epoch >= epoch_length:  # the epoch ran to its end
            progress.epoch, progress.batch_in_epoch = progress.epoch + 1, 0
        if progress.step == args.stop_at_step and progress.step < budget.total:
            accelerator.save_state()
            pbar.close()
            accelerator.end_training()
            return False
        if after_epoch is not None:
            after_epoch()
        accelerator.save_state()
    pbar.close()
    return True
