"""One scene rendered with Mitsuba 3 (CPU, `scalar_rgb`) once per material: glass, metal, paper.

A `MaterialScene` is the whole picture as data: a subject standing on a ground plane in front of a
patterned back wall (so glass has something to refract and metal something to reflect), a camera,
an environment and an area light. `scene_dict(scene, material, assets)` is the one place the
Mitsuba scene is built, and only the subject's BSDF depends on the material, so every variant keeps
the composition by construction. Each variant's silhouette mask comes from that variant's own loaded
scene: a primary ray through every pixel centre, marked where it hits the subject shape.

The generated inputs (the vase mesh, the backdrop pattern, the studio environment, the paper fibre
texture) are written next to the renders, so a scene can be inspected and re-rendered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentos.errors import ExpertError

VARIANT = "scalar_rgb"  # the CPU variant every Mitsuba wheel carries; the LLVM ones need a recent libLLVM
SUBJECT_ID = "subject"  # the shape id the masks look for

Vec3 = tuple[float, float, float]
Progress = Callable[[float, str], None]


def mitsuba() -> Any:
    """The `mitsuba` module with the CPU variant set, or a clear error when it is not installed."""
    try:
        import mitsuba as mi
    except ImportError:
        raise ExpertError("Mitsuba 3 is not installed: pip install 'agentos[image]'") from None
    if mi.variant() != VARIANT:
        mi.set_variant(VARIANT)
    return mi


def _hex(value: str) -> str:
    if len(value) != 7 or value[0] != "#" or any(ch not in "0123456789abcdefABCDEF" for ch in value[1:]):
        raise ValueError(f"{value!r} is not a colour: write #RRGGBB")
    return value.upper()


# ---- the scene as data --------------------------------------------------------------------------------


class Camera(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: Vec3 = (0.0, 1.0, 3.6)
    target: Vec3 = (0.0, 0.55, 0.0)
    up: Vec3 = (0.0, 1.0, 0.0)
    fov: float = Field(30.0, gt=1, lt=170, description="horizontal field of view, degrees")


class AreaLight(BaseModel):
    """A square emitter aimed at `target`: the key light, and the highlight metal and glass show."""

    model_config = ConfigDict(extra="forbid")

    position: Vec3 = (-2.2, 3.2, 2.6)
    target: Vec3 = (0.0, 0.5, 0.0)
    size: float = Field(1.6, gt=0, description="side length, scene units")
    radiance: float = Field(9.0, ge=0)


class Lights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Literal["studio", "constant"] = Field(
        "studio", description="studio: a generated sky gradient with two soft boxes (reflections for metal "
        "and glass to show); constant: one uniform colour all round")
    environment_strength: float = Field(1.0, ge=0)
    area: AreaLight | None = Field(default_factory=AreaLight)


class Backdrop(BaseModel):
    """The ground plane and the back wall, both with the same pattern: what glass refracts."""

    model_config = ConfigDict(extra="forbid")

    pattern: Literal["checker", "stripes", "plain"] = "checker"
    colours: tuple[str, str] = ("#9DB4C8", "#2A3F5F")
    tile: float = Field(0.25, gt=0, description="size of one check or stripe, scene units")
    wall_distance: float = Field(1.5, gt=0, description="how far behind the subject the wall stands")

    _colours = field_validator("colours")(lambda v: tuple(_hex(c) for c in v))


class MaterialScene(BaseModel):
    """Everything but the subject's material: the same for every variant."""

    model_config = ConfigDict(extra="forbid")

    subject: Literal["vase", "sphere", "cube"] = Field(
        "vase", description="a built-in subject: vase (a hollow lathed mesh generated here), sphere or cube")
    mesh: Path | None = Field(None, description="an OBJ or PLY file to render instead of the built-in subject; "
                              "scaled to subject_height and stood on the ground at the origin (paper needs UVs)")
    subject_height: float = Field(1.1, gt=0)
    turn: float = Field(30.0, description="degrees the subject is turned about the vertical axis")
    camera: Camera = Field(default_factory=Camera)
    lights: Lights = Field(default_factory=Lights)
    backdrop: Backdrop = Field(default_factory=Backdrop)
    width: int = Field(512, ge=16, le=4096)
    height: int = Field(512, ge=16, le=4096)
    spp: int = Field(64, ge=1, le=4096, description="samples per pixel")
    max_depth: int = Field(12, ge=2, le=64, description="longest light path; glass needs several bounces")
    seed: int = Field(0, ge=0, description="seeds the sampler and the paper fibre texture")

    @field_validator("mesh")
    @classmethod
    def _mesh_kind(cls, v: Path | None) -> Path | None:
        if v is not None and v.suffix.lower() not in (".obj", ".ply"):
            raise ValueError(f"{v.name}: a mesh must be an .obj or .ply file")
        return v


