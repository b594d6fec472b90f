"""Step 3.5 config, model structure, KV cache and checkpoint loading, on small real inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from host_model.checkpoint import (
    INDEX_FILE,
    CheckpointError,
    checkpoint_name,
    dequantize_fp8,
    load_model,
    map_name,
    save_model,
)
from host_model.config import ConfigError, Step3p5Config
from host_model.kv_cache import KVCache, kv_bytes_at
from host_model.model import Step3p5ForCausalLM

FLASH = Path(__file__).resolve().parents[1] / "host_model" / "configs" / "step3p5_flash.json"


def tiny(**overrides: object) -> Step3p5Config:
    return Step3p5Config.scaled(clamp_layers=(6, 7), **overrides)


def random_model(config: Step3p5Config, seed: int = 0) -> Step3p5ForCausalLM:
    """Random weights with non-zero norms and router bias, so every parameter matters."""
    model = Step3p5ForCausalLM(config).init_weights(seed, std=0.1)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("norm.weight", "router_bias")):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    return model.eval()


# ---- config ----------------------------------------------------------------------------------------

def test_scaled_config_has_the_3_to_1_pattern_and_separate_sliding_heads() -> None:
    cfg = tiny()
    kinds = [cfg.layer(i).attention for i in range(cfg.num_hidden_layers)]
    assert kinds == ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention"] * 2
    full, sliding = cfg.layer(0), cfg.layer(1)
    assert (full.num_heads, sliding.num_heads) == (4, 6)
    assert (full.rotary_dim, sliding.rotary_dim) == (8, 16)  # partial 0.5 on full layers
    assert (full.rope_theta, sliding.rope_theta) == (5e6, 1e4)
    assert full.rope_scaled and not sliding.rope_scaled
    assert (full.window, sliding.window) == (None, 16)
    assert [cfg.layer(i).moe for i in range(8)] == [False, False] + [True] * 6
    assert cfg.layer(6).swiglu_limit == 7.0 and cfg.layer(6).swiglu_limit_shared == 16.0
    mtp = cfg.layer(8)
    assert mtp.is_mtp and mtp.attention == "sliding_attention" and not mtp.moe


def test_the_flash_config_reads_unchanged_and_gives_the_published_sizes() -> None:
    cfg = Step3p5Config.from_file(FLASH)
    with torch.device("meta"):
        counts = Step3p5ForCausalLM(cfg).parameter_counts()
    assert [cfg.layer(i).attention for i in range(4)] == ["full_attention"] + ["sliding_attention"] * 3
    assert sum(cfg.layer(i).attention == "full_attention" for i in range(45)) == 12
    assert (cfg.layer(0).num_heads, cfg.layer(1).num_heads) == (64, 96)
    assert 190e9 < counts["main"] < 205e9  # the card: 196B total
    assert 10e9 < counts["active_per_token"] < 12.5e9  # the card: about 11B active


def test_config_error_names_the_field() -> None:
    data = tiny().to_dict()
    data["layer_types"] = data["layer_types"][:3]
    with pytest.raises(ConfigError, match="layer_types: has 3 entries"):
        Step3p5Config.from_dict(data)
    data = tiny().to_dict()
    data["moe_top_k"] = 99
    with pytest.raises(ConfigError, match="moe_top_k"):
        Step3p5Config.from_dict(data)


def test_shared_expert_width_reads_either_spelling() -> None:
    data = tiny().to_dict()
    data["share_expert_dims"] = data.pop("share_expert_dim")
    assert Step3p5Config.from_dict(data).share_expert_dim == 32
    del data["share_expert_dims"]
    with pytest.raises(ConfigError, match="share_expert_dim"):
        Step3p5Config.from_dict(data)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        Step3p5Config.from_file(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config.json:1:2: not valid JSON"):
        Step3p5Config.from_file(tmp_path)


# ---- KV cache --------------------------------------------------------------------------------------

def test_cached_prefill_and_decode_match_the_uncached_forward_past_the_window() -> None:
    cfg = tiny()
    model = random_model(cfg)
    ids = torch.randint(0, cfg.vocab_size, (1, 50), generator=torch.Generator().manual_seed(3))
    cache = KVCache(cfg, num_slots=3, max_context=64, dtype=torch.float32, with_mtp=False)
    slots = torch.tensor([2])
    with torch.no_grad():
        full = model(ids).logits
        parts = [model(ids[:, :12], cache=cache, slots=slots).logits]  # chunked prefill: 12 + 7, then decode
        parts.append(model(ids[:, 12:19], torch.arange(12, 19)[None], cache=cache, slots=slots).logits)
        parts += [model(ids[:, t:t + 1], torch.tensor([[t]]), cache=cache, slots=slots).logits for t in range(19, 50)]
    assert torch.allclose(full, torch.cat(parts, 1), atol=1e-4)


def test_sliding_layers_keep_a_fixed_ring_whatever_the_context() -> None:
    cfg = tiny()
    small = KVCache(cfg, num_slots=1, max_context=256, dtype=torch.float32)
    large = KVCache(cfg, num_slots=1, max_context=1024, dtype=torch.float32)
    for i in range(cfg.num_hidden_layers):
        if cfg.layer(i).window is None:
            assert (small.layers[i].size, large.layers[i].size) == (256, 1024)
        else:
            assert small.layers[i].size == large.layers[i].size == 16


def test_kv_bytes_of_the_sliding_model_approach_a_quarter_of_full_attention() -> None:
    cfg = tiny(num_hidden_layers=8, sliding_window=16)
    ratio = kv_bytes_at(cfg, 4096) / kv_bytes_at(cfg, 4096, sliding=False)
    # 2 of 8 layers are full; the 6 sliding ones (same KV groups and head size) hold 16 of 4096 tokens
    assert ratio == pytest.approx((2 + 6 * 16 / 4096) / 8)


# ---- checkpoints -----------------------------------------------------------------------------------

def test_checkpoint_names_are_the_real_ones() -> None:
    cfg = tiny()
    assert checkpoint_name("mtp.1.shared_head.output.weight", cfg) == "model.layers.9.shared_head.output.weight"
    assert map_name("model.layers.8.transformer.self_attn.q_proj.weight", cfg).param == "mtp.0.self_attn.q_proj.weight"
    shared = map_name("model.layers.3.moe.share_expert.up_proj.weight", cfg)
    assert shared.param == "model.layers.3.share_expert.up_proj.weight"
    stacked = map_name("model.layers.3.moe.experts.5.down_proj.weight", cfg)
    assert (stacked.param, stacked.expert) == ("model.layers.3.moe.down_proj.weight", 5)
    assert map_name("model.layers.9.embed_tokens.weight", cfg) is None
    assert map_name("model.layers.3.moe.expert_bias", cfg) is None


@pytest.mark.parametrize("shard_bytes", [None, 200_000])
def test_saved_checkpoint_loads_back_identically(tmp_path: Path, shard_bytes: int | None) -> None:
    cfg = tiny()
    model = random_model(cfg)
    save_model(model, tmp_path, max_shard_bytes=shard_bytes)
    assert (tmp_path / INDEX_FILE).exists() == (shard_bytes is not None)
    loaded = load_model(tmp_path)
    ids = torch.arange(40)[None] % cfg.vocab_size
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)
    assert loaded.model.layers[2].moe.gate.weight.dtype == torch.float32


def test_per_expert_tensors_are_stacked_into_the_packed_layout(tmp_path: Path) -> None:
    cfg = tiny()
    model = random_model(cfg)
    save_model(model, tmp_path)
    from safetensors.torch import load_file

    tensors = load_file(tmp_path / "model.safetensors")
    for proj in ("gate", "up", "down"):
        packed = tensors.pop(f"model.layers.4.moe.{proj}_proj.weight")
        for e in range(packed.shape[0]):
            tensors[f"model.layers.4.moe.experts.{e}.{proj}_proj.weight"] = packed[e].clone()
    save_file(tensors, tmp_path / "model.safetensors")
    loaded = load_model(tmp_path)
    assert torch.equal(loaded.model.layers[4].moe.down_proj.weight, model.model.layers[4].moe.down_proj.weight)


def test_fp8_block_weights_are_dequantized_at_load(tmp_path: Path) -> None:
    cfg = tiny()
    model = random_model(cfg)
    save_model(model, tmp_path)
    from safetensors.torch import load_file

    tensors = load_file(tmp_path / "model.safetensors")
    name = "model.layers.1.self_attn.q_proj.weight"
    weight = tensors[name]  # [96, 64]: blocks of 128 cover it with one partial block
    scale = torch.tensor([[weight.abs().max() / 448.0]])
    tensors[name] = (weight / scale).to(torch.float8_e4m3fn)
    tensors[name.replace(".weight", ".weight_scale_inv")] = scale
    save_file(tensors, tmp_path / "model.safetensors")
    loaded = load_model(tmp_path)
    got = loaded.model.layers[1].self_attn.q_proj.weight
    assert torch.allclose(got, dequantize_fp8(tensors[name], scale, (128, 128)))
    assert (got - weight).abs().max() < 0.07 * weight.abs().max()  # e4m3 keeps ~2 significant digits


def test_missing_and_unexpected_tensors_are_named(tmp_path: Path) -> None:
    cfg = tiny()
    save_model(random_model(cfg), tmp_path)
    from safetensors.torch import load_file

    tensors = load_file(tmp_path / "model.safetensors")
    del tensors["model.layers.5.self_attn.g_proj.weight"]
    tensors["model.layers.5.self_attn.bogus.weight"] = torch.zeros(2)
    save_file(tensors, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path)
    assert "missing tensors: model.layers.5.self_attn.g_proj.weight" in str(err.value)
    assert "unexpected tensors: model.layers.5.self_attn.bogus.weight" in str(err.value)


def test_wrong_shape_and_missing_shard_are_named(tmp_path: Path) -> None:
    cfg = tiny()
    save_model(random_model(cfg), tmp_path, max_shard_bytes=200_000)
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    first = sorted(set(index["weight_map"].values()))[0]
    (tmp_path / first).unlink()
    with pytest.raises(CheckpointError, match=f"shard files that are not there: {first}"):
        load_model(tmp_path)
    other = tmp_path / "other"
    save_model(random_model(cfg), other)
    data = json.loads((other / "config.json").read_text())
    data["intermediate_size"] = 128
    (other / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"model.layers.0.mlp.gate_proj.weight: shape \(160, 64\), "
                                              r"config says \(128, 64\)"):
        load_model(other)


def test_fusing_expert_gate_and_up_keeps_names_outputs_and_saving(tmp_path: Path) -> None:
    from host_model.kernels.moe_torch import fused_gate_up

    cfg = tiny()
    model = random_model(cfg)
    ids = torch.arange(30)[None] % cfg.vocab_size
    names = [n for n, _ in model.named_parameters()]
    moe = model.model.layers[3].moe
    assert fused_gate_up(moe.gate_proj.weight, moe.up_proj.weight) is None
    with torch.no_grad():
        before = model(ids).logits
        model.prepare_for_inference()
        assert fused_gate_up(moe.gate_proj.weight, moe.up_proj.weight) is not None  # one matmul per expert now
        assert torch.allclose(model(ids).logits, before, atol=1e-5)
    assert [n for n, _ in model.named_parameters()] == names
    save_model(model, tmp_path)
    with torch.no_grad():
        assert torch.allclose(load_model(tmp_path)(ids).logits, before, atol=1e-5)
