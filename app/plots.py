"""Matplotlib figures for the app.

Figures are built from ``matplotlib.figure.Figure`` directly, never through ``pyplot``, because
handlers run in parallel threads and pyplot's global state is not thread-safe.
"""

from __future__ import annotations

import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure

from bgtai.align.sequences import ALIGN_HOP_MS
from bgtai.audio import log_mel

FRAME_SECONDS = ALIGN_HOP_MS / 1000  # the frame hop of the alignment views' sound features

LABEL_ROOM = 0.35
"""Inches kept free at the top of every figure: Gradio draws the component's label there."""

# white squares need a dark rim to show on the light end of viridis
WHITE_SQUARES = {"marker": "s", "facecolors": "none", "edgecolors": "white", "linewidths": 1.8,
                 "path_effects": [patheffects.withStroke(linewidth=3.2, foreground="black")]}

ATTENTION_ROWS = 40
"""Most gloss words an attention figure shows (labels stay readable); longer gloss is cut."""


def _figure(width: float, height: float) -> Figure:
    """A constrained-layout figure of ``width`` x ``height`` inches of content plus a free band
    of :data:`LABEL_ROOM` on top, so Gradio's label does not cover the titles."""
    fig = Figure(figsize=(width, height + LABEL_ROOM), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, height / (height + LABEL_ROOM)))
    return fig


def spectrogram_figure(mel: np.ndarray, title: str, frame_seconds: float = FRAME_SECONDS) -> Figure:
    """A log-mel spectrogram ``(frames, n_mels)`` with time in seconds on the x axis."""
    fig = _figure(6, 2.4)
    ax = fig.subplots()
    extent = (0, mel.shape[0] * frame_seconds, 0, mel.shape[1])
    im = ax.imshow(10 * mel.T, origin="lower", aspect="auto", cmap="magma", extent=extent)
    ax.set(title=title, xlabel="time (s)", ylabel="mel band")
    fig.colorbar(im, ax=ax, label="dB")
    return fig


