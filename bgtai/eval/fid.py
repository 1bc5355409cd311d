"""Frechet distance between feature distributions, and world-FID on a fixed image encoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bgtai.eval._inputs import as_matrix


def gaussian_frechet_distance(mu_a: np.ndarray, sigma_a: np.ndarray,
                              mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """Frechet distance between two Gaussians N(mu_a, sigma_a) and N(mu_b, sigma_b).

    ``|mu_a - mu_b|^2 + Tr(sigma_a + sigma_b - 2 (sigma_a sigma_b)^(1/2))``, the FID formula.

    The trace of the matrix square root is computed as ``sum(sqrt(eig(S S_b S)))`` with
    ``S = sigma_a^(1/2)``: ``sigma_a sigma_b`` and the symmetric ``S sigma_b S`` are similar
    matrices, so the trace is the same, but the symmetric form has real, non-negative
    eigenvalues. This avoids the complex round-off and failures that ``scipy.linalg.sqrtm``
    of the non-symmetric product shows on the rank-deficient covariances FID meets whenever
    there are fewer images than feature dimensions.

    Parameters
    ----------
    mu_a, mu_b : array-like, shape (F,)
    sigma_a, sigma_b : array-like, shape (F, F)
        Symmetric positive semi-definite covariance matrices.

    Returns
    -------
    float
        The distance, >= 0.
    """
    mu_a, mu_b = (np.asarray(m, dtype=np.float64) for m in (mu_a, mu_b))
    sigma_a, sigma_b = (np.asarray(s, dtype=np.float64) for s in (sigma_a, sigma_b))
    if mu_a.ndim != 1 or mu_a.size == 0:
        raise ValueError(f"mu_a must be a non-empty 1-D mean vector, got shape {mu_a.shape}")
    f = mu_a.size
    for name, arr, shape in (("mu_b", mu_b, (f,)), ("sigma_a", sigma_a, (f, f)),
                             ("sigma_b", sigma_b, (f, f)), ("mu_a", mu_a, (f,))):
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape} to match mu_a, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    sqrt_a = _psd_sqrt(sigma_a)
    cross = sqrt_a @ sigma_b @ sqrt_a
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((cross + cross.T) / 2), 0.0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * tr_covmean)
    return max(value, 0.0)  # clip the tiny negative round-off of identical distributions


def frechet_distance(feats_a: Any, feats_b: Any) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (the FID formula).

    Parameters
    ----------
    feats_a, feats_b : array-like or torch.Tensor, shapes (N, F) and (M, F)
        At least two rows each. Covariances use the unbiased (N - 1) normaliser, as in FID.

    Returns
    -------
    float
        The distance, >= 0; 0 for identical sets.
    """
    a = as_matrix(feats_a, "feats_a", min_rows=2)
    b = as_matrix(feats_b, "feats_b", min_rows=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same feature size, "
                         f"got {a.shape[1]} and {b.shape[1]}")
    # atleast_2d: np.cov of a single feature returns a scalar
    return gaussian_frechet_distance(a.mean(axis=0), np.atleast_2d(np.cov(a, rowvar=False)),
                                     b.mean(axis=0), np.atleast_2d(np.cov(b, rowvar=False)))


@torch.no_grad()
def encode_images(images: Any, encoder: Any, *, batch_size: int = 64) -> np.ndarray:
    """Features of ``images`` from ``encoder``, computed in batches without gradients.

    Parameters
    ----------
    images : torch.Tensor or np.ndarray, shape (N, ...)
        In the layout the encoder expects; numpy input is converted with ``torch.as_tensor``.
    encoder : object with ``features(images) -> (B, F)``, or a callable with that signature
        An ``nn.Module`` is run in eval mode (its previous mode is restored) on its own device.
    batch_size : int

    Returns
    -------
    np.ndarray
        (N, F) float64 features.
    """
    extract = getattr(encoder, "features", encoder)
    if not callable(extract):
        raise ValueError("encoder must have a features(images) method or be callable")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    images = torch.as_tensor(images)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"images must be a non-empty batch (N, ...), "
                         f"got shape {tuple(images.shape)}")
    device = None
    was_training = None
    if isinstance(encoder, torch.nn.Module):
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else None
        was_training = encoder.training
        encoder.eval()  # dropout / batch-norm statistics must not change the features
    try:
        chunks = []
        for start in range(0, len(images), int(batch_size)):
            batch = images[start:start + int(batch_size)]
            out = extract(batch.to(device) if device is not None else batch)
            out = torch.as_tensor(out).detach().to("cpu", torch.float64)
            chunks.append(out.reshape(len(batch), -1))
    finally:
        if was_training:
            encoder.train()
    return torch.cat(chunks).numpy()


def world_fid(images_a: Any, images_b: Any, encoder: Any, *, batch_size: int = 64) -> float:
    """World-FID: Frechet distance between two image sets in a fixed world-image encoder's features.

    Like FID, but on the features of the world's own image classifier instead of Inception, which
    knows nothing of the drawn world objects. Numbers are comparable only for the same encoder
    checkpoint and similar set sizes (the estimate is biased upwards for small sets).

    Parameters
    ----------
    images_a, images_b : torch.Tensor or np.ndarray, shape (N, ...)
        E.g. generated and real test images, at least two each.
    encoder : object with ``features(images) -> (N, F)``, or such a callable
    batch_size : int

    Returns
    -------
    float
    """
    return frechet_distance(encode_images(images_a, encoder, batch_size=batch_size),
                            encode_images(images_b, encoder, batch_size=batch_size))


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative round-off clipped)."""
    vals, vecs = np.linalg.eigh((sigma + sigma.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
