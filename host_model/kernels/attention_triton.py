"""Triton decode attention (flash-decoding): split the cache length, online softmax, then combine.

Decode has one query per sequence, so a program per (sequence, head) would leave the GPU idle and
read each KV head many times. Instead one program handles a (sequence, kv head, split) and all the q
heads of that kv head's GQA group together (one K/V read serves the group, and the group's scores
are a small matmul). The cache length is cut into splits so that even batch 1 fills the GPU; a second
kernel merges the per-split partial results with their softmax statistics.

Cache blocks with no visible key (empty ring entries, the unused tail of a full-layer cache, or keys
outside the window) are skipped before K/V are loaded, so cost follows what is visible, not capacity.

Importing this module imports triton; `host_model.kernels` only does so when the triton backend is
chosen.
"""

from __future__ import annotations

from functools import cache

import torch
import triton
import triton.language as tl
from torch import Tensor

from host_model.kernels.attention_torch import check_attention_shapes
from host_model.kernels.triton_dot import dot, dot_in_fp32, dot_precision


@triton.jit
def _decode_split_kernel(
    q_ptr, k_ptr, v_ptr, kpos_ptr, slots_ptr, qpos_ptr,
    mid_o_ptr, mid_m_ptr, mid_l_ptr,
    scale, window, seq_len, split_len,
    stride_qb, stride_qh, stride_qd,
    stride_kn, stride_kh, stride_ks, stride_kd,
    stride_vn, stride_vh, stride_vs, stride_vd,
    stride_pn, stride_ps,
    stride_ob, stride_oh, stride_os, stride_od,
    stride_mb, stride_mh, stride_ms,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr, HAS_WINDOW: tl.constexpr, PRECISION: tl.constexpr, DOT_FP32: tl.constexpr,
):
    """Unnormalised output, running max and running sum for one (sequence, kv head, split)."""
    b = tl.program_id(0)
    kvh = tl.program_id(1)
    split = tl.program_id(2)
    slot = tl.load(slots_ptr + b).to(tl.int64)
    qpos = tl.load(qpos_ptr + b).to(tl.int64)
    offs_h = tl.arange(0, BLOCK_H)
    offs_d = tl.arange(0, BLOCK_D)
    h_mask = offs_h < GROUP
    d_mask = offs_d < HEAD_DIM
    heads = kvh * GROUP + offs_h
    q = tl.load(
        q_ptr + b * stride_qb + heads[:, None] * stride_qh + offs_d[None, :] * stride_qd,
        mask=h_mask[:, None] & d_mask[None, :], other=0.0,
    )
    m_i = tl.full([BLOCK_H], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_H], dtype=tl.float32)
    acc = tl.zeros([BLOCK_H, BLOCK_D], dtype=tl.float32)
    k_base = k_ptr + slot * stride_kn + kvh * stride_kh
    v_base = v_ptr + slot * stride_vn + kvh * stride_vh
    start = split * split_len
    end = tl.minimum(start + split_len, seq_len)
    for n0 in range(start, end, BLOCK_N):
        offs_n = n0 + tl.arange(0, BLOCK_N)
        n_mask = offs_n < end
        kp = tl.load(kpos_ptr + slot * stride_pn + offs_n * stride_ps, mask=n_mask, other=-1)
        vis = n_mask & (kp >= 0) & (kp <= qpos)
        if HAS_WINDOW:
            vis = vis & (kp > qpos - window)
        if tl.sum(vis.to(tl.int32), axis=0) > 0:
            kv_mask = vis[:, None] & d_mask[None, :]
            k = tl.load(k_base + offs_n[:, None] * stride_ks + offs_d[None, :] * stride_kd, mask=kv_mask, other=0.0)
            s = dot(q, tl.trans(k), tl.zeros([BLOCK_H, BLOCK_N], dtype=tl.float32), PRECISION, DOT_FP32) * scale
            s = tl.where(vis[None, :], s, float("-inf"))
            # At least one key is visible, so m_new is finite and exp() below never sees inf - inf.
            m_new = tl.maximum(m_i, tl.max(s, axis=1))
            alpha = tl.exp(m_i - m_new)
            p = tl.exp(s - m_new[:, None])
            l_i = l_i * alpha + tl.sum(p, axis=1)
            v = tl.load(v_base + offs_n[:, None] * stride_vs + offs_d[None, :] * stride_vd, mask=kv_mask, other=0.0)
            acc = dot(p.to(v.dtype), v, acc * alpha[:, None], PRECISION, DOT_FP32)
            m_i = m_new
    o_ptrs = mid_o_ptr + b * stride_ob + heads[:, None] * stride_oh + split * stride_os + offs_d[None, :] * stride_od
    tl.store(o_ptrs, acc, mask=h_mask[:, None] & d_mask[None, :])
    m_off = b * stride_mb + heads * stride_mh + split * stride_ms
    tl.store(mid_m_ptr + m_off, m_i, mask=h_mask)
    tl.store(mid_l_ptr + m_off, l_i, mask=h_mask)


