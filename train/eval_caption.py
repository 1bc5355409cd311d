"""Audio captioning on the world's clips: BLEU-1/4, ROUGE-L, CIDEr-D, METEOR and attribute accuracy.

``python -m train.evaluate caption --json PATH [--model assets/caption --split test]``: each
clip (1-10 s, 1-3 events, content cells of the chosen split) is captioned greedily and scored
against all its reference glosses (:mod:`bgtai.caption.data`). ``attribute_acc``: the class,
count, loudness-level and pitch-level words of every true event, read back from the caption
(:func:`bgtai.caption.words.attribute_table`; ``class_acc``, ``count_acc``, ``loudness_acc``,
``pitch_acc`` each alone); ``event_count_acc``: captions naming exactly as many events as the
clip holds. Where the words land in the sound, on the captions that name as many events as the
clip holds: ``align_token_acc``, the caption tokens whose DS-Net alignment is centred on a frame
of the event the token speaks of (:func:`bgtai.caption.words.token_events`, events in onset
order), and ``attention_token_acc``, the same for the frame the cross-attention weighs most.
"""

from __future__ import annotations

import argparse

import torch

from bgtai.caption.data import CaptionItems, collate_captions
from bgtai.caption.model import AudioCaptioner
from bgtai.caption.words import attribute_table, token_events
from bgtai.eval.captioning import caption_metrics


@torch.no_grad()
def score(model: AudioCaptioner, items: CaptionItems, batch_size: int = 64,
          meteor: bool | None = None) -> dict[str, float]:
    """Caption every item greedily and score the captions (the model is left in eval mode)."""
    model.eval()
    device = model.frame_proj.weight.device
    hyps, same_count = [], 0
    hits = {name: [0, 0] for name in ("cls", "count", "loudness", "pitch")}
    placed = {"align": 0, "attention": 0, "tokens": 0}
    for start in range(0, len(items), batch_size):
        chunk = range(start, min(start + batch_size, len(items)))
        batch = collate_captions([items[i] for i in chunk])
        captions = model.generate(batch["frames"].to(device), batch["mask"].to(device),
                                  batch["clip"].to(device), with_attention=True)
        for k, cap in enumerate(captions):
            events = items.events[start + k]
            for name, (r, t) in attribute_table(cap.events, events).items():
                hits[name][0] += r
                hits[name][1] += t
            if len(cap.events) == len(events):
                same_count += 1
                _place(cap, batch["frame_targets"][k, :, 4], placed)
            hyps.append(cap.gloss)
    metrics = caption_metrics(hyps, items.references, meteor=meteor)
    metrics["attribute_acc"] = sum(r for r, _ in hits.values()) / sum(t for _, t in hits.values())
    for name, (r, t) in hits.items():
        metrics[f"{'class' if name == 'cls' else name}_acc"] = r / max(t, 1)
    metrics["event_count_acc"] = same_count / len(items)
    for name in ("align", "attention"):
        metrics[f"{name}_token_acc"] = placed[name] / max(placed["tokens"], 1)
    return metrics


def _place(cap, event_of_frame: torch.Tensor, placed: dict[str, int]) -> None:
    """Count the caption's tokens whose DS-Net alignment (its middle aligned frame) and whose
    strongest cross-attention fall on a frame of the event the token speaks of."""
    for row, owner in enumerate(token_events(cap.tokens)):
        if owner < 0:
            continue
        inside = (event_of_frame[: cap.attention.shape[1] - 1] == owner).numpy()
        aligned = cap.alignment[row, 1:].nonzero()[0]  # column 0 is the clip position
        placed["tokens"] += 1
        placed["align"] += bool(aligned.size) and bool(inside[aligned[len(aligned) // 2]])
        placed["attention"] += bool(inside[cap.attention[row, 1:].argmax()])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="assets/caption", help="captioner folder or hub id")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--n-clips", type=int, default=500)
    p.add_argument("--references", type=int, default=20,
                   help="descriptions drawn per clip; their distinct glosses are the references")
    p.add_argument("--seed", type=int, default=0, help="the world's seed")
    p.add_argument("--no-meteor", action="store_true", help="skip METEOR (the Java step)")
    p.add_argument("--num-workers", type=int, default=0, help="processes rendering the clips")


def run(args: argparse.Namespace) -> dict:
    if args.n_clips < 1 or args.references < 1:
        raise SystemExit("--n-clips and --references must be >= 1")
    model = AudioCaptioner.from_pretrained(args.model)
    items = CaptionItems(model, args.split, args.n_clips, seed=args.seed,
                         references=args.references, workers=args.num_workers)
    metrics = score(model, items, meteor=False if args.no_meteor else None)
    return {**metrics, "split": args.split, "n_clips": args.n_clips,
            "references": args.references,
            "mean_references": sum(map(len, items.references)) / len(items)}
