"""An infographic from a spec table, as a layer description: one card per field, laid out in a grid.

Each field gets a card: its name, its value in large type, and, for a percentage, a ring gauge drawn
to scale (against `max`, else 100 %); for another number with a `max`, a bar drawn to scale; a
category gets its value on a chip. Every layer takes its colour from the palette
and names the field it shows (`binding: spec.<field>`), so the layers file explains the picture
and the checks can tie each printed value back to the table. Text that would not fit its box is
set smaller, down to a floor, before anything is drawn.
"""

from __future__ import annotations

import math
import re

from experts.image.layers import ArcLayer, Box, LayerDoc, RectLayer, TextLayer
from experts.image.render import text_overflow
from experts.image.spec import SpecField

# accent, second accent, card, text, background, bar track
DEFAULT_PALETTE = ["#1F3A93", "#E74C3C", "#F1F4FA", "#1E2430", "#FFFFFF", "#D3DAEA"]
MARGIN, GAP, CARD_H, TITLE_SIZE, MIN_TEXT = 48, 24, 150, 44, 14


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"


def _fitted(layer: TextLayer) -> TextLayer:
    """The layer, its font made smaller (to MIN_TEXT at least) until its text fits the box."""
    while text_overflow(layer) and layer.size > MIN_TEXT:
        layer = layer.model_copy(update={"size": max(MIN_TEXT, layer.size - 2)})
    return layer


def build(fields: list[SpecField], title: str, *, width: int = 1024, columns: int = 2,
          palette: list[str] | None = None, footnote: str = "") -> LayerDoc:
    accent, accent2, card, ink, background, track = (palette or DEFAULT_PALETTE)[:6]
    cols = max(1, min(columns, len(fields)))
    card_w = (width - 2 * MARGIN - (cols - 1) * GAP) / cols
    top = MARGIN + TITLE_SIZE * 1.6
    rows = math.ceil(len(fields) / cols)
    height = int(top + rows * (CARD_H + GAP) + (40 if footnote else 0) + MARGIN)
    layers: list = [_fitted(TextLayer(id="title", role="title", box=Box(x=MARGIN, y=MARGIN, width=width - 2 * MARGIN,
                                                                        height=TITLE_SIZE * 1.4),
                                      text=title, size=TITLE_SIZE, bold=True, colour=ink))]
    for i, f in enumerate(fields):
        x = MARGIN + (i % cols) * (card_w + GAP)
        y = top + (i // cols) * (CARD_H + GAP)
        key = _slug(f.name)
        bind = f"spec.{f.name}"
        layers.append(RectLayer(id=f"{key}.card", role="card", binding=bind, box=Box(x=x, y=y, width=card_w,
                                height=CARD_H), fill=card, radius=12))
        layers.append(_fitted(TextLayer(id=f"{key}.label", role="label", binding=bind, z=1,
                                        box=Box(x=x + 20, y=y + 16, width=card_w - 40, height=30),
                                        text=f.name, size=20, colour=ink)))
        gauge = f.kind == "number" and f.unit == "%"
        if f.kind == "number":
            ring = CARD_H - 44
            layers.append(_fitted(TextLayer(id=f"{key}.value", role="value", binding=bind, z=1,
                                            box=Box(x=x + 20, y=y + 50, width=card_w - 40 - (ring + 16) * gauge,
                                                    height=52), text=f.shown, size=40, bold=True, colour=accent)))
            if gauge:  # a share of a whole: a ring, drawn to scale against max (default 100 %)
                share = max(0.0, min(1.0, (f.value or 0.0) / (f.max or 100.0)))
                dial = Box(x=x + card_w - 20 - ring, y=y + 22, width=ring, height=ring)
                layers.append(ArcLayer(id=f"{key}.track", role="gauge track", binding=bind, z=1, box=dial,
                                       stroke=track, stroke_width=14))
                if share > 0:
                    layers.append(ArcLayer(id=f"{key}.gauge", role="gauge", binding=bind, z=2, box=dial,
                                           sweep=360 * share, stroke=accent, stroke_width=14))
            elif f.max:
                share = max(0.0, min(1.0, (f.value or 0.0) / f.max))
                bar = Box(x=x + 20, y=y + CARD_H - 34, width=card_w - 40, height=14)
                layers.append(RectLayer(id=f"{key}.track", role="bar track", binding=bind, z=1, box=bar, fill=track,
                                        radius=7))
                if share > 0:
                    layers.append(RectLayer(id=f"{key}.bar", role="bar", binding=bind, z=2, fill=accent, radius=7,
                                            box=bar.model_copy(update={"width": max(14.0, bar.width * share)})))
        else:
            chip = Box(x=x + 20, y=y + 58, width=card_w - 40, height=56)
            layers.append(RectLayer(id=f"{key}.chip", role="chip", binding=bind, z=1, box=chip, fill=accent2,
                                    radius=28))
            layers.append(_fitted(TextLayer(id=f"{key}.value", role="value", binding=bind, z=2,
                                            box=Box(x=chip.x + 24, y=chip.y + 13, width=chip.width - 48, height=40),
                                            text=f.shown, size=28, bold=True, colour=background, align="centre")))
    if footnote:
        layers.append(_fitted(TextLayer(id="footnote", role="footnote", box=Box(x=MARGIN, y=height - MARGIN - 28,
                                        width=width - 2 * MARGIN, height=28), text=footnote, size=16, colour=ink)))
    return LayerDoc(width=width, height=height, background=background, palette=(palette or DEFAULT_PALETTE)[:6],
                    layers=layers)
