"""A key-visual brief: the copy, the pictures, the colours and the limits a layout must respect.

The brief is the state of a multi-turn conversation about one key visual: the first turn gives it
whole; each later turn names the previous turn's `brief.json` and a few edits ("make the headline
bigger", "use the second palette"), which change only what they name, so the draft is revised,
not redone. Edits in the forms `EDIT_FORMS` lists are read here, exactly; others go to the host
model when one is configured, which answers with the same structured `BriefEdit`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from agentos.errors import ExpertError
from experts.image.layers import hex_colour

Arrangement = Literal["text-left", "text-right", "text-top", "centred"]
Typeface = Literal["sans", "serif", "mono"]
Axis = Literal["layout", "palette", "typography"]
CopyRole = Literal["headline", "subline", "body", "cta"]
ARRANGEMENTS: tuple[Arrangement, ...] = ("text-left", "text-right", "text-top", "centred")
TYPEFACES: tuple[Typeface, ...] = ("sans", "serif", "mono")
COPY_ROLES: tuple[CopyRole, ...] = ("headline", "subline", "body", "cta")


class Zone(BaseModel):
    """A part of the canvas nothing but the background may enter (a platform's overlay, a sticker's
    place), in fractions of the canvas so it stays put when the size changes."""

    name: str = Field(min_length=1)
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _inside(self) -> Zone:
        if self.x + self.width > 1.0001 or self.y + self.height > 1.0001:
            raise ValueError(f"zone {self.name!r} reaches past the canvas (x + width and y + height must be ≤ 1)")
        return self


class MinFont(BaseModel):
    """The smallest font size, in pixels, each kind of copy may be set in."""

    headline: float = Field(40, gt=0)
    subline: float = Field(22, gt=0)
    body: float = Field(16, gt=0)
    cta: float = Field(18, gt=0)


class KeyVisualBrief(BaseModel):
    """Everything a key visual is made from. Paths are resolved by the task file (relative to it)."""

    model_config = {"extra": "forbid"}

    headline: str = Field(min_length=1)
    subline: str = ""
    body: str = ""
    cta: str = Field("", description="the call to action, set on a button")
    logo: Path | None = Field(None, description="PNG/JPEG, placed in a corner inside the safe margin")
    product: Path | None = Field(None, description="PNG/JPEG (transparency kept), the picture's subject")
    style_reference: Path | None = Field(None, description="an image whose colours and contrast the palettes "
                                         "are taken from")
    palettes: list[list[str]] = Field(default_factory=list, description="palettes of your own, each "
                                      "[background, ink, accent] (+ surface); take precedence over the reference")
    palette: int = Field(1, ge=1, description="which palette to use, from 1")
    aspect: str = Field("16:9", description="width:height, e.g. 16:9, 1:1, 4:5, 9:16")
    long_side: int = Field(1024, ge=256, le=4096, description="pixels along the longer side")
    safe_margin: float = Field(0.05, ge=0, le=0.25, description="kept clear at every edge, a fraction of "
                               "the shorter side")
    min_font: MinFont = Field(default_factory=MinFont)
    forbidden: list[Zone] = Field(default_factory=list)
    layout: Arrangement = "text-left"
    typeface: Typeface = "sans"
    scale: dict[str, float] = Field(default_factory=dict, description="size multipliers by element "
                                    "(headline, subline, body, cta, logo, product); 1 when absent")

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*:\s*\d+(\.\d+)?\s*", value) or any(
                float(p) == 0 for p in value.split(":")):
            raise ValueError(f"aspect {value!r} is not width:height (write 16:9, 1:1, 4:5)")
        return value.replace(" ", "")

    @field_validator("palettes")
    @classmethod
    def _palettes(cls, values: list[list[str]]) -> list[list[str]]:
        for i, p in enumerate(values, 1):
            if not 3 <= len(p) <= 4:
                raise ValueError(f"palette {i} has {len(p)} colour(s); give [background, ink, accent] (+ surface)")
        return [[hex_colour(c) for c in p] for p in values]

    @field_validator("scale")
    @classmethod
    def _scale(cls, values: dict[str, float]) -> dict[str, float]:
        known = {*COPY_ROLES, "logo", "product"}
        for key, factor in values.items():
            if key not in known:
                raise ValueError(f"scale has {key!r}; known elements: {', '.join(sorted(known))}")
            if not 0.2 <= factor <= 5:
                raise ValueError(f"scale {key}: {factor} is outside 0.2..5")
        return values

    def size(self) -> tuple[int, int]:
        w, h = (float(p) for p in self.aspect.split(":"))
        if w >= h:
            return self.long_side, round(self.long_side * h / w)
        return round(self.long_side * w / h), self.long_side

    def copy_blocks(self) -> list[tuple[CopyRole, str]]:
        return [(role, getattr(self, role)) for role in COPY_ROLES if getattr(self, role)]


class BriefEdit(BaseModel):
    """One turn's change to a brief: only the fields given change (what the host model answers with too)."""

    model_config = {"extra": "forbid"}

    headline: str | None = None
    subline: str | None = None
    body: str | None = None
    cta: str | None = None
    palette: int | None = Field(None, ge=1)
    aspect: str | None = None
    layout: Arrangement | None = None
    typeface: Typeface | None = None
    scale: dict[str, float] | None = Field(None, description="multiplies the element's current scale")


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2, "3rd": 3,
             "4th": 4, "5th": 5, "last": -1}
