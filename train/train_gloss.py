"""Train Langue2Gloss (text and speech -> gloss) with Accelerate.

The corpus is WordNet's example sentences, ``--n-joined`` longer inputs joined from them, and
world descriptions, glossed by the rules (:func:`bgtai.data.corpus.training_corpus`); a subset is
spoken with espeak-ng in the training voices. Every step trains text -> gloss on a text batch;
every ``--speech-every`` steps a speech batch adds speech -> gloss and the speech-to-text pull
(:meth:`Langue2Gloss.speech_text_pull`).

CPU recipe that makes the bundled ``assets/gloss`` checkpoint in three stages (56 + 40 + 79
minutes on 2 cores; figures in docs/results.md): the real ASLG-PC12 training pairs given twice,
so each is seen four times, then a fine-tune (``--init``) on them three times over beside part of
the same corpus, then that fine-tune once more at half the rate::

    python -m train.train_gloss --output-dir runs/gloss --epochs 2 --speech-pairs 2000 \
        --num-workers 2 --n-world 5000 --n-joined 12000 --speech-every 4 \
        --data aslg:../shared/data/aslg_pc12_train.tsv \
        --data aslg:../shared/data/aslg_pc12_train.tsv
    python -m train.train_gloss --output-dir runs/gloss_ft --init runs/gloss/model --epochs 2 \
        --lr 3e-4 --warmup-steps 100 --speech-pairs 0 --n-world 5000 --n-joined 12000 \
        --max-pairs 16000 --data aslg:../shared/data/aslg_pc12_train.tsv \
        --data aslg:../shared/data/aslg_pc12_train.tsv \
        --data aslg:../shared/data/aslg_pc12_train.tsv
    python -m train.train_gloss --output-dir runs/gloss_s3 --init runs/gloss_ft/model --epochs 2 \
        --lr 1.5e-4 --warmup-steps 100 --speech-pairs 0 --n-world 5000 --n-joined 12000 \
        --max-pairs 16000 --data aslg:../shared/data/aslg_pc12_train.tsv \
        --data aslg:../shared/data/aslg_pc12_train.tsv \
        --data aslg:../shared/data/aslg_pc12_train.tsv

A fine-tune keeps ``--seed``, ``--n-world`` and ``--n-joined`` of the first stage, so that its
corpus splits are the same (its validation sentences stay unseen).

GPUs: ``accelerate launch -m train.train_gloss --output-dir runs/gloss --mixed-precision bf16``.

Real text: ``--data aslg:/data/aslg_pc12.tsv --data how2:/data/how2`` (repeatable) adds ASLG-PC12's
text-gloss pairs and How2's transcripts with their summaries glossed by the rules (the paper's
long input -> short output) to the training pairs (the vocabulary is trained on them too).

Pretrained backend: ``--text-backbone bert-base-uncased`` and ``--speech-backbone
microsoft/wavlm-base-plus`` (Hugging Face ids or folders) replace the pre-nets with those
encoders, fine-tuned at ``--backbone-lr``; text is then read with the backbone's tokenizer
(docs/gloss.md).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from bgtai.data.adapters.catalog import TEXT_SETS, gloss_pairs
from bgtai.data.corpus import training_corpus
from bgtai.data.speech import speak_many
from bgtai.eval import gloss_bleu4, token_error_rate
from bgtai.gloss import tokenize_words
from bgtai.gloss.backbones import BackboneTokenizer
from bgtai.gloss.data import GlossPairs
from bgtai.gloss.model import Langue2Gloss, Langue2GlossConfig
from bgtai.gloss.subwords import SubwordVocab
from bgtai.gloss.translator import GlossTranslator
from train.common import (
    EpochShuffle,
    base_parser,
    data_argument,
    make_accelerator,
    resume,
    train_loop,
    warmup_cosine,
    write_metrics,
)


def parse_args(argv=None):
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(epochs=6, batch_size=64, lr=1e-3)
    p.add_argument("--vocab-size", type=int, default=4000)
    p.add_argument("--d-model", type=int, default=192)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--enc-layers", type=int, default=4)
    p.add_argument("--dec-layers", type=int, default=2)
    p.add_argument("--ff-dim", type=int, default=768)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--n-world", type=int, default=20_000, help="world descriptions drawn")
    p.add_argument("--max-pairs", type=int, default=None, help="cap on training pairs (tests)")
    p.add_argument("--n-joined", type=int, default=0,
                   help="long training inputs made by joining 2-3 WordNet examples")
    p.add_argument("--speech-pairs", type=int, default=3000,
                   help="training sentences spoken with espeak-ng (0: text only)")
    p.add_argument("--speech-every", type=int, default=2,
                   help="one speech batch after every N text batches")
    p.add_argument("--speech-max-words", type=int, default=16,
                   help="only sentences up to this many words are spoken (keeps batches short)")
    p.add_argument("--pull-weight", type=float, default=0.5,
                   help="weight of the speech-to-text pull term")
    p.add_argument("--eval-pairs", type=int, default=300, help="val pairs decoded each epoch")
    p.add_argument("--warmup-steps", type=int, default=300)
    p.add_argument("--text-backbone", default=None,
                   help="Hugging Face id or folder of a BERT-class text encoder "
                        "(e.g. bert-base-uncased)")
    p.add_argument("--speech-backbone", default=None,
                   help="Hugging Face id or folder of a WavLM/HuBERT-class speech encoder "
                        "(e.g. microsoft/wavlm-base-plus)")
    p.add_argument("--backbone-lr", type=float, default=3e-5,
                   help="peak learning rate of the pretrained backbones")
    p.add_argument("--init", type=Path, default=None,
                   help="fine-tune a trained Langue2Gloss folder (its weights, vocabulary and "
                        "architecture; the model options above are then ignored)")
    data_argument(p, TEXT_SETS)
    return p.parse_args(argv)


def use_text_tokenizer(dataset: GlossPairs, texts: list[str], vocab: SubwordVocab,
                       text_tokenizer: BackboneTokenizer) -> None:
    """Re-encode the text side of ``dataset`` (built from ``texts``) with a text backbone's
    tokenizer. The Result Filter targets follow: a token is aligned wherever its word is, as
    with the vocabulary's pieces."""
    for k, text in enumerate(texts):
        words = tokenize_words(text)
        _, piece_word = vocab.encode_words(words)
        ids, token_word = text_tokenizer.encode_words(words)
        first_piece = [piece_word.index(w) for w in range(len(words))]
        dataset.text[k] = ids
        dataset.align[k] = dataset.align[k][:, first_piece][:, token_word]


