"""Sampling parameters and the per-token choice: greedy, temperature, top-k, top-p, seed, logprobs.

Speculative decoding needs the same target distribution the plain path samples from, so
`target_probs` is the single place that turns logits into it; `accept_draft` is the standard
speculative-sampling rule for a deterministic draft (the MTP head's argmax): keep the draft with
probability p(draft), otherwise sample from p with the draft removed. The output distribution is
exactly p, and with greedy sampling the result is identical to plain decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field


class SamplingParams(BaseModel):
    """What a request asks of the sampler; the defaults are greedy decoding of up to 256 tokens."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=100.0)  # 0 = greedy
    top_k: int = Field(0, ge=0)  # 0 = off
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    stop_token_ids: list[int] = Field(default_factory=list)
    ignore_eos: bool = False
    logprobs: bool = False
    top_logprobs: int = Field(0, ge=0, le=20)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class TokenLogprob:
    token_id: int
    logprob: float
    top: list[tuple[int, float]]  # the most likely alternatives, best first


def apply_mask(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Forbid tokens a constraint rules out; the mask may be shorter than the model's vocab."""
    if mask is None:
        return logits
    full = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    n = min(mask.shape[-1], logits.shape[-1])
    full[:n] = mask[:n].to(logits.device)
    return logits.masked_fill(~full, float("-inf"))


def target_probs(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """The distribution a token is drawn from (one-hot at the argmax when greedy)."""
    if params.greedy:
        probs = torch.zeros_like(logits)
        probs[logits.argmax()] = 1.0
        return probs
    scaled = logits / params.temperature
    if params.top_k and params.top_k < scaled.shape[-1]:
        kth = torch.topk(scaled, params.top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        drop = cumulative - sorted_probs > params.top_p  # keep the smallest set whose mass reaches top_p
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        probs = probs / probs.sum()
    return probs


def draw(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    if int((probs > 0).sum()) == 1:
        return int(probs.argmax())
    return int(torch.multinomial(probs, 1, generator=generator))


def sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> int:
    return draw(target_probs(logits, params), generator)


def accept_draft(logits: torch.Tensor, draft: int, params: SamplingParams,
                 generator: torch.Generator | None) -> tuple[bool, int]:
    """(accepted, token): the draft itself, or a replacement drawn from p without the draft."""
    probs = target_probs(logits, params)
    p = float(probs[draft])
    if params.greedy:
        return (True, draft) if p == 1.0 else (False, int(probs.argmax()))
    u = float(torch.rand((), generator=generator))
    if u < p:
        return True, draft
    residual = probs.clone()
    residual[draft] = 0.0
    return False, draw(residual / residual.sum(), generator)


def token_logprob(logits: torch.Tensor, token: int, top: int) -> TokenLogprob:
    """The model's own log-probability of `token` (before temperature), and the `top` best alternatives."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    best: list[tuple[int, float]] = []
    if top:
        values, ids = torch.topk(logp, min(top, logp.shape[-1]))
        best = [(int(i), float(v)) for i, v in zip(ids, values, strict=True)]
    return TokenLogprob(token, float(logp[token]), best)
