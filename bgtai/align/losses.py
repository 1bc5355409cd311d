"""Training objectives for DS-Net / Result Filter (paper eq. 5 and 6).

All losses take DS-Net logits ``(B, Q, T)`` and a binary target alignment
``(B, Q, T)`` (a DTW path drawn as a matrix, see :func:`bgtai.align.dtw.path_to_matrix`),
plus optional masks for ragged batches, and return a scalar tensor: the loss of every
pair, averaged over its own valid rows (or cells), then averaged over the batch. Padded
rows, columns and their logits never change the value.

How the paper is read
---------------------
The paper calls the predicted alignment "1-D", :math:`\\hat A \\in \\mathbb{R}^Q`, while
DS-Net predicts a :math:`Q \\times T` matrix. Both are reconciled by reading each row
``q`` of the matrix as a distribution over the ``T`` long-sequence positions:

* eq. 5 (:func:`result_filter_ce`): ``A_hat[q] = softmax_t(logits[q])`` and
  ``A*[q]`` is row ``q`` of the DTW path normalised to sum to one, so
  ``L_CE = -1/Q sum_q sum_t A*[q, t] log A_hat[q, t]``;
* eq. 6 (:func:`sp_loss`): the "normalised 1-D alignment" is the expected column of each
  row divided by ``T - 1``, so both sides lie in ``[0, 1]``, and
  ``SP = 1/Q sum_q |A*_q - A_hat_q|``.

:func:`alignment_bce` is not in the paper: it is the per-cell binary cross-entropy that
makes ``sigmoid(logits)`` a calibrated "cell is on the path" probability, which is what
DS-Net's decoder (negative log-odds DTW) needs.
"""

import torch
import torch.nn.functional as F

__all__ = ["alignment_bce", "alignment_masks", "result_filter_ce", "sp_loss"]


def _check_mask(mask: torch.Tensor | None, batch: int, length: int, name: str,
                device: torch.device) -> torch.Tensor:
    """Validate one ``(B, L)`` prefix mask (True = real element); ``None`` means all valid."""
    if mask is None:
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    if mask.shape != (batch, length):
        raise ValueError(f"{name} must have shape {(batch, length)}, got {tuple(mask.shape)}")
    mask = mask.to(device=device, dtype=torch.bool)
    if torch.compiler.is_compiling():
        # Checking values means reading them on the host: a graph break (and a wait for the
        # GPU) in a compiled DS-Net, whose masks the training step itself builds.
        return mask
    lengths = mask.sum(dim=1)
    # Prefix (left-aligned) masks only: positions are normalised by the sequence length
    # and DTW decoding takes lengths, so a hole in the middle would be ambiguous.
    prefix = torch.arange(length, device=device) < lengths[:, None]
    if not torch.equal(mask, prefix):
        raise ValueError(f"{name} must be a left-aligned padding mask (True for the first "
                         "length elements of each row, False after)")
    if bool((lengths == 0).any()):
        raise ValueError(f"{name} marks an empty sequence; every pair needs length >= 1")
    return mask


