"""Draw on a step's screenshot what the step did: a box round the element, an arrow to it, its number.

A drag gets an arrow from the dragged element to where it was dropped. The drawing is done with
Pillow on the screenshot taken just before the action, so the reader sees the page as it was when
the step acted on it.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Box = tuple[float, float, float, float]  # x, y, width, height in CSS pixels (the screenshots are 1:1)
COLOUR = (220, 30, 60)
BADGE_R = 14


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], width: int = 4) -> None:
    draw.line([start, end], fill=COLOUR, width=width)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    head = [end] + [(end[0] - 16 * math.cos(angle + s), end[1] - 16 * math.sin(angle + s)) for s in (0.45, -0.45)]
    draw.polygon(head, fill=COLOUR)


def _edge_point(box: Box, towards: tuple[float, float]) -> tuple[float, float]:
    """Where a line from `towards` to the box's centre crosses the box's edge (plus a small gap)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    dx, dy = towards[0] - cx, towards[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(abs((w / 2 + 6) / dx) if dx else math.inf, abs((h / 2 + 6) / dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def annotate(src: Path, dest: Path, number: int, box: Box | None, to_box: Box | None = None) -> Path:
    """`src` with step `number` drawn on it (box, arrow, badge; for a drag an arrow to `to_box`), saved as `dest`."""
    with Image.open(src) as img:
        canvas = img.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    font = _font(16)
    if box is not None:
        x, y, w, h = box
        draw.rectangle([x - 4, y - 4, x + w + 4, y + h + 4], outline=COLOUR, width=4)
        if to_box is not None:
            tx, ty, tw, th = to_box
            draw.rectangle([tx - 4, ty - 4, tx + tw + 4, ty + th + 4], outline=COLOUR, width=2)
            start = _edge_point(box, (tx + tw / 2, ty + th / 2))
            _arrow(draw, start, (tx + tw / 2, ty + th / 2))  # into the drop target, to its middle
            badge = (x - BADGE_R - 6, y - BADGE_R - 6)
        else:
            # the arrow comes in from the emptier side: from the left when there is room, else from below
            cx, cy = x + w / 2, y + h / 2
            tail = (max(BADGE_R, x - 90), cy) if x > 100 else (cx, min(height - BADGE_R, y + h + 70))
            _arrow(draw, tail, _edge_point(box, tail))
            badge = tail
    else:
        badge = (BADGE_R + 8, BADGE_R + 8)
    bx = min(max(badge[0], BADGE_R), width - BADGE_R)
    by = min(max(badge[1], BADGE_R), height - BADGE_R)
    draw.ellipse([bx - BADGE_R, by - BADGE_R, bx + BADGE_R, by + BADGE_R], fill=COLOUR)
    draw.text((bx, by), str(number), fill="white", font=font, anchor="mm")
    dest.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(dest)
    return dest
