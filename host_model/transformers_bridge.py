"""Our Step 3.5 weights in Hugging Face transformers' Step 3.7 text model (`transformers.models.step3p7`).

Why it exists: it is (1) the baseline `benchmarks/host_engine.py` measures our engine against, on the
very same weights, and (2) a second, independent implementation of the architecture, so matching its
logits checks our model against code we did not write (tests/step3p5_reference.py is the first).

Step 3.7's text decoder is Step 3.5's: per-layer sliding/full attention with a separate head count on
sliding layers, q/k RMSNorm, a sigmoid head-wise gate, partial per-layer-type RoPE with llama3
scaling on full layers, zero-centred RMSNorm, sigmoid MoE router with a selection-only bias, top-k
renormalised weights times a scaling factor, a shared expert, SwiGLU clamps. transformers 5.23 ships
only the vision-language class (`Step3p7ForConditionalGeneration`) and the bare `Step3p7TextModel`,
so `Step3p7TextForCausalLM` below is that text model plus an LM head and `GenerationMixin`: the same
three lines of forward the VLM class runs for text (decoder -> `slice_logits_to_keep` -> lm_head).

Weight names (the same renames transformers' own `conversion_mapping["step3p7"]` does on load):
`model.layers.i.moe.gate.weight` -> `...mlp.gate.weight`, `moe.router_bias` ->
`mlp.gate.e_score_correction_bias`, `moe.{gate,up}_proj` -> `mlp.experts.gate_up_proj` (concatenated
on dim 1), `moe.down_proj` -> `mlp.experts.down_proj`, `share_expert.*` -> `mlp.shared_experts.*`;
everything else keeps its name. MTP tensors (`mtp.*`, or `model.layers.{L+k}.*`) are dropped.

What step3p7 cannot express (checked against transformers 5.23; `to_transformers` raises
`BridgeError` rather than build a silently different model):

- RoPE settings are per layer *type*, not per layer: `rope_parameters[type]` takes the theta and
  partial-rotary factor of the first layer of each type, so per-layer lists that differ within a
  type are refused. (Step 3.5 Flash's lists are per type: 5e6/0.5 full, 1e4/1.0 sliding.)
- llama3 `rope_scaling` goes to the full-attention layers only (Step 3.5's `yarn_only_types` ==
  ["full_attention"]); any other `yarn_only_types` is refused. `use_rope_layers` (RoPE off on some
  layers) has no equivalent.
- `attention_other_setting` can change only the head count of sliding layers; a different KV-group
  count or head_dim there is refused (Step 3.5 Flash uses 8 groups and head_dim 128 on both types).
- The router always renormalises the top-k weights (`norm_expert_weight=False` is refused) and has
  no 1e-20 in the denominator (a difference only for all-zero sigmoid scores, which cannot happen).
- No head-wise gate is not a setting (`gating` is a class constant); we emulate
  `use_head_wise_attn_gate=False` exactly with a zero `g_proj` (sigmoid(0) = 0.5) and `o_proj` x 2.
- q/k norm is always on (our model applies it always too; `use_qk_norm` is not read by either).
- MTP is not part of the step3p7 model. transformers has a generic `MtpModel` for
  `generate(use_mtp=True)`, but it projects with the main `lm_head` after a `post_norm`, while
  Step 3.5 stores a `shared_head.norm` + `shared_head.output` per depth; we do not bridge it.
- Numerics, not semantics: routed experts are summed in the activation dtype and scaled by 3.0
  after the sum (we scale the weights and sum in fp32), and RoPE cos/sin are cast to the
  activation dtype, so bf16 runs drift slightly more than fp32 ones.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import GenerationMixin
from transformers.modeling_utils import slice_logits_to_keep
from transformers.models.step3p7.configuration_step3p7 import Step3p7TextConfig
from transformers.models.step3p7.modeling_step3p7 import (
    Step3p7CausalLMOutputWithPast,
    Step3p7PreTrainedModel,
    Step3p7TextModel,
)

from host_model.config import Step3p5Config
from host_model.errors import HostModelError

FP32_NAMES = ("mlp.gate.weight", "mlp.gate.e_score_correction_bias")  # the router stays fp32, as in ours


class BridgeError(HostModelError):
    """A Step 3.5 config or state dict that transformers' step3p7 cannot represent faithfully."""


