"""Step 3.5's routed experts: a sigmoid router with a selection-only bias, top-k, renormalised
weights scaled by 3.0, and 288 SwiGLU experts stored packed as [E, I, H] tensors.

The shared expert is not here: the checkpoint keeps it at layer level (`share_expert`), so the
decoder layer adds it, and the names stay those of the checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from host_model import kernels
from host_model.config import LayerSpec, Step3p5Config
from host_model.kernels import moe_torch, ops


class Router(nn.Module):
    """`moe.gate.weight`, kept in fp32 as the checkpoint ships it (need_fp32_gate)."""

    def __init__(self, hidden: int, experts: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(experts, hidden, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.float(), self.weight.float())


class PackedExperts(nn.Module):
    """One projection of all experts as one [E, out, in] tensor, named `<proj>.weight` like the checkpoint."""

    def __init__(self, experts: int, out_features: int, in_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(experts, out_features, in_features))


class MoE(nn.Module):
    def __init__(self, config: Step3p5Config, spec: LayerSpec) -> None:
        super().__init__()
        e, i, h = config.moe_num_experts, config.moe_intermediate_size, config.hidden_size
        self.top_k = config.moe_top_k
        self.scaling = config.moe_router_scaling_factor
        self.normalize = config.norm_expert_weight
        self.limit = spec.swiglu_limit
        self.gate = Router(h, e)
        self.router_bias = nn.Parameter(torch.zeros(e, dtype=torch.float32)) if config.use_moe_router_bias else None
        self.gate_proj = PackedExperts(e, i, h)
        self.up_proj = PackedExperts(e, i, h)
        self.down_proj = PackedExperts(e, h, i)
        # tokens routed to each expert while training; the trainer sets a zero tensor to start counting
        # (aux-loss-free balancing reads it), None = off
        self.expert_load: torch.Tensor | None = None

    @torch.no_grad()
    def fuse_gate_up(self) -> None:
        """Store gate and up as the two halves of one [E, 2I, H] tensor, so one matmul serves both.

        The parameters stay (as views), so names, loading and saving are unchanged; the kernels
        notice the shared storage. Done after loading, since loading replaces the tensors.
        """
        gate, up = self.gate_proj.weight, self.up_proj.weight
        fused = torch.cat((gate, up), dim=1)
        inter = gate.shape[1]
        self.gate_proj.weight = nn.Parameter(fused[:, :inter], requires_grad=gate.requires_grad)
        self.up_proj.weight = nn.Parameter(fused[:, inter:], requires_grad=up.requires_grad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        weights, ids = kernels.moe_route(self.gate(flat), self.router_bias, self.top_k,
                                         scaling=self.scaling, normalize=self.normalize)
        if torch.is_grad_enabled() and self.gate_proj.weight.requires_grad:
            # training: the custom op has no autograd, the plain-torch reference is differentiable
            if self.expert_load is not None:
                self.expert_load += torch.bincount(ids.reshape(-1), minlength=self.expert_load.shape[0])
            out = moe_torch.moe_experts(flat, weights, ids, self.gate_proj.weight, self.up_proj.weight,
                                        self.down_proj.weight, limit=self.limit)
        else:
            out = ops.moe_experts(flat, weights, ids, self.gate_proj.weight, self.up_proj.weight,
                                  self.down_proj.weight, self.limit or 0.0)
        return out.reshape(shape)
