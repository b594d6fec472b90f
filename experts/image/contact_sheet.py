"""A contact sheet: several pictures as thumbnails on one page, each labelled, to compare at a glance.

Every image operation that makes more than one picture (a draft and its variants, one scene in
several materials) writes one, so a reviewer sees the set in one file instead of opening each.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from agentos.errors import ExpertError

PAD, LABEL_H, LABEL_PX = 16, 44, 15


def label_font(px: int = LABEL_PX) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """DejaVu Sans at `px` for labels on review sheets, else Pillow's built-in face."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", px)
    except OSError:
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
         width: int) -> str:
    """`text`, cut with an ellipsis where it would be wider than `width`."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(items: list[tuple[Path, str]], out: Path, columns: int | None = None, thumb: int = 320) -> Path:
    """`items` (picture, label) as a grid of thumbnails at most `thumb` px on a side, labels under them; the
    tiles take the largest thumbnail's size, so a set of wide pictures makes a wide sheet."""
    if not items:
        raise ExpertError("a contact sheet needs at least one picture")
    cols = columns or min(4, len(items))
    rows = math.ceil(len(items) / cols)
    pictures = []
    for path, label in items:
        try:
            with Image.open(path) as im:
                picture = im.convert("RGBA")
        except OSError:
            raise ExpertError(f"contact sheet: {path} cannot be read as an image") from None
        picture.thumbnail((thumb, thumb))
        pictures.append((picture, label))
    tile_w, tile_h = max(p.width for p, _ in pictures), max(p.height for p, _ in pictures)
    sheet = Image.new("RGB", (PAD + cols * (tile_w + PAD), PAD + rows * (tile_h + LABEL_H + PAD)), "#F2F2F2")
    draw, font = ImageDraw.Draw(sheet), label_font()
    for i, (picture, label) in enumerate(pictures):
        x, y = PAD + (i % cols) * (tile_w + PAD), PAD + (i // cols) * (tile_h + LABEL_H + PAD)
        tile = Image.new("RGBA", (tile_w, tile_h), "#FFFFFF")
        tile.alpha_composite(picture, ((tile_w - picture.width) // 2, (tile_h - picture.height) // 2))
        sheet.paste(tile.convert("RGB"), (x, y))
        draw.text((x, y + tile_h + 8), _fit(draw, label, font, tile_w), fill="#222222", font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
