"""The bundled offline planner step3p5-mini: shipped in the package, the default host, and it plans.

These tests load the real committed checkpoint (no tiny stand-in): a goal-only task must run with
no configuration at all, as the README's first command promises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentos.host_agent import host_from_settings
from agentos.local_host import LocalHost, bundled_model_dir
from agentos.planning.format import FORMAT_NAME

ROOT = Path(__file__).resolve().parents[1]
MAX_CHECKPOINT_BYTES = 25_000_000


def _cli(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_HOST")}  # nothing configured
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "agentos", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_checkpoint_ships_in_hugging_face_layout_under_25_mb() -> None:
    folder = bundled_model_dir()
    assert folder is not None, "host_model/checkpoints/step3p5-mini is missing: python -m agentos.planning.build"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "agentos_planner.json", "training_summary.json"):
        assert (folder / name).is_file(), name
    weights = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    assert weights <= MAX_CHECKPOINT_BYTES
    summary = json.loads((folder / "training_summary.json").read_text())
    assert 10_000_000 <= summary["parameter_counts"]["total"] <= 30_000_000


def test_the_checkpoint_keeps_every_structural_feature_of_step3p5() -> None:
    from host_model.config import Step3p5Config

    folder = bundled_model_dir()
    assert folder is not None
    cfg = Step3p5Config.from_file(folder / "config.json")
    kinds = [cfg.layer(i).attention for i in range(cfg.num_hidden_layers)]
    assert kinds.count("sliding_attention") == 3 * kinds.count("full_attention")
    assert cfg.moe_layers and cfg.moe_top_k < cfg.moe_num_experts
    assert cfg.num_nextn_predict_layers >= 1


def test_with_nothing_configured_the_host_is_the_bundled_planner() -> None:
    host = host_from_settings(None, env={})
    assert isinstance(host, LocalHost)
    assert host.folder == bundled_model_dir() and host.prompt_format == FORMAT_NAME
    assert host.name == "local:step3p5-mini"


def test_the_goal_only_quickstart_runs_offline_with_no_configuration(tmp_path: Path) -> None:
    proc = _cli("run", "examples/quickstart/goal.yaml", "--output", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr + proc.stdout[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["planned_by"] == "local:step3p5-mini"
    assert {n["capability"] for n in result["nodes"].values()} >= {"text.load", "text.summarize", "text.keywords",
                                                                    "text.report"}
    report = next(n for n in result["nodes"].values() if n["capability"] == "text.report")
    assert Path(report["output"]["path"]).is_file()
    assert "## Summary" in report["output"]["markdown"]
    # not asserted: the title and top_k. The model does not yet copy free-text values reliably (it writes
    # "Readingnotes" and 5 keywords today); docs/planner.md lists this, and issue #5 stays open for it.


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.txt"
    path.write_text("voice.transcribe(audio, speakers?) -> segments, text, speakers | transcribe audio\n"
                    "voice.summarize(segments, language?) -> summary, action_items, speakers | meeting summary\n"
                    "research.investigate(question, corpus, max_sources?) -> conclusions, evidence, report, answer\n"
                    "image.infographic(table, title?) -> image, layers | infographic from a spec table\n",
                    encoding="utf-8")
    return path


def test_plan_prints_a_meeting_summary_graph_as_json(catalogue: Path) -> None:
    proc = _cli("plan", "Summarise the meeting in the recording and list the action items", "--catalogue",
                str(catalogue), "--input", "meeting=standup.wav", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    caps = [n["capability"] for n in plan["nodes"]]
    assert caps == ["voice.transcribe", "voice.summarize"]
    assert plan["nodes"][0]["inputs"]["audio"] == "${inputs.meeting}"
    assert plan["nodes"][1]["inputs"]["segments"] == "${" + plan["nodes"][0]["id"] + ".segments}"


def test_plan_reads_a_chinese_request_and_a_task_input(catalogue: Path) -> None:
    proc = _cli("plan", "根据这张参数表生成一张信息图", "--catalogue", str(catalogue), "--input", "table=phone.csv",
                "--json")
    assert proc.returncode == 0, proc.stderr
    (node,) = json.loads(proc.stdout)["nodes"]
    assert node["capability"] == "image.infographic" and node["inputs"]["table"] == "${inputs.table}"


def test_plan_refuses_what_no_capability_in_the_catalogue_does(catalogue: Path) -> None:
    # The CLI's handling of a refusal. The model refuses most out-of-scope requests, not all (14 of 18
    # held-out ones): docs/planner.md, issue #5.
    proc = _cli("plan", "Order a pizza to my office", "--catalogue", str(catalogue), "--json")
    assert proc.returncode == 1
    assert "refuse" in json.loads(proc.stdout)
    assert "the host cannot plan this task" in proc.stderr


def test_plan_shows_a_table_and_mermaid_without_json(catalogue: Path) -> None:
    proc = _cli("plan", "Transcribe interview.ogg", "--catalogue", str(catalogue))
    assert proc.returncode == 0, proc.stderr
    assert "voice.transcribe" in proc.stdout and "flowchart TD" in proc.stdout
