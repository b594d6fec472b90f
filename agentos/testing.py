"""Test helpers for expert authors: run one operation, check a card, run a small task.

Each helper raises `AssertionError` with a message that says what failed, so a test reads

    from agentos.testing import run_expert
    out = run_expert(Greeter(), "demo.greet", {"name": "Ada"})
    assert out.text == "Hello, Ada!"

and a broken expert fails it with the check that caught it. They run the expert exactly as the
runtime does: inputs validated with the operation's model, a real `ExpertContext` in a run
folder, the node checks of `agentos.checks` on the output.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agentos.api import run
from agentos.checks import NodeCheck, NodeOutcome, run_node_checks
from agentos.errors import AgentOSError
from agentos.registry import Registry
from agentos.result import RunResult
from agentos.sdk import Expert, ExpertCard, ExpertContext

__all__ = ["arun_expert", "check_card", "run_expert", "run_task"]


def _run_dir(run_dir: str | Path | None) -> Path:
    """The caller's folder (pytest's `tmp_path`), or a fresh temporary one that outlives the call."""
    path = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="agentos-test-"))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


async def arun_expert(expert: Expert, capability: str, inputs: dict[str, Any] | BaseModel, *,
                      run_dir: str | Path | None = None, node_id: str = "test", host: Any = None,
                      on_event: Callable[[Any], None] | None = None,
                      checks: list[NodeCheck] | None = None) -> Any:
    """Run one operation like the runtime would and return its checked output model.

    Artifacts land in `<run_dir>/artifacts/<node_id>/`; `on_event` receives the progress and
    artifact events; `checks` replaces the default node checks (schema, non-empty text, files).
    """
    op = expert.card.operation_for(capability)
    if op is None:
        offered = ", ".join(o.capability for o in expert.card.operations)
        raise AssertionError(f"expert {expert.card.name!r} has no operation {capability!r} (it offers: {offered})")
    raw = inputs.model_dump() if isinstance(inputs, BaseModel) else inputs
    try:
        model = op.input_model.model_validate(raw)
    except ValidationError as exc:
        raise AssertionError(f"inputs do not fit `{capability}` of {expert.card.name}:\n{exc}") from None
    folder = _run_dir(run_dir)
    ctx = ExpertContext(run_id="test", node_id=node_id, run_dir=folder, host=host, emit=on_event,
                        expert_name=expert.card.name)
    out = await expert.run(capability, model, ctx)
    outcome = NodeOutcome(node_id=node_id, expert=expert.card.name, output=out, output_model=op.output_model,
                          artifacts=ctx.artifacts.files(), run_dir=folder)
    failed = [v for v in run_node_checks(outcome, checks) if not v.passed]
    if failed:
        lines = "\n".join(f"  {v.check}: {v.message}" for v in failed)
        raise AssertionError(f"`{capability}` of {expert.card.name} failed {len(failed)} check(s):\n{lines}")
    return outcome.output


def run_expert(expert: Expert, capability: str, inputs: dict[str, Any] | BaseModel, **kwargs: Any) -> Any:
    """Blocking form of `arun_expert`, for ordinary (non-async) tests."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_expert(expert, capability, inputs, **kwargs))
    raise RuntimeError("run_expert was called inside a running event loop; use `await arun_expert(...)`")


def check_card(expert: Expert) -> ExpertCard:
    """Assert that the card tells the host and the router enough; returns the card.

    Complete means: a name, a domain and a description; every operation has a `domain.verb`
    capability, a description, input and output models that give a JSON schema, and cost and
    latency hints that are not negative.
    """
    try:
        card = expert.card
    except AgentOSError as exc:
        raise AssertionError(f"the card cannot be built: {exc}") from None
    missing = [f"card.{field} is empty" for field in ("name", "domain", "description")
               if not getattr(card, field).strip()]
    for op in card.operations:
        where = f"operation {op.name} ({op.capability})"
        if "." not in op.capability or " " in op.capability:
            missing.append(f"{where}: capability should read `domain.verb`")
        if not op.description.strip():
            missing.append(f"{where}: no description (give a docstring or `description=`)")
        for role, model in (("input", op.input_model), ("output", op.output_model)):
            try:
                model.model_json_schema()
            except Exception as exc:  # pydantic raises several kinds here
                missing.append(f"{where}: the {role} model {model.__name__} has no JSON schema ({exc})")
        if op.cost < 0 or op.latency_s < 0:
            missing.append(f"{where}: cost and latency_s must not be negative")
    if missing:
        raise AssertionError(f"the card of {card.name or type(expert).__name__!r} is incomplete:\n  "
                             + "\n  ".join(missing))
    return card


def run_task(task: dict[str, Any] | str | Path, experts: Iterable[Expert | type[Expert]], *,
             tmp_path: str | Path | None = None, expect_success: bool = True, **kwargs: Any) -> RunResult:
    """Run a small task (a task-file dict or path) with only `experts` registered.

    The run folder goes under `tmp_path` (or a temporary folder). Unless `expect_success` is
    False, a run that did not succeed raises an AssertionError naming each failed node and why.
    Other keyword arguments go to `agentos.run` (`on_event`, `router`, `host`, `run_id`, ...).
    """
    result = run(task, output=_run_dir(tmp_path), registry=Registry(experts), **kwargs)
    if expect_success and not result.ok:
        problems = [f"  node {n.id}: {n.status}: {n.error or n.skipped_because or ''}"
                    for n in result.nodes.values() if n.status != "succeeded"]
        problems += [f"  check {v.check}: {v.message}" for v in result.checks if not v.passed]
        problems += [f"  {e}" for e in result.errors]
        raise AssertionError(f"run {result.run_id} {result.status}:\n" + "\n".join(problems))
    return result
