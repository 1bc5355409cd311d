"""Train the UniBriVL-style joint embedding (audio, image, gloss/text) with Accelerate.

Each step takes an event batch (single events with their image and caption) and a clip batch
(multi-event clips whose (segment, frame) pair is chosen by data-pair selection); either can be
switched off with a batch size of 0. The paper's switches pick the selection mode and DS-Net's
loss: ``--dsnet/--no-dsnet``, ``--result-filter/--no-result-filter``, ``--loss {l2,sp,total}``,
``--duration {1,5,10}`` (clip length; default: 1-10 s mixed). See docs/joint.md.

On a GPU, AdamW is the fused one, and ``--compile [MODE]`` compiles the encoders and DS-Net
(``torch.compile``, static shapes; MODE ``reduce-overhead`` adds CUDA graphs): batches are then
padded to whole seconds of audio, 16 tokens and 8 frames (:data:`STATIC_MULTIPLES`), so that
they come in a few shapes, each compiled once. The extra padding enters the encoders'
batch-norm statistics as the longest item's padding already does.

CPU recipe of the bundled ``assets/joint`` checkpoint (2 shared cores; docs/joint.md)::

    python -m train.train_joint --output-dir runs/joint --cpu --torch-threads 1 \
        --n-events 1280 --batch-size 32 --clip-batch-size 2 --epochs 3 --warmup-steps 15
    # then the same with --resume --epochs 6, then --resume --epochs 10

Two processes on CPU (what CI runs, gloo)::

    accelerate launch --cpu --num_processes 2 -m train.train_joint --output-dir runs/j2 ...

Pretrained profile on GPUs (audio into CLIP ViT-H/14 image space) on VGGSound, the world's
events switched off (``--batch-size 0``); the middle frame of every clip is embedded by CLIP once
and cached in ``--feature-cache``::

    accelerate launch --config_file train/configs/joint_multi_gpu.yaml -m train.train_joint \\
        --profile pretrained --output-dir runs/joint_clip --mixed-precision bf16 \\
        --data vggsound:/data/VGGSound --batch-size 0 --real-batch-size 256 --num-workers 8

``--data NAME:FOLDER`` (repeatable; :mod:`bgtai.data.adapters.catalog`) adds real clips, each
step a batch of ``--real-batch-size`` beside the world's: the embedded profile learns audio-image
(clips with frames) and audio-caption/class-prompt InfoNCE from them (esc50, urbansound8k,
vggsound, audiocaps, clotho), the pretrained profile audio -> CLIP from VGGSound's frames.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bgtai.audio import SAMPLE_RATE
from bgtai.data.adapters.catalog import AUDIO_SETS
from bgtai.joint.data import ClipPairs, EventPairs, batch_lengths, collate_world
from bgtai.joint.model import COMPILE_MODES, JointConfig, JointModel, StepSettings
from bgtai.joint.pretrained import (
    CLIP_VIT_H14,
    ClipAudioConfig,
    ClipAudioProjector,
    clip_image_embeds,
    load_clip_vision,
)
from bgtai.joint.real_data import RealPairs, cached_clip_frame_embeds
from bgtai.joint.selection import LOSSES, selection_mode
from bgtai.joint.tokens import world_vocab
from train.common import (
    EpochShuffle,
    base_parser,
    data_argument,
    loader_epochs,
    make_accelerator,
    resume,
    train_loop,
    warmup_cosine,
    write_metrics,
)
from train.eval_joint import embed_events, joint_metrics

STATIC_MULTIPLES = {"audio": SAMPLE_RATE, "gloss_ids": 16, "text_ids": 16, "frames": 8}
"""With ``--compile``: what each batch's ragged keys are padded to a multiple of."""