def build_data(args, accelerator, text_tokenizer: BackboneTokenizer | None = None,
               vocab: SubwordVocab | None = None):
    """Corpus splits, the vocabulary (trained on the train split only, unless a fine-tuned
    model's ``vocab`` is given) and the datasets (their text read with ``text_tokenizer`` if
    given)."""
    train_pairs = training_corpus(args.seed, "train", n_world=args.n_world, limit=args.max_pairs,
                                  n_joined=args.n_joined)
    train_pairs += [p for spec in args.data for p in gloss_pairs(spec.read("train"))]
    val_pairs = training_corpus(args.seed, "val", n_world=args.n_world, limit=args.eval_pairs)
    rng = np.random.default_rng(args.seed)
    if vocab is None:
        vocab = SubwordVocab.train((s.lower() for pair in train_pairs for s in pair),
                                   vocab_size=args.vocab_size)
    text_set = GlossPairs(vocab, train_pairs)
    if text_tokenizer is not None:
        use_text_tokenizer(text_set, [t for t, _ in train_pairs], vocab, text_tokenizer)
    speech_set = val_speech = None
    if args.speech_pairs > 0:
        short = [p for p in train_pairs if len(p[0].split()) <= args.speech_max_words]
        chosen = [short[i] for i in rng.permutation(len(short))[: args.speech_pairs]]
        workers = max(args.num_workers, 1)
        waves = speak_many([t for t, _ in chosen], split="train", seed=args.seed,
                           workers=workers, progress=accelerator.is_local_main_process)
        speech_set = GlossPairs(vocab, chosen, waves)
        if text_tokenizer is not None:
            use_text_tokenizer(speech_set, [t for t, _ in chosen], vocab, text_tokenizer)
        val_short = [p for p in val_pairs if len(p[0].split()) <= args.speech_max_words]
        val_speech = GlossPairs(vocab, val_short, speak_many(
            [t for t, _ in val_short], split="val", seed=args.seed + 1, workers=workers))
    return vocab, text_set, speech_set, val_pairs, val_speech


@torch.no_grad()
def evaluate(translator: GlossTranslator, val_pairs, val_speech) -> dict[str, float]:
    """Greedy-decode the val texts (and val speech): BLEU-4 and token error rate."""
    model, vocab = translator.model, translator.vocab
    model.eval()
    refs = [g for _, g in val_pairs]
    hyps = [translator.from_text(t).text for t, _ in val_pairs]
    metrics = {"val_text_bleu4": gloss_bleu4(hyps, refs),
               "val_text_ter": token_error_rate(hyps, refs)}
    if val_speech is not None:
        s_refs, s_hyps = [], []
        for k in range(len(val_speech)):
            wave = val_speech.waves[k].astype(np.float32) / 32767
            s_hyps.append(translator.from_speech(wave).text)
            s_refs.append(vocab.tok.decode(val_speech.gloss[k][1:-1]).upper())
        metrics["val_speech_bleu4"] = gloss_bleu4(s_hyps, s_refs)
        metrics["val_speech_ter"] = token_error_rate(s_hyps, s_refs)
    model.train()
    return metrics


