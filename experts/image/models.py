"""The image operations' inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, field_validator, model_validator

from experts.image.brief import Arrangement, Axis, KeyVisualBrief, Typeface
from experts.image.materials import MaterialScene, material_problem
from experts.image.palette import Palette, StyleReference


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
    layer_map: Path | None = Field(None, description="the picture with every layer's box and id drawn on it: the "
                                   "key to layers.json")
    contact_sheet: Path | None = Field(None, description="the picture and its layer map side by side")
    width: int
    height: int


# ---- the diffusion expert (image.generate, image.edit, image.inpaint) -------------------------------------------

MAX_SIDE = 2048  # SDXL draws 1024 px; past 2048 a diffusion UNet only repeats itself and runs out of memory


def _multiple_of_8(side: int | None) -> int | None:
    """The VAE of every Stable Diffusion family halves the picture three times: other sizes cannot round-trip."""
    if side is not None and side % 8:
        lower, upper = side - side % 8, side - side % 8 + 8
        raise ValueError(f"{side} is not a multiple of 8 (the VAE works in 8-pixel blocks): use {lower} or {upper}")
    return side


class DiffusionKnobs(BaseModel):
    """What every diffusion operation takes: the prompt, the weights, and the sampler's settings."""

    prompt: str = Field(min_length=1, description="what to draw")
    negative_prompt: str = Field("", description="what to steer away from (empty: none)")
    model: str | None = Field(None, description="the weights: a diffusers pipeline folder (absolute, or relative "
                              "to the working directory) or a Hugging Face repo id already in the local cache; "
                              "default $AGENTOS_DIFFUSION_MODEL")
    steps: int = Field(30, ge=1, le=200, description="denoising steps (image.edit runs steps × strength of them)")
    guidance: float = Field(7.5, ge=0.0, le=30.0, description="classifier-free guidance scale; ≤ 1 turns it off")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="image k of a call uses seed + k: same seed, same pixels")
    count: int = Field(1, ge=1, le=8, description="how many images")


class GenerateInput(DiffusionKnobs):
    width: int = Field(512, ge=32, le=MAX_SIDE, description="pixels, a multiple of 8 (SD 1.x: 512, SDXL: 1024)")
    height: int = Field(512, ge=32, le=MAX_SIDE, description="pixels, a multiple of 8")

    @field_validator("width", "height")
    @classmethod
    def _side(cls, side: int | None) -> int | None:
        return _multiple_of_8(side)


class _FromImage(DiffusionKnobs):
    image: Path = Field(description="the picture to start from (PNG, JPEG, WebP)")
    width: int | None = Field(None, ge=32, le=MAX_SIDE, description="resize to this width first (a multiple of 8; "
                              "default: the image's own, rounded down to a multiple of 8)")
    height: int | None = Field(None, ge=32, le=MAX_SIDE, description="resize to this height first, as for width")

    strength: float = Field(0.6, gt=0.0, le=1.0)

    @field_validator("width", "height")
    @classmethod
    def _side(cls, side: int | None) -> int | None:
        return _multiple_of_8(side)

    @model_validator(mode="after")
    def _runs_a_step(self) -> Self:
        """Image-to-image skips the first (1 - strength) of the schedule; it must leave at least one step."""
        if int(self.steps * self.strength) < 1:
            raise ValueError(f"steps × strength = {self.steps} × {self.strength} runs no denoising step: "
                             "raise steps or strength")
        return self


class EditInput(_FromImage):
    strength: float = Field(0.6, gt=0.0, le=1.0, description="how far to move from the image: 0.3 keeps its "
                            "layout, 1.0 draws anew")


class InpaintInput(_FromImage):
    mask: Path = Field(description="a picture the size of `image` (resized if not): white = repaint, black = keep")
    strength: float = Field(1.0, gt=0.0, le=1.0, description="how far to move inside the mask: 1.0 draws it anew")


