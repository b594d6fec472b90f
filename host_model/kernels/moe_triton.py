"""Triton routed experts for Step 3.5 MoE: a grouped (per-expert block) GEMM over sorted assignments.

Layout, after vLLM's fused_moe: the T*k (token, expert) assignments are sorted by expert and each
expert's run is padded to a multiple of BLOCK_M (`align_block_size`), so every M-block of rows
belongs to exactly one expert and can be a plain tiled GEMM against that expert's weights. Two
kernels: gate+up+SwiGLU (both projections share the activation tile loads, the [T*k, I] result is
never materialised twice) and down with the routing weight fused into the epilogue. A final sum over
k gives [T, H]. Weights are read with their own strides, so no repacking of the checkpoint is needed.

Importing this module imports triton; `host_model.kernels` only does so when the triton backend is
chosen.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from host_model.kernels.moe_torch import check_moe_shapes
from host_model.kernels.triton_dot import dot, dot_in_fp32, dot_precision

# Tokens per launch pair: bounds the fp32 [T*k, H] scratch (4096*8*4096*4 B = 512 MiB at real sizes).
TOKEN_CHUNK = 4096


@triton.jit
def _moe_gate_up_kernel(
    x_ptr, wg_ptr, wu_ptr, act_ptr, sorted_rows_ptr, block_expert_ptr,
    num_assign, hidden, inter, limit,
    stride_xt, stride_xh,
    stride_ge, stride_gi, stride_gh,
    stride_ue, stride_ui, stride_uh,
    stride_at, stride_ai,
    TOP_K: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    HAS_LIMIT: tl.constexpr, PRECISION: tl.constexpr, DOT_FP32: tl.constexpr,
):
    """act[row] = min(silu(x Wg^T), L) * clamp(x Wu^T, -L, L) for one M-block of one expert."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    expert = tl.load(block_expert_ptr + pid_m).to(tl.int64)
    if expert < 0:  # a block past the padded end: nothing to do
        return
    rows = tl.load(sorted_rows_ptr + pid_m * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    row_mask = rows < num_assign
    tokens = rows // TOP_K
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    n_mask = offs_n < inter
    acc_g = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    acc_u = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    wg_base = wg_ptr + expert * stride_ge + offs_n[None, :] * stride_gi
    wu_base = wu_ptr + expert * stride_ue + offs_n[None, :] * stride_ui
    for k0 in range(0, hidden, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        k_mask = offs_k < hidden
        a = tl.load(
            x_ptr + tokens[:, None] * stride_xt + offs_k[None, :] * stride_xh,
            mask=row_mask[:, None] & k_mask[None, :], other=0.0,
        )
        w_mask = k_mask[:, None] & n_mask[None, :]
        wg = tl.load(wg_base + offs_k[:, None] * stride_gh, mask=w_mask, other=0.0)
        wu = tl.load(wu_base + offs_k[:, None] * stride_uh, mask=w_mask, other=0.0)
        acc_g = dot(a, wg, acc_g, PRECISION, DOT_FP32)
        acc_u = dot(a, wu, acc_u, PRECISION, DOT_FP32)
    g = acc_g * tl.sigmoid(acc_g)
    u = acc_u
    if HAS_LIMIT:
        g = tl.minimum(g, limit)
        u = tl.minimum(tl.maximum(u, -limit), limit)
    act = g * u
    tl.store(
        act_ptr + rows[:, None] * stride_at + offs_n[None, :] * stride_ai,
        act.to(act_ptr.dtype.element_ty),
        mask=row_mask[:, None] & n_mask[None, :],
    )


@triton.jit
def _moe_down_kernel(
    act_ptr, wd_ptr, out_ptr, route_w_ptr, sorted_rows_ptr, block_expert_ptr,
    num_assign, hidden, inter,
    stride_at, stride_ai,
    stride_de, stride_dh, stride_di,
    stride_ot, stride_oh,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr,
    DOT_FP32: tl.constexpr,
):
    """out[row] = route_w[row] * act[row] Wd^T for one M-block of one expert (fp32 out)."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    expert = tl.load(block_expert_ptr + pid_m).to(tl.int64)
    if expert < 0:
        return
    rows = tl.load(sorted_rows_ptr + pid_m * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    row_mask = rows < num_assign
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    n_mask = offs_n < hidden
    acc = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    w_base = wd_ptr + expert * stride_de + offs_n[None, :] * stride_dh
    for k0 in range(0, inter, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        k_mask = offs_k < inter
        a = tl.load(
            act_ptr + rows[:, None] * stride_at + offs_k[None, :] * stride_ai,
            mask=row_mask[:, None] & k_mask[None, :], other=0.0,
        )
        w = tl.load(w_base + offs_k[:, None] * stride_di, mask=k_mask[:, None] & n_mask[None, :], other=0.0)
        acc = dot(a, w, acc, PRECISION, DOT_FP32)
    route_w = tl.load(route_w_ptr + rows, mask=row_mask, other=0.0)
    acc = acc * route_w[:, None]
    tl.store(
        out_ptr + rows[:, None] * stride_ot + offs_n[None, :] * stride_oh,
        acc,
        mask=row_mask[:, None] & n_mask[None, :],
    )


def align_block_size(ids: Tensor, num_experts: int, block_m: int) -> tuple[Tensor, Tensor]:
    """Sort assignments by expert and pad each expert's run to a multiple of block_m, without a host sync.

    Returns (sorted_rows int32 [num_blocks*block_m]: flat assignment index t*k+j, or T*k for padding;
    block_expert int32 [num_blocks]: the expert of each block, -1 past the end). num_blocks is the
    worst case cdiv(T*k, block_m) + min(E, T*k), so the grid size is known before the GPU answers.
    """
    flat = ids.reshape(-1)
    n = flat.numel()
    counts = torch.bincount(flat, minlength=num_experts)
    padded = (counts + block_m - 1) // block_m * block_m
    padded_end = torch.cumsum(padded, 0)
    padded_start = padded_end - padded
    unpadded_start = torch.cumsum(counts, 0) - counts
    order = torch.argsort(flat, stable=True)
    sorted_experts = flat[order]
    rank = torch.arange(n, device=ids.device) - unpadded_start[sorted_experts]
    dest = padded_start[sorted_experts] + rank
    num_blocks = triton.cdiv(n, block_m) + min(num_experts, n)
    sorted_rows = torch.full((num_blocks * block_m,), n, dtype=torch.int32, device=ids.device)
    sorted_rows[dest] = order.to(torch.int32)
    block_starts = torch.arange(num_blocks, device=ids.device) * block_m
    block_expert = torch.searchsorted(padded_end, block_starts, right=True)
    block_expert = torch.where(block_expert < num_experts, block_expert, -1).to(torch.int32)
    return sorted_rows, block_expert


def moe_experts(
    x: Tensor,
    weights: Tensor,
    ids: Tensor,
    gate_proj: Tensor,
    up_proj: Tensor,
    down_proj: Tensor,
    *,
    limit: float | None,
    block_m: int | None = None,
    block_n: int = 64,
    block_k: int = 64,
) -> Tensor:
    """Triton version of `moe_torch.moe_experts`; block sizes are overridable for tests and tuning."""
    check_moe_shapes(x, weights, ids, gate_proj, up_proj, down_proj)
    if not (x.dtype == gate_proj.dtype == up_proj.dtype == down_proj.dtype):
        raise ValueError(
            f"triton moe_experts needs x and expert weights in one dtype, got x {x.dtype}, "
            f"gate {gate_proj.dtype}, up {up_proj.dtype}, down {down_proj.dtype}"
        )
    num_tokens, top_k = ids.shape
    if num_tokens == 0:
        return torch.zeros_like(x)
    if num_tokens > TOKEN_CHUNK:
        parts = [
            moe_experts(
                x[i : i + TOKEN_CHUNK], weights[i : i + TOKEN_CHUNK], ids[i : i + TOKEN_CHUNK],
                gate_proj, up_proj, down_proj, limit=limit, block_m=block_m, block_n=block_n, block_k=block_k,
            )
            for i in range(0, num_tokens, TOKEN_CHUNK)
        ]
        return torch.cat(parts)
    num_experts, inter, hidden = gate_proj.shape
    num_assign = num_tokens * top_k
    if block_m is None:
        # Few rows per expert (decode): small M-blocks waste less padding; many (prefill): bigger tiles.
        block_m = 16 if num_assign <= 4 * num_experts else 64
    sorted_rows, block_expert = align_block_size(ids, num_experts, block_m)
    num_blocks = block_expert.numel()
    route_w = weights.reshape(-1).float().contiguous()
    act = torch.empty(num_assign, inter, dtype=x.dtype, device=x.device)
    out = torch.empty(num_assign, hidden, dtype=torch.float32, device=x.device)
    precision = dot_precision(x.dtype)
    # CPU tensors only run under the interpreter, whose dot multiplies bf16 as raw bits: upcast there.
    dot_fp32 = dot_in_fp32(x)
    _moe_gate_up_kernel[(num_blocks, triton.cdiv(inter, block_n))](
        x, gate_proj, up_proj, act, sorted_rows, block_expert,
        num_assign, hidden, inter, float(limit or 0.0),
        x.stride(0), x.stride(1),
        gate_proj.stride(0), gate_proj.stride(1), gate_proj.stride(2),
        up_proj.stride(0), up_proj.stride(1), up_proj.stride(2),
        act.stride(0), act.stride(1),
        TOP_K=top_k, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k,
        HAS_LIMIT=bool(limit), PRECISION=precision, DOT_FP32=dot_fp32,
    )
    _moe_down_kernel[(num_blocks, triton.cdiv(hidden, block_n))](
        act, down_proj, out, route_w, sorted_rows, block_expert,
        num_assign, hidden, inter,
        act.stride(0), act.stride(1),
        down_proj.stride(0), down_proj.stride(1), down_proj.stride(2),
        out.stride(0), out.stride(1),
        BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k, PRECISION=precision, DOT_FP32=dot_fp32,
    )
    return out.view(num_tokens, top_k, hidden).sum(dim=1).to(x.dtype)
