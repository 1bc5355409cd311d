"""Train the sound-to-image generator (decoder, then audio and gloss maps) with Accelerate.

Two stages, each its own run folder (resume, TensorBoard logs, ``metrics.json``):

* ``--stage decoder``: the diffusion decoder (:class:`bgtai.generate.unet.ImageDecoder`) learns
  to draw world images of the train split from their image embeddings (clean-image prediction,
  ``--cond-dropout`` of the embeddings replaced by zeros for classifier-free guidance).
* ``--stage mapper``: the audio and gloss embeddings learn to land on the image embedding of the
  paired picture (:mod:`bgtai.generate.mapping`).

``--assemble`` copies both into one pipeline folder; ``--count-probe`` then fits that folder's
count probe (:mod:`bgtai.generate.counting`, a logistic regression on its image embeddings of
train pictures, seconds on a CPU) and ``--steering`` its steering for real recordings
(:mod:`bgtai.generate.steering`, least squares on its audio embeddings of train sounds, a few
minutes on a CPU).

The image embedding is the UniBriVL joint space with ``--joint`` (the bundled generator) or the
world attribute embedding without it; see ``docs/generation.md``. The bundled
``assets/generator`` (its ``README.md`` has the exact commands and times): the decoder on one
GPU, the maps on the CPU, then one folder::

    accelerate launch -m train.train_generator --stage decoder --joint assets/joint \
        --output-dir runs/gen_decoder --n-train 40000 --batch-size 512 --ema-decay 0.999 ...
    accelerate launch -m train.train_generator --stage decoder --joint assets/joint \
        --output-dir runs/gen_decoder2 --init-decoder runs/gen_decoder/model/decoder ...
    python -m train.train_generator --stage mapper --joint assets/joint --output-dir runs/gen_mapper --cpu
    python -m train.train_generator --assemble runs/gen_decoder2 runs/gen_mapper --joint assets/joint \
        --output-dir assets/generator --decoder-dtype float16 --guidance-scale 3
    python -m train.train_generator --count-probe --output-dir assets/generator --n-train 3000 \
        --n-val 300
    python -m train.train_generator --steering --output-dir assets/generator --n-train 2000 \
        --n-val 300

``--max-minutes`` fits a run into a time slot (a lent GPU's): the step count is cut once the
step rate is known, and the learning-rate schedule ends with it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from bgtai.data.language import describe_with_gloss
from bgtai.data.world import WorldDataset
from bgtai.generate.attribute_encoders import (
    AttributeAudioEncoder,
    AttributeAudioEncoderConfig,
    AttributeGlossEncoder,
    AttributeGlossEncoderConfig,
)
from bgtai.generate.attributes import ATTRIBUTE_DIM, attribute_embedding
from bgtai.generate.counting import CountProbe
from bgtai.generate.embedders import JointEmbedder, pad_waves
from bgtai.generate.mapping import EmbeddingMapper, MapperConfig
from bgtai.generate.pipeline import SoundToImage, check_candidates
from bgtai.generate.steering import Steering
from bgtai.generate.unet import DecoderConfig, ImageDecoder, images_to_patches
from bgtai.readers import load_world_classifier
from train.common import (
    EpochShuffle,
    StepBudget,
    base_parser,
    loader_epochs,
    make_accelerator,
    resume,
    train_loop,
    warmup_cosine,
    write_metrics,
)


def parse_args(argv=None):
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=20, batch_size=32, lr=5e-4)
    p.add_argument("--stage", choices=("decoder", "mapper"), default="decoder")
    p.add_argument("--n-train", type=int, default=6000, help="world train items (images/events)")
    p.add_argument("--n-val", type=int, default=256, help="val items for the mapper's loss")
    p.add_argument("--channels", type=int, nargs="+", default=[48, 96, 96],
                   help="decoder UNet block widths")
    p.add_argument("--layers-per-block", type=int, default=1, help="decoder ResNets per UNet level")
    p.add_argument("--prediction-type", choices=("sample", "v_prediction", "epsilon"), default="sample",
                   help="what the decoder predicts (diffusers' names; sample = the clean image)")
    p.add_argument("--init-decoder", type=Path, default=None,
                   help="start the decoder from this saved decoder (e.g. assets/generator/decoder) "
                        "to train it further; its config replaces the architecture flags")
    p.add_argument("--ema-decay", type=float, default=0.0,
                   help="keep an exponential moving average of the decoder's weights with this "
                        "decay (0: off) and save it instead of the last weights")
    p.add_argument("--decoder-dtype", choices=("float32", "float16"), default="float32",
                   help="with --assemble: the precision the decoder's weights are stored in")
    p.add_argument("--guidance-scale", type=float, default=None,
                   help="with --assemble: the decoder's default classifier-free guidance (chosen "
                        "on the val split)")
    p.add_argument("--candidates", type=int, default=1,
                   help="with --assemble: pictures the pipeline draws per request, keeping the one "
                        "whose embedding matches best (chosen on the val split)")
    p.add_argument("--cond-dropout", type=float, default=0.1,
                   help="fraction of decoder samples trained without their embedding (CFG)")
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--max-minutes", type=float, default=None,
                   help="fit the run into this many minutes of training: the step count (and the "
                        "cosine schedule with it) is cut to the step rate of the first 50 steps")
    p.add_argument("--classifier", type=Path, default=None,
                   help="world classifier checkpoint behind the attribute embedding (default: bundled)")
    p.add_argument("--joint", type=Path, default=None,
                   help="JointModel checkpoint: use the UniBriVL joint space as the image embedding "
                        "instead of the world attribute embedding")
    # each of these is a job of its own on a finished run; one per call
    jobs = p.add_mutually_exclusive_group()
    jobs.add_argument("--assemble", type=Path, nargs=2, metavar=("DECODER_RUN", "MAPPER_RUN"),
                      help="copy the final models of two runs into --output-dir as one pipeline "
                           "folder")
    jobs.add_argument("--count-probe", action="store_true",
                      help="fit the count probe of the assembled joint-space pipeline in "
                           "--output-dir on --n-train world train pictures (checked on --n-val val "
                           "pictures and sounds) and name it in its pipeline.json")
    jobs.add_argument("--steering", action="store_true",
                      help="fit the steering for real recordings of the joint-space pipeline in "
                           "--output-dir on --n-train world train sounds (checked on --n-val val "
                           "sounds) and name it in its pipeline.json")
    return p.parse_args(argv)


def image_embedder(args, device: torch.device | str = "cpu"):
    """``(embed(images) -> (N, dim) CPU tensor, dim, joint model or None)`` for the chosen space.

    The joint model is moved to ``device`` (tens of thousands of pictures are embedded once
    before decoder training, and the mapper stage runs it on every batch).
    """
    if args.joint is None:
        classifier = load_world_classifier(args.classifier)
        return (lambda images: attribute_embedding(images, classifier)), ATTRIBUTE_DIM, None
    from bgtai.joint import JointModel

    joint = JointModel.from_pretrained(args.joint).to(device).eval()

    @torch.no_grad()
    def embed(images):
        return joint.embed_image(torch.from_numpy(images).to(device).permute(0, 3, 1, 2)).cpu()

    return embed, int(joint.config.dim), joint


def embed_in_batches(items, embed, batch: int = 256) -> torch.Tensor:
    """``embed`` applied to slices of ``items`` (images, waveforms, glosses), concatenated."""
    return torch.cat([embed(items[i:i + batch]) for i in range(0, len(items), batch)])


class MapperPairs(Dataset):
    """(waveform, gloss, image embedding) of world events, held in memory."""

    def __init__(self, split: str, n: int, seed: int, embed):
        ds = WorldDataset(split, n, seed=seed, kind="event")
        rng = np.random.default_rng([seed, 7])
        self.waves, self.glosses, images = [], [], []
        for i in range(n):
            event, wave, image = ds.event(i)
            self.waves.append(wave.astype(np.float32))
            self.glosses.append(describe_with_gloss([event], rng)[1])
            images.append(image)
        self.targets = embed_in_batches(np.stack(images), embed)

    def __len__(self) -> int:
        return len(self.waves)

    def __getitem__(self, i):
        return self.waves[i], self.glosses[i], self.targets[i]


def collate_pairs(batch):
    waves, lengths = pad_waves([b[0] for b in batch])
    return {"waves": waves, "lengths": lengths, "glosses": [b[1] for b in batch],
            "targets": torch.stack([b[2] for b in batch])}


def collate_embedded(batch):
    """Batches of :meth:`JointMappers.embed_pairs` items."""
    audio, gloss, targets = (torch.stack(column) for column in zip(*batch))
    return {"audio": audio, "gloss": gloss, "targets": targets}


class FallbackMappers(torch.nn.Module):
    """The fallback audio and gloss encoders trained side by side (one optimizer)."""

    def __init__(self, vocab: list[str]):
        super().__init__()
        self.audio = AttributeAudioEncoder(AttributeAudioEncoderConfig())
        self.gloss = AttributeGlossEncoder(AttributeGlossEncoderConfig(vocab=vocab))

    def forward(self, batch):
        target = batch["targets"]
        audio = F.mse_loss(self.audio(batch["waves"], batch["lengths"]), target)
        gloss = F.mse_loss(self.gloss(batch["glosses"]), target)
        return {"loss": audio + gloss, "audio": audio, "gloss": gloss}

    def save(self, out: Path) -> None:
        self.audio.save_pretrained(out / "audio_encoder")
        self.gloss.save_pretrained(out / "gloss_encoder")


class JointMappers(torch.nn.Module):
    """Audio and gloss maps from the frozen joint space onto the paired images' embeddings."""

    def __init__(self, joint):
        super().__init__()
        dim = int(joint.config.dim)
        config = MapperConfig(in_dim=dim, out_dim=dim, hidden=2 * dim)
        self.audio, self.gloss = EmbeddingMapper(config), EmbeddingMapper(config)
        self.embedder = JointEmbedder(joint, self.audio, self.gloss)  # not a submodule: frozen

    def embed_pairs(self, pairs: MapperPairs, batch: int = 64) -> TensorDataset:
        """``(audio, gloss, target)`` joint-space embeddings of ``pairs``, computed once.

        The joint model is frozen, so its embeddings are the same every epoch; computing them on
        every batch repeated that work ``--epochs`` times.
        """
        embedder = self.embedder
        audio = embed_in_batches(pairs.waves, lambda w: embedder.audio_embeddings(w).cpu(), batch)
        gloss = embed_in_batches(pairs.glosses, lambda g: embedder.gloss_embeddings(g).cpu(), batch)
        return TensorDataset(audio, gloss, pairs.targets)

    def forward(self, batch):
        target = batch["targets"]
        audio = F.mse_loss(self.audio(batch["audio"]), target)
        gloss = F.mse_loss(self.gloss(batch["gloss"]), target)
        return {"loss": audio + gloss, "audio": audio, "gloss": gloss}

    def save(self, out: Path) -> None:
        self.audio.save_pretrained(out / "audio_mapper")
        self.gloss.save_pretrained(out / "gloss_mapper")


