"""Diffusion pictures: diffusers pipelines from local weights, one set of weights for all three operations.

Where the weights come from, in order: a node's `model` (a pipeline folder, or a Hugging Face repo id that is
already in the local cache; nothing is ever downloaded), else `$AGENTOS_DIFFUSION_MODEL`. The folder is loaded
with `DiffusionPipeline.from_pretrained`, so any pipeline class its `model_index.json` names works (Stable
Diffusion 1.x/2.x, SDXL, ...); image-to-image and inpainting are the same components re-wrapped by
`AutoPipelineFor*.from_pipe`, so they cost no second load. A loaded pipeline stays cached per (folder, dtype,
device) for the next node. torch and diffusers are imported on first use: `agentos --help` never pays for them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo

from agentos.errors import ExpertError
from experts.image.models import MAX_SIDE, DiffusionKnobs, EditInput, GenerateInput, InpaintInput

MODEL_ENV = "AGENTOS_DIFFUSION_MODEL"
DEVICE_ENV = "AGENTOS_DIFFUSION_DEVICE"  # cpu, cuda, cuda:1, mps; default: cuda when there is one
DTYPE_ENV = "AGENTOS_DIFFUSION_DTYPE"  # float16, bfloat16, float32; default: float16 on cuda, else float32
CACHE_SIZE = 2  # pipelines kept loaded; an SDXL in float16 holds ~7 GB of GPU memory
EXAMPLE_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"

Kind = Literal["generate", "edit", "inpaint"]
StepSink = Callable[[int, int], None]  # (steps done, steps in all)

log = logging.getLogger(__name__)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DTYPES = ("float16", "bfloat16", "float32")


def missing_libraries() -> str | None:
    """Why no pipeline can run here (torch or diffusers not installed), or None; imports nothing."""
    absent = [name for name in ("torch", "diffusers", "transformers") if find_spec(name) is None]
    if absent:
        return (f"the diffusion expert needs {', '.join(absent)}: pip install 'agentos[image]' "
                "(torch==2.13.0 comes from scripts/setup.sh)")
    return None


# ---- where the weights are -------------------------------------------------------------------------------------


def _fetch_hint(target: str) -> str:
    return (f"on a machine with internet, `hf download {EXAMPLE_REPO} --local-dir {target}` (or "
            "`huggingface-cli download ...` with an older huggingface_hub) writes one; copy it here")


def _what_a_pipeline_holds() -> str:
    return ("a diffusers pipeline folder holds model_index.json and one subfolder per component "
            "(unet/, vae/, text_encoder/, tokenizer/, scheduler/)")


def _cached_pipelines() -> list[str]:
    """Repo ids in the local Hugging Face cache that hold a diffusers pipeline, for the no-model message."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:  # no cache folder, or huggingface_hub missing: nothing to suggest
        return []
    return sorted(r.repo_id for r in repos if r.repo_type == "model"
                  and any((rev.snapshot_path / "model_index.json").is_file() for rev in r.revisions))


def _from_cache(repo_id: str) -> Path:
    """The snapshot folder of `repo_id` in the local cache; never the network."""
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError:
        raise ExpertError(f"{repo_id!r} is not a folder, and huggingface_hub (to look it up in the local cache) "
                          "is not installed") from None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # LocalEntryNotFoundError, or an id the hub would reject
        raise ExpertError(f"{repo_id!r} is neither a folder nor in the local Hugging Face cache "
                          f"({constants.HF_HUB_CACHE}); nothing is downloaded at run time: {_fetch_hint('<folder>')} "
                          f"and pass the folder as `model:` or ${MODEL_ENV}") from None


def resolve_weights(model: str | None) -> Path:
    """The pipeline folder to load: `model`, else $AGENTOS_DIFFUSION_MODEL; a repo id is looked up in the cache."""
    value = model or os.environ.get(MODEL_ENV, "").strip()
    if not value:
        cached = _cached_pipelines()
        found = f"; the local Hugging Face cache holds {', '.join(cached)}" if cached else ""
        raise ExpertError(f"no diffusion weights configured: pass `model:` (a pipeline folder) or set "
                          f"${MODEL_ENV}{found}. {_what_a_pipeline_holds()}; {_fetch_hint('<folder>')}")
    path = Path(value).expanduser()
    if not path.exists() and _REPO_ID.match(value):
        path = _from_cache(value)
    check_pipeline_folder(path)
    return path.resolve()


