"""The paper's Tables 2, 3 and 5 from the protocol runs' JSON files, beside the paper's figures.

``python -m train.evaluate paper-tables --results DIR [--markdown PATH] [--json PATH]``: DIR holds
the ``--json`` files of the data-set protocols (``esc50.json``, ``urbansound8k.json``,
``vggsound.json``, ``audiocaps.json``, ``clotho.json``; any subset). The Markdown (default
``DIR/paper_tables.md``, also printed) lays each table out as the paper does, the paper's BGTAI
rows first, this run's rows under them; a cell whose run is missing reads "-". Columns of the
paper with no adapter here (FSD50K, VGGSound classification, TAU, DESED; SPICE and SPIDEr, which
need CoreNLP models) are left out and named under the table. The returned keys: every figure
of the runs read, as ``<set>_<key>``, and ``n_sets``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from train.eval_datasets import PAPER

SETS = ("esc50", "urbansound8k", "vggsound", "audiocaps", "clotho")

TABLE5_ESC_TOP1 = 0.623
"""Table 5's ESC-50 zero-shot top-1 for BGTAI (its Table 2 gives 0.5015 for the same task)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, required=True,
                        help="folder of the protocols' JSON files (<set>.json)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="where the tables go (default: RESULTS/paper_tables.md)")


def _cell(value: float | None, scale: float = 1.0, digits: int = 4) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _table(title: str, header: list[str], rows: list[tuple[str, list[str]]], note: str) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([name, *cells]) + " |" for name, cells in rows]
    return "\n".join(lines + ["", note, ""])


def _clips(runs: dict, *sets: str) -> str:
    counts = [f"{s} {runs[s]['n_clips']}" for s in sets if s in runs]
    return f"this run ({', '.join(counts)} clips)" if counts else "this run"


def paper_tables(runs: dict[str, dict]) -> str:
    """Tables 2, 3 and 5 in the paper's layout from ``{set: metrics}`` of the protocol runs."""
    def got(name: str, key: str) -> float | None:
        return runs.get(name, {}).get(key)

    table2 = _table(
        "Table 2: classification (accuracy) and VGGSound cross-modal retrieval (MRR)",
        ["Model", "ESC-50 ACC", "UrbanSound8K ACC", "VGGSound A->I (MRR)",
         "VGGSound I->A (MRR)"],
        [("BGTAI (paper)", [_cell(PAPER["esc50"]["linear_probe_acc"]),
                            _cell(PAPER["urbansound8k"]["linear_probe_acc"]),
                            _cell(PAPER["vggsound"]["audio_to_image_mrr"]),
                            _cell(PAPER["vggsound"]["image_to_audio_mrr"])]),
         ("BGTAI (ZS) (paper)", [_cell(PAPER["esc50"]["zero_shot_acc"]),
                                 _cell(PAPER["urbansound8k"]["zero_shot_acc"]), "", ""]),
         (_clips(runs, "esc50", "urbansound8k", "vggsound"),
          [_cell(got("esc50", "linear_probe_acc")), _cell(got("urbansound8k", "linear_probe_acc")),
           _cell(got("vggsound", "audio_to_image_mrr")),
           _cell(got("vggsound", "image_to_audio_mrr"))]),
         ("this run (ZS)", [_cell(got("esc50", "zero_shot_acc")),
                            _cell(got("urbansound8k", "zero_shot_acc")), "", ""])],
        "Accuracy: linear probe over the official folds (ZS: zero-shot). Not run here: FSD50K, "
        "VGGSound classification, TAU, DESED (no adapters).")
    clotho = PAPER["clotho"]
    keys3 = ("caption_bleu1", "caption_bleu4", "caption_meteor", "caption_rouge_l",
             "caption_cider_d")
    table3 = _table(
        "Table 3: audio captioning on Clotho (evaluation split)",
        ["Model", "B1", "B4", "M", "RL", "Cr"],
        [("BGTAI (paper)", [_cell(clotho[k], digits=3) for k in keys3]),
         (_clips(runs, "clotho"), [_cell(got("clotho", k), digits=3) for k in keys3])],
        "Cr: the paper's CIDEr, here CIDEr-D (pycocoevalcap). SPICE and SPIDEr are not run "
        "(they need CoreNLP models).")
    keys5 = [("clotho", "text_to_audio_r1"), ("clotho", "text_to_audio_r10"),
             ("audiocaps", "text_to_audio_r1"), ("audiocaps", "text_to_audio_r10")]
    table5 = _table(
        "Table 5: zero-shot text -> audio retrieval and classification (percent)",
        ["Method", "Clotho R@1", "Clotho R@10", "AudioCaps R@1", "AudioCaps R@10", "ESC Top-1"],
        [("BGTAI (Ours) (paper)", [_cell(PAPER[s][k], 100, 1) for s, k in keys5]
          + [_cell(TABLE5_ESC_TOP1, 100, 1)]),
         (_clips(runs, "clotho", "audiocaps", "esc50"),
          [_cell(got(s, k), 100, 1) for s, k in keys5]
          + [_cell(got("esc50", "zero_shot_acc"), 100, 1)])],
        "Each caption finds its clip among the split's clips; ESC Top-1 is the zero-shot "
        "accuracy of Table 2's row.")
    return "\n".join([table2, table3, table5])


def run(args: argparse.Namespace) -> dict:
    runs = {}
    for name in SETS:
        path = args.results / f"{name}.json"
        if path.is_file():
            try:
                runs[name] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise SystemExit(f"{path} is not a metrics JSON file: {err}") from None
    if not runs:
        raise SystemExit(f"no protocol results in {args.results}: expected any of "
                         + ", ".join(f"{s}.json" for s in SETS))
    text = paper_tables(runs)
    print(text, file=sys.stderr)
    out = args.markdown or args.results / "paper_tables.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return {"n_sets": len(runs), **{f"{name}_{k}": v for name, m in runs.items()
                                    for k, v in m.items() if isinstance(v, (int, float))}}
