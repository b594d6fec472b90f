"""image-b: one Mitsuba scene re-rendered per material, and the check that measures the composition kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from agentos.checks import NodeOutcome, Verdict
from agentos.errors import ExpertError
from agentos.events import NodeProgress
from agentos.testing import check_card, run_expert, run_task
from experts.image import agreement
from experts.image.checks import MaterialsAgree
from experts.image.contact_sheet import LABEL_H, PAD
from experts.image.materials import (
    Camera,
    MaterialScene,
    lathe,
    paper_texture,
    render_materials,
    render_variant,
    scene_dict,
    write_ply,
)
from experts.image.materials_expert import MaterialImages
from experts.image.models import MaterialsInput, MaterialsOutput

ROOT = Path(__file__).resolve().parents[1]
IMAGE_B = ROOT / "showcases" / "image" / "image-b.yaml"
SMALL = {"width": 64, "height": 64, "spp": 16, "seed": 3}
PANNED = Camera(origin=(0.15, 1.0, 3.6), target=(0.15, 0.55, 0.0))  # the default camera moved sideways


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[MaterialsOutput, list[NodeProgress]]:
    """The three default materials at 64×64 px, through the operation as the runtime calls it."""
    events: list[NodeProgress] = []
    out = run_expert(MaterialImages(), "image.materials", {"scene": SMALL},
                     run_dir=tmp_path_factory.mktemp("materials"),
                     on_event=lambda e: events.append(e) if isinstance(e, NodeProgress) else None)
    return out, events


def _judge(out: MaterialsOutput, run_dir: Path) -> Verdict:
    return MaterialsAgree()(NodeOutcome(node_id="materials", expert="image-materials", output=out,
                                        output_model=MaterialsOutput, run_dir=run_dir))


def _copied(out: MaterialsOutput, folder: Path, material: str = "", png: Path | None = None,
            mask: Path | None = None) -> MaterialsOutput:
    """A copy of `out` in `folder`, where `material`'s picture (and mask) may be replaced by other files."""
    folder.mkdir(parents=True, exist_ok=True)
    variants = []
    for v in out.variants:
        new_png, new_mask = folder / v.png.name, folder / v.mask.name
        shutil.copy(png if v.material == material and png else v.png, new_png)
        shutil.copy(mask if v.material == material and mask else v.mask, new_mask)
        variants.append(v.model_copy(update={"png": new_png, "mask": new_mask}))
    return out.model_copy(update={"variants": variants})


def test_glass_metal_and_paper_share_one_silhouette_and_differ_in_pixels(rendered, tmp_path):
    out, _ = rendered
    assert [v.material for v in out.variants] == ["glass", "metal", "paper"]
    masks = [agreement.read_mask(v.mask) for v in out.variants]
    assert 0.05 < masks[0].mean() < 0.5  # the vase is in the frame, not the whole of it
    assert all(np.array_equal(masks[0], m) for m in masks[1:])
    assert [v.iou for v in out.variants] == [1.0, 1.0, 1.0]
    assert all(v.edge_agreement >= agreement.MIN_EDGE_AGREEMENT for v in out.variants)
    pixels = [agreement.read_rgb(v.png) for v in out.variants]
    inside = masks[0]
    for i in range(3):
        for j in range(i):  # the subject looks different in each material; the frame is the same size
            assert np.abs(pixels[i][inside] - pixels[j][inside]).mean() > 0.05, (i, j)
    verdict = _judge(out, tmp_path)
    assert verdict.passed, verdict.message


def test_the_variants_scene_descriptions_differ_only_in_the_subject_material(tmp_path):
    scene = MaterialScene(**SMALL)
    dicts = {m: scene_dict(scene, m, tmp_path) for m in ("glass", "metal", "paper")}
    bsdfs = {m: d["subject"].pop("bsdf")["type"] for m, d in dicts.items()}
    assert bsdfs == {"glass": "dielectric", "metal": "roughconductor", "paper": "diffuse"}
    assert dicts["glass"] == dicts["metal"] == dicts["paper"]


