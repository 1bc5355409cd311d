"""Train the audio captioner (sound -> gloss caption) with Accelerate.

The captioner (:class:`bgtai.caption.model.AudioCaptioner`) reads the frozen audio encoder of
a joint checkpoint (``--joint``) and trains Langue2Gloss's encoder and gloss decoder on world
clips (1-10 s, 1-3 events) and single events of the train split, each with up to
``--references`` reference glosses of which every step draws one. After every epoch the val
clips are captioned; the epoch with the best val CIDEr-D is kept in ``DIR/model`` (the test
split is for ``python -m train.evaluate caption`` only).

CPU recipe of the bundled ``assets/caption`` (12 epochs of 125 steps, about 1.2 s a step
with 2 threads on the 2-core machine, 30 min in all)::

    python -m train.train_caption --output-dir runs/caption --cpu --torch-threads 2 \
        --num-workers 2

GPUs: ``accelerate launch -m train.train_caption --output-dir runs/caption`` (the same recipe;
add ``--mixed-precision bf16`` and a larger ``--batch-size`` at will).

Real captions: ``--data audiocaps:/data/AudioCaps --data clotho:/data/Clotho`` (repeatable; any
audio set of :mod:`bgtai.data.adapters.catalog`, a labelled clip's references being its class
prompts) adds every training clip of those sets, read by ``--num-workers`` processes, its
captions glossed by the rules as references (``--n-clips 0 --n-events 0``: real clips only).
Their frozen audio features are computed once, by the main process, into ``--feature-cache``
(:func:`bgtai.caption.data.record_features_cache`); every process, resumed run and later run
then reads them from there, clip by clip.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader

from bgtai.caption.data import CaptionItems, RecordCaptionItems, collate_captions, pick_references
from bgtai.caption.model import AudioCaptioner, CaptionerConfig
from bgtai.caption.words import caption_vocab
from bgtai.data.adapters.catalog import AUDIO_SETS
from bgtai.joint.model import JointModel
from train.common import (
    EpochShuffle,
    base_parser,
    data_argument,
    loader_epochs,
    make_accelerator,
    positive_int,
    resume,
    train_loop,
    warmup_cosine,
    write_metrics,
)
from train.eval_caption import score


def parse_args(argv=None):
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=12, batch_size=32, lr=1e-3)
    p.add_argument("--joint", default="assets/joint", help="joint checkpoint (audio encoder)")
    p.add_argument("--n-clips", type=int, default=2000, help="train world clips (0: none)")
    p.add_argument("--n-events", type=int, default=2000, help="train single events (0: none)")
    p.add_argument("--n-val", type=positive_int, default=200, help="val clips captioned each epoch")
    p.add_argument("--references", type=positive_int, default=20,
                   help="descriptions drawn per item (distinct glosses kept)")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--enc-layers", type=int, default=2)
    p.add_argument("--dec-layers", type=int, default=2)
    p.add_argument("--ff-dim", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--frame-weight", type=float, default=0.5,
                   help="weight of the per-frame heads' loss (what sounds at each frame, its "
                        "count, loudness and pitch levels, whether an event starts there); "
                        "world items only")
    p.add_argument("--event-weight", type=float, default=1.0,
                   help="weight of the event heads' loss (each event's class, count, loudness "
                        "and pitch levels, read into its memory slot); world items only")
    p.add_argument("--align-weight", type=float, default=1.0,
                   help="weight of the DS-Net's loss (caption tokens against their event's "
                        "frames; it reads detached states); world items only")
    p.add_argument("--cumulative", action=argparse.BooleanOptionalAction, default=True,
                   help="add each frame's running sum of the frames so far to its memory input")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch.set_num_threads (1 on a shared CPU)")
    data_argument(p, AUDIO_SETS)
    p.add_argument("--feature-cache", type=Path, default=None,
                   help="--data: where the real clips' frozen audio features are kept "
                        "(default: OUTPUT_DIR/cache)")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.n_events < 0 or args.n_clips < 0:
        p.error("--epochs and --batch-size must be >= 1, --n-clips and --n-events >= 0")
    if args.n_clips + args.n_events == 0 and not args.data:
        p.error("nothing to train on: --n-clips, --n-events or --data")
    return args


def model_card(metrics: dict) -> str:
    """README.md beside the checkpoint."""
    return (
        "# Audio captioner\n\n"
        "Sound -> gloss caption and the English it stands for "
        "(`bgtai.caption.model.AudioCaptioner`): the bundled joint model's audio encoder "
        "(frozen) feeding Langue2Gloss's encoder and gloss decoder.\n\n"
        f"Trained by `python -m train.train_caption` on {metrics['n_clips']} world clips and "
        f"{metrics['n_events']} single events of the train split"
        + (f" and {metrics['n_real_clips']} real clips ({', '.join(metrics['data'])})"
           if metrics["data"] else "") + f" (seed {metrics['seed']}, "
        f"{metrics['steps']} steps); {metrics['trainable_parameters']} trained parameters. "
        f"Best epoch on val ({metrics['n_val']} clips): {metrics['best_epoch']}, val CIDEr-D "
        f"{metrics['val_cider_d']:.3f}, BLEU-4 {metrics['val_bleu4']:.3f}, attribute accuracy "
        f"{metrics['val_attribute_acc']:.3f}.\n\n"
        "Test-split figures: `metrics.json` here (`python -m train.evaluate caption`) and "
        "docs/caption.md.\n"
    )


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    # real clips have no frame targets: their batches leave the frame and event heads and
    # DS-Net unused
    accelerator, progress = make_accelerator(
        args, "caption", find_unused_parameters=bool(args.data) or not (
            args.frame_weight and args.align_weight and args.event_weight))
    joint = JointModel.from_pretrained(args.joint)
    jc = joint.config
    config = CaptionerConfig(vocab=caption_vocab(args.seed), audio_width=jc.audio_width,
                             audio_layers=jc.audio_layers, audio_dim=jc.dim,
                             d_model=args.d_model, n_heads=args.heads, enc_layers=args.enc_layers,
                             dec_layers=args.dec_layers, ff_dim=args.ff_dim, dropout=args.dropout,
                             cumulative=args.cumulative)
    # on the accelerator already: the frozen features below are computed there
    model = AudioCaptioner.from_joint(joint, config).to(accelerator.device)
    common = {"seed": args.seed, "references": args.references, "workers": args.num_workers}
    parts = [CaptionItems(model, "train", args.n_clips, **common)] if args.n_clips else []
    if args.n_events:
        parts.append(CaptionItems(model, "train", args.n_events, kind="event", **common))
    real = [r for spec in args.data for r in spec.read("train")]
    if real:
        with accelerator.main_process_first():  # the others then read its cache
            parts.append(RecordCaptionItems(model, real, args.feature_cache or
                                            args.output_dir / "cache", workers=args.num_workers))
    val = CaptionItems(model, "val", args.n_val, **common)
    train_set = ConcatDataset(parts)
    loader = DataLoader(train_set, batch_size=args.batch_size, collate_fn=collate_captions,
                        sampler=EpochShuffle(len(train_set), args.seed), drop_last=True,
                        generator=torch.Generator().manual_seed(args.seed))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=args.lr, weight_decay=args.weight_decay)
    total = math.ceil(len(loader) / args.grad_accum) * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    scheduler = warmup_cosine(optimizer, total, args.warmup_steps)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    resume(accelerator, args)
    core = accelerator.unwrap_model(model)
    out = args.output_dir / "model"
    history_path = args.output_dir / "history.json"
    history = json.loads(history_path.read_text()) if args.resume and history_path.is_file() else []
    history = [h for h in history if h["step"] <= progress.step]  # a resumed run redoes the rest

    def step_fn(batch):
        (b,) = batch
        ids, owners = pick_references(b)
        return model(b["frames"], b["mask"], b["clip"], ids, frame_targets=b.get("frame_targets"),
                     token_events=owners, frame_weight=args.frame_weight,
                     align_weight=args.align_weight, event_weight=args.event_weight)

    def after_epoch() -> None:
        if accelerator.is_main_process:
            metrics = {f"val_{k}": v for k, v in score(core, val, meteor=False).items()}
            metrics.update(epoch=progress.epoch, step=progress.step)
            core.train()
            accelerator.log(metrics, step=progress.step)
            accelerator.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
            if metrics["val_cider_d"] >= max((h["val_cider_d"] for h in history), default=-1.0):
                core.save_pretrained(out)
            history.append(metrics)
            history_path.write_text(json.dumps(history, indent=1) + "\n")

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=loader_epochs(accelerator, loader),
                      epoch_length=len(loader), step_fn=step_fn, total=total, desc="caption",
                      after_epoch=after_epoch):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    metrics: dict = {}
    if accelerator.is_main_process:
        best = max(history, key=lambda h: h["val_cider_d"])
        metrics = {**best, "best_epoch": best["epoch"], "steps": progress.step,
                   "n_clips": args.n_clips, "n_events": args.n_events, "n_val": args.n_val,
                   "n_real_clips": len(real), "data": [f"{d.name}:{d.root}" for d in args.data],
                   "seed": args.seed, "trainable_parameters": sum(
                       p.numel() for p in core.parameters() if p.requires_grad)}
        write_metrics(args.output_dir / "metrics.json", metrics)
        write_metrics(out / "train_metrics.json", metrics)
        (out / "README.md").write_text(model_card(metrics))
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
