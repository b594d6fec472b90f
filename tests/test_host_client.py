"""The host client and host planning, against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from scripted_openai_server import Reply, ScriptedOpenAIServer, error, plan, slow, text, tool_call

import agentos
from agentos import Expert, ExpertContext, ExpertError, Registry, operation
from agentos.errors import HostError, HostNotConfiguredError, PlanDeclinedError, PlanError, UserError
from agentos.events import NodeReplanned, RunPlanned
from agentos.graph import TaskGraph
from agentos.host_agent import HostAgent, extract_nodes, host_from_settings
from agentos.journal import Journal
from agentos.taskspec import HostSettings, load_task
from experts.text import EXPERTS
from host_model import ChatReply, HostModel, OpenAICompatibleHost

NOTES = Path(__file__).resolve().parents[1] / "examples" / "quickstart" / "notes"
MODEL = "step-3.5-flash"

GOAL_TASK = """\
name: notes-digest
goal: Summarise the notes in three sentences and list their keywords in a Markdown report.
inputs:
  notes: {file: notes}
budget: {wall_time_s: 60, retry_backoff_s: 0}
"""

GOOD_PLAN = {"nodes": [
    {"id": "load", "capability": "text.load", "inputs": {"path": "${inputs.notes}"}},
    {"id": "summary", "capability": "text.summarize", "inputs": {"text": "${load.text}", "max_sentences": 3}},
    {"id": "keywords", "capability": "text.keywords", "inputs": {"documents": "${load.documents}", "top_k": 5}},
    {"id": "report", "capability": "text.report", "inputs": {
        "title": "Notes", "sections": [{"heading": "Summary", "body": "${summary.summary}"},
                                       {"heading": "Keywords", "body": "${keywords.terms}"}]}},
]}


@pytest.fixture
def server():
    srv = ScriptedOpenAIServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    shutil.copytree(NOTES, tmp_path / "notes")
    path = tmp_path / "task.yaml"
    path.write_text(GOAL_TASK)
    return path


@pytest.fixture(autouse=True)
def _no_host_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AGENTOS_HOST_URL", "AGENTOS_HOST_MODEL", "AGENTOS_HOST_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def text_registry(*extra: Any) -> Registry:
    return Registry([*EXPERTS, *extra])


def host_for(srv: ScriptedOpenAIServer, **kw: Any) -> OpenAICompatibleHost:
    return OpenAICompatibleHost(srv.url, MODEL, **kw)


def plan_with(srv: ScriptedOpenAIServer, task: Path, agent: HostAgent | None = None) -> list[Any]:
    registry = text_registry()
    agent = agent or HostAgent(host_for(srv), registry)
    return asyncio.run(agent.plan(load_task(task, registry)))


# --------------------------------------------------------------------------------------------------
# the client


def test_chat_reply_carries_text_tool_calls_usage_and_model(server: ScriptedOpenAIServer) -> None:
    server.add(text("hello there", reasoning="The user wants a greeting."), tool_call("lookup", {"q": "tides"}))
    host = host_for(server)
    assert isinstance(host, HostModel)
    first = asyncio.run(host.chat([{"role": "user", "content": "say hello"}], max_tokens=16))
    second = asyncio.run(host.chat([{"role": "user", "content": "look up tides"}],
                                   tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
                                   tool_choice="lookup"))
    assert isinstance(first, ChatReply)
    assert (first.text, first.finish_reason, first.model) == ("hello there", "stop", MODEL)
    assert first.reasoning == "The user wants a greeting." and second.reasoning is None
    assert first.usage["total_tokens"] == first.usage["prompt_tokens"] + first.usage["completion_tokens"] > 0
    assert [(c.name, json.loads(c.arguments)) for c in second.tool_calls] == [("lookup", {"q": "tides"})]
    assert second.finish_reason == "tool_calls"
    # the same host object served two event loops (two asyncio.run calls), as two agentos.run calls do
    sent = [r.body for r in server.chat_requests]
    assert sent[0]["max_tokens"] == 16 and sent[0]["temperature"] == 0.0
    assert sent[1]["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


def test_json_schema_request_uses_openai_response_format_shape(server: ScriptedOpenAIServer) -> None:
    server.add(text('{"a": 1}'))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    asyncio.run(host_for(server).chat([{"role": "user", "content": "x"}], json_schema=schema, schema_name="thing"))
    assert server.chat_requests[0].body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "thing", "schema": schema}}


def test_http_500_from_the_host_is_a_clear_error_after_retries(server: ScriptedOpenAIServer,
                                                                task_file: Path) -> None:
    fast_retry = {"retry-after-ms": "1"}
    server.add(*[error(500, "CUDA out of memory", fast_retry) for _ in range(3)])
    with pytest.raises(HostError) as exc:
        agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry(), host=host_for(server))
    msg = str(exc.value)
    assert server.url in msg and "HTTP 500" in msg and "CUDA out of memory" in msg and MODEL in msg
    assert len(server.chat_requests) == 3  # first try and two retries


def test_a_400_that_is_not_about_the_feature_is_an_error_not_a_fallback(server: ScriptedOpenAIServer,
                                                                        task_file: Path) -> None:
    server.add(error(400, "This model's maximum context length is 4096 tokens"))
    with pytest.raises(HostError, match="maximum context length"):
        plan_with(server, task_file)
    assert len(server.chat_requests) == 1


def test_unreachable_host_says_it_cannot_be_reached(task_file: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = OpenAICompatibleHost(f"http://127.0.0.1:{port}/v1", MODEL, max_retries=0)
    registry = text_registry()
    with pytest.raises(HostError, match=f"127.0.0.1:{port}/v1: cannot reach the host model"):
        asyncio.run(HostAgent(host, registry).plan(load_task(task_file, registry)))


def test_a_host_slower_than_its_timeout_fails_instead_of_hanging(server: ScriptedOpenAIServer,
                                                                 task_file: Path) -> None:
    server.add(slow(30, plan(GOOD_PLAN)))
    registry = text_registry()
    agent = HostAgent(host_for(server, timeout_s=0.3), registry)
    with pytest.raises(HostError, match=r"no reply from model 'step-3.5-flash' within 0.3s"):
        asyncio.run(agent.plan(load_task(task_file, registry)))


# --------------------------------------------------------------------------------------------------
# planning


def test_goal_only_task_is_planned_with_json_schema_and_runs_end_to_end(server: ScriptedOpenAIServer,
                                                                        task_file: Path) -> None:
    server.add(plan(GOOD_PLAN))
    host = host_for(server)
    events: list[Any] = []
    result = agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry(), host=host,
                         on_event=events.append)
    assert result.status == "succeeded", result.errors
    assert result.planned_by == host.name == f"openai-compatible:{server.url} model={MODEL}"
    assert set(result.nodes) == {"load", "summary", "keywords", "report"}
    assert "## Keywords" in result.output("report")["markdown"]
    assert [e.nodes for e in events if isinstance(e, RunPlanned)] == [["load", "summary", "keywords", "report"]]
    kinds = [e.kind for e in events]
    assert kinds[0] == "run.planning"  # progress shows while the host plans
    assert kinds.index("run.planned") < kinds.index("run.finished")  # the plan streams: nodes start before it ends

    (req,) = server.chat_requests
    fmt = req.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "task_graph"
    plan_branch, refuse, clarify = fmt["json_schema"]["schema"]["anyOf"]  # a plan, or a refusal, or a question
    assert refuse["required"] == ["refuse"] and clarify["required"] == ["clarify"]
    variants = plan_branch["properties"]["nodes"]["items"]["anyOf"]  # one branch per capability
    assert [v["properties"]["capability"]["const"] for v in variants] == [
        "text.keywords", "text.load", "text.report", "text.summarize"]
    prompt = req.messages[-1]["content"]
    assert "Summarise the notes in three sentences" in prompt
    assert str((task_file.parent / "notes").resolve()) in prompt  # the input's value, as the plan will see it
    catalogue = json.loads(prompt.split("Catalogue (JSON):\n", 1)[1].split("\n\n", 1)[0])
    summarize = next(c for c in catalogue if c["capability"] == "text.summarize")
    assert sorted(summarize["experts"]) == ["frequency-summarizer", "lead-summarizer"]
    assert "max_sentences" in summarize["input_schema"]["properties"]
    assert "summary" in summarize["output_schema"]["properties"]


def test_server_rejecting_response_format_gets_a_forced_tool_call_and_the_mode_is_kept(
        task_file: Path) -> None:
    with ScriptedOpenAIServer([tool_call("submit_plan", GOOD_PLAN), tool_call("submit_plan", GOOD_PLAN)],
                              reject_response_format=True) as srv:
        agent = HostAgent(host_for(srv), text_registry())
        nodes = plan_with(srv, task_file, agent)
        again = plan_with(srv, task_file, agent)
    assert [n.id for n in nodes] == [n.id for n in again] == ["load", "summary", "keywords", "report"]
    first, second, third = srv.chat_requests
    assert first.answered == 400 and "response_format" in first.body
    assert second.answered == 200 and "response_format" not in second.body
    assert second.body["tools"][0]["function"]["name"] == "submit_plan"
    assert second.body["tools"][0]["function"]["parameters"]["required"] == ["nodes"]
    assert second.body["tool_choice"] == {"type": "function", "function": {"name": "submit_plan"}}
    assert "tools" in third.body and "response_format" not in third.body  # no second try at json_schema
    assert agent.mode == "tools"


def test_server_rejecting_tools_too_gets_plain_prompting_with_the_schema_in_the_prompt(task_file: Path) -> None:
    reply = ("<think>The notes need loading first.</think>\nHere is the plan:\n```json\n"
             + json.dumps(GOOD_PLAN, indent=1) + "\n```\nIt loads, then summarises and extracts keywords.")
    with ScriptedOpenAIServer([text(reply)], reject_response_format=True, reject_tools=True) as srv:
        agent = HostAgent(host_for(srv), text_registry())
        nodes = plan_with(srv, task_file, agent)
    assert [n.capability for n in nodes] == ["text.load", "text.summarize", "text.keywords", "text.report"]
    assert [r.answered for r in srv.chat_requests] == [400, 400, 200]
    last = srv.chat_requests[-1].body
    assert "tools" not in last and "response_format" not in last
    assert "must match this JSON Schema" in last["messages"][0]["content"]
    assert agent.mode == "prompt"


def test_invalid_plan_is_reasked_with_the_validation_error_and_the_second_plan_is_used(
        server: ScriptedOpenAIServer, task_file: Path) -> None:
    bad = json.loads(json.dumps(GOOD_PLAN))
    bad["nodes"][1]["capability"] = "text.sumarize"
    server.add(plan(bad), plan(GOOD_PLAN))
    nodes = plan_with(server, task_file)
    assert [n.capability for n in nodes][1] == "text.summarize"
    first, second = server.chat_requests
    assert second.messages[:2] == first.messages
    assert json.loads(second.messages[2]["content"]) == bad  # what it said, as the assistant turn
    feedback = second.messages[3]["content"]
    assert "node `summary`.capability: unknown capability `text.sumarize`" in feedback
    assert "did you mean `text.summarize`?" in feedback


def test_two_invalid_plans_raise_plan_error_naming_every_problem(server: ScriptedOpenAIServer,
                                                                 task_file: Path) -> None:
    unknown_cap = {"nodes": [{"id": "load", "capability": "text.fetch", "inputs": {"path": "${inputs.notes}"}}]}
    broken_refs = {"nodes": [
        {"id": "load", "capability": "text.load", "inputs": {"path": "${inputs.notes}"}},
        {"id": "summary", "capability": "text.summarize", "inputs": {"max_sentences": 3}},
        {"id": "keywords", "capability": "text.keywords", "inputs": {"documents": "${loader.documents}"}},
    ]}
    server.add(plan(unknown_cap), plan(broken_refs))
    with pytest.raises(PlanError) as exc:
        agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry(), host=host_for(server))
    msg = str(exc.value)
    assert "did not produce a valid plan in 2 tries" in msg
    assert "unknown capability `text.fetch`" in msg
    assert "node `summary`.inputs: missing input `text` for `text.summarize`" in msg
    assert "${loader.documents}: no node `loader`" in msg
    assert '"capability": "text.fetch"' in msg  # what the host returned, quoted
    assert len(server.chat_requests) == 2


def test_reply_without_json_is_reasked_then_reported(server: ScriptedOpenAIServer, task_file: Path) -> None:
    server.add(text("I would load the notes and then summarise them."), text("", finish_reason="length"))
    with pytest.raises(PlanError) as exc:
        plan_with(server, task_file)
    assert 'is not a JSON object {"nodes": [...]}' in str(exc.value)
    assert "ran out of tokens; raise host.max_tokens" in str(exc.value)


def test_plan_json_is_found_in_bare_text_fences_prose_and_after_thinking() -> None:
    nodes = [{"id": "a", "capability": "text.load"}]
    doc = json.dumps({"nodes": nodes})
    assert extract_nodes(doc) == nodes
    assert extract_nodes(f"```json\n{doc}\n```") == nodes
    assert extract_nodes(f"Sure. The plan is {doc} and that is all.") == nodes
    assert extract_nodes(f"reasoning with {{braces}} </think>\n{doc}") == nodes
    assert extract_nodes(json.dumps({"graph": nodes})) == nodes
    assert extract_nodes(json.dumps(nodes)) == nodes
    assert extract_nodes(json.dumps({"nodes": json.dumps(nodes)})) == nodes  # array argument left as text


# --------------------------------------------------------------------------------------------------
# configuration


def test_goal_only_task_without_a_host_raises_host_not_configured(task_file: Path) -> None:
    with pytest.raises(HostNotConfiguredError) as exc:
        agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry())
    assert "AGENTOS_HOST_URL" in str(exc.value) and "host:" in str(exc.value)


def test_host_is_configured_by_environment_variables(server: ScriptedOpenAIServer, task_file: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_HOST_URL", server.url)
    monkeypatch.setenv("AGENTOS_HOST_MODEL", "step-3.5-flash-env")
    monkeypatch.setenv("AGENTOS_HOST_API_KEY", "s3cret")
    server.add(plan(GOOD_PLAN))
    result = agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry())
    assert result.ok and result.planned_by == f"openai-compatible:{server.url} model=step-3.5-flash-env"
    (req,) = server.chat_requests
    assert req.body["model"] == "step-3.5-flash-env"
    assert req.headers["authorization"] == "Bearer s3cret"


def test_task_file_host_block_wins_over_the_environment(server: ScriptedOpenAIServer, task_file: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_HOST_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("AGENTOS_HOST_MODEL", "ignored")
    monkeypatch.setenv("STEPFUN_KEY", "file-key")
    task_file.write_text(GOAL_TASK + f"host: {{base_url: '{server.url}', model: step-file, "
                                     f"api_key_env: STEPFUN_KEY, timeout_s: 30, max_tokens: 2048}}\n")
    server.add(plan(GOOD_PLAN))
    result = agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry())
    assert result.ok
    (req,) = server.chat_requests
    assert (req.body["model"], req.body["max_tokens"]) == ("step-file", 2048)
    assert req.headers["authorization"] == "Bearer file-key"


def test_model_dir_none_turns_the_offline_default_off() -> None:
    assert host_from_settings(None, env={"AGENTOS_HOST_MODEL_DIR": "none"}) is None
    assert host_from_settings(HostSettings(model_dir="none"), env={}) is None


def test_a_model_dir_that_is_not_a_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as exc:
        host_from_settings(HostSettings(model_dir=str(tmp_path)), env={})
    assert str(tmp_path) in str(exc.value) and "config.json" in str(exc.value)


def test_half_configured_host_names_what_is_missing() -> None:
    with pytest.raises(UserError, match=r"no model name.*AGENTOS_HOST_MODEL"):
        host_from_settings(HostSettings(base_url="http://127.0.0.1:8000/v1"), env={})
    with pytest.raises(UserError, match=r"no URL.*AGENTOS_HOST_URL"):
        host_from_settings(None, env={"AGENTOS_HOST_MODEL": "step-3.5-flash"})
    with pytest.raises(UserError, match=r"api_key_env names \$MY_KEY, but that variable is not set"):
        host_from_settings(HostSettings(base_url="http://h/v1", model="m", api_key_env="MY_KEY"), env={})
    with pytest.raises(UserError, match="not an http"):
        host_from_settings(HostSettings(base_url="127.0.0.1:8000", model="m"), env={})


# --------------------------------------------------------------------------------------------------
# replanning


class DigestIn(BaseModel):
    text: str


class DigestOut(BaseModel):
    summary: str


class BrokenDigest(Expert):
    """Always fails: the only expert offering `test.digest`."""

    name = "broken-digest"
    domain = "test"

    @operation("test.digest")
    def digest(self, inputs: DigestIn, ctx: ExpertContext) -> DigestOut:
        raise ExpertError("broken-digest: the digest service is down")


def _digest_task(tmp_path: Path) -> Path:
    shutil.copytree(NOTES, tmp_path / "notes", dirs_exist_ok=True)
    path = tmp_path / "digest.yaml"
    path.write_text("""\