def cost_path_figure(cost: np.ndarray, path: np.ndarray, *, labels_a=None, labels_b=None,
                     name_a: str = "A", name_b: str = "B", overlay: np.ndarray | None = None,
                     overlay_label: str = "DS-Net") -> Figure:
    """The local cost matrix with the DTW path drawn on it.

    Rows are sequence A, columns sequence B. ``overlay`` optionally marks a second binary
    alignment (e.g. DS-Net's prediction) with hollow squares so both can be compared.
    """
    n, m = cost.shape
    size = 5.5 if labels_a is None else min(9.0, 3.0 + 0.35 * max(n, m))
    fig = _figure(size + 1.2, size)
    ax = fig.subplots()
    im = ax.imshow(cost, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    ax.plot(path[:, 1], path[:, 0], color="#ff3b30", lw=2 if max(n, m) < 200 else 1.2,
            marker="o" if max(n, m) < 60 else None, ms=4, label="DTW path")
    if overlay is not None:
        rows, cols = np.nonzero(overlay)
        ax.scatter(cols, rows, s=80 if max(n, m) < 60 else 10, label=overlay_label, **WHITE_SQUARES)
    for labels, set_ticks, set_labels in ((labels_a, ax.set_yticks, ax.set_yticklabels),
                                          (labels_b, ax.set_xticks, ax.set_xticklabels)):
        if labels is not None and len(labels) <= 60:
            set_ticks(range(len(labels)))
            set_labels(labels, fontsize=8)
    if labels_b is not None and len(labels_b) <= 60:
        ax.tick_params(axis="x", labelrotation=60)
    ax.set(xlabel=name_b, ylabel=name_a, title="local cost and optimal warping path")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    fig.colorbar(im, ax=ax, label="cost")
    return fig


def attention_figure(attention: np.ndarray, alignment: np.ndarray, rows: list[str],
                     cols: list[str], col_title: str) -> Figure:
    """Cross-attention of each gloss token over the input, DS-Net's alignment outlined.

    ``attention`` and ``alignment`` are ``(len(rows), len(cols))``. Only the first
    :data:`ATTENTION_ROWS` gloss words are drawn, over the inputs they attend to (a long
    text's later sentences are left out, and the title says so); long column lists (speech
    frames) get sparse tick labels, and columns labelled ``""`` none.
    """
    total = len(rows)
    attention, alignment = attention[:ATTENTION_ROWS], alignment[:ATTENTION_ROWS]
    used = np.flatnonzero((attention > 0).any(0) | alignment.any(0))
    m = int(used.max()) + 1 if used.size else attention.shape[1]
    attention, alignment = attention[:, :m], alignment[:, :m]
    rows, cols = rows[:len(attention)], cols[:m]
    n = len(rows)
    fig = _figure(max(5.5, min(11.0, 2.5 + 0.35 * m)), max(2.2, min(7.0, 1.6 + 0.17 * n)))
    ax = fig.subplots()
    im = ax.imshow(attention, aspect="auto", cmap="Blues", vmin=0, interpolation="nearest")
    r, c = np.nonzero(alignment)
    ax.scatter(c, r, marker="s", s=90 if max(m, n) < 40 else 16, facecolors="none",
               edgecolors="#ff3b30", linewidths=1.5, label="DS-Net alignment")
    ax.set_yticks(range(n), rows, fontsize=8)
    labelled = [i for i in range(m) if cols[i]]  # an empty label gets no tick
    ticks = labelled[:: max(1, len(labelled) // 50)]
    ax.set_xticks(ticks, [cols[i] for i in ticks], fontsize=8, rotation=60)
    ax.set(xlabel=col_title, ylabel="gloss word")
    if n < total:
        ax.set_title(f"first {n} of {total} gloss words", fontsize=9, loc="right")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    fig.colorbar(im, ax=ax, label="cross-attention")
    return fig


def edit_figure(before: np.ndarray, after: np.ndarray, sr: int) -> Figure:
    """Waveform and log-mel spectrogram of a sound before and after the sliders' edit.

    Both columns share their axes and colour scale, so a gain shows as taller waves and brighter
    bands, a pitch shift as bands moving up or down.
    """
    fig = _figure(9, 4.2)
    axes = fig.subplots(2, 2, sharex="col", sharey="row")
    mels = [log_mel(w) for w in (before, after)]
    lo = min(float(m.min()) for m in mels) * 10
    hi = max(float(m.max()) for m in mels) * 10
    for col, (wave, mel, title) in enumerate(zip((before, after), mels, ("original", "edited"))):
        seconds = len(wave) / sr
        axes[0, col].plot(np.arange(len(wave)) / sr, wave, lw=0.4, color="#1f5fa8")
        axes[0, col].set(title=f"{title} waveform", ylim=(-1.05, 1.05))
        im = axes[1, col].imshow(10 * mel.T, origin="lower", aspect="auto", cmap="magma",
                                 extent=(0, seconds, 0, mel.shape[1]), vmin=lo, vmax=hi)
        axes[1, col].set(title=f"{title} log-mel spectrogram", xlabel="time (s)")
    axes[0, 0].set_ylabel("amplitude")
    axes[1, 0].set_ylabel("mel band")
    fig.colorbar(im, ax=axes[1, :], label="dB")
    return fig


def selection_figure(view, frame_seconds: float) -> Figure:
    """Pair selection on one world clip (a :class:`bgtai.joint.inspect.ClipInspection`).

    Left: cosine distance between the clip's 1 s audio segments and its frames, the Result
    Filter's DTW path, and the cells DS-Net selects. Right: DS-Net's probability per cell,
    with the ground truth (segment and frame share a heard and seen event) outlined.
    """
    n_seg, n_frames = view.similarity.shape
    fig = _figure(10, 3.6)
    left, right = fig.subplots(1, 2, sharey=True)
    extent = (-0.5, n_frames - 0.5, -0.5, n_seg - 0.5)
    im = left.imshow(1 - view.similarity, origin="lower", aspect="auto", cmap="viridis",
                     interpolation="nearest", extent=extent)
    rows, cols = np.nonzero(view.dtw_path)
    left.plot(cols, rows, color="#ff3b30", lw=2, marker="o", ms=4, label="DTW path (Result Filter)")
    rows, cols = np.nonzero(view.selected)
    left.scatter(cols, rows, s=90, label="selected by DS-Net", **WHITE_SQUARES)
    left.set(title="cosine distance, DTW path, DS-Net's choice", ylabel="audio segment",
             xlabel=f"video frame ({1 / frame_seconds:g} per second)")
    # rows are whole 1 s segments: name them by their seconds, not by matplotlib's edges
    left.set_yticks(range(n_seg), [f"{k}-{k + 1} s" for k in range(n_seg)])
    left.legend(loc="upper left", fontsize=7, framealpha=0.8)
    fig.colorbar(im, ax=left, label="1 - cosine")
    im = right.imshow(view.dsnet_prob, origin="lower", aspect="auto", cmap="Blues", vmin=0, vmax=1,
                      interpolation="nearest", extent=extent)
    rows, cols = np.nonzero(view.truth)
    right.scatter(cols, rows, marker="s", s=90, facecolors="none", edgecolors="#2ca02c",
                  linewidths=1.5, label="ground truth")
    right.set(title="DS-Net probability per cell", xlabel="video frame")
    right.legend(loc="upper left", fontsize=7, framealpha=0.8)
    fig.colorbar(im, ax=right, label="p(pair belongs together)")
    return fig
