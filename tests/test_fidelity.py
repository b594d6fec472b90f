"""Our Step 3.5 model against the independent reference (tests/step3p5_reference.py), through a real
checkpoint: random weights with the real tensor names are written as safetensors, loaded by our
loader, and every path (uncached forward, cached prefill + decode, MTP depths) must match the
reference's logits to 1e-4 on a prompt longer than twice the sliding window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from step3p5_reference import random_step3p5_weights, reference_logits, reference_mtp_logits

from host_model.checkpoint import load_model
from host_model.kv_cache import KVCache
from host_model.model import Step3p5ForCausalLM

FIXTURE = Path(__file__).parent / "fixtures" / "step3p5_tiny_config.json"
TOLERANCE = 1e-4
PROMPT = [int(t) for t in torch.randint(0, 512, (40,), generator=torch.Generator().manual_seed(11))]


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def weights(config: dict[str, Any]) -> dict[str, torch.Tensor]:
    return random_step3p5_weights(config, seed=5)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, config: dict[str, Any],
          weights: dict[str, torch.Tensor]) -> Step3p5ForCausalLM:
    folder = tmp_path_factory.mktemp("step3p5-tiny")
    (folder / "config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in weights.items()}, folder / "model.safetensors")
    return load_model(folder)


@pytest.fixture(scope="module")
def expected(config: dict[str, Any], weights: dict[str, torch.Tensor]) -> torch.Tensor:
    return reference_logits(config, weights, PROMPT)


def test_prompt_is_longer_than_twice_the_window(config: dict[str, Any]) -> None:
    assert len(PROMPT) > 2 * config["sliding_window"]


def test_uncached_forward_matches_the_reference(model: Step3p5ForCausalLM, expected: torch.Tensor) -> None:
    with torch.no_grad():
        got = model(torch.tensor([PROMPT])).logits[0]
    assert (got - expected).abs().max().item() < TOLERANCE


def test_cached_prefill_and_ring_buffer_decode_match_the_reference(model: Step3p5ForCausalLM,
                                                                    expected: torch.Tensor) -> None:
    cache = KVCache(model.config, num_slots=2, max_context=64, dtype=torch.float32, with_mtp=False)
    slots = torch.tensor([1])
    with torch.no_grad():
        parts = [model(torch.tensor([PROMPT[:20]]), cache=cache, slots=slots).logits[0]]
        for t in range(20, len(PROMPT)):
            parts.append(model(torch.tensor([[PROMPT[t]]]), torch.tensor([[t]]), cache=cache, slots=slots).logits[0])
    assert cache.layers[1].ring and cache.layers[1].size == 16  # the sliding layers really used the ring
    assert (torch.cat(parts) - expected).abs().max().item() < TOLERANCE


def test_every_mtp_depth_matches_the_reference(model: Step3p5ForCausalLM, config: dict[str, Any],
                                               weights: dict[str, torch.Tensor]) -> None:
    expected = reference_mtp_logits(config, weights, PROMPT)
    assert len(expected) == config["num_nextn_predict_layers"] == 2
    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        prev = model(ids).hidden
        for depth, want in enumerate(expected):
            n = want.shape[0]  # positions 0 .. T - depth - 2
            out = model.mtp_forward(depth, ids[:, depth + 1: depth + 1 + n], prev[:, :n], torch.arange(n)[None])
            assert (out.logits[0] - want).abs().max().item() < TOLERANCE
            prev = out.hidden


def test_transformers_step3p7_through_our_bridge_matches_our_model(model: Step3p5ForCausalLM) -> None:
    """The benchmark's baseline: transformers' own step3p7 with our weights, through host_model.transformers_bridge."""
    from host_model.transformers_bridge import to_transformers

    theirs = to_transformers(model.config, model.state_dict())
    with torch.no_grad():
        ours = model(torch.tensor([PROMPT])).logits
        got = theirs(torch.tensor([PROMPT])).logits.float()
    assert (got - ours).abs().max().item() < TOLERANCE
