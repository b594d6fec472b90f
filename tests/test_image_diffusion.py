"""image.generate / image.edit / image.inpaint: a tiny random Stable Diffusion pipeline, written with
`save_pretrained` into a temporary folder and loaded the way a user's weights are. Its pictures are noise
(the weights are random), so the tests pin down the plumbing: sizes, seeds, steps, progress, errors, checks."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from pydantic import ValidationError

import agentos
from agentos import Registry
from agentos.checks import NodeOutcome
from agentos.errors import ExpertError
from agentos.events import NodeProgress
from agentos.sdk import ExpertContext
from experts.image import diffusion
from experts.image.diffusion_checks import PicturesShowSomething
from experts.image.diffusion_expert import DiffusionImages
from experts.image.expert import LayoutImages
from experts.image.models import EditInput, GeneratedOutput, GenerateInput, InpaintInput, KeyVisualOutput
from experts.image.palette import extract
from experts.image.tiny_diffusion import build_tiny_pipeline

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = build_tiny_pipeline(tmp_path_factory.mktemp("diffusion") / "tiny-sd")
    yield folder
    diffusion.clear_cache()


@pytest.fixture(autouse=True)
def _on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pixel-exact comparisons are float32 on the CPU, also on a machine with a GPU."""
    monkeypatch.setenv(diffusion.DEVICE_ENV, "cpu")
    monkeypatch.delenv(diffusion.DTYPE_ENV, raising=False)


def _draw(inputs: GenerateInput | EditInput | InpaintInput, tmp_path: Path, node: str = "n",
          ) -> tuple[GeneratedOutput, list[NodeProgress]]:
    """Run the expert's operation as the runtime does, with a real context that collects the events."""
    events: list[object] = []
    ctx = ExpertContext(run_id="r", node_id=node, run_dir=tmp_path, emit=events.append, expert_name="image-diffusion")
    op = diffusion.kind_of(inputs)
    out = asyncio.run(DiffusionImages().run(f"image.{op}", inputs, ctx))
    assert isinstance(out, GeneratedOutput)
    return out, [e for e in events if isinstance(e, NodeProgress)]


def _pixels(path: Path) -> bytes:
    with Image.open(path) as im:
        return im.convert("RGB").tobytes()


