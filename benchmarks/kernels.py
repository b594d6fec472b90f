"""Kernel benchmark: torch references against the Triton kernels, at Step 3.5 Flash sizes.

Two ops, both in bf16 as the model runs them:

1. Routed MoE experts (`moe_experts`): H 4096, E 288, I 1280, top-8, clamp 7.0, T from 1 (decode) to
   2048 (a prefill chunk). Reported with the bytes of expert weights the step must read, so decode
   rows can be compared with the GPU's memory bandwidth.
2. Decode attention (`decode_attention`): sliding layers (Hq 96, Hkv 8, D 128, a 512-entry ring with
   window 512) and full layers (Hq 64, Hkv 8, D 128, context 4K..32K), batch 1..32. Reported with the
   K/V bytes read for the visible keys.

Each time is the median of triton.testing.do_bench (warm-up first, so compilation is not counted).
Every row also records the triton result's max abs error against the torch reference.

    python benchmarks/kernels.py               # table + benchmarks/results/kernels.json (needs CUDA)
    python benchmarks/kernels.py --quick       # fewer shapes
    python benchmarks/kernels.py --json /tmp/kernels.json

Without a CUDA GPU it says so, checks the kernels against torch at tiny sizes in the Triton CPU
interpreter (a few seconds), writes nothing and exits 0 (1 if that check finds a mismatch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from bench_util import machine, package_version

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "kernels.json"
HIDDEN, EXPERTS, INTER, TOP_K, LIMIT = 4096, 288, 1280, 8, 7.0
KV_HEADS, HEAD_DIM, WINDOW = 8, 128, 512
SLIDING_Q_HEADS, FULL_Q_HEADS = 96, 64


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


# --------------------------------------------------------------------------------------------------
# CPU: correctness only, in the interpreter


def cpu_check() -> int:
    """Tiny-size triton-vs-torch check under TRITON_INTERPRET=1; the env var must precede `import triton`."""
    if "triton" in sys.modules:
        print("triton was imported before TRITON_INTERPRET could be set; skipping the interpreter check")
        return 0
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        from host_model.kernels import attention_torch, attention_triton, moe_torch, moe_triton
    except ImportError as exc:
        print(f"triton is not importable ({exc}); nothing more to check on this machine")
        return 0
    g = torch.Generator().manual_seed(0)
    t, h, e, i, k = 7, 32, 8, 16, 3
    x = torch.randn(t, h, generator=g)
    gate, up = torch.randn(e, i, h, generator=g) * 0.3, torch.randn(e, i, h, generator=g) * 0.3
    down = torch.randn(e, h, i, generator=g) * 0.3
    w, ids = moe_torch.moe_route(torch.randn(t, e, generator=g), torch.randn(e, generator=g) * 0.1, k,
                                 scaling=3.0, normalize=True)
    errors = {
        "moe_experts fp32": max_err(moe_triton.moe_experts(x, w, ids, gate, up, down, limit=0.5),
                                    moe_torch.moe_experts(x, w, ids, gate, up, down, limit=0.5)),
    }
    b, hq, hkv, d, s, n = 3, 6, 2, 16, 12, 5
    q = torch.randn(b, hq, d, generator=g)
    kc, vc = torch.randn(n, hkv, s, d, generator=g), torch.randn(n, hkv, s, d, generator=g)
    key_pos = torch.stack([torch.randperm(s, generator=g) + 2 * j for j in range(n)])
    key_pos[:, :2] = -1
    slots, q_pos = torch.tensor([4, 0, 2]), torch.tensor([15, 9, 12])
    for window in (None, 6):
        ref = attention_torch.decode_attention(q, kc, vc, key_pos, slots, q_pos, window=window, scale=d**-0.5)
        out = attention_triton.decode_attention(q, kc, vc, key_pos, slots, q_pos, window=window, scale=d**-0.5,
                                                block_n=4, num_splits=2)
        errors[f"decode_attention fp32 window={window}"] = max_err(out, ref)
    bad = {name: err for name, err in errors.items() if not err < 1e-4}
    for name, err in errors.items():
        print(f"  {name:<36} max abs err vs torch {err:.2e}  {'FAIL' if name in bad else 'ok'}")
    return 1 if bad else 0


# --------------------------------------------------------------------------------------------------
# GPU: timings


def bench_ms(fn: Callable[[], Any]) -> float:
    import triton.testing

    return float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))


def moe_rows(tokens_list: list[int]) -> list[dict[str, Any]]:
    from host_model.kernels import moe_torch, moe_triton

    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    gate = (torch.randn(EXPERTS, INTER, HIDDEN, device=dev, generator=g) * 0.02).bfloat16()
    up = (torch.randn(EXPERTS, INTER, HIDDEN, device=dev, generator=g) * 0.02).bfloat16()
    down = (torch.randn(EXPERTS, HIDDEN, INTER, device=dev, generator=g) * 0.02).bfloat16()
    bias = torch.randn(EXPERTS, device=dev, generator=g) * 0.01
    rows = []
    for tokens in tokens_list:
        x = torch.randn(tokens, HIDDEN, device=dev, generator=g).bfloat16()
        logits = torch.randn(tokens, EXPERTS, device=dev, generator=g)
        w, ids = moe_torch.moe_route(logits, bias, TOP_K, scaling=3.0, normalize=True)
        active = int(torch.unique(ids).numel())
        weight_bytes = active * 3 * INTER * HIDDEN * 2
        row: dict[str, Any] = {"op": "moe_experts", "shape": f"T={tokens}", "tokens": tokens, "active_experts": active,
                               "bytes": weight_bytes}
        try:
            ref = moe_torch.moe_experts(x, w, ids, gate, up, down, limit=LIMIT)
            out = moe_triton.moe_experts(x, w, ids, gate, up, down, limit=LIMIT)
            row["max_abs_err"] = max_err(out, ref)
            row["ref_max_abs"] = float(ref.float().abs().max())
            row["torch_ms"] = bench_ms(partial(moe_torch.moe_experts, x, w, ids, gate, up, down, limit=LIMIT))
            row["triton_ms"] = bench_ms(partial(moe_triton.moe_experts, x, w, ids, gate, up, down, limit=LIMIT))
        except torch.OutOfMemoryError:
            row["skipped"] = "out of GPU memory"
        rows.append(row)
        torch.cuda.empty_cache()
    return rows


def attention_rows(cases: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """cases: (kind, batch, context); kind "sliding" uses a 512-entry ring, "full" a cache of `context` entries."""
    from host_model.kernels import attention_torch, attention_triton

    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    rows = []
    for kind, batch, context in cases:
        sliding = kind == "sliding"
        q_heads = SLIDING_Q_HEADS if sliding else FULL_Q_HEADS
        cap = WINDOW if sliding else context
        window = WINDOW if sliding else None
        row: dict[str, Any] = {"op": "decode_attention", "shape": f"{kind} B={batch} ctx={context}", "kind": kind,
                               "batch": batch, "context": context, "q_heads": q_heads, "capacity": cap}
        try:
            n_slots = batch + 1  # one spare slot, so slots are not simply 0..B-1
            q = torch.randn(batch, q_heads, HEAD_DIM, device=dev, generator=g).bfloat16()
            kc = torch.randn(n_slots, KV_HEADS, cap, HEAD_DIM, device=dev, generator=g).bfloat16()
            vc = torch.randn(n_slots, KV_HEADS, cap, HEAD_DIM, device=dev, generator=g).bfloat16()
            if sliding:  # the ring holds the last 512 positions in a scrambled order
                key_pos = torch.stack([torch.randperm(cap, device=dev, generator=g) + context - cap
                                       for _ in range(n_slots)])
            else:
                key_pos = torch.arange(cap, device=dev).expand(n_slots, cap).contiguous()
            slots = torch.randperm(n_slots, device=dev, generator=g)[:batch]
            q_pos = torch.full((batch,), context - 1, device=dev, dtype=torch.int64)
            row["bytes"] = batch * KV_HEADS * min(cap, context) * HEAD_DIM * 2 * 2
            run_torch = partial(attention_torch.decode_attention, q, kc, vc, key_pos, slots, q_pos, window=window,
                                scale=HEAD_DIM**-0.5)
            run_triton = partial(attention_triton.decode_attention, q, kc, vc, key_pos, slots, q_pos, window=window,
                                 scale=HEAD_DIM**-0.5)
            row["max_abs_err"] = max_err(run_triton(), run_torch())
            row["torch_ms"] = bench_ms(run_torch)
            row["triton_ms"] = bench_ms(run_triton)
            del q, kc, vc, run_torch, run_triton
        except torch.OutOfMemoryError:
            row["skipped"] = "out of GPU memory"
        rows.append(row)
        torch.cuda.empty_cache()
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'op':<17} {'shape':<26} {'torch ms':>10} {'triton ms':>10} {'speedup':>8} {'triton GB/s':>12} "
            f"{'max err':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(f"{r['op']:<17} {r['shape']:<26} skipped: {r['skipped']}")
            continue
        speedup = r["torch_ms"] / r["triton_ms"]
        gbps = r["bytes"] / (r["triton_ms"] * 1e-3) / 1e9
        print(f"{r['op']:<17} {r['shape']:<26} {r['torch_ms']:>10.3f} {r['triton_ms']:>10.3f} {speedup:>7.2f}x "
              f"{gbps:>12.0f} {r['max_abs_err']:>9.2e}")


def gpu_bench(args: argparse.Namespace) -> None:
    tokens = [1, 32, 512] if args.quick else [1, 8, 32, 128, 512, 2048]
    attn: list[tuple[str, int, int]]
    if args.quick:
        attn = [("sliding", 1, 4096), ("sliding", 32, 4096), ("full", 1, 4096), ("full", 8, 32768)]
    else:
        attn = [("sliding", b, 4096) for b in (1, 8, 32)]
        attn += [("full", b, ctx) for ctx in (4096, 8192, 16384, 32768) for b in (1, 8, 32)]
    started = time.perf_counter()
    rows = moe_rows(tokens) + attention_rows(attn)
    print(f"device: {torch.cuda.get_device_name()}  (bf16; times are medians of triton.testing.do_bench)")
    print_table(rows)
    data = {
        "benchmark": "kernels",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {**machine(), "gpu": torch.cuda.get_device_name()},
        "versions": {"torch": torch.__version__, "triton": package_version("triton")},
        "settings": {"hidden": HIDDEN, "experts": EXPERTS, "inter": INTER, "top_k": TOP_K, "limit": LIMIT,
                     "kv_heads": KV_HEADS, "head_dim": HEAD_DIM, "window": WINDOW, "dtype": "bfloat16",
                     "quick": args.quick},
        "rows": rows,
        "notes": ["bytes: expert weights (moe) or visible K+V (attention) the op must read; "
                  "GB/s = bytes / triton time"],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_suffix(args.json.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.json)
    print(f"wrote {args.json} ({time.perf_counter() - started:.0f}s in all)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="fewer shapes")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results (GPU runs only)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks/kernels.py times the Triton kernels and needs a CUDA GPU; none here, so no timings.")
        print("Checking the kernels against the torch references at tiny sizes in the Triton CPU interpreter:")
        return cpu_check()
    gpu_bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
