"""Fine-tune only the audio tower of a joint model so that it survives real recordings.

The text, gloss and image towers stay frozen, so the class prompts, the generator's mappers
(``assets/generator/*_mapper``) and everything else built on the joint space stay valid. Each
step takes ``--batch-size`` world train events and as many real labelled recordings:

* **consistency**: the student's embedding of a *randomised* world sound
  (:func:`bgtai.data.augment.randomise`: room, microphone, noise, clipping) and of the clean
  sound are pulled to the frozen original model's embedding of the clean sound
  (``1 - cosine``), which keeps the loudness, pitch and count information the sliders and the
  generator read. With ``--p-edit``, that share of the world sounds is first moved by the app's
  sliders (:func:`bgtai.generate.edits.edit_sound`, gain and semitones drawn within the
  class's :func:`~bgtai.generate.edits.world_range`), so the teacher's reading of an *edited*
  sound, which the sliders' pictures are drawn from, is kept too;
* **class prompts**: cross-entropy of the student's audio-gloss logits (frozen class-prompt
  embeddings, the model's own scale) for the randomised world sounds and for real recordings
  of the world's classes from ``--real-dir`` (``DIR/<class>/*``; random level, randomised half
  the time);
* **outliers** (``--outlier-weight``): real recordings from ``DIR/other/`` are pushed towards
  a uniform class distribution (outlier exposure), so that the softmax confidence the open-set
  check reads is low for them.

``--frontend aisfx`` gives the student a frozen pretrained front-end (:mod:`bgtai.joint.frontend`)
whose head starts at zero, so the student starts as the teacher; ``--train`` says what learns:
the audio tower (the default), the front-end's head, or both. The head's feature
standardisation is set from the first items' features before training. With
``--frontend-gate N``, the head's output is weighted by a gate
(:class:`bgtai.joint.frontend.FrontendHead`) set from those same features before training and
then held: the clean and randomised world sounds of the first ``N`` items are its bank of
world sounds, the other items' clean sounds and all their real recordings say how far from
the bank is "real". World sounds keep the teacher's embedding while the head learns real
recordings.

``--real-dir`` must never be the real-sound dev set (docs/real_sounds.md)::

    python -m scripts.make_gm_sounds --out runs/gm_sounds
    python -m scripts.make_sample_sounds --out runs/gm_sounds
    python -m train.finetune_audio --output-dir runs/ft2 --real-dir runs/gm_sounds --cpu \\
        --torch-threads 1 --n-events 3000 --batch-size 32 --epochs 4     # docs/real_sounds.md
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from bgtai.data.augment import Randomisation, random_gain_db, randomise
from bgtai.data.events import CLASSES, LOUDNESS_RANGE
from bgtai.data.world import WorldDataset, collate_world
from bgtai.generate.edits import WorldRange, edit_sound, world_range
from bgtai.joint.data import batch_lengths
from bgtai.joint.frontend import FRONTENDS
from bgtai.joint.heard import DEFAULT_JOINT, audio_gloss_scale, class_embeddings
from bgtai.joint.model import JointModel
from bgtai.readers import read_loudness
from train.common import (EpochShuffle, base_parser, loader_epochs, make_accelerator, resume,
                          train_loop, warmup_cosine, write_metrics)
from train.eval_real import OTHER, list_clips, load_clips

TRAINABLE = {"tower": ("audio.",), "frontend": ("frontend.head.",),
             "both": ("audio.", "frontend.head.")}


def parse_args(argv=None) -> argparse.Namespace:
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=2, batch_size=16, lr=3e-4)
    p.add_argument("--init", default=str(DEFAULT_JOINT), help="joint model to start from")
    p.add_argument("--real-dir", type=Path, default=None,
                   help="labelled real recordings, DIR/<class>/* and DIR/other/* (not the dev set)")
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--n-events", type=int, default=1200, help="world train events per epoch")
    p.add_argument("--consistency-weight", type=float, default=4.0)
    p.add_argument("--class-weight", type=float, default=1.0)
    p.add_argument("--outlier-weight", type=float, default=0.5)
    p.add_argument("--p-other", type=float, default=0.25,
                   help="chance that a real item is drawn from DIR/other/")
    p.add_argument("--p-edit", type=float, default=0.0,
                   help="chance that a world sound is first edited by the sliders (world range)")
    p.add_argument("--frontend", choices=FRONTENDS[1:], default=None,
                   help="add this frozen pretrained front-end to the student "
                        "(bgtai.joint.frontend)")
    p.add_argument("--frontend-gate", type=int, default=0, metavar="N",
                   help="gate the new front-end head on the distance to the world sounds of "
                        "the first N standardisation items (needs --frontend and --real-dir; "
                        "module docstring)")
    p.add_argument("--train", choices=TRAINABLE, default="tower",
                   help="what the student trains: the audio tower, the front-end's head, or both")
    p.add_argument("--standardise-items", type=int, default=256,
                   help="items whose front-end features set the head's standardisation")
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--torch-threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.n_events < args.batch_size:
        p.error("--batch-size must be >= 1 and --n-events at least one batch")
    if not 0.0 <= args.p_other < 1.0:
        p.error("--p-other must be in [0, 1)")
    if not 0.0 <= args.p_edit <= 1.0:
        p.error("--p-edit must be in [0, 1]")
    if args.frontend_gate and not (args.frontend and args.real_dir):
        p.error("--frontend-gate needs --frontend and --real-dir")
    if not 0 <= args.frontend_gate < args.standardise_items:
        p.error("--frontend-gate must be >= 0 and fewer than --standardise-items")
    return args


class RandomisedWorld(Dataset):
    """World train event ``i`` (clean and randomised) with one real recording drawn at random.

    Items: ``clean``, ``noisy`` (waves), ``class``; with real recordings also ``real`` (a wave
    at a random level of the world's range, randomised half the time) and ``real_class``
    (class index, or -1 for ``other/``). Classes of the real set are drawn evenly, so a
    large folder (drums) does not dominate.
    """

    def __init__(self, n: int, seed: int, real_dir: Path | None, p_other: float,
                 spec: Randomisation = Randomisation(), p_edit: float = 0.0):
        self.world = WorldDataset("train", n, seed=seed, kind="event")
        self.spec, self.p_other, self.p_edit = spec, p_other, p_edit
        self._clean: dict[int, tuple[torch.Tensor, int, WorldRange | None]] = {}
        self.real: dict[str, list[np.ndarray]] = {}
        if real_dir is not None:
            waves, folders, failed = load_clips(list_clips(real_dir), max_seconds=4.0)
            if failed:
                print(f"{len(failed)} unreadable files in {real_dir}", file=sys.stderr)
            for wave, folder in zip(waves, folders):
                self.real.setdefault(folder, []).append(wave)
        self.real_classes = sorted(c for c in self.real if c != OTHER)

    def __len__(self) -> int:
        return len(self.world)

    def _world(self, index: int, g: torch.Generator) -> tuple[torch.Tensor, int]:
        if index not in self._clean:  # synthesis costs more than the step: keep each sound
            event, audio, _ = self.world.event(index)
            sliders = world_range(audio, event.cls) if self.p_edit > 0 else None
            self._clean[index] = (torch.from_numpy(audio), CLASSES.index(event.cls), sliders)
        audio, cls, sliders = self._clean[index]
        if sliders is not None and float(torch.rand((), generator=g)) < self.p_edit:
            (g_lo, g_hi), (s_lo, s_hi) = sliders.gain_db, sliders.semitones
            gain = g_lo + (g_hi - g_lo) * float(torch.rand((), generator=g))
            shift = s_lo + (s_hi - s_lo) * float(torch.rand((), generator=g))  # drawn after gain
            audio = torch.from_numpy(edit_sound(audio.numpy(), gain_db=gain, semitones=shift))
        return audio, cls

    def _real(self, g: torch.Generator) -> tuple[torch.Tensor, int]:
        other = OTHER in self.real and float(torch.rand((), generator=g)) < self.p_other
        folder = OTHER if other else self.real_classes[
            int(torch.randint(len(self.real_classes), (), generator=g))]
        pool = self.real[folder]
        wave = pool[int(torch.randint(len(pool), (), generator=g))]
        gain = random_gain_db(g, LOUDNESS_RANGE) - read_loudness(wave)
        x = torch.from_numpy(wave) * 10 ** (gain / 20)
        if float(torch.rand((), generator=g)) < 0.5:
            x = randomise(x, g, self.spec)
        return x.clamp(-1.0, 1.0), -1 if other else CLASSES.index(folder)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # drawn from the global RNG, which Accelerate checkpoints with the run
        g = torch.Generator().manual_seed(int(torch.randint(2 ** 62, ())))
        clean, cls = self._world(index, g)
        item = {"clean": clean, "noisy": randomise(clean, g, self.spec),
                "class": torch.tensor(cls)}
        if self.real_classes:
            real, real_cls = self._real(g)
            item |= {"real": real, "real_class": torch.tensor(real_cls)}
        return item


class AudioFinetune(torch.nn.Module):
    """The student joint model (only its audio tower trainable), the frozen teacher and the
    frozen class-prompt embeddings; ``forward(batch)`` returns the step's losses (module
    docstring), ``"loss"`` their weighted sum. One module, so DDP sees one forward per step."""

    def __init__(self, init: str, weights: dict[str, float], frontend: str | None = None,
                 train: str = "tower", gate: int = 0):
        super().__init__()
        self.teacher = JointModel.from_pretrained(init).requires_grad_(False)
        # a front-end the init has not got: a new head, started at zero, on the init's weights
        self.new_frontend = bool(frontend) and frontend != self.teacher.config.audio_frontend
        if gate and not self.new_frontend:
            raise ValueError("a gate is fitted for a new front-end only (--frontend, on an "
                             "init without one)")
        if self.new_frontend:
            self.student = JointModel(replace(self.teacher.config, audio_frontend=frontend,
                                              frontend_gate=2 * gate))
            missing, unexpected = self.student.load_state_dict(self.teacher.state_dict(),
                                                               strict=False)
            if unexpected or any(not k.startswith("frontend.") for k in missing):
                raise ValueError(f"{init} cannot take a front-end: {unexpected or missing}")
        else:
            self.student = JointModel.from_pretrained(init)
        if train != "tower" and self.student.frontend is None:
            raise ValueError(f"--train {train} needs a front-end (--frontend)")
        for name, param in self.student.named_parameters():
            param.requires_grad_(name.startswith(TRAINABLE[train]))
        self.register_buffer("classes", class_embeddings(self.teacher))
        self.scale = audio_gloss_scale(self.teacher)
        self.weights = weights

    def train(self, mode: bool = True):
        super().train(mode)
        # The teacher, and every batch norm's running statistics, stay the original model's:
        # clean world sounds start exactly where they were, and inference (which uses those
        # statistics) is what is trained.
        for m in self.modules():
            if m is self.teacher or isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self

    def _embed(self, model: JointModel, batch: dict, key: str) -> torch.Tensor:
        return model.embed_audio(batch[key], batch_lengths(batch, key))[0]

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            target = self._embed(self.teacher, batch, "clean")
        clean = self._embed(self.student, batch, "clean")
        noisy = self._embed(self.student, batch, "noisy")
        losses = {"consistency": ((1 - (clean * target).sum(-1)).mean()
                                  + (1 - (noisy * target).sum(-1)).mean()),
                  "class_world": F.cross_entropy(self.scale * noisy @ self.classes.T,
                                                 batch["class"])}
        if "real" in batch:
            logits = self.scale * self._embed(self.student, batch, "real") @ self.classes.T
            inside = batch["real_class"] >= 0
            zero = logits.sum() * 0.0  # keeps every loss in the graph whatever the draw
            losses["class_real"] = (F.cross_entropy(logits[inside], batch["real_class"][inside])
                                    if inside.any() else zero)
            # cross-entropy against the uniform distribution, minus its floor log(classes)
            losses["outlier"] = (-logits[~inside].log_softmax(-1).mean() - math.log(len(CLASSES))
                                 if (~inside).any() else zero)
        losses["loss"] = sum(self.weights[k] * v for k, v in losses.items())
        return losses


@torch.no_grad()
def standardise(frontend, data: RandomisedWorld, n: int, gate_items: int = 0) -> str:
    """Set a new front-end head's standardisation from the features of the first ``n`` items'
    sounds (clean, randomised and real, as the steps will see them); a gated head's gate is set
    from the same features (module docstring), its bank the first ``gate_items`` items' world
    sounds. Returns a summary."""
    items = [data[i] for i in range(min(n, len(data)))]
    waves = [item[key] for key in ("clean", "noisy", "real") for item in items if key in item]
    feats = []
    for i in tqdm(range(0, len(waves), 32), desc="front-end features"):
        batch = collate_world([{"audio": w} for w in waves[i:i + 32]])
        feats.append(frontend.features(batch["audio"], batch_lengths(batch, "audio")))
    feats = torch.cat(feats)
    frontend.head.set_standardisation(feats)
    summary = f"front-end standardised on {len(feats)} sounds"
    if frontend.head.gated:
        clean, noisy, real = feats.split([len(items), len(items), len(feats) - 2 * len(items)])
        fit = frontend.head.fit_gate(torch.cat([clean[:gate_items], noisy[:gate_items]]),
                                     clean[gate_items:], real)
        summary += "; gate: " + ", ".join(f"{k} {v:.3f}" for k, v in fit.items())
    return summary


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    accelerator, progress = make_accelerator(args, "finetune_audio")
    module = AudioFinetune(args.init, {
        "consistency": args.consistency_weight, "class_world": args.class_weight,
        "class_real": args.class_weight, "outlier": args.outlier_weight},
        frontend=args.frontend, train=args.train, gate=args.frontend_gate)
    data = RandomisedWorld(args.n_events, args.world_seed, args.real_dir, args.p_other,
                           p_edit=args.p_edit)
    if module.new_frontend:
        print(standardise(module.student.frontend, data, args.standardise_items,
                          args.frontend_gate))
    loader = DataLoader(data, batch_size=args.batch_size, collate_fn=collate_world,
                        drop_last=True, num_workers=args.num_workers,
                        sampler=EpochShuffle(len(data), args.seed))
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad],
                                  lr=args.lr, weight_decay=args.weight_decay)
    total = math.ceil(len(loader) / args.grad_accum) * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    scheduler = warmup_cosine(optimizer, total, args.warmup_steps)
    model, optimizer, scheduler, loader = accelerator.prepare(module, optimizer, scheduler, loader)
    resume(accelerator, args)
    core = accelerator.unwrap_model(model)
    log: dict[str, float] = {}

    def after_step(logs: dict) -> None:
        log.update(logs)

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=loader_epochs(accelerator, loader),
                      epoch_length=len(loader), step_fn=lambda batches: model(batches[0]),
                      total=total, desc="finetune_audio", after_step=after_step):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    metrics = {**log, "step": progress.step}
    if accelerator.is_main_process:
        core.student.eval().save_pretrained(args.output_dir / "model")
        write_metrics(args.output_dir / "metrics.json", metrics)
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
