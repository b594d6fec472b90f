"""Draw a `LayerDoc` with Skia, to PNG and SVG from the same drawing code.

Text is laid out here, once: words are wrapped to the layer's box with Skia's own font metrics,
and `text_lines` gives the lines (and `text_overflow` what does not fit) so the checks judge the
same layout the pixels show. Fonts are looked up by family through fontconfig; an unknown family
falls back to Skia's default, which the document's check reports.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from agentos.errors import ExpertError
from experts.image.layers import ArcLayer, EllipseLayer, ImageLayer, LayerDoc, LineLayer, RectLayer, TextLayer

LINE_SPACING = 1.25  # line height as a multiple of the font size


def _skia() -> Any:
    try:
        import skia
    except ImportError:
        raise ExpertError("rendering needs skia-python: pip install 'agentos[image]'") from None
    return skia


def _rgba(hex_colour: str) -> int:
    skia = _skia()
    h = hex_colour.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    a = int(h[6:8], 16) if len(h) == 8 else 255
    return skia.Color(r, g, b, a)


@lru_cache(maxsize=64)
def _typeface(family: str, bold: bool) -> Any:
    skia = _skia()
    style = skia.FontStyle.Bold() if bold else skia.FontStyle.Normal()
    return skia.Typeface(family, style)


def font_for(layer: TextLayer) -> Any:
    return _skia().Font(_typeface(layer.font, layer.bold), layer.size)


def font_found(layer: TextLayer) -> bool:
    """Whether the layer's font family is installed (else Skia drew it in its default face)."""
    return _typeface(layer.font, layer.bold).getFamilyName().lower() == layer.font.lower()


def text_lines(layer: TextLayer) -> list[str]:
    """The text wrapped to the box width at word boundaries (a word wider than the box stays whole)."""
    font = font_for(layer)
    lines: list[str] = []
    for paragraph in layer.text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}" if line else word
            if line and font.measureText(trial) > layer.box.width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def text_overflow(layer: TextLayer) -> str:
    """"" when the wrapped text fits its box, else what sticks out."""
    font = font_for(layer)
    lines = text_lines(layer)
    wide = [ln for ln in lines if font.measureText(ln) > layer.box.width + 0.5]
    if wide:
        return f"{wide[0]!r} is {font.measureText(wide[0]):.0f} px wide in a {layer.box.width:.0f} px box"
    height = layer.size * (1 + LINE_SPACING * (len(lines) - 1)) + font.getMetrics().fDescent
    if height > layer.box.height + 0.5:
        return f"{len(lines)} line(s) need {height:.0f} px in a {layer.box.height:.0f} px high box"
    return ""


def _paint(colour: str, *, stroke: float = 0) -> Any:
    skia = _skia()
    paint = skia.Paint(Color=_rgba(colour), AntiAlias=True)
    if stroke:
        paint.setStyle(skia.Paint.kStroke_Style)
        paint.setStrokeWidth(stroke)
    return paint


def draw(doc: LayerDoc, canvas: Any, base: Path | None = None) -> None:
    """Every layer of `doc` on `canvas`, in z order; image paths resolve against `base`."""
    skia = _skia()
    canvas.drawRect(skia.Rect.MakeWH(doc.width, doc.height), _paint(doc.background))
    for layer in doc.ordered():
        b = layer.box
        rect = skia.Rect.MakeXYWH(b.x, b.y, b.width, b.height)
        if isinstance(layer, RectLayer | EllipseLayer):
            paints = ([_paint(layer.fill)] if layer.fill else []) + (
                [_paint(layer.stroke, stroke=layer.stroke_width)] if layer.stroke and layer.stroke_width else [])
            for paint in paints:  # the fill, then the outline over it
                if isinstance(layer, EllipseLayer):
                    canvas.drawOval(rect, paint)
                else:
                    canvas.drawRoundRect(rect, layer.radius, layer.radius, paint)
        elif isinstance(layer, LineLayer):
            canvas.drawLine(b.x, b.y, b.x + b.width, b.y + b.height, _paint(layer.stroke, stroke=layer.stroke_width))
        elif isinstance(layer, ArcLayer):
            paint = _paint(layer.stroke, stroke=layer.stroke_width)
            paint.setStrokeCap(skia.Paint.kRound_Cap)
            inset = layer.stroke_width / 2  # the stroke stays inside the box
            canvas.drawArc(rect.makeInset(inset, inset), layer.start, layer.sweep, False, paint)
        elif isinstance(layer, TextLayer):
            font, paint = font_for(layer), _paint(layer.colour)
            for i, line in enumerate(text_lines(layer)):
                width = font.measureText(line)
                x = b.x + {"left": 0.0, "centre": (b.width - width) / 2, "right": b.width - width}[layer.align]
                canvas.drawString(line, x, b.y + layer.size * (1 + LINE_SPACING * i) - font.getMetrics().fDescent,
                                  font, paint)
        elif isinstance(layer, ImageLayer):
            path = layer.path if layer.path.is_absolute() or base is None else base / layer.path
            image = skia.Image.open(str(path)) if path.is_file() else None
            if image is None:
                raise ExpertError(f"layer {layer.id!r}: image {path} cannot be read")
            scale = min(b.width / image.width(), b.height / image.height())
            w, h = image.width() * scale, image.height() * scale
            canvas.drawImageRect(image, skia.Rect.MakeXYWH(b.x + (b.width - w) / 2, b.y + (b.height - h) / 2, w, h))


def render_png(doc: LayerDoc, path: Path, base: Path | None = None) -> Path:
    skia = _skia()
    surface = skia.Surface(doc.width, doc.height)
    with surface as canvas:
        draw(doc, canvas, base)
    path.parent.mkdir(parents=True, exist_ok=True)
    surface.makeImageSnapshot().save(str(path), skia.kPNG)
    return path


def render_svg(doc: LayerDoc, path: Path, base: Path | None = None) -> Path:
    skia = _skia()
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = skia.FILEWStream(str(path))
    canvas = skia.SVGCanvas.Make((doc.width, doc.height), stream)
    draw(doc, canvas, base)
    del canvas  # the SVG is finished when its canvas goes
    stream.flush()
    return path
