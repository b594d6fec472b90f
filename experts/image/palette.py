"""Colours for key visuals: a palette taken from a style reference image, and legible pairings.

The reference's palette is its dominant colours (k-means on the pixels, seeded, so the same image
gives the same palette); its contrast is the spread of its luminance. From those colours come
named role sets (background, ink, accent, surface, on-accent) in which text keeps the WCAG
contrast it needs, so a palette that a brief names by number ("use the second palette") is always
one the checks can pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from agentos.errors import ExpertError

MIN_TEXT_CONTRAST = 4.5  # WCAG AA for body text
MIN_LARGE_CONTRAST = 3.0  # WCAG AA for large text (headlines, the CTA label)
LARGE_TEXT_PX = 24.0  # from this size text counts as large (WCAG: 18 pt ≈ 24 px)
BLACK, WHITE = "#111111", "#FFFFFF"


class Palette(BaseModel):
    """The colours of one key visual, by what each is for."""

    name: str
    background: str
    ink: str = Field(description="the copy's colour")
    accent: str = Field(description="the call to action's button and the decoration")
    surface: str = Field(description="a second shade behind the product")
    on_accent: str = Field(description="the call to action's label, on the accent")

    def colours(self) -> list[str]:
        return list(dict.fromkeys([self.background, self.ink, self.accent, self.surface, self.on_accent]))


class StyleReference(BaseModel):
    """What a style reference image gives a brief: its dominant colours and its contrast."""

    colours: list[str] = Field(description="dominant colours, most common first")
    shares: list[float] = Field(description="the share of the pixels each colour stands for")
    contrast: float = Field(description="RMS contrast of the luminance, 0 (flat) to 0.5 (black and white)")


def hex_of(rgb: np.ndarray) -> str:
    r, g, b = (round(float(c)) for c in np.clip(rgb, 0, 255))
    return f"#{r:02X}{g:02X}{b:02X}"


def rgb_of(colour: str) -> np.ndarray:
    h = colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


def _luminances(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of RGB rows (0..255)."""
    c = rgb / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def luminance(colour: str) -> float:
    return float(_luminances(rgb_of(colour)[None])[0])


def legible_share(pixels: np.ndarray, ground: str, need: float = MIN_LARGE_CONTRAST) -> float:
    """The share of `pixels` (RGB rows) that stand out from `ground` by a contrast of `need` at least: how
    much of a logo still reads on a background."""
    lum, g = _luminances(pixels), luminance(ground)
    ratio = (np.maximum(lum, g) + 0.05) / (np.minimum(lum, g) + 0.05)
    return float((ratio >= need).mean()) if len(pixels) else 1.0


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _saturation(colour: str) -> float:
    c = rgb_of(colour) / 255.0
    return float(c.max() - c.min())


def extract(path: Path, colours: int = 5, seed: int = 0) -> StyleReference:
    """The dominant colours of an image (k-means in RGB on up to 20k pixels) and its luminance contrast."""
    from PIL import Image, UnidentifiedImageError

    if not Path(path).is_file():
        raise ExpertError(f"style reference {path}: no such file")
    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"), dtype=float).reshape(-1, 3)
    except (OSError, UnidentifiedImageError):
        raise ExpertError(f"style reference {path} is not an image that can be read (PNG or JPEG)") from None
    rng = np.random.default_rng(seed)
    sample = pixels[rng.choice(len(pixels), size=min(20_000, len(pixels)), replace=False)]
    k = min(colours, len(np.unique(sample, axis=0)))
    # farthest-point start: the commonest colour, then each time the pixel farthest from all chosen so far,
    # so a small bright patch (a sun, a logo) gets a centre of its own instead of being averaged away
    values, counts = np.unique(sample, axis=0, return_counts=True)
    centres = values[[counts.argmax()]]
    while len(centres) < k:
        far = ((sample[:, None, :] - centres[None]) ** 2).sum(-1).min(1).argmax()
        centres = np.vstack([centres, sample[far]])
    for _ in range(25):
        nearest = ((sample[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        moved = np.array([sample[nearest == i].mean(0) if (nearest == i).any() else centres[i] for i in range(k)])
        if np.allclose(moved, centres, atol=0.5):
            break
        centres = moved
    shares = np.bincount(nearest, minlength=k) / len(sample)
    order = np.argsort(-shares)
    lum = (0.2126 * pixels[:, 0] + 0.7152 * pixels[:, 1] + 0.0722 * pixels[:, 2]) / 255.0
    return StyleReference(colours=[hex_of(centres[i]) for i in order], shares=[round(float(shares[i]), 4)
                          for i in order], contrast=round(float(lum.std()), 4))


def _legible_on(background: str, candidates: list[str], need: float) -> str:
    """The candidate with the most contrast on `background`, or black/white when none has `need`."""
    best = max(candidates, key=lambda c: contrast_ratio(c, background), default=BLACK)
    if contrast_ratio(best, background) >= need:
        return best
    return max((BLACK, WHITE), key=lambda c: contrast_ratio(c, background))


def roles(name: str, background: str, colours: list[str]) -> Palette:
    """A palette on `background` from `colours`: the most contrasting colour as ink, the most saturated
    one that stands out from the background as accent, and a label colour legible on that accent."""
    others = [c for c in colours if c != background]
    ink = _legible_on(background, others, MIN_TEXT_CONTRAST)
    standing_out = [c for c in others if contrast_ratio(c, background) >= MIN_LARGE_CONTRAST] or [ink]
    accent = max(standing_out, key=_saturation)
    surface = min((c for c in others if c not in (ink, accent)), default=background,
                  key=lambda c: contrast_ratio(c, background))
    on_accent = _legible_on(accent, [background, ink, *others], MIN_TEXT_CONTRAST)
    return Palette(name=name, background=background, ink=ink, accent=accent, surface=surface, on_accent=on_accent)


def given(name: str, colours: list[str]) -> Palette:
    """A palette the brief gives as [background, ink, accent] (+ surface), its roles kept; only an ink or a button
    label that would not be legible is replaced (by black or white), so every palette passes the checks."""
    background, ink, accent = colours[:3]
    return Palette(name=name, background=background, ink=_legible_on(background, [ink], MIN_TEXT_CONTRAST),
                   accent=accent, surface=colours[3] if len(colours) > 3 else background,
                   on_accent=_legible_on(accent, [background, ink], MIN_TEXT_CONTRAST))


def palettes_from(reference: StyleReference) -> list[Palette]:
    """Three palettes from one reference: on its dominant colour, on its lightest, and on its darkest."""
    cs = reference.colours
    light = max(cs, key=luminance)
    dark = min(cs, key=luminance)
    found = [roles("reference", cs[0], cs), roles("light", light, cs), roles("dark", dark, cs)]
    unique: list[Palette] = []
    for p in found:  # a reference whose dominant colour is its lightest gives the same palette twice
        if all(p.model_dump(exclude={"name"}) != q.model_dump(exclude={"name"}) for q in unique):
            unique.append(p)
    return unique


DEFAULT_PALETTES = [
    roles("ink on paper", "#F6F1E7", ["#1B2A41", "#E4572E", "#D9CBB0"]),
    roles("midnight", "#14213D", ["#FCA311", "#E5E5E5", "#22335C"]),
    roles("mint", "#DFF3EA", ["#0B3D2E", "#1B998B", "#B5E2D0"]),
]
