"""AgentOS: a host model plans a task graph, a router picks an expert per node, a runtime runs it.

The public API lives here: the expert SDK (`Expert`, `operation`, `expert`, `ExpertContext`),
the registry, and `run` / `arun`. Names load on first use, so `agentos --help` stays fast and
importing agentos never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "arun": "api", "run": "api",
    "Verdict": "checks",
    "AgentOSError": "errors", "BudgetExceededError": "errors", "ExpertError": "errors",
    "HostNotConfiguredError": "errors", "PlanError": "errors", "TaskFileError": "errors", "UserError": "errors",
    "TaskGraph": "graph",
    "Registry": "registry",
    "NodeResult": "result", "RunResult": "result",
    "Decision": "routing", "DeterministicRouter": "routing", "RouteQuery": "routing", "Router": "routing",
    "Expert": "sdk", "ExpertCard": "sdk", "ExpertContext": "sdk", "OperationCard": "sdk", "expert": "sdk",
    "operation": "sdk",
    "NodeSpec": "taskspec", "TaskSpec": "taskspec", "load_task": "taskspec",
}

__all__ = [
    "AgentOSError",
    "BudgetExceededError",
    "Decision",
    "DeterministicRouter",
    "Expert",
    "ExpertCard",
    "ExpertContext",
    "ExpertError",
    "HostNotConfiguredError",
    "NodeResult",
    "NodeSpec",
    "OperationCard",
    "PlanError",
    "Registry",
    "RouteQuery",
    "Router",
    "RunResult",
    "TaskFileError",
    "TaskGraph",
    "TaskSpec",
    "UserError",
    "Verdict",
    "arun",
    "expert",
    "load_task",
    "operation",
    "run",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentos' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentos.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from agentos.api import arun, run
    from agentos.checks import Verdict
    from agentos.errors import (
        AgentOSError,
        BudgetExceededError,
        ExpertError,
        HostNotConfiguredError,
        PlanError,
        TaskFileError,
        UserError,
    )
    from agentos.graph import TaskGraph
    from agentos.registry import Registry
    from agentos.result import NodeResult, RunResult
    from agentos.routing import Decision, DeterministicRouter, RouteQuery, Router
    from agentos.sdk import Expert, ExpertCard, ExpertContext, OperationCard, expert, operation
    from agentos.taskspec import NodeSpec, TaskSpec, load_task
