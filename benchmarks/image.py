"""Image backends: render time per picture at 1024 px, layout-solver time against the number of
elements, and diffusers steps/s where weights exist locally.

    python benchmarks/image.py                 # table + benchmarks/results/image.json (about 5 minutes)
    python benchmarks/image.py --quick         # fewer repeats, Mitsuba at 256 px and 16 spp: a smoke run

Render rows, side by side in one run: the layout backend (a key visual 1024×576 and an infographic
1024 px wide, Skia PNG and SVG), and beside them the floor any raster backend pays, encoding a
1024×576 PNG of the same picture (Skia's encoder, nothing drawn); the material backend (Mitsuba 3,
CPU, one variant of the image-b scene at 1024×1024 and the showcase's samples per pixel); and the
diffusers backend: with $AGENTOS_DIFFUSION_MODEL set, the real pipeline at its native size, else
the tiny random pipeline the tests build (its steps/s measure the pipeline's overhead, not a model).

Solver rows: the key-visual solver with 0 to 32 forbidden zones scattered over the product's side
(each an obstacle the copy, the logo and the product must avoid) and the infographic builder with
6 to 96 fields, each against the Skia render of its result (the cost a user pays anyway). For the
key visual, the product area the solver's obstacle splitting finds is set against the largest an
exhaustive search over every rectangle on an 8-px grid finds (the baseline, and its time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_util import machine, package_version
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experts.image.brief import KeyVisualBrief, Zone  # noqa: E402
from experts.image.infographic import build  # noqa: E402
from experts.image.keyvisual import Setting, regions, safe_area, solve, zone_boxes  # noqa: E402
from experts.image.layers import LayerDoc  # noqa: E402
from experts.image.palette import extract, palettes_from  # noqa: E402
from experts.image.render import render_png, render_svg  # noqa: E402
from experts.image.spec import SpecField  # noqa: E402

ASSETS = ROOT / "showcases" / "image" / "assets"
console = Console(width=150)


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and min of `repeats` calls, in milliseconds, after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return {"median_ms": statistics.median(runs), "min_ms": min(runs), "repeats": repeats}


def _brief(zones: int = 0) -> KeyVisualBrief:
    """The image-a brief with `zones` small forbidden zones scattered (seeded) over the product's side."""
    rnd = random.Random(zones)
    placed = [Zone(name=f"z{i}", x=rnd.uniform(0.58, 0.92), y=rnd.uniform(0.06, 0.9), width=0.03, height=0.05)
              for i in range(zones)]
    return KeyVisualBrief(headline="Light that follows your day", subline="Thirty hours of warm light on one charge",
                          cta="Pre-order now", logo=ASSETS / "logo.png", product=ASSETS / "product.png",
                          style_reference=ASSETS / "style-reference.png", forbidden=placed)


def exhaustive_product(brief: KeyVisualBrief, setting: Setting, doc: LayerDoc, step: float = 8.0) -> float:
    """The baseline for the solver's product placement: every rectangle on a `step`-px grid of the product's
    region that touches no obstacle, searched exhaustively; the largest product area (px²) any of them shows."""
    from PIL import Image

    with Image.open(brief.product) as im:
        iw, ih = im.size
    _, region = regions(setting.layout, safe_area(brief))
    obstacles = list(zone_boxes(brief).values()) + [la.box for la in doc.layers if la.role not in
                                                    ("product", "decor", "logo")]
    xs = np.arange(region.x, region.x + region.width + 0.01, step)
    ys = np.arange(region.y, region.y + region.height + 0.01, step)
    x0, x1 = np.meshgrid(xs, xs, indexing="ij")
    y0, y1 = np.meshgrid(ys, ys, indexing="ij")
    xp = (x0 < x1)
    yp = (y0 < y1)
    best = 0.0
    for a, b in zip(x0[xp], x1[xp], strict=True):  # one column span at a time, every row span at once
        ok = np.ones(yp.sum(), dtype=bool)
        ya, yb = y0[yp], y1[yp]
        for o in obstacles:
            if a < o.x + o.width and o.x < b:
                ok &= ~((ya < o.y + o.height) & (o.y < yb))
        if ok.any():
            k = np.minimum((b - a) / iw, (yb[ok] - ya[ok]) / ih)
            best = max(best, float((k * k * iw * ih).max()))
    return best