def check_pipeline_folder(path: Path) -> None:
    """A clear error unless `path` is a diffusers pipeline folder with every component its index names."""
    if not path.exists():
        raise ExpertError(f"no diffusion pipeline at {path}: the folder does not exist. {_what_a_pipeline_holds()}; "
                          f"{_fetch_hint(str(path))}")
    if not path.is_dir():
        raise ExpertError(f"{path} is a file, not a pipeline folder (single-file checkpoints are not loaded: "
                          f"convert it with diffusers' convert scripts). {_what_a_pipeline_holds()}")
    index = path / "model_index.json"
    if not index.is_file():
        raise ExpertError(f"{path} is not a diffusers pipeline: it has no model_index.json. "
                          f"{_what_a_pipeline_holds()}; {_fetch_hint(str(path))}")
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExpertError(f"{index} is not valid JSON ({exc})") from None
    if not isinstance(entries, dict) or "_class_name" not in entries:
        raise ExpertError(f"{index} names no pipeline class (`_class_name`)")
    missing = [name for name, spec in entries.items() if not name.startswith("_") and isinstance(spec, list)
               and len(spec) == 2 and spec[0] is not None and not (path / name).is_dir()]
    if missing:
        raise ExpertError(f"{path}: model_index.json lists {', '.join(missing)} but the folder has no "
                          f"{', '.join(m + '/' for m in missing)} (an incomplete download or copy?)")


# ---- loading -----------------------------------------------------------------------------------------------------


def pick_device() -> str:
    """$AGENTOS_DIFFUSION_DEVICE, else cuda when torch sees a GPU, else cpu."""
    import torch

    if wanted := os.environ.get(DEVICE_ENV, "").strip():
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str) -> str:
    """float16 on a GPU (half the memory, twice the speed), float32 on the CPU (where float16 is slow or absent)."""
    wanted = os.environ.get(DTYPE_ENV, "").strip()
    if wanted:
        if wanted not in _DTYPES:
            raise ExpertError(f"${DTYPE_ENV} is {wanted!r}; use one of {', '.join(_DTYPES)}")
        return wanted
    return "float16" if device.startswith("cuda") else "float32"


@dataclass
class Loaded:
    """One set of weights on one device; `form(kind)` is the pipeline for an operation, sharing its components."""

    source: Path
    device: str
    dtype: str
    base: Any  # the pipeline as model_index.json names it
    lock: threading.Lock = field(default_factory=threading.Lock)  # the scheduler is shared state: one call at a time
    _forms: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline_class(self) -> str:
        return type(self.base).__name__

    def form(self, kind: Kind) -> Any:
        """The text-to-image, image-to-image or inpainting pipeline over the same components."""
        if kind not in self._forms:
            import diffusers

            auto = {"generate": diffusers.AutoPipelineForText2Image, "edit": diffusers.AutoPipelineForImage2Image,
                    "inpaint": diffusers.AutoPipelineForInpainting}[kind]
            try:
                pipe = auto.from_pipe(self.base)
            except ValueError:  # a class AutoPipeline does not map: it can still draw from text as it is
                if kind != "generate":
                    what = "image-to-image" if kind == "edit" else "inpainting"
                    raise ExpertError(f"the pipeline at {self.source} ({self.pipeline_class}) has no {what} "
                                      "form in diffusers' AutoPipeline tables") from None
                pipe = self.base
            pipe.set_progress_bar_config(disable=True)  # progress goes to ctx.progress, not a tqdm bar on stderr
            self._forms[kind] = pipe
        return self._forms[kind]


_CACHE: OrderedDict[tuple[str, str, str], Loaded] = OrderedDict()
_LOADING = threading.Lock()


def _dtype_keyword() -> str:
    """diffusers 0.40 renamed `torch_dtype` to `dtype` (the old name still works, with a warning, until 1.0)."""
    from importlib.metadata import version

    major, minor = (int(x) for x in re.findall(r"\d+", version("diffusers"))[:2])
    return "dtype" if (major, minor) >= (0, 40) else "torch_dtype"


def _variant(folder: Path, dtype: str) -> str | None:
    """"fp16" when the folder holds fp16 weight files and float16 is wanted, or they are all it holds."""
    weights = [p.name for p in folder.glob("*/*") if p.suffix in (".safetensors", ".bin")]
    fp16 = [w for w in weights if ".fp16." in w]
    return "fp16" if fp16 and (dtype == "float16" or len(fp16) == len(weights)) else None


