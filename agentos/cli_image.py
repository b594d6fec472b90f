"""`agentos image render`: re-render an edited layer description (layers.json) to PNG and SVG.

The image experts write `layers.json` beside every picture they make offline; editing it (a text,
a colour, a box) and running this command gives the new picture. Skia is imported inside the
command, so `agentos --help` stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from agentos.errors import UserError

if TYPE_CHECKING:
    from experts.image.layers import LayerDoc

image_app = typer.Typer(help="Image layer files. Example: agentos image render layers.json",
                        no_args_is_help=True, rich_markup_mode="rich")
out = Console()


def _load(path: Path) -> LayerDoc:
    from experts.image.layers import LayerDoc

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    try:
        return LayerDoc.model_validate(data)
    except ValidationError as exc:
        problems = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise UserError(f"{path}: not a layer description:\n" + "\n".join(problems)) from None


def _render(path: Path, output: Path | None) -> None:
    from experts.image.layers import TextLayer
    from experts.image.render import render_png, render_svg, text_overflow

    doc = _load(path)
    png = output or path.with_suffix(".png")
    render_png(doc, png, base=path.parent)
    svg = render_svg(doc, png.with_suffix(".svg"), base=path.parent)
    out.print(f"rendered {len(doc.layers)} layer(s), {doc.width}×{doc.height}: {png} and {svg}", highlight=False)
    for layer in doc.layers:
        if isinstance(layer, TextLayer) and (why := text_overflow(layer)):
            out.print(f"[yellow]warning:[/] layer {layer.id!r} overflows its box: {why}", highlight=False)


@image_app.command("render")
def image_render(
    layers: Annotated[Path, typer.Argument(help="a layers.json written by an image expert (or by hand)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="the PNG to write (default: beside "
                                                "the layers file); the SVG goes next to it")] = None,
) -> None:
    """Render a layer description to PNG and SVG; warn about text that overflows its box."""
    from agentos.cli import _friendly

    _friendly(lambda: _render(layers, output))()
