"""Classification metrics: zero-shot accuracy through class prompts, and linear-probe accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bgtai.eval._inputs import as_int_vector, as_matrix, check_same_length
from bgtai.eval.retrieval import cosine_similarity


def zero_shot_predict(audio_emb: Any, class_text_emb: Any) -> np.ndarray:
    """Class index of each clip: the class prompt embedding with the highest cosine similarity.

    Parameters
    ----------
    audio_emb : array-like or torch.Tensor, shape (N, D)
    class_text_emb : array-like or torch.Tensor, shape (C, D)
        One embedding per class (e.g. of the prompt "a whistle", or the mean over prompts).

    Returns
    -------
    np.ndarray
        (N,) int64 predicted class indices. Ties go to the lower class index (``argmax``).
    """
    sim = cosine_similarity(audio_emb, class_text_emb, name_a="audio_emb", name_b="class_text_emb")
    return sim.argmax(axis=1)


def zero_shot_accuracy(audio_emb: Any, class_text_emb: Any, labels: Any) -> float:
    """Fraction of clips whose nearest class prompt (cosine similarity) is their true class.

    Parameters
    ----------
    audio_emb : array-like or torch.Tensor, shape (N, D)
    class_text_emb : array-like or torch.Tensor, shape (C, D)
    labels : array-like of int, shape (N,)
        True class index of each clip, in ``[0, C)``.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    pred = zero_shot_predict(audio_emb, class_text_emb)
    labels = as_int_vector(labels, "labels")
    check_same_length(pred, labels, "audio_emb", "labels")
    n_classes = np.shape(class_text_emb)[0]
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be class indices in [0, {n_classes - 1}], "
                         f"got values in [{labels.min()}, {labels.max()}]")
    return float(np.mean(pred == labels))


def linear_probe_accuracy(features: Any, labels: Any, k: int = 5, seed: int = 0, *,
                          c: float = 1.0, max_iter: int = 2000) -> float:
    """Accuracy of a logistic-regression probe on frozen features, by stratified k-fold.

    Each fold fits a standard scaler and an L2 logistic regression on the other folds only (so
    no statistics of the held-out fold leak into training) and predicts the held-out fold.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (N, D)
    labels : array-like, shape (N,)
        Class labels of any hashable type (ints or strings).
    k : int
        Number of folds, at least 2; every class needs at least ``k`` samples.
    seed : int
        Seed of the fold shuffle, so a result is reproducible.
    c : float
        Inverse regularisation strength of the logistic regression.
    max_iter : int
        Iteration budget of the solver.

    Returns
    -------
    float
        Correct held-out predictions over all N samples (each sample is held out exactly once,
        so this is the fold-size-weighted mean of the fold accuracies), in [0, 1].
    """
    x = as_matrix(features, "features")
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    check_same_length(x, y, "features", "labels")
    if isinstance(k, bool) or int(k) != k or k < 2:
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("a linear probe needs at least 2 classes")
    if counts.min() < k:
        raise ValueError(f"class {classes[counts.argmin()]!r} has {counts.min()} sample(s); "
                         f"stratified {k}-fold needs at least {k} per class")
    if c <= 0:
        raise ValueError(f"c must be positive, got {c}")
    folds = StratifiedKFold(n_splits=int(k), shuffle=True, random_state=seed)
    correct = 0
    for train_idx, test_idx in folds.split(x, y):
        correct += int(np.sum(_probe_predict(x, y, train_idx, test_idx, c, max_iter)
                              == y[test_idx]))
    return correct / len(y)


def fold_probe_accuracy(features: Any, labels: Any, folds: Any, *, c: float = 1.0,
                        max_iter: int = 2000) -> dict[int, float]:
    """Linear-probe accuracy on predefined folds (ESC-50's 5, UrbanSound8K's 10): each fold is
    held out in turn and predicted by a probe (scaler + logistic regression, as
    :func:`linear_probe_accuracy`) fitted on all the other folds.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (N, D)
    labels : array-like, shape (N,)
    folds : array-like of int, shape (N,)
        The data set's own fold of each sample; never reshuffled (the official protocols
        keep clips of one source recording in one fold).

    Returns
    -------
    dict
        ``{fold: accuracy}`` in fold order; the protocols report the mean over folds.
    """
    x = as_matrix(features, "features")
    y, f = np.asarray(labels), as_int_vector(folds, "folds")
    check_same_length(x, y, "features", "labels")
    check_same_length(x, f, "features", "folds")
    if len(np.unique(f)) < 2:
        raise ValueError("a fold probe needs at least 2 folds")
    out = {}
    for fold in np.unique(f):
        train_idx, test_idx = np.flatnonzero(f != fold), np.flatnonzero(f == fold)
        if len(np.unique(y[train_idx])) < 2:
            raise ValueError(f"the folds other than {fold} hold fewer than 2 classes")
        pred = _probe_predict(x, y, train_idx, test_idx, c, max_iter)
        out[int(fold)] = float(np.mean(pred == y[test_idx]))
    return out


def _probe_predict(x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray,
                   c: float, max_iter: int) -> np.ndarray:
    """Fit the probe on ``train_idx`` only (no held-out statistics leak); predict ``test_idx``."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    probe.fit(x[train_idx], y[train_idx])
    return probe.predict(x[test_idx])
