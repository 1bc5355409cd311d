"""DS-Net / Result Filter: shapes, masks, decoding, serialisation, and learning DTW paths."""

import json

import numpy as np
import pytest
import torch

from bgtai.align.dsnet import (
    MASK_VALUE,
    DSNet,
    DSNetConfig,
    alignment_f1,
    decode_alignment,
)
from bgtai.align.dtw import dtw_batch
from bgtai.align.losses import alignment_bce

D_SHORT, D_LONG = 5, 3


def _model(seed: int = 0, **overrides) -> DSNet:
    torch.manual_seed(seed)
    cfg = dict(d_in_short=D_SHORT, d_in_long=D_LONG, d_model=16, layers=1, heads=2,
               pair_channels=4, conv_channels=8, conv_layers=2)
    cfg.update(overrides)
    return DSNet(DSNetConfig(**cfg)).eval()


def _assert_valid_path(path, q: int, t: int):
    path = np.asarray(path)
    assert path.ndim == 2 and path.shape[1] == 2
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (q - 1, t - 1)
    steps = {tuple(s) for s in np.diff(path, axis=0)}
    assert steps <= {(1, 0), (0, 1), (1, 1)}


def _ragged_batch(lengths, gen):
    """Padded random inputs and masks for pairs of the given (Q, T) lengths."""
    qmax, tmax = max(q for q, _ in lengths), max(t for _, t in lengths)
    b = len(lengths)
    short = torch.randn(b, qmax, D_SHORT, generator=gen)
    long = torch.randn(b, tmax, D_LONG, generator=gen)
    short_mask = torch.arange(qmax)[None] < torch.tensor([q for q, _ in lengths])[:, None]
    long_mask = torch.arange(tmax)[None] < torch.tensor([t for _, t in lengths])[:, None]
    return short, long, short_mask, long_mask


def test_forward_shape_and_masked_cells():
    gen = torch.Generator().manual_seed(0)
    short, long, sm, lm = _ragged_batch([(3, 7), (5, 4)], gen)
    logits = _model()(short, long, sm, lm)
    assert logits.shape == (2, 5, 7)
    cells = sm[:, :, None] & lm[:, None, :]
    assert torch.all(logits[~cells] == MASK_VALUE)
    assert torch.all(torch.isfinite(logits)) and torch.all(logits[cells] > MASK_VALUE)


def test_padding_changes_nothing():
    gen = torch.Generator().manual_seed(1)
    model = _model(conv_kernel=5)
    lengths = [(4, 9), (6, 5), (1, 3)]
    short, long, sm, lm = _ragged_batch(lengths, gen)
    # Garbage, even NaN, in the padding must not reach real cells.
    short[~sm] = float("nan")
    long[~lm] = 1e6
    batched = model(short, long, sm, lm)
    for b, (q, t) in enumerate(lengths):
        alone = model(short[b:b + 1, :q], long[b:b + 1, :t])
        torch.testing.assert_close(batched[b:b + 1, :q, :t], alone, atol=1e-5, rtol=1e-5)


def test_decode_random_logits_gives_valid_paths():
    gen = torch.Generator().manual_seed(2)
    for trial in range(20):
        lengths = [tuple(int(v) for v in torch.randint(1, 12, (2,), generator=gen))
                   for _ in range(3)]
        qmax, tmax = max(q for q, _ in lengths), max(t for _, t in lengths)
        logits = torch.randn(3, qmax, tmax, generator=gen) * 10 ** (trial % 4)
        sm = torch.arange(qmax)[None] < torch.tensor([q for q, _ in lengths])[:, None]
        lm = torch.arange(tmax)[None] < torch.tensor([t for _, t in lengths])[:, None]
        alignment, paths = decode_alignment(logits, sm, lm)
        assert alignment.dtype == torch.bool and alignment.shape == logits.shape
        for b, (q, t) in enumerate(lengths):
            _assert_valid_path(paths[b], q, t)
            expected = np.zeros((qmax, tmax), dtype=bool)
            expected[tuple(np.asarray(paths[b]).T)] = True
            assert np.array_equal(alignment[b].numpy(), expected)


