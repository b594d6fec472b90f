"""The runtime: parallelism, readiness, failures, retries, checks, budgets, gating, cancellation."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from support_experts import EXPERTS, TextIn, TextOut

import agentos
from agentos import Decision, DeterministicRouter, Registry
from agentos.journal import Journal
from agentos.sdk import ExpertCard


@pytest.fixture
def registry() -> Registry:
    return Registry(EXPERTS)


def step(node_id: str, **inputs: Any) -> dict[str, Any]:
    after = inputs.pop("after", [])
    return {"id": node_id, "capability": "test.step", "inputs": inputs, "after": after}


def run(tmp_path: Path, registry: Registry, graph: list[dict[str, Any]], **extra: Any) -> agentos.RunResult:
    # these tests pin down the runtime's mechanics (retry order, gates, events) on a fixed ranking, so
    # the deterministic router; the adaptive one has its own tests (test_router_adaptive.py)
    spec = {"graph": graph, "router": {"name": "deterministic"},
            **{k: v for k, v in extra.items() if k in ("budget", "checks", "inputs")}}
    kwargs = {k: v for k, v in extra.items() if k not in ("budget", "checks", "inputs")}
    return agentos.run(spec, registry=registry, output=tmp_path / "runs", **kwargs)


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["started"] < b["finished"] and b["started"] < a["finished"]


def test_independent_branches_run_at_the_same_time(tmp_path, registry):
    r = run(tmp_path, registry, [step("a", delay=0.3), step("b", delay=0.3)])
    assert r.ok
    assert overlap(r.output("a"), r.output("b"))


def test_a_node_starts_when_its_own_inputs_are_ready_not_when_its_layer_is(tmp_path, registry):
    # slow and fast are both sources; after_fast needs only fast, so it must not wait for slow
    r = run(tmp_path, registry, [step("slow", delay=0.6), step("fast", delay=0.01),
                                 step("after_fast", value="${fast.value}", delay=0.01)])
    assert r.ok
    assert r.output("after_fast")["finished"] < r.output("slow")["finished"]
    assert r.output("after_fast")["value"] == 2  # 0 -> fast 1 -> after_fast 2


def test_references_carry_values_between_nodes(tmp_path, registry):
    r = run(tmp_path, registry, [step("a", value=5), step("b", value="${a.value}"), step("c", value="${b.value}")])
    assert [r.output(n)["value"] for n in "abc"] == [6, 7, 8]


def test_a_failed_node_skips_its_dependents_and_independent_branches_finish(tmp_path, registry):
    r = run(tmp_path, registry, [step("bad", fail_times=9), step("child", value="${bad.value}"),
                                 step("grandchild", value="${child.value}"), step("other", delay=0.05)],
            budget={"max_retries": 0})
    assert r.status == "failed"
    assert r.nodes["bad"].status == "failed" and "planned failure" in (r.nodes["bad"].error or "")
    assert r.nodes["child"].status == "skipped" and "bad" in (r.nodes["child"].skipped_because or "")
    assert r.nodes["grandchild"].status == "skipped"
    assert r.nodes["other"].status == "succeeded"


def test_errors_are_retried_with_growing_backoff(tmp_path, registry):
    events: list[Any] = []
    r = run(tmp_path, registry, [step("flaky", fail_times=2)], budget={"max_retries": 2, "retry_backoff_s": 0.01},
            on_event=events.append)
    assert r.ok
    assert [a.status for a in r.nodes["flaky"].attempts] == ["failed", "failed", "succeeded"]
    delays = [e.delay_s for e in events if e.kind == "retry.scheduled"]
    assert delays == [0.01, 0.02]


def test_retries_stop_at_the_budget(tmp_path, registry):
    r = run(tmp_path, registry, [step("flaky", fail_times=5)], budget={"max_retries": 1, "retry_backoff_s": 0})
    assert r.nodes["flaky"].status == "failed"
    assert len(r.nodes["flaky"].attempts) == 2


def test_a_failed_check_moves_to_the_next_candidate_and_rewards_the_router(tmp_path, registry):
    router = DeterministicRouter()
    r = run(tmp_path, registry, [{"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}], router=router)
    node = r.nodes["say"]
    assert r.ok and node.expert == "loud-echo" and r.output("say") == {"text": "hi"}
    assert [(a.expert, a.status) for a in node.attempts] == [("quiet-echo", "rejected"), ("loud-echo", "succeeded")]
    failed = [v for v in node.verdicts if not v.passed]
    assert failed and failed[0].check == "non_empty_text" and failed[0].expert == "quiet-echo"
    rewards = {expert: reward for _, expert, reward in router.rewards}
    assert rewards["quiet-echo"] < 1.0 and rewards["loud-echo"] == 1.0


def test_a_pinned_expert_is_the_only_one_tried(tmp_path, registry):
    r = run(tmp_path, registry, [{"id": "say", "expert": "quiet-echo", "inputs": {"text": "hi"}}])
    assert r.nodes["say"].status == "failed"
    assert {a.expert for a in r.nodes["say"].attempts} == {"quiet-echo"}
    assert r.nodes["say"].decision.ranking == ["quiet-echo"]


def test_a_node_past_its_timeout_fails_with_a_clear_error(tmp_path, registry):
    g = [{**step("slow", delay=5), "timeout_s": 0.1}]
    r = run(tmp_path, registry, g, budget={"max_retries": 0})
    assert r.nodes["slow"].status == "failed"
    assert "timed out after 0.1s" in (r.nodes["slow"].error or "")


def test_the_wall_time_budget_stops_the_run_and_marks_unfinished_nodes(tmp_path, registry):
    r = run(tmp_path, registry, [step("quick"), step("slow", delay=5), step("after", value="${slow.value}")],
            budget={"wall_time_s": 0.3})
    assert r.status == "timed_out"
    assert r.nodes["quick"].status == "succeeded"
    assert r.nodes["slow"].status == "cancelled" and r.nodes["after"].status == "cancelled"
    assert any("wall-time budget" in e for e in r.errors)


def test_the_cost_budget_refuses_calls_that_would_pass_it(tmp_path, registry):
    r = run(tmp_path, registry, [step("a"), step("b", value="${a.value}"), step("c", value="${b.value}")],
            budget={"max_cost": 2})
    assert [r.nodes[n].status for n in "abc"] == ["succeeded", "succeeded", "failed"]
    assert "cost budget spent" in (r.nodes["c"].error or "")
    assert r.cost == 2


def test_max_parallel_one_runs_nodes_one_at_a_time(tmp_path, registry):
    r = run(tmp_path, registry, [step(n, delay=0.05) for n in "abcd"], budget={"max_parallel": 1})
    outs = [r.output(n) for n in "abcd"]
    assert not any(overlap(x, y) for i, x in enumerate(outs) for y in outs[i + 1:])


def test_a_blocking_expert_runs_in_a_thread_and_its_progress_is_journaled(tmp_path, registry):
    events: list[Any] = []
    r = run(tmp_path, registry, [{"id": "blocky", "capability": "test.block", "inputs": {"delay": 0.2}},
                                 step("meanwhile", delay=0.05)], on_event=events.append)
    assert r.ok and overlap(r.output("blocky"), r.output("meanwhile"))
    progress = [e.message for e in events if e.kind == "node.progress"]
    assert progress == ["quarter 1", "quarter 2", "quarter 3", "quarter 4"]
    j = Journal.open_existing(Path(r.run_dir))
    assert len(j.events(("node.progress",))) == 4
    j.close()


def test_a_reference_that_only_fails_at_run_time_fails_the_node_with_a_references_verdict(tmp_path):
    notes = Path(__file__).resolve().parents[1] / "examples" / "quickstart" / "notes"
    registry = Registry.discover(extra=EXPERTS)
    r = run(tmp_path, registry, [{"id": "load", "capability": "text.load", "inputs": {"path": str(notes)}},
                                 {"id": "b", "capability": "test.echo",
                                  "inputs": {"text": "${load.documents.7.title}"}}])  # only 3 documents
    assert r.nodes["load"].status == "succeeded" and r.nodes["b"].status == "failed"
    verdict = r.nodes["b"].verdicts[0]
    assert verdict.check == "references" and not verdict.passed
    assert "index 7 out of range" in verdict.message


def test_a_final_agree_check_that_fails_fails_the_run(tmp_path, registry):
    r = run(tmp_path, registry, [step("a", value=1), step("b", value=2)],
            checks=[{"agree": ["${a.value}", "${b.value}"]}])
    assert all(n.status == "succeeded" for n in r.nodes.values())
    assert r.status == "failed"
    assert not r.checks[0].passed and r.checks[0].message == "${a.value} = 2 != ${b.value} = 3"


class WaitingRouter(DeterministicRouter):
    """Its decision for a node with several candidates waits until another node has run (as the adaptive
    router's first decision waits for its text encoder): only possible if it is not on the event loop."""

    name = "waiting"
    route_in_thread = True

    def __init__(self) -> None:
        super().__init__()
        self.other_node_ran = threading.Event()

    def route(self, query, candidates: list[ExpertCard]) -> Decision:
        if len(candidates) > 1 and not self.other_node_ran.wait(timeout=20):
            raise RuntimeError("the event loop was blocked while routing")
        return super().route(query, candidates)


def test_a_router_that_routes_in_a_thread_does_not_stall_the_other_nodes(tmp_path, registry):
    router = WaitingRouter()

    def on_event(event: Any) -> None:
        if event.kind == "node.finished" and event.node_id == "a":
            router.other_node_ran.set()

    r = run(tmp_path, registry, [step("a"), {"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}],
            router=router, on_event=on_event)
    assert r.ok and r.nodes["say"].expert == "loud-echo"


class UnsureRouter(DeterministicRouter):
    """Always below the confidence gate: asks the runtime to run both echo experts side by side."""

    name = "unsure"

    def route(self, query, candidates: list[ExpertCard]) -> Decision:
        d = super().route(query, candidates)
        return d.model_copy(update={"confident": False, "gated": True, "alternatives": d.ranking[:2]})


def test_a_gated_decision_runs_the_top_candidates_side_by_side_and_keeps_the_best(tmp_path, registry):
    router = UnsureRouter()
    r = run(tmp_path, registry, [{"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}], router=router)
    node = r.nodes["say"]
    assert r.ok and node.expert == "loud-echo"
    assert node.gate is not None and set(node.gate["ran"]) == {"quiet-echo", "loud-echo"}
    assert node.gate["picked"] == "loud-echo"
    assert node.gate["scores"]["loud-echo"] > node.gate["scores"]["quiet-echo"]
    assert {e for _, e, _ in router.rewards} == {"quiet-echo", "loud-echo"}


def test_every_decision_and_verdict_is_in_the_result_file(tmp_path, registry):
    r = run(tmp_path, registry, [step("a"), {"id": "say", "capability": "test.echo", "inputs": {"text": "x"}}])
    saved = agentos.RunResult.model_validate_json((Path(r.run_dir) / "result.json").read_text())
    assert saved.nodes["say"].decision.router == "deterministic"
    assert saved.nodes["say"].decision.ranking == ["quiet-echo", "loud-echo"]
    assert {v.check for v in saved.nodes["a"].verdicts} == {"schema", "non_empty_text", "files_exist"}
    assert saved.nodes["a"].artifacts == ["artifacts/a/value.txt"]
    assert (Path(r.run_dir) / "artifacts/a/value.txt").read_text() == "1"


def test_cancelling_a_run_records_it_and_resume_finishes_it(tmp_path, registry):
    events: list[Any] = []

    async def cancel_when_first_finishes() -> None:
        task = asyncio.create_task(agentos.arun(
            {"graph": [step("first"), step("second", value="${first.value}", delay=1)]},
            registry=registry, output=tmp_path / "runs", run_id="r1", on_event=events.append))
        while not any(e.kind == "node.finished" for e in events):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_when_first_finishes())
    run_dir = tmp_path / "runs" / "r1"
    saved = agentos.RunResult.model_validate_json((run_dir / "result.json").read_text())
    assert saved.status == "cancelled"
    assert saved.nodes["first"].status == "succeeded" and saved.nodes["second"].status == "cancelled"
    j = Journal.open_existing(run_dir)
    assert j.run().status == "cancelled"
    j.close()

    resumed = agentos.run(None, resume="r1", registry=registry, output=tmp_path / "runs")
    assert resumed.ok and resumed.resumed == 1
    assert resumed.nodes["first"].from_earlier_attempt
    assert resumed.output("second")["value"] == 2


def test_a_node_that_fails_every_way_ends_with_exactly_one_final_failure_event(tmp_path, registry):
    events: list[Any] = []
    r = run(tmp_path, registry, [{"id": "say", "capability": "test.echo", "inputs": {"text": ""}}],
            router=UnsureRouter(), on_event=events.append)  # both echo experts return "" and are rejected
    node = r.nodes["say"]
    assert node.status == "failed" and node.gate is not None and node.gate["picked"] is None
    assert "quiet-echo" in (node.error or "") and "loud-echo" in (node.error or "")
    finals = [e for e in events if e.kind == "node.failed" and e.final]
    assert len(finals) == 1 and finals[0].node_id == "say"


def test_retry_events_say_which_expert_comes_next(tmp_path, registry):
    events: list[Any] = []
    run(tmp_path, registry, [{"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}],
        on_event=events.append)
    failed = [e for e in events if e.kind == "node.failed"]
    retry = [e for e in events if e.kind == "retry.scheduled"]
    assert [(e.expert, e.final) for e in failed] == [("quiet-echo", False)]
    assert [(e.next_expert, e.delay_s) for e in retry] == [("loud-echo", 0.0)]  # a rejection moves on at once


class MentionsHello:
    """A custom check: the output text must greet."""

    name = "mentions_hello"

    def __call__(self, outcome):
        from agentos.checks import Verdict

        ok = "hello" in getattr(outcome.output, "text", "").lower()
        return Verdict(check=self.name, passed=ok, score=1.0 if ok else 0.0, node_id=outcome.node_id,
                       expert=outcome.expert, message="greets" if ok else "does not greet")


def test_custom_checks_join_the_built_in_ones_and_can_reject_an_output(tmp_path, registry):
    from agentos.checks import NODE_CHECKS

    checks = [*NODE_CHECKS, MentionsHello()]

    def say(text: str) -> agentos.RunResult:
        spec = {"graph": [{"id": "say", "expert": "loud-echo", "inputs": {"text": text}}],
                "budget": {"max_retries": 0}}
        return agentos.run(spec, registry=registry, output=tmp_path / "runs", checks=checks)

    good, bad = say("Hello there"), say("Goodbye")
    assert good.ok and {v.check for v in good.nodes["say"].verdicts} >= {"schema", "mentions_hello"}
    assert bad.nodes["say"].status == "failed"
    assert "mentions_hello: does not greet" in (bad.nodes["say"].error or "")


def test_an_expert_that_crashes_keeps_its_traceback_in_the_result(tmp_path, registry):
    r = run(tmp_path, registry, [{"id": "bug", "capability": "test.crash", "inputs": {}}], budget={"max_retries": 0})
    (attempt,) = r.nodes["bug"].attempts
    assert r.nodes["bug"].error == "ZeroDivisionError: integer division or modulo by zero"
    assert attempt.traceback is not None
    assert "support_experts.py" in attempt.traceback and "in crasher" in attempt.traceback



def test_an_operations_own_checks_run_after_the_common_ones_and_reject_on_failure(tmp_path):
    from agentos.checks import NodeOutcome, Verdict

    class Bang:
        name = "bang"

        def __call__(self, outcome: NodeOutcome) -> Verdict:
            ok = outcome.output.text.endswith("!")
            return Verdict(check=self.name, passed=ok, score=float(ok), message="" if ok else "no exclamation mark")

    @agentos.expert(name="flat", domain="test", capability="test.say", checks=[Bang()])
    def flat(inputs: TextIn) -> TextOut:
        return TextOut(text=inputs.text)

    @agentos.expert(name="loud", domain="test", capability="test.say", checks=[Bang()])
    def loud(inputs: TextIn) -> TextOut:
        return TextOut(text=inputs.text + "!")

    r = run(tmp_path, Registry([flat, loud]), [{"id": "say", "capability": "test.say", "inputs": {"text": "hi"}}])
    node = r.nodes["say"]
    assert r.ok and node.expert == "loud" and r.output("say") == {"text": "hi!"}
    assert [(a.expert, a.status) for a in node.attempts] == [("flat", "rejected"), ("loud", "succeeded")]
    assert [v.check for v in node.verdicts if v.expert == "flat"] == ["schema", "non_empty_text", "files_exist", "bang"]
    assert next(v for v in node.verdicts if v.check == "bang" and v.expert == "flat").message == "no exclamation mark"


def test_an_unavailable_expert_is_left_out_of_routing_and_says_why_when_none_is_left(tmp_path):
    class NeedsWeights(agentos.Expert):
        name = "needs-weights"
        domain = "test"

        def unavailable(self, host: Any) -> str | None:
            return "no weights at /models/x"

        @agentos.operation("test.say")
        def say(self, inputs: TextIn) -> TextOut:
            raise AssertionError("an unavailable expert must not run")

    @agentos.expert(name="plain", domain="test", capability="test.say")
    def plain(inputs: TextIn) -> TextOut:
        return TextOut(text=inputs.text)

    r = run(tmp_path, Registry([NeedsWeights, plain]), [{"id": "say", "capability": "test.say",
                                                         "inputs": {"text": "hi"}}])
    assert r.ok and r.nodes["say"].expert == "plain" and r.nodes["say"].decision.ranking == ["plain"]
    r = run(tmp_path, Registry([NeedsWeights]), [{"id": "say", "capability": "test.say", "inputs": {"text": "hi"}}])
    assert r.nodes["say"].status == "failed"
    assert r.nodes["say"].error == "no expert can run it here: needs-weights: no weights at /models/x"
