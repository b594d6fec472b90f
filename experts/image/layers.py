"""The editable layer description every offline image backend writes, and renders from.

A `LayerDoc` is the whole picture as data: its size, background and palette, and a list of
layers (rectangles, ellipses, lines, arcs, text boxes, placed images), each with its bounds, z-order and,
where it shows a value, the data field it is bound to. The renderer draws exactly this document,
so a user can edit `layers.json` (move a box, change a headline, recolour a bar) and re-render it
with `agentos image render layers.json`, and the checks can read every text and colour from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def hex_colour(value: str) -> str:
    """`value` as #RRGGBB(AA) in capitals; a ValueError naming it when it is not a colour."""
    if not _HEX.match(value):
        raise ValueError(f"{value!r} is not a colour: write #RRGGBB or #RRGGBBAA")
    return value.upper()


class Box(BaseModel):
    """Where a layer sits, in pixels from the top-left corner."""

    x: float
    y: float
    width: float = Field(gt=0)
    height: float = Field(gt=0)

    def contains(self, other: Box, slack: float = 0.5) -> bool:
        return (other.x >= self.x - slack and other.y >= self.y - slack
                and other.x + other.width <= self.x + self.width + slack
                and other.y + other.height <= self.y + self.height + slack)


class _Layer(BaseModel):
    id: str = Field(min_length=1, description="unique in the document: what edits and checks refer to")
    box: Box
    z: int = Field(0, description="drawing order: higher is on top; ties keep list order")
    binding: str | None = Field(None, description="the data field this layer shows (spec.battery_hours)")
    role: str = Field("", description="what the layer is for: headline, logo, bar, label, ...")


class RectLayer(_Layer):
    type: Literal["rect"] = "rect"
    fill: str | None = "#000000"
    stroke: str | None = None
    stroke_width: float = Field(0, ge=0)
    radius: float = Field(0, ge=0)

    _fill = field_validator("fill", "stroke")(lambda v: v if v is None else hex_colour(v))


class EllipseLayer(_Layer):
    type: Literal["ellipse"] = "ellipse"
    fill: str | None = "#000000"
    stroke: str | None = None
    stroke_width: float = Field(0, ge=0)

    _fill = field_validator("fill", "stroke")(lambda v: v if v is None else hex_colour(v))


class LineLayer(_Layer):
    """A line from the box's top-left corner to its bottom-right one (a zero side makes it straight)."""

    type: Literal["line"] = "line"
    box: Box = Field(description="the line's bounding box; width or height may be tiny for a straight line")
    stroke: str = "#000000"
    stroke_width: float = Field(2, gt=0)

    _stroke = field_validator("stroke")(hex_colour)


class ArcLayer(_Layer):
    """An arc of the ellipse in the box, stroked with round ends: a gauge's track and its value."""

    type: Literal["arc"] = "arc"
    start: float = Field(-90, description="degrees, clockwise from 3 o'clock (-90: 12 o'clock)")
    sweep: float = Field(360, ge=-360, le=360, description="degrees, clockwise when positive")
    stroke: str = "#000000"
    stroke_width: float = Field(8, gt=0)

    _stroke = field_validator("stroke")(hex_colour)


class TextLayer(_Layer):
    type: Literal["text"] = "text"
    text: str
    font: str = Field("DejaVu Sans", description="a font family installed on the machine")
    size: float = Field(24, gt=0, description="font size in pixels")
    bold: bool = False
    colour: str = "#000000"
    align: Literal["left", "centre", "right"] = "left"

    _colour = field_validator("colour")(hex_colour)


class ImageLayer(_Layer):
    type: Literal["image"] = "image"
    path: Path = Field(description="a PNG or JPEG file, scaled into the box keeping its aspect ratio")


Layer = Annotated[RectLayer | EllipseLayer | LineLayer | ArcLayer | TextLayer | ImageLayer, Field(discriminator="type")]


class LayerDoc(BaseModel):
    """A picture as layers; `layers.json` is this model's JSON."""

    width: int = Field(gt=0, le=8192)
    height: int = Field(gt=0, le=8192)
    background: str = "#FFFFFF"
    palette: list[str] = Field(default_factory=list, description="the colours the picture may use (checked)")
    layers: list[Layer] = Field(default_factory=list)

    _background = field_validator("background")(hex_colour)

    @field_validator("palette")
    @classmethod
    def _palette(cls, values: list[str]) -> list[str]:
        return [hex_colour(v) for v in values]

    @field_validator("layers")
    @classmethod
    def _unique_ids(cls, layers: list[Layer]) -> list[Layer]:
        seen: set[str] = set()
        for layer in layers:
            if layer.id in seen:
                raise ValueError(f"two layers have the id {layer.id!r}; ids must be unique")
            seen.add(layer.id)
        return layers

    def ordered(self) -> list[Layer]:
        """The layers in drawing order (z, then list order)."""
        return [layer for _, layer in sorted(enumerate(self.layers), key=lambda p: (p[1].z, p[0]))]

    def layer(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)
