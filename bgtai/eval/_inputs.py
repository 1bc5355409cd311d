"""Input checks shared by the metrics: arrays or tensors in, validated numpy out."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_matrix(x: Any, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape (N, D), or raise ``ValueError``.

    Accepts numpy arrays, torch tensors (any device, with or without grad) and nested lists.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (items x features), got shape {arr.shape}")
    if arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise ValueError(f"{name} needs at least {min_rows} row(s) and 1 feature, "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_vector(x: Any, name: str, *, min_len: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 1-D array of at least ``min_len`` items, or raise."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {type(x).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} value(s), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_int_vector(x: Any, name: str, *, min_len: int = 1) -> np.ndarray:
    """Return ``x`` as a 1-D int64 array; floats are accepted only when integer-valued."""
    arr = as_vector(x, name, min_len=min_len)
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers")
    return arr.astype(np.int64)


def check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same number of items."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, "
                         f"got {len(a)} and {len(b)}")


def l2_normalise(x: np.ndarray, name: str) -> np.ndarray:
    """Scale each row to unit length; a zero row has no direction, so it is an error."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{name} has all-zero rows (row {int(np.argmin(norms[:, 0]))}); "
                         "cosine similarity is undefined for them")
    return x / norms
