"""AgentOS: a host model plans a task graph, a router picks an expert per node, a runtime runs it.

The public API lives here: the expert SDK (`Expert`, `operation`, `expert`, `ExpertContext`),
the registry, and `run` / `arun`. Importing it never imports torch.
"""

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

__version__ = "0.1.0"

__all__ = [
    "AgentOSError", "BudgetExceededError", "Decision", "DeterministicRouter", "Expert", "ExpertCard",
    "ExpertContext", "ExpertError", "HostNotConfiguredError", "NodeResult", "NodeSpec", "OperationCard", "PlanError",
    "Registry", "RouteQuery", "Router", "RunResult", "TaskFileError", "TaskGraph", "TaskSpec", "UserError",
    "Verdict", "arun", "expert", "load_task", "operation", "run",
]
