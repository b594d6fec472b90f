"""host_model.kernels: torch references against naive per-token loops, Triton kernels against the
references (in a subprocess with TRITON_INTERPRET=1, since that must be set before triton is imported),
and the backend selection rules."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import host_model.kernels as kernels
from host_model.kernels import KernelBackendError, select

REPO = Path(__file__).resolve().parents[1]
T, H, E, INTER, K = 7, 32, 8, 16, 3
HQ, HKV, D, S, N_SLOTS = 6, 2, 16, 12, 5


# ---------------------------------------------------------------- naive references (per token / per key)


def naive_route(logits: torch.Tensor, bias: torch.Tensor | None, k: int, scaling: float, normalize: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
    weights, ids = [], []
    for row in range(logits.shape[0]):
        scores = [1.0 / (1.0 + math.exp(-float(v))) for v in logits[row]]
        keyed = [s + (float(bias[e]) if bias is not None else 0.0) for e, s in enumerate(scores)]
        chosen = sorted(range(len(scores)), key=lambda e: -keyed[e])[:k]
        w = [scores[e] for e in chosen]
        if normalize:
            total = sum(w) + 1e-20
            w = [v / total for v in w]
        weights.append([v * scaling for v in w])
        ids.append(chosen)
    return torch.tensor(weights), torch.tensor(ids)


def naive_experts(x: torch.Tensor, weights: torch.Tensor, ids: torch.Tensor, gate: torch.Tensor, up: torch.Tensor,
                  down: torch.Tensor, limit: float | None) -> torch.Tensor:
    out = torch.zeros(x.shape, dtype=torch.float64)
    for t in range(x.shape[0]):
        xt = x[t].double()
        for j in range(ids.shape[1]):
            e = int(ids[t, j])
            g = F.silu(gate[e].double() @ xt)
            u = up[e].double() @ xt
            if limit:
                g = g.clamp(max=limit)
                u = u.clamp(-limit, limit)
            out[t] += float(weights[t, j]) * (down[e].double() @ (g * u))
    return out.float()


def naive_decode(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, key_pos: torch.Tensor,
                 slots: torch.Tensor, q_pos: torch.Tensor, window: int | None, scale: float) -> torch.Tensor:
    batch, hq, d = q.shape
    group = hq // k_cache.shape[1]
    out = torch.zeros(batch, hq, d, dtype=torch.float64)
    for b in range(batch):
        slot, qp = int(slots[b]), int(q_pos[b])
        for h in range(hq):
            kvh = h // group
            logits, vals = [], []
            for s in range(k_cache.shape[2]):
                p = int(key_pos[slot, s])
                if p < 0 or p > qp or (window is not None and p <= qp - window):
                    continue
                logits.append(float(q[b, h].double() @ k_cache[slot, kvh, s].double()) * scale)
                vals.append(v_cache[slot, kvh, s].double())
            if logits:
                top = max(logits)
                ex = [math.exp(v - top) for v in logits]
                out[b, h] = sum(w * v for w, v in zip(ex, vals, strict=True)) / sum(ex)
    return out.float()


# ---------------------------------------------------------------- inputs


def moe_inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(T, H, generator=g),
        "logits": torch.randn(T, E, generator=g),
        "bias": torch.randn(E, generator=g) * 0.1,
        "gate": torch.randn(E, INTER, H, generator=g) * 0.3,
        "up": torch.randn(E, INTER, H, generator=g) * 0.3,
        "down": torch.randn(E, H, INTER, generator=g) * 0.3,
    }


def attention_inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    """Ring-buffer caches: shuffled positions, some empty (-1) entries, some in the query's future."""
    g = torch.Generator().manual_seed(seed)
    key_pos = torch.stack([torch.randperm(S, generator=g) + 2 * n for n in range(N_SLOTS)])
    key_pos[:, :3] = torch.where(torch.rand(N_SLOTS, 3, generator=g) < 0.5, -1, key_pos[:, :3])
    return {
        "q": torch.randn(3, HQ, D, generator=g),
        "k_cache": torch.randn(N_SLOTS, HKV, S, D, generator=g),
        "v_cache": torch.randn(N_SLOTS, HKV, S, D, generator=g),
        "key_pos": key_pos,
        "slots": torch.tensor([4, 0, 2]),
        "q_pos": torch.tensor([15, 9, 12]),
    }


