"""The image checks: they re-read the layer file and the pixels, not the expert's word."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from agentos.checks import NodeOutcome, OutputCheck, Verdict
from experts.image import agreement, ocr
from experts.image.brief import COPY_ROLES, KeyVisualBrief
from experts.image.keyvisual import safe_area, zone_boxes
from experts.image.layers import ArcLayer, Box, EllipseLayer, LayerDoc, LineLayer, RectLayer, TextLayer
from experts.image.models import InfographicOutput, KeyVisualOutput, MaterialsOutput
from experts.image.palette import LARGE_TEXT_PX, MIN_LARGE_CONTRAST, MIN_TEXT_CONTRAST, contrast_ratio
from experts.image.render import render_png, text_overflow


def _colours(layer: Any) -> list[str]:
    if isinstance(layer, RectLayer | EllipseLayer):
        return [c for c in (layer.fill, layer.stroke) if c]
    if isinstance(layer, LineLayer | ArcLayer):
        return [layer.stroke]
    if isinstance(layer, TextLayer):
        return [layer.colour]
    return []


def _load(path: Path) -> LayerDoc:
    return LayerDoc.model_validate_json(Path(path).read_text(encoding="utf-8"))


def drawn_as_delivered(doc: LayerDoc, layers: Path, png: Path) -> list[str]:
    """What is wrong with a delivered picture as its own layers describe it: a re-render that differs from
    the PNG, a layer off the canvas, text that overflows its box, a colour from outside the palette."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        again = render_png(doc, Path(tmp) / "again.png", base=Path(layers).parent)
        with Image.open(again) as a, Image.open(png) as b:
            if a.size != b.size or ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox():
                problems.append(f"{Path(layers).name} does not re-render to the delivered {Path(png).name}")
    palette = set(doc.palette) | {doc.background}
    for layer in doc.layers:
        b = layer.box
        if b.x < 0 or b.y < 0 or b.x + b.width > doc.width + 0.5 or b.y + b.height > doc.height + 0.5:
            problems.append(f"layer {layer.id!r} leaves the {doc.width}×{doc.height} canvas")
        if isinstance(layer, TextLayer) and (why := text_overflow(layer)):
            problems.append(f"layer {layer.id!r} overflows its box: {why}")
        problems += [f"layer {layer.id!r} uses {c}, not in the palette" for c in _colours(layer)
                     if doc.palette and c not in palette]
    return problems


class LayersHold(OutputCheck):
    """layers.json re-renders to the very PNG delivered; every text fits its box and every layer the canvas;
    every colour is from the palette; every spec field's value is printed, bound to its field."""

    name = "image.layers"
    what = "layer check(s)"
    kind = InfographicOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        doc = _load(out.layers)
        problems = drawn_as_delivered(doc, out.layers, out.png)
        printed = {(t.binding, t.text) for t in doc.layers if isinstance(t, TextLayer) and t.role == "value"}
        problems += [f"the picture does not print {v.shown!r} for {v.field!r}" for v in out.values
                     if (f"spec.{v.field}", v.shown) not in printed]
        return len(doc.layers) + len(out.values) + 1, problems


def _pictures(out: Any) -> list[tuple[str, Path, Path]]:
    """(label, png, layers) of every picture an output delivers with a layer file."""
    if isinstance(out, InfographicOutput):
        return [("infographic", out.png, out.layers)]
    if isinstance(out, KeyVisualOutput):
        return [(p.label, p.png, p.layers) for p in [out.draft, *out.variants]]
    return []


class TextReadsBack(OutputCheck):
    """Tesseract, reading each text layer's box of the PNG, finds its words (a share `MIN_WORD_RECALL` at
    least), so the text the layers claim is what a reader sees, where they say; with no Tesseract on the
    machine the verdict says so and passes."""

    name = "image.ocr"
    what = "text layer(s) read back from the pixels"
    min_size = 14.0  # smaller text is not asked of OCR

    def __call__(self, outcome: NodeOutcome) -> Verdict:
        if why := ocr.unavailable():
            return Verdict(check=self.name, passed=True, score=1.0, message=f"not read: {why}",
                           node_id=outcome.node_id, expert=outcome.expert)
        return super().__call__(outcome)

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        total, problems = 0, []
        for label, png, layers in _pictures(out):
            for layer in _load(layers).layers:
                if not isinstance(layer, TextLayer) or layer.size < self.min_size or not ocr.words(layer.text):
                    continue
                total += 1
                read = ocr.read_box(Path(png), layer.box)
                missing = ocr.unread(layer.text, read)
                if len(missing) > (1 - ocr.MIN_WORD_RECALL) * len(ocr.words(layer.text)):
                    problems.append(f"{label}: OCR reads {' '.join(read)!r} where layer {layer.id!r} says "
                                    f"{layer.text!r}")
        return total, problems


