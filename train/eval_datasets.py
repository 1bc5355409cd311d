"""The paper's protocols on the real data sets, one ``train.evaluate`` task per set.

``python -m train.evaluate TASK --root DIR [--json PATH]``; DIR is the data set's folder in the
layout of its adapter (:mod:`bgtai.data.adapters`). Every clip is read once (``--num-workers``
processes), cut to its first ``--max-seconds``; a clip that cannot be read (corrupt, silent
where that matters, frames unreadable) is counted in ``n_unreadable`` and listed on stderr, not
fatal. ``n_clips`` counts the clips scored. With ``--json PATH`` the Markdown table (this run
beside the paper's figures, in the paper's layout) is also written to ``PATH`` with ``.md``.

- **esc50**, **urbansound8k** (Table 2): ``zero_shot_acc`` (nearest class-prompt embedding,
  prompts of :func:`bgtai.data.language.label_prompts` read as gloss, as ``train.evaluate
  joint``), ``linear_probe_acc`` (the official cross-validation: each of the 5 / 10 predefined
  folds held out in turn, logistic regression on the frozen audio embeddings of the others;
  mean over folds) and ``linear_probe_acc_fold<k>``.
- **audiocaps**, **clotho** (Tables 3 and 5), test / evaluation split:
  ``text_to_audio_r1/r5/r10/mrr/map10`` (each caption finds its clip),
  ``audio_to_text_*`` (each clip finds any of its captions; mAP@10 over all of them) and, with
  the captioner (``--captioner``), ``caption_bleu1/bleu4/rouge_l/cider_d[/meteor]`` of its
  English captions against the references (:mod:`bgtai.eval.captioning`).
- **vggsound** (Table 2, cross-modal retrieval), test split: ``audio_to_image_mrr``,
  ``image_to_audio_mrr`` and R@1/5/10, each clip's middle frame against its own audio; with
  ``--projector`` the pretrained profile (audio projector + its frozen CLIP) instead of the
  joint model.
- **how2** (devtest), **aslg** (the TSV file): ``model_bleu4`` of Langue2Gloss (``--model``,
  sacrebleu's 0-100 scale) and ``rules_bleu4`` of the rule converter, against How2's summary
  glossed by the rules (the paper's long input -> short output) or ASLG-PC12's gloss; a text the
  model refuses is counted in ``n_unreadable``; ``n_pairs`` counts the pairs scored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bgtai.audio import SAMPLE_RATE
from bgtai.data.adapters import caption_queries
from bgtai.data.adapters.catalog import DataSpec
from bgtai.data.language import label_prompts
from bgtai.eval import (
    bidirectional_retrieval,
    fold_probe_accuracy,
    map_at_k,
    retrieval_metrics,
    zero_shot_accuracy,
)
from bgtai.joint.model import JointModel
from bgtai.joint.real_data import LONGEST_FILE_S, middle_frame
from train.eval_joint import DEFAULT_CHECKPOINT

DEFAULT_CAPTIONER = Path(__file__).resolve().parents[1] / "assets" / "caption"

PAPER = {
    "esc50": {"linear_probe_acc": 0.9455, "zero_shot_acc": 0.5015},
    "urbansound8k": {"linear_probe_acc": 0.8911, "zero_shot_acc": 0.4896},
    "vggsound": {"audio_to_image_mrr": 0.0622, "image_to_audio_mrr": 0.0745},
    "audiocaps": {"text_to_audio_r1": 0.095, "text_to_audio_r10": 0.395},
    "clotho": {"text_to_audio_r1": 0.042, "text_to_audio_r10": 0.249, "caption_bleu1": 0.476,
               "caption_bleu4": 0.185, "caption_meteor": 0.126, "caption_rouge_l": 0.328,
               "caption_cider_d": 0.121},
}
"""BGTAI's figures in the paper: Table 2 (ESC-50 / UrbanSound8K linear-probe and zero-shot
accuracy, VGGSound A->I / I->A MRR), Table 5 (zero-shot text -> audio R@1 / R@10, read as
fractions) and Table 3 (Clotho captioning; the paper's CIDEr, here CIDEr-D)."""
PAPER_SOURCE = {"esc50": "Table 2", "urbansound8k": "Table 2", "vggsound": "Table 2 (CMR)",
                "audiocaps": "Table 5", "clotho": "Tables 3 and 5"}
SPLIT = {"vggsound": "test", "audiocaps": "test", "clotho": "evaluation", "how2": "devtest"}
DEFAULT_GLOSS = Path(__file__).resolve().parents[1] / "assets" / "gloss"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    task = parser.get_default("task")
    parser.add_argument("--root", type=Path, required=True,
                        help="the data set's folder (aslg: the TSV file)")
    if task in ("how2", "aslg"):
        parser.add_argument("--model", default=str(DEFAULT_GLOSS), help="Langue2Gloss folder")
    parser.add_argument("--joint", default=str(DEFAULT_CHECKPOINT),
                        help="JointModel folder or hub id")
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-workers", type=int, default=0, help="processes reading clips")
    if task in SPLIT:
        parser.add_argument("--split", default=SPLIT[task], help="the split scored")
    if task in ("audiocaps", "clotho"):
        parser.add_argument("--captioner", default=str(DEFAULT_CAPTIONER),
                            help="AudioCaptioner folder ('' to skip the captioning metrics)")
        parser.add_argument("--text-form", choices=("text", "gloss"), default="text",
                            help="captions read as raw words or through the gloss rules")
        parser.add_argument("--no-meteor", action="store_true", help="skip METEOR (Java)")
    if task == "vggsound":
        parser.add_argument("--projector", default=None,
                            help="pretrained profile: ClipAudioProjector folder (its CLIP "
                                 "model is read from its config)")


class _Clips(Dataset):
    """Each record's waveform (first ``max_seconds``) and, when asked, its middle frame; an
    unreadable record gives its error message instead."""

    def __init__(self, records, max_seconds: float, frame_size: int | None):
        self.records, self.frame_size = records, frame_size
        self.samples = int(max_seconds * SAMPLE_RATE)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        record = self.records[i]
        try:
            wave = record.load(max_seconds=LONGEST_FILE_S, allow_silent=False)[: self.samples]
            frame = None if self.frame_size is None else middle_frame(record, self.frame_size)
        except (ValueError, OSError) as err:
            return i, None, None, f"{record.path}: {err}"
        return i, torch.from_numpy(np.ascontiguousarray(wave)), frame, None


@torch.no_grad()
def embed_clips(records, embed_audio, args, frame_size: int | None = None):
    """Audio embeddings ``(N, D)`` of the readable records, their indices, their middle frames
    (``(N, S, S, 3)`` uint8 when ``frame_size``) and the messages of the unreadable ones."""
    loader = DataLoader(_Clips(records, args.max_seconds, frame_size), batch_size=args.batch_size,
                        num_workers=args.num_workers, collate_fn=list)
    embeds, kept, frames, failed = [], [], [], []
    for batch in loader:
        ok = [b for b in batch if b[1] is not None]
        failed += [b[3] for b in batch if b[1] is None]
        if not ok:
            continue
        lengths = torch.tensor([len(w) for _, w, _, _ in ok])
        waves = torch.nn.utils.rnn.pad_sequence([w for _, w, _, _ in ok], batch_first=True)
        embeds.append(embed_audio(waves, lengths).float().cpu())
        kept += [i for i, _, _, _ in ok]
        frames += [f for _, _, f, _ in ok]
    for message in failed:
        print(f"unreadable: {message}", file=sys.stderr)
    if not kept:
        raise ValueError(f"no readable clip among the {len(records)} listed")
    return torch.cat(embeds), kept, (np.stack(frames) if frame_size else None), failed


def joint_audio(model: JointModel):
    return lambda waves, lengths: model.embed_audio(waves, lengths)[0]


def classification(task: str, records, args) -> dict:
    """Zero-shot and official-fold linear-probe accuracy (ESC-50, UrbanSound8K)."""
    model = JointModel.from_pretrained(args.joint).eval()
    audio, kept, _, failed = embed_clips(records, joint_audio(model), args)
    labels = [records[i].label for i in kept]
    folds = [records[i].fold for i in kept]
    classes = sorted(set(labels))
    prompts = torch.stack([model.embed_captions(label_prompts(c), "gloss").mean(0)
                           for c in classes])
    per_fold = fold_probe_accuracy(audio.numpy(), labels, folds)
    return {"zero_shot_acc": zero_shot_accuracy(audio, prompts.cpu(),
                                                [classes.index(y) for y in labels]),
            "linear_probe_acc": float(np.mean(list(per_fold.values()))),
            **{f"linear_probe_acc_fold{k}": v for k, v in per_fold.items()},
            "n_classes": len(classes), "n_folds": len(per_fold),
            "n_clips": len(kept), "n_unreadable": len(failed)}


def captioned(task: str, records, args) -> dict:
    """Text <-> audio retrieval and captioning metrics (AudioCaps, Clotho)."""
    model = JointModel.from_pretrained(args.joint).eval()
    audio, kept, _, failed = embed_clips(records, joint_audio(model), args)
    clips = [records[i] for i in kept]
    captions, targets = caption_queries(clips)
    text = torch.cat([model.embed_captions(captions[s:s + 256], args.text_form).cpu()
                      for s in range(0, len(captions), 256)])
    relevant = targets[None, :] == np.arange(len(clips))[:, None]  # clip x caption
    out = {}
    for prefix, q, g, t in (("text_to_audio", text, audio, targets),
                            ("audio_to_text", audio, text, relevant)):
        out |= {f"{prefix}_{k}": v for k, v in retrieval_metrics(q, g, targets=t).items()}
        out[f"{prefix}_map10"] = map_at_k(q, g, 10, targets=t)
    if args.captioner:
        out |= caption_scores(clips, args)
    return {**out, "n_captions": len(captions), "n_clips": len(clips), "n_unreadable": len(failed)}


def caption_scores(clips, args) -> dict:
    """The captioner's English captions of the clips against their references."""
    from bgtai.caption.model import MAX_SECONDS, AudioCaptioner
    from bgtai.eval.captioning import caption_metrics

    captioner = AudioCaptioner.from_pretrained(args.captioner).eval()
    hyps = []
    for s in range(0, len(clips), args.batch_size):
        waves = [c.load(max_seconds=LONGEST_FILE_S)[: int(MAX_SECONDS * SAMPLE_RATE)]
                 for c in clips[s:s + args.batch_size]]
        hyps += [c.text for c in captioner.caption_waveforms(waves)]
    scores = caption_metrics(hyps, [list(c.captions) for c in clips],
                             meteor=False if args.no_meteor else None)
    return {f"caption_{k}": v for k, v in scores.items()}


def audio_image(task: str, records, args) -> dict:
    """Audio <-> image retrieval between each clip and its middle frame (VGGSound)."""
    if args.projector:
        from bgtai.joint.pretrained import ClipAudioProjector, clip_image_embeds, load_clip_vision

        projector = ClipAudioProjector.from_pretrained(args.projector).eval()
        vision = load_clip_vision(projector.config.clip_model)
        audio, kept, frames, failed = embed_clips(records, projector.embed_audio, args,
                                                  vision.config.image_size)
        pixels = torch.from_numpy(frames).permute(0, 3, 1, 2)
        images = torch.cat([clip_image_embeds(vision, pixels[s:s + 64])
                            for s in range(0, len(pixels), 64)])
    else:
        model = JointModel.from_pretrained(args.joint).eval()
        audio, kept, frames, failed = embed_clips(records, joint_audio(model), args, 64)
        with torch.no_grad():
            images = model.embed_image(torch.from_numpy(frames).permute(0, 3, 1, 2))
    out = bidirectional_retrieval(audio, images.cpu(), names=("audio", "image"))
    return {**out, "n_clips": len(kept), "n_unreadable": len(failed)}


def gloss_text(task: str, records, args) -> dict:
    """BLEU-4 of the gloss model and of the rules on text -> gloss pairs (How2, ASLG-PC12)."""
    from bgtai.data.adapters.catalog import gloss_pairs
    from bgtai.eval import gloss_bleu4
    from bgtai.gloss import english_to_gloss
    from bgtai.gloss.translator import GlossTranslator

    translator = GlossTranslator.from_pretrained(args.model)
    pairs, hyps, failed = gloss_pairs(records), [], []
    for text, _ in pairs:
        try:
            hyps.append((translator.from_text(text).text, english_to_gloss(text)))
        except ValueError as err:
            failed.append(f"{text[:60]!r}: {err}")
            hyps.append(None)
    for message in failed:
        print(f"unreadable: {message}", file=sys.stderr)
    kept = [(h, g) for h, (_, g) in zip(hyps, pairs) if h is not None]
    if not kept:
        raise ValueError(f"no text of {args.root} could be glossed")
    refs = [g for _, g in kept]
    return {"model_bleu4": gloss_bleu4([h[0] for h, _ in kept], refs),
            "rules_bleu4": gloss_bleu4([h[1] for h, _ in kept], refs),
            "n_pairs": len(kept), "n_unreadable": len(failed) + len(records) - len(pairs)}


PROTOCOLS = {"esc50": classification, "urbansound8k": classification, "vggsound": audio_image,
             "audiocaps": captioned, "clotho": captioned, "how2": gloss_text, "aslg": gloss_text}


def markdown_table(task: str, metrics: dict) -> str:
    """This run's figures beside the paper's, columns as in the paper's table."""
    paper_figures = PAPER.get(task, {})
    keys = list(paper_figures) or [k for k in metrics if k.endswith("bleu4")]
    head = "| | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys) + "\n"
    paper = "| BGTAI, paper " + PAPER_SOURCE.get(task, "(no figure)") + " | " + " | ".join(
        f"{paper_figures[k]:.4f}" if k in paper_figures else "-" for k in keys) + " |\n"
    count = (f"{metrics['n_clips']} clips" if "n_clips" in metrics
             else f"{metrics['n_pairs']} pairs")
    ours = f"| this run ({count}) | " + " | ".join(
        f"{metrics[k]:.4f}" if k in metrics else "-" for k in keys) + " |\n"
    return head + paper + ours


def run(args: argparse.Namespace) -> dict:
    task = args.task
    if args.max_seconds <= 0 or args.batch_size < 1:
        raise SystemExit("--max-seconds must be positive and --batch-size >= 1")
    records = DataSpec(task, args.root).read(getattr(args, "split", None))
    metrics = PROTOCOLS[task](task, records, args)
    table = markdown_table(task, metrics)
    print(table, file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.with_suffix(".md").write_text(table, encoding="utf-8")
    return metrics
