"""Plain-torch Step 3.5 MoE routing and routed experts: the reference every other backend must match.

Experts run grouped, not per token: assignments are sorted by expert id and each active expert does
one matmul over all its tokens, so the reference stays usable at real sizes (288 experts, top-8) and
its cost does not grow with the number of idle experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def moe_route(
    router_logits: Tensor, router_bias: Tensor | None, top_k: int, *, scaling: float, normalize: bool
) -> tuple[Tensor, Tensor]:
    """Sigmoid scores pick experts (bias only steers the choice), the unbiased scores weight them."""
    scores = torch.sigmoid(router_logits.float())
    choice = scores if router_bias is None else scores + router_bias.float()
    ids = torch.topk(choice, top_k, dim=-1).indices
    weights = scores.gather(-1, ids)
    if normalize:
        weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
    return weights * scaling, ids.to(torch.int64)


def swiglu(gate: Tensor, up: Tensor, limit: float | None) -> Tensor:
    """SwiGLU with Step 3.5's optional clamp (SwigluStep), computed in fp32 for bf16 inputs too."""
    g = F.silu(gate.float())
    u = up.float()
    if limit:
        g = g.clamp(max=limit)
        u = u.clamp(-limit, limit)
    return g * u


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
    """Weighted sum of each token's routed experts; matmuls in x.dtype, combine in fp32."""
    check_moe_shapes(x, weights, ids, gate_proj, up_proj, down_proj)
    num_tokens, top_k = ids.shape
    inter = gate_proj.shape[1]
    gate_up = fused_gate_up(gate_proj, up_proj)
    out = torch.zeros(num_tokens, x.shape[1], dtype=torch.float32, device=x.device)

    def expert_out(e: int, xs: Tensor) -> Tensor:
        if gate_up is not None:  # one matmul for both halves
            h = F.linear(xs, gate_up[e])
            act = swiglu(h[:, :inter], h[:, inter:], limit)
        else:
            act = swiglu(F.linear(xs, gate_proj[e]), F.linear(xs, up_proj[e]), limit)
        return F.linear(act.to(x.dtype), down_proj[e]).float()

    if num_tokens == 1:  # decode at batch 1: no grouping to do
        for e, w in zip(ids[0].tolist(), weights[0].float().unbind(), strict=True):
            out += expert_out(e, x) * w
        return out.to(x.dtype)
    flat_ids = ids.reshape(-1)
    order = torch.argsort(flat_ids, stable=True)
    token_of = order // top_k
    weight_of = weights.reshape(-1).float()[order]
    counts = torch.bincount(flat_ids, minlength=gate_proj.shape[0])
    start = 0
    for expert, count in enumerate(counts.tolist()):
        if count == 0:
            continue
        rows = token_of[start : start + count]
        out.index_add_(0, rows, expert_out(expert, x[rows]) * weight_of[start : start + count, None])
        start += count
    return out.to(x.dtype)


def fused_gate_up(gate_proj: Tensor, up_proj: Tensor) -> Tensor | None:
    """gate and up as one [E, 2I, H] tensor when they are the two halves of one (see moe.fuse_gate_up), else None."""
    experts, inter, hidden = gate_proj.shape
    if gate_proj.stride() != up_proj.stride() or gate_proj.stride(2) != 1 or gate_proj.stride(1) != hidden:
        return None
    if up_proj.data_ptr() != gate_proj.data_ptr() + inter * hidden * gate_proj.element_size():
        return None
    return gate_proj.as_strided((experts, 2 * inter, hidden), (gate_proj.stride(0), hidden, 1))


def check_moe_shapes(
    x: Tensor, weights: Tensor, ids: Tensor, gate_proj: Tensor, up_proj: Tensor, down_proj: Tensor
) -> None:
    """Fail with a readable message before a matmul fails with an opaque one."""
    if x.dim() != 2:
        raise ValueError(f"x must be [T, H], got {tuple(x.shape)}")
    num_tokens, hidden = x.shape
    if ids.dim() != 2 or ids.shape[0] != num_tokens or weights.shape != ids.shape:
        raise ValueError(
            f"weights/ids must both be [T, k] with T={num_tokens}, got {tuple(weights.shape)}, {tuple(ids.shape)}"
        )
    experts, inter, h = gate_proj.shape
    if h != hidden or up_proj.shape != gate_proj.shape or tuple(down_proj.shape) != (experts, hidden, inter):
        raise ValueError(
            f"expected gate/up [E, I, {hidden}] and down [E, {hidden}, I], got "
            f"{tuple(gate_proj.shape)}, {tuple(up_proj.shape)}, {tuple(down_proj.shape)}"
        )
