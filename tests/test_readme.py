"""The README stays true: its SDK example runs, and CI runs exactly its test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_sdk_example_in_the_readme_runs(tmp_path):
    section = README.split("## The SDK in ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "{'text': 'Hello, Ada!'}" in proc.stdout


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^(scripts/setup\.sh && .+)$", README, re.M)
    assert len(commands) == 2
    test_command = commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
    assert "pytest" in test_command


def test_importing_agentos_and_its_cli_does_not_import_torch(tmp_path):
    # torch may not be installed at all, so plant a `torch` that fails loudly the moment anything imports it
    (tmp_path / "torch.py").write_text("raise ImportError('agentos imported torch')\n")
    probe = ("import sys, agentos, agentos.cli, agentos.api, agentos.runtime, host_model; agentos.Expert; "
             "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
