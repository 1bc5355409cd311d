"""Draw the BGTAI pipeline diagram used at the top of the README (docs/img/pipeline.png)."""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

BOXES = {
    # name: (x, y, text, colour)
    "text": (0.02, 0.72, "text\n\"I want hot coffee\"", "#e3f2fd"),
    "speech": (0.02, 0.42, "speech\n(microphone)", "#e3f2fd"),
    "sound": (0.02, 0.10, "sound\n(waveform,\nvolume / pitch)", "#fff3e0"),
    "l2g": (0.215, 0.57, "Langue2Gloss\nshared encoder +\nattention decoder", "#ede7f6"),
    "gloss": (0.41, 0.57, "gloss\nX-I WANT\nDESC-HOT COFFEE", "#ede7f6"),
    "dsnet": (0.41, 0.10, "DS-Net / Result Filter\nselects data pairs:\nmonotonic alignment", "#e8f5e9"),
    "space": (0.615, 0.42, "UniBriVL\njoint embedding\n(audio, gloss, image)", "#fce4ec"),
    "image": (0.82, 0.42, "diffusion\ndecoder\n-> image", "#fffde7"),
}
ARROWS = [("text", "l2g"), ("speech", "l2g"), ("l2g", "gloss"), ("gloss", "space"),
          ("sound", "dsnet"), ("dsnet", "space"), ("space", "image"),
          ("l2g", "dsnet")]
W, H = 0.165, 0.22


def draw(out: Path) -> Path:
    fig = Figure(figsize=(12, 4.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    centre = {}
    for name, (x, y, text, colour) in BOXES.items():
        w = 0.15 if name == "image" else W
        ax.add_patch(FancyBboxPatch((x, y), w, H, boxstyle="round,pad=0.01", fc=colour,
                                    ec="#455a64", lw=1.2))
        ax.text(x + w / 2, y + H / 2, text, ha="center", va="center", fontsize=10)
        centre[name] = (x, y, w)
    for a, b in ARROWS:
        xa, ya, wa = centre[a]
        xb, yb, _ = centre[b]
        ax.add_patch(FancyArrowPatch((xa + wa, ya + H / 2), (xb, yb + H / 2),
                                     arrowstyle="-|>", mutation_scale=14, color="#37474f",
                                     connectionstyle="arc3,rad=0.05"))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(draw(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/pipeline.png")))
