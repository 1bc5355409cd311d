"""Open-set detection metric: how well a score separates in-world sounds from the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from bgtai.eval._inputs import as_vector


def auroc(inside: Any, outside: Any) -> float:
    """Area under the ROC curve of a score that should be higher ``inside`` than ``outside``.

    The probability that a random in-world sound outscores a random out-of-world one, ties
    counting one half (the Mann-Whitney U statistic over the product of the sample sizes):
    1.0 separates perfectly, 0.5 is chance.
    """
    a = as_vector(inside, "inside")
    b = as_vector(outside, "outside")
    ranks = rankdata(np.concatenate([a, b]))  # average ranks: ties count one half
    u = ranks[: len(a)].sum() - len(a) * (len(a) + 1) / 2
    return float(u / (len(a) * len(b)))