name: digest
inputs: {notes: {file: notes}}
graph:
  - {id: load, capability: text.load, inputs: {path: "${inputs.notes}"}}
  - {id: digest, capability: test.digest, inputs: {text: "${load.text}"}}
  - id: report
    capability: text.report
    inputs: {title: Digest, sections: [{heading: Digest, body: "${digest.summary}"}]}
budget: {max_retries: 0, retry_backoff_s: 0, max_replans: 1}
router: {name: deterministic}  # one expert per attempt, in a fixed order
""")
    return path


def test_replan_replaces_a_node_that_fails_on_every_expert(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    server.add(plan({"nodes": [{"id": "digest", "capability": "text.summarize",
                                "inputs": {"text": "${load.text}", "max_sentences": 2}}]}))
    events: list[Any] = []
    result = agentos.run(_digest_task(tmp_path), output=tmp_path / "runs", registry=text_registry(BrokenDigest),
                         host=host_for(server), on_event=events.append)
    assert result.status == "succeeded", result.errors
    digest = result.nodes["digest"]
    assert digest.capability == "text.summarize"
    assert digest.expert in ("frequency-summarizer", "lead-summarizer")
    tried = [(a.expert, a.status) for a in digest.attempts]
    assert tried == [("broken-digest", "failed"), (digest.expert, "succeeded")]
    (replanned,) = [e for e in events if isinstance(e, NodeReplanned)]
    assert replanned.node_id == "digest" and "digest service is down" in replanned.reason
    assert result.output("report")["markdown"].startswith("# Digest")
    prompt = server.chat_requests[0].messages[-1]["content"]
    assert "Node `digest` failed" in prompt and "digest service is down" in prompt
    assert "Finished nodes (their outputs can be referenced): `load`" in prompt
    assert "must output them: `summary`" in prompt


def test_replan_fragment_must_keep_the_failed_node_id(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    registry = text_registry(BrokenDigest)
    spec = load_task(_digest_task(tmp_path), registry)
    server.add(
        plan({"nodes": [{"id": "digest2", "capability": "text.summarize", "inputs": {"text": "${load.text}"}}]}),
        plan({"nodes": [
            {"id": "load", "capability": "text.load", "inputs": {"path": "${inputs.notes}"}},  # repeated: ignored
            {"id": "short", "capability": "text.summarize", "inputs": {"text": "${load.text}", "max_sentences": 5}},
            {"id": "digest", "capability": "text.summarize", "inputs": {"text": "${short.summary}"}},
        ]}))
    agent = HostAgent(host_for(server), registry)
    nodes = asyncio.run(agent.replan(spec, TaskGraph.from_spec(spec), "digest", "ExpertError: down"))
    assert [n.id for n in nodes] == ["short", "digest"]
    feedback = server.chat_requests[1].messages[-1]["content"]
    assert "no node keeps the id `digest`" in feedback
    assert "${digest.summary}: no node `digest`" in feedback  # the report node would lose its input


def test_replan_that_makes_a_cycle_is_rejected(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    registry = text_registry(BrokenDigest)
    spec = load_task(_digest_task(tmp_path), registry)
    cyclic = plan({"nodes": [{"id": "digest", "capability": "text.summarize",
                              "inputs": {"text": "${report.markdown}"}}]})
    server.add(cyclic, Reply(content=cyclic.content))
    with pytest.raises(PlanError, match="cycle"):
        asyncio.run(HostAgent(host_for(server), registry).replan(spec, TaskGraph.from_spec(spec), "digest", "down"))


def test_a_run_interrupted_while_the_host_plans_is_journaled_as_cancelled(server: ScriptedOpenAIServer,
                                                                         task_file: Path) -> None:
    server.add(slow(30, plan(GOOD_PLAN)))
    events: list[Any] = []

    async def interrupt_during_planning() -> None:
        task = asyncio.create_task(agentos.arun(task_file, output=task_file.parent / "runs", run_id="p",
                                                registry=text_registry(), host=host_for(server),
                                                on_event=events.append))
        while not any(e.kind == "run.planning" for e in events):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupt_during_planning())
    journal = Journal.open_existing(task_file.parent / "runs" / "p", readonly=True)
    assert journal.run().status == "cancelled"
    assert [e["kind"] for e in journal.events()] == ["run.planning", "run.finished"]
    journal.close()


# --------------------------------------------------------------------------------------------------
# the compact prompt and answers other than a plan


def test_compact_prompt_is_one_user_message_with_catalogue_lines_inputs_and_request(
        server: ScriptedOpenAIServer, task_file: Path) -> None:
    server.add(plan(GOOD_PLAN))
    agent = HostAgent(host_for(server), text_registry(), prompt="compact")
    nodes = plan_with(server, task_file, agent)
    assert [n.id for n in nodes] == ["load", "summary", "keywords", "report"]
    (req,) = server.chat_requests
    (message,) = req.messages
    lines = message["content"].splitlines()
    assert message["role"] == "user" and lines[0] == "catalogue:"
    assert any(line.startswith("text.summarize(text, max_sentences?) -> summary, sentences, method") for line in lines)
    assert lines[-2:] == ["inputs: notes=notes/",
                          "request: Summarise the notes in three sentences and list their keywords in a Markdown "
                          "report."]
    assert req.body["response_format"]["json_schema"]["name"] == "task_graph"
    assert not agent.can_replan  # small planners plan; they are not trained to repair a graph


def test_a_compact_retry_asks_the_same_question_sampled_instead_of_a_repair_turn(
        server: ScriptedOpenAIServer, task_file: Path) -> None:
    bad = json.loads(json.dumps(GOOD_PLAN))
    bad["nodes"][1]["inputs"] = {"max_sentences": 3}  # no `text`
    server.add(plan(bad), plan(GOOD_PLAN))
    nodes = plan_with(server, task_file, HostAgent(host_for(server), text_registry(), prompt="compact"))
    assert len(nodes) == 4
    first, second = server.chat_requests
    assert second.messages == first.messages and len(second.messages) == 1
    assert first.body["temperature"] == 0.0 and second.body["temperature"] == 0.8


@pytest.mark.parametrize("kind, words", [("refuse", "no capability in the catalogue can do this"),
                                         ("clarify", "which documents should I use?")])
def test_a_refusal_or_question_ends_planning_with_the_hosts_words(server: ScriptedOpenAIServer, task_file: Path,
                                                                  kind: str, words: str) -> None:
    server.add(text(json.dumps({kind: words})))
    with pytest.raises(PlanDeclinedError) as exc:
        agentos.run(task_file, output=task_file.parent / "runs", registry=text_registry(), host=host_for(server))
    assert exc.value.kind == kind and exc.value.reason == words and words in str(exc.value)
    assert len(server.chat_requests) == 1  # a decision is not re-asked