def load(model: str | None = None, *, on_load: Callable[[Path], None] | None = None) -> Loaded:
    """The pipeline for `model` (see `resolve_weights`), from the cache or loaded now, on `pick_device()`."""
    reason = missing_libraries()
    if reason:
        raise ExpertError(reason)
    folder = resolve_weights(model)
    device = pick_device()
    dtype = pick_dtype(device)
    key = (str(folder), dtype, device)
    with _LOADING:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        if on_load:
            on_load(folder)
        import torch
        from diffusers import DiffusionPipeline

        kwargs: dict[str, Any] = {_dtype_keyword(): getattr(torch, dtype), "local_files_only": True}
        if find_spec("accelerate") is None:
            kwargs["low_cpu_mem_usage"] = False  # what diffusers falls back to anyway, minus its warning
        if variant := _variant(folder, dtype):
            kwargs["variant"] = variant
        try:
            pipe = DiffusionPipeline.from_pretrained(str(folder), **kwargs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]  # diffusers names the file missing
            raise ExpertError(f"cannot load the diffusion pipeline at {folder}: {first}") from None
        pipe.set_progress_bar_config(disable=True)
        try:
            pipe = pipe.to(device)
        except (RuntimeError, AssertionError) as exc:  # e.g. "Torch not compiled with CUDA enabled"
            raise ExpertError(f"cannot move the pipeline to {device} (${DEVICE_ENV}): {exc}") from None
        loaded = Loaded(source=folder, device=device, dtype=dtype, base=pipe)
        _CACHE[key] = loaded
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return loaded


def clear_cache() -> None:
    """Forget every loaded pipeline (their memory goes once no node holds them)."""
    with _LOADING:
        _CACHE.clear()


# ---- drawing -----------------------------------------------------------------------------------------------------


@dataclass
class Pictures:
    """What one pipeline call drew, and how fast."""

    images: list[Image.Image]
    pipeline: str  # the class that drew them
    seeds: list[int]
    width: int  # the size asked for (the image.generated check holds the pictures to it)
    height: int
    steps: int  # denoising steps run per image (image-to-image runs steps × strength)
    seconds: float
    steps_per_s: float
    safety_flagged: list[bool]


def _open(path: Path, what: str, mode: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert(mode)
    except FileNotFoundError:
        raise ExpertError(f"the {what} {path} does not exist") from None
    except OSError as exc:
        raise ExpertError(f"the {what} {path} is not a picture Pillow can read ({exc})") from None


def _size(inputs: GenerateInput | EditInput | InpaintInput, image: Image.Image | None) -> tuple[int, int]:
    """The size to draw: the one asked for, else the input image's rounded down to a multiple of 8."""
    if image is None or (inputs.width and inputs.height):
        return inputs.width or 512, inputs.height or 512
    w, h = image.size
    if inputs.width:  # one side given: keep the aspect ratio
        w, h = inputs.width, round(h * inputs.width / w)
    elif inputs.height:
        w, h = round(w * inputs.height / h), inputs.height
    w, h = w - w % 8, h - h % 8
    if not (32 <= w <= MAX_SIDE and 32 <= h <= MAX_SIDE):
        raise ExpertError(f"the image is {image.size[0]}×{image.size[1]}; drawing needs 32 to {MAX_SIDE} pixels a "
                          "side: give width and height to resize it")
    return w, h


def _parameters(knobs: DiffusionKnobs, seed: int, steps: int, size: tuple[int, int], source: Path) -> PngInfo:
    """The settings in the PNG's `parameters` text chunk, in the form image tools read back."""
    info = PngInfo()
    text = knobs.prompt + (f"\nNegative prompt: {knobs.negative_prompt}" if knobs.negative_prompt else "")
    info.add_text("parameters", f"{text}\nSteps: {steps}, CFG scale: {knobs.guidance}, Seed: {seed}, "
                                f"Size: {size[0]}x{size[1]}, Model: {source.name}")
    return info


def png_bytes(image: Image.Image, knobs: DiffusionKnobs, seed: int, steps: int, source: Path) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=_parameters(knobs, seed, steps, image.size, source))
    return buf.getvalue()