_BIGGER = {"bigger": 1.25, "larger": 1.25, "much bigger": 1.5, "smaller": 0.8, "much smaller": 0.65}
_ELEMENT = r"(headline|subline|body|body copy|call to action|cta|button|logo|product)"
_ALIASES = {"body copy": "body", "call to action": "cta", "button": "cta"}

EDIT_FORMS = [
    "make the <headline|subline|body|cta|logo|product> [much] bigger|smaller",
    "use the <first|second|third|N-th|last> palette",
    "put the text on the left|right|top, or: centre the text",
    "use a serif|sans|mono typeface",
    "change the <headline|subline|body|cta> to \"new text\"",
    "make it <W:H> (16:9, 1:1, 4:5, 9:16)",
]


def read_edit(instruction: str) -> BriefEdit | None:
    """The edit an instruction in one of the `EDIT_FORMS` asks for, or None when it is in none of them."""
    text = instruction.strip().rstrip(".!").strip()
    low = text.lower()
    if m := re.fullmatch(rf"(?:make|set) the {_ELEMENT} (much bigger|much smaller|bigger|larger|smaller)", low):
        element = _ALIASES.get(m[1], m[1])
        return BriefEdit(scale={element: _BIGGER[m[2]]})
    if m := re.fullmatch(r"(?:use|switch to|try) the (\w+) palette", low):
        if m[1] in _ORDINALS:
            return BriefEdit(palette=_ORDINALS[m[1]] if _ORDINALS[m[1]] > 0 else 999)
        if m[1].isdigit() and int(m[1]) > 0:
            return BriefEdit(palette=int(m[1]))
    if m := re.fullmatch(r"(?:use|switch to|try) palette (\d+)", low):
        return BriefEdit(palette=int(m[1]))
    if m := re.fullmatch(r"(?:put|move|place) the (?:text|copy) (?:on|to|at) the (left|right|top)", low):
        return BriefEdit(layout=f"text-{m[1]}")
    if low in ("centre the text", "center the text", "centre the copy", "center the copy"):
        return BriefEdit(layout="centred")
    if m := re.fullmatch(r"(?:use|switch to|try) a (serif|sans|sans-serif|mono|monospace) (?:typeface|font)", low):
        return BriefEdit(typeface={"sans-serif": "sans", "monospace": "mono"}.get(m[1], m[1]))
    if m := re.fullmatch(rf"(?:change|set|make) the {_ELEMENT} (?:to|read) [\"“'](.+)[\"”']", text, re.IGNORECASE):
        element = _ALIASES.get(m[1].lower(), m[1].lower())
        if element in COPY_ROLES:
            return BriefEdit(**{element: m[2]})
    if m := re.fullmatch(r"(?:make it|use an? aspect(?: ratio)? of|make the (?:picture|image) ) ?(\d+:\d+)", low):
        return BriefEdit(aspect=m[1])
    return None


def apply(brief: KeyVisualBrief, edit: BriefEdit, palettes: int) -> tuple[KeyVisualBrief, list[str]]:
    """The brief with `edit` applied, and one line per field changed ("headline scale: 1 → 1.25").
    `palettes` is how many palettes the brief has, so "the last palette" and a number too high are known."""
    changes: dict[str, object] = {}
    lines: list[str] = []
    for key, value in edit.model_dump(exclude_none=True).items():
        if key == "scale":
            scale = dict(brief.scale)
            for element, factor in value.items():
                before = scale.get(element, 1.0)
                scale[element] = round(before * factor, 4)
                lines.append(f"{element} scale: {before:g} → {scale[element]:g}")
            changes["scale"] = scale
            continue
        if key == "palette":
            value = palettes if value == 999 else value
            if value > palettes:
                raise ExpertError(f"the brief has {palettes} palette(s); there is no palette {value}")
        before = getattr(brief, key)
        if before != value:
            lines.append(f"{key}: {before} → {value}")
        changes[key] = value
    try:
        return KeyVisualBrief.model_validate({**brief.model_dump(), **changes}), lines
    except ValueError as exc:
        raise ExpertError(f"the edit does not make a valid brief: {exc}") from None
