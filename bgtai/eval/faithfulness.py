"""Attribute faithfulness of generated images: rank correlation, counts, slider monotonicity.

"Asked" values are what a generation was conditioned on (pitch, loudness, repetitions, slider
settings); "measured" values are what the world's attribute readers read back from the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy.stats import spearmanr

from bgtai.eval._inputs import as_int_vector, as_vector, check_same_length


def spearman(asked: Any, measured: Any) -> float:
    """Spearman rank correlation between asked and measured attribute values.

    Parameters
    ----------
    asked, measured : array-like, shape (N,)
        At least two pairs; ties get average ranks (scipy's convention).

    Returns
    -------
    float
        Correlation in [-1, 1]. If ``measured`` is constant the correlation is undefined; we
        return 0.0 because an image that ignores the asked attribute shows no relation to it,
        and the metric must stay a number in reports.

    Raises
    ------
    ValueError
        If the inputs are invalid, or ``asked`` is constant (nothing was varied, so the
        experiment cannot measure faithfulness).
    """
    asked = as_vector(asked, "asked", min_len=2)
    measured = as_vector(measured, "measured", min_len=2)
    check_same_length(asked, measured, "asked", "measured")
    if np.all(asked == asked[0]):
        raise ValueError("asked values are all equal; vary the attribute to measure a correlation")
    if np.all(measured == measured[0]):
        return 0.0
    return float(spearmanr(asked, measured).statistic)


def count_accuracy(asked: Any, measured: Any) -> float:
    """Fraction of images whose measured object count equals the asked count.

    Parameters
    ----------
    asked, measured : array-like of int, shape (N,)

    Returns
    -------
    float
        Exact-match rate in [0, 1].
    """
    asked = as_int_vector(asked, "asked")
    measured = as_int_vector(measured, "measured")
    check_same_length(asked, measured, "asked", "measured")
    return float(np.mean(asked == measured))


def monotonic_fraction(sweeps: Sequence[Sequence[float]] | np.ndarray, *, strict: bool = True,
                       direction: Literal["increasing", "decreasing"] = "increasing") -> float:
    """Fraction of slider sweeps whose measured attribute moves monotonically.

    A sweep is the list of measurements taken while one slider is raised step by step with
    everything else fixed (e.g. object size at ``gain_db`` = -12, -6, 0, 6, 12).

    Parameters
    ----------
    sweeps : 2-D array (n_sweeps, n_steps) or a list of 1-D sequences (lengths may differ)
        Each sweep needs at least two steps.
    strict : bool
        True (default): every step must change the measurement in ``direction``. False: equal
        neighbours are allowed (non-decreasing / non-increasing). Strict is the default because
        a non-strict test counts a slider that changes nothing as monotonic.
    direction : {"increasing", "decreasing"}
        The way the attribute should move as the slider rises. Circular attributes (hue) must
        be unwrapped by the caller first.

    Returns
    -------
    float
        Monotonic sweeps over all sweeps, in [0, 1].
    """
    if direction not in ("increasing", "decreasing"):
        raise ValueError(f"direction must be 'increasing' or 'decreasing', got {direction!r}")
    if isinstance(sweeps, np.ndarray) and sweeps.ndim != 2:
        raise ValueError(f"a sweeps array must be 2-D (sweeps x steps), got shape {sweeps.shape}")
    if len(sweeps) == 0:
        raise ValueError("no sweeps given")
    sign = 1.0 if direction == "increasing" else -1.0
    ok = 0
    for i, sweep in enumerate(sweeps):
        steps = sign * np.diff(as_vector(sweep, f"sweeps[{i}]", min_len=2))
        ok += bool(np.all(steps > 0) if strict else np.all(steps >= 0))
    return ok / len(sweeps)