def _inside(box: Box, area: Box) -> bool:
    return area.contains(box, slack=0.5)


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.x + b.width - 0.5 and b.x < a.x + a.width - 0.5 and a.y < b.y + b.height - 0.5 and (
        b.y < a.y + a.height - 0.5)


def _beneath(layer: TextLayer, doc: LayerDoc) -> str:
    """The colour under a text layer: the topmost filled shape below it that holds its box, else the background."""
    under = [s for s in doc.ordered() if isinstance(s, RectLayer | EllipseLayer) and s.fill and s.z < layer.z
             and s.box.contains(layer.box)]
    return under[-1].fill if under else doc.background  # type: ignore[return-value]


class KeyVisualHolds(OutputCheck):
    """Each picture (the draft and every variant) re-renders from its layers, prints the brief's copy exactly,
    keeps every element inside the safe margin and out of the forbidden zones, sets no copy below its
    minimum size, gives text the contrast it needs, and uses the brief's size; each variant differs from the
    draft along its axis and keeps the rest (the copy always; the palette unless the palette is its axis;
    the geometry too when only the palette changes)."""

    name = "image.keyvisual"
    what = "key-visual limit(s)"
    kind = KeyVisualOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        brief = KeyVisualBrief.model_validate_json(Path(out.brief).read_text(encoding="utf-8"))
        width, height = brief.size()
        safe, zones = safe_area(brief), zone_boxes(brief)
        floors = brief.min_font.model_dump()
        docs = {}
        total, problems = 0, []
        for picture in [out.draft, *out.variants]:
            doc = docs[picture.label] = _load(picture.layers)
            found = [f"{picture.label}: {p}" for p in drawn_as_delivered(doc, picture.layers, picture.png)]
            if (doc.width, doc.height) != (width, height):
                found.append(f"{picture.label}: {doc.width}×{doc.height}, the brief asks for {width}×{height}")
            texts = {t.binding: t for t in doc.layers if isinstance(t, TextLayer)}
            for role, text in brief.copy_blocks():
                shown = texts.get(f"brief.{role}")
                if shown is None or shown.text != text:
                    found.append(f"{picture.label}: the {role} reads {shown.text if shown else None!r}, the brief "
                                 f"says {text!r}")
                elif shown.size < floors[role] - 1e-6:
                    found.append(f"{picture.label}: the {role} is {shown.size:.1f} px, under its minimum "
                                 f"{floors[role]:g} px")
            content = [la for la in doc.layers if la.role != "decor"]
            for layer in content:
                if not _inside(layer.box, safe):
                    found.append(f"{picture.label}: layer {layer.id!r} crosses the safe margin")
                found += [f"{picture.label}: layer {layer.id!r} enters forbidden zone {name!r}"
                          for name, zone in zones.items() if _overlap(layer.box, zone)]
            found += [f"{picture.label}: decor {la.id!r} enters forbidden zone {name!r}" for la in doc.layers
                      if la.role == "decor" for name, zone in zones.items() if _overlap(la.box, zone)]
            solid = [la for la in content if la.role in ("logo", "product", *COPY_ROLES)]
            found += [f"{picture.label}: {a.id!r} and {b.id!r} overlap" for i, a in enumerate(solid)
                      for b in solid[i + 1:] if _overlap(a.box, b.box)]
            for t in (la for la in doc.layers if isinstance(la, TextLayer)):
                need = MIN_LARGE_CONTRAST if t.size >= LARGE_TEXT_PX else MIN_TEXT_CONTRAST
                if (ratio := contrast_ratio(t.colour, _beneath(t, doc))) < need:
                    found.append(f"{picture.label}: {t.id!r} has contrast {ratio:.2f}:1 on its ground, "
                                 f"under {need:g}:1")
            total += 6 + len(content)
            problems += found
        draft = docs[out.draft.label]
        for v in out.variants:
            total += 1
            problems += [f"{v.label}: {p}" for p in _variant_problems(v.axis, draft, docs[v.label])]
        return total, problems


def _geometry(doc: LayerDoc) -> dict[str, tuple[float, float, float, float]]:
    """Where each layer is; a logo's plate is left out, as it comes and goes with the background colour."""
    return {la.id: (round(la.box.x, 1), round(la.box.y, 1), round(la.box.width, 1), round(la.box.height, 1))
            for la in doc.layers if la.role != "logo plate"}


def _fonts(doc: LayerDoc) -> set[tuple[str, str]]:
    return {(la.id, la.font) for la in doc.layers if isinstance(la, TextLayer)}


