"""image-c: an infographic from a spec table, its layer file, and the checks that hold it to the table."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentos
from agentos.checks import NodeOutcome
from agentos.errors import ExpertError
from experts.image.checks import LayersHold
from experts.image.infographic import build
from experts.image.layers import LayerDoc, TextLayer
from experts.image.models import InfographicOutput
from experts.image.spec import read_spec

ROOT = Path(__file__).resolve().parents[1]
IMAGE_C = ROOT / "showcases" / "image" / "image-c.yaml"


def test_spec_tables_read_the_same_from_csv_markdown_and_yaml(tmp_path):
    (tmp_path / "s.csv").write_text("field,value,unit,max\nBattery life,18,h,24\nColour,Graphite,,\n")
    (tmp_path / "s.md").write_text("| field | value | unit | max |\n|---|---|---|---|\n| Battery life | 18 | h | 24 |\n"
                                   "| Colour | Graphite | | |\n")
    (tmp_path / "s.yaml").write_text("Battery life: {value: 18, unit: h, max: 24}\nColour: Graphite\n")
    for name in ("s.csv", "s.md", "s.yaml"):
        battery, colour = read_spec(tmp_path / name)
        got = (battery.kind, battery.value, battery.unit, battery.max, battery.shown)
        assert got == ("number", 18, "h", 24, "18 h"), name
        assert (colour.kind, colour.shown) == ("category", "Graphite"), name
    (tmp_path / "u.csv").write_text("field,value\nStorage,\"1,024 GB\"\n")
    (storage,) = read_spec(tmp_path / "u.csv")
    assert (storage.value, storage.unit, storage.shown) == (1024, "GB", "1,024 GB")


def test_a_spec_table_without_its_header_says_what_the_columns_must_be(tmp_path):
    (tmp_path / "s.csv").write_text("name,amount\nBattery,18\n")
    with pytest.raises(ExpertError, match=r"the first row must name the columns: field, value\[, unit\]\[, max\]"):
        read_spec(tmp_path / "s.csv")
    (tmp_path / "m.csv").write_text("field,value,unit,max\nBattery,18,h,lots\n")
    with pytest.raises(ExpertError, match=r"m\.csv:2: max 'lots' is not a number"):
        read_spec(tmp_path / "m.csv")


def test_image_c_draws_every_field_bound_to_the_table_and_its_layers_re_render(tmp_path):
    r = agentos.run(IMAGE_C, output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = InfographicOutput.model_validate(r.output("infographic"))
    assert [(v.field, v.shown) for v in out.values] == [
        ("Battery life", "18 h"), ("Weight", "1.2 kg"), ("Screen", "14 in"), ("Storage", "1,024 GB"),
        ("Display brightness", "85 %"), ("Charging", "USB-C"), ("Colour", "Graphite")]
    assert any(v.check == "image.layers" and v.passed for v in r.nodes["infographic"].verdicts)
    doc = LayerDoc.model_validate_json(out.layers.read_text())
    bars = {layer.id: layer.box.width for layer in doc.layers if layer.role in ("bar", "bar track")}
    assert bars["battery_life.bar"] == pytest.approx(bars["battery_life.track"] * 18 / 24)  # drawn to scale
    assert "screen.bar" not in bars  # no max in the table: no bar
    gauge = doc.layer("display_brightness.gauge")
    assert gauge.type == "arc" and gauge.sweep == pytest.approx(360 * 0.85)  # a percentage: a ring to scale
    assert "display_brightness.bar" not in bars
    assert out.svg.read_text().count("1,024 GB") == 1
    from PIL import Image

    with Image.open(out.layer_map) as keyed, Image.open(out.png) as picture, Image.open(out.contact_sheet) as sheet:
        assert keyed.size == picture.size and sheet.width > picture.width // 2 * 2
        outline = keyed.convert("RGB").getpixel((int(doc.layer("title").box.x), int(doc.layer("title").box.y) + 5))
        assert outline == (214, 39, 40)  # the first layer's box is outlined in the first outline colour


def _outcome(out: InfographicOutput, tmp_path: Path) -> NodeOutcome:
    return NodeOutcome(node_id="infographic", expert="image-layout", output=out, output_model=InfographicOutput,
                       run_dir=tmp_path)


def test_the_layer_check_catches_a_wrong_value_an_overflow_an_off_palette_colour_and_a_stale_png(tmp_path):
    from experts.image.render import render_png
    from experts.image.spec import SpecField

    fields = [SpecField(name="Battery life", kind="number", text="18", value=18, unit="h", max=24)]
    doc = build(fields, "Spec")
    layers, png = tmp_path / "layers.json", tmp_path / "out.png"
    layers.write_text(doc.model_dump_json())
    render_png(doc, png)
    out = InfographicOutput(png=png, svg=png, layers=layers, values=[{"field": "Battery life", "shown": "18 h"}],
                            width=doc.width, height=doc.height)
    assert LayersHold()(_outcome(out, tmp_path)).passed
    edited = doc.model_copy(deep=True)
    value = next(layer for layer in edited.layers if layer.id == "battery_life.value")
    assert isinstance(value, TextLayer)
    value.text = "19 h of battery life, tested in the lab by independent reviewers"  # wrong and too long
    value.colour = "#00FF00"
    layers.write_text(edited.model_dump_json())
    assert not LayersHold()(_outcome(out, tmp_path)).passed
    _, problems = LayersHold().inspect(out, _outcome(out, tmp_path))
    assert "layers.json does not re-render to the delivered out.png" in problems
    assert any(p.startswith("layer 'battery_life.value' overflows its box") for p in problems)
    assert "layer 'battery_life.value' uses #00FF00, not in the palette" in problems
    assert "the picture does not print '18 h' for 'Battery life'" in problems


def test_ocr_read_back_counts_words_run_together_but_not_wrong_ones():
    from experts.image.ocr import unread

    assert unread("9 h", ["9h"]) == [] and unread("Battery life", ["batterylife"]) == []
    assert unread("9 h", ["gh"]) == ["9", "h"]  # a misread stays a miss
    assert unread("18 h of battery", ["18h", "of"]) == ["battery"]