def build_stage(args, device: torch.device | str = "cpu"):
    """Model, train/val loaders, loss function and saver of the chosen stage."""
    embed, dim, joint = image_embedder(args, device)
    if args.stage == "decoder":
        ds = WorldDataset("train", args.n_train, seed=args.seed, kind="image")
        images = np.stack([ds.event(i, audio=False)[2] for i in range(args.n_train)])
        embeds = embed_in_batches(images, embed)
        if args.init_decoder is not None:
            model = ImageDecoder.from_pretrained(args.init_decoder).float()  # bundled ones are fp16
            if model.config.embed_dim != dim:
                raise ValueError(f"{args.init_decoder} decodes {model.config.embed_dim}-d embeddings, "
                                 f"this image space has {dim}")
        else:
            model = ImageDecoder(DecoderConfig(embed_dim=dim, block_out_channels=list(args.channels),
                                               layers_per_block=args.layers_per_block,
                                               prediction_type=args.prediction_type))
        data = TensorDataset(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), embeds)
        loader = DataLoader(data, batch_size=args.batch_size, drop_last=True,
                            sampler=EpochShuffle(len(data), args.seed),
                            generator=torch.Generator().manual_seed(args.seed))
        noise_sched, core = model.noise_scheduler(), model  # core: unwrapped, for its config
        patch = model.config.patch

        def loss_fn(m, batch):
            images, embeds = batch
            x0 = images_to_patches(images, patch)
            keep = (torch.rand(len(embeds), 1, device=embeds.device) >= args.cond_dropout).to(embeds)
            noise = torch.randn_like(x0)
            t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(x0),), device=x0.device)
            target = core.training_target(x0, noise, noise_sched, t)
            return {"loss": F.mse_loss(m(noise_sched.add_noise(x0, noise, t), t, embeds * keep), target)}

        return model, loader, None, loss_fn, lambda m, out: m.save_pretrained(out / "decoder")
    train = MapperPairs("train", args.n_train, args.seed, embed)
    val = MapperPairs("val", args.n_val, args.seed, embed)
    if joint is None:
        model, collate = FallbackMappers(sorted({w for g in train.glosses for w in g.split()})), collate_pairs
    else:
        model, collate = JointMappers(joint), collate_embedded
        train, val = model.embed_pairs(train), model.embed_pairs(val)
    loader = DataLoader(train, batch_size=args.batch_size, drop_last=True,
                        sampler=EpochShuffle(len(train), args.seed), collate_fn=collate,
                        generator=torch.Generator().manual_seed(args.seed))
    val_loader = DataLoader(val, batch_size=args.batch_size, collate_fn=collate)
    return model, loader, val_loader, lambda m, batch: m(batch), lambda m, out: m.save(out)


