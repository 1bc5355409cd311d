"""Result Filter CE (eq. 5), SP-Loss (eq. 6) and the per-cell BCE: values, masks, gradients."""

import math

import pytest
import torch

from bgtai.align.losses import alignment_bce, alignment_masks, result_filter_ce, sp_loss

LOSSES = (result_filter_ce, sp_loss, alignment_bce)

# A 2 x 3 example worked out by hand below. Path (0,0) -> (1,1) -> (1,2).
LOGITS = [[0.0, 0.0, 0.0],
          [0.0, math.log(2.0), math.log(3.0)]]
TARGET = [[1, 0, 0],
          [0, 1, 1]]


def _example(dtype=torch.float64):
    return torch.tensor([LOGITS], dtype=dtype), torch.tensor([TARGET], dtype=torch.bool)


def test_ce_hand_computed():
    # Row 0: softmax(0, 0, 0) = 1/3 each, target all on column 0 -> -log(1/3) = log 3.
    # Row 1: softmax(0, log 2, log 3) = (1, 2, 3) / 6, target 1/2 on columns 1 and 2
    #        -> -(log(2/6) + log(3/6)) / 2 = (log 3 + log 2) / 2.
    expected = (math.log(3.0) + (math.log(3.0) + math.log(2.0)) / 2) / 2
    assert result_filter_ce(*_example()).item() == pytest.approx(expected, abs=1e-12)


def test_sp_loss_hand_computed():
    # Normalised columns (0, 1/2, 1) for T = 3.
    # Row 0: target 0, predicted (0 + 1/2 + 1) / 3 = 1/2 -> 1/2.
    # Row 1: target (1/2 + 1) / 2 = 3/4, predicted (1*0 + 2*1/2 + 3*1) / 6 = 2/3 -> 1/12.
    expected = (0.5 + 1.0 / 12.0) / 2
    assert sp_loss(*_example()).item() == pytest.approx(expected, abs=1e-12)


def test_bce_hand_computed():
    # sigmoid(0) = 1/2, sigmoid(log 2) = 2/3, sigmoid(log 3) = 3/4.
    # Row 0: -log(1/2) three times; row 1: -log(1 - 1/2) - log(2/3) - log(3/4).
    total = 3 * math.log(2.0) + math.log(2.0) + math.log(1.5) + math.log(4.0 / 3.0)
    assert alignment_bce(*_example()).item() == pytest.approx(total / 6, abs=1e-12)


def test_perfect_prediction_minimises_sp_and_ce():
    target = torch.eye(4, dtype=torch.bool)[None]
    logits = torch.where(target, 30.0, -30.0).double()
    assert sp_loss(logits, target).item() == pytest.approx(0.0, abs=1e-9)
    assert result_filter_ce(logits, target).item() == pytest.approx(0.0, abs=1e-9)
    assert alignment_bce(logits, target).item() == pytest.approx(0.0, abs=1e-9)


def test_single_column_pair_has_zero_sp():
    # T = 1: both normalised positions are 0 whatever the logits.
    logits = torch.randn(1, 3, 1, dtype=torch.float64)
    assert sp_loss(logits, torch.ones(1, 3, 1, dtype=torch.bool)).item() == 0.0


def _random_path(q: int, t: int, gen: torch.Generator) -> torch.Tensor:
    """A random monotonic path as a binary (q, t) matrix."""
    a = torch.zeros(q, t, dtype=torch.bool)
    i = j = 0
    a[0, 0] = True
    while (i, j) != (q - 1, t - 1):
        moves = [m for m in ((1, 0), (0, 1), (1, 1)) if i + m[0] < q and j + m[1] < t]
        di, dj = moves[int(torch.randint(len(moves), (1,), generator=gen))]
        i, j = i + di, j + dj
        a[i, j] = True
    return a


