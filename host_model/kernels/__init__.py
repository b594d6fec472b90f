"""Hot-path kernels for the Step 3.5 host model, each a plain-torch reference plus a Triton version.

The model calls only the functions here; each call picks its backend from its tensors and
`AGENTOS_KERNELS` (see `select`). The torch path is the truth and runs everywhere; triton is imported
only when a call actually takes the triton path, so CPU-only installs never touch it.

Routing (`moe_route`) is torch on every backend: it is a sigmoid and a top-k over [T, E], small next
to the expert GEMMs and already one fused-enough pass in torch.
"""

from __future__ import annotations

from torch import Tensor

from host_model.kernels import attention_torch, moe_torch
from host_model.kernels.select import ENV_VAR, Backend, KernelBackendError, choose
from host_model.kernels.select import backend as _backend

__all__ = ["ENV_VAR", "KernelBackendError", "backend", "decode_attention", "moe_experts", "moe_route"]


def backend() -> Backend:
    """Which backend the calls use right now for CUDA tensors if there is a GPU, else CPU tensors."""
    return _backend()


def moe_route(
    router_logits: Tensor, router_bias: Tensor | None, top_k: int, *, scaling: float, normalize: bool
) -> tuple[Tensor, Tensor]:
    """Step 3.5 routing: s = sigmoid(logits fp32); ids = topk(s + bias, k) (bias only for selection);
    w = s.gather(ids); if normalize: w = w / (w.sum(-1, keepdim=True) + 1e-20); w = w * scaling.
    Returns (weights fp32 [T,k], ids int64 [T,k])."""
    return moe_torch.moe_route(router_logits, router_bias, top_k, scaling=scaling, normalize=normalize)


def moe_experts(
    x: Tensor,
    weights: Tensor,
    ids: Tensor,
    gate_proj: Tensor,
    up_proj: Tensor,
    down_proj: Tensor,
    *,
    limit: float | None,
) -> Tensor:
    """x [T,H]; gate_proj/up_proj [E,I,H]; down_proj [E,H,I]; returns
    sum_j weights[t,j] * down_e(min(silu(gate_e x), L) * clamp(up_e x, -L, L)) [T,H] in x.dtype
    (limit None or 0 = no clamp)."""
    if choose(x, gate_proj) == "triton":
        from host_model.kernels import moe_triton

        return moe_triton.moe_experts(x, weights, ids, gate_proj, up_proj, down_proj, limit=limit)
    return moe_torch.moe_experts(x, weights, ids, gate_proj, up_proj, down_proj, limit=limit)


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
    """One new query token per sequence against its cache slot. q [B,Hq,D]; k_cache/v_cache
    [N_slots,Hkv,S,D]; key_pos [N_slots,S] int64 (-1 = empty); slots, q_pos [B] int64. A key is visible iff
    0 <= key_pos <= q_pos and (window is None or key_pos > q_pos - window). GQA: q head h uses kv head
    h // (Hq // Hkv). Returns [B,Hq,D] in q.dtype (softmax in fp32); a query seeing no key gets zeros."""
    if choose(q, k_cache) == "triton":
        from host_model.kernels import attention_triton

        return attention_triton.decode_attention(q, k_cache, v_cache, key_pos, slots, q_pos, window=window, scale=scale)
    return attention_torch.decode_attention(q, k_cache, v_cache, key_pos, slots, q_pos, window=window, scale=scale)