def test_decode_prefers_likely_cells_over_short_paths():
    # Log-odds decoding: a detour through confident cells beats the diagonal, which a
    # -log(p) cost (always positive, so shorter is better) would choose instead.
    p = torch.full((3, 3), 0.05, dtype=torch.float64)
    p[0, 0] = p[2, 2] = 0.9
    p[0, 1] = p[0, 2] = p[1, 2] = 0.8
    p[1, 1] = 0.7
    logits = (p / (1 - p)).log()[None]
    _, paths = decode_alignment(logits)
    assert np.asarray(paths[0]).tolist() == [[0, 0], [0, 1], [0, 2], [1, 2], [2, 2]]
    neg_log_p, _ = decode_alignment(p.log()[None])  # the rejected objective, -log p
    assert neg_log_p[0].diagonal().all() and int(neg_log_p[0].sum()) == 3


def test_predict_path_outputs():
    gen = torch.Generator().manual_seed(3)
    lengths = [(2, 6), (5, 5)]
    short, long, sm, lm = _ragged_batch(lengths, gen)
    pred = _model().predict_path(short, long, sm, lm)
    cells = sm[:, :, None] & lm[:, None, :]
    assert pred.alignment.shape == pred.probabilities.shape == (2, 5, 6)
    assert not pred.alignment[~cells].any() and torch.all(pred.probabilities[~cells] == 0)
    assert torch.all((pred.probabilities >= 0) & (pred.probabilities <= 1))
    for b, (q, t) in enumerate(lengths):
        _assert_valid_path(pred.paths[b], q, t)


