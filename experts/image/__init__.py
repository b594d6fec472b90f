"""The image experts (issue #9). So far: `image-layout`, infographics from a spec table as editable layers.

Every offline picture is a layer description (`layers.py`) drawn by one Skia renderer
(`render.py`) to PNG and SVG; `agentos image render layers.json` redraws an edited one.
"""

from experts.image.expert import LayoutImages

EXPERTS = [LayoutImages]

__all__ = ["EXPERTS", "LayoutImages"]
