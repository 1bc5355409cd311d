"""Train the world-image class reader (:class:`bgtai.readers.classifier.WorldClassifier`).

A tiny CNN and a few thousand 64x64 images: plain torch on CPU, a couple of minutes. Images come
from the world's train split (content cells disjoint from val/test, see :mod:`bgtai.data.world`);
augmentation (random Gaussian blur, pixel noise, horizontal flips) makes the reader hold up on
the softer images a generator produces. The model is selected on val and scored on test;
``metrics.json`` is written beside the checkpoint.

    python -m train.train_classifier --out assets/world_classifier
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from bgtai.data.world import WorldDataset
from bgtai.readers.classifier import DEFAULT_CHECKPOINT, WorldClassifier, WorldClassifierConfig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--n-train", type=int, default=6000)
    p.add_argument("--n-eval", type=int, default=1000, help="images in each of val and test")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="processes generating the images")
    args = p.parse_args(argv)
    for name in ("n_train", "n_eval", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def load_split(split: str, n: int, args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and class labels of ``n`` world items, generated in parallel."""
    ds = WorldDataset(split, n, seed=args.seed, kind="image", image_size=args.image_size)
    loader = DataLoader(ds, batch_size=256, num_workers=args.workers)
    images, labels = [], []
    for batch in tqdm(loader, desc=f"render {split}", leave=False):
        images.append(batch["image"])
        labels.append(batch["class"])
    return torch.cat(images), torch.cat(labels)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Blur half the batch with a random sigma (0.3-1.2 px), add pixel noise, flip half."""
    x = x.float() / 255.0
    sigma = 0.3 + 0.9 * float(torch.rand(1, generator=gen))
    radius = 2
    k = torch.exp(-(torch.arange(-radius, radius + 1.0) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    blurred = F.conv2d(
        F.pad(x, [radius] * 4, mode="replicate"), k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3
    )
    blurred = F.conv2d(blurred, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    pick = torch.rand(len(x), 1, 1, 1, generator=gen) < 0.5
    x = torch.where(pick, blurred, x)
    x = x + 0.02 * torch.randn(x.shape, generator=gen)
    flip = torch.rand(len(x), 1, 1, 1, generator=gen) < 0.5
    return torch.where(flip, x.flip(-1), x).clamp(0, 1)


@torch.no_grad()
def accuracy(model: WorldClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = sum(
        int((model(images[i : i + 512]).argmax(1) == labels[i : i + 512]).sum())
        for i in range(0, len(images), 512)
    )
    model.train()
    return correct / len(images)


def model_card(metrics: dict) -> str:
    """README.md beside the checkpoint (instead of the hub mixin's generic card)."""
    return (
        "# World classifier\n\n"
        "Names the class of the objects in a BGTAI world image and provides the fixed features of "
        "the world-FID metric (`bgtai.readers.classifier.WorldClassifier`).\n\n"
        "Trained by `python -m train.train_classifier` on the world's train split "
        f"({metrics['n_train']} images, {metrics['epochs']} epochs, seed {metrics['seed']}); "
        f"{metrics['parameters']} parameters.\n\n"
        f"Held-out accuracy: val {metrics['val_accuracy']:.3f}, "
        f"test {metrics['test_accuracy']:.3f} "
        f"({metrics['n_eval']} images each, content cells disjoint from training).\n"
    )


def main(argv: list[str] | None = None) -> dict:
    """Train, keep the best epoch on val, save it to ``--out``; returns the metrics."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train_x, train_y = load_split("train", args.n_train, args)
    val_x, val_y = load_split("val", args.n_eval, args)
    test_x, test_y = load_split("test", args.n_eval, args)

    model = WorldClassifier(WorldClassifierConfig(image_size=args.image_size))
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, args.lr, total_steps=args.epochs * steps_per_epoch
    )
    best, best_state = -1.0, None
    for epoch in tqdm(range(args.epochs), desc="epochs"):
        order = torch.randperm(len(train_x), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            loss = F.cross_entropy(model(augment(train_x[idx], gen)), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val_acc = accuracy(model, val_x, val_y)
        tqdm.write(f"epoch {epoch + 1}: loss {loss.item():.3f} val acc {val_acc:.4f}")
        if val_acc >= best:
            best, best_state = val_acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    metrics = {
        "val_accuracy": best,
        "test_accuracy": accuracy(model, test_x, test_y),
        "n_train": args.n_train,
        "n_eval": args.n_eval,
        "epochs": args.epochs,
        "seed": args.seed,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (args.out / "README.md").write_text(model_card(metrics))
    tqdm.write(json.dumps(metrics))
    return metrics


if __name__ == "__main__":
    main()