# ---- materials ----------------------------------------------------------------------------------------


def _glass(scene: MaterialScene, assets: Path) -> dict[str, Any]:
    return {"type": "dielectric", "int_ior": 1.5, "ext_ior": 1.0}


def _metal(scene: MaterialScene, assets: Path) -> dict[str, Any]:
    return {"type": "roughconductor", "material": "Au", "distribution": "ggx", "alpha": 0.15}


def _paper(scene: MaterialScene, assets: Path) -> dict[str, Any]:
    texture = paper_texture(scene.seed, assets / f"paper-fibres-{scene.seed}.png")
    return {"type": "diffuse", "reflectance": {"type": "bitmap", "filename": str(texture),
                                               "wrap_mode": "repeat"}}


MATERIALS: dict[str, Callable[[MaterialScene, Path], dict[str, Any]]] = {
    "glass": _glass,  # smooth dielectric, index 1.5: refracts the backdrop
    "metal": _metal,  # rough gold (GGX, alpha 0.15): blurred reflections of the studio and the floor
    "paper": _paper,  # diffuse, its reflectance a generated fibre texture
}


def material_problem(names: list[str]) -> str:
    """What is wrong with a list of material names ("" when each is known and none repeats)."""
    unknown = [n for n in names if n not in MATERIALS]
    if unknown:
        return f"unknown material(s) {', '.join(map(repr, unknown))}; known: {', '.join(MATERIALS)}"
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"material(s) {', '.join(map(repr, repeated))} given more than once"
    return ""


def check_materials(names: list[str]) -> list[str]:
    """`names`, or an `ExpertError` naming the unknown or repeated ones (and the known ones)."""
    if why := material_problem(names):
        raise ExpertError(why)
    return names