def _picture(path: Path, size: tuple[int, int] = (64, 64)) -> Path:
    """A gradient with a square: something for image.edit and image.inpaint to start from."""
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im.paste((200, 40, 40), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    im.save(path)
    return path


def _outcome(out: GeneratedOutput, tmp_path: Path) -> NodeOutcome:
    return NodeOutcome(node_id="n", expert="image-diffusion", output=out, output_model=GeneratedOutput,
                       run_dir=tmp_path)


def test_generate_draws_the_size_asked_for_and_the_same_seed_gives_the_same_pixels(weights, tmp_path):
    ask = GenerateInput(prompt="a red fox", model=str(weights), width=64, height=32, steps=3, seed=7)
    first, _ = _draw(ask, tmp_path, "a")
    again, _ = _draw(ask, tmp_path, "b")
    (a,), (b,) = first.images, again.images
    with Image.open(a) as im:
        assert im.size == (64, 32)
    assert _pixels(a) == _pixels(b)
    assert (first.pipeline, first.model, first.steps, first.seeds, first.device, first.dtype) == (
        "StableDiffusionPipeline", str(weights.resolve()), 3, [7], "cpu", "float32")
    with Image.open(a) as im:
        assert "Seed: 7" in im.text["parameters"] and im.text["parameters"].startswith("a red fox")


def test_a_different_seed_draws_different_pixels(weights, tmp_path):
    seven, _ = _draw(GenerateInput(prompt="a red fox", model=str(weights), width=32, height=32, steps=2, seed=7),
                     tmp_path, "a")
    eight, _ = _draw(GenerateInput(prompt="a red fox", model=str(weights), width=32, height=32, steps=2, seed=8),
                     tmp_path, "b")
    assert _pixels(seven.images[0]) != _pixels(eight.images[0])


def test_count_draws_one_picture_per_seed_from_seed_upwards(weights, tmp_path):
    two, _ = _draw(GenerateInput(prompt="a red fox", model=str(weights), width=32, height=32, steps=2, seed=3,
                                 count=2), tmp_path, "a")
    assert two.seeds == [3, 4] and len(two.images) == 2
    assert _pixels(two.images[0]) != _pixels(two.images[1])


def test_progress_reports_one_event_per_step(weights, tmp_path):
    _, events = _draw(GenerateInput(prompt="a red fox", model=str(weights), width=32, height=32, steps=3), tmp_path)
    steps = [(e.fraction, e.message) for e in events if e.message.startswith("step")]
    assert steps == [(pytest.approx(1 / 3), "step 1/3"), (pytest.approx(2 / 3), "step 2/3"), (1.0, "step 3/3")]


def test_cancelling_a_node_stops_the_pipeline_at_the_next_step(weights, tmp_path):
    steps: list[str] = []

    def emit(event: object) -> None:
        if isinstance(event, NodeProgress) and event.message.startswith("step"):
            steps.append(event.message)
            ctx.cancel()  # as the runtime does on a timeout or Ctrl-C

    ctx = ExpertContext(run_id="r", node_id="n", run_dir=tmp_path, emit=emit)
    inputs = GenerateInput(prompt="a red fox", model=str(weights), width=32, height=32, steps=5)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(DiffusionImages().run("image.generate", inputs, ctx))
    assert steps == ["step 1/5"]
    assert not (tmp_path / "artifacts" / "n").exists()  # nothing half-drawn is delivered


def test_edit_runs_from_the_same_weights_and_counts_the_steps_strength_leaves(weights, tmp_path):
    diffusion.load(str(weights))  # loaded once for text-to-image ...
    picture = _picture(tmp_path / "in.png", (48, 40))
    out, events = _draw(EditInput(prompt="a red fox", model=str(weights), image=picture, strength=0.5, steps=4),
                        tmp_path)
    assert out.pipeline == "StableDiffusionImg2ImgPipeline" and out.steps == 2
    assert not [e for e in events if e.message.startswith("loading")]  # ... and not again for image-to-image
    assert [e.message for e in events if e.message.startswith("step")] == ["step 1/2", "step 2/2"]
    with Image.open(out.images[0]) as im:
        assert im.size == (48, 40) == (out.width, out.height)


def test_inpaint_redraws_the_white_of_the_mask_and_keeps_the_black(weights, tmp_path):
    picture = _picture(tmp_path / "in.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (32, 0, 64, 64))  # the right half
    mask.save(tmp_path / "mask.png")
    out, _ = _draw(InpaintInput(prompt="a red fox", model=str(weights), image=picture, mask=tmp_path / "mask.png",
                                steps=2), tmp_path)
    assert out.pipeline == "StableDiffusionInpaintPipeline"
    with Image.open(out.images[0]) as drawn, Image.open(picture) as original:
        drawn, original = drawn.convert("RGB"), original.convert("RGB")
        assert ImageChops.difference(drawn.crop((0, 0, 32, 64)), original.crop((0, 0, 32, 64))).getbbox() is None
        assert ImageChops.difference(drawn.crop((32, 0, 64, 64)), original.crop((32, 0, 64, 64))).getbbox()


def test_consecutive_loads_of_one_folder_share_one_pipeline(weights):
    assert diffusion.load(str(weights)) is diffusion.load(str(weights))


def test_a_missing_folder_names_the_path_and_how_to_get_one(tmp_path):
    where = tmp_path / "no-such-weights"
    with pytest.raises(ExpertError) as err:
        diffusion.load(str(where))
    msg = str(err.value)
    assert f"no diffusion pipeline at {where}: the folder does not exist" in msg
    assert "model_index.json" in msg and f"--local-dir {where}" in msg


def test_a_folder_without_model_index_json_names_that_file(tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(ExpertError, match=r"is not a diffusers pipeline: it has no model_index\.json"):
        diffusion.load(str(tmp_path))


def test_a_component_in_model_index_json_but_not_on_disk_is_named(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [None, None]}))
    (tmp_path / "vae").mkdir()
    with pytest.raises(ExpertError, match=r"model_index\.json lists unet but the folder has no unet/"):
        diffusion.load(str(tmp_path))


def test_a_repo_id_is_looked_up_in_the_local_cache_only(weights, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # so "tiny/sd" is not a folder either
    with pytest.raises(ExpertError, match=r"'tiny/sd' is neither a folder nor in the local Hugging Face cache"):
        diffusion.resolve_weights("tiny/sd")
    repo = tmp_path / "models--tiny--sd"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots").mkdir()
    os.symlink(weights, repo / "snapshots" / commit)
    assert diffusion.resolve_weights("tiny/sd") == weights.resolve()


def test_no_model_configured_says_how_to_configure_one(monkeypatch):
    monkeypatch.delenv(diffusion.MODEL_ENV, raising=False)
    with pytest.raises(ExpertError, match=r"no diffusion weights configured: pass `model:` .* set "
                                          r"\$AGENTOS_DIFFUSION_MODEL"):
        diffusion.resolve_weights(None)


def test_the_model_comes_from_the_environment_when_the_node_names_none(weights, tmp_path, monkeypatch):
    monkeypatch.setenv(diffusion.MODEL_ENV, str(weights))
    out, _ = _draw(GenerateInput(prompt="a red fox", width=32, height=32, steps=1), tmp_path)
    assert out.model == str(weights.resolve())


def test_without_weights_configured_the_expert_stays_available(monkeypatch):
    """A node can still name its own `model:`; only missing libraries make the expert unavailable."""
    monkeypatch.delenv(diffusion.MODEL_ENV, raising=False)
    assert DiffusionImages().unavailable(None) is None
    assert diffusion.missing_libraries() is None


def test_a_size_not_a_multiple_of_8_is_rejected_with_sizes_that_work():
    with pytest.raises(ValidationError, match=r"width\n.*100 is not a multiple of 8 .*: use 96 or 104"):
        GenerateInput(prompt="a red fox", width=100)
    with pytest.raises(ValidationError, match=r"height\n.*36 is not a multiple of 8"):
        EditInput(prompt="a red fox", image="in.png", height=36)


def test_an_edit_that_would_run_no_step_is_rejected():
    with pytest.raises(ValidationError, match=r"steps × strength = 1 × 0\.5 runs no denoising step"):
        EditInput(prompt="a red fox", image="in.png", steps=1, strength=0.5)


def _delivered(tmp_path: Path, image: Image.Image, width: int = 32, height: int = 32) -> GeneratedOutput:
    image.save(tmp_path / "image-0.png")
    return GeneratedOutput(images=[tmp_path / "image-0.png"], model="m", pipeline="p", width=width, height=height,
                           seeds=[0], steps=1, device="cpu", dtype="float32", seconds=0.1, steps_per_s=10.0)


def test_the_check_rejects_a_one_colour_picture(tmp_path):
    v = PicturesShowSomething()(_outcome(_delivered(tmp_path, Image.new("RGB", (32, 32), (120, 130, 140))), tmp_path))
    assert not v.passed and "one flat colour (RGB 120, 130, 140" in v.message


def test_the_check_names_an_all_black_picture_as_nan_or_the_safety_checker(tmp_path):
    v = PicturesShowSomething()(_outcome(_delivered(tmp_path, Image.new("RGB", (32, 32))), tmp_path))
    assert not v.passed and "all black: NaN pixels" in v.message


def test_the_check_rejects_a_picture_of_another_size_than_asked(tmp_path):
    noise = Image.effect_noise((32, 32), 60).convert("RGB")
    v = PicturesShowSomething()(_outcome(_delivered(tmp_path, noise, width=64), tmp_path))
    assert not v.passed and "32×32, not the 64×32 asked for" in v.message
    assert PicturesShowSomething()(_outcome(_delivered(tmp_path, noise), tmp_path)).passed


def test_the_check_rejects_a_file_that_is_not_a_picture(tmp_path):
    out = _delivered(tmp_path, Image.effect_noise((32, 32), 60).convert("RGB"))
    out.images[0].write_bytes(b"not a png")
    v = PicturesShowSomething()(_outcome(out, tmp_path))
    assert not v.passed and "does not open as a picture" in v.message


def test_a_task_generates_then_edits_through_the_runtime_and_its_checks_pass(weights, tmp_path):
    task = {"graph": [
        {"id": "draw", "capability": "image.generate",
         "inputs": {"prompt": "a lighthouse", "model": str(weights), "width": 32, "height": 32, "steps": 2}},
        {"id": "redo", "capability": "image.edit",
         "inputs": {"prompt": "a lighthouse at night", "model": str(weights), "image": "${draw.images.0}",
                    "strength": 0.5, "steps": 4}}]}
    r = agentos.run(task, registry=Registry([DiffusionImages]), output=tmp_path / "runs", base_dir=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    for node in ("draw", "redo"):
        assert any(v.check == "image.generated" and v.passed for v in r.nodes[node].verdicts), node
    redo = GeneratedOutput.model_validate(r.output("redo"))
    assert (redo.pipeline, redo.steps, redo.width, redo.height) == ("StableDiffusionImg2ImgPipeline", 2, 32, 32)


def test_a_generated_picture_becomes_the_style_reference_of_a_key_visual(weights, tmp_path):
    """The two backends meet through the graph: the diffusion picture's colours become the key visual's palette."""
    task = {"graph": [
        {"id": "scene", "capability": "image.generate",
         "inputs": {"prompt": "a dune at dusk", "model": str(weights), "width": 64, "height": 64, "steps": 2}},
        {"id": "kv", "capability": "image.keyvisual",
         "inputs": {"brief": {"headline": "Light that follows your day", "style_reference": "${scene.images.0}",
                              "long_side": 512, "min_font": {"headline": 24}}, "variants": 1, "axes": ["palette"]}}]}
    r = agentos.run(task, registry=Registry([DiffusionImages, LayoutImages]), output=tmp_path / "runs",
                    base_dir=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    kv = KeyVisualOutput.model_validate(r.output("kv"))
    reference = extract(Path(r.output("scene")["images"][0]))
    assert kv.reference == reference
    assert kv.palettes[0].background == reference.colours[0]
