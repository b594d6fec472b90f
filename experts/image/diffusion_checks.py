"""The check of a diffusion picture: it re-opens every PNG and looks at the pixels, not at the expert's word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageStat

from agentos.checks import NodeOutcome, OutputCheck
from experts.image.models import GeneratedOutput

MIN_STDDEV = 2.0  # on 0..255: below it a picture is one flat colour (film grain alone is ~3)


def image_problem(path: Path, size: tuple[int, int]) -> str:
    """What is wrong with one delivered picture, or "" when it opens, has `size` and shows something."""
    if not path.is_file():
        return f"{path.name}: missing"
    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except OSError as exc:
        return f"{path.name}: does not open as a picture ({exc})"
    if rgb.size != size:
        return f"{path.name}: {rgb.size[0]}×{rgb.size[1]}, not the {size[0]}×{size[1]} asked for"
    stat = ImageStat.Stat(rgb)
    if max(hi for _, hi in stat.extrema) == 0:
        return (f"{path.name}: all black: NaN pixels (float16 overflow in the VAE; try "
                "$AGENTOS_DIFFUSION_DTYPE=float32 or an fp16-safe VAE) or blanked by the safety checker")
    if max(stat.stddev) < MIN_STDDEV:
        mean = ", ".join(f"{m:.0f}" for m in stat.mean)
        return f"{path.name}: one flat colour (RGB {mean}, std dev {max(stat.stddev):.2f} < {MIN_STDDEV})"
    return ""


class PicturesShowSomething(OutputCheck):
    """Every picture exists, opens, has the size asked for and is neither one flat colour nor all black."""

    name = "image.generated"
    what = "picture(s) open at the size asked for and show something"
    kind = GeneratedOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        if not out.images:
            return 1, ["no pictures delivered"]
        paths = [p if p.is_absolute() else outcome.run_dir / p for p in map(Path, out.images)]
        problems = [why for p in paths if (why := image_problem(p, (out.width, out.height)))]
        return len(paths), problems


DIFFUSION_CHECKS = [PicturesShowSomething()]