@torch.no_grad()
def evaluate(model, loss_fn, loader, accelerator) -> dict[str, float]:
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    for batch in loader:
        losses = loss_fn(model, batch)
        size = len(batch["targets"])
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + accelerator.gather_for_metrics(v.reshape(1)).mean().item() * size
        n += size
    model.train()
    return {f"val_{k}": v / n for k, v in sums.items()}


def assemble(decoder_run: Path, mapper_run: Path, out: Path, joint: Path | None,
             decoder_dtype: str = "float32", guidance_scale: float | None = None,
             candidates: int = 1) -> Path:
    """One pipeline folder: ``decoder/``, the audio/gloss models and ``pipeline.json``.

    ``decoder_dtype="float16"`` stores the decoder's weights at half precision (half the size;
    they are loaded back into float32); ``guidance_scale`` replaces its default guidance;
    ``candidates`` is the pipeline's default number of pictures drawn to keep the best.
    """
    import os
    import shutil

    parts = ("audio_encoder", "gloss_encoder") if joint is None else ("audio_mapper", "gloss_mapper")
    out.mkdir(parents=True, exist_ok=True)
    for run, name in ((decoder_run, "decoder"), (mapper_run, parts[0]), (mapper_run, parts[1])):
        src = run / "model" / name
        if not (src / "model.safetensors").is_file():
            raise ValueError(f"no trained {name} at {src}")
        shutil.copytree(src, out / name, dirs_exist_ok=True)
    if decoder_dtype == "float16" or guidance_scale is not None:
        decoder = ImageDecoder.from_pretrained(out / "decoder")
        if guidance_scale is not None:  # the saved config is the one the model was built with
            weights = decoder.state_dict()
            decoder = ImageDecoder(dataclasses.replace(decoder.config, guidance_scale=guidance_scale))
            decoder.load_state_dict(weights)
        (decoder.half() if decoder_dtype == "float16" else decoder).save_pretrained(out / "decoder")
    spec = {"embedder": "world_attributes"} if joint is None else {
        "embedder": "joint", "joint": os.path.relpath(joint.resolve(), out.resolve())}
    spec["candidates"] = check_candidates(candidates)
    (out / "pipeline.json").write_text(json.dumps(spec, indent=2) + "\n")
    return out