def _fields(n: int) -> list[SpecField]:
    return [SpecField(name=f"Field {i}", kind="number", text=str(10 + i), value=10 + i, unit="h", max=200)
            if i % 3 else SpecField(name=f"Field {i}", kind="category", text=f"Kind {i}") for i in range(n)]


def layout_rows(tmp: Path, repeats: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import skia

    brief = _brief()
    setting = Setting(layout="text-left", palette=palettes_from(extract(brief.style_reference))[0], typeface="sans")
    kv = solve(brief, setting)
    info = build(_fields(6), "Aurora 14 at a glance", width=1024)
    blank = skia.Surface(kv.width, kv.height)
    with blank as canvas:
        canvas.clear(skia.ColorWHITE)
    snapshot = blank.makeImageSnapshot()
    render = {
        f"layout: key visual PNG {kv.width}×{kv.height}": timed(lambda: render_png(kv, tmp / "kv.png"), repeats),
        f"layout: key visual SVG {kv.width}×{kv.height}": timed(lambda: render_svg(kv, tmp / "kv.svg"), repeats),
        f"layout: infographic PNG {info.width}×{info.height}": timed(lambda: render_png(info, tmp / "i.png"), repeats),
        f"floor: PNG encode only {kv.width}×{kv.height}": timed(lambda: snapshot.save(str(tmp / "blank.png"),
                                                                                      skia.kPNG), repeats),
    }
    solver = []
    for zones in (0, 2, 4, 8, 16, 32):
        b = _brief(zones)
        doc = solve(b, setting)
        product = doc.layer("product").box
        t = time.perf_counter()
        best = exhaustive_product(b, setting, doc)
        solver.append({"backend": "key visual", "elements": len(b.copy_blocks()) + 2 + zones, "zones": zones,
                       "layers": len(doc.layers), "solve": timed(lambda b=b: solve(b, setting), repeats),
                       "render": timed(lambda doc=doc: render_png(doc, tmp / "s.png"), repeats),
                       "product_px2": product.width * product.height, "exhaustive_product_px2": best,
                       "exhaustive_ms": (time.perf_counter() - t) * 1000})
    for n in (6, 12, 24, 48, 96):
        fields = _fields(n)
        doc = build(fields, "Spec", width=1024, columns=3)
        solver.append({"backend": "infographic", "elements": n, "layers": len(doc.layers),
                       "solve": timed(lambda f=fields: build(f, "Spec", width=1024, columns=3), repeats),
                       "render": timed(lambda doc=doc: render_png(doc, tmp / "s.png"), repeats)})
    return render, solver


def material_rows(tmp: Path, quick: bool) -> dict[str, dict[str, float]]:
    """Seconds per variant of the image-b scene (render + silhouette mask) at 1024² and 64 spp (quick: 256², 16)."""
    from experts.image.materials import MaterialScene, missing_renderer, render_variant

    if why := missing_renderer():
        return {"skipped": {"why": why}}  # type: ignore[dict-item]
    size, spp = (256, 16) if quick else (1024, 64)
    scene = MaterialScene(width=size, height=size, spp=spp, seed=7)
    rows = {}
    for material in ("glass", "metal", "paper"):
        console.print(f"  mitsuba: {material} at {size}² px, {spp} spp")
        took = render_variant(scene, material, tmp / "materials").seconds
        rows[f"materials: {material} {size}×{size}, {spp} spp"] = {"median_ms": took * 1000, "min_ms": took * 1000,
                                                                  "repeats": 1}
    return rows


def diffusion_rows(tmp: Path, quick: bool) -> dict[str, Any]:
    """Steps/s of the real pipeline at $AGENTOS_DIFFUSION_MODEL (512 px; SDXL: 1024 px), else of the tiny
    random pipeline at 64 and 128 px, labelled as such."""
    from experts.image import diffusion
    from experts.image.tiny_diffusion import build_tiny_pipeline

    if why := diffusion.missing_libraries():
        return {"skipped": why}
    if real := os.environ.get(diffusion.MODEL_ENV):
        folder = diffusion.resolve_weights(real)
        index = json.loads((folder / "model_index.json").read_text())
        size = 1024 if "XL" in index.get("_class_name", "") else 512
        steps = 4 if quick else 20
        t = time.perf_counter()
        sps = diffusion.steps_per_second(folder, size=size, steps=steps)
        return {"weights": str(folder), "pipeline": index.get("_class_name"), "device": diffusion.pick_device(),
                "rows": [{"size": size, "steps": steps, "steps_per_s": sps, "wall_s": time.perf_counter() - t}]}
    folder = build_tiny_pipeline(tmp / "tiny-sd")
    rows = []
    for size in (64, 128):
        t = time.perf_counter()
        rows.append({"size": size, "steps": 10, "steps_per_s": diffusion.steps_per_second(folder, size=size, steps=10),
                     "wall_s": time.perf_counter() - t})
    return {"weights": "tiny random pipeline (no real weights here): the pipeline's overhead, not a model's speed",
            "device": diffusion.pick_device(), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller Mitsuba render")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "image.json")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        console.print("layout backend: rendering and solving")
        render, solver = layout_rows(tmp, repeats)
        console.print("material backend (Mitsuba 3, CPU): one render per material")
        render.update(material_rows(tmp, args.quick))
        console.print("diffusion backend: steps/s")
        diffusion = diffusion_rows(tmp, args.quick)
    table = Table(title="Render time per picture (median of repeats, ms)")
    for c in ("backend / picture", "median ms", "min ms"):
        table.add_column(c, justify="left" if c.startswith("backend") else "right")
    for name, r in render.items():
        if "why" in r:
            table.add_row(f"materials: {r['why']}", "", "")
            continue
        table.add_row(name, f"{r['median_ms']:.1f}", f"{r['min_ms']:.1f}")
    console.print(table)
    st = Table(title="Layout solver against the number of elements (median ms)")
    for c in ("backend", "elements", "layers", "solve ms", "render PNG ms", "product area vs 8-px exhaustive",
              "exhaustive ms"):
        st.add_column(c, justify="left" if c == "backend" else "right")
    for row in solver:
        share = (f"{row['product_px2'] / row['exhaustive_product_px2']:.3f}" if row.get("exhaustive_product_px2")
                 else "")
        st.add_row(row["backend"], str(row["elements"]), str(row["layers"]), f"{row['solve']['median_ms']:.2f}",
                   f"{row['render']['median_ms']:.1f}", share,
                   f"{row['exhaustive_ms']:.0f}" if "exhaustive_ms" in row else "")
    console.print(st)
    dt = Table(title=f"Diffusion steps/s on {diffusion.get('device', '-')}: {diffusion.get('weights', '')}")
    for c in ("size px", "steps", "steps/s", "wall s (with warm-up)"):
        dt.add_column(c, justify="right")
    for row in diffusion.get("rows", []):
        dt.add_row(str(row["size"]), str(row["steps"]), f"{row['steps_per_s']:.2f}", f"{row['wall_s']:.1f}")
    console.print(dt if diffusion.get("rows") else f"diffusion: {diffusion.get('skipped')}")
    report = {"machine": machine(), "skia": package_version("skia-python"), "diffusers": package_version("diffusers"),
              "render": render, "solver": solver, "diffusion": diffusion}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
