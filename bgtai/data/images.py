"""Drawn objects of the world's classes, and the physics that maps sound to picture.

Physics (documented in ``docs/world.md``):

* **pitch -> hue.** For a pitched class, hue = ``270 deg * p`` where ``p`` in [0, 1] is the pitch's
  log-scale position in the class's range (:func:`bgtai.data.events.pitch_position`): low pitches
  are red, high ones violet. Unpitched classes keep one fixed hue (:data:`CLASS_HUES`). The map is
  monotone, so hue can be read back into pitch (:func:`pitch_from_hue`).
* **loudness -> size.** Object size (its larger side, as a fraction of the image side) grows
  linearly from 0.12 (quietest) to 0.28 (loudest) across
  :data:`~bgtai.data.events.LOUDNESS_RANGE` (:func:`loudness_from_size` inverts it).
* **repetitions -> count.** One object per repetition, each in its own cell of a 3x3 grid with a
  random offset, so objects never overlap or touch (connected components count them).
* **background.** Low saturation (HSV S <= 0.2) with a random hue, brightness, gradient, blotches
  or stripes; objects are fully saturated (S = 1, shaded with darker and lighter tints of their
  hue), so a saturation threshold separates them from any background.

Objects are drawn with Pillow at 4x resolution and downsampled (antialiasing), then composited
onto the background. Images are ``(H, W, 3)`` uint8, 64x64 by default (32-128).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from bgtai.data.events import (
    CLASSES,
    LOUDNESS_RANGE,
    PITCH_RANGES,
    PITCHED,
    Event,
    loudness_position,
    pitch_position,
)

IMAGE_SIZE = 64
IMAGE_SIZE_RANGE = (32, 128)
HUE_SPAN_DEG = 270.0
"""Pitched classes map their pitch range onto hues 0-270 deg (red .. violet), avoiding the wrap."""
CLASS_HUES: dict[str, float] = {
    "clap": 30.0,
    "snap": 55.0,
    "hiss": 120.0,
    "click": 200.0,
    "drum": 330.0,
}
"""Fixed hue (deg) of each unpitched class."""
SIZE_RANGE = (0.12, 0.28)
"""Object size (larger side / image side) for the quietest and loudest events."""
GRID = 3
"""Objects sit in distinct cells of a GRID x GRID layout (up to 9, the world needs 5)."""
BACKGROUND_MAX_SATURATION = 0.2
_SUPERSAMPLE = 4
_CELL_MARGIN = 0.025


def event_hue(event: Event) -> float:
    """Hue in degrees [0, 360) of the event's objects."""
    if event.cls in PITCHED:
        return HUE_SPAN_DEG * pitch_position(event.cls, event.pitch_hz)
    return CLASS_HUES[event.cls]


def event_size(event: Event) -> float:
    """Object size (larger side as a fraction of the image side) for the event's loudness."""
    lo, hi = SIZE_RANGE
    return lo + (hi - lo) * loudness_position(event.loudness_dbfs)


def pitch_from_hue(cls: str, hue_deg: float) -> float:
    """Invert the pitch -> hue map of a pitched class (hue clipped to 0-270 deg)."""
    if cls not in PITCHED:
        raise ValueError(f"class {cls!r} has no pitch")
    lo, hi = PITCH_RANGES[cls]
    p = float(np.clip((hue_deg % 360.0) / HUE_SPAN_DEG, 0.0, 1.0))
    return lo * (hi / lo) ** p


def loudness_from_size(size: float) -> float:
    """Invert the loudness -> size map (size clipped to :data:`SIZE_RANGE`)."""
    lo, hi = SIZE_RANGE
    t = float(np.clip((size - lo) / (hi - lo), 0.0, 1.0))
    return LOUDNESS_RANGE[0] + t * (LOUDNESS_RANGE[1] - LOUDNESS_RANGE[0])


def check_image_size(image_size: int) -> int:
    """Validate an image side length (32-128 pixels)."""
    lo, hi = IMAGE_SIZE_RANGE
    if not (isinstance(image_size, (int, np.integer)) and lo <= image_size <= hi):
        raise ValueError(f"image_size must be an integer in {lo}-{hi}, got {image_size!r}")
    return int(image_size)


@dataclass(frozen=True)
class DrawnObject:
    """One object on an image: its class, hue (deg) and square box (left, top, side) in pixels."""

    cls: str
    hue_deg: float
    left: float
    top: float
    side: float


def _hsv(h_deg: float, s: float, v: float) -> tuple[int, int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((h_deg % 360.0) / 360.0, s, v)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255)), 255


