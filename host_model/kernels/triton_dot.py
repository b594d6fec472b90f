"""The one `tl.dot` both Triton kernels use, with the interpreter's bf16 workaround."""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def dot(a, b, acc, PRECISION: tl.constexpr, DOT_FP32: tl.constexpr):
    """tl.dot, or an fp32 dot of upcast operands: triton's CPU interpreter multiplies bf16 as raw bits."""
    if DOT_FP32:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc, input_precision="ieee")
    else:
        return tl.dot(a, b, acc, input_precision=PRECISION)


def dot_precision(dtype: torch.dtype) -> str:
    """fp32 inputs must match the fp32 torch reference, so no TF32 rounding for them."""
    return "ieee" if dtype == torch.float32 else "tf32"


def dot_in_fp32(t: torch.Tensor) -> bool:
    """Upcast bf16/fp16 operands on CPU tensors (the interpreter) only; a GPU runs the native dot."""
    return not t.is_cuda and t.dtype != torch.float32
