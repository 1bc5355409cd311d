"""Evaluate the joint embedding on the world's test events (``python -m train.evaluate joint``).

Gallery and queries: ``--n-events`` events of the chosen split (default test, 500), each with its
own audio, its own rendered image and one English caption. Retrieval counts a gallery item as
relevant when it is from the query's *content cell* (class, pitch level, loudness level,
repetitions): captions only name levels, and two renderings of one cell differ only in random
details, so the cell is what a query can determine. ``*_exact`` keys count only the item's own
image (or own audio) as relevant.

Keys (fractions 0-1): ``zero_shot_acc`` (class prompts read as gloss, mean embedding per class,
nearest to each sound), ``zero_shot_acc_text`` (the same prompts as raw words),
``audio_to_image_r1``/``r5``/``r1_exact``, ``image_to_audio_mrr``/``mrr_exact``,
``text_to_image_r1_gloss``/``text_to_image_r1_text`` (each event's caption as gloss or as raw
words), ``linear_probe_acc`` (5-fold logistic regression on the audio embeddings, class labels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from bgtai.data.world import SPLITS
from bgtai.eval import linear_probe_accuracy, retrieval_metrics, zero_shot_accuracy
from bgtai.joint.data import EventPairs, batch_lengths, collate_world
from bgtai.joint.heard import class_embeddings
from bgtai.joint.model import JointModel

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "assets" / "joint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=str(DEFAULT_CHECKPOINT),
                        help="JointModel folder or hub id")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--n-events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)


@torch.no_grad()
def embed_events(model: JointModel, dataset: EventPairs, accelerator=None,
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Audio, image, gloss- and text-caption embeddings, class and cell of every event.

    With an ``accelerator`` each process embeds its shard and ``gather_for_metrics`` joins
    them (dropping the duplicates that pad the last batch).
    """
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_world)
    if accelerator is not None:
        loader = accelerator.prepare(loader)
    was_training = model.training
    model.eval()
    device = model.log_scales.device
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out = {
            "audio": model.embed_audio(batch["audio"], batch_lengths(batch, "audio"))[0],
            "image": model.embed_image(batch["image"]),
            "gloss": model.embed_tokens(batch["gloss_ids"], batch_lengths(batch, "gloss_ids")),
            "text": model.embed_tokens(batch["text_ids"], batch_lengths(batch, "text_ids")),
            "class": batch["class"],
            "combo": batch["combo"],
        }
        if accelerator is not None:
            out = accelerator.gather_for_metrics(out)
        for k, v in out.items():
            parts.setdefault(k, []).append(v.cpu())
    model.train(was_training)
    return {k: torch.cat(v) for k, v in parts.items()}


def joint_metrics(model: JointModel, emb: dict[str, torch.Tensor], *,
                  probe: bool = True) -> dict[str, float]:
    """The flat metrics of the module docstring from :func:`embed_events`' output."""
    same = (emb["combo"][:, None] == emb["combo"][None, :]).numpy()
    a2i = retrieval_metrics(emb["audio"], emb["image"], targets=same)
    i2a = retrieval_metrics(emb["image"], emb["audio"], targets=same)
    labels = emb["class"].numpy()
    out = {
        "zero_shot_acc": zero_shot_accuracy(emb["audio"], class_embeddings(model, "gloss"), labels),
        "zero_shot_acc_text": zero_shot_accuracy(emb["audio"], class_embeddings(model, "text"),
                                                 labels),
        "audio_to_image_r1": a2i["r1"],
        "audio_to_image_r5": a2i["r5"],
        "audio_to_image_r1_exact": retrieval_metrics(emb["audio"], emb["image"])["r1"],
        "image_to_audio_mrr": i2a["mrr"],
        "image_to_audio_mrr_exact": retrieval_metrics(emb["image"], emb["audio"])["mrr"],
        "text_to_image_r1_gloss": retrieval_metrics(emb["gloss"], emb["image"], targets=same)["r1"],
        "text_to_image_r1_text": retrieval_metrics(emb["text"], emb["image"], targets=same)["r1"],
    }
    if probe:
        _, counts = np.unique(labels, return_counts=True)
        if len(counts) >= 2 and counts.min() >= 5:
            out["linear_probe_acc"] = linear_probe_accuracy(emb["audio"], labels, k=5)
    return out


def run(args: argparse.Namespace) -> dict:
    """Load the model, embed ``--n-events`` events of ``--split`` and score them."""
    model = JointModel.from_pretrained(args.model)
    data = EventPairs(args.split, args.n_events, model.vocab, seed=args.seed)
    metrics = joint_metrics(model, embed_events(model, data, batch_size=args.batch_size))
    return {"split": args.split, "n_events": args.n_events, **metrics}
