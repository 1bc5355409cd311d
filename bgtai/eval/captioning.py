"""Captioning metrics from the MS-COCO caption evaluation code (``pycocoevalcap``), the
implementation audio captioning (DCASE, ``aac-metrics``) ports: BLEU-1/4, ROUGE-L, CIDEr-D and,
where Java is installed, METEOR (its jar ships inside the package).

Scales are the library's: BLEU, ROUGE-L and METEOR in 0-1, CIDEr-D with the library's factor
of 10. SPICE (and so SPIDEr) is left out: it needs Stanford CoreNLP models that the package
downloads on first use, and nothing here may download.

Captions are compared as given (gloss tokens split on spaces); the PTB tokenizer COCO runs
first is a Java step meant for raw English and would split gloss tokens such as ``DESC-LOUD``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge


def _check(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> None:
    if isinstance(hyps, str) or not len(hyps):
        raise ValueError("hyps must be a non-empty list of captions")
    if len(hyps) != len(refs):
        raise ValueError(f"hyps and refs must have the same length, "
                         f"got {len(hyps)} and {len(refs)}")
    for i, (h, r) in enumerate(zip(hyps, refs)):
        if not isinstance(h, str):
            raise ValueError(f"hyps[{i}] must be a string, got {type(h).__name__}")
        if isinstance(r, str) or not r or not all(isinstance(x, str) and x.strip() for x in r):
            raise ValueError(f"refs[{i}] must be a non-empty list of non-empty strings")


def caption_metrics(hyps: Sequence[str], refs: Sequence[Sequence[str]],
                    meteor: bool | None = None) -> dict[str, float]:
    """Corpus captioning metrics of ``hyps`` against several references each.

    Parameters
    ----------
    hyps : sequence of str
        One caption per item (an empty caption is allowed and scores 0).
    refs : sequence of sequence of str
        All reference captions of each item.
    meteor : bool, optional
        Compute METEOR (needs ``java`` on the PATH); default: when Java is there.

    Returns
    -------
    dict
        ``bleu1``, ``bleu4``, ``rouge_l``, ``cider_d`` and, with METEOR, ``meteor``.
    """
    _check(hyps, refs)
    # the scorers reject an empty hypothesis; a lone placeholder word matches nothing
    res = {i: [h.strip() or "<empty>"] for i, h in enumerate(hyps)}
    gts = {i: [x.strip() for x in r] for i, r in enumerate(refs)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {"bleu1": float(bleu[0]), "bleu4": float(bleu[3]),
           "rouge_l": float(Rouge().compute_score(gts, res)[0]),
           "cider_d": float(Cider().compute_score(gts, res)[0])}
    if meteor is None:
        meteor = shutil.which("java") is not None
    if meteor:
        from pycocoevalcap.meteor.meteor import Meteor  # starts a Java process

        out["meteor"] = float(Meteor().compute_score(gts, res)[0])
    return out