def main(argv=None) -> dict[str, float]:
    args = parse_args(argv)
    accelerator, progress = make_accelerator(args, "gloss", find_unused_parameters=True)
    text_tokenizer = start = None
    if args.init is not None:
        start = GlossTranslator.from_pretrained(args.init)
        text_tokenizer = start.text_tokenizer
    elif args.text_backbone:
        with accelerator.main_process_first():  # one process downloads, the others read the cache
            text_tokenizer = BackboneTokenizer.from_pretrained(args.text_backbone)
    vocab, text_set, speech_set, val_pairs, val_speech = build_data(
        args, accelerator, text_tokenizer, None if start is None else start.vocab)
    if start is not None:
        model = start.model.train()
    else:
        config = Langue2GlossConfig(vocab_size=len(vocab), d_model=args.d_model,
                                    n_heads=args.heads, enc_layers=args.enc_layers,
                                    dec_layers=args.dec_layers, ff_dim=args.ff_dim,
                                    dropout=args.dropout, text_backbone=args.text_backbone,
                                    speech_backbone=args.speech_backbone)
        with accelerator.main_process_first():
            model = Langue2Gloss(config)
    # Loaders get generators of their own: creating an iterator draws a seed from its
    # generator, which must not be the global one that dropout uses, or a resumed run (which
    # creates its iterator after restoring the RNG) would see other dropout masks.
    text_loader = DataLoader(text_set, batch_size=args.batch_size,
                             sampler=EpochShuffle(len(text_set), args.seed),
                             collate_fn=text_set.collate, drop_last=True,
                             generator=torch.Generator().manual_seed(args.seed))
    speech_loader = None if speech_set is None else DataLoader(
        speech_set, batch_size=max(8, args.batch_size // 4),
        sampler=EpochShuffle(len(speech_set), args.seed + 1), collate_fn=speech_set.collate,
        drop_last=True, generator=torch.Generator().manual_seed(args.seed + 1))
    # pretrained backbones are fine-tuned gently: the rate that trains the rest from scratch
    # would wipe out what they learned
    pretrained = model.pretrained_parameters()
    pretrained_ids = {id(p) for p in pretrained}
    groups = [{"params": [p for p in model.parameters() if id(p) not in pretrained_ids]}]
    if pretrained:
        groups.append({"params": pretrained, "lr": args.backbone_lr})
    optimizer = torch.optim.AdamW(groups, lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(text_loader) / args.grad_accum)
    total = steps_per_epoch * args.epochs
    if args.max_steps is not None:
        total = min(total, args.max_steps)
    scheduler = warmup_cosine(optimizer, total, args.warmup_steps)
    model, optimizer, text_loader, scheduler = accelerator.prepare(model, optimizer, text_loader,
                                                                   scheduler)
    if speech_loader is not None:
        speech_loader = accelerator.prepare(speech_loader)
    resume(accelerator, args)
    translator = GlossTranslator(accelerator.unwrap_model(model), vocab, text_tokenizer)

    def speech_batches(epoch: int, skip: int):
        """Speech batches cycling within an epoch, in an order fixed by (seed, epoch)."""
        cycle, skip = divmod(skip, len(speech_loader))
        while True:
            # set the epoch first: skip_first_batches builds its loader from the sampler's state
            speech_loader.set_epoch(epoch * 1000 + cycle)
            loader = accelerator.skip_first_batches(speech_loader, skip) if skip else speech_loader
            yield from loader
            cycle, skip = cycle + 1, 0

    def epoch_batches(epoch: int, skip: int):
        """(text batch, speech batch or None): a speech batch goes with text batches 0, k, 2k..."""
        text_loader.set_epoch(epoch)
        loader = accelerator.skip_first_batches(text_loader, skip) if skip else text_loader
        # ceil(skip / k) speech batches were used by the skipped text batches
        speech_iter = None if speech_loader is None else speech_batches(
            epoch, -(-skip // args.speech_every))
        for i, batch in enumerate(loader, start=skip):
            take = speech_iter is not None and i % args.speech_every == 0
            yield batch, (next(speech_iter) if take else None)

    metrics: dict[str, float] = {}

    def after_epoch() -> None:
        nonlocal metrics
        if accelerator.is_main_process:
            metrics = evaluate(translator, val_pairs, val_speech)
            metrics["epoch"] = progress.epoch
            accelerator.log(metrics, step=progress.step)
            accelerator.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    if not train_loop(accelerator, args, progress, model=model, optimizer=optimizer,
                      scheduler=scheduler, epoch_batches=epoch_batches,
                      epoch_length=len(text_loader), total=total, desc="gloss",
                      step_fn=lambda b: model(b[0], b[1], pull_weight=args.pull_weight),
                      after_epoch=after_epoch):
        return {"stopped_at_step": progress.step}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        metrics["n_train_pairs"] = len(text_set)  # the corpus and every --data pair
        translator.save_pretrained(args.output_dir / "model")
        write_metrics(args.output_dir / "metrics.json", metrics)
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
