"""Quality and speed of the rule-based English -> gloss converter.

Scores BLEU-4 (sacrebleu ``corpus_bleu``) on the shared ASLG-PC12 pairs, split as the project
uses them (lines 1-1000 test, 1001-2000 dev, where the conventions were studied), next to the
uppercase-the-text baseline, and times the converter per sentence::

    python -m benchmarks.gloss_rules [--pairs ../shared/data/aslg_pc12_dev.tsv] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sacrebleu

from bgtai.gloss import english_to_gloss

DEFAULT_PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aslg_pc12_dev.tsv"
TEN_WORDS = "We must give every child a fair chance at school today ."


def _bleu(hypotheses: list[str], references: list[str]) -> float:
    # force: the corpus is tokenised on purpose (gloss tokens, spaced punctuation)
    return sacrebleu.corpus_bleu(hypotheses, [references], force=True).score


def _median_ms(text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        english_to_gloss(text)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print and return its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="text<TAB>gloss TSV")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not args.pairs.is_file():
        parser.error(f"pairs file not found: {args.pairs}")
    pairs = [line.split("\t") for line in args.pairs.read_text(encoding="utf-8").splitlines()]
    texts, references = [p[0] for p in pairs], [p[1] for p in pairs]

    english_to_gloss(TEN_WORDS)  # load the lexicons before timing
    start = time.perf_counter()
    hypotheses = [english_to_gloss(text) for text in texts]
    elapsed = time.perf_counter() - start
    with_quirks = [english_to_gloss(text, aslg_quirks=True) for text in texts]

    figures: dict[str, float] = {}
    for name, part in (("test", slice(0, 1000)), ("dev", slice(1000, 2000)), ("all", slice(None))):
        figures[f"rules_bleu4_{name}"] = _bleu(hypotheses[part], references[part])
        figures[f"rules_quirks_bleu4_{name}"] = _bleu(with_quirks[part], references[part])
        figures[f"upper_bleu4_{name}"] = _bleu([t.upper() for t in texts[part]], references[part])
    figures["ms_per_sentence"] = 1000.0 * elapsed / len(texts)
    figures["median_ms_10_words"] = _median_ms(TEN_WORDS, repeats=200)
    for key, value in figures.items():
        print(f"{key:24s} {value:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
