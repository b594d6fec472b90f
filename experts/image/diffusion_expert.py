"""The diffusion image expert: text-to-image, image-to-image and inpainting on one set of local weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentos.sdk import Expert, ExpertContext, operation
from experts.image import diffusion
from experts.image.diffusion_checks import DIFFUSION_CHECKS
from experts.image.models import EditInput, GeneratedOutput, GenerateInput, InpaintInput


class DiffusionImages(Expert):
    """Draws pictures with a diffusers pipeline (Stable Diffusion 1.x/2.x, SDXL, ...) from local weights: from a
    prompt, from a picture and a prompt, or inside a mask. Slow on a CPU (minutes at 512 px), seconds on a GPU."""

    name = "image-diffusion"
    domain = "image"

    def unavailable(self, host: Any) -> str | None:
        """Unavailable only where no input can help: torch or diffusers are not installed.

        Missing weights do not make it unavailable: a node may name its own `model:` even when
        $AGENTOS_DIFFUSION_MODEL is unset, and this hook sees the host, not the node. With no weights
        anywhere the operation fails instead, with a message naming the folder it looked for and how to
        get one, which says more than "left out of routing" would.
        """
        return diffusion.missing_libraries()

    @operation("image.generate", cost=1.0, latency_s=20.0, checks=DIFFUSION_CHECKS)
    def generate(self, inputs: GenerateInput, ctx: ExpertContext) -> GeneratedOutput:
        """Pictures from a prompt (text-to-image), `count` of them, seed + k for picture k: the same seed
        gives the same pixels. Size a multiple of 8 (SD 1.x draws best at 512, SDXL at 1024)."""
        return self._draw(inputs, ctx)

    @operation("image.edit", cost=1.0, latency_s=15.0, checks=DIFFUSION_CHECKS)
    def edit(self, inputs: EditInput, ctx: ExpertContext) -> GeneratedOutput:
        """A picture redrawn from a prompt (image-to-image): `strength` 0.3 keeps its layout, 1.0 draws anew."""
        return self._draw(inputs, ctx)

    @operation("image.inpaint", cost=1.0, latency_s=20.0, checks=DIFFUSION_CHECKS)
    def inpaint(self, inputs: InpaintInput, ctx: ExpertContext) -> GeneratedOutput:
        """A picture with the white part of `mask` redrawn from a prompt, the black part kept."""
        return self._draw(inputs, ctx)

    def _draw(self, inputs: GenerateInput | EditInput | InpaintInput, ctx: ExpertContext) -> GeneratedOutput:
        """Runs in the SDK's worker thread (the operations are plain functions), so the loop stays free."""

        def loading(folder: Path) -> None:
            ctx.progress(0.0, f"loading {folder.name}")

        loaded = diffusion.load(inputs.model, on_load=loading)
        if loaded.lock.locked():
            ctx.progress(0.0, "waiting: another node is drawing with these weights")
        pictures = diffusion.draw(loaded, inputs, on_step=lambda i, n: ctx.progress(i / n, f"step {i}/{n}"),
                                  cancelled=lambda: ctx.cancelled)
        ctx.raise_if_cancelled()
        images = [ctx.artifacts.write_bytes(f"image-{k}.png", diffusion.png_bytes(im, inputs, seed, pictures.steps,
                                                                                 loaded.source))
                  for k, (im, seed) in enumerate(zip(pictures.images, pictures.seeds, strict=True))]
        return GeneratedOutput(images=images, model=str(loaded.source), pipeline=pictures.pipeline,
                               width=pictures.width, height=pictures.height, seeds=pictures.seeds,
                               steps=pictures.steps, device=loaded.device, dtype=loaded.dtype,
                               seconds=pictures.seconds, steps_per_s=pictures.steps_per_s,
                               safety_flagged=pictures.safety_flagged)