def paper_texture(seed: int, out: Path, size: int = 1024) -> Path:
    """A cream paper reflectance: soft mottling plus a few thousand short, thin, slightly darker or lighter
    fibres at random angles. The same seed gives the same pixels."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 1.0, (size // 32, size // 32))
    mottle = np.asarray(Image.fromarray(coarse.astype(np.float32), mode="F")
                        .resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64)
    base = np.array([0.90, 0.86, 0.77]) * (1.0 + 0.035 * mottle[..., None])
    base *= 1.0 + 0.025 * rng.normal(0.0, 1.0, (size, size, 1))  # grain
    img = Image.fromarray((np.clip(base, 0, 1) * 255).round().astype(np.uint8), mode="RGB")
    fibres = Image.new("L", (size, size), 128)
    draw = ImageDraw.Draw(fibres)
    for _ in range(size * 3):
        x, y = rng.uniform(0, size, 2)
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(0.02, 0.09) * size
        bend = rng.normal(0, 0.25)
        pts = [(x + t * length * math.cos(angle + bend * t), y + t * length * math.sin(angle + bend * t))
               for t in np.linspace(-0.5, 0.5, 6)]
        shade = int(128 + rng.choice([-1, 1]) * rng.uniform(25, 60))
        draw.line(pts, fill=shade, width=int(rng.integers(1, 3)))
    fibres = fibres.filter(ImageFilter.GaussianBlur(0.7))
    tone = (np.asarray(fibres, dtype=np.float64) - 128) / 128 * 0.35  # ±35 % brightness at a fibre's core
    paper = np.asarray(img, dtype=np.float64) * (1.0 + tone[..., None])
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(paper, 0, 255).round().astype(np.uint8), mode="RGB").save(out)
    return out


# ---- generated assets ---------------------------------------------------------------------------------


def _vase_profile(samples: int = 96) -> list[np.ndarray]:
    """The vase's cross-section (radius, height) for a height of 1, as smooth runs joined at sharp corners:
    the foot, the outer wall over the rim down the inner wall, the inner floor. It starts and ends on the
    axis, so revolving it gives a closed (watertight) solid, as glass needs."""
    wall, floor = 0.03, 0.08

    def outer(y: np.ndarray) -> np.ndarray:
        return 0.17 + 0.20 * np.exp(-((y - 0.32) / 0.22) ** 2) + 0.07 * np.clip((y - 0.78) / 0.22, 0, None) ** 2

    up = np.linspace(0.0, 1.0, samples)
    down = np.linspace(1.0, floor, samples)
    r_top = float(outer(np.array(1.0)))
    rim = np.linspace(0, math.pi, 12)[1:-1]
    rim_pts = np.stack([r_top - wall / 2 + wall / 2 * np.cos(rim), 1.0 + wall / 2 * np.sin(rim)], axis=1)
    r0, r_floor = float(outer(np.array(0.0))), float(outer(np.array(floor))) - wall
    foot = np.stack([np.linspace(0, r0, 12), np.zeros(12)], axis=1)
    side = np.concatenate([np.stack([outer(up), up], axis=1), rim_pts,
                           np.stack([outer(down) - wall, down], axis=1)])
    inner_floor = np.stack([np.linspace(r_floor, 0, 12), np.full(12, floor)], axis=1)
    return [foot, side, inner_floor]


def lathe(runs: list[np.ndarray], segments: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Revolve a profile about the y axis: (positions, normals, uvs, triangles). Normals come from the
    profile, so the seam (duplicated for the texture's u) and the rim shade smoothly."""
    total = sum(float(np.linalg.norm(np.diff(r, axis=0), axis=1).sum()) for r in runs)
    theta = np.linspace(0, 2 * math.pi, segments + 1)
    cos, sin = np.cos(theta), np.sin(theta)
    positions, normals, uvs, faces = [], [], [], []
    start, walked = 0, 0.0
    for run in runs:
        d = np.gradient(run, axis=0)
        n2 = np.stack([d[:, 1], -d[:, 0]], axis=1)  # the profile runs outward-up, so this points out of the solid
        n2 /= np.linalg.norm(n2, axis=1, keepdims=True)
        arc = walked + np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(run, axis=0), axis=1))])
        walked = float(arc[-1])
        for (r, y), (nr, ny), s in zip(run, n2, arc, strict=True):
            positions += [np.stack([r * cos, np.full_like(cos, y), r * sin], axis=1)]
            normals += [np.stack([nr * cos, np.full_like(cos, ny), nr * sin], axis=1)]
            uvs += [np.stack([theta / (2 * math.pi), np.full_like(cos, min(s / total, 1.0))], axis=1)]
        rows, cols = len(run), segments + 1
        for i in range(rows - 1):
            for j in range(segments):
                a, b = start + i * cols + j, start + i * cols + j + 1
                c, e = a + cols, b + cols
                faces += [(a, e, b), (a, c, e)]
        start += rows * cols
    p, n, uv, f = (np.concatenate(positions), np.concatenate(normals), np.concatenate(uvs),
                   np.array(faces, dtype=np.int32))
    area = np.linalg.norm(np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]), axis=1)
    f = f[area > 1e-12]  # the quads at the axis are triangles
    face_n = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    if float(np.einsum("ij,ij->", face_n, n[f[:, 0]])) < 0:  # wind the faces the way the normals point
        f = f[:, ::-1].copy()
    return p, n, uv, f


def write_ply(path: Path, positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray, faces: np.ndarray) -> Path:
    """A binary little-endian PLY with per-vertex normals and texture coordinates."""
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(positions)}\n"
              + "".join(f"property float {k}\n" for k in ("x", "y", "z", "nx", "ny", "nz", "u", "v"))
              + f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    vertices = np.concatenate([positions, normals, uvs], axis=1).astype("<f4")
    tris = np.zeros(len(faces), dtype=[("n", "u1"), ("i", "<i4", 3)])
    tris["n"], tris["i"] = 3, faces
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode("ascii") + vertices.tobytes() + tris.tobytes())
    return path


def _vase_mesh(assets: Path) -> Path:
    path = assets / "vase.ply"
    if not path.exists():
        write_ply(path, *lathe(_vase_profile()))
    return path