@triton.jit
def _decode_combine_kernel(
    mid_o_ptr, mid_m_ptr, mid_l_ptr, out_ptr,
    num_splits,
    stride_ob, stride_oh, stride_os, stride_od,
    stride_mb, stride_mh, stride_ms,
    stride_yb, stride_yh, stride_yd,
    HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """Merge the splits of one (sequence, q head) by their softmax statistics; no visible key -> zeros."""
    b = tl.program_id(0)
    h = tl.program_id(1)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, BLOCK_D)
    s_mask = offs_s < num_splits
    d_mask = offs_d < HEAD_DIM
    m_off = b * stride_mb + h * stride_mh + offs_s * stride_ms
    m = tl.load(mid_m_ptr + m_off, mask=s_mask, other=float("-inf"))
    lsum = tl.load(mid_l_ptr + m_off, mask=s_mask, other=0.0)
    m_max = tl.max(m, axis=0)
    m_safe = tl.where(m_max == float("-inf"), 0.0, m_max)
    w = tl.exp(m - m_safe)  # exp(-inf) = 0 for splits that saw nothing
    denom = tl.sum(w * lsum, axis=0)
    o = tl.load(
        mid_o_ptr + b * stride_ob + h * stride_oh + offs_s[:, None] * stride_os + offs_d[None, :] * stride_od,
        mask=s_mask[:, None] & d_mask[None, :], other=0.0,
    )
    num = tl.sum(o * w[:, None], axis=0)
    out = num / tl.where(denom > 0, denom, 1.0)
    y_ptrs = out_ptr + b * stride_yb + h * stride_yh + offs_d * stride_yd
    tl.store(y_ptrs, out.to(out_ptr.dtype.element_ty), mask=d_mask)


@cache
def _sm_count(device_index: int) -> int:
    """Streaming multiprocessors on a GPU; cached because the property query is not free."""
    return torch.cuda.get_device_properties(device_index).multi_processor_count


def _num_splits(batch: int, kv_heads: int, seq_len: int, block_n: int, device: torch.device) -> int:
    """Enough splits for about two programs per SM, never more than there are cache blocks."""
    blocks = triton.cdiv(seq_len, block_n)
    if device.type == "cuda":
        sms = _sm_count(device.index if device.index is not None else torch.cuda.current_device())
    else:
        sms = 4  # the CPU interpreter: a few splits still exercise the combine step
    want = triton.cdiv(2 * sms, batch * kv_heads)
    return max(1, min(blocks, want, 128))


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
    block_n: int = 64,
    num_splits: int | None = None,
) -> Tensor:
    """Triton version of `attention_torch.decode_attention`; block_n/num_splits overridable for tests."""
    check_attention_shapes(q, k_cache, v_cache, key_pos, slots, q_pos)
    if not (q.dtype == k_cache.dtype == v_cache.dtype):
        raise ValueError(f"triton decode_attention needs q, k_cache, v_cache in one dtype, got {q.dtype}, "
                         f"{k_cache.dtype}, {v_cache.dtype}")
    batch, num_q_heads, head_dim = q.shape
    num_kv_heads, seq_len = k_cache.shape[1], k_cache.shape[2]
    out = torch.empty_like(q)
    if batch == 0:
        return out
    group = num_q_heads // num_kv_heads
    splits = num_splits or _num_splits(batch, num_kv_heads, seq_len, block_n, q.device)
    split_len = triton.cdiv(triton.cdiv(seq_len, splits), block_n) * block_n
    splits = triton.cdiv(seq_len, split_len)
    mid_o = torch.empty(batch, num_q_heads, splits, head_dim, dtype=torch.float32, device=q.device)
    mid_m = torch.empty(batch, num_q_heads, splits, dtype=torch.float32, device=q.device)
    mid_l = torch.empty_like(mid_m)
    block_d = triton.next_power_of_2(head_dim)
    _decode_split_kernel[(batch, num_kv_heads, splits)](
        q, k_cache, v_cache, key_pos, slots, q_pos,
        mid_o, mid_m, mid_l,
        float(scale), int(window or 0), seq_len, split_len,
        q.stride(0), q.stride(1), q.stride(2),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), k_cache.stride(3),
        v_cache.stride(0), v_cache.stride(1), v_cache.stride(2), v_cache.stride(3),
        key_pos.stride(0), key_pos.stride(1),
        mid_o.stride(0), mid_o.stride(1), mid_o.stride(2), mid_o.stride(3),
        mid_m.stride(0), mid_m.stride(1), mid_m.stride(2),
        GROUP=group, HEAD_DIM=head_dim, BLOCK_H=max(16, triton.next_power_of_2(group)), BLOCK_N=block_n,
        BLOCK_D=block_d, HAS_WINDOW=window is not None, PRECISION=dot_precision(q.dtype),
        DOT_FP32=dot_in_fp32(q),
    )
    _decode_combine_kernel[(batch, num_q_heads)](
        mid_o, mid_m, mid_l, out,
        splits,
        mid_o.stride(0), mid_o.stride(1), mid_o.stride(2), mid_o.stride(3),
        mid_m.stride(0), mid_m.stride(1), mid_m.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        HEAD_DIM=head_dim, BLOCK_S=max(2, triton.next_power_of_2(splits)), BLOCK_D=block_d,
    )
    return out
