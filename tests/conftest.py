"""Test-session settings shared by every test file."""

from __future__ import annotations

import os

# The model tests use tiny tensors: extra intra-op threads only add synchronisation, and on a busy
# 2-core machine they made them ten times slower. Set before anything imports torch; subprocesses
# (servers, CLIs) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
