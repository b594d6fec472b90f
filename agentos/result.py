"""The structured result of a run, written to `result.json` and returned by `agentos.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.checks import Verdict
from agentos.routing import Decision

NodeStatus = Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
# "interrupted": the journal says running but no process holds the run (it was killed); set by readers
RunStatus = Literal["running", "succeeded", "failed", "cancelled", "timed_out", "interrupted"]


class Attempt(BaseModel):
    attempt: int
    expert: str
    status: Literal["succeeded", "failed", "rejected"]  # rejected: ran, but a check failed
    duration_s: float
    error: str | None = None
    score: float | None = None
    traceback: str | None = None  # for an unexpected exception in the expert: where it came from


class NodeResult(BaseModel):
    id: str
    capability: str | None
    status: NodeStatus = "pending"
    expert: str | None = None
    output: dict[str, Any] | None = None
    decision: Decision | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    attempts: list[Attempt] = Field(default_factory=list)
    artifacts: list[str] = Field(default_factory=list)  # relative to the run folder
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    cost: float = 0.0
    error: str | None = None
    skipped_because: str | None = None
    from_earlier_attempt: bool = False  # finished before a resume; not rerun
    gate: dict[str, Any] | None = None  # candidates run side by side when the router was unsure


class RunResult(BaseModel):
    run_id: str
    status: RunStatus
    task_file: str | None
    run_dir: str
    started_at: float
    finished_at: float | None = None
    duration_s: float | None = None
    nodes: dict[str, NodeResult]
    checks: list[Verdict] = Field(default_factory=list)  # final-result checks
    cost: float = 0.0
    errors: list[str] = Field(default_factory=list)
    planned_by: str | None = None  # host backend when the graph came from a goal
    resumed: int = 0  # how many times this run was resumed
    planning_s: float | None = None  # run start -> the host's plan complete (None: not planned in this attempt)
    first_node_started_s: float | None = None  # run start -> the first node started (time to first node)

    def __repr__(self) -> str:
        return f"RunResult(run_id={self.run_id!r}, status={self.status!r}, nodes={self.counts()})"

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def output(self, node_id: str) -> dict[str, Any]:
        node = self.nodes[node_id]
        if node.output is None:
            raise KeyError(f"node {node_id!r} has no output (status {node.status})")
        return node.output

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes.values():
            out[n.status] = out.get(n.status, 0) + 1
        return out

    def write(self, path: Path) -> None:
        """Atomically; indented for people, compact past 200 nodes (indenting doubles the cost there)."""
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2 if len(self.nodes) <= 200 else None), encoding="utf-8")
        tmp.replace(path)
