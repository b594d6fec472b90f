"""One turn of a key-visual conversation: the brief (new, or the previous one edited), its palettes,
the draft and its variants, written as files.

Edits are read by `brief.read_edit` when they are in one of its forms; any other instruction is
asked of the host model (when a chat model is configured) for a `BriefEdit`, and with no host it is
an error that lists the forms understood, so nothing is silently ignored.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentos.errors import ExpertError
from agentos.sdk import ExpertContext, no_chat_host
from experts.image.brief import EDIT_FORMS, BriefEdit, KeyVisualBrief, apply, read_edit
from experts.image.contact_sheet import contact_sheet
from experts.image.keyvisual import Setting, solve, variants
from experts.image.layers import LayerDoc
from experts.image.models import KeyVisualInput, KeyVisualOutput, KeyVisualPicture
from experts.image.palette import DEFAULT_PALETTES, Palette, StyleReference, extract, given, palettes_from
from experts.image.render import render_png, render_svg

EDIT_SYSTEM = ("You turn one instruction about a key visual into a JSON edit of its brief. Give only the fields "
               "the instruction changes. `scale` multiplies an element's size (1.25 = a quarter bigger).")


def offered_palettes(brief: KeyVisualBrief, reference: StyleReference | None) -> list[Palette]:
    """The brief's own palettes, else those of its style reference, else the defaults: palette 1 first."""
    if brief.palettes:
        return [given(f"palette {i}", p) for i, p in enumerate(brief.palettes, 1)]
    return palettes_from(reference) if reference else list(DEFAULT_PALETTES)


async def _host_edit(instruction: str, brief: KeyVisualBrief, host: Any) -> BriefEdit:
    prompt = (f"The brief now: {brief.model_dump_json(exclude={'logo', 'product', 'style_reference'})}\n"
              f"Instruction: {instruction}\nThe edit, as JSON.")
    reply = await host.chat([{"role": "system", "content": EDIT_SYSTEM}, {"role": "user", "content": prompt}],
                            json_schema=BriefEdit.model_json_schema(), schema_name="BriefEdit")
    try:
        return BriefEdit.model_validate(json.loads(reply.text.strip().removeprefix("```json").strip("`")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ExpertError(f"the host's answer to the edit {instruction!r} is not a brief edit: "
                          f"{str(exc).splitlines()[0]}") from None


def _reference(brief: KeyVisualBrief) -> StyleReference | None:
    return extract(brief.style_reference) if brief.style_reference else None


async def revised_brief(inputs: KeyVisualInput, ctx: ExpertContext) -> tuple[KeyVisualBrief, list[str]]:
    """The brief this turn works on, and what its edits changed."""
    if inputs.brief is not None:
        brief = inputs.brief
    else:
        path = Path(inputs.previous)  # type: ignore[arg-type]
        try:
            brief = KeyVisualBrief.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError:
            raise ExpertError(f"previous brief {path} cannot be read") from None
        except ValidationError as exc:
            raise ExpertError(f"{path} is not a key-visual brief: {str(exc).splitlines()[0]}") from None
    changes: list[str] = []
    # an edit can pick a palette but not change the palettes on offer, so they are counted once
    offered = len(offered_palettes(brief, _reference(brief))) if inputs.edits else 0
    for instruction in inputs.edits:
        edit = read_edit(instruction)
        if edit is None:
            if why := no_chat_host(ctx.host):
                forms = "\n  ".join(EDIT_FORMS)
                raise ExpertError(f"the edit {instruction!r} is in none of the forms read without a host model "
                                  f"({why}). The forms:\n  {forms}")
            edit = await _host_edit(instruction, brief, ctx.host)
        brief, lines = apply(brief, edit, offered)
        changes += [f"{instruction}: {line}" for line in lines] or [f"{instruction}: (no change)"]
    return brief, changes


def _write(doc: LayerDoc, folder: str, label: str, setting: Setting, axis: Any, ctx: ExpertContext) -> KeyVisualPicture:
    layers = ctx.artifacts.write_text(f"{folder}/layers.json", doc.model_dump_json(indent=2, exclude_none=True))
    return KeyVisualPicture(label=label, png=render_png(doc, ctx.artifacts.path(f"{folder}/{folder}.png")),
                            svg=render_svg(doc, ctx.artifacts.path(f"{folder}/{folder}.svg")), layers=layers,
                            layout=setting.layout, palette=setting.palette.name, typeface=setting.typeface, axis=axis)


def _make(brief: KeyVisualBrief, changes: list[str], inputs: KeyVisualInput, ctx: ExpertContext) -> KeyVisualOutput:
    reference = _reference(brief)
    palettes = offered_palettes(brief, reference)
    if brief.palette > len(palettes):
        raise ExpertError(f"the brief asks for palette {brief.palette}, but offers {len(palettes)}")
    base = Setting(layout=brief.layout, palette=palettes[brief.palette - 1], typeface=brief.typeface)
    ctx.progress(0.1, f"solving the {base.layout} layout")
    draft = _write(solve(brief, base), "draft", "draft", base, None, ctx)
    ctx.progress(0.3, f"solving {inputs.variants} variant(s)")
    shown = []
    for i, (axis, setting, change, doc) in enumerate(variants(brief, base, palettes, inputs.axes, inputs.variants), 1):
        shown.append(_write(doc, f"variant-{i}", change, setting, axis, ctx))
        ctx.progress(0.3 + 0.6 * i / max(1, inputs.variants), f"variant {i}: {change}")
    sheet = contact_sheet([(p.png, p.label) for p in [draft, *shown]], ctx.artifacts.path("contact-sheet.png"))
    width, height = brief.size()
    return KeyVisualOutput(draft=draft, variants=shown, palettes=palettes, reference=reference, changes=changes,
                           brief=ctx.artifacts.write_text("brief.json", brief.model_dump_json(indent=2)),
                           contact_sheet=sheet, width=width, height=height)


async def key_visual(inputs: KeyVisualInput, ctx: ExpertContext) -> KeyVisualOutput:
    brief, changes = await revised_brief(inputs, ctx)
    return await asyncio.to_thread(_make, brief, changes, inputs, ctx)
