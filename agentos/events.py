"""Typed events, one per transition of a run.

The runtime emits them; the journal stores them, the CLI draws progress from them, `--json`
streams them, and the UI (later) forwards them over SSE. Each carries the run id, the node id
(when it is about a node) and a wall-clock timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentos.checks import Verdict
from agentos.routing import Decision


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    node_id: str | None = None
    ts: float = Field(default_factory=time.time)


class RunStarted(_Event):
    kind: Literal["run.started"] = "run.started"
    nodes: list[str]
    resumed: bool = False
    done_before: list[str] = []  # nodes finished in an earlier attempt of this run (resume)


class RunPlanning(_Event):
    """The host model is planning the graph from the goal (this can take a while)."""

    kind: Literal["run.planning"] = "run.planning"
    backend: str
    goal: str


class RunPlanned(_Event):
    kind: Literal["run.planned"] = "run.planned"
    nodes: list[str]
    backend: str


class RunFinished(_Event):
    kind: Literal["run.finished"] = "run.finished"
    status: str  # succeeded | failed | cancelled | timed_out
    duration_s: float
    counts: dict[str, int]


class NodeStarted(_Event):
    kind: Literal["node.started"] = "node.started"
    expert: str
    attempt: int


class NodeProgress(_Event):
    kind: Literal["node.progress"] = "node.progress"
    fraction: float | None
    message: str = ""


class NodeFinished(_Event):
    kind: Literal["node.finished"] = "node.finished"
    expert: str
    attempt: int
    duration_s: float


class NodeFailed(_Event):
    kind: Literal["node.failed"] = "node.failed"
    expert: str | None
    attempt: int
    error: str
    final: bool  # False while a retry, another candidate or a replan is still to come


class NodeSkipped(_Event):
    kind: Literal["node.skipped"] = "node.skipped"
    reason: str


class RouteDecided(_Event):
    kind: Literal["route.decided"] = "route.decided"
    decision: Decision


class CheckCompleted(_Event):
    """The checks of one attempt at a node (node_id set), or the final checks of the run (node_id None)."""

    kind: Literal["check.completed"] = "check.completed"
    passed: bool
    score: float  # the folded score: the router's reward
    verdicts: list[Verdict]
    expert: str | None = None


class RetryScheduled(_Event):
    kind: Literal["retry.scheduled"] = "retry.scheduled"
    attempt: int
    delay_s: float
    next_expert: str
    reason: str


class NodeReplanned(_Event):
    kind: Literal["node.replanned"] = "node.replanned"
    new_nodes: list[str]
    reason: str


class NodeAdded(_Event):
    """A node of a plan still being streamed joined the running graph (pending until its inputs are ready)."""

    kind: Literal["node.added"] = "node.added"
    capability: str | None
    after: list[str] = []  # the nodes it waits for


class JobDispatched(_Event):
    """A node's attempt was handed to a worker over the bus (its job id names it in the worker's logs)."""

    kind: Literal["job.dispatched"] = "job.dispatched"
    worker: str
    job_id: str


class JobReturned(_Event):
    kind: Literal["job.returned"] = "job.returned"
    worker: str
    job_id: str
    ok: bool


class ArtifactWritten(_Event):
    kind: Literal["artifact.written"] = "artifact.written"
    path: str  # relative to the run folder
    bytes: int


Event = Annotated[
    RunStarted | RunPlanning | RunPlanned | RunFinished | NodeStarted | NodeProgress | NodeFinished | NodeFailed
    | NodeSkipped | RouteDecided | CheckCompleted | RetryScheduled | NodeReplanned | NodeAdded | ArtifactWritten
    | JobDispatched | JobReturned,
    Field(discriminator="kind"),
]

EventSink = Callable[[Event], None]
