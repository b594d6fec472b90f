"""The image operations' inputs and outputs."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class InfographicInput(BaseModel):
    spec: Path = Field(description="the spec table: CSV or Markdown (field, value[, unit][, max]) or YAML")
    title: str = Field(min_length=1, description="the headline at the top")
    width: int = Field(1024, ge=320, le=4096, description="pixels; the height follows from the number of fields")
    columns: int = Field(2, ge=1, le=6)
    palette: list[str] | None = Field(None, description="six colours: accent, second accent, card, text, "
                                      "background, bar track (default: a blue/red scheme)")
    footnote: str = ""


class ShownValue(BaseModel):
    field: str
    shown: str = Field(description="the value as printed on the picture")


class InfographicOutput(BaseModel):
    png: Path
    svg: Path
    layers: Path = Field(description="layers.json: edit it and run `agentos image render` to change the picture")
    values: list[ShownValue] = Field(description="each spec field and the value the picture prints for it")
    width: int
    height: int
