"""The image experts (issue #9): `image-layout` (key visuals, infographics), `image-materials` (one
scene re-rendered in glass, metal and paper with Mitsuba 3), `image-diffusion` (text-to-image,
image-to-image, inpainting from local diffusers weights).

Every offline picture is a layer description (`layers.py`) drawn by one Skia renderer
(`render.py`) to PNG and SVG; `agentos image render layers.json` redraws an edited one.
"""

from experts.image.diffusion_expert import DiffusionImages
from experts.image.expert import LayoutImages
from experts.image.materials_expert import MaterialImages

EXPERTS = [LayoutImages, MaterialImages, DiffusionImages]

__all__ = ["EXPERTS", "DiffusionImages", "LayoutImages", "MaterialImages"]