@torch.no_grad()
def fit_count_probe(folder: Path, n_train: int, n_val: int, seed: int = 0) -> dict[str, float]:
    """Fit ``folder``'s :class:`~bgtai.generate.counting.CountProbe` on the pipeline's own image
    embeddings of ``n_train`` world train pictures, save it as ``count_probe/`` and name it in
    ``pipeline.json``; returns its accuracy on ``n_val`` val pictures and on their sounds'
    mapped embeddings (what it reads in the app)."""
    pipe = SoundToImage.from_pretrained(folder)
    if not isinstance(pipe.backend.embedder, JointEmbedder):
        raise ValueError(f"{folder} is not a joint-space pipeline: the count probe reads "
                         "its image space")

    def world(split: str, n: int, audio: bool):
        ds = WorldDataset(split, n, seed=seed, kind="event")
        items = [ds.event(i, audio=audio) for i in tqdm(range(n), desc=f"world {split}")]
        return ([e.repetitions for e, _, _ in items], np.stack([im for _, _, im in items]),
                [w.astype(np.float32) for _, w, _ in items] if audio else None)

    counts, images, _ = world("train", n_train, audio=False)
    probe = CountProbe.fit(embed_in_batches(images, pipe.backend.embed_images), counts)
    val_counts, val_images, val_waves = world("val", n_val, audio=True)
    metrics = {
        "val_image_acc": float(np.mean(np.array(probe.predict(
            embed_in_batches(val_images, pipe.backend.embed_images))) == val_counts)),
        "val_audio_acc": float(np.mean(np.array(probe.predict(
            embed_in_batches(val_waves, pipe.backend.embed_audio, batch=64))) == val_counts)),
        "n_train": n_train, "n_val": n_val}
    probe.save_pretrained(folder / "count_probe")
    write_metrics(folder / "count_probe" / "metrics.json", metrics)
    spec = json.loads((folder / "pipeline.json").read_text())
    spec["count_probe"] = "count_probe"
    (folder / "pipeline.json").write_text(json.dumps(spec, indent=2) + "\n")
    return metrics


