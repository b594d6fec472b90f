"""Plain, slow, independent reference of the Step 3.5 ("step3p5") forward pass, for fidelity tests.

Written from /work/shared/research/step3p5_spec.md only (never from host_model/), so a bug in the
optimised model is not silently copied here. Everything is fp32, there is no KV cache, and the
attention / MoE maths is spelled out with python loops over heads, positions, tokens and experts.
It is meant for ~40 tokens on the tiny config in tests/fixtures/step3p5_tiny_config.json.

Conventions (the optimised engine must match these):

- RMSNorm is zero-centred: ``y = x / sqrt(mean(x^2) + eps) * (1 + w)``, computed in fp32.
- Sliding window ``W``: the query at position ``p`` sees keys ``p-W+1 .. p`` (itself + W-1 older).
- GQA: query head ``h`` reads kv head ``h // (Hq // Hkv)``.
- RoPE is neox / half-split style on the first ``rotary_dim = int(head_dim * partial_rotary_factor)``
  dims of each q/k head, applied after q_norm / k_norm; the remaining dims pass through.
- ``rope_scaling`` (llama3 only) applies to layers whose type is in ``yarn_only_types``
  (all layers when that list is absent), computed exactly like transformers'
  ``_compute_llama3_parameters``.
- Head-wise gate: ``o[p, h] *= sigmoid(g_proj(x_normed)[p, h])`` before ``o_proj``.
- Layer ``i`` is MoE iff ``i`` is in ``moe_layers_enum`` (default ``1 .. L-1``, as vLLM); others,
  including the MTP blocks, use the dense SwiGLU MLP.
- SwiGLU with limit ``L`` (0 / None = no clamp): ``min(silu(g), L) * clamp(u, -L, L)``; the dense
  MLP and the shared expert use ``swiglu_limits_shared[i]``, routed experts ``swiglu_limits[i]``.
- Router: ``s = sigmoid(x @ Wr^T)``; experts = top-k of ``s + router_bias`` (bias only selects);
  weights ``s[idx] / (sum + 1e-20)`` when ``norm_expert_weight``; times ``moe_router_scaling_factor``;
  the shared expert is added unscaled.
- Per-layer lists (``layer_types``, ``rope_theta``, ``partial_rotary_factors``, ``swiglu_limits*``)
  have length ``num_hidden_layers + num_nextn_predict_layers``; MTP depth ``k`` uses index ``L + k``
  (an ``mtp_<field>`` list, when present, overrides it for MTP depths).

MTP convention (see ``reference_mtp_logits``): depth ``k`` at position ``t`` (``t = 0 .. T-k-2``)
reads ``e = enorm(embed(tok[t+k+1]))`` and ``h = hnorm(h_prev[t])``, where ``h_prev`` is the main
model's last hidden state *before* the final norm for ``k = 0`` and depth ``k-1``'s block output
*before* its ``shared_head.norm`` otherwise; ``x = eh_proj(cat([e, h]))``; ``x`` runs through the
depth's own decoder block, attending over the depth's own positions ``0 .. t`` (sliding window by
that layer's type) with RoPE position ``t``; ``logits = shared_head.output(shared_head.norm(x))``
predicts ``tok[t+k+2]``. MTP layers store NO ``embed_tokens``: they share ``model.embed_tokens``.

Checkpoint tensor names produced by ``random_step3p5_weights`` (HF step3p5 layout; H = hidden,
V = vocab, d = head_dim, Hq / Hkv = per-layer q / kv heads, I = intermediate_size,
E = moe_num_experts, Im = moe_intermediate_size, Is = share_expert_dim, L = num_hidden_layers):

======================================================  ==================
name                                                    shape
======================================================  ==================
model.embed_tokens.weight                               [V, H]
model.norm.weight                                       [H]
lm_head.weight                                          [V, H]
model.layers.{i}.input_layernorm.weight                 [H]
model.layers.{i}.post_attention_layernorm.weight        [H]
model.layers.{i}.self_attn.q_proj.weight                [Hq*d, H]
model.layers.{i}.self_attn.k_proj.weight                [Hkv*d, H]
model.layers.{i}.self_attn.v_proj.weight                [Hkv*d, H]
model.layers.{i}.self_attn.o_proj.weight                [H, Hq*d]
model.layers.{i}.self_attn.q_norm.weight                [d]
model.layers.{i}.self_attn.k_norm.weight                [d]
model.layers.{i}.self_attn.g_proj.weight                [Hq, H]   (only with use_head_wise_attn_gate)
model.layers.{i}.mlp.gate_proj.weight                   [I, H]    (dense layers and MTP blocks)
model.layers.{i}.mlp.up_proj.weight                     [I, H]
model.layers.{i}.mlp.down_proj.weight                   [H, I]
model.layers.{i}.moe.gate.weight                        [E, H]    (MoE layers; router, fp32)
model.layers.{i}.moe.router_bias                        [E]       (fp32)
model.layers.{i}.moe.gate_proj.weight                   [E, Im, H]
model.layers.{i}.moe.up_proj.weight                     [E, Im, H]
model.layers.{i}.moe.down_proj.weight                   [E, H, Im]
model.layers.{i}.share_expert.gate_proj.weight          [Is, H]   (layer level, not under moe.)
model.layers.{i}.share_expert.up_proj.weight            [Is, H]
model.layers.{i}.share_expert.down_proj.weight          [H, Is]
model.layers.{L+k}.enorm.weight                         [H]       (MTP depth k, plus a full
model.layers.{L+k}.hnorm.weight                         [H]        decoder block under the same
model.layers.{L+k}.eh_proj.weight                       [H, 2H]    prefix, as for layer i above)
model.layers.{L+k}.shared_head.norm.weight              [H]
model.layers.{L+k}.shared_head.output.weight            [V, H]
======================================================  ==================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

Weights = dict[str, torch.Tensor]

# Std of a norm weight around 0, so that the (1 + w) scale is visibly not 1.
_NORM_STD = 0.1
# Std of router_bias: comparable to the spread of sigmoid scores, so it really changes the top-k.
_ROUTER_BIAS_STD = 0.1


# ----------------------------------------------------------------------------------------------
# Config helpers
# ----------------------------------------------------------------------------------------------


def num_layers_total(config: dict[str, Any]) -> int:
    """Main layers plus MTP layers: the length every per-layer list must cover."""
    return int(config["num_hidden_layers"]) + int(config.get("num_nextn_predict_layers", 0) or 0)


def _per_layer(config: dict[str, Any], key: str, layer: int, default: Any = None) -> Any:
    """Per-layer value of `key` (a list, or one scalar for every layer); `mtp_<key>` wins for MTP layers."""
    num_main = int(config["num_hidden_layers"])
    if layer >= num_main and isinstance(config.get(f"mtp_{key}"), list):
        return config[f"mtp_{key}"][layer - num_main]
    value = config.get(key, default)
    if isinstance(value, list):
        if layer >= len(value):
            raise ValueError(f"config[{key!r}] has {len(value)} entries, layer {layer} needs one")
        return value[layer]
    return value


def layer_type(config: dict[str, Any], layer: int) -> str:
    """'full_attention' or 'sliding_attention' for a main or MTP layer."""
    return str(_per_layer(config, "layer_types", layer, "full_attention"))


def moe_layer_ids(config: dict[str, Any]) -> set[int]:
    """Layers with an MoE FFN: `moe_layers_enum` ("2,3,..." or a list), else 1..L-1 like vLLM."""
    value = config.get("moe_layers_enum")
    if value is None:
        return set(range(1, int(config["num_hidden_layers"])))
    items = value.split(",") if isinstance(value, str) else value
    return {int(item) for item in items if str(item).strip()}


def swiglu_limit(config: dict[str, Any], key: str, layer: int) -> float | None:
    """Clamp bound for `swiglu_limits` / `swiglu_limits_shared` at `layer`; None when 0 / null / absent."""
    if not config.get(key) and not config.get(f"mtp_{key}"):
        return None
    value = _per_layer(config, key, layer)
    return float(value) if value else None


@dataclass(frozen=True)
class LayerGeometry:
    """Everything the attention of one layer needs, resolved from the per-layer config fields."""

    sliding: bool
    num_q_heads: int
    num_kv_heads: int
    head_dim: int
    window: int | None
    rope_theta: float
    rotary_dim: int
    rope_scaling: dict[str, Any] | None
    use_rope: bool
    gated: bool


def layer_geometry(config: dict[str, Any], layer: int) -> LayerGeometry:
    """Heads / window / RoPE of `layer`; sliding layers take heads from `attention_other_setting`."""
    kind = layer_type(config, layer)
    num_q_heads = int(config["num_attention_heads"])
    num_kv_heads = int(config["num_attention_groups"])
    head_dim = int(config.get("head_dim") or config["hidden_size"] // num_q_heads)
    other = config.get("attention_other_setting") or {}
    if other and other.get("attention_type") == kind:
        num_q_heads = int(other.get("num_attention_heads", num_q_heads))
        num_kv_heads = int(other.get("num_attention_groups", num_kv_heads))
        head_dim = int(other.get("head_dim", head_dim))
    sliding = kind == "sliding_attention"
    window = config.get("sliding_window") if sliding else None
    factor = float(_per_layer(config, "partial_rotary_factors", layer, 1.0))
    yarn_only = config.get("yarn_only_types")
    scaling = config.get("rope_scaling")
    if yarn_only and kind not in yarn_only:
        scaling = None
    use_rope_layers = config.get("use_rope_layers") or []
    return LayerGeometry(
        sliding=sliding,
        num_q_heads=num_q_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        window=int(window) if window else None,
        rope_theta=float(_per_layer(config, "rope_theta", layer, 10000.0)),
        rotary_dim=int(head_dim * factor),
        rope_scaling=scaling,
        use_rope=bool(use_rope_layers[layer]) if use_rope_layers else True,
        gated=bool(config.get("use_head_wise_attn_gate", False)),
    )


# ----------------------------------------------------------------------------------------------
# Random weights
# ----------------------------------------------------------------------------------------------


def _swiglu_input_std(limit: float | None, fan_in: int) -> tuple[float, float]:
    """(gate/up std, activation rms guess): with a clamp, pre-activations reach past it so it really bites."""
    if limit is None:
        return 1.0 / math.sqrt(fan_in), 1.0
    pre_act_std = 0.6 * limit  # ~5-10% of gate/up entries exceed the limit
    return pre_act_std / math.sqrt(fan_in), pre_act_std * pre_act_std / 2.0


def random_step3p5_weights(config: dict[str, Any], seed: int = 0) -> Weights:
    """Every tensor of an HF step3p5 checkpoint (real names and shapes), random, scaled to keep activations O(1).

    MTP layers share `model.embed_tokens` (no per-layer embed_tokens is generated). FFNs with a SwiGLU limit
    get gate/up weights large enough that the clamp really bites (else a clamp bug would go unseen).
    """
    gen = torch.Generator().manual_seed(seed)
    hidden = int(config["hidden_size"])
    vocab = int(config["vocab_size"])
    moe_ids = moe_layer_ids(config)

    def normal(shape: tuple[int, ...], std: float) -> torch.Tensor:
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std

    def norm_weight(size: int) -> torch.Tensor:
        return normal((size,), _NORM_STD)

    def swiglu(prefix: str, inter: int, limit: float | None, experts: int | None = None) -> None:
        gate_up_std, act_rms = _swiglu_input_std(limit, hidden)
        down_std = 1.0 / (math.sqrt(inter) * act_rms)
        lead = () if experts is None else (experts,)
        weights[f"{prefix}.gate_proj.weight"] = normal((*lead, inter, hidden), gate_up_std)
        weights[f"{prefix}.up_proj.weight"] = normal((*lead, inter, hidden), gate_up_std)
        weights[f"{prefix}.down_proj.weight"] = normal((*lead, hidden, inter), down_std)

    weights: Weights = {
        "model.embed_tokens.weight": normal((vocab, hidden), 1.0),
        "model.norm.weight": norm_weight(hidden),
        "lm_head.weight": normal((vocab, hidden), 1.0 / math.sqrt(hidden)),
    }
    num_main = int(config["num_hidden_layers"])
    for layer in range(num_layers_total(config)):
        p = f"model.layers.{layer}"
        geo = layer_geometry(config, layer)
        q_dim, kv_dim = geo.num_q_heads * geo.head_dim, geo.num_kv_heads * geo.head_dim
        weights[f"{p}.input_layernorm.weight"] = norm_weight(hidden)
        weights[f"{p}.post_attention_layernorm.weight"] = norm_weight(hidden)
        weights[f"{p}.self_attn.q_proj.weight"] = normal((q_dim, hidden), 1.0 / math.sqrt(hidden))
        weights[f"{p}.self_attn.k_proj.weight"] = normal((kv_dim, hidden), 1.0 / math.sqrt(hidden))
        weights[f"{p}.self_attn.v_proj.weight"] = normal((kv_dim, hidden), 1.0 / math.sqrt(hidden))
        weights[f"{p}.self_attn.o_proj.weight"] = normal((hidden, q_dim), 1.0 / math.sqrt(q_dim))
        weights[f"{p}.self_attn.q_norm.weight"] = norm_weight(geo.head_dim)
        weights[f"{p}.self_attn.k_norm.weight"] = norm_weight(geo.head_dim)
        if geo.gated:
            weights[f"{p}.self_attn.g_proj.weight"] = normal((geo.num_q_heads, hidden), 1.0 / math.sqrt(hidden))
        if layer in moe_ids:
            experts = int(config["moe_num_experts"])
            weights[f"{p}.moe.gate.weight"] = normal((experts, hidden), 1.0 / math.sqrt(hidden))
            weights[f"{p}.moe.router_bias"] = normal((experts,), _ROUTER_BIAS_STD)
            limit = swiglu_limit(config, "swiglu_limits", layer)
            swiglu(f"{p}.moe", int(config["moe_intermediate_size"]), limit, experts=experts)
            shared_limit = swiglu_limit(config, "swiglu_limits_shared", layer)
            swiglu(f"{p}.share_expert", int(config["share_expert_dim"]), shared_limit)
        else:
            swiglu(f"{p}.mlp", int(config["intermediate_size"]), swiglu_limit(config, "swiglu_limits_shared", layer))
        if layer >= num_main:
            weights[f"{p}.enorm.weight"] = norm_weight(hidden)
            weights[f"{p}.hnorm.weight"] = norm_weight(hidden)
            weights[f"{p}.eh_proj.weight"] = normal((hidden, 2 * hidden), 1.0 / math.sqrt(2 * hidden))
            weights[f"{p}.shared_head.norm.weight"] = norm_weight(hidden)
            weights[f"{p}.shared_head.output.weight"] = normal((vocab, hidden), 1.0 / math.sqrt(hidden))
    return weights


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Zero-centred (Gemma-style) RMSNorm over the last dim: x / rms(x) * (1 + w)."""
    x = x.float()
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight.float())