def test_save_and_load_round_trip(tmp_path):
    model = _model(seed=4, conv_kernel=5)
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".md") == [
        "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "config.json").read_text())["conv_kernel"] == 5
    loaded = DSNet.from_pretrained(tmp_path)
    assert loaded.config == model.config and not loaded.training
    gen = torch.Generator().manual_seed(5)
    short, long, sm, lm = _ragged_batch([(3, 8), (4, 6)], gen)
    torch.testing.assert_close(loaded(short, long, sm, lm), model(short, long, sm, lm))


def test_pickled_weights_are_refused(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError):  # a local folder needs model.safetensors
        DSNet.from_pretrained(tmp_path)
    # A Hub repo without safetensors would fall back to pickle: that path refuses too.
    with pytest.raises(ValueError, match="pickled"):
        DSNet._load_as_pickle(_model(), str(tmp_path / "pytorch_model.bin"), "cpu", True)


def test_default_config_is_small():
    model = DSNet(DSNetConfig(d_in_short=256, d_in_long=256))
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


@pytest.mark.parametrize("bad, match", [
    (dict(d_in_short=0), "d_in_short"),
    (dict(d_model=30, heads=4), "divide"),
    (dict(conv_kernel=4), "odd"),
    (dict(dropout=1.0), "dropout"),
    (dict(layers=-1), "layers"),
    (dict(d_model=16.0), "d_model"),
])
def test_config_validation(bad, match):
    cfg = dict(d_in_short=4, d_in_long=4)
    cfg.update(bad)
    with pytest.raises(ValueError, match=match):
        DSNetConfig(**cfg)


def test_input_validation():
    model = _model()
    short, long = torch.randn(2, 3, D_SHORT), torch.randn(2, 5, D_LONG)
    with pytest.raises(ValueError, match="short must have shape"):
        model(torch.randn(2, 3, D_SHORT + 1), long)
    with pytest.raises(ValueError, match="batch sizes"):
        model(short, long[:1])
    with pytest.raises(ValueError, match="empty"):
        model(short[:, :0], long)
    with pytest.raises(ValueError, match="floating"):
        model(short.long(), long)
    with pytest.raises(ValueError, match="left-aligned"):
        model(short, long, torch.tensor([[True, False, True]] * 2))
    with pytest.raises(ValueError, match="config"):
        DSNet({"d_in_short": 3, "d_in_long": 3})


def test_alignment_f1_counts():
    target = np.eye(3, dtype=bool)
    pred = target.copy()
    pred[0, 1] = True  # one false positive: precision 3/4, recall 1 -> F1 6/7
    assert alignment_f1(pred, target) == pytest.approx(6 / 7)
    pred[2, 2] = False  # and one false negative: 2 TP, 1 FP, 1 FN -> F1 4/6
    assert alignment_f1(pred, target) == pytest.approx(4 / 6)
    # Masked cells are ignored.
    sm = torch.tensor([[True, True, False]])
    assert alignment_f1(pred[None], target[None], sm) == pytest.approx(4 / 5)


# --------------------------------------------------------------------------------------
# Learning: DS-Net recovers DTW paths of synthetic time-warped pairs it never saw.

D_WARP = 4


def _warped_pairs(n: int, seed: int):
    """``n`` (short, long) pairs: a smooth random sequence and a noisy time-warped copy.

    The short sequence is a standardised random walk (smooth, and every step moves it);
    the long one samples it, by linear interpolation, at the positions of a random
    monotone warp with 1.5-3x as many elements, plus Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        q = int(rng.integers(6, 17))
        t = int(round(q * rng.uniform(1.5, 3.0)))
        short = np.cumsum(rng.normal(size=(q, D_WARP)), axis=0)
        short = (short - short.mean(0)) / (short.std(0) + 1e-6)
        warp = np.concatenate([[0.0], np.cumsum(rng.uniform(0.2, 1.8, size=t - 1))])
        warp *= (q - 1) / warp[-1]
        long = np.stack([np.interp(warp, np.arange(q), short[:, k]) for k in range(D_WARP)], 1)
        long += 0.1 * rng.normal(size=long.shape)
        pairs.append((short.astype(np.float32), long.astype(np.float32)))
    return pairs


def _collate(pairs):
    """Pad a list of pairs; the target is the exact DTW path between them."""
    b = len(pairs)
    qmax = max(len(s) for s, _ in pairs)
    tmax = max(len(lg) for _, lg in pairs)
    short = torch.zeros(b, qmax, D_WARP)
    long = torch.zeros(b, tmax, D_WARP)
    for i, (s, lg) in enumerate(pairs):
        short[i, :len(s)], long[i, :len(lg)] = torch.from_numpy(s), torch.from_numpy(lg)
    q_len = torch.tensor([len(s) for s, _ in pairs])
    t_len = torch.tensor([len(lg) for _, lg in pairs])
    target = dtw_batch(short.double(), long.double(), q_len, t_len).alignment
    return (short, long, torch.arange(qmax)[None] < q_len[:, None],
            torch.arange(tmax)[None] < t_len[:, None], target)


# 1000 small optimiser steps, about 22 ms each on one thread. One thread on purpose: these
# tensors are too small for intra-op parallelism, and two threads measured 50x slower when
# the other core was busy (workers wait on each other).
@pytest.mark.slow
def test_dsnet_learns_dtw_paths_on_held_out_pairs():
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = DSNet(DSNetConfig(d_in_short=D_WARP, d_in_long=D_WARP, d_model=32, layers=1,
                                  heads=4, pair_channels=8, conv_channels=16, conv_layers=2))
        steps, batch = 1000, 16
        train = _warped_pairs(steps * batch // 4, seed=1)  # 4 epochs
        # Batches of similar lengths waste little compute on padding; the batch order is
        # then shuffled so training does not sweep from short to long pairs.
        train.sort(key=lambda pair: (len(pair[0]), len(pair[1])))
        batches = [_collate(train[i:i + batch]) for i in range(0, len(train), batch)]
        order = np.random.default_rng(2).permutation(len(batches))
        opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=steps,
                                                    pct_start=0.1)
        model.train()
        for step in range(steps):
            short, long, sm, lm, target = batches[order[step % len(batches)]]
            loss = alignment_bce(model(short, long, sm, lm), target, sm, lm)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        short, long, sm, lm, target = _collate(_warped_pairs(200, seed=12345))
        pred = model.predict_path(short, long, sm, lm)
    finally:
        torch.set_num_threads(threads)
    f1 = alignment_f1(pred.alignment, target, sm, lm)
    print(f"held-out cell F1 = {f1:.4f}")
    assert f1 >= 0.95
