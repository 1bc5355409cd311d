"""Look inside pair selection for one clip: what the Result Filter and DS-Net see and decide.

Used by the app's Alignment lab and handy in notebooks:

>>> from bgtai.data.world import WorldDataset
>>> view = inspect_clip(JointModel.from_pretrained("assets/joint"),
...                     WorldDataset("test", 10, kind="clip").clip(0))   # doctest: +SKIP
>>> view.dtw_path.shape, round(view.ce, 3)                             # doctest: +SKIP
((5, 20), 2.071)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bgtai.align.dsnet import decode_alignment
from bgtai.align.losses import result_filter_ce, sp_loss
from bgtai.data.clips import Clip
from bgtai.joint import selection as sel
from bgtai.joint.model import JointModel


@dataclass
class ClipInspection:
    """Pair selection on one clip; every matrix is ``(S, F)``: 1 s audio segments x frames.

    Attributes
    ----------
    similarity : np.ndarray
        Cosine similarity of the segment and frame embeddings.
    dtw_path : np.ndarray
        bool, the Result Filter's supervision: the DTW path under cosine distance.
    dsnet_prob : np.ndarray
        DS-Net's per-cell probability ``sigmoid(logit)``.
    dsnet_path : np.ndarray
        bool, DS-Net's decoded monotonic path.
    selected : np.ndarray
        bool, the cells DS-Net selects for training (path cells with probability > 1/2).
    truth : np.ndarray
        bool, ground truth: segment and frame share an event that is both heard and seen.
    ce, sp : float
        Eq. 5 cross-entropy and eq. 6 SP-Loss of DS-Net's scores against ``dtw_path``.
    """

    similarity: np.ndarray
    dtw_path: np.ndarray
    dsnet_prob: np.ndarray
    dsnet_path: np.ndarray
    selected: np.ndarray
    truth: np.ndarray
    ce: float
    sp: float


@torch.no_grad()
def inspect_clip(model: JointModel, clip: Clip) -> ClipInspection:
    """Embed ``clip``'s 1 s segments and frames with ``model`` and run both selectors on them."""
    model.eval()
    device = model.log_scales.device
    wave = torch.from_numpy(np.ascontiguousarray(clip.audio, dtype=np.float32))[None].to(device)
    _, segments, seg_mask = model.embed_audio(wave)
    frames = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).to(device)
    frame_emb = model.embed_image(frames)[None]
    truth = clip.alignment()
    n_seg = min(int(seg_mask.sum()), truth.shape[0])  # the encoder may pad a partial segment
    segments, seg_mask = segments[:, :n_seg], seg_mask[:, :n_seg]
    frame_mask = torch.ones(frame_emb.shape[:2], dtype=torch.bool, device=device)
    path = sel.result_filter_path(segments, seg_mask, frame_emb, frame_mask)
    logits = model.dsnet(segments, frame_emb, seg_mask, frame_mask).float()
    decoded, _ = decode_alignment(logits.cpu(), seg_mask.cpu(), frame_mask.cpu())
    args = (logits, path, seg_mask, frame_mask)
    return ClipInspection(
        similarity=sel.cosine_cells(segments, frame_emb)[0].cpu().numpy(),
        dtw_path=path[0].cpu().numpy(),
        dsnet_prob=torch.sigmoid(logits)[0].cpu().numpy(),
        dsnet_path=decoded[0].numpy(),
        selected=sel.dsnet_candidates(logits, seg_mask, frame_mask)[0].cpu().numpy(),
        truth=truth[:n_seg],
        ce=float(result_filter_ce(*args)),
        sp=float(sp_loss(*args)),
    )