def _backdrop_texture(backdrop: Backdrop, assets: Path) -> Path:
    """The pattern's repeating unit, one pixel per tile (drawn with nearest filtering, so edges stay crisp); a
    stripe's unit is one row, so it repeats along u only."""
    a, b = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8) for c in backdrop.colours)
    unit = {"checker": [[a, b], [b, a]], "stripes": [[a, b]], "plain": [[a]]}[backdrop.pattern]
    path = assets / f"backdrop-{backdrop.pattern}-{backdrop.colours[0][1:]}-{backdrop.colours[1][1:]}.png"
    Image.fromarray(np.array(unit, dtype=np.uint8), mode="RGB").save(path)
    return path


def _studio_environment(strength: float, assets: Path) -> Path:
    """A lat-long studio: a bright zenith fading to the horizon, a dark floor, and two soft boxes."""
    mi = mitsuba()
    w, h = 512, 256
    v = (np.arange(h) + 0.5) / h  # 0 at the zenith
    u = (np.arange(w) + 0.5) / w
    elevation = (0.5 - v) * math.pi
    sky = np.where(elevation > 0, 0.18 + 0.32 * np.sin(elevation), 0.04)[:, None] * np.ones((1, w))
    for centre_u, centre_e, width_u, height_e in ((0.30, 0.45, 0.07, 0.35), (0.72, 0.30, 0.05, 0.25)):
        box = ((np.abs(u - centre_u) < width_u)[None, :] & (np.abs(elevation - centre_e) < height_e)[:, None])
        sky = np.where(box, 5.0, sky)
    rgb = (sky[..., None] * np.array([1.0, 0.98, 0.95]) * strength).astype(np.float32)
    path = assets / f"studio-{strength:g}.exr"
    mi.Bitmap(rgb).write(str(path))
    return path


# ---- the Mitsuba scene --------------------------------------------------------------------------------


