"""image-a: key visuals from a brief, laid out within its limits, with variants and multi-turn revisions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import agentos
from agentos.checks import NodeOutcome
from agentos.errors import ExpertError
from experts.image.brief import KeyVisualBrief, MinFont, Zone, read_edit
from experts.image.checks import KeyVisualHolds, TextReadsBack
from experts.image.keyvisual import Setting, safe_area, solve, variants, zone_boxes
from experts.image.layers import LayerDoc, TextLayer
from experts.image.models import KeyVisualOutput
from experts.image.palette import DEFAULT_PALETTES, MIN_TEXT_CONTRAST, contrast_ratio, extract, palettes_from
from experts.image.render import render_png

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "showcases" / "image" / "assets"
IMAGE_A = ROOT / "showcases" / "image" / "image-a.yaml"
STICKER = Zone(name="sticker", x=0.75, y=0.7, width=0.25, height=0.3)


def _brief(**changes: object) -> KeyVisualBrief:
    base = dict(headline="Light that follows your day", subline="Thirty hours of warm light on one charge",
                cta="Pre-order now", logo=ASSETS / "logo.png", product=ASSETS / "product.png",
                style_reference=ASSETS / "style-reference.png", forbidden=[STICKER])
    return KeyVisualBrief(**{**base, **changes})


def _overlap(a, b) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def test_the_palette_of_a_style_reference_is_its_dominant_colours_in_order_of_area(tmp_path):
    pixels = np.zeros((100, 100, 3), dtype=np.uint8)
    pixels[:, :60] = (32, 64, 96)  # 60 %
    pixels[:, 60:90] = (240, 224, 192)  # 30 %
    pixels[:, 90:] = (224, 80, 48)  # 10 %
    Image.fromarray(pixels).save(tmp_path / "ref.png")
    ref = extract(tmp_path / "ref.png", colours=3)
    assert ref.colours == ["#204060", "#F0E0C0", "#E05030"]
    assert ref.shares == pytest.approx([0.6, 0.3, 0.1], abs=0.02)
    assert ref.contrast > 0.2
    assert extract(tmp_path / "ref.png", colours=3) == ref  # seeded: the same image, the same palette


def test_every_offered_palette_sets_text_in_legible_contrast():
    offered = palettes_from(extract(ASSETS / "style-reference.png")) + DEFAULT_PALETTES
    assert len(offered) >= 4
    for p in offered:
        assert contrast_ratio(p.ink, p.background) >= MIN_TEXT_CONTRAST, p
        assert contrast_ratio(p.on_accent, p.accent) >= MIN_TEXT_CONTRAST, p


def test_palettes_of_the_brief_keep_their_roles_and_only_an_illegible_ink_is_replaced():
    from experts.image.keyvisual_turn import offered_palettes

    brief = _brief(palettes=[["#102030", "#F0F0F0", "#FFD000", "#203040"], ["#FFFFFF", "#EEEEEE", "#1F3A93"]])
    first, second = offered_palettes(brief, extract(brief.style_reference))  # the brief's own win over the reference
    assert (first.background, first.ink, first.accent, first.surface) == ("#102030", "#F0F0F0", "#FFD000", "#203040")
    assert first.on_accent == "#102030"  # the background reads on the yellow button
    assert second.ink == "#111111"  # light grey on white is illegible: black instead
    assert contrast_ratio(second.on_accent, second.accent) >= MIN_TEXT_CONTRAST


def test_the_layout_keeps_copy_logo_and_product_inside_the_margin_and_out_of_the_forbidden_zone():
    brief = _brief(forbidden=[STICKER, Zone(name="badge", x=0.05, y=0.35, width=0.2, height=0.12)])
    palette = palettes_from(extract(brief.style_reference))[0]
    doc = solve(brief, Setting(layout="text-left", palette=palette, typeface="sans"))
    assert (doc.width, doc.height) == (1024, 576)
    safe, zones = safe_area(brief), zone_boxes(brief)
    content = [la for la in doc.layers if la.role != "decor"]
    assert {la.role for la in content} >= {"headline", "subline", "cta", "logo", "product"}
    for layer in content:
        assert safe.contains(layer.box), layer.id
        assert not any(_overlap(layer.box, z) for z in zones.values()), layer.id
    headline = doc.layer("headline")
    badge = zones["badge"]
    assert headline.box.y >= badge.y + badge.height or headline.box.y + headline.box.height <= badge.y


def test_copy_too_long_for_the_minimum_sizes_is_refused_naming_the_limit():
    long_body = " ".join(["Warm, dimmable light for every room of the house."] * 30)
    with pytest.raises(ExpertError, match=r"does not fit .* even at the minimum font sizes \(headline 40 px"):
        solve(_brief(body=long_body), Setting(layout="text-left", palette=DEFAULT_PALETTES[0], typeface="sans"))
    with pytest.raises(ExpertError, match=r"the headline at 90 px is too wide"):
        solve(_brief(headline="Incomprehensibilities", min_font=MinFont(headline=90)),
              Setting(layout="text-left", palette=DEFAULT_PALETTES[0], typeface="sans"))


def test_a_missing_or_unreadable_picture_is_named_with_its_part_of_the_brief(tmp_path):
    setting = Setting(layout="text-left", palette=DEFAULT_PALETTES[0], typeface="sans")
    with pytest.raises(ExpertError, match=r"the brief's logo .*nothere\.png: no such file"):
        solve(_brief(logo=tmp_path / "nothere.png"), setting)
    (tmp_path / "product.png").write_text("not a picture")
    with pytest.raises(ExpertError, match=r"the brief's product .*product\.png is not an image that can be read"):
        solve(_brief(product=tmp_path / "product.png"), setting)
    with pytest.raises(ExpertError, match=r"style reference .*ref\.png: no such file"):
        extract(tmp_path / "ref.png")


def test_a_tall_brief_gets_a_tall_canvas_and_its_text_on_top():
    brief = _brief(aspect="9:16", layout="text-top")
    doc = solve(brief, Setting(layout="text-top", palette=DEFAULT_PALETTES[1], typeface="serif"))
    assert (doc.width, doc.height) == (576, 1024)
    assert doc.layer("headline").box.y < doc.layer("product").box.y
    assert doc.layer("headline").font == "DejaVu Serif"


def test_edits_in_the_known_forms_are_read_exactly():
    assert read_edit("Make the headline bigger.").scale == {"headline": 1.25}
    assert read_edit("make the logo much smaller").scale == {"logo": 0.65}
    assert read_edit("use the second palette").palette == 2
    assert read_edit("Put the text on the right").layout == "text-right"
    assert read_edit("use a serif typeface").typeface == "serif"
    assert read_edit('change the headline to "Made for long nights"').headline == "Made for long nights"
    assert read_edit("make it 1:1").aspect == "1:1"
    assert read_edit("give it more oomph") is None


def test_each_variant_changes_one_axis_and_the_check_holds_them_to_it(tmp_path):
    brief = _brief()
    palettes = palettes_from(extract(brief.style_reference))
    base = Setting(layout="text-left", palette=palettes[0], typeface="sans")
    made = variants(brief, base, palettes, ["layout", "palette", "typography"], 3)
    assert [axis for axis, *_ in made] == ["layout", "palette", "typography"]
    draft = solve(brief, base)
    by_axis = {axis: doc for axis, _, _, doc in made}
    assert by_axis["palette"].layer("headline").box == draft.layer("headline").box
    assert by_axis["palette"].background != draft.background
    assert by_axis["layout"].layer("product").box.x < draft.layer("product").box.x  # text-right: product left
    assert by_axis["typography"].layer("headline").font != draft.layer("headline").font
    with pytest.raises(ExpertError, match=r"only 1 of 3 variant\(s\) can be laid out along palette"):
        variants(brief, base, palettes, ["palette"], 3)


def _run_turns(tmp_path: Path, *edits: str, variants: int = 2) -> agentos.RunResult:
    for name in ("logo.png", "product.png", "style-reference.png"):
        (tmp_path / name).write_bytes((ASSETS / name).read_bytes())
    task = {"name": "kv", "graph": [
        {"id": "draft", "capability": "image.keyvisual", "inputs": {
            "brief": {"headline": "Light that follows your day", "subline": "Thirty hours on one charge",
                      "cta": "Pre-order now", "logo": "logo.png", "product": "product.png",
                      "style_reference": "style-reference.png", "long_side": 800,
                      "forbidden": [{"name": "sticker", "x": 0.75, "y": 0.7, "width": 0.25, "height": 0.3}]},
            "variants": variants}},
        {"id": "revise", "capability": "image.keyvisual", "inputs": {
            "previous": "${draft.brief}", "edits": list(edits), "variants": variants}}]}
    return agentos.run(task, base_dir=tmp_path, output=tmp_path / "runs")


@pytest.mark.slow
def test_a_second_turn_revises_the_draft_instead_of_starting_over(tmp_path):
    r = _run_turns(tmp_path, "make the headline bigger", "use the second palette")
    assert r.ok, [n.error for n in r.nodes.values()]
    first = KeyVisualOutput.model_validate(r.output("draft"))
    second = KeyVisualOutput.model_validate(r.output("revise"))
    assert second.changes == ["make the headline bigger: headline scale: 1 → 1.25",
                              "use the second palette: palette: 1 → 2"]
    a, b = (LayerDoc.model_validate_json(o.draft.layers.read_text()) for o in (first, second))
    assert b.layer("headline").size > a.layer("headline").size
    assert b.background == second.palettes[1].background != a.background
    assert (second.draft.layout, second.draft.typeface) == (first.draft.layout, first.draft.typeface)
    assert b.layer("subline").text == a.layer("subline").text
    for node in ("draft", "revise"):
        verdicts = {v.check: v for v in r.nodes[node].verdicts}
        assert verdicts["image.keyvisual"].passed and verdicts["image.ocr"].passed, verdicts
        assert "not read" not in verdicts["image.ocr"].message  # Tesseract really read the pictures
    with Image.open(second.contact_sheet) as sheet:
        assert sheet.width > 3 * 300  # the draft and both variants side by side


def test_an_edit_no_form_reads_without_a_host_lists_the_forms(tmp_path):
    r = _run_turns(tmp_path, "give it more oomph", variants=0)
    assert not r.ok
    error = r.nodes["revise"].error
    assert "'give it more oomph' is in none of the forms read without a host model" in error
    assert "use the <first|second|third|N-th|last> palette" in error


def _outcome(out: KeyVisualOutput, tmp_path: Path) -> NodeOutcome:
    return NodeOutcome(node_id="kv", expert="image-layout", output=out, output_model=KeyVisualOutput,
                       run_dir=tmp_path)


def _made(tmp_path: Path) -> KeyVisualOutput:
    brief = _brief()
    palettes = palettes_from(extract(brief.style_reference))
    base = Setting(layout="text-left", palette=palettes[0], typeface="sans")
    pictures = []
    for name, (axis, setting, doc) in {"draft": (None, base, solve(brief, base)),
                                       **{f"v{i}": (a, s, d) for i, (a, s, _, d) in enumerate(
                                           variants(brief, base, palettes, ["palette"], 1))}}.items():
        (tmp_path / f"{name}.json").write_text(doc.model_dump_json())
        render_png(doc, tmp_path / f"{name}.png")
        pictures.append(dict(label=name, png=tmp_path / f"{name}.png", svg=tmp_path / f"{name}.png",
                             layers=tmp_path / f"{name}.json", layout=setting.layout, palette=setting.palette.name,
                             typeface=setting.typeface, axis=axis))
    (tmp_path / "brief.json").write_text(brief.model_dump_json())
    return KeyVisualOutput(draft=pictures[0], variants=pictures[1:], brief=tmp_path / "brief.json",
                           palettes=palettes, contact_sheet=tmp_path / "draft.png", width=1024, height=576)


def _edit(path: Path, layer_id: str, **changes: object) -> None:
    """Change one layer in a layers file and redraw its PNG, as a buggy expert would have delivered it."""
    doc = LayerDoc.model_validate_json(path.read_text())
    layer = doc.layer(layer_id)
    for key, value in changes.items():
        setattr(layer, key, value)
    path.write_text(doc.model_dump_json())
    render_png(doc, path.with_suffix(".png"))


@pytest.mark.slow
def test_the_key_visual_check_catches_a_zone_breach_a_small_font_a_wrong_copy_and_a_moved_palette_variant(
        tmp_path):
    out = _made(tmp_path)
    assert KeyVisualHolds()(_outcome(out, tmp_path)).passed
    headline = LayerDoc.model_validate_json(out.draft.layers.read_text()).layer("headline")
    _edit(out.draft.layers, "cta.button", box=headline.box.model_copy(update={"x": 800, "y": 450, "width": 150}))
    _edit(out.draft.layers, "subline", size=12.0, text="Thirty hours")
    _edit(out.variants[0].layers, "headline", box=headline.box.model_copy(update={"y": headline.box.y + 20}))
    _, problems = KeyVisualHolds().inspect(out, _outcome(out, tmp_path))
    assert "draft: layer 'cta.button' enters forbidden zone 'sticker'" in problems
    assert any(p.startswith("draft: the subline reads 'Thirty hours', the brief says") for p in problems)
    assert "v0: a palette variant that also moves or re-sets the layers" in problems
    _edit(out.draft.layers, "subline", text=_brief().subline, size=12.0)
    _, problems = KeyVisualHolds().inspect(out, _outcome(out, tmp_path))
    assert "draft: the subline is 12.0 px, under its minimum 22 px" in problems


@pytest.mark.slow
def test_ocr_reads_the_copy_back_and_fails_text_drawn_in_the_background_colour(tmp_path):
    out = _made(tmp_path)
    verdict = TextReadsBack()(_outcome(out, tmp_path))
    assert verdict.passed and verdict.message.endswith("text layer(s) read back from the pixels ok"), verdict
    doc = LayerDoc.model_validate_json(out.draft.layers.read_text())
    assert isinstance(doc.layer("headline"), TextLayer)
    _edit(out.draft.layers, "headline", colour=doc.background)  # invisible: the layers still claim it
    verdict = TextReadsBack()(_outcome(out, tmp_path))
    assert not verdict.passed
    assert "draft: OCR reads" in verdict.message and "layer 'headline' says 'Light that follows your day'" in (
        verdict.message)
    _, problems = KeyVisualHolds().inspect(out, _outcome(out, tmp_path))
    assert any("'headline' has contrast 1.00:1 on its ground" in p for p in problems)


@pytest.mark.slow
def test_image_a_runs_offline_with_its_contact_sheets(tmp_path):
    r = agentos.run(IMAGE_A, output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    second = KeyVisualOutput.model_validate(r.output("revise"))
    assert len(second.variants) == 3 and {v.axis for v in second.variants} == {"layout", "palette", "typography"}
    assert json.loads(second.brief.read_text())["palette"] == 2
    assert second.contact_sheet.is_file() and all(p.svg.read_text().startswith("<?xml") for p in second.variants)
