"""Plain-torch decode attention over a slot cache: the reference the Triton kernel must match.

The cache is addressed by absolute position per entry (`key_pos`), not by index, so the same code
serves full layers (entry i holds position i) and sliding layers (a ring buffer whose entries are in
any order). Visibility is decided from positions alone, which makes the ring's write order irrelevant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def visible_mask(key_pos: Tensor, q_pos: Tensor, window: int | None) -> Tensor:
    """[B, S] bool: filled, not in the query's future, and inside the sliding window if there is one."""
    qp = q_pos[:, None]
    mask = (key_pos >= 0) & (key_pos <= qp)
    if window is not None:
        mask &= key_pos > qp - window
    return mask


def decode_attention(
    q: Tensor,
    k_cache: Tensor,
    v_cache: Tensor,
    key_pos: Tensor,
    slots: Tensor,
    q_pos: Tensor,
    *,
    window: int | None,
    scale: float,
) -> Tensor:
    """One query token per sequence; scores, softmax and the weighted sum all in fp32.

    A query that sees no key at all gets zeros (not NaN), the same as the Triton kernel.
    """
    check_attention_shapes(q, k_cache, v_cache, key_pos, slots, q_pos)
    mask = visible_mask(key_pos[slots], q_pos, window)  # [B, S]
    out = F.scaled_dot_product_attention(
        q.float().unsqueeze(2), k_cache[slots].float(), v_cache[slots].float(), attn_mask=mask[:, None, None, :],
        scale=scale, enable_gqa=q.shape[1] != k_cache.shape[1])  # [B, Hq, 1, D]; one fused op
    out = out.squeeze(2)
    if not bool(mask.any(dim=-1).all()):  # SDPA gives NaN for a row with no visible key: zeros instead
        out = torch.where(mask.any(dim=-1)[:, None, None], out, torch.zeros_like(out))
    return out.to(q.dtype)


def check_attention_shapes(
    q: Tensor, k_cache: Tensor, v_cache: Tensor, key_pos: Tensor, slots: Tensor, q_pos: Tensor
) -> None:
    """Fail with a readable message rather than an opaque broadcast error deep inside the math."""
    if q.dim() != 3 or k_cache.dim() != 4:
        raise ValueError(
            f"q must be [B, Hq, D] and k_cache [N_slots, Hkv, S, D], got {tuple(q.shape)}, {tuple(k_cache.shape)}"
        )
    batch, num_q_heads, head_dim = q.shape
    n_slots, num_kv_heads, seq, d = k_cache.shape
    if v_cache.shape != k_cache.shape or d != head_dim:
        raise ValueError(
            f"v_cache {tuple(v_cache.shape)} / k_cache {tuple(k_cache.shape)} / q head_dim {head_dim} disagree"
        )
    if num_q_heads % num_kv_heads:
        raise ValueError(f"Hq={num_q_heads} is not a multiple of Hkv={num_kv_heads}")
    if tuple(key_pos.shape) != (n_slots, seq):
        raise ValueError(f"key_pos must be [N_slots, S] = {(n_slots, seq)}, got {tuple(key_pos.shape)}")
    if tuple(slots.shape) != (batch,) or tuple(q_pos.shape) != (batch,):
        raise ValueError(f"slots and q_pos must be [B] with B={batch}, got {tuple(slots.shape)}, {tuple(q_pos.shape)}")
