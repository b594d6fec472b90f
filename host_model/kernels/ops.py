"""The decode step's expert work (and, in eager mode, its cache write + attention) as torch custom ops.

`torch.compile` cannot trace a Python loop over the experts a token picked, or Triton launches, so
`moe_experts` is an opaque operator: a compiled decode step calls it like one matmul, and everything
around it (norms, RoPE, projections, attention, routing, residuals) fuses into generated code.
`decode_attention_step` serves the eager path, where one call that reads only the used part of the
cache beats a dozen small ops; a compiled step attends in the graph instead (attention.py).
"""

from __future__ import annotations

import torch
from torch import Tensor

from host_model import kernels
from host_model.kv_cache import LayerKV


@torch.library.custom_op("agentos::decode_attention_step", mutates_args=("k_cache", "v_cache", "key_pos"))
def decode_attention_step(q: Tensor, k: Tensor, v: Tensor, k_cache: Tensor, v_cache: Tensor, key_pos: Tensor,
                          slots: Tensor, positions: Tensor, ring: bool, window: int, scale: float) -> Tensor:
    """Store one new key/value per sequence, then attend over the slot's cache.

    q [B, Hq, D], k/v [B, Hkv, 1, D], positions [B, 1]; window 0 = full attention. Entries sit at
    index pos (full) or pos mod size (ring), so nothing past the newest position is read.
    """
    LayerKV(k_cache, v_cache, key_pos, ring).write(slots, positions, k, v)  # the ring slot held a position outside
    used = min(key_pos.shape[1], int(positions.max()) + 1)
    return kernels.decode_attention(q, k_cache[:, :, :used], v_cache[:, :, :used], key_pos[:, :used], slots,
                                    positions[:, 0], window=window or None, scale=scale)


@decode_attention_step.register_fake
def _(q: Tensor, k: Tensor, v: Tensor, k_cache: Tensor, v_cache: Tensor, key_pos: Tensor, slots: Tensor,
      positions: Tensor, ring: bool, window: int, scale: float) -> Tensor:
    return torch.empty_like(q)


@torch.library.custom_op("agentos::moe_experts", mutates_args=())
def moe_experts(x: Tensor, weights: Tensor, ids: Tensor, gate_proj: Tensor, up_proj: Tensor, down_proj: Tensor,
                limit: float) -> Tensor:
    """`kernels.moe_experts` (limit 0 = no clamp)."""
    return kernels.moe_experts(x, weights, ids, gate_proj, up_proj, down_proj, limit=limit or None)


@moe_experts.register_fake
def _(x: Tensor, weights: Tensor, ids: Tensor, gate_proj: Tensor, up_proj: Tensor, down_proj: Tensor,
      limit: float) -> Tensor:
    return torch.empty_like(x)
