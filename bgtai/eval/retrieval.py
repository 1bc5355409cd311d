"""Cross-modal retrieval metrics: Recall@K and mean reciprocal rank.

Ground truth can be one-to-one (query ``i`` matches gallery item ``i``), many-to-one (several
queries share one gallery item, e.g. five Clotho/AudioCaps captions per clip: pass the gallery
index of each query), or an explicit boolean relevance matrix. A query with several relevant
gallery items is scored by its best-ranked one, the usual convention for caption retrieval
(a clip is found when any of its captions is in the top K).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bgtai.eval._inputs import as_int_vector, as_matrix, l2_normalise

DEFAULT_KS = (1, 5, 10)


def cosine_similarity(a: Any, b: Any, *, name_a: str = "a", name_b: str = "b") -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b``.

    Parameters
    ----------
    a, b : array-like or torch.Tensor, shapes (N, D) and (M, D)

    Returns
    -------
    np.ndarray
        (N, M) float64 matrix with values in [-1, 1].
    """
    a = as_matrix(a, name_a)
    b = as_matrix(b, name_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{name_a} and {name_b} must have the same embedding size, "
                         f"got {a.shape[1]} and {b.shape[1]}")
    return l2_normalise(a, name_a) @ l2_normalise(b, name_b).T


def relevance_matrix(targets: Any, n_queries: int, n_gallery: int) -> np.ndarray:
    """Build a (queries, gallery) boolean relevance matrix from any supported ground truth.

    Parameters
    ----------
    targets : None, 1-D int array-like, or 2-D bool array-like
        ``None``: query ``i`` matches gallery item ``i`` (needs as many queries as gallery items).
        1-D ints: the gallery index of each query (many-to-one).
        2-D bools of shape (queries, gallery): explicit relevance.
    """
    if targets is None:
        if n_queries != n_gallery:
            raise ValueError(f"same-index ground truth needs as many queries as gallery items, "
                             f"got {n_queries} and {n_gallery}; pass targets= otherwise")
        return np.eye(n_queries, dtype=bool)
    arr = np.asarray(targets)
    if arr.ndim == 2:
        if arr.shape != (n_queries, n_gallery):
            raise ValueError(f"a relevance matrix must have shape {(n_queries, n_gallery)}, "
                             f"got {arr.shape}")
        if arr.dtype != bool:
            raise ValueError("a 2-D targets array must be boolean (True = relevant)")
        rel = arr
    else:
        ids = as_int_vector(arr, "targets")
        if len(ids) != n_queries:
            raise ValueError(f"targets must give one gallery index per query ({n_queries}), "
                             f"got {len(ids)}")
        if ids.min() < 0 or ids.max() >= n_gallery:
            raise ValueError(f"targets must be gallery indices in [0, {n_gallery - 1}], "
                             f"got values in [{ids.min()}, {ids.max()}]")
        rel = np.zeros((n_queries, n_gallery), dtype=bool)
        rel[np.arange(n_queries), ids] = True
    missing = np.flatnonzero(~rel.any(axis=1))
    if missing.size:
        raise ValueError(f"query {missing[0]} has no relevant gallery item")
    return rel