@dataclass(frozen=True)
class _Pen:
    """Draws in unit coordinates ``(u, v)`` in [0, 1]^2 mapped onto one object's square box,
    with the three tints of the object's hue (all fully saturated or nearly so)."""

    draw: ImageDraw.ImageDraw
    x0: float
    y0: float
    d: float
    main: tuple
    dark: tuple
    light: tuple

    def p(self, u: float, v: float) -> tuple[float, float]:
        return (self.x0 + u * self.d, self.y0 + v * self.d)

    def box(self, u0: float, v0: float, u1: float, v1: float) -> list:
        return [self.p(min(u0, u1), v0), self.p(max(u0, u1), v1)]

    def px(self, width: float) -> int:
        """A width given as a fraction of the box, in whole pixels (at least 1)."""
        return max(1, int(round(width * self.d)))

    def poly(self, points, fill) -> None:
        self.draw.polygon([self.p(u, v) for u, v in points], fill=fill)

    def line(self, points, fill, width: float) -> None:
        self.draw.line([self.p(u, v) for u, v in points], fill=fill, width=self.px(width))

    def ellipse(self, u0, v0, u1, v1, **style) -> None:
        self.draw.ellipse(self.box(u0, v0, u1, v1), **style)

    def rect(self, u0, v0, u1, v1, fill) -> None:
        self.draw.rectangle(self.box(u0, v0, u1, v1), fill=fill)

    def rounded(self, u0, v0, u1, v1, radius: float, fill) -> None:
        self.draw.rounded_rectangle(self.box(u0, v0, u1, v1), radius=radius * self.d, fill=fill)


def _bell(pen: _Pen) -> None:
    pen.ellipse(0.28, 0.0, 0.72, 0.36, fill=pen.main)
    pen.poly(
        [(0.28, 0.18), (0.72, 0.18), (0.8, 0.62), (0.98, 0.84), (0.02, 0.84), (0.2, 0.62)], pen.main
    )
    pen.rect(0.02, 0.78, 0.98, 0.86, pen.dark)
    pen.ellipse(0.4, 0.76, 0.6, 1.0, fill=pen.dark)
    pen.line([(0.38, 0.2), (0.3, 0.6)], pen.light, 0.06)


def _whistle(pen: _Pen) -> None:
    pen.ellipse(0.0, 0.12, 0.26, 0.38, outline=pen.dark, width=pen.px(0.07))
    pen.ellipse(0.0, 0.3, 0.62, 0.92, fill=pen.main)
    pen.rect(0.3, 0.3, 1.0, 0.56, pen.main)
    pen.rect(0.84, 0.3, 1.0, 0.56, pen.dark)
    pen.ellipse(0.2, 0.5, 0.42, 0.72, fill=pen.dark)


def _hum(pen: _Pen) -> None:  # a musical note
    pen.ellipse(0.05, 0.68, 0.52, 1.0, fill=pen.main)
    pen.rect(0.38, 0.0, 0.52, 0.86, pen.main)
    pen.poly([(0.4, 0.0), (0.92, 0.22), (0.92, 0.5), (0.4, 0.3)], pen.main)


def _clap(pen: _Pen) -> None:  # two palms meeting, fingers up, thumbs out
    for m in (lambda u: u, lambda u: 1.0 - u):  # left hand, then its mirror image
        pen.rounded(m(0.12), 0.42, m(0.52), 1.0, 0.1, pen.main)
        for k in range(4):
            pen.rounded(
                m(0.14 + 0.095 * k),
                0.04 + 0.05 * abs(k - 2),
                m(0.21 + 0.095 * k),
                0.55,
                0.035,
                pen.main,
            )
        pen.poly([(m(0.16), 0.5), (m(0.0), 0.34), (m(0.0), 0.44), (m(0.14), 0.72)], pen.main)
    pen.line([(0.5, 0.1), (0.5, 0.98)], pen.dark, 0.04)


def _snap(pen: _Pen) -> None:  # lightning bolt
    pen.poly(
        [
            (0.58, 0.0),
            (0.12, 0.56),
            (0.44, 0.56),
            (0.28, 1.0),
            (0.88, 0.4),
            (0.56, 0.4),
            (0.8, 0.0),
        ],
        pen.main,
    )
    pen.line([(0.58, 0.04), (0.2, 0.52)], pen.light, 0.05)


