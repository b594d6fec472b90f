"""A spoken goal: the `spoken_goal` node hears the recording, then the host plans what it heard.

The run starts with one node, `voice.command` on the recording (the router picks the recogniser, as
for any node: its events, journal entry and artifacts are those of a node). When it has succeeded,
its `request` is planned exactly as a typed `goal` would be (same host, same prompt, same validator),
and the planned nodes join the running graph after it, through the runtime's plan feed. So a spoken
request becomes the task graph the same words typed would have become, and the run shows both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from typing import Any

from agentos.errors import PlanError
from agentos.events import RunPlanning
from agentos.registry import Registry
from agentos.result import RunResult
from agentos.taskspec import SPOKEN_GOAL_NODE, NodeSpec, TaskSpec, dependencies, parse_task

_FINAL = ("succeeded", "failed", "skipped", "cancelled")
_POLL_S = 0.05


def typed_spec(spec: TaskSpec, request: str, registry: Registry) -> TaskSpec:
    """The task as if `request` had been typed as its goal: what the host plans, and what its plan must pass."""
    data = spec.model_dump(mode="json", exclude_unset=True, exclude={"spoken_goal", "graph"})
    return parse_task({**data, "goal": request}, registry, base_dir=spec.base_dir, file=spec.file)


def _after_hearing(node: NodeSpec) -> NodeSpec:
    """A planned node that waits for nothing waits for the hearing: the graph shows where the plan came from."""
    if node.id == SPOKEN_GOAL_NODE:
        raise PlanError(f"the plan names a node `{SPOKEN_GOAL_NODE}`, the id of the node that heard the goal")
    return node if dependencies(node) else node.model_copy(update={"after": [SPOKEN_GOAL_NODE]})


async def heard_request(result: RunResult) -> str:
    """What the `spoken_goal` node heard, once it has ended; PlanError when it heard nothing to plan."""
    node = result.nodes[SPOKEN_GOAL_NODE]
    while node.status not in _FINAL:
        await asyncio.sleep(_POLL_S)
    if node.status != "succeeded":
        raise PlanError(f"the spoken goal was not heard (`{SPOKEN_GOAL_NODE}` {node.status}: {node.error or ''})")
    request = str((node.output or {}).get("request") or "").strip()
    if not request:
        raise PlanError(f"`{SPOKEN_GOAL_NODE}` heard no request to plan")
    return request


async def plan_heard(spec: TaskSpec, agent: Any, registry: Registry, result: RunResult, run_id: str,
                     emit: Callable[[Any], None], stream: bool) -> AsyncGenerator[list[NodeSpec], None]:
    """The plan of what was heard, in parts as the host writes it (`stream`) or whole."""
    request = await heard_request(result)
    emit(RunPlanning(run_id=run_id, backend=agent.backend, goal=request))
    typed = typed_spec(spec, request, registry)
    if stream:
        async with contextlib.aclosing(agent.plan_stream(typed)) as parts:
            async for nodes in parts:
                yield [_after_hearing(n) for n in nodes]
    else:
        yield [_after_hearing(n) for n in await agent.plan(typed)]