class GeneratedOutput(BaseModel):
    images: list[Path] = Field(description="the PNGs, in seed order (each holds its prompt and settings)")
    model: str = Field(description="the pipeline folder the weights were loaded from")
    pipeline: str = Field(description="the diffusers pipeline class that ran (StableDiffusionXLPipeline, ...)")
    width: int
    height: int
    seeds: list[int] = Field(description="the seed of each image")
    steps: int = Field(description="denoising steps actually run per image")
    device: str = Field(description="cuda or cpu")
    dtype: str = Field(description="float16 on a GPU, float32 on the CPU unless $AGENTOS_DIFFUSION_DTYPE says")
    seconds: float = Field(description="wall time of the pipeline call (not the loading)")
    steps_per_s: float = Field(description="denoising steps per second, between the first and the last step")
    safety_flagged: list[bool] = Field(default_factory=list, description="per image, whether the pipeline's safety "
                                       "checker blanked it (empty when the pipeline has none)")


# ---- key visuals (image.keyvisual) ------------------------------------------------------------------------------

class KeyVisualInput(BaseModel):
    """A first turn gives `brief`; a later turn gives `previous` (the brief.json an earlier turn wrote) and
    `edits`, which change only what they name."""

    model_config = {"extra": "forbid"}

    brief: KeyVisualBrief | None = None
    previous: Path | None = Field(None, description="brief.json of an earlier image.keyvisual node, to revise")
    edits: list[str] = Field(default_factory=list, description='instructions such as "make the headline bigger" '
                             'or "use the second palette"')
    variants: int = Field(3, ge=0, le=8, description="how many variants besides the draft")
    axes: list[Axis] = Field(default_factory=lambda: ["layout", "palette", "typography"], min_length=1,
                             description="what the variants change, taken in turn; each changes one")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.brief is None) == (self.previous is None):
            raise ValueError("give either `brief` (a first draft) or `previous` (a brief.json to revise), not both")
        return self


class KeyVisualPicture(BaseModel):
    label: str = Field(description="draft, or what the variant changed")
    png: Path
    svg: Path
    layers: Path = Field(description="layers.json: edit it and run `agentos image render` to change the picture")
    layout: Arrangement
    palette: str = Field(description="the palette's name")
    typeface: Typeface
    axis: Axis | None = Field(None, description="the axis a variant changes (none for the draft)")


class KeyVisualOutput(BaseModel):
    draft: KeyVisualPicture
    variants: list[KeyVisualPicture]
    brief: Path = Field(description="brief.json: the brief as this turn left it; pass it as `previous` to revise")
    changes: list[str] = Field(default_factory=list, description="what this turn's edits changed (field: old → new)")
    palettes: list[Palette] = Field(description="the palettes the brief offers, in order (palette 1 first)")
    reference: StyleReference | None = Field(None, description="what the style reference image gave")
    contact_sheet: Path = Field(description="the draft and its variants side by side")
    width: int
    height: int


class MaterialsInput(BaseModel):
    scene: MaterialScene = Field(default_factory=MaterialScene, description="subject, camera, lights, backdrop, "
                                 "size and samples: the same for every material")
    materials: list[str] = Field(default_factory=lambda: ["glass", "metal", "paper"], min_length=1,
                                 description="materials to render, in order (known: glass, metal, paper); the "
                                 "first is the reference the others are measured against")

    @field_validator("materials")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        if why := material_problem(names):
            raise ValueError(why)
        return names


class MaterialVariant(BaseModel):
    material: str
    png: Path
    mask: Path = Field(description="the subject's silhouette from the renderer's geometry, white on black")
    iou: float = Field(ge=0, le=1, description="silhouette IoU with the first variant's mask")
    edge_agreement: float = Field(ge=0, le=1, description="share of the first variant's outline along which this "
                                  "picture has an edge")
    render_s: float = Field(ge=0, description="seconds the render and its mask took")


class MaterialsOutput(BaseModel):
    variants: list[MaterialVariant]
    contact_sheet: Path = Field(description="the variants side by side, each with its material and IoU")
    scene: Path = Field(description="scene.json: the MaterialScene every variant was rendered from")
    assets: Path = Field(description="the generated inputs the scene reads: vase mesh, backdrop, environment, "
                         "paper texture")
    width: int
    height: int
    spp: int
