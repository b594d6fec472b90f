"""Step 3.5 attention: GQA with per-head q/k norm, partial RoPE, a sliding window on 3 of 4 layers,
and a sigmoid gate per head.

Three paths share the projections: no cache (training, fidelity tests), one new token per
sequence (decode: the kernel in `host_model.kernels`), and several new tokens against a cache
(prefill, chunked prefill, speculative verification). Masks are built from absolute positions,
so the same code serves ring buffers and full caches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from host_model.config import LayerSpec
from host_model.kernels import ops
from host_model.kv_cache import LayerKV
from host_model.layers import RMSNorm, apply_rope


def visible(key_pos: torch.Tensor, q_pos: torch.Tensor, window: int | None) -> torch.Tensor:
    """Mask [B, Tq, Tk]: a query at p sees keys at p - window + 1 .. p (all keys <= p on full layers)."""
    k = key_pos.unsqueeze(1)
    q = q_pos.unsqueeze(2)
    mask = (k >= 0) & (k <= q)
    if window is not None:
        mask &= k > q - window
    return mask


class Attention(nn.Module):
    def __init__(self, spec: LayerSpec, hidden: int, eps: float, *, head_gate: bool) -> None:
        super().__init__()
        self.spec = spec
        self.num_heads, self.num_kv_heads, self.head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
        self.q_proj = nn.Linear(hidden, self.num_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, hidden, bias=False)
        self.q_norm = RMSNorm(self.head_dim, eps)
        self.k_norm = RMSNorm(self.head_dim, eps)
        self.g_proj = nn.Linear(hidden, self.num_heads, bias=False) if head_gate else None
        self.scale = self.head_dim ** -0.5

    def forward(self, x: torch.Tensor, positions: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor],
                cache: LayerKV | None = None, slots: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, T, hidden] (already normed), positions [B, T]; returns [B, T, hidden]."""
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.num_heads, self.head_dim))
        k = self.k_norm(self.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim))
        v = self.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim)
        cos, sin = rope
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, D]
        window = self.spec.window

        if cache is None:
            out = self._attend(q, k, v, positions, positions, window)
        elif t == 1 and torch.compiler.is_compiling():
            # compiled decode: reading the whole preallocated slot costs microseconds in generated code,
            # so the write and the attention stay in the graph instead of an opaque op
            assert slots is not None
            cache.write(slots, positions, k, v)
            out = self._attend(q, cache.k[slots], cache.v[slots], cache.pos[slots], positions, window)
        elif t == 1:
            assert slots is not None
            out = ops.decode_attention_step(q[:, :, 0], k, v, cache.k, cache.v, cache.pos, slots, positions,
                                            cache.ring, window or 0, self.scale).unsqueeze(2)
        else:
            assert slots is not None
            upto = int(positions.max()) + 1
            old_k, old_v, old_pos = cache.gather(slots, upto)
            out = self._attend(q, torch.cat((old_k, k.to(old_k.dtype)), 2), torch.cat((old_v, v.to(old_v.dtype)), 2),
                               torch.cat((old_pos, positions), 1), positions, window)
            cache.write(slots, positions, k, v)

        out = out.transpose(1, 2)  # [B, T, heads, D]
        if self.g_proj is not None:
            out = out * torch.sigmoid(self.g_proj(x)).unsqueeze(-1).to(out.dtype)
        return self.o_proj(out.reshape(b, t, self.num_heads * self.head_dim))

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_pos: torch.Tensor,
                q_pos: torch.Tensor, window: int | None) -> torch.Tensor:
        mask = visible(key_pos, q_pos, window).unsqueeze(1)
        return F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), attn_mask=mask, scale=self.scale,
                                              enable_gqa=self.num_heads != self.num_kv_heads)
