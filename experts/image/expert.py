"""The layout image expert: pictures built from layers (no model weights), drawn with Skia."""

from __future__ import annotations

from agentos.sdk import Expert, ExpertContext, operation
from experts.image import infographic
from experts.image.checks import INFOGRAPHIC_CHECKS, KEYVISUAL_CHECKS
from experts.image.contact_sheet import contact_sheet
from experts.image.keyvisual_turn import key_visual
from experts.image.layer_map import layer_map
from experts.image.models import InfographicInput, InfographicOutput, KeyVisualInput, KeyVisualOutput, ShownValue
from experts.image.render import render_png, render_svg
from experts.image.spec import read_spec


class LayoutImages(Expert):
    """Makes key visuals (a draft and its variants, revised turn by turn) and infographics from a spec table,
    each as editable layers (layers.json) rendered to PNG and SVG."""

    name = "image-layout"
    domain = "image"

    @operation("image.infographic", cost=0.2, latency_s=2.0, checks=INFOGRAPHIC_CHECKS)
    def make_infographic(self, inputs: InfographicInput, ctx: ExpertContext) -> InfographicOutput:
        """An infographic of a product spec table: one card per field (numbers large, with a bar when the table
        gives a max; categories on a chip), every layer bound to its field, plus the editable layers.json."""
        fields = read_spec(inputs.spec)
        ctx.progress(0.2, f"laying out {len(fields)} field(s)")
        doc = infographic.build(fields, inputs.title, width=inputs.width, columns=inputs.columns,
                                palette=inputs.palette, footnote=inputs.footnote)
        layers = ctx.artifacts.write_text("layers.json", doc.model_dump_json(indent=2, exclude_none=True))
        ctx.progress(0.6, "rendering")
        png = render_png(doc, ctx.artifacts.path("infographic.png"))
        svg = render_svg(doc, ctx.artifacts.path("infographic.svg"))
        keyed = layer_map(doc, png, ctx.artifacts.path("layer-map.png"))
        sheet = contact_sheet([(png, "infographic.png"), (keyed, "layer-map.png: each layer's id")],
                              ctx.artifacts.path("contact-sheet.png"), thumb=512)
        return InfographicOutput(png=png, svg=svg, layers=layers, width=doc.width, height=doc.height,
                                 layer_map=keyed, contact_sheet=sheet,
                                 values=[ShownValue(field=f.name, shown=f.shown) for f in fields])

    @operation("image.keyvisual", cost=0.3, latency_s=6.0, checks=KEYVISUAL_CHECKS)
    async def make_key_visual(self, inputs: KeyVisualInput, ctx: ExpertContext) -> KeyVisualOutput:
        """A brand key visual from a brief (copy, logo, product picture, palette or style reference, aspect,
        safe margin, minimum font sizes, forbidden zones), laid out so every limit holds, plus variants that
        each change layout, palette or typeface; a later turn revises the previous brief.json with edits
        such as "make the headline bigger" or "use the second palette"."""
        return await key_visual(inputs, ctx)