def parse_args(argv=None) -> argparse.Namespace:
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=8, batch_size=32, lr=2e-3)
    p.add_argument("--profile", choices=("embedded", "pretrained"), default="embedded")
    p.add_argument("--clip-model", default=CLIP_VIT_H14,
                   help="pretrained profile: CLIPVisionModelWithProjection id or folder")
    p.add_argument("--projector-width", type=int, default=256,
                   help="pretrained profile: audio encoder width")
    p.add_argument("--projector-layers", type=int, default=5,
                   help="pretrained profile: audio encoder dilated blocks")
    p.add_argument("--world-seed", type=int, default=0, help="fixes the world's splits")
    p.add_argument("--n-events", type=int, default=3000, help="train events per epoch")
    p.add_argument("--clip-batch-size", type=int, default=8, help="clips per step (0: none)")
    p.add_argument("--n-clips", type=int, default=None,
                   help="train clips per epoch (default: as many batches as the events)")
    p.add_argument("--duration", type=int, choices=(1, 5, 10), default=None,
                   help="clip length in seconds (default: 1-10 s mixed)")
    p.add_argument("--dsnet", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--result-filter", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--loss", choices=LOSSES, default="total")
    p.add_argument("--ce-weight", type=float, default=1.0, help="a in contrastive + a CE + b SP")
    p.add_argument("--sp-weight", type=float, default=1.0, help="b in contrastive + a CE + b SP")
    p.add_argument("--aux-weight", type=float, default=0.5, help="attribute head weight")
    p.add_argument("--dim", type=int, default=128, help="joint space size (embedded)")
    p.add_argument("--eval-events", type=int, default=300, help="val events scored each epoch")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--vocab-captions", type=int, default=2000,
                   help="train captions the vocabulary is read from")
    p.add_argument("--no-cache", action="store_true", help="regenerate items every epoch")
    p.add_argument("--world-cache", type=Path, default=None,
                   help="keep the synthesised world here as safetensors files, shared by runs")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch CPU threads per process (1 on a busy shared CPU)")
    p.add_argument("--compile", nargs="?", const="default", default=None, metavar="MODE",
                   choices=COMPILE_MODES,
                   help="embedded profile: torch.compile the encoders and DS-Net, batches "
                        "padded to fixed multiples (for a GPU; the first steps compile)")
    data_argument(p, AUDIO_SETS)
    p.add_argument("--real-batch-size", type=int, default=None,
                   help="real clips per step and process (default: --batch-size, else 32)")
    p.add_argument("--real-seconds", type=float, default=10.0,
                   help="real clips are cut to their first N seconds")
    p.add_argument("--feature-cache", type=Path, default=None,
                   help="pretrained profile: where the frozen CLIP frame embeddings are kept "
                        "(default: OUTPUT_DIR/cache)")
    p.add_argument("--param-hash", action="store_true",
                   help="each process writes param_hash_rank<i>.txt at the end (DDP tests)")
    args = p.parse_args(argv)
    if args.real_batch_size is None:
        args.real_batch_size = args.batch_size or 32
    if args.profile == "pretrained":
        if args.compile:
            p.error("--compile is for the embedded profile")
        args.clip_batch_size = 0  # multi-event clips are the embedded profile's
        pictureless = [d.name for d in args.data if d.name != "vggsound"]
        if pictureless:
            p.error("the pretrained profile learns from audio-picture pairs; of the sets only "
                    f"vggsound has pictures, got {', '.join(pictureless)}")
    if args.batch_size < 0 or args.clip_batch_size < 0 or args.real_batch_size < 1 or (
            args.batch_size + args.clip_batch_size == 0 and not args.data):
        p.error("--batch-size (events) and --clip-batch-size must be >= 0 and not both 0 "
                "without --data; --real-batch-size >= 1")
    return args


def build_model(args, vocab):
    if args.profile == "pretrained":
        vision = load_clip_vision(args.clip_model)
        return ClipAudioProjector(ClipAudioConfig(
            args.clip_model, dim=vision.config.projection_dim, width=args.projector_width,
            layers=args.projector_layers)), vision
    return JointModel(JointConfig(vocab=vocab.tokens[2:], dim=args.dim)), None


