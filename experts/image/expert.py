"""The layout image expert: pictures built from layers (no model weights), drawn with Skia."""

from __future__ import annotations

from agentos.sdk import Expert, ExpertContext, operation
from experts.image import infographic
from experts.image.checks import INFOGRAPHIC_CHECKS
from experts.image.models import InfographicInput, InfographicOutput, ShownValue
from experts.image.render import render_png, render_svg
from experts.image.spec import read_spec


class LayoutImages(Expert):
    """Makes infographics from a spec table as editable layers (layers.json), rendered to PNG and SVG."""

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
        return InfographicOutput(png=png, svg=svg, layers=layers, width=doc.width, height=doc.height,
                                 values=[ShownValue(field=f.name, shown=f.shown) for f in fields])
