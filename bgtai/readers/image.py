"""Measure hue, size and count of the objects in a world image with signal processing.

Objects are the fully saturated pixels (HSV saturation >= :data:`SATURATION_THRESHOLD`, value
>= 0.25); world backgrounds never exceed saturation 0.2, so the threshold sits between the two
and tolerates the halo of a blurred edge. Connected components (8-neighbourhood) of that mask are
the objects; specks smaller than 15 % of the largest component (and below 0.1 % of the image) are
noise, not objects.

* **count**: number of components kept.
* **size**: median over components of the larger bounding-box side, as a fraction of the image
  side (the world draws each icon so its larger side spans its box).
* **hue**: circular mean of the hue of the strongly saturated (S >= 0.7) object pixels, in
  degrees; the edge pixels mixed with the background are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

SATURATION_THRESHOLD = 0.45
VALUE_THRESHOLD = 0.25
HUE_SATURATION = 0.7
MIN_RELATIVE_AREA = 0.15
MIN_IMAGE_FRACTION = 0.001


@dataclass(frozen=True)
class ImageReading:
    """What the image readers measured: object count, hue (deg, None if no object), size."""

    count: int
    hue_deg: float | None
    size: float | None


def to_uint8_rgb(image) -> np.ndarray:
    """Accept a PIL image, a ``(H, W, 3)`` uint8 array or a float array in [0, 1]."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError("image contains NaN or infinite values")
        return (np.clip(arr, 0.0, 1.0) * 255).round().astype(np.uint8)
    raise ValueError(f"image dtype must be uint8 or float in [0, 1], got {arr.dtype}")


def to_uint8_batch(images, size: int | None = None) -> np.ndarray:
    """A ``(B, H, W, 3)`` uint8 array from one image or a batch (array, list or PIL); with
    ``size``, pictures of another size are resized to ``size x size`` (any upload works)."""
    if isinstance(images, (list, tuple)):
        items = list(images)
    else:
        arr = np.asarray(images)
        if arr.ndim not in (3, 4):
            raise ValueError(f"expected (H, W, 3) or (B, H, W, 3) images, got shape {arr.shape}")
        items = [arr] if arr.ndim == 3 else list(arr)
    rgb = [to_uint8_rgb(im) for im in items]
    if size is not None:
        rgb = [im if im.shape[:2] == (size, size) else
               np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BICUBIC))
               for im in rgb]
    return np.stack(rgb)


def _hsv(image) -> np.ndarray:
    """HSV in [0, 1] (float) of an RGB image."""
    rgb = to_uint8_rgb(image)
    return (
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).convert("HSV"), dtype=np.float64)
        / 255
    )


def object_mask(image) -> np.ndarray:
    """Boolean ``(H, W)`` mask of object pixels (saturated and not dark)."""
    hsv = _hsv(image)
    return (hsv[..., 1] >= SATURATION_THRESHOLD) & (hsv[..., 2] >= VALUE_THRESHOLD)


def _components(mask: np.ndarray) -> list[tuple[slice, slice]]:
    """Bounding boxes of the connected components that are objects rather than specks."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return []
    areas = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
    keep = (areas >= MIN_RELATIVE_AREA * areas.max()) & (areas >= MIN_IMAGE_FRACTION * mask.size)
    boxes = ndimage.find_objects(labels)
    return [b for b, k in zip(boxes, keep) if k]


def read_count(image) -> int:
    """Number of objects in the image."""
    return len(_components(object_mask(image)))


def read_size(image) -> float | None:
    """Median object size (larger bounding-box side / image side); ``None`` without objects."""
    mask = object_mask(image)
    boxes = _components(mask)
    if not boxes:
        return None
    sides = [max(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes]
    return float(np.median(sides)) / max(mask.shape)


def read_hue(image) -> float | None:
    """Circular mean hue (deg, [0, 360)) of the saturated object pixels; ``None`` without any."""
    hsv = _hsv(image)
    strong = (hsv[..., 1] >= HUE_SATURATION) & (hsv[..., 2] >= VALUE_THRESHOLD)
    if not strong.any():
        return None
    angle = hsv[..., 0][strong] * 2 * np.pi
    return float(np.degrees(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())) % 360.0)


def read_image(image) -> ImageReading:
    """Count, hue and size of the objects in one image."""
    return ImageReading(read_count(image), read_hue(image), read_size(image))
