"""The small pieces every Step 3.5 block is made of: zero-centred RMSNorm, RoPE tables, SwiGLU MLP."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from host_model.config import RopeScaling


class RMSNorm(nn.Module):
    """Gemma-style RMSNorm, `x / rms(x) * (1 + w)`: the checkpoint stores w around 0, not around 1."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)  # one fused op instead of five
        return (normed * (1.0 + self.weight.float())).to(x.dtype)


def rope_inv_freq(theta: float, rotary_dim: int, scaling: RopeScaling | None) -> torch.Tensor:
    """Inverse frequencies of one layer's rotary embedding, llama3-scaled when `scaling` is given."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim))
    if scaling is None or scaling.rope_type not in ("llama3",):
        return inv_freq.float()
    old_len = scaling.original_max_position_embeddings
    low_wavelen = old_len / scaling.low_freq_factor
    high_wavelen = old_len / scaling.high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / scaling.factor, inv_freq)
    smooth = (old_len / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor)
    smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, smoothed, scaled).float()


def rope_cos_sin(inv_freq: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables [B, T, rotary_dim / 2] for absolute `positions` [B, T]."""
    freqs = positions.unsqueeze(-1).float() * inv_freq.to(positions.device)
    return freqs.cos(), freqs.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Neox half-split rotation of the first `2 * cos.shape[-1]` dims of x [B, T, heads, D]; the rest pass."""
    half = cos.shape[-1]
    if half == 0:
        return x
    rot, rest = x[..., : 2 * half].float(), x[..., 2 * half:]
    x1, x2 = rot[..., :half], rot[..., half:]
    c, s = cos.unsqueeze(2), sin.unsqueeze(2)
    rotated = torch.cat((x1 * c - x2 * s, x2 * c + x1 * s), dim=-1).to(x.dtype)
    return torch.cat((rotated, rest), dim=-1) if rest.shape[-1] else rotated


def swiglu(gate: torch.Tensor, up: torch.Tensor, limit: float | None) -> torch.Tensor:
    """`silu(gate) * up`, with Step 3.5's clamp `min(silu(g), L) * clamp(u, -L, L)` where a limit is set."""
    act = F.silu(gate)
    if limit:
        act = act.clamp(max=limit)
        up = up.clamp(min=-limit, max=limit)
    return act * up


class MLP(nn.Module):
    """SwiGLU feed-forward: the dense layers, the shared expert and the MTP blocks."""

    def __init__(self, hidden: int, intermediate: int, limit: float | None) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(swiglu(self.gate_proj(x), self.up_proj(x), self.limit))