def rope_inv_freq(geo: LayerGeometry) -> torch.Tensor:
    """Inverse frequencies [rotary_dim / 2], llama3-scaled when the layer has rope_scaling (as transformers)."""
    dim = geo.rotary_dim
    inv_freq = 1.0 / (geo.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = geo.rope_scaling
    if scaling is None or scaling.get("rope_type", scaling.get("type", "default")) == "default":
        return inv_freq
    if scaling.get("rope_type", scaling.get("type")) != "llama3":
        raise NotImplementedError(f"rope_scaling {scaling!r} is not in the step3p5 spec")
    factor = float(scaling["factor"])
    low_freq_factor = float(scaling["low_freq_factor"])
    high_freq_factor = float(scaling["high_freq_factor"])
    old_context_len = float(scaling["original_max_position_embeddings"])
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    out = inv_freq.clone()
    for j in range(inv_freq.numel()):
        wavelen = 2 * math.pi / inv_freq[j]
        if wavelen < high_freq_wavelen:
            continue  # high frequency: unchanged
        if wavelen > low_freq_wavelen:
            out[j] = inv_freq[j] / factor  # low frequency: fully interpolated
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out[j] = (1 - smooth) * inv_freq[j] / factor + smooth * inv_freq[j]
    return out


def apply_rope(x: torch.Tensor, position: int, inv_freq: torch.Tensor, geo: LayerGeometry) -> torch.Tensor:
    """Rotate one head vector [head_dim] at `position`: neox half-split on the first rotary_dim dims."""
    if not geo.use_rope or geo.rotary_dim == 0:
        return x
    half = geo.rotary_dim // 2
    angles = torch.tensor(float(position)) * inv_freq
    cos, sin = angles.cos(), angles.sin()
    x1, x2, rest = x[:half], x[half : geo.rotary_dim], x[geo.rotary_dim :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest])


