"""Long text: the bundled Langue2Gloss model on paragraphs of real ASLG-PC12 sentences.

Consecutive pairs of the shared file are joined into paragraphs of at least ``--words``
words (60 and 300 by default), texts with texts and glosses with glosses, and each paragraph
is glossed three ways: by the rules, by the model as the app runs it (sentence by sentence,
repetition guard on), and by the model reading the paragraph as one sequence (the app's
behaviour before sentence splitting, with and without the guard). BLEU-4 (sacrebleu
``corpus_bleu``, as ``benchmarks.gloss_rules``) against the real glosses, and against the rules'
output; ``--ngrams`` compares repetition guards on the single sentences::

    python -m benchmarks.gloss_long [--pairs ../shared/data/aslg_pc12_dev.tsv] [--limit 400]
        [--words 60 300] [--ngrams 0 3 4 5] [--json OUT]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the 2 cores are shared (benchmarks/dtw.py)

import argparse
import json
import time
from pathlib import Path

from benchmarks.gloss_rules import DEFAULT_PAIRS, _bleu
from bgtai.gloss import english_to_gloss
from bgtai.gloss.translator import GlossTranslator

MODEL = Path(__file__).resolve().parents[1] / "assets" / "gloss"


def paragraphs(pairs: list[tuple[str, str]], words: int) -> list[tuple[str, str]]:
    """Join consecutive ``(text, gloss)`` pairs until each text has at least ``words`` words
    (a short remainder is dropped)."""
    out, texts, glosses = [], [], []
    for text, gloss in pairs:
        texts.append(text)
        glosses.append(gloss)
        if sum(len(t.split()) for t in texts) >= words:
            out.append((" ".join(texts), " ".join(glosses)))
            texts, glosses = [], []
    return out


def _whole(translator: GlossTranslator, text: str, no_repeat_ngram: int) -> str:
    """The model on the text as one sequence (no sentence splitting), with the old length cap."""
    translator.no_repeat_ngram = no_repeat_ngram
    result = translator._sentence(translator._words_of(text), beam_size=1, max_len=256)
    return result.text


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print and return its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="text<TAB>gloss TSV")
    parser.add_argument("--model", default=str(MODEL), help="Langue2Gloss folder or Hub id")
    parser.add_argument("--limit", type=int, default=400, help="use the first LIMIT pairs")
    parser.add_argument("--words", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--ngrams", type=int, nargs="*", default=[],
                        help="also score these no-repeat n-gram sizes on the single sentences")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not args.pairs.is_file():
        parser.error(f"pairs file not found: {args.pairs}")
    lines = args.pairs.read_text(encoding="utf-8").splitlines()[: args.limit]
    pairs = [tuple(line.split("\t")[:2]) for line in lines]
    translator = GlossTranslator.from_pretrained(args.model)
    guard = translator.no_repeat_ngram
    figures: dict[str, float] = {"pairs": len(pairs)}

    for n in args.ngrams:
        translator.no_repeat_ngram = n
        hyps = [translator.from_text(text).text for text, _ in pairs]
        figures[f"sentences_ngram{n}_bleu4"] = _bleu(hyps, [g for _, g in pairs])
    translator.no_repeat_ngram = guard

    for words in args.words:
        paras = paragraphs(pairs, words)
        texts, refs = [p[0] for p in paras], [p[1] for p in paras]
        rules = [english_to_gloss(t) for t in texts]
        start = time.perf_counter()
        model = [translator.from_text(t).text for t in texts]
        seconds = (time.perf_counter() - start) / len(texts)
        whole = [_whole(translator, t, 0) for t in texts]
        whole_guard = [_whole(translator, t, guard) for t in texts]
        translator.no_repeat_ngram = guard
        key = f"w{words}"
        figures.update({
            f"{key}_paragraphs": len(paras),
            f"{key}_mean_words": sum(len(t.split()) for t in texts) / len(texts),
            f"{key}_rules_bleu4": _bleu(rules, refs),
            f"{key}_model_bleu4": _bleu(model, refs),
            f"{key}_model_vs_rules_bleu4": _bleu(model, rules),
            f"{key}_whole_bleu4": _bleu(whole, refs),
            f"{key}_whole_guard_bleu4": _bleu(whole_guard, refs),
            f"{key}_model_s_per_paragraph": seconds,
        })
    for k, v in figures.items():
        print(f"{k:32s} {v:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