def _hiss(pen: _Pen) -> None:  # snake
    body = [
        (0.04 + 0.7 * t, 0.7 + 0.18 * math.sin(t * 2.2 * math.pi)) for t in np.linspace(0, 1, 24)
    ]
    pen.line(body, pen.main, 0.16)
    pen.line([(0.7, 0.66), (0.8, 0.45)], pen.main, 0.16)
    pen.ellipse(0.68, 0.26, 0.94, 0.5, fill=pen.main)
    pen.line([(0.92, 0.38), (1.0, 0.32)], pen.dark, 0.04)
    pen.line([(0.92, 0.38), (1.0, 0.44)], pen.dark, 0.04)
    pen.ellipse(0.8, 0.31, 0.86, 0.37, fill=pen.dark)


def _click(pen: _Pen) -> None:  # mouse pointer
    pen.poly(
        [
            (0.18, 0.0),
            (0.18, 0.8),
            (0.36, 0.63),
            (0.52, 1.0),
            (0.68, 0.93),
            (0.52, 0.57),
            (0.8, 0.57),
        ],
        pen.main,
    )
    pen.line([(0.18, 0.0), (0.18, 0.8), (0.36, 0.63)], pen.dark, 0.05)


def _siren(pen: _Pen) -> None:  # rotating beacon
    pen.draw.chord(pen.box(0.14, 0.04, 0.86, 0.84), 180, 360, fill=pen.main)
    pen.rect(0.14, 0.43, 0.86, 0.8, pen.main)
    pen.line([(0.34, 0.2), (0.3, 0.7)], pen.light, 0.07)
    pen.rect(0.0, 0.8, 1.0, 1.0, pen.dark)


def _drum(pen: _Pen) -> None:  # drum with two sticks
    pen.line([(0.36, 0.3), (0.12, 0.0)], pen.dark, 0.06)
    pen.line([(0.64, 0.3), (0.88, 0.0)], pen.dark, 0.06)
    pen.ellipse(0.04, 0.72, 0.96, 1.0, fill=pen.main)
    pen.rect(0.04, 0.3, 0.96, 0.86, pen.main)
    zigzag = [
        (0.04, 0.45),
        (0.2, 0.85),
        (0.35, 0.45),
        (0.5, 0.85),
        (0.65, 0.45),
        (0.8, 0.85),
        (0.96, 0.45),
    ]
    pen.line(zigzag, pen.dark, 0.05)
    pen.ellipse(0.04, 0.16, 0.96, 0.44, fill=pen.light)


def _buzz(pen: _Pen) -> None:  # bee
    pen.ellipse(0.2, 0.0, 0.52, 0.44, fill=pen.light)
    pen.ellipse(0.44, 0.0, 0.76, 0.44, fill=pen.light)
    pen.ellipse(0.0, 0.3, 0.86, 0.9, fill=pen.main)
    pen.rect(0.3, 0.34, 0.4, 0.86, pen.dark)
    pen.rect(0.52, 0.34, 0.62, 0.86, pen.dark)
    pen.poly([(0.84, 0.52), (1.0, 0.6), (0.84, 0.68)], pen.dark)
    pen.ellipse(0.08, 0.5, 0.16, 0.58, fill=pen.dark)


def _chirp(pen: _Pen) -> None:  # bird
    pen.poly([(0.22, 0.5), (0.0, 0.34), (0.04, 0.7)], pen.main)
    pen.line([(0.4, 0.8), (0.36, 1.0)], pen.dark, 0.05)
    pen.line([(0.54, 0.8), (0.58, 1.0)], pen.dark, 0.05)
    pen.ellipse(0.1, 0.36, 0.76, 0.86, fill=pen.main)
    pen.ellipse(0.54, 0.14, 0.86, 0.46, fill=pen.main)
    pen.poly([(0.84, 0.24), (1.0, 0.31), (0.84, 0.38)], pen.dark)
    pen.draw.chord(pen.box(0.22, 0.46, 0.6, 0.76), 0, 180, fill=pen.dark)
    pen.ellipse(0.7, 0.24, 0.76, 0.3, fill=pen.dark)


_ICONS = {
    "whistle": _whistle,
    "hum": _hum,
    "clap": _clap,
    "snap": _snap,
    "hiss": _hiss,
    "click": _click,
    "bell": _bell,
    "siren": _siren,
    "drum": _drum,
    "buzz": _buzz,
    "chirp": _chirp,
}
"""Icon of each class, drawn so that its larger side spans the whole box."""


def _draw_icon(
    draw: ImageDraw.ImageDraw, cls: str, x0: float, y0: float, d: float, hue: float
) -> None:
    """Draw the icon of ``cls`` in the square box (x0, y0, side d) with hue ``hue``."""
    if cls not in _ICONS:
        raise ValueError(f"unknown class {cls!r}; expected one of {CLASSES}")
    tints = _hsv(hue, 1.0, 0.95), _hsv(hue, 1.0, 0.6), _hsv(hue, 0.65, 1.0)
    _ICONS[cls](_Pen(draw, x0, y0, d, *tints))