class Step3p7TextForCausalLM(Step3p7PreTrainedModel, GenerationMixin):
    """transformers' `Step3p7TextModel` with an untied LM head: the text half of the VLM class."""

    config: Step3p7TextConfig
    config_class = Step3p7TextConfig

    def __init__(self, config: Step3p7TextConfig) -> None:
        super().__init__(config)
        self.model = Step3p7TextModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def forward(self, input_ids: torch.LongTensor | None = None, attention_mask: torch.Tensor | None = None,
                position_ids: torch.LongTensor | None = None, past_key_values: Any = None,
                inputs_embeds: torch.Tensor | None = None, use_cache: bool | None = None,
                logits_to_keep: int | torch.Tensor = 0, **kwargs: Any) -> Step3p7CausalLMOutputWithPast:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache, **kwargs)
        logits = self.lm_head(slice_logits_to_keep(out.last_hidden_state, logits_to_keep))
        return Step3p7CausalLMOutputWithPast(logits=logits, past_key_values=out.past_key_values)


def _per_type(config: Step3p5Config) -> dict[str, tuple[float, int]]:
    """(theta, rotary_dim) of each attention type, refusing layers that disagree within a type."""
    seen: dict[str, tuple[float, int]] = {}
    for i in range(config.num_hidden_layers):
        spec = config.layer(i)
        key = (spec.rope_theta, spec.rotary_dim)
        if seen.setdefault(spec.attention, key) != key:
            raise BridgeError(f"layer {i}: RoPE theta/rotary dim {key} differ from other {spec.attention} layers "
                              f"{seen[spec.attention]}; step3p7 has one RoPE setting per layer type")
    return seen


def to_transformers_config(config: Step3p5Config, *, attn_implementation: str = "sdpa") -> Step3p7TextConfig:
    """The step3p7 text config equivalent to `config`, or BridgeError naming what cannot be expressed."""
    n = config.num_hidden_layers
    if config.use_rope_layers and not all(config.use_rope_layers[:n]):
        raise BridgeError("use_rope_layers turns RoPE off on some layers; step3p7 has no such setting")
    if config.rope_scaling is not None and (config.yarn_only_types or ["full_attention"]) != ["full_attention"]:
        raise BridgeError(f"yarn_only_types={config.yarn_only_types}: step3p7 scales RoPE on full layers only")
    if config.moe_layers and not config.norm_expert_weight:
        raise BridgeError("norm_expert_weight=false: step3p7's router always renormalises the top-k weights")
    other = config.attention_other_setting
    if other is not None and (other.num_attention_groups, other.head_dim) != (config.num_attention_groups,
                                                                              config.head_dim):
        raise BridgeError("attention_other_setting changes the KV groups or head_dim of sliding layers; "
                          "step3p7 can change only their head count")
    rope = _per_type(config)
    types = [config.layer_type(i) for i in range(n)]
    theta = [rope[t][0] for t in types]
    partial = [rope[t][1] / config.layer(i).head_dim for i, t in enumerate(types)]

    def per_layer(values: list[float | None] | None) -> list[float | None] | None:
        return None if not values else [values[i] if i < len(values) else None for i in range(n)]

    scaling = None
    if config.rope_scaling is not None:
        s = config.rope_scaling
        scaling = {"rope_type": s.rope_type, "factor": s.factor, "low_freq_factor": s.low_freq_factor,
                   "high_freq_factor": s.high_freq_factor,
                   "original_max_position_embeddings": s.original_max_position_embeddings}
    moe = config.moe_layers
    hf = Step3p7TextConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=n, num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_attention_groups, head_dim=config.head_dim,
        num_sliding_attention_heads=other.num_attention_heads if other is not None else config.num_attention_heads,
        max_position_embeddings=config.max_position_embeddings, rms_norm_eps=config.rms_norm_eps,
        tie_word_embeddings=config.tie_word_embeddings, layer_types=types, sliding_window=config.sliding_window,
        mlp_layer_types=["sparse" if i in moe else "dense" for i in range(n)],
        n_routed_experts=max(config.moe_num_experts, 1), num_experts_per_tok=max(config.moe_top_k, 1),
        moe_intermediate_size=config.moe_intermediate_size or 1, share_expert_dim=config.share_expert_dim or 1,
        moe_router_scaling_factor=config.moe_router_scaling_factor,
        swiglu_limits=per_layer(config.swiglu_limits), swiglu_limits_shared=per_layer(config.swiglu_limits_shared),
        rope_theta=theta, partial_rotary_factors=partial, rope_scaling=scaling,
        pad_token_id=(config.eos_token_ids or [0])[0],  # an int is required; it only sets nn.Embedding's padding_idx
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
    )
    hf._attn_implementation = attn_implementation
    return hf