@torch.no_grad()
def fit_steering(folder: Path, n_train: int, n_val: int, seed: int = 0) -> dict[str, float]:
    """Fit ``folder``'s :class:`~bgtai.generate.steering.Steering` on the pipeline's own audio
    embeddings of ``n_train`` world train sounds (unsteered), save it as ``steering/`` and name
    it in ``pipeline.json``; returns the directions' lengths, their cosines to those fitted on
    ``n_val`` val sounds (how well the sounds pin them down), and how many of those sounds the
    front-end's gate opens for. A steering already named in ``pipeline.json`` is set aside
    first (the fit reads unsteered embeddings, and an old one need not even load); until the new
    one is saved, the folder is a valid pipeline without steering."""
    manifest = folder / "pipeline.json"
    spec = json.loads(manifest.read_text()) if manifest.is_file() else {}
    if spec.pop("steering", None) is not None:
        manifest.write_text(json.dumps(spec, indent=2) + "\n")
    pipe = SoundToImage.from_pretrained(folder)
    embedder = pipe.backend.embedder
    if not isinstance(embedder, JointEmbedder):
        raise ValueError(f"{folder} is not a joint-space pipeline: the steering reads its "
                         "audio embeddings")

    def world(split: str, n: int):
        ds = WorldDataset(split, n, seed=seed, kind="event")
        items = [ds.event(i) for i in tqdm(range(n), desc=f"world {split}")]
        waves = [w.astype(np.float32) for _, w, _ in items]
        return [e for e, _, _ in items], waves, embed_in_batches(waves, embedder.embed_audio,
                                                                 batch=64)

    events, _, embeddings = world("train", n_train)
    steering = Steering.fit(embeddings, events)
    val_events, val_waves, val_embeddings = world("val", n_val)
    check = Steering.fit(val_embeddings, val_events)  # the directions again, from other sounds
    weights = torch.cat([embedder.joint.real_weight(*pad_waves(val_waves[i:i + 64]))
                         for i in range(0, n_val, 64)])
    metrics = {f"{name}_{key}": value for name in ("loudness", "octave") for key, value in (
        ("norm", float(getattr(steering, name).norm())),
        ("val_cosine", float(F.cosine_similarity(getattr(steering, name),
                                                 getattr(check, name), dim=0))))}
    metrics |= {"val_gate_open_frac": float((weights > 0).float().mean()),
                "n_train": n_train, "n_val": n_val}
    steering.save_pretrained(folder / "steering")
    write_metrics(folder / "steering" / "metrics.json", metrics)
    spec["steering"] = "steering"
    manifest.write_text(json.dumps(spec, indent=2) + "\n")
    return metrics


