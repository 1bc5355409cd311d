"""Train the world-image class reader (:class:`bgtai.readers.classifier.WorldClassifier`).

A tiny CNN and a few thousand 64x64 images: a couple of minutes on a CPU. Images come from the
world's train split (content cells disjoint from val/test, see :mod:`bgtai.data.world`);
augmentation (random Gaussian blur, pixel noise, horizontal flips) makes the reader hold up on
the softer images a generator produces. The epoch best on val is kept and scored on test;
``DIR/model`` gets the checkpoint with its ``metrics.json`` and card (copy it to
``assets/world_classifier`` to replace the bundled one)::

    python -m train.train_classifier --output-dir runs/classifier
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from bgtai.data.world import WorldDataset
from bgtai.readers.classifier import WorldClassifier, WorldClassifierConfig
from train.common import (
    EpochShuffle,
    base_parser,
    loader_epochs,
    make_accelerator,
    positive_int,
    resume,
    train_loop,
    write_metrics,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=5, batch_size=64, lr=3e-3, weight_decay=1e-4, num_workers=2)
    p.add_argument("--n-train", type=positive_int, default=6000)
    p.add_argument("--n-eval", type=positive_int, default=1000,
                   help="images in each of val and test")
    p.add_argument("--image-size", type=int, default=64)
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def load_split(split: str, n: int, args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and class labels of ``n`` world items, rendered by ``--num-workers`` processes."""
    ds = WorldDataset(split, n, seed=args.seed, kind="image", image_size=args.image_size)
    loader = DataLoader(ds, batch_size=256, num_workers=args.num_workers)
    images, labels = [], []
    for batch in tqdm(loader, desc=f"render {split}", leave=False):
        images.append(batch["image"])
        labels.append(batch["class"])
    return torch.cat(images), torch.cat(labels)


def augment(x: torch.Tensor) -> torch.Tensor:
    """Blur half the batch with a random sigma (0.3-1.2 px), add pixel noise, flip half.

    Draws from the global RNG, whose state every checkpoint saves, so a resumed run augments
    as the uninterrupted one would."""
    x = x.float() / 255.0
    sigma = 0.3 + 0.9 * float(torch.rand(1))
    radius = 2
    k = torch.exp(-(torch.arange(-radius, radius + 1.0) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    blurred = F.conv2d(
        F.pad(x, [radius] * 4, mode="replicate"), k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3
    )
    blurred = F.conv2d(blurred, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    pick = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
    x = torch.where(pick, blurred, x)
    x = x + 0.02 * torch.randn_like(x)
    flip = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
    return torch.where(flip, x.flip(-1), x).clamp(0, 1)


@torch.no_grad()
def accuracy(model: WorldClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    device = next(model.parameters()).device
    correct = sum(int((model(images[i:i + 512].to(device)).argmax(1).cpu()
                       == labels[i:i + 512]).sum()) for i in range(0, len(images), 512))
    model.train()
    return correct / len(images)


class BestEpoch:
    """The best val accuracy so far; saved with every checkpoint (its weights are in
    ``DIR/model``, written when it was reached)."""

    def __init__(self):
        self.accuracy = -1.0

    def state_dict(self) -> dict:
        return {"accuracy": self.accuracy}

    def load_state_dict(self, state: dict) -> None:
        self.accuracy = float(state["accuracy"])


def model_card(metrics: dict) -> str:
    """README.md beside the checkpoint (instead of the hub mixin's generic card)."""
    return (
        "# World classifier\n\n"
        "Names the class of the objects in a BGTAI world image and provides the fixed features of "
        "the world-FID metric (`bgtai.readers.classifier.WorldClassifier`).\n\n"
        "Trained by `python -m train.train_classifier --output-dir DIR` on the world's train split "
        f"({metrics['n_train']} images, {metrics['epochs']} epochs, seed {metrics['seed']}); "
        f"{metrics['parameters']} parameters.\n\n"
        f"Held-out accuracy: val {metrics['val_accuracy']:.3f}, "
        f"test {metrics['test_accuracy']:.3f} "
        f"({metrics['n_eval']} images each, content cells disjoint from training).\n"
    )


def main(argv: list[str] | None = None) -> dict:
    """Train, keep the best epoch on val in ``--output-dir``/model; returns the metrics."""
    args = parse_args(argv)
    accelerator, progress = make_accelerator(args, "classifier")
    best = BestEpoch()
    accelerator.register_for_checkpointing(best)
    train_x, train_y = load_split("train", args.n_train, args)
    val_x, val_y = load_split("val", args.n_eval, args)
    test_x, test_y = load_split("test", args.n_eval, args)

    model = WorldClassifier(WorldClassifierConfig(image_size=args.image_size))
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size,
                        sampler=EpochShuffle(len(train_x), args.seed),
                        generator=torch.Generator().manual_seed(args.seed))
    total = math.ceil(len(loader) / args.grad_accum) * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=total)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    resume(accelerator, args)
    core = accelerator.unwrap_model(model)
    out = args.output_dir / "model"

    def step_fn(batch):
        (images, labels), = batch
        return {"loss": F.cross_entropy(model(augment(images)), labels)}

    def after_epoch() -> None:
        if accelerator.is_main_process:
            val = accuracy(core, val_x, val_y)
            accelerator.log({"val_accuracy": val}, step=progress.step)
            accelerator.print(f"epoch {progress.epoch}: val accuracy {val:.4f}")
            if val >= best.accuracy:
                best.accuracy = val
                core.save_pretrained(out)

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=loader_epochs(accelerator, loader),
                      epoch_length=len(loader), step_fn=step_fn, total=total, desc="classifier",
                      after_epoch=after_epoch):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    metrics = {}
    if accelerator.is_main_process:
        final = WorldClassifier.from_pretrained(out).to(accelerator.device)
        metrics = {
            "val_accuracy": best.accuracy,
            "test_accuracy": accuracy(final, test_x, test_y),
            "n_train": args.n_train,
            "n_eval": args.n_eval,
            "epochs": args.epochs,
            "seed": args.seed,
            "parameters": sum(p.numel() for p in final.parameters()),
        }
        write_metrics(out / "metrics.json", metrics)
        write_metrics(args.output_dir / "metrics.json", metrics)
        (out / "README.md").write_text(model_card(metrics))
        accelerator.print(json.dumps(metrics))
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
