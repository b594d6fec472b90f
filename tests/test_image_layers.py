"""The layer description and its Skia renderer: what is in layers.json is what the pixels and the SVG show."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image
from pydantic import ValidationError

from experts.image.layers import Box, LayerDoc, TextLayer
from experts.image.render import font_found, render_png, render_svg, text_lines, text_overflow

DOC = {
    "width": 320, "height": 200, "background": "#f5f5f0", "palette": ["#1f3a93", "#e74c3c", "#222222"],
    "layers": [
        {"type": "rect", "id": "panel", "box": {"x": 10, "y": 10, "width": 140, "height": 80}, "fill": "#1f3a93"},
        {"type": "ellipse", "id": "dot", "box": {"x": 200, "y": 20, "width": 60, "height": 60}, "fill": "#e74c3c",
         "z": 2},
        {"type": "rect", "id": "under", "box": {"x": 190, "y": 10, "width": 80, "height": 80}, "fill": "#222222",
         "z": 1},
        {"type": "line", "id": "rule", "box": {"x": 10, "y": 110, "width": 300, "height": 0.01},
         "stroke": "#222222", "stroke_width": 4},
        {"type": "text", "id": "headline", "box": {"x": 10, "y": 120, "width": 300, "height": 70},
         "text": "Battery lasts 18 hours", "size": 24, "bold": True, "colour": "#1f3a93", "binding": "spec.battery"},
    ],
}


def test_the_png_shows_each_layer_where_its_box_says_in_z_order(tmp_path):
    doc = LayerDoc.model_validate(DOC)
    png = render_png(doc, tmp_path / "out.png")
    with Image.open(png) as img:
        px = img.convert("RGB")
        assert px.size == (320, 200)
        assert px.getpixel((80, 50)) == (0x1F, 0x3A, 0x93)  # the panel
        assert px.getpixel((230, 50)) == (0xE7, 0x4C, 0x3C)  # the dot, drawn over the dark square (z 2 > 1)
        assert px.getpixel((195, 15)) == (0x22, 0x22, 0x22)  # the square's corner, outside the dot
        assert px.getpixel((300, 5)) == (0xF5, 0xF5, 0xF0)  # the background
        assert px.getpixel((150, 110)) == (0x22, 0x22, 0x22)  # the rule
        headline = px.crop((10, 120, 310, 190))
        assert (0x1F, 0x3A, 0x93) in {c for _, c in headline.getcolors(maxcolors=100000)}  # text in its colour


def test_the_svg_is_drawn_from_the_same_layers(tmp_path):
    svg = render_svg(LayerDoc.model_validate(DOC), tmp_path / "out.svg").read_text()
    assert svg.startswith("<?xml") and 'width="320"' in svg and 'height="200"' in svg
    assert 'fill="#1F3A93"' in svg and 'fill="#E74C3C"' in svg
    assert "Battery lasts 18 hours" in svg and 'font-family="DejaVu Sans"' in svg  # text stays text
    assert svg.index('fill="#222"') < svg.index('fill="#E74C3C"')  # z order: the square, then the dot


def test_text_wraps_to_its_box_and_overflow_is_measured():
    layer = TextLayer(id="t", box=Box(x=0, y=0, width=120, height=200), text="one two three four five six", size=20)
    lines = text_lines(layer)
    assert len(lines) > 1 and " ".join(lines) == layer.text and text_overflow(layer) == ""
    short = layer.model_copy(update={"box": Box(x=0, y=0, width=120, height=30)})
    assert "line(s) need" in text_overflow(short)
    wide = layer.model_copy(update={"text": "Supercalifragilistic", "box": Box(x=0, y=0, width=60, height=200)})
    assert "px wide in a 60 px box" in text_overflow(wide)
    assert font_found(layer)  # DejaVu Sans comes with the system's fonts


def test_a_bad_layer_file_names_what_is_wrong():
    bad = json.loads(json.dumps(DOC))
    bad["layers"][0]["fill"] = "blue"
    with pytest.raises(ValidationError, match=r"layers\.0\.rect\.fill\n.*'blue' is not a colour: write #RRGGBB"):
        LayerDoc.model_validate(bad)
    twice = json.loads(json.dumps(DOC))
    twice["layers"].append({**twice["layers"][1], "z": 5})
    with pytest.raises(ValidationError, match="two layers have the id 'dot'; ids must be unique"):
        LayerDoc.model_validate(twice)


@pytest.mark.slow
def test_agentos_image_render_re_renders_an_edited_file_and_errors_cleanly(tmp_path):
    path = tmp_path / "layers.json"
    edited = json.loads(json.dumps(DOC))
    edited["layers"][0]["fill"] = "#e74c3c"  # the user recolours the panel
    path.write_text(json.dumps(edited))
    run = [sys.executable, "-m", "agentos", "image", "render", str(path)]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "layers.png") as img:
        assert img.convert("RGB").getpixel((80, 50)) == (0xE7, 0x4C, 0x3C)
    assert (tmp_path / "layers.svg").is_file()
    path.write_text('{"width": 10, "height": 10, "layers": [{"type": "text", "id": "t"}]}')
    proc = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not a layer description" in proc.stderr
    assert "layers.0.text.box: Field required" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    path.write_text("{nope")
    proc = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "layers.json:1:2: not valid JSON" in proc.stderr