def map_state_dict(config: Step3p5Config, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our (= checkpoint) tensor names to step3p7's; MTP tensors dropped, experts' gate/up concatenated."""
    n = config.num_hidden_layers
    out: dict[str, torch.Tensor] = {}
    pending: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in state_dict.items():
        if name.startswith("mtp."):
            continue
        parts = name.split(".")
        if name.startswith("model.layers."):
            layer = int(parts[2])
            if layer >= n:  # MTP depth stored as decoder layer L + k
                continue
            rest = ".".join(parts[3:])
            prefix = f"model.layers.{layer}."
            if rest in ("moe.gate_proj", "moe.up_proj", "moe.gate_proj.weight", "moe.up_proj.weight"):
                pending.setdefault(layer, {})[rest.split(".")[1]] = tensor
                continue
            rest = {"moe.gate.weight": "mlp.gate.weight", "moe.router_bias": "mlp.gate.e_score_correction_bias",
                    "moe.down_proj": "mlp.experts.down_proj", "moe.down_proj.weight": "mlp.experts.down_proj",
                    }.get(rest, rest)
            for old in ("share_expert.", "moe.share_expert."):
                if rest.startswith(old):
                    rest = "mlp.shared_experts." + rest[len(old):]
            if rest.startswith("self_attn.g_proj") and tensor.dim() == 3:  # some exports keep a unit dim
                tensor = tensor.reshape(tensor.shape[0], -1)
            out[prefix + rest] = tensor
        else:
            out[name] = tensor
    for layer, halves in pending.items():
        if set(halves) != {"gate_proj", "up_proj"}:
            raise BridgeError(f"model.layers.{layer}.moe: needs both gate_proj and up_proj, got {sorted(halves)}")
        out[f"model.layers.{layer}.mlp.experts.gate_up_proj"] = torch.cat((halves["gate_proj"], halves["up_proj"]), 1)
    return out


@torch.no_grad()
def to_transformers(config: Step3p5Config, state_dict: dict[str, torch.Tensor], *, dtype: torch.dtype = torch.float32,
                    attn_implementation: str = "sdpa") -> Step3p7TextForCausalLM:
    """transformers' step3p7 text causal LM holding our weights (eval mode, on the weights' device)."""
    hf_config = to_transformers_config(config, attn_implementation=attn_implementation)
    mapped = map_state_dict(config, state_dict)
    if not config.use_head_wise_attn_gate:  # no gate == a gate stuck at 0.5 with o_proj doubled
        for i in range(config.num_hidden_layers):
            prefix = f"model.layers.{i}.self_attn."
            mapped[prefix + "g_proj.weight"] = torch.zeros(config.layer(i).num_heads, config.hidden_size)
            mapped[prefix + "o_proj.weight"] = mapped[prefix + "o_proj.weight"] * 2
    device = next(iter(state_dict.values())).device if state_dict else torch.device("cpu")
    model = Step3p7TextForCausalLM(hf_config)
    missing, unexpected = model.load_state_dict(
        {k: v.to(torch.float32 if k.endswith(FP32_NAMES) else dtype) for k, v in mapped.items()}, strict=False)
    if missing or unexpected:
        raise BridgeError(f"state dict does not fit the step3p7 model: missing {missing[:8]}, "
                          f"unexpected {unexpected[:8]}")
    for name, param in model.named_parameters():
        if not name.endswith(FP32_NAMES):
            param.data = param.data.to(dtype)
    return model.to(device).eval()


__all__ = ["BridgeError", "Step3p7TextForCausalLM", "map_state_dict", "to_transformers", "to_transformers_config"]