def _variant_problems(axis: str | None, draft: LayerDoc, variant: LayerDoc) -> list[str]:
    """How a variant fails to differ from the draft along `axis` only."""
    problems = []
    same_colours = set(draft.palette) == set(variant.palette) and draft.background == variant.background
    if axis == "palette":
        if same_colours:
            problems.append("a palette variant with the draft's colours")
        if _geometry(draft) != _geometry(variant) or _fonts(draft) != _fonts(variant):
            problems.append("a palette variant that also moves or re-sets the layers")
    elif axis == "layout":
        if _geometry(draft) == _geometry(variant):
            problems.append("a layout variant with the draft's layout")
        if not same_colours or _fonts(draft) != _fonts(variant):
            problems.append("a layout variant that also changes colours or typefaces")
    elif axis == "typography":
        if _fonts(draft) == _fonts(variant):
            problems.append("a typography variant in the draft's typefaces")
        if not same_colours:
            problems.append("a typography variant that also changes colours")
    else:
        problems.append(f"a variant without a known axis ({axis!r})")
    return problems


INFOGRAPHIC_CHECKS = [LayersHold(), TextReadsBack()]
KEYVISUAL_CHECKS = [KeyVisualHolds(), TextReadsBack()]


def _on_disk(path: Path, outcome: NodeOutcome) -> Path:
    return path if path.is_absolute() else outcome.run_dir / path


def _image_size(path: Path) -> tuple[int, int] | str:
    """The picture's size, or why it cannot be read."""
    if not path.is_file():
        return f"{path.name} is missing"
    try:
        with Image.open(path) as im:
            return im.size
    except OSError:
        return f"{path.name} is not a picture"


class MaterialsAgree(OutputCheck):
    """The material variants show one composition: re-measured from the PNGs on disk, each variant's silhouette
    matches the first's (IoU), its picture has edges along that outline, and no two pictures are the same."""

    name = "image.materials"
    what = "variant check(s)"
    kind = MaterialsOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        total = 4 * len(out.variants)  # per variant: its files, its silhouette, its edges, its own pixels
        if not out.variants:
            return 1, ["no variants to compare"]
        problems: list[str] = []
        readable = []
        for v in out.variants:
            sizes = [_image_size(_on_disk(p, outcome)) for p in (v.png, v.mask)]
            bad = [s for s in sizes if isinstance(s, str)]
            if bad:
                problems.append(f"{v.material}: {', '.join(bad)}")
            elif sizes[0] != sizes[1]:
                problems.append(f"{v.material}: its picture is {sizes[0]}, its mask {sizes[1]}")
            else:
                readable.append((v, sizes[0]))
        if not readable or readable[0][0] is not out.variants[0]:
            return total, [*problems, f"nothing to measure against: the reference {out.variants[0].material} "
                           "cannot be read"]
        ref, size = readable[0]
        shown = []
        for v, s in readable:
            if s != size:
                problems.append(f"{v.material}: {s[0]}×{s[1]}, the reference {ref.material} is {size[0]}×{size[1]}")
            else:
                shown.append(v)
        if not agreement.read_mask(_on_disk(ref.mask, outcome)).any():
            problems.append(f"{ref.material}: the mask is empty: the subject is not in the frame")
        measured = agreement.measure([(v.material, _on_disk(v.png, outcome), _on_disk(v.mask, outcome))
                                      for v in shown])
        for v, m in zip(shown, measured, strict=True):
            if m.iou < agreement.MIN_IOU:
                problems.append(f"{v.material}: silhouette IoU {m.iou:.3f} with {ref.material} "
                                f"(below {agreement.MIN_IOU}): not the same view of the same subject")
            if m.edge_agreement < agreement.MIN_EDGE_AGREEMENT:
                problems.append(f"{v.material}: only {m.edge_agreement:.0%} of {ref.material}'s outline is an edge "
                                f"in {v.png.name} (below {agreement.MIN_EDGE_AGREEMENT:.0%}): the picture does not "
                                "show that silhouette")
            if abs(v.iou - m.iou) > 0.01 or abs(v.edge_agreement - m.edge_agreement) > 0.01:
                problems.append(f"{v.material}: reports IoU {v.iou:.3f} and edges {v.edge_agreement:.2f}, "
                                f"measures {m.iou:.3f} and {m.edge_agreement:.2f}")
        pixels = {}
        for v in shown:
            with Image.open(_on_disk(v.png, outcome)) as im:
                pixels[v.material] = im.convert("RGB")
        for i, (name, a) in enumerate(pixels.items()):
            same = [other for other, b in list(pixels.items())[:i] if not ImageChops.difference(a, b).getbbox()]
            problems += [f"{name}: pixel-identical to {other}: the material did not change" for other in same]
        return total, problems


MATERIALS_CHECKS = [MaterialsAgree()]
