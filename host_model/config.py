"""Step 3.5 configuration: reads the real Hugging Face `config.json` unchanged, and builds scaled ones.

Every field the architecture uses is named as in the checkpoint (`num_attention_groups`,
`attention_other_setting`, `moe_layers_enum`, per-layer lists...), so a real `config.json` loads
with no translation; unknown fields are kept, not rejected, because real configs carry many we do
not use. The derived per-layer views (`layer(i)`) are what the model code reads, so the places
where the format is irregular (lists of length L or L+MTP, a comma string of MoE layers, a
separate head count for sliding layers) are resolved here once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from host_model.errors import HostModelError
from host_model.jsonfile import read_json_object

LayerType = Literal["full_attention", "sliding_attention"]


class ConfigError(HostModelError):
    """A config.json that is not a usable Step 3.5 config; the message names the field."""


class AttentionOther(BaseModel):
    """The head layout of the sliding layers (`attention_other_setting` in the checkpoint)."""

    model_config = ConfigDict(extra="allow")
    attention_type: str = "sliding_attention"
    num_attention_heads: int
    num_attention_groups: int
    head_dim: int


class RopeScaling(BaseModel):
    """Llama-3 style frequency scaling; the checkpoint applies it to full-attention layers only."""

    model_config = ConfigDict(extra="allow")
    rope_type: str = Field("llama3", alias="rope_type")
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192


@dataclass(frozen=True)
class LayerSpec:
    """Everything one layer (decoder or MTP) needs, resolved from the per-layer lists."""

    index: int
    attention: LayerType
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rope_theta: float
    rotary_dim: int
    rope_scaled: bool
    window: int | None  # sliding window size, None on full-attention layers
    moe: bool
    swiglu_limit: float | None  # routed experts
    swiglu_limit_shared: float | None  # shared expert and dense MLP
    is_mtp: bool


class Step3p5Config(BaseModel):
    """The fields of Step 3.5 Flash's config.json that the forward pass depends on."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model_type: str = "step3p5"
    hidden_size: int = Field(gt=0)
    num_hidden_layers: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_attention_groups: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    attention_other_setting: AttentionOther | None = None
    att_impl_type: str = "GQA"
    layer_types: list[LayerType] | None = None
    sliding_window: int | None = 512
    rope_theta: float | list[float] = 10000.0
    partial_rotary_factors: list[float] | None = None
    partial_rotary_factor: float = 1.0
    rope_scaling: RopeScaling | None = None
    yarn_only_types: list[str] | None = None
    use_rope_layers: list[bool] | None = None
    use_head_wise_attn_gate: bool = True
    use_qk_norm: bool = True
    intermediate_size: int = Field(gt=0)
    moe_layers_enum: str | list[int] | None = None
    moe_num_experts: int = Field(0, ge=0)
    moe_top_k: int = Field(0, ge=0)
    moe_intermediate_size: int = Field(0, ge=0)
    share_expert_dim: int = Field(0, ge=0)
    moe_router_activation: str = "sigmoid"
    use_moe_router_bias: bool = True
    need_fp32_gate: bool = True
    moe_router_scaling_factor: float = 1.0
    norm_expert_weight: bool = True
    swiglu_limits: list[float | None] | None = None
    swiglu_limits_shared: list[float | None] | None = None
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 262144
    num_nextn_predict_layers: int = Field(0, ge=0)
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = None
    torch_dtype: str | None = None
    dtype: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        """The remote-code config spells the shared expert's width `share_expert_dims`; accept either."""
        if isinstance(data, dict) and "share_expert_dim" not in data and "share_expert_dims" in data:
            data = {**data, "share_expert_dim": data["share_expert_dims"]}
        return data

    @model_validator(mode="after")
    def _check(self) -> Step3p5Config:
        if self.att_impl_type != "GQA":
            raise ValueError(f"att_impl_type: only 'GQA' is supported, got {self.att_impl_type!r}")
        if self.moe_router_activation != "sigmoid":
            raise ValueError(f"moe_router_activation: only 'sigmoid' is supported, got {self.moe_router_activation!r}")
        total = self.num_hidden_layers + self.num_nextn_predict_layers
        for name in ("layer_types", "partial_rotary_factors", "swiglu_limits", "swiglu_limits_shared",
                     "use_rope_layers"):
            values = getattr(self, name)
            if values and len(values) not in (self.num_hidden_layers, total):
                raise ValueError(f"{name}: has {len(values)} entries, expected {self.num_hidden_layers} "
                                 f"(decoder layers) or {total} (decoder + MTP layers)")
        if isinstance(self.rope_theta, list) and len(self.rope_theta) not in (self.num_hidden_layers, total):
            raise ValueError(f"rope_theta: has {len(self.rope_theta)} entries, expected {self.num_hidden_layers} "
                             f"or {total}")
        for i in self.moe_layers:
            if not 0 <= i < self.num_hidden_layers:
                raise ValueError(f"moe_layers_enum: layer {i} is outside 0..{self.num_hidden_layers - 1}")
        if self.moe_layers and not (self.moe_num_experts and self.moe_top_k and self.moe_intermediate_size):
            raise ValueError("moe_num_experts, moe_top_k and moe_intermediate_size must be set for MoE layers")
        if self.moe_layers and not self.share_expert_dim:
            raise ValueError("share_expert_dim (or share_expert_dims) must be set: MoE layers have a shared expert")
        if self.moe_top_k > self.moe_num_experts:
            raise ValueError(f"moe_top_k: {self.moe_top_k} is more than moe_num_experts ({self.moe_num_experts})")
        for i in range(total):
            spec = self.layer(i)
            if spec.num_heads % spec.num_kv_heads:
                raise ValueError(f"layer {i}: {spec.num_heads} query heads are not a multiple of "
                                 f"{spec.num_kv_heads} key/value groups")
        return self

    # ---- loading ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> Step3p5Config:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                                 for e in exc.errors())
            raise ConfigError(f"{source}: not a usable Step 3.5 config: {problems}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> Step3p5Config:
        """Read `config.json` (or the folder that holds it)."""
        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        try:
            data = read_json_object(path)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file (a model folder needs config.json)") from None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    # ---- derived per-layer views -----------------------------------------------------------

    @property
    def moe_layers(self) -> frozenset[int]:
        """Decoder layers with an MoE FFN; absent means all but layer 0, as vLLM reads it."""
        raw = self.moe_layers_enum
        if raw is None:
            return frozenset(range(1, self.num_hidden_layers)) if self.moe_num_experts else frozenset()
        if isinstance(raw, str):
            try:
                return frozenset(int(part) for part in raw.split(",") if part.strip())
            except ValueError:
                raise ValueError(f"moe_layers_enum: {raw!r} is not a comma-separated list of layer numbers") from None
        return frozenset(raw)

    @property
    def num_layers_with_mtp(self) -> int:
        return self.num_hidden_layers + self.num_nextn_predict_layers

    @property
    def eos_token_ids(self) -> list[int]:
        eos = self.eos_token_id
        return [] if eos is None else [eos] if isinstance(eos, int) else list(eos)

    def _per_layer(self, values: list[Any] | None, i: int, default: Any) -> Any:
        """Index a per-layer list that may or may not cover the MTP layers."""
        if not values:
            return default
        if i < len(values):
            return values[i]
        return default

    def layer_type(self, i: int) -> LayerType:
        if self.layer_types and i < len(self.layer_types):
            return self.layer_types[i]
        if i >= self.num_hidden_layers:
            return "sliding_attention"  # MTP blocks are sliding-window layers in Step 3.5
        return "full_attention" if i % 4 == 0 else "sliding_attention"

    def layer(self, i: int) -> LayerSpec:
        kind = self.layer_type(i)
        other = self.attention_other_setting
        if kind == "sliding_attention" and other is not None:
            heads, groups, head_dim = other.num_attention_heads, other.num_attention_groups, other.head_dim
        else:
            heads, groups, head_dim = self.num_attention_heads, self.num_attention_groups, self.head_dim
        theta = self.rope_theta[i] if isinstance(self.rope_theta, list) and i < len(self.rope_theta) else (
            self.rope_theta if not isinstance(self.rope_theta, list) else self.rope_theta[-1])
        factor = self._per_layer(self.partial_rotary_factors, i, self.partial_rotary_factor)
        use_rope = self._per_layer(self.use_rope_layers, i, True)
        rotary_dim = int(head_dim * factor) if use_rope else 0
        scaled_types = self.yarn_only_types if self.yarn_only_types is not None else ["full_attention"]
        limit = self._per_layer(self.swiglu_limits, i, None)
        limit_shared = self._per_layer(self.swiglu_limits_shared, i, None)
        return LayerSpec(
            index=i, attention=kind, num_heads=heads, num_kv_heads=groups, head_dim=head_dim,
            rope_theta=float(theta), rotary_dim=rotary_dim,
            rope_scaled=self.rope_scaling is not None and kind in scaled_types,
            window=self.sliding_window if kind == "sliding_attention" else None,
            moe=i in self.moe_layers, swiglu_limit=float(limit) if limit else None,
            swiglu_limit_shared=float(limit_shared) if limit_shared else None,
            is_mtp=i >= self.num_hidden_layers,
        )

    # ---- scaled configs for tests and the project's own small models ----------------------

    @classmethod
    def scaled(cls, *, hidden_size: int = 64, num_hidden_layers: int = 8, vocab_size: int = 512,
               head_dim: int = 16, full_heads: int = 4, sliding_heads: int = 6, kv_groups: int = 2,
               sliding_window: int = 16, intermediate_size: int = 160, first_moe_layer: int = 2,
               moe_num_experts: int = 8, moe_top_k: int = 2, moe_intermediate_size: int = 32,
               num_nextn_predict_layers: int = 2, max_position_embeddings: int = 1024,
               clamp_layers: tuple[int, ...] = (), **overrides: Any) -> Step3p5Config:
        """A small config with every structural feature of Step 3.5 switched on.

        Same 3:1 sliding/full pattern, separate head counts for sliding layers, per-layer RoPE
        (theta 5e6 / 1e4, partial 0.5 / 1.0), llama3 scaling on full layers, head-wise gate,
        dense-then-MoE layers, sigmoid router with bias, shared expert and MTP layers.
        """
        total = num_hidden_layers + num_nextn_predict_layers
        types: list[LayerType] = ["full_attention" if (i % 4 == 0 and i < num_hidden_layers) else
                                  "sliding_attention" for i in range(total)]
        data: dict[str, Any] = {
            "model_type": "step3p5", "architectures": ["Step3p5ForCausalLM"],
            "hidden_size": hidden_size, "num_hidden_layers": num_hidden_layers, "vocab_size": vocab_size,
            "num_attention_heads": full_heads, "num_attention_groups": kv_groups, "head_dim": head_dim,
            "attention_other_setting": {"attention_type": "sliding_attention", "num_attention_heads": sliding_heads,
                                        "num_attention_groups": kv_groups, "head_dim": head_dim},
            "att_impl_type": "GQA", "layer_types": types, "sliding_window": sliding_window,
            "rope_theta": [5e6 if t == "full_attention" else 1e4 for t in types],
            "partial_rotary_factors": [0.5 if t == "full_attention" else 1.0 for t in types],
            "rope_scaling": {"rope_type": "llama3", "factor": 2.0, "low_freq_factor": 1.0, "high_freq_factor": 32.0,
                             "original_max_position_embeddings": max(max_position_embeddings // 4, 16)},
            "yarn_only_types": ["full_attention"], "use_head_wise_attn_gate": True,
            "intermediate_size": intermediate_size,
            "moe_layers_enum": ",".join(str(i) for i in range(first_moe_layer, num_hidden_layers)),
            "moe_num_experts": moe_num_experts, "moe_top_k": moe_top_k,
            "moe_intermediate_size": moe_intermediate_size, "share_expert_dim": moe_intermediate_size,
            "moe_router_activation": "sigmoid", "use_moe_router_bias": True, "need_fp32_gate": True,
            "moe_router_scaling_factor": 3.0, "norm_expert_weight": True,
            "swiglu_limits": [7.0 if i in clamp_layers else 0.0 for i in range(total)],
            "swiglu_limits_shared": [16.0 if i in clamp_layers else 0.0 for i in range(total)],
            "rms_norm_eps": 1e-5, "max_position_embeddings": max_position_embeddings,
            "num_nextn_predict_layers": num_nextn_predict_layers, "tie_word_embeddings": False,
            "bos_token_id": 0, "eos_token_id": 1,
        }
        data.update(overrides)
        return cls.from_dict(data, source="scaled config")