def ranks_from_similarity(similarity: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based rank of the best-ranked relevant gallery item for each query.

    Ties are broken against the query: an irrelevant item scoring the same as the best relevant
    one is counted as ranked above it, so a collapsed model (all similarities equal) scores
    chance or worse instead of a perfect R@1.
    """
    best_relevant = np.where(relevant, similarity, -np.inf).max(axis=1, keepdims=True)
    return 1 + np.sum((similarity >= best_relevant) & ~relevant, axis=1)


def retrieval_metrics(query_emb: Any, gallery_emb: Any, ks: Sequence[int] = DEFAULT_KS, *,
                      targets: Any = None) -> dict[str, float]:
    """Recall@K and MRR for retrieving gallery items with queries, by cosine similarity.

    Parameters
    ----------
    query_emb : array-like or torch.Tensor, shape (Q, D)
    gallery_emb : array-like or torch.Tensor, shape (G, D)
    ks : sequence of int
        Cut-offs for Recall@K; each gives a key ``"r{k}"``.
    targets : None, 1-D ints or 2-D bools, optional
        Ground truth, see :func:`relevance_matrix`; default: query ``i`` matches item ``i``.

    Returns
    -------
    dict
        ``{"r1": ..., "r5": ..., "r10": ..., "mrr": ...}``: fractions in [0, 1]. A ``k`` larger
        than the gallery gives 1.0.
    """
    ks = _check_ks(ks)
    sim = cosine_similarity(query_emb, gallery_emb, name_a="query_emb", name_b="gallery_emb")
    rel = relevance_matrix(targets, *sim.shape)
    return _metrics_from_ranks(ranks_from_similarity(sim, rel), ks)


def bidirectional_retrieval(a_emb: Any, b_emb: Any, ks: Sequence[int] = DEFAULT_KS, *,
                            targets: Any = None,
                            names: tuple[str, str] = ("a", "b")) -> dict[str, float]:
    """Retrieval metrics in both directions, a -> b and b -> a, as one flat dict.

    Parameters
    ----------
    a_emb, b_emb : array-like or torch.Tensor, shapes (N, D) and (M, D)
    ks : sequence of int
    targets : None, 1-D ints or 2-D bools, optional
        Ground truth for a -> b (see :func:`relevance_matrix`); b -> a uses its transpose, so
        with many-to-one targets (captions -> clips) each clip's queries find any of its captions.
    names : (str, str)
        Prefixes of the keys, e.g. ``("audio", "image")`` gives ``"audio_to_image_r1"`` and
        ``"image_to_audio_mrr"``.

    Returns
    -------
    dict
        ``{f"{a}_to_{b}_r{k}", f"{a}_to_{b}_mrr", f"{b}_to_{a}_r{k}", f"{b}_to_{a}_mrr"}``.
    """
    ks = _check_ks(ks)
    name_a, name_b = names
    sim = cosine_similarity(a_emb, b_emb, name_a=f"{name_a} embeddings",
                            name_b=f"{name_b} embeddings")
    rel = relevance_matrix(targets, *sim.shape)
    if not rel.any(axis=0).all():
        raise ValueError(f"{name_b} item {int(np.argmin(rel.any(axis=0)))} is relevant to no "
                         f"{name_a} item, so it cannot be a {name_b} -> {name_a} query")
    out = {}
    directions = ((f"{name_a}_to_{name_b}", sim, rel), (f"{name_b}_to_{name_a}", sim.T, rel.T))
    for prefix, s, r in directions:
        for key, value in _metrics_from_ranks(ranks_from_similarity(s, r), ks).items():
            out[f"{prefix}_{key}"] = value
    return out


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or int(k) != k or k < 1 for k in ks):
        raise ValueError(f"ks must be positive integers, got {ks}")
    return tuple(int(k) for k in ks)


def _metrics_from_ranks(ranks: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    out = {f"r{k}": float(np.mean(ranks <= k)) for k in ks}
    out["mrr"] = float(np.mean(1.0 / ranks))
    return out


def map_at_k(query_emb: Any, gallery_emb: Any, k: int = 10, *, targets: Any = None) -> float:
    """Mean average precision at ``k`` (the DCASE text-to-audio retrieval measure, mAP@10).

    Each query's AP@k sums the precision at the rank of every relevant item found in the top
    ``k`` and divides by ``min(k, number of relevant items)``; ties are broken against the
    query as in :func:`ranks_from_similarity`. With one relevant item per query it equals the
    reciprocal rank cut at ``k``.
    """
    (k,) = _check_ks((k,))
    sim = cosine_similarity(query_emb, gallery_emb, name_a="query_emb", name_b="gallery_emb")
    rel = relevance_matrix(targets, *sim.shape)
    # stable sort on (-similarity, relevant): among equal scores irrelevant items come first
    order = np.lexsort((rel, -sim), axis=1)[:, :k]
    hits = np.take_along_axis(rel, order, axis=1)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    ap = (precision * hits).sum(axis=1) / np.minimum(rel.sum(axis=1), k)
    return float(ap.mean())
