"""Data-pair selection for audio-visual contrastive training (paper sec. 2.2.2-2.2.3).

Per clip, ``Q`` = its 1 s audio segments, ``T`` = its video frames (4 per second). Of the
``Q x T`` candidate (segment, frame) pairs most are wrong (the frame shows another moment, a
distractor or an empty scene); selection decides which pair the contrastive loss learns from.
Each clip contributes exactly one positive pair per step in every mode, so the modes differ
only in *which* pair, never in how many (a fair Fig. 2 comparison).

Modes (how the paper's settings are read here; the paper gives no algorithm for A-V pairs):

``base``
    UniBriVL's pairing: the whole clip's audio with a uniformly random frame of the clip.
``result_filter``
    No learned selector. The Result Filter's DTW path between the current (detached) segment
    and frame embeddings, under cosine distance, is the candidate set; the path forces every
    frame onto some segment, so the path cells whose similarity is below the path's median are
    filtered out, and one of the rest is drawn.
``dsnet``
    DS-Net scores every cell of the ``Q x T`` matrix from the detached embeddings; its decoded
    monotonic path, restricted to cells with on-path probability above 1/2 (the pairs it
    "selects" rather than "skips"), is the candidate set. DS-Net is supervised by the clip's
    ground-truth segment/frame alignment with per-cell BCE (train split only; the analog of
    the paper's DS-Net supervision by How2 alignments).
``ds_rf``
    The same DS-Net, additionally supervised by the Result Filter's DTW path with the loss
    chosen by ``--loss`` (:func:`alignment_loss`).

The selector's inputs are detached: its losses train DS-Net only, and the encoders learn from
the contrastive loss on the pairs it selects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bgtai.align.dsnet import decode_alignment
from bgtai.align.dtw import dtw_batch
from bgtai.align.losses import result_filter_ce, sp_loss

SELECTIONS = ("base", "dsnet", "result_filter", "ds_rf")
LOSSES = ("l2", "sp", "total")


def selection_mode(dsnet: bool, result_filter: bool) -> str:
    """The mode named by the paper's two switches (``--dsnet``, ``--result-filter``)."""
    if dsnet:
        return "ds_rf" if result_filter else "dsnet"
    return "result_filter" if result_filter else "base"


def _cells(seg_mask: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    return seg_mask[:, :, None] & frame_mask[:, None, :]


def cosine_cells(seg_emb: torch.Tensor, frame_emb: torch.Tensor) -> torch.Tensor:
    """``(B, Q, T)`` cosine similarity of every segment with every frame of its clip."""
    return torch.einsum("bqd,btd->bqt", F.normalize(seg_emb, dim=-1), F.normalize(frame_emb, dim=-1))


def result_filter_path(seg_emb: torch.Tensor, seg_mask: torch.Tensor, frame_emb: torch.Tensor,
                       frame_mask: torch.Tensor) -> torch.Tensor:
    """The Result Filter's supervision: ``(B, Q, T)`` bool DTW path under cosine distance."""
    # On the embeddings' device: the CUDA DTW runs in one kernel launch, no host round trip.
    cost = (1.0 - cosine_cells(seg_emb, frame_emb)).detach().double()
    cost = cost.masked_fill(~_cells(seg_mask, frame_mask), 0.0)
    result = dtw_batch(cost, x_lengths=seg_mask.sum(1), y_lengths=frame_mask.sum(1),
                       metric="precomputed")
    return result.alignment


def filter_path(path: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
    """Keep the path cells whose similarity is at least the median over that clip's path."""
    sim = similarity.masked_fill(~path, float("nan")).flatten(1)
    median = sim.nanquantile(0.5, dim=1, interpolation="lower")
    return path & (similarity >= median[:, None, None])


def dsnet_candidates(logits: torch.Tensor, seg_mask: torch.Tensor,
                     frame_mask: torch.Tensor) -> torch.Tensor:
    """DS-Net's selected cells: its decoded path where ``sigmoid(logit) > 1/2``.

    A clip where no path cell passes keeps its single most likely path cell, so every clip
    still contributes one pair.
    """
    path, _ = decode_alignment(logits.float(), seg_mask, frame_mask)
    chosen = path & (logits > 0)
    best = logits.masked_fill(~path, float("-inf")).flatten(1).argmax(dim=1)
    fallback = torch.zeros_like(path).flatten(1)
    fallback[torch.arange(len(best)), best] = True
    empty = ~chosen.flatten(1).any(dim=1)
    return torch.where(empty[:, None, None], fallback.view_as(path), chosen)


def sample_cells(candidates: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """One uniformly drawn candidate cell per clip: ``(segment index, frame index)``, each ``(B,)``."""
    flat = candidates.flatten(1).float()
    if bool((flat.sum(dim=1) == 0).any()):
        raise ValueError("every clip needs at least one candidate cell")
    cell = torch.multinomial(flat, 1, generator=generator)[:, 0]
    t = candidates.shape[2]
    return cell // t, cell % t


def random_frames(frame_mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The Base setting's pairing: one uniformly random valid frame index per clip."""
    return torch.multinomial(frame_mask.float(), 1, generator=generator)[:, 0]


def alignment_loss(logits: torch.Tensor, target: torch.Tensor, seg_mask: torch.Tensor,
                   frame_mask: torch.Tensor, kind: str, *, ce_weight: float = 1.0,
                   sp_weight: float = 1.0) -> torch.Tensor:
    """DS-Net's loss against the Result Filter's DTW path, by ``--loss``.

    ``"l2"``: mean squared error between ``sigmoid(logits)`` and the binary path over valid
    cells (Table 4 row A's plain baseline). ``"sp"``: SP-Loss (eq. 6). ``"total"``:
    ``ce_weight * CE (eq. 5) + sp_weight * SP``; the contrastive term is added by the caller.
    """
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    if kind == "l2":
        cells = _cells(seg_mask, frame_mask).to(logits.dtype)
        err = (torch.sigmoid(logits) - target.to(logits.dtype)) ** 2 * cells
        return err.sum() / cells.sum()
    sp = sp_loss(logits, target, seg_mask, frame_mask)
    if kind == "sp":
        return sp_weight * sp
    return ce_weight * result_filter_ce(logits, target, seg_mask, frame_mask) + sp_weight * sp
