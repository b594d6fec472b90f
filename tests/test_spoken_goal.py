"""A spoken goal: `voice.command` hears the recording as a node of the run, then the host plans what it heard
exactly as a typed goal, and the planned nodes run after it. The host is a real HTTP server speaking the
OpenAI API (`scripted_openai_server`); the recogniser is the real pocketsphinx on committed audio."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted_openai_server import ScriptedOpenAIServer, plan, streamed
from support_experts import EXPERTS

import agentos
from agentos import Registry
from agentos.errors import TaskFileError
from agentos.taskspec import SPOKEN_GOAL_NODE, load_task
from experts.voice import EXPERTS as VOICE_EXPERTS
from host_model import OpenAICompatibleHost

AUDIO = Path(__file__).resolve().parents[1] / "showcases" / "voice" / "audio"
COMMANDS = [json.loads(line) for line in (AUDIO / "commands.jsonl").read_text().splitlines()]
PHRASES = [c["text"] for c in COMMANDS]
SAY = {"phrases": PHRASES, "pronunciations": json.loads((AUDIO / "vocabulary.json").read_text())["pronunciations"]}
SAID = "summarize the meeting recording"  # commands/summarize-meeting.wav
STEP = {"id": "step", "capability": "test.step", "inputs": {"value": 1}}
JOIN = {"id": "join", "capability": "test.step", "inputs": {"value": "${step.value}"}}


@pytest.fixture
def registry() -> Registry:
    return Registry([*EXPERTS, *VOICE_EXPERTS])


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    srv = ScriptedOpenAIServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(AUDIO / "commands" / "summarize-meeting.wav", tmp_path / "request.wav")
    return tmp_path


def _run(folder: Path, registry: Registry, server: ScriptedOpenAIServer, events: list[Any] | None = None,
         **task: Any) -> agentos.RunResult:
    spec = {"spoken_goal": {"audio": "request.wav", **SAY}, "budget": {"max_retries": 0}, **task}
    return agentos.run(spec, base_dir=folder, registry=registry, host=OpenAICompatibleHost(server.url, "m"),
                       output=folder / "runs", on_event=events.append if events is not None else None)


def test_the_heard_request_is_planned_as_the_goal_and_its_nodes_run_after_the_hearing(folder, registry, server):
    server.add(plan({"nodes": [STEP, JOIN]}))
    events: list[Any] = []
    r = _run(folder, registry, server, events)
    assert r.ok, [n.error for n in r.nodes.values()]
    assert r.output(SPOKEN_GOAL_NODE)["request"] == SAID and r.nodes[SPOKEN_GOAL_NODE].expert == "voice-sphinx"
    assert r.output("join")["value"] == 3 and r.planned_by == server_name(server)
    [asked] = server.chat_requests
    assert f"Goal: {SAID}" in asked.messages[-1]["content"]  # planned as if typed
    planning = next(e for e in events if e.kind == "run.planning")
    assert planning.goal == SAID
    heard_at = next(i for i, e in enumerate(events) if e.kind == "node.finished" and e.node_id == SPOKEN_GOAL_NODE)
    assert heard_at < events.index(planning) < next(i for i, e in enumerate(events) if e.kind == "node.started"
                                                      and e.node_id == "step")
    added = {e.node_id: e.after for e in events if e.kind == "node.added"}
    assert added == {"step": [SPOKEN_GOAL_NODE], "join": ["step"]}  # a root of the plan waits for the hearing


def server_name(server: ScriptedOpenAIServer) -> str:
    return OpenAICompatibleHost(server.url, "m").name


def test_a_streamed_plan_of_the_heard_request_starts_its_nodes_as_they_come(folder, registry, server):
    parts = ['{"nodes": [' + json.dumps(STEP), ", " + json.dumps(JOIN) + "]}"]
    server.add(streamed(parts, delay_s=0.05))
    r = _run(folder, registry, server)
    assert r.ok, [n.error for n in r.nodes.values()]
    assert list(r.nodes) == [SPOKEN_GOAL_NODE, "step", "join"]


def test_the_journal_keeps_the_plan_so_a_resume_does_not_hear_or_plan_again(folder, registry, server):
    server.add(plan({"nodes": [STEP, JOIN]}))
    first = _run(folder, registry, server)
    assert first.ok
    again = agentos.run(resume=first.run_id, registry=registry, host=OpenAICompatibleHost(server.url, "m"),
                        output=folder / "runs")
    assert again.ok and len(server.chat_requests) == 1
    assert all(n.from_earlier_attempt for n in again.nodes.values())


def test_speech_outside_the_phrases_fails_the_plan_without_asking_the_host(folder, registry, server):
    shutil.copy(AUDIO / "commands" / "cancel.wav", folder / "request.wav")
    spec = {"spoken_goal": {"audio": "request.wav", "phrases": ["open the project demo"]},
            "budget": {"max_retries": 0}}
    r = agentos.run(spec, base_dir=folder, registry=registry, host=OpenAICompatibleHost(server.url, "m"),
                    output=folder / "runs")
    assert not r.ok and server.chat_requests == []
    assert "none of the 1 allowed phrases" in r.nodes[SPOKEN_GOAL_NODE].error
    assert any("planning failed: the spoken goal was not heard" in e for e in r.errors), r.errors


def _problems(folder: Path, registry: Registry, task: str) -> str:
    (folder / "task.yaml").write_text(task)
    with pytest.raises(TaskFileError) as err:
        load_task(folder / "task.yaml", registry)
    return str(err.value)


def test_a_spoken_goal_file_is_checked_like_a_node(folder, registry):
    text = _problems(folder, registry, "spoken_goal:\n  audio: missing.wav\n  phrasez: [hello]\n")
    assert "file `missing.wav` does not exist" in text
    assert "`voice.command` has no input `phrasez`" in text and "phrases" in text
    assert "task.yaml:2:10: spoken_goal.audio" in text and "task.yaml:3:3: spoken_goal.phrasez" in text


def test_a_spoken_goal_goes_alone(folder, registry):
    both = _problems(folder, registry, "goal: Summarise it\nspoken_goal: {audio: request.wav}\n")
    assert "give `goal` (typed) or `spoken_goal` (a recording), not both" in both
    graph = _problems(folder, registry, "spoken_goal: {audio: request.wav}\n"
                                        "graph: [{id: a, capability: test.step}]\n")
    assert "a spoken goal is planned into the graph: leave `graph` out" in graph


def test_without_a_voice_expert_the_spoken_goal_names_what_to_install(folder):
    text = _problems(folder, Registry(EXPERTS), "spoken_goal: {audio: request.wav}\n")
    assert "no installed expert offers `voice.command`" in text and ".[voice]" in text