def visible_keys(position: int, window: int | None) -> range:
    """Key positions the query at `position` attends to: causal, and the last `window` of them when sliding."""
    start = 0 if window is None else max(0, position - window + 1)
    return range(start, position + 1)


def swiglu_mlp(
    x: torch.Tensor, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor, limit: float | None
) -> torch.Tensor:
    """down(min(silu(gate x), L) * clamp(up x, -L, L)); no clamp when limit is None."""
    g = F.silu(x @ gate.T)
    u = x @ up.T
    if limit is not None:
        g = torch.clamp(g, max=limit)
        u = torch.clamp(u, min=-limit, max=limit)
    return (g * u) @ down.T


def attention(config: dict[str, Any], weights: Weights, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Self-attention of `layer` on the normed input x [T, H]; positions are 0..T-1."""
    p = f"model.layers.{layer}.self_attn"
    geo = layer_geometry(config, layer)
    eps = float(config["rms_norm_eps"])
    seq = x.shape[0]
    d = geo.head_dim
    q = (x @ weights[f"{p}.q_proj.weight"].T).view(seq, geo.num_q_heads, d)
    k = (x @ weights[f"{p}.k_proj.weight"].T).view(seq, geo.num_kv_heads, d)
    v = (x @ weights[f"{p}.v_proj.weight"].T).view(seq, geo.num_kv_heads, d)
    q = rms_norm(q, weights[f"{p}.q_norm.weight"], eps)
    k = rms_norm(k, weights[f"{p}.k_norm.weight"], eps)
    inv_freq = rope_inv_freq(geo)
    q = torch.stack([torch.stack([apply_rope(head, t, inv_freq, geo) for head in q[t]]) for t in range(seq)])
    k = torch.stack([torch.stack([apply_rope(head, t, inv_freq, geo) for head in k[t]]) for t in range(seq)])
    gate = torch.sigmoid(x @ weights[f"{p}.g_proj.weight"].T) if geo.gated else None
    group = geo.num_q_heads // geo.num_kv_heads
    out = torch.zeros(seq, geo.num_q_heads, d)
    for h in range(geo.num_q_heads):
        kv_head = h // group
        for t in range(seq):
            keys = list(visible_keys(t, geo.window))
            scores = (k[keys, kv_head] @ q[t, h]) / math.sqrt(d)  # one score per visible key
            probs = torch.softmax(scores, dim=0)
            out[t, h] = probs @ v[keys, kv_head]
            if gate is not None:
                out[t, h] = out[t, h] * gate[t, h]
    return out.reshape(seq, geo.num_q_heads * d) @ weights[f"{p}.o_proj.weight"].T


def moe(config: dict[str, Any], weights: Weights, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Sigmoid-routed MoE with router bias (selection only), normalised top-k weights, shared expert."""
    p = f"model.layers.{layer}"
    top_k = int(config["moe_top_k"])
    scale = float(config.get("moe_router_scaling_factor", 1.0))
    limit = swiglu_limit(config, "swiglu_limits", layer)
    shared_limit = swiglu_limit(config, "swiglu_limits_shared", layer)
    gate_w, up_w, down_w = (weights[f"{p}.moe.{n}_proj.weight"] for n in ("gate", "up", "down"))
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        scores = torch.sigmoid(x[t].float() @ weights[f"{p}.moe.gate.weight"].float().T)
        chosen = torch.topk(scores + weights[f"{p}.moe.router_bias"].float(), top_k).indices.tolist()
        picked = scores[chosen]
        if config.get("norm_expert_weight", True):
            picked = picked / (picked.sum() + 1e-20)
        picked = picked * scale
        for weight, expert in zip(picked, chosen, strict=True):
            out[t] += weight * swiglu_mlp(x[t], gate_w[expert], up_w[expert], down_w[expert], limit)
        out[t] += swiglu_mlp(
            x[t],
            weights[f"{p}.share_expert.gate_proj.weight"],
            weights[f"{p}.share_expert.up_proj.weight"],
            weights[f"{p}.share_expert.down_proj.weight"],
            shared_limit,
        )
    return out


def decoder_layer(config: dict[str, Any], weights: Weights, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Pre-norm block: h = x + Attn(norm(x)); out = h + FFN(norm(h))."""
    p = f"model.layers.{layer}"
    eps = float(config["rms_norm_eps"])
    h = x + attention(config, weights, layer, rms_norm(x, weights[f"{p}.input_layernorm.weight"], eps))
    normed = rms_norm(h, weights[f"{p}.post_attention_layernorm.weight"], eps)
    if layer in moe_layer_ids(config):
        ffn = moe(config, weights, layer, normed)
    else:
        limit = swiglu_limit(config, "swiglu_limits_shared", layer)
        mlp = [weights[f"{p}.mlp.{n}_proj.weight"] for n in ("gate", "up", "down")]
        ffn = swiglu_mlp(normed, *mlp, limit)
    return h + ffn


# ----------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------


def reference_hidden(config: dict[str, Any], weights: Weights, input_ids: list[int]) -> torch.Tensor:
    """Last hidden state [T, H] of the main model, BEFORE the final norm (what MTP depth 0 reads)."""
    x = weights["model.embed_tokens.weight"][torch.tensor(input_ids)].float()
    for layer in range(int(config["num_hidden_layers"])):
        x = decoder_layer(config, weights, layer, x)
    return x


def reference_logits(config: dict[str, Any], weights: Weights, input_ids: list[int]) -> torch.Tensor:
    """Next-token logits [T, V] of the main model for one sequence."""
    hidden = reference_hidden(config, weights, input_ids)
    normed = rms_norm(hidden, weights["model.norm.weight"], float(config["rms_norm_eps"]))
    return normed @ weights["lm_head.weight"].float().T


def reference_mtp_logits(config: dict[str, Any], weights: Weights, input_ids: list[int]) -> list[torch.Tensor]:
    """MTP logits per depth k: a [T-k-1, V] tensor whose row t predicts tok[t+k+2].

    Depth k at position t (t = 0 .. T-k-2): e = enorm(embed(tok[t+k+1])), h = hnorm(h_prev[t]) where
    h_prev is the main model's last hidden state before the final norm (k = 0) or depth k-1's block
    output before its shared_head.norm (k > 0); x = eh_proj(cat([e, h])); x runs through the decoder
    block of layer L+k over the depth's own positions 0..t (sliding window per that layer's type),
    RoPE position t; logits = shared_head.output(shared_head.norm(x)). Embeddings are model.embed_tokens.
    """
    eps = float(config["rms_norm_eps"])
    num_main = int(config["num_hidden_layers"])
    seq = len(input_ids)
    embed = weights["model.embed_tokens.weight"].float()
    previous = reference_hidden(config, weights, input_ids)
    results: list[torch.Tensor] = []
    for depth in range(int(config.get("num_nextn_predict_layers", 0) or 0)):
        p = f"model.layers.{num_main + depth}"
        count = seq - depth - 1
        if count <= 0:
            results.append(torch.zeros(0, int(config["vocab_size"])))
            continue
        e = rms_norm(embed[torch.tensor(input_ids[depth + 1 : depth + 1 + count])], weights[f"{p}.enorm.weight"], eps)
        h = rms_norm(previous[:count], weights[f"{p}.hnorm.weight"], eps)
        x = torch.cat([e, h], dim=-1) @ weights[f"{p}.eh_proj.weight"].T
        x = decoder_layer(config, weights, num_main + depth, x)
        normed = rms_norm(x, weights[f"{p}.shared_head.norm.weight"], eps)
        results.append(normed @ weights[f"{p}.shared_head.output.weight"].float().T)
        previous = x
    return results
