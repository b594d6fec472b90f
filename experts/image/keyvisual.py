"""The key-visual layout engine: a brief and a setting (arrangement, palette, typeface) → layers.

The solver works in the safe area (the canvas less the safe margin) and treats the forbidden
zones and every placed element as obstacles. It places the logo in the first free corner the
arrangement prefers, stacks the copy (headline, subline, body, call to action) down the text
region, each block pushed below whatever it would touch, starting from the sizes the brief asks
for and shrinking all of them together, never below their minimum, until the stack fits; then it
gives the product the free rectangle of its region that shows it largest. When no size fits, the error says which
limit stops it. Variants re-solve the same brief with one axis of the setting changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agentos.errors import ExpertError
from experts.image.brief import ARRANGEMENTS, TYPEFACES, Arrangement, Axis, KeyVisualBrief, Typeface
from experts.image.layers import Box, EllipseLayer, ImageLayer, LayerDoc, RectLayer, TextLayer
from experts.image.palette import Palette, legible_share
from experts.image.render import LINE_SPACING, font_for, text_lines, text_overflow

# preferred sizes as a fraction of the canvas's shorter side (before the brief's scale)
BASE_SIZE = {"headline": 0.105, "subline": 0.05, "body": 0.034, "cta": 0.038, "logo": 0.085}
SHRINK = 0.93  # each failed attempt sets all copy this much smaller
LOGO_LEGIBLE = 0.75  # a logo with less of its pixels standing out from the background gets a plate
FONTS: dict[Typeface, tuple[str, str]] = {  # (display face for headline and CTA, text face)
    "sans": ("DejaVu Sans", "DejaVu Sans"),
    "serif": ("DejaVu Serif", "DejaVu Sans"),
    "mono": ("DejaVu Sans Mono", "DejaVu Sans"),
}
LOGO_CORNERS: dict[Arrangement, tuple[str, ...]] = {
    "text-left": ("top-left", "bottom-left", "top-right", "bottom-right"),
    "text-right": ("top-right", "bottom-right", "top-left", "bottom-left"),
    "text-top": ("bottom-right", "bottom-left", "top-right", "top-left"),
    "centred": ("top-left", "top-right", "bottom-left", "bottom-right"),
}


@dataclass(frozen=True)
class Setting:
    """What a variant may change; the brief (copy, pictures, limits) stays."""

    layout: Arrangement
    palette: Palette
    typeface: Typeface


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def zone_boxes(brief: KeyVisualBrief) -> dict[str, Box]:
    w, h = brief.size()
    return {z.name: Box(x=z.x * w, y=z.y * h, width=z.width * w, height=z.height * h) for z in brief.forbidden}


def safe_area(brief: KeyVisualBrief) -> Box:
    w, h = brief.size()
    m = brief.safe_margin * min(w, h)
    return Box(x=m, y=m, width=w - 2 * m, height=h - 2 * m)


def regions(layout: Arrangement, s: Box) -> tuple[Box, Box]:
    """(text region, product region) of the safe area for an arrangement."""
    gutter = 0.04 * s.width
    if layout in ("text-left", "text-right"):
        text_w = 0.52 * s.width
        left = Box(x=s.x, y=s.y, width=text_w, height=s.height)
        right = Box(x=s.x + text_w + gutter, y=s.y, width=s.width - text_w - gutter, height=s.height)
        return (left, right) if layout == "text-left" else (
            right.model_copy(update={"x": s.x + s.width - text_w, "width": text_w}),
            Box(x=s.x, y=s.y, width=s.width - text_w - gutter, height=s.height))
    cut = 0.5 * s.height
    top, bottom = Box(x=s.x, y=s.y, width=s.width, height=cut), Box(x=s.x, y=s.y + cut, width=s.width,
                                                                     height=s.height - cut)
    return (top, bottom) if layout == "text-top" else (bottom, top)


def _image_size(path: Path, what: str) -> tuple[int, int]:
    return _image(path, what).size


def _image(path: Path, what: str) -> Any:
    from PIL import Image

    if not Path(path).is_file():
        raise ExpertError(f"the brief's {what} {path}: no such file")
    try:
        with Image.open(path) as im:  # type: ignore[arg-type]
            im.load()
            return im
    except OSError:
        raise ExpertError(f"the brief's {what} {path} is not an image that can be read (PNG or JPEG)") from None


def _logo(brief: KeyVisualBrief, setting: Setting, s: Box, zones: dict[str, Box]) -> tuple[list[RectLayer | ImageLayer],
                                                                                         Box | None]:
    """The logo in the first corner clear of the zones; on a plate of the palette's most legible colour when
    less than `LOGO_LEGIBLE` of its pixels stand out from the background. Also the room it keeps clear."""
    if brief.logo is None:
        return [], None
    logo = _image(brief.logo, "logo").convert("RGBA")
    rgba = np.asarray(logo, dtype=float).reshape(-1, 4)
    ink = rgba[rgba[:, 3] > 128][:, :3]
    plate = None
    if legible_share(ink, setting.palette.background) < LOGO_LEGIBLE:
        plate = max(setting.palette.colours(), key=lambda c: legible_share(ink, c))
    iw, ih = logo.size
    short = min(brief.size())
    h = BASE_SIZE["logo"] * short * brief.scale.get("logo", 1.0)
    w = min(h * iw / ih, 0.35 * s.width)
    h = w * ih / iw
    pad = 0.18 * h  # kept with or without a plate, so a palette change never moves the logo
    for corner in LOGO_CORNERS[setting.layout]:
        x = s.x if corner.endswith("left") else s.x + s.width - w - 2 * pad
        y = s.y if corner.startswith("top") else s.y + s.height - h - 2 * pad
        outer = Box(x=x, y=y, width=w + 2 * pad, height=h + 2 * pad)
        if not any(_overlaps(outer, z) for z in zones.values()):
            mark = ImageLayer(id="logo", role="logo", binding="brief.logo", z=4, path=brief.logo,
                              box=Box(x=x + pad, y=y + pad, width=w, height=h))
            return ([RectLayer(id="logo.plate", role="logo plate", z=3, box=outer, fill=plate, radius=pad),
                     mark] if plate else [mark]), outer
    raise ExpertError(f"the logo ({w:.0f}×{h:.0f} px) fits in no corner of the safe area without entering a "
                      f"forbidden zone ({', '.join(zones)}); make it smaller (scale.logo) or move a zone")


def _text(role: str, text: str, box: Box, size: float, setting: Setting, colour: str, align: str) -> TextLayer:
    display, body = FONTS[setting.typeface]
    return TextLayer(id=role, role=role, binding=f"brief.{role}", z=2, box=box, text=text, size=size,
                     font=display if role in ("headline", "cta") else body, bold=role in ("headline", "cta"),
                     colour=colour, align=align)  # type: ignore[arg-type]


def _block_height(layer: TextLayer) -> float:
    return layer.size * (1 + LINE_SPACING * (len(text_lines(layer)) - 1)) + font_for(layer).getMetrics().fDescent + 1


def _stack(brief: KeyVisualBrief, setting: Setting, region: Box, sizes: dict[str, float], obstacles: list[Box],
           top: float) -> tuple[list[RectLayer | TextLayer], str]:
    """The copy stacked down `region` from `top`, or ([], why not)."""
    align = "centre" if setting.layout == "centred" else "left"
    gap = 0.022 * min(brief.size())
    placed: list[RectLayer | TextLayer] = []
    y = top
    for role, text in brief.copy_blocks():
        size = sizes[role]
        probe = _text(role, text, Box(x=region.x, y=y, width=region.width, height=size * 4), size, setting,
                      setting.palette.ink, align)
        if role == "cta":
            pad = 0.9 * size
            width = min(region.width, font_for(probe).measureText(text) + 2 * pad)
            x = region.x + (region.width - width) / 2 if align == "centre" else region.x
            button = Box(x=x, y=y, width=width, height=size * 2.2)
        else:
            button = None
        if (why := text_overflow(probe.model_copy(update={"box": Box(x=region.x, y=y, width=(
                button.width - 1.8 * size) if button else region.width, height=10_000)}))):
            return [], f"the {role} at {size:.0f} px is too wide for the {region.width:.0f} px text column ({why})"
        height = button.height if button else _block_height(probe)
        box = button or Box(x=region.x, y=y, width=region.width, height=height)
        for _ in range(len(obstacles) + 1):  # each push clears one obstacle; a new one may follow
            hits = [o for o in obstacles + [p.box for p in placed] if _overlaps(box, o)]
            if not hits:
                break
            box = box.model_copy(update={"y": max(o.y + o.height for o in hits) + gap})
        if box.y + box.height > region.y + region.height + 0.5 or any(_overlaps(box, o) for o in obstacles):
            return [], (f"the copy does not fit the {region.width:.0f}×{region.height:.0f} px text region of the "
                        f"{setting.layout} layout: the {role} ends at {box.y + box.height:.0f} px, below "
                        f"{region.y + region.height:.0f} px")
        if button:
            placed.append(RectLayer(id="cta.button", role="cta button", binding="brief.cta", z=1, box=box,
                                    fill=setting.palette.accent, radius=box.height / 2))
            # the label's glyphs span about 0.04..0.77 of its size below the box top: centre that span
            inner = Box(x=box.x + 0.9 * size, y=box.y + box.height / 2 - 0.4 * size, width=box.width - 1.8 * size,
                        height=size * 1.3)
            placed.append(_text("cta", text, inner, size, setting, setting.palette.on_accent, "centre"))
        else:
            placed.append(_text(role, text, box, size, setting, setting.palette.ink, align))
        y = box.y + box.height + gap
    return placed, ""


def _copy(brief: KeyVisualBrief, setting: Setting, region: Box, obstacles: list[Box]) -> list[RectLayer | TextLayer]:
    short = min(brief.size())
    floors = brief.min_font.model_dump()
    wanted = {role: max(floors[role], BASE_SIZE[role] * short * brief.scale.get(role, 1.0)) for role in floors}
    factor = 1.0
    while True:
        sizes = {role: max(floors[role], wanted[role] * factor) for role in wanted}
        placed, why = _stack(brief, setting, region, sizes, obstacles, region.y)
        if placed:
            bottom = max(p.box.y + p.box.height for p in placed)
            free = region.y + region.height - bottom
            if setting.layout != "text-top" and free > 1:  # centre the stack when that keeps it clear
                centred, _ = _stack(brief, setting, region, sizes, obstacles, region.y + free / 2)
                placed = centred or placed
            return placed
        if all(sizes[r] <= floors[r] for r, _ in brief.copy_blocks()):
            mins = ", ".join(f"{r} {floors[r]:g} px" for r, _ in brief.copy_blocks())
            raise ExpertError(f"{why}, even at the minimum font sizes ({mins}); shorten the copy, lower min_font, "
                              "or move the forbidden zones")
        factor *= SHRINK


def _largest_free(area: Box, obstacles: list[Box], score: Callable[[Box], float]) -> Box | None:
    """The rectangle of `area` touching no obstacle with the highest `score` (which must not grow when a
    rectangle shrinks). Any such rectangle lies wholly left, right, above or below each obstacle in the
    way, so splitting around obstacles finds it; a part whose score cannot beat the best so far is dropped."""
    best, best_score = None, 0.0
    todo = [(area.x, area.y, area.width, area.height)]
    seen: set[tuple[float, float, float, float]] = set()
    while todo:
        x, y, w, h = todo.pop()
        key = (round(x, 1), round(y, 1), round(w, 1), round(h, 1))
        if w < 8 or h < 8 or key in seen:
            continue
        seen.add(key)
        box = Box(x=x, y=y, width=w, height=h)
        if score(box) <= best_score:
            continue
        hit = next((o for o in obstacles if _overlaps(box, o)), None)
        if hit is None:
            best, best_score = box, score(box)
            continue
        todo += [(x, y, hit.x - x, h), (hit.x + hit.width, y, x + w - hit.x - hit.width, h),
                 (x, y, w, hit.y - y), (x, hit.y + hit.height, w, y + h - hit.y - hit.height)]
    return best


def _product(brief: KeyVisualBrief, setting: Setting, region: Box, obstacles: list[Box]) -> list[EllipseLayer |
                                                                                                  ImageLayer]:
    if brief.product is None:
        return []
    iw, ih = _image_size(brief.product, "product")
    r = _largest_free(region, obstacles, lambda b: min(b.width / iw, b.height / ih) ** 2 * iw * ih)
    if r is None:
        raise ExpertError(f"the product has no free space in the {setting.layout} layout: the forbidden zones and "
                          "copy cover its region")
    k = min(r.width / iw, r.height / ih) * min(1.0, brief.scale.get("product", 1.0))
    w, h = iw * k, ih * k
    box = Box(x=r.x + (r.width - w) / 2, y=r.y + (r.height - h) / 2, width=w, height=h)
    halo = min(r.width, r.height) * 0.96
    disc = Box(x=r.x + (r.width - halo) / 2, y=r.y + (r.height - halo) / 2, width=halo, height=halo)
    return [EllipseLayer(id="product.halo", role="decor", z=0, box=disc, fill=setting.palette.surface),
            ImageLayer(id="product", role="product", binding="brief.product", z=1, box=box, path=brief.product)]


def solve(brief: KeyVisualBrief, setting: Setting) -> LayerDoc:
    """The key visual's layers for `setting`, every limit of the brief respected, or an ExpertError naming the
    limit that cannot be met."""
    width, height = brief.size()
    s = safe_area(brief)
    zones = zone_boxes(brief)
    text_region, product_region = regions(setting.layout, s)
    logo, logo_room = _logo(brief, setting, s, zones)
    obstacles = list(zones.values()) + ([logo_room] if logo_room else [])
    copy = _copy(brief, setting, text_region, obstacles)
    product = _product(brief, setting, product_region, obstacles + [c.box for c in copy])
    layers = [*product, *copy, *logo]
    return LayerDoc(width=width, height=height, background=setting.palette.background,
                    palette=setting.palette.colours(), layers=layers)


def variants(brief: KeyVisualBrief, base: Setting, palettes: list[Palette], axes: list[Axis],
             count: int) -> list[tuple[Axis, Setting, str, LayerDoc]]:
    """`count` settings that each differ from `base` along one axis (taking the axes in turn), solved; an
    alternative the brief cannot be laid out in is passed over for the next one."""
    options: dict[Axis, list[Setting]] = {
        "layout": [replace(base, layout=a) for a in ARRANGEMENTS if a != base.layout],
        "palette": [replace(base, palette=p) for p in palettes if p != base.palette],
        "typography": [replace(base, typeface=t) for t in TYPEFACES if t != base.typeface],
    }
    usable = [a for a in dict.fromkeys(axes) if options[a]]
    if count and not usable:
        raise ExpertError(f"no variant can differ along {', '.join(axes)}: the brief has one option on each")
    out: list[tuple[Axis, Setting, str, LayerDoc]] = []
    failures: list[str] = []
    while len(out) < count and any(options[a] for a in usable):
        for axis in usable:
            while options[axis] and len(out) < count:
                setting = options[axis].pop(0)
                change = {"layout": f"layout {base.layout} → {setting.layout}",
                          "palette": f"palette {base.palette.name} → {setting.palette.name}",
                          "typography": f"typeface {base.typeface} → {setting.typeface}"}[axis]
                try:
                    out.append((axis, setting, change, solve(brief, setting)))
                    break
                except ExpertError as exc:
                    failures.append(f"{change}: {exc}")
    if len(out) < count:
        raise ExpertError(f"only {len(out)} of {count} variant(s) can be laid out along {', '.join(usable)}"
                          + (f"; {failures[0]}" if failures else ""))
    return out
