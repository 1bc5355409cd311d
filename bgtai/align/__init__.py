"""Sequence alignment: exact DTW, DS-Net / Result Filter and its losses (paper eq. 3-6)."""

from bgtai.align.dsnet import (
    MASK_VALUE,
    DSNet,
    DSNetConfig,
    DSNetPrediction,
    alignment_f1,
    decode_alignment,
)
from bgtai.align.dtw import (
    METRICS,
    BatchDTWResult,
    DTWResult,
    PackedPaths,
    cost_matrix,
    dtw,
    dtw_batch,
    path_to_matrix,
)
from bgtai.align.losses import (
    alignment_bce,
    alignment_masks,
    probability_losses,
    result_filter_ce,
    sp_loss,
)

__all__ = [
    "MASK_VALUE",
    "METRICS",
    "BatchDTWResult",
    "DSNet",
    "DSNetConfig",
    "DSNetPrediction",
    "DTWResult",
    "PackedPaths",
    "alignment_bce",
    "alignment_f1",
    "alignment_masks",
    "cost_matrix",
    "decode_alignment",
    "dtw",
    "dtw_batch",
    "path_to_matrix",
    "probability_losses",
    "result_filter_ce",
    "sp_loss",
]