@pytest.fixture(autouse=True)
def _torch_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(select.ENV_VAR, raising=False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)


# ---------------------------------------------------------------- routing


def test_route_matches_naive_loop() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    ref_w, ref_ids = naive_route(m["logits"], m["bias"], K, 3.0, True)
    assert ids.dtype == torch.int64 and weights.dtype == torch.float32
    assert torch.equal(ids, ref_ids)
    torch.testing.assert_close(weights, ref_w, atol=1e-6, rtol=1e-5)


def test_route_without_normalize_returns_scaled_raw_scores() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], None, K, scaling=2.0, normalize=False)
    torch.testing.assert_close(weights, 2.0 * torch.sigmoid(m["logits"]).gather(-1, ids))


def test_router_bias_changes_selection_but_not_weights() -> None:
    m = moe_inputs()
    _, plain_ids = kernels.moe_route(m["logits"], None, K, scaling=1.0, normalize=False)
    weakest = int(m["logits"][0].argmin())  # never in token 0's unbiased top-k
    assert not (plain_ids[0] == weakest).any()
    bias = torch.zeros(E)
    bias[weakest] = 10.0
    weights, ids = kernels.moe_route(m["logits"], bias, K, scaling=1.0, normalize=False)
    assert (ids == weakest).any(dim=-1).all()
    # The bias steers selection only: the weight is the expert's unbiased sigmoid score.
    torch.testing.assert_close(weights, torch.sigmoid(m["logits"]).gather(-1, ids))


# ---------------------------------------------------------------- experts


def test_experts_match_naive_loop() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    out = kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=None)
    ref = naive_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], None)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_experts_limit_clamps_gate_and_up() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    clamped = kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=0.5)
    torch.testing.assert_close(clamped, naive_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], 0.5),
                               atol=1e-4, rtol=1e-4)
    unclamped = kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=None)
    assert (clamped - unclamped).abs().max() > 0.1


def test_experts_limit_zero_means_no_clamp() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    zero = kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=0.0)
    none = kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=None)
    assert torch.equal(zero, none)


def test_experts_bf16_returns_bf16_close_to_fp32() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    bf = {name: m[name].bfloat16() for name in ("x", "gate", "up", "down")}
    out = kernels.moe_experts(bf["x"], weights, ids, bf["gate"], bf["up"], bf["down"], limit=None)
    assert out.dtype == torch.bfloat16
    ref = naive_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], None)
    torch.testing.assert_close(out.float(), ref, atol=0.1, rtol=0.05)


def test_experts_reject_mismatched_shapes() -> None:
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    with pytest.raises(ValueError, match="down"):
        kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"].transpose(1, 2), limit=None)


# ---------------------------------------------------------------- decode attention