def build_loaders(args, vocab, real_embeds=None):
    """Event, clip and real-data loaders (``None`` when switched off) with (seed, epoch)
    shuffles; ``real_embeds`` are the pretrained profile's cached CLIP frame embeddings."""
    cache = not args.no_cache
    # Workers synthesise (or read) the world ahead of the step; pinned batches copy to the GPU
    # asynchronously.
    collate = partial(collate_world, multiples=STATIC_MULTIPLES) if args.compile else collate_world
    loader_kw = {"collate_fn": collate, "drop_last": True, "num_workers": args.num_workers,
                 "pin_memory": torch.cuda.is_available() and not args.cpu,
                 "persistent_workers": args.num_workers > 0}
    events = clips = None
    if args.batch_size:
        data = EventPairs("train", args.n_events, vocab, seed=args.world_seed,
                          cache=cache and not args.num_workers, cache_dir=args.world_cache)
        events = DataLoader(data, batch_size=args.batch_size,
                            sampler=EpochShuffle(len(data), args.seed), **loader_kw)
    if args.clip_batch_size and args.profile == "embedded":
        n = args.n_clips or max(args.clip_batch_size,
                                args.n_events // max(args.batch_size, 1) * args.clip_batch_size)
        seconds = (1.0, 10.0) if args.duration is None else (float(args.duration),) * 2
        data = ClipPairs("train", n, vocab, seed=args.world_seed, clip_seconds=seconds,
                         cache=cache and not args.num_workers, cache_dir=args.world_cache)
        clips = DataLoader(data, batch_size=args.clip_batch_size,
                           sampler=EpochShuffle(len(data), args.seed + 1), **loader_kw)
    real = None
    if args.data:
        data = RealPairs(real_records(args), None if args.profile == "pretrained" else vocab,
                         seconds=args.real_seconds, image_embeds=real_embeds)
        real = DataLoader(data, batch_size=min(args.real_batch_size, len(data)),
                          sampler=EpochShuffle(len(data), args.seed + 2), **loader_kw)
    return events, clips, real


def real_records(args) -> list:
    """The training records of every ``--data`` set, in the order given."""
    return [r for spec in args.data for r in spec.read("train")]


def concat_audio(parts: list[tuple[torch.Tensor, torch.Tensor]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack padded ``(waves, lengths)`` batches into one, padding to the longest."""
    width = max(w.shape[1] for w, _ in parts)
    waves = torch.cat([torch.nn.functional.pad(w, (0, width - w.shape[1])) for w, _ in parts])
    return waves, torch.cat([n for _, n in parts])


def param_hash(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter, in name order: identical across DDP ranks.

    Buffers are left out: batch-norm running statistics are each rank's own until DDP
    broadcasts rank 0's at the next forward, and the saved model is rank 0's.
    """
    h = hashlib.sha256()
    for name, t in sorted(model.named_parameters()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    # DS-Net is idle under Base/Result Filter and the attribute head without events: DDP
    # must be told that some parameters may get no gradient in a step.
    accelerator, progress = make_accelerator(args, "joint", find_unused_parameters=True)
    vocab = world_vocab(args.world_seed, args.vocab_captions)
    model, vision = build_model(args, vocab)
    if args.compile:
        model.compile_encoders(args.compile)
    real_embeds = None
    if vision is not None and args.data:
        # CLIP is frozen: each frame is embedded once (by the main process; the others then
        # read its file) instead of at every step
        vision = vision.to(accelerator.device)
        with accelerator.main_process_first():
            real_embeds = cached_clip_frame_embeds(
                vision, real_records(args), args.feature_cache or args.output_dir / "cache",
                model_id=args.clip_model)
    event_loader, clip_loader, real_loader = build_loaders(args, vocab, real_embeds)
    loaders = [x for x in (event_loader, clip_loader, real_loader) if x is not None]
    settings = StepSettings(selection_mode(args.dsnet, args.result_filter), args.loss,
                            args.ce_weight, args.sp_weight, args.aux_weight)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                                  fused=accelerator.device.type == "cuda")  # fewer launches
    batches = min(len(x) for x in loaders)
    total = math.ceil(batches / args.grad_accum) * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    scheduler = warmup_cosine(optimizer, total, args.warmup_steps)
    model, optimizer, scheduler, *loaders = accelerator.prepare(model, optimizer, scheduler,
                                                                *loaders)
    prepared = iter(loaders)
    event_loader, clip_loader, real_loader = (None if x is None else next(prepared)
                                              for x in (event_loader, clip_loader, real_loader))
    if vision is not None:
        vision = vision.to(accelerator.device)
    resume(accelerator, args)
    core = accelerator.unwrap_model(model)
    eval_set = None
    if args.profile == "embedded" and args.eval_events:
        eval_set = EventPairs("val", args.eval_events, vocab, seed=args.world_seed, cache=True)

    # per-epoch val metrics, written every epoch so a resumed run keeps the earlier ones
    history_path = args.output_dir / "history.json"
    history = [h for h in (json.loads(history_path.read_text()) if history_path.is_file() else [])
               if h["step"] <= progress.step]
    metrics: dict[str, float] = {}
    log_path = args.output_dir / "train_log.jsonl"

    def step_fn(step_batches):
        batches = iter(step_batches)
        events, clips, real = (None if x is None else next(batches)
                               for x in (event_loader, clip_loader, real_loader))
        if vision is not None:  # one InfoNCE over the world's events and the real clips
            parts = []
            if events is not None:
                parts.append((events["audio"], batch_lengths(events, "audio"),
                              clip_image_embeds(vision, events["image"]), events["combo"]))
            if real is not None:
                parts.append((real["audio"], batch_lengths(real, "audio"),
                              real["image_embeds"], real["group"]))
            waves, lengths = concat_audio([(w, n) for w, n, _, _ in parts])
            return model(waves, lengths, torch.cat([t for _, _, t, _ in parts]),
                         torch.cat([g for _, _, _, g in parts]))
        return model(clips, events, settings, pairs=real)

    def after_step(logs: dict) -> None:
        if accelerator.is_main_process:
            with open(log_path, "a") as f:
                f.write(json.dumps({"step": progress.step, **logs}) + "\n")

    def after_epoch() -> None:
        nonlocal metrics
        if eval_set is not None:
            # every process embeds its shard; the metrics are computed on the gathered set
            emb = embed_events(core, eval_set, accelerator, batch_size=64)
            if accelerator.is_main_process:
                metrics = {f"val_{k}": v for k, v in joint_metrics(core, emb, probe=False).items()}
                metrics |= {"epoch": progress.epoch, "step": progress.step}
                history.append(metrics)
                history_path.write_text(json.dumps(history, indent=1) + "\n")
                accelerator.log(metrics, step=progress.step)
                accelerator.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=loader_epochs(accelerator, *loaders),
                      epoch_length=min(len(x) for x in loaders), step_fn=step_fn, total=total,
                      desc="joint", after_step=after_step, after_epoch=after_epoch):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    if args.param_hash:
        (args.output_dir / f"param_hash_rank{accelerator.process_index}.txt").write_text(
            param_hash(core) + "\n")
    if accelerator.is_main_process:
        core.save_pretrained(args.output_dir / "model")
        write_metrics(args.output_dir / "metrics.json", metrics)
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
