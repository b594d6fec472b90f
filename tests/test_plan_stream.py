"""Streamed plans: nodes start as soon as the host has written them, as in LLMCompiler.

The scanner reads node objects out of a reply still being written; `HostAgent.plan_stream` validates
each prefix; the runtime adds nodes to the running graph. The host is a real HTTP server speaking
the OpenAI API (`scripted_openai_server`), streaming its reply in pieces; a gate holds the rest of
a reply until the test has seen a node start, so event order is decided by the code, not by timing.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from scripted_openai_server import ScriptedOpenAIServer, error, plan, streamed, tool_call
from support_experts import EXPERTS

import agentos
from agentos import Registry
from agentos.cli_view import LiveProgress
from agentos.errors import HostError, PlanDeclinedError, PlanError
from agentos.graph import TaskGraph
from agentos.host_agent import TOOL_NAME, HostAgent
from agentos.journal import Journal
from agentos.local_host import LocalHost
from agentos.plan_stream import NodeScanner
from agentos.planning.schema import plan_schema
from agentos.result import RunResult
from agentos.taskspec import NodeSpec, TaskSpec, parse_task
from host_model import ChatReply, OpenAICompatibleHost
from host_model.base import StreamingHostModel
from host_model.chat_service import ChatService
from host_model.engine_host import EngineHost

MODEL = "step-3.5-flash"
GOAL = "Step twice, then join the two."

A = {"id": "a", "capability": "test.step", "inputs": {"value": 1, "delay": 0.05}}
B = {"id": "b", "capability": "test.step", "inputs": {"value": 2}}
JOIN = {"id": "join", "capability": "test.step", "inputs": {"value": "${a.value}"}, "after": ["b"]}
TWO_BRANCHES = [A, B, JOIN]


# ---- helpers -----------------------------------------------------------------------------------------

@pytest.fixture
def registry() -> Registry:
    return Registry(EXPERTS)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    srv = ScriptedOpenAIServer().start()
    yield srv
    srv.stop()


def pieces(nodes: list[dict[str, Any]]) -> list[str]:
    """A plan's JSON in one piece per node: each piece ends with its node's closing brace."""
    parts = [json.dumps(n, ensure_ascii=False) for n in nodes]
    out = ['{"nodes": [' + parts[0]] + [", " + part for part in parts[1:]]
    out[-1] += "]}"
    return out


class Recorder:
    """Collects events; opens `gate` when the event `kind` of node `node_id` arrives."""

    def __init__(self, gate: threading.Event | None = None, kind: str = "node.started", node_id: str = "a"):
        self.events: list[Any] = []
        self.gate, self.kind, self.node_id = gate, kind, node_id

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        if self.gate is not None and event.kind == self.kind and event.node_id == self.node_id:
            self.gate.set()

    def index(self, kind: str, node_id: str | None = None) -> int:
        return next(i for i, e in enumerate(self.events)
                    if e.kind == kind and (node_id is None or e.node_id == node_id))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def run_goal(tmp_path: Path, registry: Registry, srv: ScriptedOpenAIServer, on_event: Callable[[Any], None],
             **task: Any) -> RunResult:
    spec = {"goal": GOAL, "budget": {"retry_backoff_s": 0, "wall_time_s": 60, "max_retries": 0}, **task}
    return agentos.run(spec, registry=registry, host=OpenAICompatibleHost(srv.url, MODEL), output=tmp_path / "runs",
                       on_event=on_event, run_id="r1")


def goal_spec(registry: Registry) -> TaskSpec:
    return parse_task({"goal": GOAL}, registry, base_dir=Path.cwd())


async def collect(agent: HostAgent, spec: TaskSpec) -> list[list[NodeSpec]]:
    return [batch async for batch in agent.plan_stream(spec)]


# ---- the scanner -------------------------------------------------------------------------------------

TRICKY = {"nodes": [
    {"id": "load", "capability": "text.load", "inputs": {"path": "notes/{a}.md"},
     "description": 'reads "the notes" \\ } ] { [ and a \\"quoted\\" brace'},
    {"id": "sum", "capability": "text.summarize", "inputs": {"text": "${load.text}", "style": {"tone": ["plain"]}},
     "description": "把笔记总结成三句话（不是 {括号}）"},
    {"id": "end", "capability": "text.report", "inputs": {"title": "\\\\", "body": "\u00e9\u4e2d\"}"}},
]}


def test_scanner_returns_each_node_at_the_delta_that_holds_its_closing_brace() -> None:
    text = json.dumps(TRICKY, ensure_ascii=False)
    scanner = NodeScanner()
    found = {i: nodes for i, ch in enumerate(text) if (nodes := scanner.feed(ch))}
    closing = [text.index(json.dumps(n, ensure_ascii=False)) + len(json.dumps(n, ensure_ascii=False)) - 1
               for n in TRICKY["nodes"]]
    assert found == {i: [n] for i, n in zip(closing, TRICKY["nodes"], strict=True)}


def test_scanner_finds_the_same_nodes_wherever_the_reply_is_split() -> None:
    text = json.dumps(TRICKY, ensure_ascii=False, indent=2)  # pretty-printed: whitespace between every token
    for cut in range(len(text) + 1):
        for first, second in [(cut, len(text)), (cut // 2, cut)]:  # two and three pieces
            scanner = NodeScanner()
            nodes = scanner.feed(text[:first]) + scanner.feed(text[first:second]) + scanner.feed(text[second:])
            assert nodes == TRICKY["nodes"], f"split at {first}, {second}"
            assert scanner.text == text


def test_scanner_counts_an_escaped_backslash_before_a_closing_quote() -> None:
    scanner = NodeScanner()
    nodes = scanner.feed('{"nodes":[{"id":"a","x":"ends in \\\\"},{"id":"b","y":"\\"}{"}]}')
    assert nodes == [{"id": "a", "x": "ends in \\"}, {"id": "b", "y": '"}{'}]


def test_a_refusal_yields_no_nodes_and_keeps_the_whole_text() -> None:
    reply = json.dumps({"refuse": "没有能处理视频的能力 {video}"}, ensure_ascii=False)
    scanner = NodeScanner()
    nodes = [n for ch in reply for n in scanner.feed(ch)]
    assert nodes == []
    assert not scanner.scanning
    assert scanner.text == reply


def test_prose_before_the_json_is_left_for_the_whole_reply() -> None:
    scanner = NodeScanner()
    assert scanner.feed('Here is the plan: {"nodes": [{"id": "a"}]}') == []
    assert not scanner.scanning


# ---- the graph grows ---------------------------------------------------------------------------------

def test_adding_nodes_that_read_an_unknown_node_changes_nothing() -> None:
    graph = TaskGraph([NodeSpec.model_validate(A)])
    with pytest.raises(PlanError, match="`ghost`, which is not in the graph"):
        graph.add([NodeSpec.model_validate(B),
                   NodeSpec.model_validate({**JOIN, "after": ["ghost"]})])
    assert list(graph.g.nodes) == ["a"]


def test_adding_nodes_that_form_a_cycle_is_refused() -> None:
    graph = TaskGraph([NodeSpec.model_validate(A)])
    x = NodeSpec.model_validate({"id": "x", "capability": "test.step", "inputs": {"value": "${y.value}"}})
    y = NodeSpec.model_validate({"id": "y", "capability": "test.step", "inputs": {"value": "${x.value}"}})
    with pytest.raises(PlanError, match="cycle"):
        graph.add([x, y])
    assert len(graph) == 1


# ---- plan_stream -------------------------------------------------------------------------------------

def test_plan_stream_yields_nodes_as_their_prefix_validates(server: ScriptedOpenAIServer, registry: Registry) -> None:
    server.add(streamed(pieces(TWO_BRANCHES)))
    batches = asyncio.run(collect(HostAgent(OpenAICompatibleHost(server.url, MODEL), registry), goal_spec(registry)))
    assert [[n.id for n in batch] for batch in batches] == [["a"], ["b"], ["join"]]
    (request,) = server.chat_requests
    assert request.body["stream"] is True and request.body["response_format"]["type"] == "json_schema"


def test_a_node_that_reads_a_later_node_is_held_until_that_node_arrives(server: ScriptedOpenAIServer,
                                                                         registry: Registry) -> None:
    server.add(streamed(pieces([JOIN, A, B])))  # join reads a and waits for b, both written after it
    batches = asyncio.run(collect(HostAgent(OpenAICompatibleHost(server.url, MODEL), registry), goal_spec(registry)))
    assert [[n.id for n in batch] for batch in batches] == [["join", "a", "b"]]


def test_a_streamed_refusal_is_a_declined_plan(server: ScriptedOpenAIServer, registry: Registry) -> None:
    server.add(streamed(['{"refuse": "nothing here ', 'can fly a drone"}']))
    agent = HostAgent(OpenAICompatibleHost(server.url, MODEL), registry)
    with pytest.raises(PlanDeclinedError, match="can fly a drone"):
        asyncio.run(collect(agent, goal_spec(registry)))
    assert len(server.chat_requests) == 1


def test_a_server_without_json_schema_is_planned_whole_with_a_tool_call(registry: Registry) -> None:
    with ScriptedOpenAIServer([tool_call(TOOL_NAME, {"nodes": TWO_BRANCHES})], reject_response_format=True) as srv:
        agent = HostAgent(OpenAICompatibleHost(srv.url, MODEL), registry)
        batches = asyncio.run(collect(agent, goal_spec(registry)))
        assert [[n.id for n in batch] for batch in batches] == [["a", "b", "join"]]
        assert agent.mode == "tools" and not agent.streams()
        assert [r.answered for r in srv.chat_requests] == [400, 200]


class ChatOnly:
    """A host with `chat` and no `chat_stream` (as a third-party backend may be)."""

    def __init__(self, inner: OpenAICompatibleHost):
        self.inner = inner
        self.name = "chat-only"

    async def chat(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        return await self.inner.chat(messages, **options)


def test_a_host_without_chat_stream_yields_the_whole_plan_once(server: ScriptedOpenAIServer,
                                                                registry: Registry) -> None:
    server.add(plan({"nodes": TWO_BRANCHES}))
    host = ChatOnly(OpenAICompatibleHost(server.url, MODEL))
    assert not isinstance(host, StreamingHostModel)
    batches = asyncio.run(collect(HostAgent(host, registry), goal_spec(registry)))
    assert [[n.id for n in batch] for batch in batches] == [["a", "b", "join"]]
    assert "stream" not in server.chat_requests[0].body


# ---- runs with a streamed plan -----------------------------------------------------------------------

def test_a_node_starts_before_the_host_has_finished_the_plan(tmp_path: Path, server: ScriptedOpenAIServer,
                                                             registry: Registry) -> None:
    gate = threading.Event()
    server.add(streamed(pieces(TWO_BRANCHES), delay_s=0.05, gate=gate))  # holds b and join until a starts
    seen = Recorder(gate)
    result = run_goal(tmp_path, registry, server, seen)
    assert result.ok, result.errors
    assert seen.index("run.planning") < seen.index("node.started", "a") < seen.index("node.added", "b")
    assert seen.index("node.started", "a") < seen.index("run.planned")
    assert seen.events[seen.index("run.planned")].nodes == ["a", "b", "join"]
    assert result.output("join")["value"] == 3  # a's value 1 + 1, then + 1
    assert result.planned_by is not None
    assert result.first_node_started_s is not None and result.planning_s is not None
    assert result.first_node_started_s < result.planning_s


def test_a_completed_streamed_plan_is_journaled_for_resume(tmp_path: Path, server: ScriptedOpenAIServer,
                                                           registry: Registry) -> None:
    server.add(streamed(pieces(TWO_BRANCHES)))
    result = run_goal(tmp_path, registry, server, Recorder())
    journal = Journal.open_existing(Path(result.run_dir), readonly=True)
    try:
        record = journal.run()
        assert [n["id"] for n in record.spec["graph"]] == ["a", "b", "join"]
        assert record.planned_by == result.planned_by
        added = [e["node_id"] for e in journal.events(("node.added",))]
    finally:
        journal.close()
    assert added == ["b", "join"]  # a was in the graph the run started with


def test_the_live_view_shows_nodes_that_join_mid_run(tmp_path: Path, server: ScriptedOpenAIServer,
                                                     registry: Registry) -> None:
    gate = threading.Event()
    server.add(streamed(pieces(TWO_BRANCHES), gate=gate))
    view = LiveProgress(Console(file=io.StringIO(), width=120))
    seen = Recorder(gate)

    def both(event: Any) -> None:
        seen(event)
        view(event)

    run_goal(tmp_path, registry, server, both)
    assert seen.events[seen.index("run.started")].nodes == ["a"]
    assert {n: row["state"] for n, row in view.rows.items()} == {"a": "succeeded", "b": "succeeded",
                                                                "join": "succeeded"}


def test_a_first_reply_that_fails_validation_is_reasked_with_its_problems(tmp_path: Path,
                                                                          server: ScriptedOpenAIServer,
                                                                          registry: Registry) -> None:
    bad = {**A, "inputs": {"valeu": 1}}
    server.add(streamed(pieces([bad, B])), plan({"nodes": TWO_BRANCHES}))
    seen = Recorder()
    result = run_goal(tmp_path, registry, server, seen)
    assert result.ok, result.errors
    first, second = server.chat_requests
    assert first.body["stream"] is True and "stream" not in second.body
    assert "valeu" in second.messages[-1]["content"]  # the problems of the streamed reply, listed
    assert seen.kinds().count("node.started") == 3


def test_a_plan_that_fails_after_nodes_started_fails_the_run_and_keeps_their_results(
        tmp_path: Path, server: ScriptedOpenAIServer, registry: Registry) -> None:
    gate = threading.Event()
    server.add(streamed(pieces([A, {**B, "capability": "test.nope"}]), gate=gate))
    seen = Recorder(gate, kind="node.finished")
    result = run_goal(tmp_path, registry, server, seen)
    assert result.status == "failed"
    assert any("planning failed" in e and "test.nope" in e for e in result.errors)
    assert result.nodes["a"].status == "succeeded"
    assert "run.planned" not in seen.kinds()
    assert len(server.chat_requests) == 1  # nothing is re-asked once nodes ran
    journal = Journal.open_existing(Path(result.run_dir), readonly=True)
    try:
        assert journal.nodes()["a"].status == "succeeded"
        assert journal.run().spec["graph"] == []  # the plan never completed: a resume plans again
    finally:
        journal.close()


def test_resuming_a_run_whose_streamed_plan_failed_plans_again_and_reruns_its_nodes(
        tmp_path: Path, server: ScriptedOpenAIServer, registry: Registry) -> None:
    server.add(streamed(pieces([A, {**B, "capability": "test.nope"}])),
               plan({"nodes": [{**A, "inputs": {"value": 10}}]}))
    first = run_goal(tmp_path, registry, server, Recorder())
    assert first.status == "failed"
    again = agentos.run(resume="r1", registry=registry, host=OpenAICompatibleHost(server.url, MODEL),
                        output=tmp_path / "runs")
    assert again.ok
    assert not again.nodes["a"].from_earlier_attempt
    assert again.output("a")["value"] == 11


def test_a_node_planned_after_its_input_failed_is_skipped(tmp_path: Path, server: ScriptedOpenAIServer,
                                                          registry: Registry) -> None:
    gate = threading.Event()
    failing = {**A, "inputs": {"fail_times": 9}}
    server.add(streamed(pieces([failing, {**B, "inputs": {"value": "${a.value}"}}]), gate=gate))
    seen = Recorder(gate, kind="node.failed")
    result = run_goal(tmp_path, registry, server, seen, budget={"max_retries": 0, "max_replans": 0})
    assert result.status == "failed"
    assert seen.index("node.failed", "a") < seen.index("node.added", "b")
    assert result.nodes["b"].status == "skipped"
    assert "`a` failed" in (result.nodes["b"].skipped_because or "")


def test_a_streamed_plan_that_outgrows_max_nodes_with_a_replan_fails_the_plan(
        tmp_path: Path, server: ScriptedOpenAIServer, registry: Registry) -> None:
    gate = threading.Event()
    failing = {**A, "inputs": {"fail_times": 1}}  # fails once; the replan below swaps in a node that works
    server.add(streamed(pieces([failing, B]), gate=gate),
               plan({"nodes": [{"id": "a0", "capability": "test.step", "inputs": {}},
                               {"id": "a", "capability": "test.step", "inputs": {"value": "${a0.value}"}}]}))
    seen = Recorder(gate, kind="node.replanned")
    result = run_goal(tmp_path, registry, server, seen, budget={"max_nodes": 2, "retry_backoff_s": 0,
                                                                 "max_retries": 0})
    assert result.status == "failed"
    assert any("max_nodes" in e for e in result.errors)
    assert result.nodes["a"].status == "succeeded"  # the replanned node ran; only the plan's growth failed


def test_stream_plan_false_waits_for_the_whole_plan(tmp_path: Path, server: ScriptedOpenAIServer,
                                                    registry: Registry) -> None:
    server.add(plan({"nodes": TWO_BRANCHES}))
    seen = Recorder()
    result = run_goal(tmp_path, registry, server, seen, host={"stream_plan": False})
    assert result.ok
    assert seen.index("run.planned") < seen.index("run.started") < seen.index("node.started")
    assert "stream" not in server.chat_requests[0].body
    assert result.planning_s is not None and result.first_node_started_s is not None
    assert result.planning_s <= result.first_node_started_s
    assert "node.added" not in seen.kinds()


def test_a_host_error_before_any_node_fails_the_run_as_before(tmp_path: Path, server: ScriptedOpenAIServer,
                                                              registry: Registry) -> None:
    server.add(error(400, "the prompt is too long for this model"))
    with pytest.raises(HostError, match="the prompt is too long"):
        run_goal(tmp_path, registry, server, Recorder())


# ---- the in-process engine streams what it would answer whole -------------------------------------

def test_engine_chat_stream_adds_up_to_the_chat_reply(service: ChatService, registry: Registry) -> None:
    host = EngineHost(service)
    ask = [{"role": "user", "content": GOAL}]
    schema = plan_schema(registry)

    async def both() -> tuple[list[str], ChatReply]:
        deltas = [d async for d in host.chat_stream(ask, json_schema=schema, temperature=0.0, max_tokens=24)]
        return deltas, await host.chat(ask, json_schema=schema, temperature=0.0, max_tokens=24)

    deltas, reply = asyncio.run(both())
    assert len(deltas) > 1
    assert "".join(deltas) == reply.text
    assert isinstance(host, StreamingHostModel)


def test_local_host_streams_through_its_engine(model_dir: Path, service: ChatService, registry: Registry) -> None:
    local = LocalHost(model_dir)
    ask = [{"role": "user", "content": GOAL}]
    schema = plan_schema(registry)

    async def stream() -> list[str]:
        return [d async for d in local.chat_stream(ask, json_schema=schema, temperature=0.0, max_tokens=16)]

    try:
        deltas = asyncio.run(stream())
    finally:
        local.close()
    reply = asyncio.run(EngineHost(service).chat(ask, json_schema=schema, temperature=0.0, max_tokens=16))
    assert "".join(deltas) == reply.text
