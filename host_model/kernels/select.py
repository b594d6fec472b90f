"""Which kernel backend a call uses: plain torch (the truth, runs everywhere) or Triton.

`AGENTOS_KERNELS` picks: `auto` (default) uses Triton only when the call's tensors are on CUDA and
triton imports, so CPU machines and triton-less installs silently get torch; `torch` forces the
references; `triton` forces the kernels and fails loudly when they cannot run, so a benchmark or test
never measures the wrong thing by accident. The check runs on every call, so it must stay cheap: one
environment lookup and a cached import probe.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from typing import Literal

import torch

ENV_VAR = "AGENTOS_KERNELS"
MODES = ("auto", "torch", "triton")
Backend = Literal["torch", "triton"]

# Spellings triton itself reads as true for TRITON_INTERPRET (checked against triton 3.9).
_TRUTHY = frozenset({"1", "true", "on", "yes", "y"})


class KernelBackendError(RuntimeError):
    """The requested kernel backend cannot run here (bad setting, no triton, no GPU)."""


def requested_mode() -> str:
    """The validated value of AGENTOS_KERNELS; a typo must not silently fall back to a default."""
    raw = os.environ.get(ENV_VAR, "auto")
    mode = raw.strip().lower() or "auto"
    if mode not in MODES:
        raise KernelBackendError(f"{ENV_VAR}={raw!r} is not valid; use one of: {', '.join(MODES)}")
    return mode


def interpreter_enabled() -> bool:
    """True when TRITON_INTERPRET asks triton to run kernels on the CPU with numpy."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in _TRUTHY


@cache
def triton_importable() -> bool:
    """Whether `import triton` works; cached because a failed import is slow to repeat."""
    try:
        importlib.import_module("triton")
    except Exception:  # any failure (missing, broken install, driver probe) means: use torch
        return False
    return True


def resolve(mode: str, *, on_cuda: bool, have_triton: bool, interpret: bool) -> Backend:
    """The pure decision, separated from the environment so every branch is testable without a GPU."""
    if mode == "torch":
        return "torch"
    if mode == "auto":
        return "triton" if on_cuda and have_triton else "torch"
    if mode != "triton":
        raise KernelBackendError(f"{ENV_VAR}={mode!r} is not valid; use one of: {', '.join(MODES)}")
    if not have_triton:
        raise KernelBackendError(
            f"{ENV_VAR}=triton but triton cannot be imported; install triton or set {ENV_VAR}=auto"
        )
    if not on_cuda and not interpret:
        raise KernelBackendError(
            f"{ENV_VAR}=triton needs CUDA tensors (or TRITON_INTERPRET=1 set before triton is imported, "
            f"to run the kernels on the CPU slowly); the inputs are on the CPU. Set {ENV_VAR}=auto or torch."
        )
    return "triton"


def choose(*tensors: torch.Tensor) -> Backend:
    """The backend for one call, decided from its tensors' device and the environment."""
    mode = requested_mode()
    if mode == "torch":
        return "torch"
    on_cuda = all(t.is_cuda for t in tensors)
    # Only probe the import when the answer matters: auto on CPU never needs triton.
    have_triton = triton_importable() if (on_cuda or mode == "triton") else False
    return resolve(mode, on_cuda=on_cuda, have_triton=have_triton, interpret=interpreter_enabled())


def backend(device: torch.device | str | None = None) -> Backend:
    """What the dispatch functions use right now for tensors on `device` (default: CUDA if present)."""
    mode = requested_mode()
    if mode == "torch":
        return "torch"
    on_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    have_triton = triton_importable() if (on_cuda or mode == "triton") else False
    return resolve(mode, on_cuda=on_cuda, have_triton=have_triton, interpret=interpreter_enabled())