def render_background(rng: np.random.Generator, image_size: int = IMAGE_SIZE) -> np.ndarray:
    """A random low-saturation background, ``(H, W, 3)`` uint8.

    Texture is one of plain, linear gradient, soft blotches or faint stripes, plus pixel noise;
    saturation never exceeds :data:`BACKGROUND_MAX_SATURATION` and brightness stays in 0.45-1 so
    that dark pixels cannot look saturated.
    """
    n = check_image_size(image_size)
    yy, xx = np.mgrid[0:n, 0:n] / n
    texture = int(rng.integers(4))
    if texture == 1:
        angle = rng.uniform(0, 2 * np.pi)
        field = np.cos(angle) * xx + np.sin(angle) * yy
    elif texture == 2:
        coarse = rng.uniform(size=(4, 4))
        field = (
            np.asarray(
                Image.fromarray((coarse * 255).astype(np.uint8)).resize((n, n), Image.BICUBIC),
                dtype=float,
            )
            / 255
        )
    elif texture == 3:
        field = 0.5 + 0.5 * np.sin(
            2 * np.pi * rng.uniform(2, 6) * (xx if rng.uniform() < 0.5 else yy)
        )
    else:
        field = np.zeros((n, n))
    field = field - field.mean()
    hue = np.full((n, n), rng.uniform(0, 1))
    sat = np.clip(rng.uniform(0.0, 0.12) + 0.06 * field * rng.uniform(-1, 1), 0, 0.16)
    val = rng.uniform(0.6, 0.9) + rng.uniform(0.05, 0.2) * field + rng.normal(0, 0.015, (n, n))
    hsv = np.stack([hue, sat, np.clip(val, 0.45, 1.0)], axis=-1)
    return np.asarray(Image.fromarray((hsv * 255).round().astype(np.uint8), "HSV").convert("RGB"))


def layout_objects(
    cls: str,
    hue_deg: float,
    size: float,
    count: int,
    rng: np.random.Generator,
    image_size: int = IMAGE_SIZE,
) -> list[DrawnObject]:
    """Place ``count`` objects of one class in distinct grid cells with random offsets."""
    n = check_image_size(image_size)
    if not 1 <= count <= GRID * GRID:
        raise ValueError(f"count must be within 1-{GRID * GRID}, got {count}")
    if not SIZE_RANGE[0] - 1e-9 <= size <= SIZE_RANGE[1] + 1e-9:
        raise ValueError(f"size must be within {SIZE_RANGE}, got {size}")
    cell, side = n / GRID, size * n
    # A margin of 2.5 % of the image inside each cell keeps neighbours >= 5 % apart (3 px at
    # 64x64), so a moderate blur of a generated image does not merge them.
    margin = _CELL_MARGIN * n
    slack = max(cell - side - 2 * margin, 0.0)
    cells = rng.choice(GRID * GRID, size=count, replace=False)
    objects = []
    for c in cells:
        row, col = divmod(int(c), GRID)
        left = col * cell + margin + rng.uniform(0, slack)
        top = row * cell + margin + rng.uniform(0, slack)
        objects.append(DrawnObject(cls, float(hue_deg), float(left), float(top), float(side)))
    return objects


def event_objects(
    event: Event, rng: np.random.Generator, image_size: int = IMAGE_SIZE
) -> list[DrawnObject]:
    """The objects that picture ``event``: its hue, its size, one per repetition."""
    return layout_objects(
        event.cls, event_hue(event), event_size(event), event.repetitions, rng, image_size
    )


def draw_objects(background: np.ndarray, objects: list[DrawnObject]) -> np.ndarray:
    """Composite antialiased objects onto a copy of ``background`` (``(H, W, 3)`` uint8)."""
    n = background.shape[0]
    s = _SUPERSAMPLE
    layer = Image.new("RGBA", (n * s, n * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for obj in objects:
        _draw_icon(draw, obj.cls, obj.left * s, obj.top * s, obj.side * s, obj.hue_deg)
    layer = layer.resize((n, n), Image.BOX)
    out = Image.fromarray(np.ascontiguousarray(background[..., :3])).convert("RGBA")
    return np.array(Image.alpha_composite(out, layer).convert("RGB"))


def render_event_image(
    event: Event, rng: np.random.Generator, image_size: int = IMAGE_SIZE
) -> np.ndarray:
    """Draw the picture of one event on a random background, ``(H, W, 3)`` uint8."""
    background = render_background(rng, image_size)
    return draw_objects(background, event_objects(event, rng, image_size))
