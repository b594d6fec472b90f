"""Checkpoint loading and saving with the real Step 3.5 tensor names.

`NAME_TABLE` is the whole mapping from checkpoint names to our parameters, in one place: most
names are identical, the rest are listed with why. A folder holds `config.json` and either one
`model.safetensors` or shards listed by `model.safetensors.index.json`. FP8 block-quantised
weights (`weight` in float8_e4m3fn plus `weight_scale_inv`, DeepSeek-style 128x128 blocks, as the
official FP8 export is believed to use) are dequantised at load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from host_model.config import ConfigError, Step3p5Config
from host_model.errors import HostModelError
from host_model.model import Step3p5ForCausalLM

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
FP32_PARAMS = ("moe.gate.weight", "moe.router_bias")  # the router stays fp32 whatever the model dtype

Progress = Callable[[int, int, str], None]  # (done, total, tensor name)


class CheckpointError(HostModelError):
    """A checkpoint that does not match its config: the message names the tensors."""


@dataclass(frozen=True)
class Target:
    param: str  # our parameter name
    expert: int | None = None  # a per-expert tensor stacked into a packed [E, ...] parameter
    scale_of: bool = False  # an FP8 `weight_scale_inv` for `param`


# (checkpoint-name pattern, our name or None = ignored, why). First match wins; no match = same name.
# `(MTP)` in a pattern matches the layer numbers of the MTP depths (L, L+1, ... for L decoder layers).
NAME_TABLE: list[tuple[str, str | None, str]] = [
    (r"model\.layers\.(\d+)\.moe\.share_expert\.(.+)", r"model.layers.\1.share_expert.\2",
     "vLLM-style exports nest the shared expert under moe.; the original keeps it at layer level"),
    (r"model\.layers\.(\d+)\.moe\.experts\.(\d+)\.(gate|up|down)_proj\.weight",
     r"model.layers.\1.moe.\3_proj.weight#\2",
     "per-expert exports (quantised variants): stacked into the packed [E, ...] tensor"),
    (r"model\.layers\.(\d+)\.moe\.(\d+)\.(gate|up|down)_proj\.weight", r"model.layers.\1.moe.\3_proj.weight#\2",
     "legacy per-expert names, stacked the same way"),
    (r"model\.layers\.(\d+)\.moe\.expert_bias", None, "unused at inference (vLLM ignores it too)"),
    (r"model\.layers\.(MTP)\.embed_tokens\.weight", None,
     "an MTP layer's own copy of the embedding: the model shares model.embed_tokens"),
    (r"model\.layers\.(MTP)\.transformer\.(.+)", r"mtp.\1.\2", "some exports put the MTP block under .transformer."),
    (r"model\.layers\.(MTP)\.(.+)", r"mtp.\1.\2", "MTP depth k is stored as decoder layer L + k"),
]


def _compiled(num_layers: int, num_mtp: int) -> list[tuple[re.Pattern[str], str | None]]:
    mtp = "|".join(str(num_layers + k) for k in range(num_mtp)) or "-1"
    return [(re.compile(pattern.replace("(MTP)", f"({mtp})") + r"$"), target) for pattern, target, _ in NAME_TABLE]


def map_name(name: str, config: Step3p5Config, table: list[tuple[re.Pattern[str], str | None]] | None = None,
             ) -> Target | None:
    """Our parameter for a checkpoint tensor name; None if the tensor is deliberately ignored."""
    table = table or _compiled(config.num_hidden_layers, config.num_nextn_predict_layers)
    scale = name.endswith(".weight_scale_inv")
    if scale:
        name = name[: -len("_scale_inv")]
    for pattern, target in table:
        match = pattern.match(name)
        if match is None:
            continue
        if target is None:
            return None
        mapped = match.expand(target)
        if target.startswith("mtp."):
            mapped = f"mtp.{int(match.group(1)) - config.num_hidden_layers}.{match.group(2)}"
        param, _, expert = mapped.partition("#")
        return Target(param, int(expert) if expert else None, scale)
    return Target(name, None, scale)


def checkpoint_name(param: str, config: Step3p5Config) -> str:
    """The name a parameter is saved under (the inverse of the table for what we write)."""
    if param.startswith("mtp."):
        depth, _, rest = param[len("mtp."):].partition(".")
        return f"model.layers.{config.num_hidden_layers + int(depth)}.{rest}"
    return param


# ---- reading ----------------------------------------------------------------------------------------

def _shards(folder: Path) -> dict[str, Path]:
    """Tensor name -> file, from the index or the single file."""
    index = folder / INDEX_FILE
    if index.exists():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{index}: not a safetensors index (needs a 'weight_map' object): {exc}") from None
        missing_files = sorted({f for f in weight_map.values() if not (folder / f).exists()})
        if missing_files:
            raise CheckpointError(f"{index} lists shard files that are not there: {', '.join(missing_files)}")
        return {name: folder / file for name, file in weight_map.items()}
    single = folder / SINGLE_FILE
    if not single.exists():
        raise CheckpointError(f"{folder}: no {SINGLE_FILE} and no {INDEX_FILE}")
    with safe_open(single, framework="pt") as f:
        return dict.fromkeys(f.keys(), single)


def _read(files: dict[str, Path]) -> Iterator[tuple[str, torch.Tensor]]:
    by_file: dict[Path, list[str]] = {}
    for name, file in files.items():
        by_file.setdefault(file, []).append(name)
    for file, names in by_file.items():
        with safe_open(file, framework="pt") as f:
            for name in names:
                yield name, f.get_tensor(name)


def dequantize_fp8(weight: torch.Tensor, scale_inv: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    """Block-quantised FP8 to fp32: every (block x block) tile of the last two dims has one scale."""
    w = weight.float()
    rows, cols = w.shape[-2], w.shape[-1]
    s = scale_inv.float().repeat_interleave(block[0], dim=-2)[..., :rows, :]
    s = s.repeat_interleave(block[1], dim=-1)[..., :cols]
    return w * s


def _fp8_block(config: Step3p5Config) -> tuple[int, int]:
    quant = getattr(config, "quantization_config", None) or {}
    size = quant.get("weight_block_size") if isinstance(quant, dict) else None
    return (int(size[0]), int(size[1])) if size else (128, 128)


def load_model(folder: str | Path, *, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
               progress: Progress | None = None) -> Step3p5ForCausalLM:
    """Build the model from `folder/config.json` and fill it from the safetensors there."""
    folder = Path(folder)
    config = Step3p5Config.from_file(folder)
    with torch.device("meta"):
        model = Step3p5ForCausalLM(config)
    state = read_state_dict(folder, model, dtype=dtype, progress=progress)
    model.load_state_dict({k: v.to(device) for k, v in state.items()}, strict=True, assign=True)
    return model.prepare_for_inference()


def read_state_dict(folder: Path, model: Step3p5ForCausalLM, *, dtype: torch.dtype,
                    progress: Progress | None = None) -> dict[str, torch.Tensor]:
    """Every parameter of `model` from the checkpoint, mapped, stacked, dequantised, shape-checked."""
    config = model.config
    expected = {name: p for name, p in model.named_parameters()}
    files = _shards(folder)
    table = _compiled(config.num_hidden_layers, config.num_nextn_predict_layers)
    state: dict[str, torch.Tensor] = {}
    experts: dict[str, dict[int, torch.Tensor]] = {}
    scales: dict[tuple[str, int | None], torch.Tensor] = {}
    unexpected: list[str] = []
    block = _fp8_block(config)
    total = len(files)
    for done, (name, tensor) in enumerate(_read(files), start=1):
        if progress is not None:
            progress(done, total, name)
        target = map_name(name, config, table)
        if target is None:
            continue
        if target.param not in expected:
            unexpected.append(name)
            continue
        if target.scale_of:
            scales[(target.param, target.expert)] = tensor
        elif target.expert is not None:
            experts.setdefault(target.param, {})[target.expert] = tensor
        else:
            state[target.param] = tensor
    for param, parts in experts.items():
        count = expected[param].shape[0]
        absent = [e for e in range(count) if e not in parts]
        if absent:
            raise CheckpointError(f"{param}: experts {absent[:8]}{'...' if len(absent) > 8 else ''} are missing "
                                  f"from the checkpoint (expected {count})")
        for e in range(count):
            if (param, e) in scales:
                parts[e] = dequantize_fp8(parts[e], scales.pop((param, e)), block)
        state[param] = torch.stack([parts[e] for e in range(count)])
    for (param, _), scale in scales.items():
        if param in state:
            state[param] = dequantize_fp8(state[param], scale, block)
    missing = sorted(set(expected) - set(state))
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(checkpoint_name(m, config) for m in missing[:12])}"
                        + (f" and {len(missing) - 12} more" if len(missing) > 12 else ""))
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(unexpected[:12])}"
                        + (f" and {len(unexpected) - 12} more" if len(unexpected) > 12 else ""))
    for param, tensor in state.items():
        want = expected[param].shape
        if param.endswith("g_proj.weight") and tensor.dim() == 3:  # some exports keep a unit dim
            tensor = state[param] = tensor.reshape(want) if tensor.numel() == want.numel() else tensor
        if tuple(tensor.shape) != tuple(want):
            problems.append(f"{checkpoint_name(param, config)}: shape {tuple(tensor.shape)}, "
                            f"config says {tuple(want)}")
    if problems:
        raise CheckpointError(f"{folder}: checkpoint does not match config.json: " + "; ".join(problems))
    # copy=True: own, aligned memory instead of views into the mmap'd file (BLAS paths differ on unaligned data)
    return {name: t.to(torch.float32 if name.endswith(FP32_PARAMS) else dtype, copy=True) for name, t in state.items()}


# ---- writing ----------------------------------------------------------------------------------------

def save_model(model: Step3p5ForCausalLM, folder: str | Path, *, max_shard_bytes: int | None = None,
               dtype: torch.dtype | None = None) -> Path:
    """Write config.json and safetensors with the real names (sharded with an index past max_shard_bytes)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save(folder)
    tensors = {}
    for name, p in model.state_dict().items():
        t = p.detach()
        if dtype is not None and not name.endswith(FP32_PARAMS):
            t = t.to(dtype)
        tensors[checkpoint_name(name, model.config)] = t.contiguous().cpu()
    if max_shard_bytes is None:
        save_file(tensors, folder / SINGLE_FILE, metadata={"format": "pt"})
        return folder
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, folder / file, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, file))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (folder / INDEX_FILE).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map},
                                                indent=2) + "\n", encoding="utf-8")
    return folder


__all__ = ["NAME_TABLE", "CheckpointError", "ConfigError", "checkpoint_name", "dequantize_fp8", "load_model",
           "map_name", "read_state_dict", "save_model"]