def alignment_masks(batch: int, q: int, t: int, short_mask: torch.Tensor | None = None,
                    long_mask: torch.Tensor | None = None, *, device: torch.device | str = "cpu"
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and complete the padding masks of a batch of sequence pairs.

    Parameters
    ----------
    batch, q, t : int
        Batch size, padded short length ``Q`` and padded long length ``T``.
    short_mask, long_mask : torch.Tensor or None
        ``(B, Q)`` and ``(B, T)`` boolean masks, True for real elements and False for
        padding at the end of each row. ``None`` means no padding.
    device : torch.device or str
        Device of the returned masks.

    Returns
    -------
    short_mask, long_mask : torch.Tensor
        Boolean ``(B, Q)`` and ``(B, T)`` masks.

    Raises
    ------
    ValueError
        If a mask has the wrong type or shape, is not left-aligned, or marks an empty
        sequence.
    """
    device = torch.device(device)
    return (_check_mask(short_mask, batch, q, "short_mask", device),
            _check_mask(long_mask, batch, t, "long_mask", device))


def _prepare(logits: torch.Tensor, target: torch.Tensor, short_mask, long_mask):
    """Shared validation; returns (target as logits' dtype, cell mask (B,Q,T), row mask (B,Q))."""
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise ValueError("logits and target_alignment must be torch tensors")
    if logits.ndim != 3:
        raise ValueError(f"logits must have shape (B, Q, T), got {tuple(logits.shape)}")
    if target.shape != logits.shape:
        raise ValueError(f"target_alignment shape {tuple(target.shape)} does not match "
                         f"logits shape {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got {logits.dtype}")
    b, q, t = logits.shape
    rows, cols = alignment_masks(b, q, t, short_mask, long_mask, device=logits.device)
    cells = rows[:, :, None] & cols[:, None, :]
    target = target.to(device=logits.device, dtype=logits.dtype) * cells
    if bool(((target != 0) & (target != 1)).any()):
        raise ValueError("target_alignment must be binary (0/1 or bool)")
    return target, cells, rows


def _row_distribution(target: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Normalise each valid target row to sum 1; a DTW path visits every row, so an empty
    row means the target is not a path."""
    row_sum = target.sum(dim=2)
    if bool((rows & (row_sum == 0)).any()):
        raise ValueError("target_alignment has a valid row with no aligned cell; a DTW path "
                         "covers every row of the short sequence")
    return target / row_sum.clamp_min(1)[:, :, None]


def _mean_over(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-pair mean of ``values`` over ``mask`` (all but the batch dim), then batch mean."""
    dims = tuple(range(1, values.ndim))
    per_pair = (values * mask).sum(dim=dims) / mask.sum(dim=dims)
    return per_pair.mean()


def _masked_log_softmax(logits: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    # Padded columns are excluded from the row distribution; masked_fill (not adding a
    # constant) keeps their logits' gradients exactly zero.
    neg = torch.finfo(logits.dtype).min
    return torch.log_softmax(logits.masked_fill(~cells, neg), dim=2)


def result_filter_ce(logits: torch.Tensor, target_alignment: torch.Tensor,
                     short_mask: torch.Tensor | None = None,
                     long_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Result Filter cross-entropy against a DTW path (paper eq. 5).

    ``L = -1/Q sum_q sum_t A*[q, t] log A_hat[q, t]`` with ``A_hat[q] = softmax_t(logits[q])``
    over the valid long positions and ``A*[q]`` the DTW path's row ``q`` normalised to sum
    one (a row the path crosses horizontally spreads its mass over those columns).

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, Q, T)`` DS-Net cell scores.
    target_alignment : torch.Tensor
        ``(B, Q, T)`` binary DTW alignment (bool or 0/1); every valid row needs a cell.
    short_mask, long_mask : torch.Tensor or None
        ``(B, Q)`` / ``(B, T)`` left-aligned padding masks, True for real elements.

    Returns
    -------
    torch.Tensor
        Scalar: mean over each pair's ``Q`` rows, then over the batch.
    """
    target, cells, rows = _prepare(logits, target_alignment, short_mask, long_mask)
    log_p = _masked_log_softmax(logits, cells)
    per_row = -(_row_distribution(target, rows) * log_p.masked_fill(~cells, 0.0)).sum(dim=2)
    return _mean_over(per_row, rows)


def sp_loss(logits: torch.Tensor, target_alignment: torch.Tensor,
            short_mask: torch.Tensor | None = None,
            long_mask: torch.Tensor | None = None) -> torch.Tensor:
    """SP-Loss: L1 between the normalised DTW and predicted 1-D alignments (paper eq. 6).

    The 1-D alignment of row ``q`` is its expected long-sequence position divided by
    ``T - 1`` (so it lies in ``[0, 1]``, the paper's normalisation): for the target, the
    mean column of the DTW path in that row; for the prediction, the expectation under
    ``softmax_t(logits[q])``. ``SP = 1/Q sum_q |A*_q - A_hat_q|``. Differentiable
    everywhere except where the two positions coincide. A pair with ``T = 1`` has both
    positions at 0 and contributes 0.

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, Q, T)`` DS-Net cell scores.
    target_alignment : torch.Tensor
        ``(B, Q, T)`` binary DTW alignment (bool or 0/1); every valid row needs a cell.
    short_mask, long_mask : torch.Tensor or None
        ``(B, Q)`` / ``(B, T)`` left-aligned padding masks, True for real elements.

    Returns
    -------
    torch.Tensor
        Scalar: mean over each pair's ``Q`` rows, then over the batch.
    """
    target, cells, rows = _prepare(logits, target_alignment, short_mask, long_mask)
    t_len = cells[:, 0, :].sum(dim=1).to(logits.dtype)  # valid long length per pair
    position = torch.arange(logits.shape[2], device=logits.device, dtype=logits.dtype)
    position = position[None, :] / (t_len[:, None] - 1).clamp_min(1)  # (B, T) in [0, 1]
    p = _masked_log_softmax(logits, cells).exp() * cells
    predicted = (p * position[:, None, :]).sum(dim=2)
    expected = (_row_distribution(target, rows) * position[:, None, :]).sum(dim=2)
    return _mean_over((expected - predicted).abs(), rows)


def alignment_bce(logits: torch.Tensor, target_alignment: torch.Tensor,
                  short_mask: torch.Tensor | None = None,
                  long_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-cell binary cross-entropy between ``sigmoid(logits)`` and the DTW alignment.

    Not in the paper; it trains ``sigmoid(logits[b, q, t])`` to be the probability that
    cell ``(q, t)`` lies on the path, the quantity DS-Net's decoder turns into a path.

    Parameters
    ----------
    logits : torch.Tensor
        ``(B, Q, T)`` DS-Net cell scores.
    target_alignment : torch.Tensor
        ``(B, Q, T)`` binary alignment (bool or 0/1).
    short_mask, long_mask : torch.Tensor or None
        ``(B, Q)`` / ``(B, T)`` left-aligned padding masks, True for real elements.

    Returns
    -------
    torch.Tensor
        Scalar: mean over each pair's valid cells, then over the batch.
    """
    target, cells, _ = _prepare(logits, target_alignment, short_mask, long_mask)
    # Padded logits may hold DS-Net's large negative fill; zero them so the (masked-out)
    # per-cell terms stay finite and their gradients are exactly zero.
    safe = logits.masked_fill(~cells, 0.0)
    per_cell = F.binary_cross_entropy_with_logits(safe, target, reduction="none")
    return _mean_over(per_cell, cells)


def probability_losses(probs, target_alignment) -> tuple[float, float]:
    """Eq. 5 CE and eq. 6 SP-Loss of one pair's per-cell probabilities against a DTW path.

    For inspecting a trained aligner (the app's Alignment lab): ``probs`` is ``(Q, T)``
    ``sigmoid(logits)`` (e.g. word-level probabilities pooled from subword pieces), turned back
    into logits; ``target_alignment`` is the ``(Q, T)`` binary path.
    """
    p = torch.as_tensor(probs, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)[None]
    logits, target = torch.logit(p), torch.as_tensor(target_alignment)[None]
    return float(result_filter_ce(logits, target)), float(sp_loss(logits, target))
