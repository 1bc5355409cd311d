"""Evaluation metrics: plain arrays or tensors in, plain floats and dicts out.

- :mod:`bgtai.eval.classification`  zero-shot and linear-probe accuracy (k-fold or official folds)
- :mod:`bgtai.eval.retrieval`       Recall@K, MRR and mAP@K, one or both directions
- :mod:`bgtai.eval.text`            gloss BLEU-4 (sacrebleu), token and word error rates
- :mod:`bgtai.eval.faithfulness`    Spearman, count accuracy and slider monotonicity
- :mod:`bgtai.eval.fid`             Frechet distance and world-FID

Every function validates its input and raises ``ValueError`` with a readable message.
"""

from bgtai.eval.classification import (
    fold_probe_accuracy,
    linear_probe_accuracy,
    zero_shot_accuracy,
    zero_shot_predict,
)
from bgtai.eval.faithfulness import count_accuracy, monotonic_fraction, spearman
from bgtai.eval.fid import encode_images, frechet_distance, gaussian_frechet_distance, world_fid
from bgtai.eval.retrieval import (
    bidirectional_retrieval,
    cosine_similarity,
    map_at_k,
    relevance_matrix,
    retrieval_metrics,
)
from bgtai.eval.text import (
    edit_distance,
    gloss_bleu4,
    normalize_words,
    token_error_rate,
    word_error_rate,
)

__all__ = [
    "bidirectional_retrieval",
    "cosine_similarity",
    "count_accuracy",
    "edit_distance",
    "encode_images",
    "fold_probe_accuracy",
    "frechet_distance",
    "gaussian_frechet_distance",
    "gloss_bleu4",
    "linear_probe_accuracy",
    "map_at_k",
    "monotonic_fraction",
    "normalize_words",
    "relevance_matrix",
    "retrieval_metrics",
    "spearman",
    "token_error_rate",
    "word_error_rate",
    "world_fid",
    "zero_shot_accuracy",
    "zero_shot_predict",
]