def _takes(pipe: Any, name: str) -> bool:
    """Whether this pipeline's __call__ takes the argument `name` (custom pipelines may lack some)."""
    import inspect

    params = inspect.signature(pipe.__call__).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _accepted(pipe: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments this pipeline takes; a setting it cannot use is logged, not silently lost."""
    dropped = [k for k in kwargs if not _takes(pipe, k)]
    if dropped:
        log.warning("%s takes no %s; left out", type(pipe).__name__, ", ".join(dropped))
    return {k: v for k, v in kwargs.items() if k not in dropped}


def kind_of(inputs: GenerateInput | EditInput | InpaintInput) -> Kind:
    """Which operation an input model is for."""
    return "inpaint" if isinstance(inputs, InpaintInput) else "edit" if isinstance(inputs, EditInput) else "generate"


def draw(loaded: Loaded, inputs: GenerateInput | EditInput | InpaintInput, *, on_step: StepSink | None = None,
         cancelled: Callable[[], bool] | None = None) -> Pictures:
    """Run one pipeline call for `inputs` (its type says which operation); image k uses seed + k."""
    import torch

    kind = kind_of(inputs)
    image = _open(inputs.image, "image", "RGB") if isinstance(inputs, EditInput | InpaintInput) else None
    width, height = _size(inputs, image)
    seeds = [inputs.seed + k for k in range(inputs.count)]
    kwargs: dict[str, Any] = {
        "prompt": inputs.prompt, "negative_prompt": inputs.negative_prompt or None,
        "num_inference_steps": inputs.steps, "guidance_scale": inputs.guidance,
        "num_images_per_prompt": inputs.count, "output_type": "pil",
        # CPU generators: the same seed gives the same noise on every device
        "generator": [torch.Generator("cpu").manual_seed(s) for s in seeds]}
    if image is not None and isinstance(inputs, EditInput | InpaintInput):
        kwargs["image"] = image.resize((width, height), Image.Resampling.LANCZOS)
        kwargs["strength"] = inputs.strength
    mask = None
    if isinstance(inputs, InpaintInput):
        mask = _open(inputs.mask, "mask", "L").resize((width, height), Image.Resampling.NEAREST)
        kwargs["mask_image"] = mask
    if kind != "edit":  # image-to-image draws at the size of its (resized) image
        kwargs["width"], kwargs["height"] = width, height
    pipe = loaded.form(kind)
    stamps: list[float] = []

    def step_end(p: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        stamps.append(time.perf_counter())
        if on_step:
            on_step(i + 1, getattr(p, "num_timesteps", None) or inputs.steps)
        if cancelled and cancelled():
            p._interrupt = True  # diffusers' own way to stop: the remaining steps are skipped
        return tensors

    if _takes(pipe, "callback_on_step_end"):  # else no per-step progress, and no stopping half-way
        kwargs["callback_on_step_end"] = step_end
    with loaded.lock:
        t0 = time.perf_counter()
        with torch.inference_mode():
            result = pipe(**_accepted(pipe, kwargs))
        seconds = time.perf_counter() - t0
    steps = len(stamps) or inputs.steps
    if len(stamps) > 1 and stamps[-1] > stamps[0]:  # between step ends: text encoding and VAE decoding left out
        rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    else:
        rate = steps / seconds if seconds > 0 else 0.0
    flagged = getattr(result, "nsfw_content_detected", None) or []
    images = list(result.images)
    if mask is not None:  # the VAE does not give back the kept part exactly: paste the original there
        images = [Image.composite(im, kwargs["image"], mask) if im.size == mask.size else im for im in images]
    return Pictures(images=images, pipeline=type(pipe).__name__, seeds=seeds, width=width,
                    height=height, steps=steps, seconds=round(seconds, 4), steps_per_s=round(rate, 3),
                    safety_flagged=[bool(f) for f in flagged])


def steps_per_second(pipeline_path: str | Path, size: int = 512, steps: int = 20) -> float:
    """Denoising steps per second of the pipeline at `pipeline_path` drawing one `size`² picture from text, on
    `pick_device()`: the benchmark's number. One short warm-up call first (kernels, allocator, caches)."""
    loaded = load(str(pipeline_path))
    draw(loaded, GenerateInput(prompt="a lighthouse on a cliff at dusk", width=size, height=size, steps=2))
    return draw(loaded, GenerateInput(prompt="a lighthouse on a cliff at dusk", width=size, height=size,
                                      steps=steps)).steps_per_s
