"""How far material variants of one scene keep its composition, measured from the files on disk.

Two numbers per variant, both against the first (the reference):
- silhouette IoU: the variant's subject mask against the reference's (1.0 when camera, subject and its
  placement are unchanged; the masks come from the renderer's geometry, so the material cannot move them);
- edge agreement: the share of the reference outline's pixels that have an edge of the variant's *beauty*
  image within `EDGE_RADIUS` px. It holds the pixels to the masks: a picture from a moved camera or of
  another subject, delivered with the right mask, has no edges along that outline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

MIN_IOU = 0.98
"""Same camera and geometry give identical masks (IoU 1.0, as measured); the slack lets a mask re-drawn or
resampled elsewhere lose an edge pixel here and there, while the vase moved by 2 px at 512 px (0.4 % of the
frame) already falls to 0.97."""

MIN_EDGE_AGREEMENT = 0.85
"""Glass, metal and paper all show the outline against the default backdrop (measured 0.97 to 1.00 at 512 px and
64 spp). A picture of another subject, or from a panned camera, meets the outline only where backdrop edges cross
it: 0.16 to 0.17 at 512 px, 0.36 to 0.73 at 256 px. Below about 200 px the default checks are so fine that an
edge lies within `EDGE_RADIUS` of nearly every pixel, and there only the IoU can tell."""

EDGE_RADIUS = 2
"""px: the blurred silhouette edge of a beauty image sits up to a pixel either side of the mask's outline."""

EDGE_LEVEL = 0.04
"""A pixel is an edge when a colour channel changes faster than this (0..1 per px, after a σ = 1 px blur that
keeps Monte Carlo noise below it): a step of about 0.1 in brightness."""


@dataclass(frozen=True)
class Agreement:
    material: str
    iou: float
    edge_agreement: float


def read_mask(path: Path) -> np.ndarray:
    """A mask PNG as booleans (white is the subject)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) >= 128


def read_rgb(path: Path) -> np.ndarray:
    """A picture as floats in 0..1, shape (height, width, 3)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks of one size; 0.0 when both are empty (no subject to agree on)."""
    union = int(np.count_nonzero(a | b))
    return int(np.count_nonzero(a & b)) / union if union else 0.0


def outline(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels with a 4-neighbour outside it; the frame's border is not an outline."""
    p = np.pad(mask, 1, mode="edge")
    inside = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~inside


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a mask by `radius` px (a square neighbourhood)."""
    h, w = mask.shape
    p = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= p[dy:dy + h, dx:dx + w]
    return out


def _blur(channel: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    r = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(channel, r, mode="edge")
    rows = sum(k[i] * p[:, i:i + channel.shape[1]] for i in range(2 * r + 1))
    return sum(k[i] * rows[i:i + channel.shape[0], :] for i in range(2 * r + 1))


def image_edges(rgb: np.ndarray) -> np.ndarray:
    """Where a picture changes sharply: the Sobel gradient of each blurred channel, the largest over RGB."""
    strongest = np.zeros(rgb.shape[:2])
    for c in range(3):
        p = np.pad(_blur(rgb[..., c]), 1, mode="edge")
        gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:] - p[:-2, :-2] - 2 * p[1:-1, :-2] - p[2:, :-2]) / 8
        gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:] - p[:-2, :-2] - 2 * p[:-2, 1:-1] - p[:-2, 2:]) / 8
        strongest = np.maximum(strongest, np.hypot(gx, gy))
    return strongest > EDGE_LEVEL


def edge_agreement(reference_mask: np.ndarray, rgb: np.ndarray) -> float:
    """The share of the reference outline that has an edge of `rgb` within `EDGE_RADIUS` px."""
    line = outline(reference_mask)
    total = int(np.count_nonzero(line))
    if not total:
        return 0.0
    near = dilate(image_edges(rgb), EDGE_RADIUS)
    return int(np.count_nonzero(line & near)) / total


def measure(variants: list[tuple[str, Path, Path]]) -> list[Agreement]:
    """(material, png, mask) per variant, the first the reference: each one's IoU and edge agreement."""
    if not variants:
        return []
    reference = read_mask(variants[0][2])
    out = []
    for material, png, mask_path in variants:
        mask, rgb = read_mask(mask_path), read_rgb(png)
        if mask.shape != reference.shape or rgb.shape[:2] != reference.shape:
            out.append(Agreement(material, 0.0, 0.0))
            continue
        out.append(Agreement(material, iou(reference, mask), edge_agreement(reference, rgb)))
    return out