@pytest.mark.parametrize("window", [None, 6], ids=["full", "window6"])
def test_decode_attention_matches_naive_loop(window: int | None) -> None:
    a = attention_inputs()
    out = kernels.decode_attention(a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"],
                                   window=window, scale=D**-0.5)
    ref = naive_decode(a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"], window, D**-0.5)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_decode_attention_window_hides_old_keys() -> None:
    a = attention_inputs()
    args = (a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"])
    full = kernels.decode_attention(*args, window=None, scale=D**-0.5)
    windowed = kernels.decode_attention(*args, window=3, scale=D**-0.5)
    assert (full - windowed).abs().max() > 1e-3


def test_decode_attention_query_seeing_no_key_gets_zeros() -> None:
    a = attention_inputs()
    q_pos = torch.tensor([-5, 9, 12])
    out = kernels.decode_attention(a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], q_pos,
                                   window=None, scale=D**-0.5)
    assert torch.equal(out[0], torch.zeros(HQ, D))
    assert torch.isfinite(out).all()


def test_decode_attention_bf16_returns_bf16() -> None:
    a = attention_inputs()
    bf = [a[name].bfloat16() for name in ("q", "k_cache", "v_cache")]
    out = kernels.decode_attention(*bf, a["key_pos"], a["slots"], a["q_pos"], window=6, scale=D**-0.5)
    assert out.dtype == torch.bfloat16
    ref = naive_decode(a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"], 6, D**-0.5)
    torch.testing.assert_close(out.float(), ref, atol=0.05, rtol=0.05)


# ---------------------------------------------------------------- backend selection


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only answer")
@pytest.mark.parametrize("value", [None, "auto", "AUTO"])
def test_auto_on_cpu_picks_torch(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is not None:
        monkeypatch.setenv(select.ENV_VAR, value)
    assert kernels.backend() == "torch"
    assert select.choose(torch.zeros(1)) == "torch"


def test_forced_torch_is_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(select.ENV_VAR, "torch")
    assert kernels.backend() == "torch"


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(select.ENV_VAR, "cuda")
    with pytest.raises(KernelBackendError, match="AGENTOS_KERNELS='cuda'"):
        kernels.backend()
    a = attention_inputs()
    with pytest.raises(KernelBackendError, match="AGENTOS_KERNELS"):
        kernels.decode_attention(a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"],
                                 window=None, scale=1.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_forced_triton_on_cpu_without_interpreter_errors_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(select.ENV_VAR, "triton")
    m = moe_inputs()
    weights, ids = kernels.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
    with pytest.raises(KernelBackendError, match="TRITON_INTERPRET"):
        kernels.moe_experts(m["x"], weights, ids, m["gate"], m["up"], m["down"], limit=None)


def test_auto_falls_back_to_torch_when_triton_is_missing() -> None:
    assert select.resolve("auto", on_cuda=True, have_triton=False, interpret=False) == "torch"
    assert select.resolve("auto", on_cuda=True, have_triton=True, interpret=False) == "triton"


def test_forced_triton_without_triton_errors_clearly() -> None:
    with pytest.raises(KernelBackendError, match="triton cannot be imported"):
        select.resolve("triton", on_cuda=True, have_triton=False, interpret=False)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter so env vars are in place before torch/triton import."""
    full_env = {k: v for k, v in os.environ.items() if k not in (select.ENV_VAR, "TRITON_INTERPRET")}
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True,
                          timeout=240, cwd=REPO, check=False)


def test_importing_and_using_torch_backend_never_imports_triton() -> None:
    code = (
        "import sys, torch\n"
        "import host_model.kernels as k\n"
        "w, ids = k.moe_route(torch.randn(2, 4), None, 2, scaling=1.0, normalize=True)\n"
        "k.moe_experts(torch.randn(2, 8), w, ids, torch.randn(4, 3, 8), torch.randn(4, 3, 8), torch.randn(4, 8, 3),"
        " limit=None)\n"
        "print('triton' in sys.modules)\n"
    )
    proc = run_python(code, **{select.ENV_VAR: "torch"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# ---------------------------------------------------------------- triton kernels vs torch (interpreter)

TRITON_CASES = r"""
import json, sys
import torch
sys.path.insert(0, "tests")
import host_model.kernels as k
from host_model.kernels import attention_torch, attention_triton, moe_torch, moe_triton
from test_kernels import D, E, K, attention_inputs, moe_inputs

res = {"backend": k.backend()}
def err(a, b):
    return float((a.float() - b.float()).abs().max())

m = moe_inputs(1)
w, ids = k.moe_route(m["logits"], m["bias"], K, scaling=3.0, normalize=True)
ref = {lim: moe_torch.moe_experts(m["x"], w, ids, m["gate"], m["up"], m["down"], limit=lim) for lim in (None, 0.5)}
res["moe_fp32"] = err(k.moe_experts(m["x"], w, ids, m["gate"], m["up"], m["down"], limit=None), ref[None])
res["moe_fp32_limit"] = err(k.moe_experts(m["x"], w, ids, m["gate"], m["up"], m["down"], limit=0.5), ref[0.5])
res["moe_small_blocks"] = err(moe_triton.moe_experts(m["x"], w, ids, m["gate"], m["up"], m["down"], limit=0.5,
                                                     block_m=2, block_n=8, block_k=8), ref[0.5])
bf = {n: m[n].bfloat16() for n in ("x", "gate", "up", "down")}
res["moe_bf16"] = err(k.moe_experts(bf["x"], w, ids, bf["gate"], bf["up"], bf["down"], limit=0.5),
                      moe_torch.moe_experts(bf["x"], w, ids, bf["gate"], bf["up"], bf["down"], limit=0.5))

rows, blocks = moe_triton.align_block_size(ids, E, 4)
n = ids.numel()
real = rows[rows < n].long()
flat = ids.reshape(-1)
blk_of_row = torch.arange(rows.numel()) // 4
res["align_each_assignment_once"] = sorted(real.tolist()) == list(range(n))
res["align_block_single_expert"] = bool((blocks[blk_of_row[rows < n]].long() == flat[real]).all())

a = attention_inputs(1)
args = (a["q"], a["k_cache"], a["v_cache"], a["key_pos"], a["slots"], a["q_pos"])
for window in (None, 6):
    tag = "full" if window is None else "window"
    ref_a = attention_torch.decode_attention(*args, window=window, scale=D**-0.5)
    res[f"attn_{tag}"] = err(k.decode_attention(*args, window=window, scale=D**-0.5), ref_a)
    res[f"attn_{tag}_splits"] = err(attention_triton.decode_attention(*args, window=window, scale=D**-0.5,
                                                                      block_n=4, num_splits=2), ref_a)
bf_args = tuple(t.bfloat16() for t in args[:3]) + args[3:]
res["attn_bf16"] = err(k.decode_attention(*bf_args, window=6, scale=D**-0.5),
                       attention_torch.decode_attention(*bf_args, window=6, scale=D**-0.5))
none_visible = args[:5] + (torch.tensor([-5, 9, 12]),)
out = attention_triton.decode_attention(*none_visible, window=None, scale=D**-0.5, block_n=4, num_splits=2)
res["attn_none_visible_zero"] = bool(torch.equal(out[0], torch.zeros_like(out[0])) and torch.isfinite(out).all())
print(json.dumps(res))
"""


@pytest.fixture(scope="module")
def triton_results() -> dict[str, Any]:
    import triton  # noqa: F401  (a dev dependency: missing is a failure, not a skip)
    proc = run_python(TRITON_CASES, **{select.ENV_VAR: "triton", "TRITON_INTERPRET": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_interpreted_triton_is_the_selected_backend(triton_results: dict[str, Any]) -> None:
    assert triton_results["backend"] == "triton"


@pytest.mark.parametrize("case", ["moe_fp32", "moe_fp32_limit", "moe_small_blocks"])
def test_triton_moe_matches_torch_fp32(triton_results: dict[str, Any], case: str) -> None:
    assert triton_results[case] < 1e-4


def test_triton_moe_matches_torch_bf16(triton_results: dict[str, Any]) -> None:
    assert triton_results["moe_bf16"] < 2e-2


def test_align_block_size_places_every_assignment_once(triton_results: dict[str, Any]) -> None:
    assert triton_results["align_each_assignment_once"]


def test_align_block_size_blocks_hold_one_expert(triton_results: dict[str, Any]) -> None:
    assert triton_results["align_block_single_expert"]


@pytest.mark.parametrize("case", ["attn_full", "attn_full_splits", "attn_window", "attn_window_splits"])
def test_triton_decode_attention_matches_torch_fp32(triton_results: dict[str, Any], case: str) -> None:
    assert triton_results[case] < 1e-4


def test_triton_decode_attention_matches_torch_bf16(triton_results: dict[str, Any]) -> None:
    assert triton_results["attn_bf16"] < 3e-2


def test_triton_decode_attention_no_visible_key_gives_zeros(triton_results: dict[str, Any]) -> None:
    assert triton_results["attn_none_visible_zero"]