def main(argv=None) -> dict[str, float]:
    args = parse_args(argv)
    if args.assemble:
        assemble(*args.assemble, args.output_dir, args.joint, args.decoder_dtype, args.guidance_scale,
                 args.candidates)
        return {}
    if args.count_probe or args.steering:
        fit = fit_count_probe if args.count_probe else fit_steering
        metrics = fit(args.output_dir, args.n_train, args.n_val, args.seed)
        print(json.dumps(metrics))
        return metrics
    accelerator, progress = make_accelerator(args, f"generator_{args.stage}")
    model, loader, val_loader, loss_fn, save = build_stage(args, accelerator.device)
    ema = None
    if args.ema_decay > 0:
        from diffusers.training_utils import EMAModel

        ema = EMAModel(model.parameters(), decay=args.ema_decay)
        ema.to(accelerator.device)
        accelerator.register_for_checkpointing(ema)  # before resume(): its state is restored too
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    total = math.ceil(len(loader) / args.grad_accum) * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    budget = StepBudget(total, args.max_minutes)
    scheduler = warmup_cosine(optimizer, budget, args.warmup_steps)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    if val_loader is not None:
        val_loader = accelerator.prepare(val_loader)
    resume(accelerator, args)
    metrics: dict[str, float] = {}
    budget.start(progress.step)

    def after_step(logs: dict) -> None:
        if ema is not None:
            ema.step(model.parameters())
        if budget.observe(progress.step):
            mine = torch.tensor([budget.total], device=accelerator.device)
            budget.total = metrics["total_steps"] = int(accelerator.gather(mine).min())
        metrics["train_loss"] = logs["loss/loss"]

    def after_epoch() -> None:
        if val_loader is not None:
            metrics.update(evaluate(model, loss_fn, val_loader, accelerator))
        metrics["epoch"] = progress.epoch
        accelerator.log(metrics, step=progress.step)
        accelerator.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=loader_epochs(accelerator, loader),
                      epoch_length=len(loader), step_fn=lambda batch: loss_fn(model, batch[0]),
                      total=budget, desc=f"generator/{args.stage}", after_step=after_step,
                      after_epoch=after_epoch):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        final = accelerator.unwrap_model(model)
        if ema is not None:
            ema.copy_to(final.parameters())
        save(final, args.output_dir / "model")
        write_metrics(args.output_dir / "metrics.json", metrics)
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
