"""The image checks: they re-read the layer file and the pixels, not the expert's word."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from agentos.checks import NodeOutcome, OutputCheck
from experts.image.layers import EllipseLayer, LayerDoc, LineLayer, RectLayer, TextLayer
from experts.image.models import InfographicOutput
from experts.image.render import render_png, text_overflow


def _colours(layer: Any) -> list[str]:
    if isinstance(layer, RectLayer | EllipseLayer):
        return [c for c in (layer.fill, layer.stroke) if c]
    if isinstance(layer, LineLayer):
        return [layer.stroke]
    if isinstance(layer, TextLayer):
        return [layer.colour]
    return []


class LayersHold(OutputCheck):
    """layers.json re-renders to the very PNG delivered; every text fits its box and every layer the canvas;
    every colour is from the palette; every spec field's value is printed, bound to its field."""

    name = "image.layers"
    what = "layer check(s)"
    kind = InfographicOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        doc = LayerDoc.model_validate_json(Path(out.layers).read_text(encoding="utf-8"))
        problems = []
        with tempfile.TemporaryDirectory() as tmp:
            again = render_png(doc, Path(tmp) / "again.png", base=Path(out.layers).parent)
            with Image.open(again) as a, Image.open(out.png) as b:
                if a.size != b.size or ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox():
                    problems.append("layers.json does not re-render to the delivered PNG")
        palette = set(doc.palette) | {doc.background}
        for layer in doc.layers:
            b = layer.box
            if b.x < 0 or b.y < 0 or b.x + b.width > doc.width + 0.5 or b.y + b.height > doc.height + 0.5:
                problems.append(f"layer {layer.id!r} leaves the {doc.width}×{doc.height} canvas")
            if isinstance(layer, TextLayer) and (why := text_overflow(layer)):
                problems.append(f"layer {layer.id!r} overflows its box: {why}")
            problems += [f"layer {layer.id!r} uses {c}, not in the palette" for c in _colours(layer)
                         if doc.palette and c not in palette]
        printed = {(t.binding, t.text) for t in doc.layers if isinstance(t, TextLayer) and t.role == "value"}
        problems += [f"the picture does not print {v.shown!r} for {v.field!r}" for v in out.values
                     if (f"spec.{v.field}", v.shown) not in printed]
        return len(doc.layers) + len(out.values) + 1, problems


INFOGRAPHIC_CHECKS = [LayersHold()]
