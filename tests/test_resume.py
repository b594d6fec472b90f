"""Resume for real: SIGKILL a run mid-way, resume it, and check nothing finished was redone or lost."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support_experts import log_lines

TESTS = Path(__file__).parent

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH", "")]))
    env["AGENTOS_EXPERT_MODULES"] = "support_experts"
    return env


def _succeeded(journal: Path) -> set[str]:
    if not journal.exists():
        return set()
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)
    try:
        return {n for (n,) in db.execute("SELECT node_id FROM nodes WHERE status = 'succeeded'")}
    except sqlite3.OperationalError:
        return set()
    finally:
        db.close()


def _task(tmp_path: Path) -> Path:
    log = str(tmp_path / "calls.log")
    chain = [{"id": "c1", "capability": "test.step", "inputs": {"delay": 0.3, "log": log}}]
    for i in range(2, 7):
        chain.append({"id": f"c{i}", "capability": "test.step",
                      "inputs": {"value": f"${{c{i - 1}.value}}", "delay": 0.3, "log": log}})
    side = [{"id": "side1", "capability": "test.step", "inputs": {"delay": 0.1, "log": log}},
            {"id": "side2", "capability": "test.step", "inputs": {"value": "${side1.value}", "log": log}}]
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump({"graph": chain + side, "budget": {"max_retries": 0}}))
    return path


def test_a_killed_run_resumes_without_redoing_finished_nodes(tmp_path):
    task = _task(tmp_path)
    runs = tmp_path / "runs"
    journal = runs / "r1" / "journal.sqlite"
    cmd = [sys.executable, "-m", "agentos", "run", str(task), "--output", str(runs), "--run-id", "r1"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while len(_succeeded(journal)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stdout.read().decode()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    done_before = _succeeded(journal)
    assert {"c1", "c2", "side1"} <= done_before and "c6" not in done_before
    assert not (runs / "r1" / "result.json").exists()  # it really died mid-run
    artifacts_before = {n: (runs / "r1" / "artifacts" / n / "value.txt").read_text() for n in done_before}
    listed = subprocess.run([sys.executable, "-m", "agentos", "runs", "list", "--output", str(runs), "--json"],
                            env=_env(), capture_output=True, text=True, timeout=60)
    assert json.loads(listed.stdout)[0]["status"] == "interrupted"  # "running" in the journal, but nobody is
    shown = subprocess.run([sys.executable, "-m", "agentos", "runs", "show", "r1", "--output", str(runs)],
                           env=_env(), capture_output=True, text=True, timeout=60)
    assert "agentos run --resume r1" in shown.stdout

    resumed = subprocess.run([sys.executable, "-m", "agentos", "run", "--resume", "r1", "--output", str(runs)],
                             env=_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    starts = [ln.split()[1] for ln in log_lines(tmp_path / "calls.log") if ln.startswith("start ")]
    for node in done_before:
        assert starts.count(node) == 1, f"{node} was rerun: {starts}"
    result = json.loads((runs / "r1" / "result.json").read_text())
    assert result["status"] == "succeeded" and result["resumed"] == 1
    assert result["nodes"]["c6"]["output"]["value"] == 6
    for node in done_before:
        assert result["nodes"][node]["from_earlier_attempt"] is True
        assert (runs / "r1" / "artifacts" / node / "value.txt").read_text() == artifacts_before[node]
    db = sqlite3.connect(journal)
    starts_logged = [json.loads(b)["resumed"] for (b,) in db.execute(
        "SELECT body FROM events WHERE kind = 'run.started' ORDER BY seq")]
    db.close()
    assert starts_logged == [False, True]


def test_resuming_a_finished_run_reruns_nothing(tmp_path):
    task = _task(tmp_path)
    runs = tmp_path / "runs"
    first = subprocess.run([sys.executable, "-m", "agentos", "run", str(task), "--output", str(runs), "--run-id", "r2"],
                           env=_env(), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    calls = len(log_lines(tmp_path / "calls.log"))
    again = subprocess.run([sys.executable, "-m", "agentos", "run", "--resume", "r2", "--output", str(runs)],
                           env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(log_lines(tmp_path / "calls.log")) == calls


def test_a_run_that_is_still_going_cannot_be_resumed_a_second_time(tmp_path):
    log = str(tmp_path / "calls.log")
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"graph": [{"id": "slow", "capability": "test.step",
                                               "inputs": {"delay": 30, "log": log}}]}))
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "agentos", "run", str(task), "--output", str(runs),
                             "--run-id", "busy"], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not log_lines(tmp_path / "calls.log") and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run([sys.executable, "-m", "agentos", "run", "--resume", "busy", "--output", str(runs)],
                                env=_env(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"run busy is running right now (process {proc.pid})" in second.stderr
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert log_lines(tmp_path / "calls.log") == ["start slow"]  # the refused resume ran nothing