def test_the_operation_reports_progress_for_each_variant(rendered):
    _, events = rendered
    messages = [e.message for e in events]
    for i, material in enumerate(["glass", "metal", "paper"]):
        assert any(m.startswith(f"rendering {material} ({i + 1}/3") for m in messages), messages
    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0


def test_the_check_fails_a_variant_from_a_moved_camera_and_names_it(rendered, tmp_path):
    out, _ = rendered
    scene = MaterialScene(**SMALL, camera=PANNED)
    moved = render_variant(scene, "metal", tmp_path / "moved")
    verdict = _judge(_copied(out, tmp_path, "metal", moved.png, moved.mask), tmp_path)
    assert not verdict.passed
    assert "metal: silhouette IoU 0." in verdict.message and "with glass" in verdict.message
    assert "glass:" not in verdict.message and "paper:" not in verdict.message


@pytest.mark.slow
def test_the_check_fails_a_picture_of_another_subject_delivered_with_the_right_mask(tmp_path):
    """At 256 px the edge measure can tell (below ~200 px the default checks lie near every pixel)."""
    scene = MaterialScene(width=256, height=256, spp=16)
    glass, metal = render_materials(scene, ["glass", "metal"], tmp_path / "vase")
    sphere = render_variant(scene.model_copy(update={"subject": "sphere"}), "metal", tmp_path / "sphere")
    measured = agreement.measure([("glass", glass.png, glass.mask), ("metal", metal.png, metal.mask),
                                  ("sphere", sphere.png, glass.mask)])
    assert [round(m.iou, 3) for m in measured] == [1.0, 1.0, 1.0]
    assert measured[1].edge_agreement >= agreement.MIN_EDGE_AGREEMENT > measured[2].edge_agreement
    out = MaterialsOutput(
        variants=[{"material": "glass", "png": glass.png, "mask": glass.mask, "iou": 1.0,
                   "edge_agreement": measured[0].edge_agreement, "render_s": 1.0},
                  {"material": "metal", "png": sphere.png, "mask": metal.mask, "iou": 1.0,
                   "edge_agreement": measured[2].edge_agreement, "render_s": 1.0}],
        contact_sheet=glass.png, scene=glass.png, assets=tmp_path, width=256, height=256, spp=16)
    verdict = _judge(out, tmp_path)
    assert not verdict.passed
    assert verdict.message.startswith("metal: only ")
    assert "of glass's outline is an edge in metal.png" in verdict.message


def test_the_check_fails_a_variant_identical_to_another(rendered, tmp_path):
    out, _ = rendered
    glass = out.variants[0]
    verdict = _judge(_copied(out, tmp_path, "paper", glass.png), tmp_path)
    assert not verdict.passed
    assert "paper: pixel-identical to glass: the material did not change" in verdict.message


def test_the_check_fails_a_missing_mask_and_numbers_that_do_not_match_the_files(rendered, tmp_path):
    out, _ = rendered
    copy = _copied(out, tmp_path / "lost")
    copy.variants[2].mask.unlink()
    verdict = _judge(copy, tmp_path)
    assert not verdict.passed and "paper: paper-mask.png is missing" in verdict.message
    copy = _copied(out, tmp_path / "misreported")
    copy.variants[1].iou = 0.5
    verdict = _judge(copy, tmp_path)
    assert not verdict.passed
    assert "metal: reports IoU 0.500 and edges" in verdict.message and "measures 1.000" in verdict.message


def test_an_unknown_material_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ValidationError, match=r"unknown material\(s\) 'wood'; known: glass, metal, paper"):
        MaterialsInput(materials=["glass", "wood"])
    with pytest.raises(ValidationError, match=r"'glass' given more than once"):
        MaterialsInput(materials=["glass", "metal", "glass"])
    with pytest.raises(ExpertError, match=r"unknown material\(s\) 'chrome', 'wood'; known: glass, metal, paper"):
        render_materials(MaterialScene(**SMALL), ["chrome", "wood"], tmp_path)
    assert not list(tmp_path.iterdir())  # refused before anything is rendered


