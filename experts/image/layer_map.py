"""A layer map: the picture, faded, with every layer's box outlined and labelled with its id.

It is the key to `layers.json`: to move the battery bar or recolour a chip, find its id on the map
and edit that entry, then `agentos image render layers.json`.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from experts.image.contact_sheet import label_font
from experts.image.layers import LayerDoc

OUTLINES = ["#D62728", "#1F77B4", "#2CA02C", "#9467BD", "#FF7F0E", "#17BECF"]
FADE = 0.55  # how far the picture is washed towards white, so the outlines stand out


def layer_map(doc: LayerDoc, png: Path, out: Path) -> Path:
    with Image.open(png) as im:
        picture = im.convert("RGB")
    canvas = Image.blend(picture, Image.new("RGB", picture.size, "#FFFFFF"), FADE)
    draw = ImageDraw.Draw(canvas)
    font = label_font(12)
    for i, layer in enumerate(doc.ordered()):
        b, colour = layer.box, OUTLINES[i % len(OUTLINES)]
        draw.rectangle((b.x, b.y, b.x + max(b.width, 1), b.y + max(b.height, 1)), outline=colour, width=2)
        label = f"{layer.id} (z {layer.z})"
        x, y = b.x + 3, max(0.0, b.y - 14) if b.y >= 14 else b.y + 2
        box = draw.textbbox((x, y), label, font=font)
        draw.rectangle(box, fill="#FFFFFF")
        draw.text((x, y), label, fill=colour, font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out
