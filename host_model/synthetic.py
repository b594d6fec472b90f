"""Models whose behaviour is known by construction, for testing and measuring the engine.

A random checkpoint's MTP head drafts nonsense, so every draft is rejected and speculative
decoding's accept path never runs. `successor_model` wires the weights so that the main model
predicts token (t + 1) mod V and the MTP head predicts the token after its input token the same
way: every draft is right. `mtp_shift` makes the MTP head wrong on chosen tokens, to exercise
partial acceptance. All blocks stay in the graph (their output projections are zero), so the
engine runs the real attention, MoE and cache code.
"""

from __future__ import annotations

import torch

from host_model.config import Step3p5Config
from host_model.model import MTPLayer, Step3p5ForCausalLM

_ZEROED = ("o_proj.weight", "down_proj.weight")


@torch.no_grad()
def successor_model(config: Step3p5Config, *, seed: int = 0, scale: float = 30.0,
                    mtp_wrong_every: int = 0) -> Step3p5ForCausalLM:
    """Main model: token t -> (t + 1) mod V. MTP head: the same map, wrong on every `mtp_wrong_every`-th token."""
    model = Step3p5ForCausalLM(config).init_weights(seed, std=0.05).eval()
    for name, param in model.named_parameters():
        if name.endswith(_ZEROED):
            param.zero_()
    vocab, hidden = config.vocab_size, config.hidden_size
    gen = torch.Generator().manual_seed(seed)
    embed = torch.randn(vocab, hidden, generator=gen)
    embed = embed / embed.norm(dim=-1, keepdim=True) * hidden**0.5  # rms 1, so the norms leave it alone
    model.model.embed_tokens.weight.copy_(embed)
    head = torch.roll(embed, shifts=1, dims=0) / hidden**0.5 * scale  # row v is embed[v - 1]
    model.lm_head.weight.copy_(head)
    for layer in model.mtp:
        assert isinstance(layer, MTPLayer)
        layer.eh_proj.weight.zero_()
        layer.eh_proj.weight[:, :hidden].copy_(torch.eye(hidden))
        mtp_head = head.clone()
        if mtp_wrong_every:
            wrong = torch.arange(vocab) % mtp_wrong_every == 0
            mtp_head[wrong] = torch.roll(head, shifts=1, dims=0)[wrong]
        layer.shared_head.output.weight.copy_(mtp_head)
    return model