def test_the_paper_texture_is_the_same_for_a_seed_and_changes_with_it(tmp_path):
    first = paper_texture(5, tmp_path / "a.png", size=256).read_bytes()
    assert paper_texture(5, tmp_path / "b.png", size=256).read_bytes() == first
    assert paper_texture(6, tmp_path / "c.png", size=256).read_bytes() != first
    with Image.open(tmp_path / "a.png") as im:
        tone = np.asarray(im.convert("L"), dtype=np.float64)
    assert 150 < tone.mean() < 240 and tone.std() > 5  # light paper, with fibres and mottling on it


def test_a_user_mesh_stands_where_the_built_in_subject_would(tmp_path):
    """An OBJ of a unit cube placed anywhere, at any size, is scaled to the subject height and stood on the
    ground, so its silhouette is the built-in cube's."""
    corners = [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    obj = tmp_path / "box.obj"
    obj.write_text("".join(f"v {5 + 3 * x} {-2 + 3 * y} {7 + 3 * z}\n" for x, y, z in corners)
                   + "".join(f"f {a} {b} {c}\nf {a} {c} {d}\n" for a, b, c, d in quads))
    low = {"width": 64, "height": 64, "spp": 1}
    mesh = render_variant(MaterialScene(**low, mesh=obj), "metal", tmp_path / "mesh")
    cube = render_variant(MaterialScene(**low, subject="cube"), "metal", tmp_path / "cube")
    assert agreement.iou(agreement.read_mask(mesh.mask), agreement.read_mask(cube.mask)) > 0.97


def test_a_lathed_mesh_faces_outward_and_writes_as_ply(tmp_path):
    circle = np.stack([np.sin(t := np.linspace(0, np.pi, 33)), -np.cos(t)], axis=1)  # a unit sphere's profile
    p, n, uv, f = lathe([circle], segments=32)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0) and np.allclose((p * n).sum(axis=1), 1.0, atol=0.02)
    face_n = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    assert ((face_n * p[f].mean(axis=1)).sum(axis=1) > 0).all()  # every face winds outward
    assert uv.min() >= 0 and uv.max() <= 1
    ply = write_ply(tmp_path / "ball.ply", p, n, uv, f)
    assert ply.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\nelement vertex 1089\n")


def test_the_contact_sheet_shows_each_variant_over_its_label(rendered):
    out, _ = rendered
    with Image.open(out.contact_sheet) as sheet:
        sheet = sheet.convert("RGB")
    assert sheet.size == (PAD + 3 * (64 + PAD), PAD + 64 + LABEL_H + PAD)
    for i, v in enumerate(out.variants):
        x = PAD + i * (64 + PAD)
        with Image.open(v.png) as im:
            assert np.array_equal(np.asarray(sheet.crop((x, PAD, x + 64, PAD + 64))), np.asarray(im.convert("RGB")))
        label = np.asarray(sheet.crop((x, PAD + 64, x + 64 + PAD, PAD + 64 + LABEL_H)).convert("L"))
        assert (label < 128).any(), f"no label under {v.material}"


def test_the_expert_is_available_and_its_card_is_complete():
    expert = MaterialImages()
    assert expert.unavailable(None) is None
    card = check_card(expert)
    assert [op.capability for op in card.operations] == ["image.materials"]
    assert [c.name for c in card.operations[0].checks] == ["image.materials"]


def test_image_b_runs_and_passes_its_check(tmp_path):
    """The showcase as written, made small with --set (at 512 px it takes about 75 s)."""
    r = run_task(IMAGE_B, [MaterialImages], tmp_path=tmp_path,
                 overrides=[f"graph.materials.inputs.scene.{k}={v}" for k, v in SMALL.items()])
    out = MaterialsOutput.model_validate(r.output("materials"))
    assert [v.material for v in out.variants] == ["glass", "metal", "paper"]
    assert any(v.check == "image.materials" and v.passed for v in r.nodes["materials"].verdicts)
