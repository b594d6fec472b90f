"""The material image expert: one scene rendered with Mitsuba 3 in several materials, composition measured."""

from __future__ import annotations

from typing import Any

from agentos.sdk import Expert, ExpertContext, operation
from experts.image import agreement
from experts.image.checks import MATERIALS_CHECKS
from experts.image.contact_sheet import contact_sheet
from experts.image.materials import missing_renderer, render_materials
from experts.image.models import MaterialsInput, MaterialsOutput, MaterialVariant


class MaterialImages(Expert):
    """Renders one scene (subject, camera, lights, backdrop) with the subject's material swapped: glass, metal,
    paper. Physically based (Mitsuba 3 on the CPU); each variant comes with its silhouette mask."""

    name = "image-materials"
    domain = "image"

    def unavailable(self, host: Any) -> str | None:
        return missing_renderer()

    @operation("image.materials", cost=0.5, latency_s=90.0, checks=MATERIALS_CHECKS)
    def make_materials(self, inputs: MaterialsInput, ctx: ExpertContext) -> MaterialsOutput:
        """One scene re-rendered per material (glass: dielectric, metal: rough gold, paper: diffuse with a fibre
        texture) with the same camera, geometry and lights, plus each variant's silhouette mask, its IoU and edge
        agreement with the first variant, and a contact sheet. About 25 s per material at 512 px and 64 spp on two
        idle CPU cores; the time grows with width × height × spp."""
        scene = inputs.scene

        def progress(fraction: float, message: str) -> None:
            ctx.raise_if_cancelled()  # between variants: a render itself cannot be interrupted
            ctx.progress(0.95 * fraction, message)

        scene_file = ctx.artifacts.write_text("scene.json", scene.model_dump_json(indent=2))
        rendered = render_materials(scene, inputs.materials, scene_file.parent, progress=progress)
        measured = agreement.measure([(r.material, r.png, r.mask) for r in rendered])
        variants = [MaterialVariant(material=r.material, png=r.png, mask=r.mask, iou=m.iou,
                                    edge_agreement=m.edge_agreement, render_s=round(r.seconds, 2))
                    for r, m in zip(rendered, measured, strict=True)]
        ctx.progress(0.97, "drawing the contact sheet")
        sheet = contact_sheet([(v.png, f"{v.material} · IoU {v.iou:.3f} · edges {v.edge_agreement:.2f}")
                               for v in variants], ctx.artifacts.path("contact-sheet.png"))
        return MaterialsOutput(variants=variants, contact_sheet=sheet, scene=scene_file,
                               assets=scene_file.parent / "assets", width=scene.width, height=scene.height,
                               spp=scene.spp)