@pytest.mark.parametrize("loss", LOSSES)
def test_padding_changes_nothing(loss):
    gen = torch.Generator().manual_seed(0)
    shapes = [(3, 5), (2, 7), (4, 4)]
    singles = [(torch.randn(1, q, t, generator=gen, dtype=torch.float64),
                _random_path(q, t, gen)[None]) for q, t in shapes]
    qmax, tmax = max(q for q, _ in shapes), max(t for _, t in shapes)
    # Padding holds garbage logits and stray target cells: neither may leak in.
    logits = torch.randn(3, qmax, tmax, generator=gen, dtype=torch.float64) * 50
    target = torch.rand(3, qmax, tmax, generator=gen) > 0.5
    short_mask = torch.zeros(3, qmax, dtype=torch.bool)
    long_mask = torch.zeros(3, tmax, dtype=torch.bool)
    for b, ((q, t), (lg, tg)) in enumerate(zip(shapes, singles)):
        logits[b, :q, :t], target[b, :q, :t] = lg[0], tg[0]
        short_mask[b, :q], long_mask[b, :t] = True, True
    batched = loss(logits, target, short_mask, long_mask)
    alone = torch.stack([loss(lg, tg) for lg, tg in singles]).mean()
    assert batched.item() == pytest.approx(alone.item(), abs=1e-12)
    # ... and padded logits get no gradient.
    logits.requires_grad_(True)
    loss(logits, target, short_mask, long_mask).backward()
    cells = short_mask[:, :, None] & long_mask[:, None, :]
    assert torch.all(logits.grad[~cells] == 0)
    assert torch.any(logits.grad[cells] != 0)


@pytest.mark.parametrize("loss", LOSSES)
def test_gradcheck(loss):
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    # Pair 1 is a padded 2 x 4 pair.
    target = torch.zeros(2, 3, 5, dtype=torch.bool)
    target[0] = _random_path(3, 5, gen)
    target[1, :2, :4] = _random_path(2, 4, gen)
    short_mask = torch.tensor([[True, True, True], [True, True, False]])
    long_mask = torch.tensor([[True] * 5, [True, True, True, True, False]])
    assert torch.autograd.gradcheck(
        lambda x: loss(x, target, short_mask, long_mask), (logits,), eps=1e-6, atol=1e-6)


def test_gradients_point_towards_the_path():
    target = torch.eye(3, dtype=torch.bool)[None]
    for loss in LOSSES:
        logits = torch.zeros(1, 3, 3, dtype=torch.float64, requires_grad=True)
        loss(logits, target).backward()
        # From uniform logits, gradient descent raises the on-path corners (row 1 of
        # SP-Loss sits exactly on its kink, so only the corners are checked).
        assert logits.grad[0, 0, 0] < 0 and logits.grad[0, 2, 2] < 0


@pytest.mark.parametrize("loss", LOSSES)
def test_bad_inputs(loss):
    logits = torch.zeros(1, 2, 3)
    target = torch.tensor([TARGET], dtype=torch.bool)
    with pytest.raises(ValueError, match="shape"):
        loss(logits, target[:, :, :2])
    with pytest.raises(ValueError, match=r"\(B, Q, T\)"):
        loss(logits[0], target[0])
    with pytest.raises(ValueError, match="binary"):
        loss(logits, target.float() * 0.5)
    with pytest.raises(ValueError, match="floating"):
        loss(logits.long(), target)
    with pytest.raises(ValueError, match="left-aligned"):
        loss(logits, target, torch.tensor([[False, True]]))
    with pytest.raises(ValueError, match="empty"):
        loss(logits, target, None, torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="short_mask must have shape"):
        loss(logits, target, torch.ones(1, 3, dtype=torch.bool))


@pytest.mark.parametrize("loss", (result_filter_ce, sp_loss))
def test_row_without_path_cell_is_rejected(loss):
    target = torch.tensor([[[1, 0, 0], [0, 0, 0]]], dtype=torch.bool)
    with pytest.raises(ValueError, match="no aligned cell"):
        loss(torch.zeros(1, 2, 3), target)


def test_alignment_masks_defaults():
    rows, cols = alignment_masks(2, 3, 4)
    assert rows.shape == (2, 3) and cols.shape == (2, 4)
    assert rows.all() and cols.all()


def test_probability_losses_match_the_logit_losses():
    from bgtai.align.losses import probability_losses

    logits = torch.tensor([[2.0, -1.0, -3.0], [-2.0, 0.5, 1.0]], dtype=torch.float64)
    path = torch.tensor([[True, False, False], [False, True, True]])
    ce, sp = probability_losses(torch.sigmoid(logits).numpy(), path.numpy())
    assert ce == pytest.approx(float(result_filter_ce(logits[None], path[None])), rel=1e-6)
    assert sp == pytest.approx(float(sp_loss(logits[None], path[None])), rel=1e-6)
