"""The Step 3.5 model: embedding, decoder layers (3:1 sliding/full attention, dense then MoE FFN),
final norm, LM head, and the multi-token-prediction (MTP) layers.

Module names are the checkpoint's (`model.layers.3.moe.gate_proj`, `...share_expert.up_proj`),
so the loader's table is short; MTP layers live in `mtp.{k}` and are stored as
`model.layers.{L + k}` in the checkpoint.

MTP convention (matches tests/step3p5_reference.py): depth k at position t combines
`enorm(embed(token[t + k + 1]))` with `hnorm(h)`, where h is the main model's last hidden state at
t (before the final norm) for k = 0, and depth k - 1's block output at t otherwise; it predicts
token[t + k + 2]. Each depth's attention runs over its own positions with RoPE position t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from host_model.attention import Attention
from host_model.config import LayerSpec, Step3p5Config
from host_model.kv_cache import KVCache
from host_model.layers import MLP, RMSNorm, rope_cos_sin, rope_inv_freq
from host_model.moe import MoE

RopeTables = dict[tuple[float, int, bool], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class ForwardOutput:
    logits: torch.Tensor  # [B, T', vocab] for the positions asked for
    hidden: torch.Tensor  # [B, T, hidden], last hidden state before the final norm (MTP input)


class DecoderLayer(nn.Module):
    def __init__(self, config: Step3p5Config, spec: LayerSpec) -> None:
        super().__init__()
        h = config.hidden_size
        self.spec = spec
        self.input_layernorm = RMSNorm(h, config.rms_norm_eps)
        self.self_attn = Attention(spec, h, config.rms_norm_eps, head_gate=config.use_head_wise_attn_gate)
        self.post_attention_layernorm = RMSNorm(h, config.rms_norm_eps)
        if spec.moe:
            self.moe = MoE(config, spec)
            self.share_expert = MLP(h, config.share_expert_dim, spec.swiglu_limit_shared)
        else:
            self.mlp = MLP(h, config.intermediate_size, spec.swiglu_limit_shared)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor],
                cache: KVCache | None, slots: torch.Tensor | None) -> torch.Tensor:
        layer_cache = cache.layers[self.spec.index] if cache is not None else None
        x = x + self.self_attn(self.input_layernorm(x), positions, rope, layer_cache, slots)
        normed = self.post_attention_layernorm(x)
        ffn = self.moe(normed) + self.share_expert(normed) if self.spec.moe else self.mlp(normed)
        return x + ffn


class SharedHead(nn.Module):
    def __init__(self, hidden: int, vocab: int, eps: float) -> None:
        super().__init__()
        self.norm = RMSNorm(hidden, eps)
        self.output = nn.Linear(hidden, vocab, bias=False)


class MTPLayer(DecoderLayer):
    """One NextN depth: a dense sliding-window decoder block fed by [embedding, previous hidden]."""

    def __init__(self, config: Step3p5Config, spec: LayerSpec) -> None:
        super().__init__(config, spec)
        h = config.hidden_size
        self.enorm = RMSNorm(h, config.rms_norm_eps)
        self.hnorm = RMSNorm(h, config.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * h, h, bias=False)
        self.shared_head = SharedHead(h, config.vocab_size, config.rms_norm_eps)


class Step3p5Backbone(nn.Module):
    """`model.*` in the checkpoint."""

    def __init__(self, config: Step3p5Config) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config, config.layer(i)) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class Step3p5ForCausalLM(nn.Module):
    def __init__(self, config: Step3p5Config) -> None:
        super().__init__()
        self.config = config
        self.model = Step3p5Backbone(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.mtp = nn.ModuleList(MTPLayer(config, config.layer(config.num_hidden_layers + k))
                                 for k in range(config.num_nextn_predict_layers))
        self._inv_freq: dict[tuple[float, int, bool], torch.Tensor] = {}

    # ---- forward -------------------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor | None = None, *,
                cache: KVCache | None = None, slots: torch.Tensor | None = None,
                logits_positions: torch.Tensor | None = None) -> ForwardOutput:
        """Run the decoder on input_ids [B, T] at absolute `positions` [B, T] (default 0..T-1).

        With a cache, the new tokens attend to what the slots already hold and are stored.
        `logits_positions` [B, n] picks which of the T positions get logits (all by default):
        a prefill needs only the last one, and the LM head is the biggest matmul of a small model.
        """
        if positions is None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
        x = self.model.embed_tokens(input_ids)
        tables: RopeTables = {}
        for layer in self.model.layers:
            x = layer(x, positions, self._rope(layer.spec, positions, tables), cache, slots)
        hidden = x
        if logits_positions is not None:
            x = x.gather(1, logits_positions.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        return ForwardOutput(logits=self.lm_head(self.model.norm(x)).float(), hidden=hidden)

    def mtp_forward(self, depth: int, next_ids: torch.Tensor, prev_hidden: torch.Tensor, positions: torch.Tensor,
                    *, cache: KVCache | None = None, slots: torch.Tensor | None = None,
                    logits_positions: torch.Tensor | None = None) -> ForwardOutput:
        """MTP depth `depth` at `positions`: next_ids [B, T] are the tokens at t + depth + 1."""
        layer = self.mtp[depth]
        assert isinstance(layer, MTPLayer)
        e = layer.enorm(self.model.embed_tokens(next_ids))
        x = layer.eh_proj(torch.cat((e, layer.hnorm(prev_hidden)), dim=-1))
        x = layer(x, positions, self._rope(layer.spec, positions, {}), cache, slots)
        out = x
        if logits_positions is not None:
            out = x.gather(1, logits_positions.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        return ForwardOutput(logits=layer.shared_head.output(layer.shared_head.norm(out)).float(), hidden=x)

    def _rope(self, spec: LayerSpec, positions: torch.Tensor, tables: RopeTables) -> tuple[torch.Tensor, torch.Tensor]:
        """cos/sin for one layer; layers with the same RoPE settings share one table per forward."""
        key = (spec.rope_theta, spec.rotary_dim, spec.rope_scaled)
        if key not in tables:
            if key not in self._inv_freq:
                self._inv_freq[key] = rope_inv_freq(spec.rope_theta, spec.rotary_dim,
                                                    self.config.rope_scaling if spec.rope_scaled else None)
            tables[key] = rope_cos_sin(self._inv_freq[key], positions)
        return tables[key]

    # ---- construction helpers -------------------------------------------------------------------

    def prepare_for_inference(self) -> Step3p5ForCausalLM:
        """Inference-only layout changes that keep every parameter name: fused expert gate/up."""
        for module in self.modules():
            if isinstance(module, MoE):
                module.fuse_gate_up()
        return self.eval()

    @torch.no_grad()
    def init_weights(self, seed: int = 0, std: float = 0.02) -> Step3p5ForCausalLM:
        """Fresh weights for training from scratch: normal(0, std) projections, zero norms (= scale 1)."""
        gen = torch.Generator().manual_seed(seed)
        for name, param in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith("router_bias"):
                param.zero_()
            else:
                param.copy_(torch.randn(param.shape, generator=gen) * std)
        return self

    def parameter_counts(self) -> dict[str, int]:
        """Total parameters, and those one token uses (routed experts counted top_k of E), MTP apart."""
        cfg = self.config
        main = sum(p.numel() for n, p in self.named_parameters() if not n.startswith("mtp."))
        mtp = sum(p.numel() for n, p in self.named_parameters() if n.startswith("mtp."))
        idle_experts = cfg.moe_num_experts - cfg.moe_top_k
        per_expert = 3 * cfg.hidden_size * cfg.moe_intermediate_size
        inactive = len(cfg.moe_layers) * idle_experts * per_expert
        embed = cfg.vocab_size * cfg.hidden_size
        return {"total": main + mtp, "main": main, "mtp": mtp, "active_per_token": main - inactive,
                "active_per_token_excluding_embedding": main - inactive - embed}