def _subject_shape(scene: MaterialScene, assets: Path) -> dict[str, Any]:
    mi = mitsuba()
    t = mi.ScalarTransform4f
    h = scene.subject_height
    turn = t().rotate([0, 1, 0], scene.turn)
    if scene.mesh is not None:
        if not scene.mesh.is_file():
            raise ExpertError(f"mesh {scene.mesh}: no such file")
        kind = scene.mesh.suffix.lower()[1:]
        try:
            box = mi.load_dict({"type": kind, "filename": str(scene.mesh)}).bbox()
        except RuntimeError as exc:
            raise ExpertError(f"mesh {scene.mesh}: Mitsuba cannot read it ({str(exc).splitlines()[0]})") from None
        lo, hi = np.array(box.min), np.array(box.max)
        if hi[1] - lo[1] <= 0:
            raise ExpertError(f"mesh {scene.mesh}: it is flat (no height to scale to {h})")
        fit = turn @ t().scale(h / float(hi[1] - lo[1])) @ t().translate(
            [-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
        return {"type": kind, "filename": str(scene.mesh), "to_world": fit}
    if scene.subject == "vase":
        return {"type": "ply", "filename": str(_vase_mesh(assets)), "to_world": turn @ t().scale(h)}
    if scene.subject == "sphere":
        return {"type": "sphere", "to_world": t().translate([0, h / 2, 0]) @ turn @ t().scale(h / 2)}
    return {"type": "cube", "to_world": t().translate([0, h / 2, 0]) @ turn @ t().scale(h / 2)}


def scene_dict(scene: MaterialScene, material: str, assets: Path) -> dict[str, Any]:
    """The Mitsuba scene for one variant. Everything but `subject.bsdf` is built from `scene` alone, so the
    variants share camera, geometry and lights; `assets` holds the generated files the scene reads."""
    mi = mitsuba()
    check_materials([material])
    assets.mkdir(parents=True, exist_ok=True)
    t = mi.ScalarTransform4f
    cam, back = scene.camera, scene.backdrop
    span = 8.0  # the ground and the wall are 8 × 8 units: wider than any sensible frame
    pattern = {"type": "bitmap", "filename": str(_backdrop_texture(back, assets)), "filter_type": "nearest",
               "wrap_mode": "repeat", "to_uv": mi.ScalarTransform3f().scale(span / back.tile / 2)}
    lights = scene.lights
    if lights.environment == "studio":
        environment = {"type": "envmap", "filename": str(_studio_environment(lights.environment_strength, assets))}
    else:
        environment = {"type": "constant", "radiance": {"type": "rgb", "value": 0.5 * lights.environment_strength}}
    d: dict[str, Any] = {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": scene.max_depth},
        "sensor": {
            "type": "perspective", "fov": cam.fov,
            "to_world": t().look_at(origin=list(cam.origin), target=list(cam.target), up=list(cam.up)),
            "film": {"type": "hdrfilm", "width": scene.width, "height": scene.height, "pixel_format": "rgb"},
            "sampler": {"type": "independent", "sample_count": scene.spp},
        },
        "environment": environment,
        "ground": {"type": "rectangle", "to_world": t().rotate([1, 0, 0], -90) @ t().scale(span / 2),
                   "bsdf": {"type": "diffuse", "reflectance": pattern}},
        "wall": {"type": "rectangle",
                 "to_world": t().translate([0, span / 2 - 1, -back.wall_distance]) @ t().scale(span / 2),
                 "bsdf": {"type": "diffuse", "reflectance": pattern}},
        SUBJECT_ID: {**_subject_shape(scene, assets), "bsdf": MATERIALS[material](scene, assets)},
    }
    if lights.area is not None:
        a = lights.area
        d["key_light"] = {"type": "rectangle",
                          "to_world": t().look_at(origin=list(a.position), target=list(a.target), up=[0, 1, 0])
                          @ t().scale(a.size / 2),
                          "emitter": {"type": "area", "radiance": {"type": "rgb", "value": a.radiance}}}
    return d


# ---- rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One variant on disk: the beauty image, the subject's silhouette, how long the render took."""

    material: str
    png: Path
    mask: Path
    seconds: float


def _load(d: dict[str, Any]) -> Any:
    try:
        return mitsuba().load_dict(d)
    except RuntimeError as exc:
        raise ExpertError(f"Mitsuba cannot build the scene: {str(exc).splitlines()[0]}") from None


def silhouette(loaded: Any, width: int, height: int) -> np.ndarray:
    """Where the subject is: a primary ray through each pixel centre of the loaded scene's camera, True where
    it first hits the subject. Read from the renderer's geometry, so it holds for glass as for paper."""
    mi = mitsuba()
    sensor = loaded.sensors()[0]
    mask = np.zeros((height, width), dtype=bool)
    aperture = mi.Point2f(0.5, 0.5)
    for y in range(height):
        for x in range(width):
            ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f((x + 0.5) / width, (y + 0.5) / height), aperture)
            si = loaded.ray_intersect(ray)
            mask[y, x] = bool(si.is_valid()) and si.shape.id() == SUBJECT_ID
    return mask


def render_variant(scene: MaterialScene, material: str, out_dir: Path, assets: Path | None = None) -> Rendered:
    """Render `material` into `<out_dir>/<material>.png` and its silhouette into `<material>-mask.png`."""
    mi = mitsuba()
    assets = assets or out_dir / "assets"
    started = time.perf_counter()
    loaded = _load(scene_dict(scene, material, assets))
    image = mi.render(loaded, seed=scene.seed, spp=scene.spp)
    srgb = mi.Bitmap(image).convert(mi.Bitmap.PixelFormat.RGB, mi.Struct.Type.UInt8, srgb_gamma=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{material}.png"
    Image.fromarray(np.array(srgb), mode="RGB").save(png)
    mask = out_dir / f"{material}-mask.png"
    Image.fromarray(silhouette(loaded, scene.width, scene.height).astype(np.uint8) * 255, mode="L").save(mask)
    return Rendered(material=material, png=png, mask=mask, seconds=time.perf_counter() - started)


def render_materials(scene: MaterialScene, materials: list[str], out_dir: Path,
                     progress: Progress | None = None) -> list[Rendered]:
    """Render the scene once per material, in the order given; `progress(fraction, message)` before each."""
    check_materials(materials)
    done = []
    for i, material in enumerate(materials):
        if progress:
            progress(i / len(materials), f"rendering {material} ({i + 1}/{len(materials)}, "
                     f"{scene.width}×{scene.height}, {scene.spp} spp)")
        done.append(render_variant(scene, material, out_dir))
    if progress:
        progress(1.0, f"rendered {len(materials)} variant(s)")
    return done


@cache
def missing_renderer() -> str | None:
    """Why material renders cannot run here, or None when Mitsuba and its CPU variant load."""
    try:
        mitsuba()
    except ExpertError as exc:
        return str(exc)
    except Exception as exc:  # a wheel without the CPU variant, a broken install
        return f"Mitsuba 3 is installed but cannot start its {VARIANT} variant: {exc}"
    return None
