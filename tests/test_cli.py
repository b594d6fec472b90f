"""The `agentos` command line: every command, its exit codes, and its errors (no tracebacks)."""

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
from typer.testing import CliRunner

from agentos.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "task.yaml"
TESTS = Path(__file__).parent
runner = CliRunner()


def agentos(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_run_quickstart_succeeds_and_writes_the_result_folder(tmp_path):
    code, out, _ = agentos("run", str(QUICKSTART), "--output", str(tmp_path), "--run-id", "demo")
    assert code == 0, out
    result = json.loads((tmp_path / "demo" / "result.json").read_text())
    assert result["status"] == "succeeded"
    assert set(result["nodes"]) == {"load", "summary", "keywords", "report"}
    report = tmp_path / "demo" / "artifacts" / "report" / "report.md"
    assert report.read_text().startswith("# Renewable power notes")
    assert "run demo: succeeded" in out


def test_run_json_streams_events_then_the_result(tmp_path):
    code, out, _ = agentos("run", str(QUICKSTART), "--output", str(tmp_path), "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "run.started" and kinds[-2] == "run.finished" and kinds[-1] == "run.result"
    finished = {line["node_id"] for line in lines if line["kind"] == "node.finished"}
    assert len(finished) == 4 and "route.decided" in kinds and "check.completed" in kinds
    assert all(line["run_id"] == lines[0]["run_id"] for line in lines)


def test_set_overrides_a_value_for_this_run(tmp_path):
    code, out, _ = agentos("run", str(QUICKSTART), "-o", str(tmp_path), "--run-id", "x", "--json",
                           "--set", "graph.summary.inputs.max_sentences=1")
    assert code == 0
    result = json.loads(out.splitlines()[-1])
    assert len(result["nodes"]["summary"]["output"]["sentences"]) == 1


def test_run_exit_code_is_1_when_a_node_fails(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text(yaml.safe_dump({"graph": [{"id": "load", "capability": "text.load",
                                               "inputs": {"path": "empty"}}], "budget": {"max_retries": 0}}))
    (tmp_path / "empty").mkdir()
    code, out, _ = agentos("run", str(task), "-o", str(tmp_path / "runs"))
    assert code == 1
    assert "failed" in out and "no .md/.markdown/.txt files" in out


def test_validate_prints_the_graph_summary():
    code, out, _ = agentos("validate", str(QUICKSTART))
    assert code == 0
    assert "valid: 4 nodes, 4 edges, 3 layers" in out
    assert "layer 1: keywords (text.keywords), summary (text.summarize)" in out


def test_validate_reports_problems_with_line_and_exit_code_2(tmp_path):
    task = tmp_path / "bad.yaml"
    task.write_text("graph:\n  - id: a\n    capabilty: text.load\n")
    code, _, err = agentos("validate", str(task))
    assert code == 2
    assert "bad.yaml:3" in err and "did you mean `capability`?" in err
    assert "Traceback" not in err


def test_schema_is_a_json_schema_of_the_task_file():
    code, out, _ = agentos("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "AgentOS task file"
    assert {"goal", "graph", "inputs", "budget", "router", "host", "output"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("fmt", "edge"), [("mermaid", "n_load --> n_summary"), ("dot", '"load" -> "summary";')])
def test_graph_draws_every_edge(fmt, edge):
    code, out, _ = agentos("graph", str(QUICKSTART), "--format", fmt)
    assert code == 0 and edge in out
    assert out.count("->") == 4


def test_runs_list_and_show(tmp_path):
    agentos("run", str(QUICKSTART), "-o", str(tmp_path), "--run-id", "one")
    code, out, _ = agentos("runs", "list", "-o", str(tmp_path), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["run_id"] for r in rows] == ["one"] and rows[0]["nodes"] == {"succeeded": 4}
    code, out, _ = agentos("runs", "show", "one", "-o", str(tmp_path), "--json")
    report = json.loads(out)["nodes"]["report"]
    assert code == 0 and report["status"] == "succeeded"
    code, out, _ = agentos("runs", "show", "one", "-o", str(tmp_path))
    assert code == 0 and "report" in out and "succeeded" in out
    code, out, _ = agentos("runs", "show", "one", "-o", str(tmp_path), "--events", "--json")
    events = json.loads(out)
    kinds = [e["kind"] for e in events]
    started = {e["node_id"] for e in events if e["kind"] == "node.started"}  # a gated node starts twice
    assert code == 0 and kinds[0] == "run.started" and kinds[-1] == "run.finished" and len(started) == 4


def test_unknown_run_id_is_a_user_error(tmp_path):
    agentos("run", str(QUICKSTART), "-o", str(tmp_path), "--run-id", "one")
    code, _, err = agentos("runs", "show", "nope", "-o", str(tmp_path))
    assert code == 2 and "no run `nope`" in err and "one" in err
    code, _, err = agentos("run", "--resume", "nope", "-o", str(tmp_path))
    assert code == 2 and "no run `nope`" in err


def test_experts_list_shows_every_operation():
    code, out, _ = agentos("experts", "list", "--json")
    assert code == 0
    caps = {op["capability"] for e in json.loads(out)["experts"] for op in e["operations"]}
    assert {"text.load", "text.summarize", "text.keywords", "text.report"} <= caps


def test_a_goal_only_task_without_a_host_says_how_to_configure_one(tmp_path, monkeypatch):
    for var in ("AGENTOS_HOST_URL", "AGENTOS_HOST_MODEL"):
        monkeypatch.delenv(var, raising=False)
    task = tmp_path / "goal.yaml"
    task.write_text("goal: summarise my notes\n")
    code, _, err = agentos("run", str(task), "-o", str(tmp_path / "runs"))
    assert code == 2
    assert "AGENTOS_HOST_URL" in err and "host:" in err
    assert not (tmp_path / "runs").exists()  # nothing half-made


def test_run_without_a_file_or_resume_is_a_usage_error():
    code, _, err = agentos("run")
    assert code == 2 and "give a task file" in err


def test_missing_task_file_is_exit_2_without_traceback_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentos", "run", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "nope.yaml" in proc.stderr and "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_records_the_cancel_and_prints_how_to_resume(tmp_path):
    log = str(tmp_path / "calls.log")
    graph = [{"id": "first", "capability": "test.step", "inputs": {"log": log}},
             {"id": "second", "capability": "test.step", "inputs": {"value": "${first.value}", "delay": 30}}]
    task = tmp_path / "t.yaml"
    task.write_text(yaml.safe_dump({"graph": graph}))
    env = {**os.environ, "PYTHONPATH": str(TESTS), "AGENTOS_EXPERT_MODULES": "support_experts"}
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "agentos", "run", str(task), "-o", str(runs), "--run-id", "c"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = runs / "c" / "journal.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists():
            db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
            try:
                started = db.execute("SELECT 1 FROM events WHERE kind='node.started' AND node_id='second'").fetchone()
            except sqlite3.OperationalError:
                started = None
            db.close()
            if started:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "agentos run --resume c" in err and "Traceback" not in err
    result = json.loads((runs / "c" / "result.json").read_text())
    assert result["status"] == "cancelled"
    assert result["nodes"]["first"]["status"] == "succeeded" and result["nodes"]["second"]["status"] == "cancelled"


def test_a_terminal_gets_live_progress(tmp_path):
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agentos", "run", str(QUICKSTART), "-o", str(tmp_path)],
                            stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "4/4 nodes" in screen  # the live header
    assert "\x1b[" in screen  # drawn with terminal control codes, unlike the piped output


def test_debug_shows_the_traceback_of_a_crashed_expert(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text(yaml.safe_dump({"graph": [{"id": "bug", "capability": "test.crash", "inputs": {}}],
                                    "budget": {"max_retries": 0}}))
    env = {**os.environ, "PYTHONPATH": str(TESTS), "AGENTOS_EXPERT_MODULES": "support_experts"}
    plain = subprocess.run([sys.executable, "-m", "agentos", "run", str(task), "-o", str(tmp_path / "a")],
                           env=env, capture_output=True, text=True, timeout=60)
    debug = subprocess.run([sys.executable, "-m", "agentos", "--debug", "run", str(task), "-o", str(tmp_path / "b")],
                           env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == debug.returncode == 1
    assert "ZeroDivisionError" in plain.stdout and "--debug shows its traceback" in plain.stdout
    assert "in crasher" not in plain.stdout
    assert "in crasher" in debug.stdout and "support_experts.py" in debug.stdout


def test_a_runs_folder_that_cannot_be_made_is_a_user_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder should be")
    code, _, err = agentos("run", str(QUICKSTART), "-o", str(blocker))
    assert code == 2 and "cannot create the run folder" in err and "Traceback" not in err


def test_the_run_summary_says_which_host_planned_it_and_when_the_first_node_started() -> None:
    from rich.console import Console

    from agentos.cli_view import print_summary
    from agentos.result import RunResult

    console = Console(record=True, width=120)
    result = RunResult(run_id="r1", status="succeeded", task_file=None, run_dir="/tmp/r1", started_at=0.0, nodes={},
                       planned_by="local:step3p5-mini", planning_s=3.2, first_node_started_s=0.83)
    print_summary(console, result)
    assert "planned by local:step3p5-mini in 3.20s, first node started at 0.83s" in console.export_text()
    console = Console(record=True, width=120)
    print_summary(console, result.model_copy(update={"planned_by": None}))
    assert "planned by" not in console.export_text()  # a hand-written graph says nothing about planning
